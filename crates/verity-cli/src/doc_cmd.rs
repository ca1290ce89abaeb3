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

use crate::face_cmd::read_document_image;
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

fn aamva_fields(a: &verity_document::aamva::Aamva) -> Value {
    json!({
        "document_type": a.document_type,
        "document_number": a.document_number,
        "surname": a.family_name,
        "given_names": a.given_names,
        "names_truncated": a.names_truncated,
        "sex": a.sex,
        "birth_date": a.birth_date.map(|d| d.iso()),
        "expiry_date": a.expiry_date.map(|d| d.iso()),
        "issue_date": a.issue_date.map(|d| d.iso()),
        "address": {"street": a.street, "city": a.city, "jurisdiction": a.jurisdiction, "postal_code": a.postal_code},
        "country": a.country,
    })
}

/// `verity document read FRONT [--back BACK]`: the MRZ of the front, else of the back; without
/// an MRZ, the PDF417 (AAMVA) barcode of the back, else of the front.
pub fn document_read(
    models_dir: &Path,
    front: &Path,
    back: Option<&Path>,
    today_s: Option<&str>,
    visual_zone: bool,
) -> Result<Value, CliError> {
    let limits = Limits::default();
    let today = match today_s {
        Some(s) => crate::mrz_cmd::parse_date(s)?,
        None => today(),
    };
    use verity_document::examine::{ExamineOptions, TextReading};
    let front = read_document_image(front, &limits)?;
    let back = back.map(|b| read_document_image(b, &limits)).transpose()?;
    let (engine, load_ms) = load_documents(models_dir)?;
    let t = Instant::now();
    let ex = engine.examine(
        &front,
        back.as_ref(),
        &ExamineOptions {
            today,
            text: if visual_zone { TextReading::Always } else { TextReading::Off },
            forensic: true,
            back_first: false,
        },
    )?;
    let mut per_side = Map::new();
    for s in &ex.reads {
        let (r, d) = (&s.reading, if s.side == "front" { &front } else { back.as_ref().unwrap_or(&front) });
        per_side.insert(s.side.to_string(), json!({"intake": d.info, "found": r.found, "timings_ms": r.timings_ms, "lines_detected": r.lines_detected, "lines_recognized": r.lines_recognized, "passes": r.passes}));
    }
    let r = ex.best_reading();
    let side = ex.reads[ex.best].side;
    let barcode = ex.barcode.as_ref();
    let aamva = barcode.and_then(|(_, b)| b.aamva.as_ref());
    let viz = ex.visual_zone.as_ref();
    // The checks that need nothing declared: MRZ, content (expiry, age ≥ 18), front/back,
    // forensic signals; consistency when the visual zone was read.
    let mut coverage: Vec<String> =
        ["mrz", "content", "front_back", "forensic"].iter().map(|s| s.to_string()).collect();
    if viz.is_some() {
        coverage.push("consistency".into());
    }
    let opts = verity_checks::document::CheckOptions {
        coverage,
        client_data_validation: false,
        ..verity_checks::document::CheckOptions::new(today)
    };
    let evidence = verity_checks::document::Evidence::of(&ex);
    let mut checks = verity_checks::document::assess(&evidence, &Default::default(), &opts);
    checks.breakdown.extracted_data = None;
    Ok(json!({
        "mrz": if r.found { let mut v = mrz_json(r); v["side"] = json!(side); v } else { json!({"found": false}) },
        "fields": match (r.found, aamva) { (false, Some(a)) => aamva_fields(a), _ => data_fields(r) },
        "visual_zone": viz.map(|(z, found)| json!({
            "lines": z.lines.iter().map(|l| json!({"text": l.text, "confidence": (l.confidence * 1000.0).round() / 1000.0})).collect::<Vec<_>>(),
            "fields": verity_document::viz::labelled_fields(z),
            "compared_with_mrz": found,
            "ms": z.ms,
        })),
        "barcode": barcode.map(|(side, b)| json!({
            "side": side, "format": b.format, "text": b.text, "aamva": b.aamva,
            "aamva_error": b.aamva_error, "angle_deg": b.angle_deg, "attempts": b.attempts, "ms": b.ms,
        })),
        "confidences": {"mrz": (r.confidence * 1000.0).round() / 1000.0},
        "checks": {"outcome": checks.outcome, "reasons": checks.reasons, "breakdown": checks.breakdown},
        "sides": per_side,
        "timings_ms": {"load": load_ms, "read": ms(t)},
        "runtime": engine.runtime.name(),
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
    /// Also read the visual zone and report how often each MRZ value is found in it.
    #[arg(long)]
    pub visual_zone: bool,
    /// Read each image this many times: its time is the median of the runs (`ms_*`) and the
    /// fastest (`ms_best_mean`), which a shared, noisy machine disturbs least.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=50))]
    pub repeat: u32,
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
    // Per variation of a synthetic set (`document synth --variations`): photos, exact, false valid.
    let mut by_variation: std::collections::BTreeMap<String, (usize, usize, usize)> = Default::default();
    let (mut with_mrz, mut found, mut exact, mut false_valid, mut false_found, mut valid_reads) =
        (0, 0, 0, 0, 0, 0);
    let (mut chars_total, mut chars_wrong) = (0usize, 0usize);
    let mut times = Vec::new();
    let mut best_times = Vec::new();
    let mut one_pass = 0usize;
    let mut stage = (0f64, 0f64, 0f64);
    let mut misses = Vec::new();
    let limits = Limits::default();
    let stderr = std::io::stderr();
    // Visual zone: per field, (found, compared); documents with every field found; time.
    let mut viz_fields: std::collections::BTreeMap<&'static str, (usize, usize)> = Default::default();
    let (mut viz_docs, mut viz_all, mut viz_ms) = (0usize, 0usize, 0f64);
    let mut viz_missing = Vec::new();
    let mut forensic_flags = Vec::new();
    for d in docs {
        let file = d["file"].as_str().unwrap_or_default();
        let path = args.root.join(file);
        let decoded = read_document_image(&path, &limits)?;
        let mut runs = Vec::new();
        let mut r = None;
        for _ in 0..args.repeat {
            let t = Instant::now();
            r = Some(engine.read_mrz(&decoded.image, today)?);
            runs.push(ms(t));
        }
        let r = r.ok_or_else(|| CliError::input("repeat_invalid", "--repeat must be at least 1"))?;
        runs.sort_by(f64::total_cmp);
        let elapsed = runs[runs.len() / 2];
        best_times.push(runs[0]);
        one_pass += usize::from(r.passes == 1);
        times.push(elapsed);
        let f = verity_document::forensic::inspect(&decoded);
        if f.grayscale || f.editing_software.is_some() {
            forensic_flags.push(json!({"file": file, "colourfulness": (f.colourfulness * 10.0).round() / 10.0, "editing_software": f.editing_software}));
        }
        stage.0 += r.timings_ms.detect;
        stage.1 += r.timings_ms.recognize;
        stage.2 += r.lines_recognized as f64;
        if args.visual_zone {
            if let Some(m) = r.mrz.as_ref().filter(|_| r.found) {
                let z = engine.read_visual_zone(&decoded.image, &r)?;
                let found = verity_document::viz::compare(m, &z);
                viz_docs += 1;
                viz_ms += z.ms;
                viz_all += usize::from(found.iter().all(|f| f.found()));
                for f in &found {
                    let e = viz_fields.entry(f.field).or_default();
                    e.0 += usize::from(f.found());
                    e.1 += 1;
                }
                let missing: Vec<&str> = found.iter().filter(|f| !f.found()).map(|f| f.field).collect();
                if !missing.is_empty() {
                    viz_missing.push(json!({"file": file, "not_found": missing}));
                }
            }
        }
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
            let named: Vec<&str> = d["variations"]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let none = ["none"];
            for v in if named.is_empty() && d.get("variations").is_some() { &none[..] } else { &named[..] } {
                let e = by_variation.entry(v.to_string()).or_default();
                e.0 += 1;
                e.1 += usize::from(is_exact);
                e.2 += usize::from(read_valid && !is_exact);
            }
            status = if is_exact {
                "exact"
            } else if r.found {
                "wrong"
            } else {
                "missed"
            };
            if !is_exact {
                misses.push(json!({"file": file, "status": status, "valid": read_valid, "read": r.lines, "truth": truth, "corrections": r.corrections.len()}));
            }
        } else {
            false_found += usize::from(r.found);
            status = if r.found { "false_found" } else { "no_mrz_ok" };
        }
        let _ = writeln!(
            stderr.lock(),
            "{status:>11} {elapsed:>7.1} ms  det {:>6.1} rec {:>6.1} lines {:>2} passes {}  {file}{}",
            r.timings_ms.detect,
            r.timings_ms.recognize,
            r.lines_recognized,
            r.passes,
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
        "ms_best_mean": (best_times.iter().sum::<f64>() / n as f64 * 10.0).round() / 10.0,
        "repeat": args.repeat,
        "one_pass_rate": rate(one_pass, docs.len()),
        "load_ms": load_ms,
        "runtime": engine.runtime.name(),
        "detect_ms_mean": (stage.0 / n as f64 * 10.0).round() / 10.0,
        "recognize_ms_mean": (stage.1 / n as f64 * 10.0).round() / 10.0,
        "lines_recognized_mean": (stage.2 / n as f64 * 100.0).round() / 100.0,
        "by_variation": by_variation.iter().map(|(k, (n, e, fv))| (k.clone(), json!({"photos": n, "exact_rate": rate(*e, *n), "false_valid": fv}))).collect::<Map<String, Value>>(),
        "misses": misses,
        "forensic_flags": forensic_flags,
        "visual_zone": args.visual_zone.then(|| json!({
            "documents": viz_docs,
            "found_rate": viz_fields.iter().map(|(k, (f, n))| (k.to_string(), json!(rate(*f, *n)))).collect::<Map<String, Value>>(),
            "all_found_rate": rate(viz_all, viz_docs),
            "ms_mean": if viz_docs == 0 { 0.0 } else { (viz_ms / viz_docs as f64 * 10.0).round() / 10.0 },
            "not_found": viz_missing,
        })),
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
    variations: f32,
) -> Result<Value, CliError> {
    use verity_document::synth::{self, Rng, Severity};
    if !(0.0..=1.0).contains(&variations) {
        return Err(CliError::input("bad_variations", "--variations is a chance between 0 and 1"));
    }
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
        let (s, applied) = if variations > 0.0 {
            synth::world::generate(&mut rng, &font, format, sev, variations)
        } else {
            (synth::generate(&mut rng, &font, format, sev), Vec::new())
        };
        let file = format!("images/{i:05}.jpg");
        std::fs::write(out.join(&file), &s.jpeg).map_err(io)?;
        docs.push(json!({
            "file": file,
            "mrz_present": true,
            "mrz_format": format,
            "mrz_lines": s.lines,
            "image_size": [s.width, s.height],
            "severity": severity,
            "variations": applied,
        }));
    }
    let gt = json!({
        "description": format!("Synthetic documents: OCR-B MRZ, random valid data, severity {severity}, seed {seed}, variations {variations}"),
        "documents": docs,
    });
    std::fs::write(out.join("ground_truth.json"), serde_json::to_vec_pretty(&gt).unwrap_or_default())
        .map_err(io)?;
    Ok(
        json!({"documents": count, "ground_truth": out.join("ground_truth.json"), "severity": severity, "seed": seed}),
    )
}

/// `verity document synth --kind cnie,cni`: `OUT/images/NNNNN-front.jpg` and `-back.jpg`, and
/// `OUT/ground_truth.json` with the MRZ lines and every printed value (place of birth, address,
/// issue date, the Arabic names).
pub fn synth_cards(
    out: &Path,
    count: usize,
    severity: &str,
    seed: u64,
    kinds: &str,
) -> Result<Value, CliError> {
    use verity_document::synth::national::{self, Card, Fonts};
    use verity_document::synth::{self, Rng, Severity};
    let sev = Severity::parse(severity).ok_or_else(|| {
        CliError::input("bad_severity", format!("{severity:?}: clean, mild, moderate or severe"))
    })?;
    let cards: Vec<Card> = kinds
        .split(',')
        .map(|k| {
            Card::parse(k.trim())
                .ok_or_else(|| CliError::input("bad_kind", format!("{k:?}: mrz, cnie or cni")))
        })
        .collect::<Result<_, _>>()?;
    let load = |p: &str| synth::load_font(Path::new(p)).map_err(|e| CliError::input("font_unreadable", e));
    let (ocrb, latin, arabic) =
        (load(synth::OCRB_PATH)?, load(national::DEJAVU_PATH)?, load(national::AMIRI_PATH)?);
    fn font(b: &[u8]) -> Result<verity_document::synth::FontRef<'_>, CliError> {
        verity_document::synth::font(b).map_err(|e| CliError::input("font_invalid", e))
    }
    let (o, l, a) = (font(&ocrb)?, font(&latin)?, font(&arabic)?);
    let fonts = Fonts { ocrb: &o, latin: &l, arabic: &a };
    let io = |e: std::io::Error| CliError::other("io", format!("{}: {e}", out.display()));
    std::fs::create_dir_all(out.join("images")).map_err(io)?;
    let mut rng = Rng::new(seed);
    let iso = |d: verity_mrz::Date| d.iso();
    let mut docs = Vec::new();
    for i in 0..count {
        let card = cards[i % cards.len()];
        let c = national::generate_card(&mut rng, &fonts, card, sev, None);
        let (front, back) = (format!("images/{i:05}-front.jpg"), format!("images/{i:05}-back.jpg"));
        std::fs::write(out.join(&front), &c.front).map_err(io)?;
        std::fs::write(out.join(&back), &c.back).map_err(io)?;
        let h = &c.holder;
        docs.push(json!({
            "file": front, "back": back, "kind": if card == Card::Cnie { "cnie" } else { "cni" },
            "mrz_present": true, "mrz_format": "TD1", "mrz_lines": c.lines, "severity": severity,
            "printed": {
                "surname": h.surname, "given_names": h.given_names,
                "surname_arabic": h.surname_arabic, "given_names_arabic": h.given_names_arabic,
                "date_of_birth": iso(h.birth_date), "place_of_birth": h.birth_place,
                "place_of_birth_arabic": h.birth_place_arabic, "address": h.address,
                "address_arabic": h.address_arabic, "issue_date": iso(h.issue_date),
                "expiry_date": iso(h.expiry_date), "document_number": h.number, "sex": h.sex.to_string(),
            },
        }));
    }
    let gt = json!({
        "description": format!("Synthetic two-sided national ID cards ({kinds}), severity {severity}, seed {seed}"),
        "documents": docs,
    });
    std::fs::write(out.join("ground_truth.json"), serde_json::to_vec_pretty(&gt).unwrap_or_default())
        .map_err(io)?;
    Ok(
        json!({"documents": count, "ground_truth": out.join("ground_truth.json"), "severity": severity, "seed": seed}),
    )
}

/// `verity eval barcodes`: synthetic licence backs with random AAMVA payloads, photographed at
/// `severity`; how many are read, how many exactly, and the time per image.
pub fn eval_barcodes(count: usize, severity: &str, seed: u64) -> Result<Value, CliError> {
    use verity_document::synth::{licence_back, random_aamva, Rng, Severity};
    let sev = Severity::parse(severity)
        .ok_or_else(|| CliError::input("severity_invalid", "severity is clean, mild, moderate or severe"))?;
    let mut rng = Rng::new(seed);
    let (mut read, mut exact, mut parsed) = (0usize, 0usize, 0usize);
    let mut times = Vec::new();
    let mut attempts = 0u32;
    for i in 0..count {
        let payload = random_aamva(&mut rng);
        let back = licence_back(&mut rng, &payload, sev)
            .ok_or_else(|| CliError::other("internal", "the PDF417 encoder refused a payload"))?;
        let img = verity_imaging::decode(&back.jpeg, &Limits::default())?.image;
        let t = Instant::now();
        let r = verity_document::barcode::read_pdf417(&img);
        times.push(ms(t));
        if let Some(r) = r {
            read += 1;
            attempts += r.attempts;
            exact += usize::from(r.text == payload);
            parsed += usize::from(r.aamva.is_some());
        }
        let _ = writeln!(std::io::stderr(), "{}/{count} read={read} exact={exact}", i + 1);
    }
    times.sort_by(f64::total_cmp);
    let n = count.max(1) as f64;
    Ok(json!({
        "samples": count,
        "severity": severity,
        "read_rate": read as f64 / n,
        "exact_rate": exact as f64 / n,
        "aamva_parsed": parsed,
        "mean_attempts": if read > 0 { attempts as f64 / read as f64 } else { 0.0 },
        "ms_mean": times.iter().sum::<f64>() / n,
        "ms_p50": times.get(times.len() / 2).copied().unwrap_or(0.0),
    }))
}
