//! The `verity` binary end to end: JSON out, clear errors with stable codes for bad input, no
//! panics. Needs the models (`scripts/test` fetches them) and `../shared/data`.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn shared() -> PathBuf {
    std::env::var_os("VERITY_SHARED_DIR").map(PathBuf::from).unwrap_or_else(|| workspace().join("../shared"))
}

fn models() -> PathBuf {
    std::env::var_os("VERITY_MODELS_DIR").map(PathBuf::from).unwrap_or_else(|| workspace().join("models"))
}

fn lfw(name: &str) -> PathBuf {
    let person = &name[..name.len() - 5];
    shared().join(format!("data/faces/lfw/{person}/{name}.jpg"))
}

/// Runs `verity ARGS`, returns (exit code, stdout JSON, stderr).
fn verity(args: &[&str]) -> (i32, Value, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_verity"))
        .args(args)
        .env("VERITY_MODELS_DIR", models())
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!stderr.contains("panicked"), "panic: {stderr}");
    let json = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {stdout}\n{stderr}"));
    (out.status.code().unwrap_or(-1), json, stderr)
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

#[test]
fn compare_prints_the_documented_fields() {
    let (a, b) = (lfw("Abdullah_Gul_0001"), lfw("Abdullah_Gul_0006"));
    let (code, j, _) = verity(&["face", "compare", s(&a), s(&b)]);
    assert_eq!(code, 0, "{j}");
    for key in ["score", "similarity", "match", "threshold", "faces", "quality", "timings_ms"] {
        assert!(j.get(key).is_some(), "missing {key}: {j}");
    }
    assert_eq!(j["match"], true);
    let score = j["score"].as_f64().expect("score");
    assert!((50.0..=100.0).contains(&score));
    assert_eq!(j["faces"].as_array().map(|a| a.len()), Some(2));
    assert!(j["quality"]["a"]["sharpness"].as_f64().is_some());
    assert!(j["timings_ms"]["engine_total"].as_f64().is_some());
}

#[test]
fn detect_draws_and_reports_faces() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = dir.path().join("drawn.png");
    let (code, j, _) = verity(&["face", "detect", s(&lfw("Abdullah_Gul_0001")), "--draw", s(&out)]);
    assert_eq!(code, 0, "{j}");
    assert_eq!(j["faces"].as_array().map(|a| a.len()), Some(1));
    assert_eq!(j["chosen"]["rule"], "only_face");
    let png = std::fs::read(&out).expect("drawing written");
    assert_eq!(&png[..4], b"\x89PNG");
}

#[test]
fn bad_inputs_give_clear_errors_without_panics() {
    let dir = tempfile::tempdir().expect("tmp");
    let good = std::fs::read(lfw("Abdullah_Gul_0001")).expect("lfw");
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty.jpg", Vec::new(), "image_empty"),
        ("truncated.jpg", good[..good.len() / 3].to_vec(), "image_corrupt"),
        ("text.jpg", b"this is a text file, not a photo\n".to_vec(), "image_not_an_image"),
        ("bomb.png", bomb_png(), "image_dimensions_too_large"),
        ("anim.jpg", b"GIF89a\x01\x00\x01\x00".to_vec(), "image_format_unsupported"),
    ];
    for (name, bytes, expected) in cases {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).expect("write");
        let (code, j, stderr) = verity(&["face", "compare", s(&p), s(&lfw("Abdullah_Gul_0006"))]);
        assert_eq!(code, 2, "{name}: {j} {stderr}");
        assert_eq!(j["error"]["code"], expected, "{name}: {j}");
        assert!(j["error"]["message"].as_str().is_some_and(|m| m.contains(name)), "{name}: {j}");
    }
    let missing = dir.path().join("nope.jpg");
    let (code, j, _) = verity(&["face", "detect", s(&missing)]);
    assert_eq!((code, j["error"]["code"].as_str()), (2, Some("file_unreadable")));
}

#[test]
fn no_face_is_an_input_error() {
    let dir = tempfile::tempdir().expect("tmp");
    let p = dir.path().join("grey.png");
    let grey = image::RgbImage::from_pixel(200, 200, image::Rgb([120, 120, 120]));
    std::fs::write(&p, verity_imaging::encode_png(&grey)).expect("write");
    let (code, j, _) = verity(&["face", "compare", s(&p), s(&lfw("Abdullah_Gul_0006"))]);
    assert_eq!(code, 2);
    assert_eq!(j["error"]["code"], "no_face_detected");
}

#[test]
fn missing_models_name_the_file_and_the_fix() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = Command::new(env!("CARGO_BIN_EXE_verity"))
        .args(["face", "detect", s(&lfw("Abdullah_Gul_0001"))])
        .env("VERITY_MODELS_DIR", dir.path())
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let j: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(j["error"]["code"], "model_missing");
    let msg = j["error"]["message"].as_str().unwrap_or_default();
    assert!(
        msg.contains("face_detection_yunet_2023mar_fp32.onnx") && msg.contains("verity models fetch"),
        "{msg}"
    );
}

#[test]
fn eval_faces_ends_with_one_json_object() {
    let dir = tempfile::tempdir().expect("tmp");
    let all = std::fs::read_to_string(shared().join("data/faces/pairs.csv")).expect("pairs.csv");
    let mut lines = all.lines();
    let header = lines.next().expect("header");
    // 6 genuine (start of the file) and 6 impostor (end of the file) pairs.
    let rows: Vec<&str> = lines.clone().take(6).chain(lines.rev().take(6)).collect();
    let pairs = dir.path().join("pairs.csv");
    std::fs::write(&pairs, format!("{header}\n{}\n", rows.join("\n"))).expect("write");
    let roc = dir.path().join("roc.svg");
    let out = Command::new(env!("CARGO_BIN_EXE_verity"))
        .args(["eval", "faces", "--pairs", s(&pairs), "--root", s(&shared().join("data")), "--roc", s(&roc)])
        .env("VERITY_MODELS_DIR", models())
        .output()
        .expect("runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last = stdout.lines().last().expect("output");
    let j: Value = serde_json::from_str(last).expect("the last line is one JSON object");
    for key in [
        "pairs",
        "accuracy",
        "tar_at_far_1e-2",
        "tar_at_far_1e-3",
        "eer",
        "auc",
        "fail_to_detect",
        "threshold",
    ] {
        assert!(j.get(key).is_some(), "missing {key}: {j}");
    }
    assert_eq!(j["pairs"], 12);
    assert!(j["accuracy"].as_f64().unwrap_or(0.0) >= 0.9, "{j}");
    assert!(std::fs::read_to_string(&roc).expect("svg").starts_with("<svg"));
}

#[test]
fn eval_held_cards_counts_what_each_detection_finds() {
    let (code, v, err) = verity(&[
        "eval",
        "held-cards",
        "--people",
        s(&shared().join("data/faces/lfw")),
        "--count",
        "12",
        "--seed",
        "5",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(v["photos"], 12, "{v}");
    let recall = |i: usize| v["strategies"][i]["recall"].as_f64().expect("recall");
    let found: u64 = v["strategies"][1]["recall_by_portrait_block_px"]
        .as_array()
        .expect("bins")
        .iter()
        .map(|b| b["found"].as_u64().unwrap_or(0))
        .sum();
    // The exhaustive detection runs the coarse pass too: it finds at least what that finds, and
    // the held portraits (~74 % on 400 photos) are not all missed.
    assert!(recall(1) >= recall(0), "{v}");
    assert!(found >= 3, "{v}");
    let (code, v, _) = verity(&["eval", "held-cards", "--people", "/nonexistent", "--count", "1"]);
    assert_eq!(code, 2, "{v}");
}

/// A PNG header claiming 100000×100000 pixels.
fn bomb_png() -> Vec<u8> {
    let mut png = verity_imaging::encode_png(&image::RgbImage::new(32, 32));
    png[16..20].copy_from_slice(&100_000u32.to_be_bytes());
    png[20..24].copy_from_slice(&100_000u32.to_be_bytes());
    let mut c = 0xFFFF_FFFFu32;
    for &b in &png[12..29] {
        c ^= b as u32;
        for _ in 0..8 {
            c = if c & 1 != 0 { 0xEDB8_8320 ^ (c >> 1) } else { c >> 1 };
        }
    }
    png[29..33].copy_from_slice(&(!c).to_be_bytes());
    png
}

#[test]
fn eval_mrz_reports_agreement_per_source() {
    let cases = shared().join("data/mrz/mrz_cases.jsonl");
    let out = Command::new(env!("CARGO_BIN_EXE_verity"))
        .args(["eval", "mrz", "--cases", s(&cases), "--today", "2026-11-22"])
        .output()
        .expect("runs");
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let j: Value = serde_json::from_str(stdout.lines().last().expect("line")).expect("json");
    assert_eq!(j["cases"], 70);
    assert_eq!(j["disagree"], 0, "{j}");
    assert!(j["per_source"].as_object().is_some_and(|m| m.len() == 2));
}

#[test]
fn mrz_parse_prints_fields_and_refuses_garbage() {
    let (code, j, _) = verity(&[
        "mrz",
        "parse",
        "I<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<",
        "D231458907UTO7408122F1204159<<<<<<<6",
        "--today",
        "2026-11-22",
    ]);
    assert_eq!(code, 0, "{j}");
    assert_eq!(j["format"], "TD2");
    assert_eq!(j["valid"], true);
    assert_eq!(j["document_number"], "D23145890");
    let (code, j, _) = verity(&["mrz", "parse", "hello world"]);
    assert_eq!((code, j["error"]["code"].as_str()), (2, Some("mrz_line_length")));
}

#[test]
fn liveness_photo_prints_live_score_and_signals() {
    let (code, j, _) = verity(&["liveness", "photo", s(&lfw("Abdullah_Gul_0001"))]);
    assert_eq!(code, 0, "{j}");
    assert_eq!(j["live"], true, "{j}");
    let score = j["score"].as_f64().expect("score");
    assert!((50.0..=100.0).contains(&score), "{j}");
    assert!(j["signals"]["passive_pad"]["value"].as_f64().is_some());
    assert!(j["timings_ms"]["total_ms"].as_f64().is_some());
}

#[test]
fn liveness_video_refuses_unknown_challenges_and_non_videos() {
    let (code, j, _) =
        verity(&["liveness", "video", s(&lfw("Abdullah_Gul_0001")), "--challenges", "turn_left,jump"]);
    assert_eq!(code, 2, "{j}");
    assert_eq!(j["error"]["code"], "challenge_unknown");
    let (code, j, _) = verity(&["liveness", "video", s(&lfw("Abdullah_Gul_0001"))]);
    assert_eq!(code, 2, "{j}");
    assert_eq!(j["error"]["code"], "video_format_unsupported", "{j}");
}

#[test]
fn eval_liveness_reports_apcer_bpcer_auc_on_photos_and_videos() {
    let dir = tempfile::tempdir().expect("tmp");
    // Three live crops, three replay crops and the replay video, in the shared CSV's format.
    let all = std::fs::read_to_string(shared().join("data/spoof/labels.csv")).expect("labels.csv");
    let mut lines = all.lines();
    let header = lines.next().expect("header");
    let rows: Vec<&str> = lines
        .filter(|l| {
            [
                "real_mp4_0.png",
                "real_mp4_100.png",
                "real_mp4_200.png",
                "fake_mp4_0.png",
                "fake_mp4_300.png",
                "fake_mp4_500.png",
                "tranvanluyt_fake.mp4",
            ]
            .iter()
            .any(|n| l.contains(&format!("/{n},")))
        })
        .collect();
    assert_eq!(rows.len(), 7);
    let labels = dir.path().join("labels.csv");
    std::fs::write(&labels, format!("{header}\n{}\n", rows.join("\n"))).expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_verity"))
        .args(["eval", "liveness", "--labels", s(&labels), "--root", s(&shared().join("data"))])
        .env("VERITY_MODELS_DIR", models())
        .output()
        .expect("runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let j: Value = serde_json::from_str(stdout.lines().last().expect("output")).expect("one JSON object");
    for key in ["samples", "apcer", "bpcer", "auc", "threshold"] {
        assert!(j.get(key).is_some(), "missing {key}: {j}");
    }
    assert_eq!(j["samples"], 7);
    assert_eq!(j["apcer"], 0.0, "{j}");
    assert_eq!(j["bpcer"], 0.0, "{j}");
    assert_eq!(j["auc"], 1.0, "{j}");
}

#[test]
fn document_read_prints_the_mrz_fields_and_refuses_bad_input() {
    let img = shared().join("data/documents/images/passporteye/100_pass-hrv.jpg");
    let (code, v, err) = verity(&["document", "read", s(&img), "--today", "2026-11-22"]);
    assert_eq!(code, 0, "{err}");
    let m = &v["mrz"];
    assert_eq!(
        (m["found"].as_bool(), m["format"].as_str(), m["valid"].as_bool()),
        (Some(true), Some("TD3"), Some(true)),
        "{v}"
    );
    for k in ["lines", "raw_lines", "fields", "field_confidences", "checks", "corrections"] {
        assert!(!m[k].is_null(), "mrz.{k} missing: {v}");
    }
    assert!(v["fields"]["document_number"].is_string() && v["fields"]["birth_date"].is_string(), "{v}");
    assert!(v["timings_ms"]["read"].is_number());
    // The specimen expired in 2014.
    assert_eq!(
        v["checks"]["breakdown"]["contentAnalysis"]["breakdown"]["expirationDate"], "attention",
        "{v}"
    );
    let dir = tempfile::tempdir().expect("tmp");
    let text = dir.path().join("doc.jpg");
    std::fs::write(&text, b"this is not an image").expect("write");
    let (code, v, _) = verity(&["document", "read", s(&text)]);
    assert_eq!((code, v["error"]["code"].as_str()), (2, Some("image_not_an_image")), "{v}");
    let (code, _, _) = verity(&["document", "read", s(&dir.path().join("missing.jpg"))]);
    assert_eq!(code, 2);
    // PDF uploads: the largest image of page 1 is read; a PDF without one is a clear error.
    let empty = dir.path().join("empty.pdf");
    std::fs::write(&empty, verity_imaging::pdf::page_with_images(&[])).expect("write");
    let (code, v, _) = verity(&["document", "read", s(&empty)]);
    assert_eq!((code, v["error"]["code"].as_str()), (2, Some("pdf_without_image")), "{v}");
    let jpg = std::fs::read(&img).expect("read");
    let (w, h) = verity_imaging::image::ImageReader::new(std::io::Cursor::new(&jpg))
        .with_guessed_format()
        .expect("format")
        .into_dimensions()
        .expect("dims");
    let pdf = dir.path().join("scan.pdf");
    let bytes = verity_imaging::pdf::page_with_images(&[verity_imaging::pdf::EmbeddedImage {
        width: w,
        height: h,
        filter: Some("DCTDecode"),
        color_space: "DeviceRGB",
        data: &jpg,
    }]);
    std::fs::write(&pdf, bytes).expect("write");
    let (code, v, err) = verity(&["document", "read", s(&pdf), "--today", "2026-11-22"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(v["mrz"]["valid"], true, "{v}");
    assert_eq!(v["sides"]["front"]["intake"]["pdf"]["images_on_page"], 1, "{v}");
}

#[test]
fn licence_backs_are_read_from_their_pdf417() {
    let (code, v, err) = verity(&["eval", "barcodes", "--count", "3", "--severity", "mild", "--seed", "3"]);
    assert_eq!(code, 0, "{err}");
    for k in ["samples", "read_rate", "exact_rate", "ms_mean"] {
        assert!(!v[k].is_null(), "{k}: {v}");
    }
    assert_eq!(v["samples"], 3);
    // Measured 40/40 on mild photos (docs/documents.md); three must mostly read.
    assert!(v["exact_rate"].as_f64().is_some_and(|r| r >= 0.66), "mild photos of PDF417 codes: {v}");
    // `document read` on a licence back: no MRZ, the barcode's AAMVA data instead.
    let dir = tempfile::tempdir().expect("tmp");
    let mut rng = verity_document::synth::Rng::new(11);
    let payload = verity_document::aamva::EXAMPLE;
    let back =
        verity_document::synth::licence_back(&mut rng, payload, verity_document::synth::Severity::Clean)
            .expect("renders");
    let front = dir.path().join("front.png");
    let blank =
        verity_imaging::image::RgbImage::from_pixel(400, 260, verity_imaging::image::Rgb([235, 235, 228]));
    std::fs::write(&front, verity_imaging::encode_png(&blank)).expect("write");
    let back_path = dir.path().join("back.jpg");
    std::fs::write(&back_path, &back.jpeg).expect("write");
    let (code, v, err) =
        verity(&["document", "read", s(&front), "--back", s(&back_path), "--today", "2024-01-01"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(v["mrz"]["found"], false, "{v}");
    assert_eq!(v["barcode"]["side"], "back", "{v}");
    assert_eq!(v["fields"]["document_number"], "T64235789", "{v}");
    assert_eq!(v["fields"]["birth_date"], "1986-06-06", "{v}");
    assert_eq!(v["checks"]["breakdown"]["barcodeAnalysis"]["result"], "clear", "{v}");
    assert_eq!(v["checks"]["breakdown"]["contentAnalysis"]["result"], "clear", "{v}");
}

#[test]
fn eval_documents_ends_with_one_json_object() {
    let gt: Value = serde_json::from_str(
        &std::fs::read_to_string(shared().join("data/documents/ground_truth.json")).expect("gt"),
    )
    .expect("json");
    let keep = ["td3.jpg", "100_pass-hrv.jpg", "nomrz.jpg"];
    let docs: Vec<Value> = gt["documents"]
        .as_array()
        .expect("docs")
        .iter()
        .filter(|d| keep.iter().any(|k| d["file"].as_str().unwrap_or("").ends_with(&format!("/{k}"))))
        .cloned()
        .collect();
    assert_eq!(docs.len(), 3);
    let dir = tempfile::tempdir().expect("tmp");
    let f = dir.path().join("gt.json");
    std::fs::write(&f, serde_json::to_string(&serde_json::json!({"documents": docs})).expect("ser"))
        .expect("write");
    let (code, v, err) = verity(&[
        "eval",
        "documents",
        "--ground-truth",
        s(&f),
        "--root",
        s(&shared().join("data")),
        "--today",
        "2026-11-22",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!((v["documents"].as_u64(), v["with_mrz"].as_u64()), (Some(3), Some(2)), "{v}");
    for k in ["mrz_exact_rate", "char_accuracy", "mrz_found_rate", "false_valid"] {
        assert!(v[k].is_number(), "{k}: {v}");
    }
    assert_eq!(v["mrz_exact_rate"], 1.0, "{v}");
    assert_eq!((v["false_valid"].as_u64(), v["false_found"].as_u64()), (Some(0), Some(0)));
}

#[test]
fn check_runs_the_api_checks_on_local_files() {
    // The same person: the face match is clear, through the same pipeline as the API.
    let (a, b) = (lfw("Abdullah_Gul_0006"), lfw("Abdullah_Gul_0001"));
    let (code, j, _) = verity(&["check", "identity", s(&a), s(&b)]);
    assert_eq!(code, 0, "{j}");
    let r = &j["result"];
    assert_eq!(r["breakdown"]["faceAnalysis"]["facialSimilarity"], "clear", "{j}");
    assert!(r["breakdown"]["faceAnalysis"]["breakdown"]["facialSimilarityScore"]
        .as_i64()
        .is_some_and(|s| s >= 50));
    assert!(r["breakdown"]["authenticityAnalysis"]["livenessCheck"].is_string(), "{j}");
    assert!(j["timings_ms"]["load"].as_f64().is_some() && j["timings_ms"]["check"].as_f64().is_some());
    // A passport read and compared with declared data (the specimen expired in 2014).
    let pass = shared().join("data/documents/images/passporteye/100_pass-hrv.jpg");
    let (code, j, _) = verity(&[
        "check",
        "document",
        s(&pass),
        "--type",
        "passport",
        "--country",
        "HR",
        "--last-name",
        "Specimen",
        "--dob",
        "1982-12-25",
    ]);
    assert_eq!(code, 0, "{j}");
    let bd = &j["result"]["breakdown"];
    assert_eq!(bd["extractedData"]["documentDetails"]["documentNumber"], "007007007", "{j}");
    assert_eq!(bd["formatAnalysis"]["result"], "clear", "{j}");
    assert_eq!(bd["clientDataValidation"]["breakdown"]["lastName"], "clear", "{j}");
    assert_eq!(bd["contentAnalysis"]["breakdown"]["expirationDate"], "attention", "{j}");
    assert_eq!(j["result"]["outcome"], "attention");
    // Bad arguments and missing files are input errors with stable codes.
    let (code, j, _) = verity(&["check", "document", s(&pass), "--coverage", "mrz,palmistry"]);
    assert_eq!((code, j["error"]["code"].as_str()), (2, Some("bad_argument")), "{j}");
    let (code, j, _) = verity(&["check", "identity", "/nonexistent.jpg", s(&b)]);
    assert_eq!((code, j["error"]["code"].as_str()), (2, Some("file_unreadable")), "{j}");
}
