//! Speed and memory of the duplicate search: a gallery of N synthetic verifications (random
//! unit embeddings — a selfie and a document portrait each, as a verification stores them, and
//! an identity key), Q probes, an exact scan per probe on one core.
//!
//!   cargo run --release -p verity-checks --example duplicate_search -- [FACES] [QUERIES]
//!
//! Prints the time per query (p50 / p90) and the memory the gallery takes (RSS growth).

use std::time::Instant;

use verity_checks::duplicates::{Fingerprint, Gallery, Identity, DIM, ONE_TO_N_THRESHOLD};

fn rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmRSS")).map(str::to_string))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|kb| kb.parse::<f64>().ok()))
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

/// xorshift, normal-ish coordinates (sum of uniforms): directions spread over the sphere.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 40) as f32 / (1u64 << 24) as f32 - 0.5
    }
    fn vector(&mut self) -> Vec<f32> {
        (0..DIM).map(|_| self.next() + self.next() + self.next()).collect()
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let faces: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(100_000);
    let queries: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(200);
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let before = rss_mb();
    let mut g = Gallery::default();
    // Two faces per verification (selfie and portrait).
    for i in 0..faces / 2 {
        let f = Fingerprint {
            identity: Identity { document: Some(format!("X{i:08}")), person: Some(format!("DOE|JOHN|{i}")) },
            selfie: Some(rng.vector()),
            portrait: Some(rng.vector()),
            images: Vec::new(),
        };
        g.insert(&format!("ver_{i:024x}"), f);
    }
    let after = rss_mb();
    let mut times = Vec::with_capacity(queries);
    let mut hits = 0usize;
    for _ in 0..queries {
        let probe = rng.vector();
        let t = Instant::now();
        let (found, _) = g.scan(&probe, ONE_TO_N_THRESHOLD, |f| f.identity.document.is_some());
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        hits += found.len();
    }
    times.sort_by(f64::total_cmp);
    let pct = |p: f64| times[((p * times.len() as f64).ceil() as usize).clamp(1, times.len()) - 1];
    println!(
        "gallery: {} faces ({} verifications); memory {:.1} MB ({:.0} bytes per face)",
        g.faces(),
        g.len(),
        after - before,
        (after - before) * 1024.0 * 1024.0 / g.faces() as f64
    );
    println!(
        "search over {} faces, {queries} queries: p50 {:.2} ms, p90 {:.2} ms; random hits at {ONE_TO_N_THRESHOLD}: {hits}",
        g.faces(),
        pct(0.5),
        pct(0.9)
    );
}
