//! `verity document read` and `verity eval documents`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Args;
use serde_json::{json, Map, Value};
use verity_document::{DocumentEngine, DocumentError, MrzReading};
use verity_imaging::Limits;
use verity_models::ModelDir;
use verity_mrz::Date;

use crate::face_cmd::read_image;
use crate::mrz_cmd::today;
use crate::CliError;

impl From<DocumentError> for CliError {
    fn from(e: DocumentError) -> Self {
        match e {
            DocumentError::Models(m) => m.into(),
            other => CliError::other("document_engine", other.to_string()),
        }
    }
}

fn ms(t: Instant) -> f64 {
    (t.elapsed().as_secs_f64() * 1e5).round() / 100.0
}

pub(crate) fn load_documents(models_dir: &Path) -> Result<(DocumentEngine, f64), CliError> {
    crate::face_cmd::set_inference_threads();
    let t = Instant::now();
    let e = DocumentEngine::load(&ModelDir::new(models_dir))?;
    Ok((e, ms(t)))
}

/// The MRZ part of the output: format, lines, validity, fields (with confidences), checks,
/// errors, warnings, corrections.
pub fn mrz_json(r: &MrzReading) -> Value {
    let Some(m) = &r.mrz else {
        return json!({"found": false});
    };
    let mut fields = Map::new();
    let mut confidences = Map::new();
    for f in &m.fields {
        fields.insert(
            f.name.to_string(),
            json!({"value": f.value, "raw": f.raw, "line": f.line, "start": f.start, "end": f.end}),
        );
        let conf = r
            .char_confidences
            .get(f.line)
            .map(|c| c[f.start.min(c.len())..f.end.min(c.len())].iter().copied().fold(1.0f32, f32::min))
            .unwrap_or(0.0);
        confidences.insert(f.name.to_string(), json!((conf * 1000.0).round() / 1000.0));
    }
    json!({
        "found": true,
        "format": m.format,
        "lines": r.lines,
        "raw_lines": r.raw_lines,
        "valid": r.valid,
        "parsed_valid": m.valid,
        "low_confidence_fields": r.low_confidence_fields,
        "fields": fields,
        "field_confidences": confidences,
        "checks": m.checks,
        "errors": m.errors,
        "warnings": m.warnings,
        "corrections": r.corrections,
        "confidence": (r.confidence * 1000.0).round() / 1000.0,
        "angle_deg": r.angle_deg.round(),
    })
}

/// The document's data in one flat object, from the MRZ.
fn data_fields(r: &MrzReading) -> Value {
    let Some(m) = &r.mrz else { return json!({}) };
    let country = |c: &Option<verity_mrz::Country>| c.as_ref().map(|c| json!(c));
    json!({
        "document_code": m.document_code,
        "document_number": m.document_number,
        "surname": m.surname,
        "given_names": m.given_names,
        "names_truncated": m.names_truncated,
        "sex": m.sex,
        "birth_date": m.birth_date.map(|d| d.iso()),
        "expiry_date": m.expiry_date.map(|d| d.iso()),
        "issuing_state": country(&m.issuing_state),
        "nationality": country(&m.nationality),
        "optional_data": m.optional_data,
    })
}

/// `verity document read FRONT [--back BACK]`: the MRZ of the front, else of the back.
pub fn document_read(
    models_dir: &Path,
    front: &Path,
    back: Option<&Path>,
    today_s: Option<&str>,
) -> Result<Value, CliError> {
    let limits = Limits::default();
    let today = match today_s {
        Some(s) => crate::mrz_cmd::parse_date(s)?,
        None => today(),
    };
    let mut sides = vec![("front", read_image(front, &limits)?)];
    if let Some(b) = back {
        sides.push(("back", read_image(b, &limits)?));
    }
    let (engine, load_ms) = load_documents(models_dir)?;
    let t = Instant::now();
    let mut per_side = Map::new();
    let mut chosen: Option<(&str, MrzReading)> = None;
    for (name, decoded) in &sides {
        let r = engine.read_mrz(&decoded.image, today)?;
        per_side.insert(name.to_string(), json!({"found": r.found, "timings_ms": r.timings_ms, "lines_detected": r.lines_detected, "lines_recognized": r.lines_recognized}));
        let better = chosen.as_ref().is_none_or(|(_, c)| {
            let v = |x: &MrzReading| {
                x.mrz.as_ref().map(|m| (x.valid, m.checks.iter().filter(|c| c.valid).count()))
            };
            v(&r) > v(c)
        });
        if better {
            chosen = Some((name, r));
        }
        if chosen.as_ref().is_some_and(|(_, c)| c.valid) {
            break;
        }
    }
    let (side, r) = chosen.ok_or_else(|| CliError::other("internal", "no side read"))?;
    // The checks that need nothing declared: MRZ, content (expiry, age ≥ 18), front/back.
    let opts = verity_document::checks::CheckOptions {
        coverage: ["mrz", "content", "front_back"].iter().map(|s| s.to_string()).collect(),
        minimum_age: 18,
        today,
        client_data_validation: false,
    };
    let found = r.found.then_some(&r);
    let mut checks = verity_document::checks::assess(
        found,
        found.map(|_| side),
        back.is_some(),
        &Default::default(),
        &opts,
    );
    if let Some(b) = checks.breakdown.as_object_mut() {
        b.remove("extractedData");
    }
    Ok(json!({
        "mrz": if r.found { let mut v = mrz_json(&r); v["side"] = json!(side); v } else { json!({"found": false}) },
        "fields": data_fields(&r),
        "confidences": {"mrz": (r.confidence * 1000.0).round() / 1000.0},
        "checks": {"outcome": checks.outcome, "reasons": checks.reasons, "breakdown": checks.breakdown},
        "sides": per_side,
        "timings_ms": {"load": load_ms, "read": ms(t)},
    }))
}

#[derive(Debug, Args)]
pub struct EvalDocumentsArgs {
    /// Ground truth in the format of `../shared/data/documents/ground_truth.json`.
    #[arg(long)]
    pub ground_truth: PathBuf,
    /// Directory the ground truth's `file` paths are relative to.
    #[arg(long)]
    pub root: PathBuf,
    /// Reference date (YYYY-MM-DD; default today).
    #[arg(long)]
    pub today: Option<String>,
}

/// `verity eval documents`: MRZ reading against ground truth.
pub fn eval_documents(models_dir: &Path, args: &EvalDocumentsArgs) -> Result<Value, CliError> {
    let text = std::fs::read_to_string(&args.ground_truth).map_err(|e| {
        CliError::input("file_unreadable", format!("cannot read {}: {e}", args.ground_truth.display()))
    })?;
    let gt: Value = serde_json::from_str(&text).map_err(|e| {
        CliError::input("ground_truth_invalid", format!("{}: {e}", args.ground_truth.display()))
    })?;
    let docs = gt["documents"]
        .as_array()
        .ok_or_else(|| CliError::input("ground_truth_invalid", "no `documents` array"))?;
    let today: Date = match &args.today {
        Some(s) => crate::mrz_cmd::parse_date(s)?,
        None => today(),
    };
    let (engine, load_ms) = load_documents(models_dir)?;
    let (mut with_mrz, mut found, mut exact, mut false_valid, mut false_found, mut valid_reads) =
        (0, 0, 0, 0, 0, 0);
    let (mut chars_total, mut chars_wrong) = (0usize, 0usize);
    let mut times = Vec::new();
    let mut stage = (0f64, 0f64, 0f64);
    let mut misses = Vec::new();
    let limits = Limits::default();
    let stderr = std::io::stderr();
    for d in docs {
        let file = d["file"].as_str().unwrap_or_default();
        let path = args.root.join(file);
        let decoded = read_image(&path, &limits)?;
        let t = Instant::now();
        let r = engine.read_mrz(&decoded.image, today)?;
        let elapsed = ms(t);
        times.push(elapsed);
        stage.0 += r.timings_ms.detect;
        stage.1 += r.timings_ms.recognize;
        stage.2 += r.lines_recognized as f64;
        let truth: Vec<String> = d["mrz_lines"]
            .as_array()
            .map(|a| a.iter().filter_map(|l| l.as_str().map(str::to_string)).collect())
            .unwrap_or_default();
        let present = d["mrz_present"].as_bool().unwrap_or(!truth.is_empty());
        let read_valid = r.valid;
        valid_reads += usize::from(read_valid);
        let status;
        if present {
            with_mrz += 1;
            let truth_text = truth.join("\n");
            let read_text = r.lines.join("\n");
            chars_total += truth_text.chars().filter(|c| *c != '\n').count();
            if r.found {
                found += 1;
                chars_wrong += verity_mrz::translit::edit_distance(&truth_text, &read_text);
            } else {
                chars_wrong += truth_text.chars().filter(|c| *c != '\n').count();
            }
            let is_exact = r.found && r.lines == truth;
            exact += usize::from(is_exact);
            if read_valid && !is_exact {
                false_valid += 1;
            }
            status = if is_exact {
                "exact"
            } else if r.found {
                "wrong"
            } else {
                "missed"
            };
            if !is_exact {
                misses.push(json!({"file": file, "status": status, "read": r.lines, "truth": truth, "corrections": r.corrections.len()}));
            }
        } else {
            false_found += usize::from(r.found);
            status = if r.found { "false_found" } else { "no_mrz_ok" };
        }
        let _ = writeln!(
            stderr.lock(),
            "{status:>11} {elapsed:>7.1} ms  det {:>6.1} rec {:>6.1} lines {:>2}  {file}{}",
            r.timings_ms.detect,
            r.timings_ms.recognize,
            r.lines_recognized,
            if status == "wrong" { format!("  read {:?}", r.lines) } else { String::new() }
        );
    }
    let n = times.len().max(1);
    let mut sorted = times.clone();
    sorted.sort_by(f64::total_cmp);
    let pct = |q: f64| sorted.get(((sorted.len() as f64 - 1.0) * q).round() as usize).copied().unwrap_or(0.0);
    let rate =
        |a: usize, b: usize| if b == 0 { 0.0 } else { (a as f64 / b as f64 * 10000.0).round() / 10000.0 };
    Ok(json!({
        "documents": docs.len(),
        "with_mrz": with_mrz,
        "mrz_found_rate": rate(found, with_mrz),
        "mrz_exact_rate": rate(exact, with_mrz),
        "char_accuracy": if chars_total == 0 { 0.0 } else { ((1.0 - chars_wrong as f64 / chars_total as f64) * 10000.0).round() / 10000.0 },
        "false_valid": false_valid,
        "valid_reads": valid_reads,
        "false_found": false_found,
        "ms_mean": (times.iter().sum::<f64>() / n as f64 * 10.0).round() / 10.0,
        "ms_p50": pct(0.5),
        "ms_p90": pct(0.9),
        "load_ms": load_ms,
        "detect_ms_mean": (stage.0 / n as f64 * 10.0).round() / 10.0,
        "recognize_ms_mean": (stage.1 / n as f64 * 10.0).round() / 10.0,
        "lines_recognized_mean": (stage.2 / n as f64 * 100.0).round() / 100.0,
        "misses": misses,
    }))
}

/// `verity document synth`: images under `OUT/images/` and `OUT/ground_truth.json`.
pub fn synth(
    out: &Path,
    count: usize,
    severity: &str,
    seed: u64,
    formats: &str,
    font_path: &Path,
) -> Result<Value, CliError> {
    use verity_document::synth::{self, Rng, Severity};
    use verity_mrz::Format;
    let sev = Severity::parse(severity).ok_or_else(|| {
        CliError::input("bad_severity", format!("{severity:?}: clean, mild, moderate or severe"))
    })?;
    let fmts: Vec<Format> = formats
        .split(',')
        .map(|f| match f.trim().to_ascii_uppercase().as_str() {
            "TD1" => Ok(Format::Td1),
            "TD2" => Ok(Format::Td2),
            "TD3" => Ok(Format::Td3),
            "MRVA" => Ok(Format::MrvA),
            "MRVB" => Ok(Format::MrvB),
            other => Err(CliError::input("bad_format", format!("{other:?}: TD1, TD2, TD3, MRVA or MRVB"))),
        })
        .collect::<Result<_, _>>()?;
    if fmts.is_empty() {
        return Err(CliError::input("bad_format", "no formats"));
    }
    let bytes = synth::load_font(font_path).map_err(|e| CliError::input("font_unreadable", e))?;
    let font = synth::font(&bytes).map_err(|e| CliError::input("font_invalid", e))?;
    let io = |e: std::io::Error| CliError::other("io", format!("{}: {e}", out.display()));
    std::fs::create_dir_all(out.join("images")).map_err(io)?;
    let mut rng = Rng::new(seed);
    let mut docs = Vec::new();
    for i in 0..count {
        let format = fmts[i % fmts.len()];
        let s = synth::generate(&mut rng, &font, format, sev);
        let file = format!("images/{i:05}.jpg");
        std::fs::write(out.join(&file), &s.jpeg).map_err(io)?;
        docs.push(json!({
            "file": file,
            "mrz_present": true,
            "mrz_format": format,
            "mrz_lines": s.lines,
            "image_size": [s.width, s.height],
            "severity": severity,
        }));
    }
    let gt = json!({
        "description": format!("Synthetic documents: OCR-B MRZ, random valid data, severity {severity}, seed {seed}"),
        "documents": docs,
    });
    std::fs::write(out.join("ground_truth.json"), serde_json::to_vec_pretty(&gt).unwrap_or_default())
        .map_err(io)?;
    Ok(
        json!({"documents": count, "ground_truth": out.join("ground_truth.json"), "severity": severity, "seed": seed}),
    )
}
