//! `verity liveness photo|video` and `verity eval liveness`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use clap::Args;
use serde_json::{json, Value};
use verity_imaging::Limits;
use verity_liveness::{Challenge, LivenessEngine, LivenessError, VideoLimits};
use verity_metrics::{self as metrics, Scored};
use verity_models::ModelDir;

use crate::face_cmd::{load_engine, read_image};
use crate::CliError;

impl From<LivenessError> for CliError {
    fn from(e: LivenessError) -> Self {
        match e {
            LivenessError::Face(f) => f.into(),
            LivenessError::Model(m) => m.into(),
            LivenessError::Image(i) => i.into(),
            other if other.is_input_error() => CliError::input(other.code(), other.to_string()),
            other => CliError::other(other.code(), other.to_string()),
        }
    }
}

pub(crate) fn load_liveness(models_dir: &Path) -> Result<(LivenessEngine, f64), CliError> {
    let (face, face_ms) = load_engine(models_dir)?;
    let t = Instant::now();
    let engine = LivenessEngine::load(&ModelDir::new(models_dir), Arc::new(face))?;
    Ok((engine, face_ms + t.elapsed().as_secs_f64() * 1000.0))
}

/// Parses `a,b,c` into challenges.
pub fn parse_challenges(s: &str) -> Result<Vec<Challenge>, CliError> {
    s.split(',')
        .filter(|p| !p.trim().is_empty())
        .map(|p| {
            Challenge::parse(p).ok_or_else(|| {
                let names: Vec<&str> = Challenge::ALL.iter().map(|c| c.name()).collect();
                CliError::input(
                    "challenge_unknown",
                    format!("unknown challenge {p:?}; known: {}", names.join(", ")),
                )
            })
        })
        .collect()
}

/// `verity liveness photo IMG`.
pub fn liveness_photo(models_dir: &Path, image: &Path) -> Result<Value, CliError> {
    let limits = Limits::default();
    let decoded = read_image(image, &limits)?;
    let raw = std::fs::read(image)
        .map_err(|e| CliError::input("file_unreadable", format!("cannot read {}: {e}", image.display())))?;
    let (engine, load_ms) = load_liveness(models_dir)?;
    let r = engine.photo_decoded(&decoded, &raw)?;
    let mut v = serde_json::to_value(&r).unwrap_or_default();
    v["timings_ms"]["load_ms"] = json!(load_ms);
    Ok(v)
}

/// `verity liveness video VID [--challenges a,b]`.
pub fn liveness_video(models_dir: &Path, video: &Path, challenges: Option<&str>) -> Result<Value, CliError> {
    let challenges = challenges.map(parse_challenges).transpose()?.unwrap_or_default();
    if !video.is_file() {
        return Err(CliError::input(
            "file_unreadable",
            format!("cannot read {}: not a file", video.display()),
        ));
    }
    let (engine, load_ms) = load_liveness(models_dir)?;
    let out = engine.video(video, &challenges, &VideoLimits::default())?;
    let mut v = serde_json::to_value(&out.report).unwrap_or_default();
    v["timings_ms"]["load_ms"] = json!(load_ms);
    Ok(v)
}

#[derive(Debug, Args)]
pub struct EvalLivenessArgs {
    /// CSV with a header and columns `file` and `label` (real | spoof); other columns ignored.
    #[arg(long)]
    pub labels: PathBuf,
    /// Directory the CSV's paths are relative to.
    #[arg(long)]
    pub root: PathBuf,
    /// Write one line per sample (file, label, kind, live, score, reasons) as CSV.
    #[arg(long)]
    pub scores: Option<PathBuf>,
}

const VIDEO_EXTENSIONS: &[&str] = &["mp4", "mov", "webm", "mkv", "m4v"];

/// Splits one CSV line, honouring double quotes.
fn csv_fields(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    out.push(cur);
    out.into_iter().map(|s| s.trim().to_string()).collect()
}

/// `verity eval liveness --labels CSV --root DIR`.
pub fn eval_liveness(models_dir: &Path, args: &EvalLivenessArgs) -> Result<Value, CliError> {
    let text = std::fs::read_to_string(&args.labels).map_err(|e| {
        CliError::input("file_unreadable", format!("cannot read {}: {e}", args.labels.display()))
    })?;
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header: Vec<String> =
        csv_fields(lines.next().ok_or_else(|| CliError::input("labels_empty", "the labels file is empty"))?)
            .into_iter()
            .map(|h| h.to_ascii_lowercase())
            .collect();
    let col = |name: &str| {
        header.iter().position(|h| h == name).ok_or_else(|| {
            CliError::input("labels_bad_header", format!("the labels file has no `{name}` column"))
        })
    };
    let (ifile, ilabel) = (col("file")?, col("label")?);
    let mut rows = Vec::new();
    for (n, line) in lines.enumerate() {
        let f = csv_fields(line);
        let (Some(file), Some(label)) = (f.get(ifile), f.get(ilabel)) else {
            return Err(CliError::input("labels_bad_row", format!("row {} has {} fields", n + 2, f.len())));
        };
        let genuine = match label.to_ascii_lowercase().as_str() {
            "real" | "live" | "bona_fide" | "bonafide" | "genuine" => true,
            "spoof" | "attack" | "fake" => false,
            other => {
                return Err(CliError::input("labels_bad_row", format!("row {}: label {other:?}", n + 2)))
            }
        };
        rows.push((file.clone(), genuine));
    }
    if rows.is_empty() {
        return Err(CliError::input("labels_empty", "the labels file has no rows"));
    }
    let (engine, load_ms) = load_liveness(models_dir)?;
    let limits = Limits::default();
    let mut scored = Vec::new();
    let (mut apc, mut bpc, mut spoofs, mut reals, mut errors) = (0usize, 0usize, 0usize, 0usize, 0usize);
    let mut per_sample = Vec::new();
    let mut times = Vec::new();
    let mut video_times = Vec::new();
    for (i, (file, genuine)) in rows.iter().enumerate() {
        let path = args.root.join(file);
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
        let is_video = VIDEO_EXTENSIONS.contains(&ext.as_str());
        let t = Instant::now();
        let outcome: Result<(bool, f32, Vec<String>), CliError> = if is_video {
            engine
                .video(&path, &[], &VideoLimits::default())
                .map(|o| (o.report.live, o.report.score, o.report.reasons))
                .map_err(CliError::from)
        } else {
            read_image(&path, &limits).and_then(|d| {
                let raw =
                    std::fs::read(&path).map_err(|e| CliError::input("file_unreadable", e.to_string()))?;
                engine.photo_decoded(&d, &raw).map(|r| (r.live, r.score, r.reasons)).map_err(CliError::from)
            })
        };
        let ms = t.elapsed().as_secs_f64() * 1000.0;
        if is_video {
            video_times.push(ms);
        } else {
            times.push(ms);
        }
        // A sample that cannot be assessed (no face, unreadable) is a rejection, as in production.
        let (live, score, reasons) = match outcome {
            Ok(o) => o,
            Err(e) => {
                errors += 1;
                (false, 0.0, vec![e.code.to_string()])
            }
        };
        if *genuine {
            reals += 1;
            bpc += usize::from(!live);
        } else {
            spoofs += 1;
            apc += usize::from(live);
        }
        scored.push(Scored { score: score as f64, genuine: *genuine });
        per_sample.push((file.clone(), *genuine, is_video, live, score, reasons));
        if (i + 1) % 20 == 0 {
            eprintln!("[eval liveness] {}/{}", i + 1, rows.len());
        }
    }
    if let Some(p) = &args.scores {
        let mut f = std::fs::File::create(p)
            .map_err(|e| CliError::other("write_failed", format!("cannot write {}: {e}", p.display())))?;
        let _ = writeln!(f, "file,label,kind,live,score,reasons");
        for (file, g, v, live, score, reasons) in &per_sample {
            let _ = writeln!(
                f,
                "{file},{},{},{live},{score},{}",
                if *g { "real" } else { "spoof" },
                if *v { "video" } else { "photo" },
                reasons.join(";")
            );
        }
    }
    let rate = |a: usize, b: usize| {
        if b == 0 {
            Value::Null
        } else {
            json!((a as f64 / b as f64 * 10000.0).round() / 10000.0)
        }
    };
    let auc = if reals > 0 && spoofs > 0 {
        json!((metrics::auc(&scored) * 10000.0).round() / 10000.0)
    } else {
        Value::Null
    };
    let p50 = |v: &[f64]| {
        if v.is_empty() {
            Value::Null
        } else {
            json!((metrics::percentile(v, 50.0) * 10.0).round() / 10.0)
        }
    };
    Ok(json!({
        "samples": rows.len(),
        "real": reals,
        "spoof": spoofs,
        "apcer": rate(apc, spoofs),
        "bpcer": rate(bpc, reals),
        "spoofs_accepted": apc,
        "real_rejected": bpc,
        "auc": auc,
        "threshold": 50,
        "pad_threshold": engine.config.pad_threshold,
        "not_assessed": errors,
        "photo_ms_p50": p50(&times),
        "video_ms_p50": p50(&video_times),
        "load_ms": load_ms,
    }))
}
