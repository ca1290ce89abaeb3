//! The 1:N threshold's false-match rate, measured on real faces: every LFW image of the shared
//! data embedded by the face engine, then every pair of images of *different* people scored
//! (hundreds of thousands of impostor pairs, far more than the 300 of the 1:1 protocol, so the
//! tail of the impostor distribution is seen) and every pair of the same person (the genuine
//! rate at which duplicates are still found). Also the LFW fold-2 impostor pairs of
//! `pairs.csv` at the 1:N threshold, and the expected false matches per search by gallery size.
//!
//!   cargo run --release -p verity-checks --example duplicate_threshold -- [SHARED_DIR]

use std::collections::HashMap;
use std::path::PathBuf;

use verity_checks::duplicates::ONE_TO_N_THRESHOLD;
use verity_face::{FaceEngine, ImageKind};
use verity_imaging::{decode, Limits};
use verity_models::ModelDir;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let shared = std::env::args().nth(1).map(PathBuf::from).unwrap_or_else(|| PathBuf::from("../shared"));
    let root = shared.join("data/faces/lfw");
    let engine = FaceEngine::load(&ModelDir::from_env_or_default())?;
    let mut embedded: Vec<(String, String, Vec<f32>)> = Vec::new();
    let mut people: Vec<_> = std::fs::read_dir(&root)?.flatten().map(|e| e.path()).collect();
    people.sort();
    for person in people {
        let name = person.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
        let mut files: Vec<_> = std::fs::read_dir(&person)?.flatten().map(|e| e.path()).collect();
        files.sort();
        for f in files {
            let bytes = std::fs::read(&f)?;
            let Ok(img) = decode(&bytes, &Limits::default()) else { continue };
            if let Ok(a) = engine.analyze(&img.image, ImageKind::Selfie) {
                let file = f.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
                embedded.push((name.clone(), file, a.embedding.0));
            }
        }
    }
    let cos = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>();
    let (mut impostor, mut genuine) = (Vec::new(), Vec::new());
    for i in 0..embedded.len() {
        for j in i + 1..embedded.len() {
            let s = cos(&embedded[i].2, &embedded[j].2);
            if embedded[i].0 == embedded[j].0 {
                genuine.push(s);
            } else {
                impostor.push(s);
            }
        }
    }
    impostor.sort_by(f32::total_cmp);
    genuine.sort_by(f32::total_cmp);
    let above = |v: &[f32], t: f32| v.len() - v.partition_point(|s| *s < t);
    println!(
        "{} faces of {} people; {} impostor pairs (max {:.3}), {} genuine pairs",
        embedded.len(),
        embedded.iter().map(|e| &e.0).collect::<std::collections::HashSet<_>>().len(),
        impostor.len(),
        impostor.last().copied().unwrap_or(0.0),
        genuine.len()
    );
    println!("threshold  impostor pairs above (rate)   genuine pairs found");
    for t in [0.30f32, 0.325, 0.35, 0.40, 0.45, 0.50, 0.55] {
        let fa = above(&impostor, t);
        let ga = above(&genuine, t);
        println!(
            "{t:>9.3}  {fa:>8} ({:.2e})              {:.1} %",
            fa as f64 / impostor.len() as f64,
            100.0 * ga as f64 / genuine.len() as f64
        );
    }
    let t = ONE_TO_N_THRESHOLD;
    let fmr = above(&impostor, t) as f64 / impostor.len() as f64;
    // The rule of three: with no false match in n pairs the rate is below 3/n (95 %).
    let bound = if fmr == 0.0 { 3.0 / impostor.len() as f64 } else { fmr };
    println!("at the 1:N threshold {t}: false-match rate per pair {fmr:.2e} (95 % upper bound {bound:.2e})");
    for n in [1_000u64, 10_000, 100_000, 1_000_000] {
        println!("  gallery of {n:>9} faces: expected false matches per search ≤ {:.3}", bound * n as f64);
    }
    // The 1:1 protocol's fold-2 impostor pairs.
    let by_file: HashMap<String, &Vec<f32>> = embedded.iter().map(|(_, f, e)| (f.clone(), e)).collect();
    let csv = std::fs::read_to_string(shared.join("data/faces/pairs.csv"))?;
    let (mut pairs, mut false_dups) = (0, 0);
    for line in csv.lines().skip(1) {
        let cols: Vec<&str> = line.split(',').collect();
        if cols.len() < 3 || cols[2] != "0" {
            continue;
        }
        let file = |p: &str| p.rsplit('/').next().unwrap_or("").to_string();
        if let (Some(a), Some(b)) = (by_file.get(&file(cols[0])), by_file.get(&file(cols[1]))) {
            pairs += 1;
            if cos(a, b) >= t {
                false_dups += 1;
            }
        }
    }
    println!("LFW fold 2 impostor pairs: {false_dups} false duplicates of {pairs} at {t}");
    Ok(())
}
