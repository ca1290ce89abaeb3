//! `verity eval faces`: verification accuracy on a pairs CSV.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Args;
use serde_json::{json, Value};
use verity_face::{Embedding, ImageKind};
use verity_imaging::Limits;
use verity_metrics::{self as metrics, Confusion, Scored};

use crate::face_cmd::{load_engine, read_image};
use crate::CliError;

#[derive(Debug, Args)]
pub struct EvalFacesArgs {
    /// CSV with a header and columns file_a, file_b, same (1/0 or true/false), [protocol].
    #[arg(long)]
    pub pairs: PathBuf,
    /// Directory the CSV's paths are relative to.
    #[arg(long)]
    pub root: PathBuf,
    /// Write the ROC curve as SVG.
    #[arg(long)]
    pub roc: Option<PathBuf>,
    /// Write one line per pair (file_a, file_b, same, similarity, detected) as CSV.
    #[arg(long)]
    pub scores: Option<PathBuf>,
    /// Decision threshold (cosine); default: the engine's calibrated one.
    #[arg(long)]
    pub threshold: Option<f32>,
    /// Folds for the cross-validated accuracy.
    #[arg(long, default_value_t = 10)]
    pub folds: usize,
}

struct Pair {
    a: String,
    b: String,
    same: bool,
}

fn parse_pairs(text: &str) -> Result<Vec<Pair>, CliError> {
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header: Vec<String> = lines
        .next()
        .ok_or_else(|| CliError::input("pairs_empty", "the pairs file is empty"))?
        .split(',')
        .map(|s| s.trim().to_ascii_lowercase())
        .collect();
    let col = |name: &str| {
        header.iter().position(|h| h == name).ok_or_else(|| {
            CliError::input(
                "pairs_bad_header",
                format!("the pairs file has no `{name}` column (header: {})", header.join(",")),
            )
        })
    };
    let (ia, ib, is) = (col("file_a")?, col("file_b")?, col("same")?);
    let mut out = Vec::new();
    for (n, line) in lines.enumerate() {
        let f: Vec<&str> = line.split(',').map(|s| s.trim().trim_matches('"')).collect();
        let get = |i: usize| {
            f.get(i).copied().ok_or_else(|| {
                CliError::input("pairs_bad_row", format!("row {} has {} fields", n + 2, f.len()))
            })
        };
        let same = match get(is)?.to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "same" => true,
            "0" | "false" | "no" | "different" => false,
            other => {
                return Err(CliError::input("pairs_bad_row", format!("row {}: `same` is {other:?}", n + 2)))
            }
        };
        out.push(Pair { a: get(ia)?.to_string(), b: get(ib)?.to_string(), same });
    }
    if out.is_empty() {
        return Err(CliError::input("pairs_empty", "the pairs file has no rows"));
    }
    Ok(out)
}

/// Per-image result: the embedding (None if no face), and the time spent on it.
struct ImageResult {
    embedding: Option<Embedding>,
    ms: f64,
}

pub fn eval_faces(models_dir: &Path, args: &EvalFacesArgs) -> Result<Value, CliError> {
    let text = std::fs::read_to_string(&args.pairs).map_err(|e| {
        CliError::input("file_unreadable", format!("cannot read {}: {e}", args.pairs.display()))
    })?;
    let pairs = parse_pairs(&text)?;
    let (engine, _) = load_engine(models_dir)?;
    let threshold = args.threshold.unwrap_or(engine.config().scale.0.threshold);
    let limits = Limits::default();

    let mut cache: HashMap<String, ImageResult> = HashMap::new();
    let mut unreadable = Vec::new();
    let started = Instant::now();
    for (i, p) in pairs.iter().enumerate() {
        for f in [&p.a, &p.b] {
            if cache.contains_key(f) {
                continue;
            }
            let t = Instant::now();
            let path = args.root.join(f);
            let embedding = match read_image(&path, &limits) {
                Ok(d) => engine.analyze(&d.image, ImageKind::Selfie).ok().map(|a| a.embedding),
                Err(e) => {
                    unreadable.push(format!("{f}: {}", e.message));
                    None
                }
            };
            cache.insert(f.clone(), ImageResult { embedding, ms: t.elapsed().as_secs_f64() * 1000.0 });
        }
        if (i + 1) % 100 == 0 {
            eprintln!(
                "eval faces: {}/{} pairs, {:.0} s",
                i + 1,
                pairs.len(),
                started.elapsed().as_secs_f64()
            );
        }
    }

    // A pair whose face could not be found in either image is a failure to enrol: it is
    // scored −1 (rejected), which counts against genuine pairs and for impostor pairs.
    let mut samples = Vec::with_capacity(pairs.len());
    let mut pair_ms = Vec::with_capacity(pairs.len());
    let mut rows = Vec::new();
    let mut pairs_without_face = 0;
    for p in &pairs {
        let (ra, rb) = (&cache[&p.a], &cache[&p.b]);
        let sim = match (&ra.embedding, &rb.embedding) {
            (Some(a), Some(b)) => Some(a.cosine(b)),
            _ => None,
        };
        if sim.is_none() {
            pairs_without_face += 1;
        }
        samples.push(Scored { score: sim.unwrap_or(-1.0) as f64, genuine: p.same });
        pair_ms.push(ra.ms + rb.ms);
        rows.push(format!(
            "{},{},{},{},{}",
            p.a,
            p.b,
            p.same as u8,
            sim.map(|s| format!("{s:.5}")).unwrap_or_default(),
            sim.is_some()
        ));
    }
    let images = cache.len();
    let no_face = cache.values().filter(|r| r.embedding.is_none()).count();
    let image_ms: Vec<f64> = cache.values().map(|r| r.ms).collect();

    let c = Confusion::at(&samples, threshold as f64);
    let (auc, (eer, eer_t)) = (metrics::auc(&samples), metrics::eer(&samples));
    let (tar2, _) = metrics::tar_at_far(&samples, 1e-2);
    let (tar3, _) = metrics::tar_at_far(&samples, 1e-3);
    let (best_t, best_acc) = metrics::best_threshold(&samples);
    let (cv_acc, cv_sd) = metrics::cross_validated_accuracy(&samples, args.folds);

    if let Some(path) = &args.scores {
        let mut f = std::fs::File::create(path)
            .map_err(|e| CliError::other("write_failed", format!("cannot write {}: {e}", path.display())))?;
        let _ = writeln!(f, "file_a,file_b,same,similarity,detected");
        for r in &rows {
            let _ = writeln!(f, "{r}");
        }
    }
    if let Some(path) = &args.roc {
        let title = format!("Verity face match, {} pairs (AUC {:.4})", samples.len(), auc);
        std::fs::write(path, metrics::roc_svg(&samples, &title, Some(threshold as f64)))
            .map_err(|e| CliError::other("write_failed", format!("cannot write {}: {e}", path.display())))?;
    }
    let r4 = |v: f64| (v * 10_000.0).round() / 10_000.0;
    Ok(json!({
        "pairs": samples.len(),
        "genuine": samples.iter().filter(|s| s.genuine).count(),
        "impostor": samples.iter().filter(|s| !s.genuine).count(),
        "threshold": threshold,
        "accuracy": r4(c.accuracy()),
        "far": r4(c.far()),
        "frr": r4(c.frr()),
        "tar_at_far_1e-2": r4(tar2),
        "tar_at_far_1e-3": r4(tar3),
        "eer": r4(eer),
        "eer_threshold": r4(eer_t),
        "auc": r4(auc),
        "best_threshold": r4(best_t),
        "best_accuracy": r4(best_acc),
        "cv_accuracy": r4(cv_acc),
        "cv_accuracy_sd": r4(cv_sd),
        "folds": args.folds,
        "images": images,
        "fail_to_detect": no_face,
        "fail_to_detect_rate": r4(no_face as f64 / images.max(1) as f64),
        "pairs_without_face": pairs_without_face,
        "unreadable": unreadable,
        "ms_per_image_p50": r4(metrics::percentile(&image_ms, 50.0)),
        "ms_per_image_p95": r4(metrics::percentile(&image_ms, 95.0)),
        "ms_per_pair_p50": r4(metrics::percentile(&pair_ms, 50.0)),
        "ms_per_pair_mean": r4(pair_ms.iter().sum::<f64>() / pair_ms.len().max(1) as f64),
        "wall_s": r4(started.elapsed().as_secs_f64()),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_csv_is_parsed_by_header() {
        let p = parse_pairs("same,file_b,file_a\n1,b.jpg,a.jpg\nfalse,d.jpg,c.jpg\n").expect("parses");
        assert_eq!(p.len(), 2);
        assert_eq!((p[0].a.as_str(), p[0].b.as_str(), p[0].same), ("a.jpg", "b.jpg", true));
        assert!(!p[1].same);
        assert_eq!(parse_pairs("").err().map(|e| e.code), Some("pairs_empty"));
        assert_eq!(parse_pairs("a,b\n1,2\n").err().map(|e| e.code), Some("pairs_bad_header"));
        assert_eq!(
            parse_pairs("file_a,file_b,same\nx,y,maybe\n").err().map(|e| e.code),
            Some("pairs_bad_row")
        );
    }
}
