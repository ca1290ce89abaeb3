//! `verity face detect` and `verity face compare`.

use std::path::Path;
use std::time::Instant;

use serde_json::{json, Value};
use verity_face::{Analysis, Face, FaceEngine, ImageKind};
use verity_imaging::{Decoded, Limits};
use verity_models::ModelDir;

use crate::CliError;

/// Reads and decodes an image file, checking its size before reading it.
pub(crate) fn read_image(path: &Path, limits: &Limits) -> Result<Decoded, CliError> {
    read_with(path, limits, verity_imaging::decode)
}

/// Reads an identity-document file: an image, or a PDF whose largest image on page 1 is taken.
pub(crate) fn read_document_image(path: &Path, limits: &Limits) -> Result<Decoded, CliError> {
    read_with(path, limits, verity_imaging::decode_document)
}

fn read_with(
    path: &Path,
    limits: &Limits,
    decode: fn(&[u8], &Limits) -> Result<Decoded, verity_imaging::ImageError>,
) -> Result<Decoded, CliError> {
    let meta = std::fs::metadata(path)
        .map_err(|e| CliError::input("file_unreadable", format!("cannot read {}: {e}", path.display())))?;
    if meta.len() > limits.max_bytes as u64 {
        return Err(verity_imaging::ImageError::TooLarge {
            bytes: meta.len() as usize,
            max: limits.max_bytes,
        }
        .into());
    }
    let bytes = std::fs::read(path)
        .map_err(|e| CliError::input("file_unreadable", format!("cannot read {}: {e}", path.display())))?;
    decode(&bytes, limits).map_err(|e| {
        let mut err: CliError = e.into();
        err.message = format!("{}: {}", path.display(), err.message);
        err
    })
}

fn r1(v: f32) -> f64 {
    (v as f64 * 10.0).round() / 10.0
}

fn r3(v: f32) -> f64 {
    (v as f64 * 1000.0).round() / 1000.0
}

/// JSON of one face.
pub(crate) fn face_json(f: &Face) -> Value {
    let p = |i: usize| json!([r1(f.landmarks[i].x), r1(f.landmarks[i].y)]);
    json!({
        "box": {"x": r1(f.bbox.x), "y": r1(f.bbox.y), "w": r1(f.bbox.w), "h": r1(f.bbox.h)},
        "score": r3(f.score),
        "landmarks": {
            "right_eye": p(0), "left_eye": p(1), "nose": p(2),
            "right_mouth": p(3), "left_mouth": p(4)
        }
    })
}

fn quality_json(a: &Analysis) -> Value {
    let q = &a.quality;
    json!({
        "ok": q.ok(),
        "face_width_px": r1(q.face_width_px),
        "interocular_px": r1(q.interocular_px),
        "sharpness": r1(q.sharpness),
        "brightness": r1(q.brightness),
        "glare_fraction": r3(q.glare_fraction),
        "yaw_deg": r1(q.yaw_deg),
        "pitch_deg": r1(q.pitch_deg),
        "roll_deg": r1(q.roll_deg),
        "faces_detected": q.faces_detected,
        "other_large_faces": q.other_large_faces,
        "outside_fraction": r3(q.outside_fraction),
        "issues": q.issues,
    })
}

fn ms(d: std::time::Duration) -> f64 {
    (d.as_secs_f64() * 10_000.0).round() / 10.0
}

pub(crate) fn load_engine(models_dir: &Path) -> Result<(FaceEngine, f64), CliError> {
    let t = Instant::now();
    let engine = FaceEngine::load(&ModelDir::new(models_dir))?;
    Ok((engine, ms(t.elapsed())))
}

/// `verity face detect IMG [--draw OUT.png]`.
pub fn detect_file(
    models_dir: &Path,
    image: &Path,
    draw: Option<&Path>,
    kind: ImageKind,
) -> Result<Value, CliError> {
    let (engine, load_ms) = load_engine(models_dir)?;
    let t0 = Instant::now();
    let decoded = read_image(image, &Limits::default())?;
    let decode_ms = ms(t0.elapsed());
    let t1 = Instant::now();
    let det = engine.detect(&decoded.image)?;
    let detect_ms = ms(t1.elapsed());
    let (w, h) = det.upright.dimensions();
    let chosen = verity_face::choose(&det.faces, kind, w, h);
    if let Some(out) = draw {
        let drawn = verity_face::draw_faces(&det.upright, &det.faces, chosen.map(|c| c.0));
        std::fs::write(out, verity_imaging::encode_png(&drawn))
            .map_err(|e| CliError::other("write_failed", format!("cannot write {}: {e}", out.display())))?;
    }
    Ok(json!({
        "image": {"path": image, "intake": decoded.info},
        "rotation": det.rotation,
        "coordinates": if det.rotation == 0 { "image" } else { "image rotated clockwise by `rotation` degrees" },
        "faces": det.faces.iter().map(face_json).collect::<Vec<_>>(),
        "chosen": chosen.map(|c| json!({"index": c.0, "rule": c.1})),
        "passes": det.passes,
        "timings_ms": {"model_load": load_ms, "decode": decode_ms, "detect": detect_ms},
    }))
}

fn side_json(label: &str, path: &Path, d: &Decoded, a: &Analysis) -> Value {
    json!({
        "image": label,
        "path": path,
        "intake": d.info,
        "rotation": a.rotation,
        "count": a.faces.len(),
        "chosen": face_json(a.face()),
        "rule": a.rule,
    })
}

/// `verity face compare A B`.
pub fn compare_files(
    models_dir: &Path,
    a: &Path,
    b: &Path,
    kind_a: ImageKind,
    kind_b: ImageKind,
) -> Result<Value, CliError> {
    let (engine, load_ms) = load_engine(models_dir)?;
    let limits = Limits::default();
    let t0 = Instant::now();
    let da = read_image(a, &limits)?;
    let decode_a = ms(t0.elapsed());
    let t1 = Instant::now();
    let db = read_image(b, &limits)?;
    let decode_b = ms(t1.elapsed());
    let t2 = Instant::now();
    let aa = engine.analyze(&da.image, kind_a).map_err(|e| with_image(e, a))?;
    let t3 = Instant::now();
    let ab = engine.analyze(&db.image, kind_b).map_err(|e| with_image(e, b))?;
    let t4 = Instant::now();
    let m = engine.compare(&aa.embedding, &ab.embedding);
    let t5 = Instant::now();
    let engine_ms = ms(t5 - t0);
    Ok(json!({
        "score": m.score,
        "similarity": r3(m.similarity) ,
        "match": m.is_match,
        "threshold": m.threshold,
        "score_threshold": 50,
        "faces": [side_json("a", a, &da, &aa), side_json("b", b, &db, &ab)],
        "quality": {"a": quality_json(&aa), "b": quality_json(&ab)},
        "timings_ms": {
            "model_load": load_ms,
            "decode_a": decode_a, "decode_b": decode_b,
            "analyze_a": ms(t3 - t2), "analyze_b": ms(t4 - t3),
            "a": stage_json(&aa), "b": stage_json(&ab),
            "engine_total": engine_ms,
        },
    }))
}

fn stage_json(a: &Analysis) -> Value {
    let t = a.timings;
    let f = |v: f64| (v * 10.0).round() / 10.0;
    json!({"detect": f(t.detect_ms), "align": f(t.align_ms), "embed": f(t.embed_ms), "quality": f(t.quality_ms)})
}

fn with_image(e: verity_face::FaceError, path: &Path) -> CliError {
    let mut err: CliError = e.into();
    err.message = format!("{}: {}", path.display(), err.message);
    err
}
