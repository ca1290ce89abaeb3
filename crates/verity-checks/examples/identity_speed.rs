//! Speed of one identity check (the API's `identity_check`, the same function the server runs):
//! engine time p50/p90 over N runs after two warm-up runs, with CALLERS checks at once (the
//! server's worker count: each model gets a session per caller and the cores are shared), and
//! the checks completed per second.
//!
//!   cargo run --release -p verity-checks --example identity_speed -- SELFIE FRONT [RUNS] [CALLERS]

use std::time::Instant;

use verity_checks::engines::Engines;
use verity_checks::identity::identity_check;

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v[((p / 100.0 * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1]
}

/// Peak resident memory of this process (VmHWM), MB.
fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM")).map(str::to_string))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|kb| kb.parse::<f64>().ok()))
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        eprintln!("usage: identity_speed SELFIE FRONT [RUNS] [CALLERS]");
        std::process::exit(2);
    }
    let runs: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(20);
    let callers: usize = args.get(4).and_then(|s| s.parse().ok()).unwrap_or(1).max(1);
    let dir = std::env::var("VERITY_MODELS_DIR").unwrap_or_else(|_| "models".into());
    let t = Instant::now();
    let engines = Engines::load(std::path::Path::new(&dir), callers);
    println!("load: {:.0} ms", t.elapsed().as_secs_f64() * 1000.0);
    let faces = engines.face.map_err(|e| format!("face engine: {e}"))?;
    let (selfie, front) = (std::fs::read(&args[1])?, std::fs::read(&args[2])?);
    let r = identity_check(faces.as_ref(), &selfie, &front);
    println!("outcome: {}", serde_json::to_string(&r.outcome)?);
    let wall = Instant::now();
    let times: Vec<f64> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..callers)
            .map(|_| {
                s.spawn(|| {
                    (0..runs + 2)
                        .map(|_| {
                            let t0 = Instant::now();
                            let _ = identity_check(faces.as_ref(), &selfie, &front);
                            t0.elapsed().as_secs_f64() * 1000.0
                        })
                        .skip(2)
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        hs.into_iter().flat_map(|h| h.join().unwrap_or_default()).collect()
    });
    let secs = wall.elapsed().as_secs_f64();
    let mut t = times.clone();
    println!(
        "identity_check, {callers} caller(s), {} checks: p50 {:.1} ms, p90 {:.1} ms; {:.2} checks/s; peak RSS {:.0} MB",
        t.len(),
        pct(&mut t, 50.0),
        pct(&mut t, 90.0),
        (callers * (runs + 2)) as f64 / secs,
        peak_rss_mb()
    );
    Ok(())
}
