//! Speed of the face engine on two images: engine time of a full comparison (decode, detect,
//! align, embed both, compare), p50/p95 over N runs after a warm-up, per stage, and peak RSS.
//!
//!   cargo run --release -p verity-face --example face_speed -- A.jpg B.jpg [RUNS] [CALLERS]
//!
//! The runtime is ONNX Runtime when the models directory has it, else tract
//! (`VERITY_RUNTIME=tract` forces it).

use std::time::Instant;

use verity_face::{FaceEngine, ImageKind};
use verity_imaging::{decode, Limits};
use verity_models::ModelDir;

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v[((p / 100.0 * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1]
}

fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM")).map(|l| l.to_string()))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|kb| kb.parse::<f64>().ok()))
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        eprintln!("usage: face_speed A B [RUNS] [THREADS]");
        std::process::exit(2);
    }
    let runs: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(20);
    let threads: usize = args.get(4).and_then(|s| s.parse().ok()).unwrap_or(1);
    // THREADS concurrent callers share the cores (1: one caller on every core).
    verity_runtime::set_callers(threads);
    let t = Instant::now();
    let engine = FaceEngine::load(&ModelDir::from_env_or_default())?;
    let load_ms = t.elapsed().as_secs_f64() * 1000.0;
    let (a, b) = (std::fs::read(&args[1])?, std::fs::read(&args[2])?);
    let (mut total, mut dec, mut det, mut emb) = (vec![], vec![], vec![], vec![]);
    let mut sim = 0.0;
    for i in 0..runs + 2 {
        let t0 = Instant::now();
        let da = decode(&a, &Limits::default())?;
        let db = decode(&b, &Limits::default())?;
        let t1 = Instant::now();
        let aa = engine.analyze(&da.image, ImageKind::Selfie)?;
        let ab = engine.analyze(&db.image, ImageKind::Selfie)?;
        sim = engine.compare(&aa.embedding, &ab.embedding).similarity;
        let t2 = Instant::now();
        if i >= 2 {
            total.push((t2 - t0).as_secs_f64() * 1000.0);
            dec.push((t1 - t0).as_secs_f64() * 1000.0);
            det.push(aa.timings.detect_ms + ab.timings.detect_ms);
            emb.push(aa.timings.embed_ms + ab.timings.embed_ms);
        }
    }
    println!(
        "{{\"runs\": {runs}, \"threads\": {threads}, \"model_load_ms\": {load_ms:.1}, \"compare_p50_ms\": {:.1}, \"compare_p95_ms\": {:.1}, \"decode_p50_ms\": {:.1}, \"detect_p50_ms_both\": {:.1}, \"embed_p50_ms_both\": {:.1}, \"similarity\": {sim:.4}, \"peak_rss_mb\": {:.1}}}",
        pct(&mut total.clone(), 50.0),
        pct(&mut total, 95.0),
        pct(&mut dec, 50.0),
        pct(&mut det, 50.0),
        pct(&mut emb, 50.0),
        peak_rss_mb()
    );
    Ok(())
}
