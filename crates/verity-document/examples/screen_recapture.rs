//! How well `recapture::screen_lattice` tells a document photographed on paper from the same
//! document photographed off a display, and what it costs.
//!
//! Synthetic pages (TD3, TD1, CNIE-like and CNI-like fronts) are each photographed twice by the
//! same camera model (`synth::recapture`): on paper and on a random display. The thresholds were
//! set on seeds 0..N ("tuning"); seeds from 50,000 ("held out") and the real document photos of
//! `$VERITY_SHARED_DIR/data/documents/images` (genuine captures: false alarms; and shown on a
//! simulated display: detections) were not looked at while setting them.
//!
//!   cargo run --release -p verity-document --example screen_recapture -- [N] [SEVERITY]

use std::path::{Path, PathBuf};
use std::time::Instant;

use verity_document::recapture::{screen_lattice, ScreenLattice};
use verity_document::synth::national::{self, Card, Fonts};
use verity_document::synth::recapture::{capture, Display, Scene};
use verity_document::synth::{self, Rng, Severity};
use verity_mrz::Format;

#[derive(Default)]
struct Tally {
    found: usize,
    seen: usize,
    prominence: Vec<f32>,
    ellipticity: Vec<f32>,
    recurrence: Vec<f32>,
    share: Vec<f32>,
    ms: Vec<f64>,
    last: Option<ScreenLattice>,
}

impl Tally {
    fn add(&mut self, jpeg: &[u8]) {
        let img = image::load_from_memory(jpeg).expect("own jpeg").to_rgb8();
        self.add_image(&img);
    }
    fn add_image(&mut self, img: &image::RgbImage) {
        let t = Instant::now();
        let r = screen_lattice(img);
        self.ms.push(t.elapsed().as_secs_f64() * 1000.0);
        self.seen += 1;
        self.last = r.clone();
        if let Some(ScreenLattice { prominence, ellipticity, recurrence, share, found, .. }) = r {
            self.share.push(share * 1000.0);
            self.found += usize::from(found);
            self.prominence.push(prominence);
            self.ellipticity.push(ellipticity);
            self.recurrence.push(recurrence);
        }
    }
    fn print(&self, name: &str) {
        let q = |v: &[f32], p: f32| -> f32 {
            let mut s = v.to_vec();
            s.sort_by(f32::total_cmp);
            s.get(((s.len() as f32 - 1.0) * p).round() as usize).copied().unwrap_or(f32::NAN)
        };
        let trio = |v: &[f32]| format!("{:>6.2} {:>6.2} {:>6.2}", q(v, 0.1), q(v, 0.5), q(v, 0.9));
        let mut ms: Vec<f32> = self.ms.iter().map(|&m| m as f32).collect();
        ms.sort_by(f32::total_cmp);
        println!(
            "{name:<34} {:>3}/{:<3} flagged | prominence {} | ellipticity {} | recurrence {} | share ‰ {} | {:.0} ms p50",
            self.found,
            self.seen,
            trio(&self.prominence),
            trio(&self.ellipticity),
            trio(&self.recurrence),
            trio(&self.share),
            q(&ms, 0.5)
        );
    }
}

fn real_documents() -> Vec<PathBuf> {
    let root = std::env::var_os("VERITY_SHARED_DIR").map(PathBuf::from).unwrap_or_else(|| "../shared".into());
    let mut out = Vec::new();
    let mut stack = vec![root.join("data/documents/images")];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: u64 = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(40);
    let severity = std::env::args().nth(2).unwrap_or_else(|| "mild".into());
    let sev = Severity::parse(&severity).ok_or("severity: clean, mild, moderate or severe")?;
    let load = |p: &str| synth::load_font(Path::new(p));
    let (ocrb, latin, arabic) =
        (load(synth::OCRB_PATH)?, load(national::DEJAVU_PATH)?, load(national::AMIRI_PATH)?);
    let (o, l, a) = (synth::font(&ocrb)?, synth::font(&latin)?, synth::font(&arabic)?);
    let fonts = Fonts { ocrb: &o, latin: &l, arabic: &a };
    println!("{:<34} {:>7} flagged | p10/p50/p90 of each measure", "set", "");
    for (name, first) in [("tuning (seeds 0..N)", 0u64), ("held out (seeds 50000..)", 50_000)] {
        let (mut paper, mut screen, mut coarse, mut fine) =
            (Tally::default(), Tally::default(), Tally::default(), Tally::default());
        for seed in first..first + n {
            let mut rng = Rng::new(seed);
            let page = match seed % 4 {
                0 => synth::page(&mut rng, &o, Format::Td3),
                1 => synth::page(&mut rng, &o, Format::Td1),
                2 => national::card_front(&mut rng, &fonts, Card::Cnie),
                _ => national::card_front(&mut rng, &fonts, Card::Cni),
            };
            paper.add(&capture(&mut rng, &page, Scene::Paper, sev).0);
            let display = Display::random(&mut rng);
            let jpeg = capture(&mut rng, &page, Scene::Screen(display), sev).0;
            screen.add(&jpeg);
            if display.camera_px_per_pixel >= 2.0 { &mut coarse } else { &mut fine }.add(&jpeg);
            let missed = display.camera_px_per_pixel >= 2.0 && !screen.last.as_ref().is_some_and(|l| l.found);
            if missed || std::env::var_os("VERBOSE").is_some() {
                println!("  seed {seed}: {display:?} → {:?}", screen.last);
            }
        }
        paper.print(&format!("{name}: paper"));
        screen.print(&format!("{name}: screen"));
        coarse.print("  of which ≥ 2 camera px per pixel");
        fine.print("  of which < 2 (moiré)");
    }
    let docs = real_documents();
    if docs.is_empty() {
        println!("(no real document photos: set VERITY_SHARED_DIR)");
        return Ok(());
    }
    let (mut real, mut shown) = (Tally::default(), Tally::default());
    let (mut coarse, mut fine) = (Tally::default(), Tally::default());
    for (i, p) in docs.iter().enumerate() {
        let Ok(bytes) = std::fs::read(p) else { continue };
        let Ok(d) = verity_imaging::decode(&bytes, &verity_imaging::Limits::default()) else { continue };
        real.add_image(&d.image);
        if real.last.as_ref().is_some_and(|l| l.found || std::env::var_os("VERBOSE").is_some()) {
            println!("  {}: {}×{} → {:?}", p.display(), d.image.width(), d.image.height(), real.last);
        }
        let mut rng = Rng::new(90_000 + i as u64);
        let page = verity_imaging::resize(&d.image, d.image.width().min(1600), {
            let w = d.image.width().min(1600);
            (d.image.height() as u64 * w as u64 / d.image.width() as u64).max(1) as u32
        });
        let display = Display::random(&mut rng);
        let jpeg = capture(&mut rng, &page, Scene::Screen(display), sev).0;
        shown.add(&jpeg);
        if display.camera_px_per_pixel >= 2.0 { &mut coarse } else { &mut fine }.add(&jpeg);
    }
    real.print("real photos (genuine)");
    shown.print("real photos on a display");
    coarse.print("  of which ≥ 2 camera px per pixel");
    fine.print("  of which < 2 (moiré)");
    Ok(())
}
