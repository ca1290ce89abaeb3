//! `verity eval held-cards`: does the selfie's face detection find the portrait on an identity
//! document held up beside the face (the liveness signal `other_faces`), and at what cost?
//!
//! Synthetic selfies (`verity_document::synth::held`) from face photos of a directory of people
//! (one folder per person, e.g. LFW): the person holds a card or passport page bearing another
//! photo of themselves. Both detection settings run on the same photos: the coarse pass alone (what
//! a face match needs) and the exhaustive detection liveness runs (the fine pass too). Recall is
//! counted per size of the portrait block (in the fine pass's detector pixels); the same selfies
//! without the document count "other faces" found anyway (the source photos' bystanders, whose
//! heads may show at the edge of the crop, and false detections).

use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Args;
use serde_json::{json, Value};
use verity_document::synth::{self, held, Rng};
use verity_face::{DetectConfig, FaceEngine};
use verity_imaging::Limits;

use crate::face_cmd::load_engine;
use crate::CliError;

#[derive(Debug, Args)]
pub struct EvalHeldCardsArgs {
    /// A directory with one folder of face photos per person.
    #[arg(long)]
    pub people: PathBuf,
    #[arg(long, default_value_t = 200)]
    pub count: usize,
    #[arg(long, default_value_t = 11)]
    pub seed: u64,
    /// Write the first photos here (JPEG), to look at.
    #[arg(long)]
    pub save: Option<PathBuf>,
    #[arg(long, default_value = synth::OCRB_PATH)]
    pub font: PathBuf,
}

/// Portrait block width bins (fine-pass detector pixels).
const BINS: [f32; 5] = [0.0, 40.0, 60.0, 80.0, 120.0];

struct Strategy {
    name: String,
    cfg: DetectConfig,
    found: Vec<(usize, usize)>,
    false_others: usize,
    ms: Vec<f64>,
    passes: usize,
}

fn people(dir: &Path) -> Result<Vec<Vec<PathBuf>>, CliError> {
    let unreadable =
        |e: std::io::Error| CliError::input("file_unreadable", format!("{}: {e}", dir.display()));
    let mut out = Vec::new();
    let mut dirs: Vec<PathBuf> =
        std::fs::read_dir(dir).map_err(unreadable)?.flatten().map(|e| e.path()).collect();
    dirs.sort();
    for d in dirs.into_iter().filter(|d| d.is_dir()) {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&d)
            .map_err(unreadable)?
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.extension().is_some_and(|x| x.eq_ignore_ascii_case("jpg") || x.eq_ignore_ascii_case("png"))
            })
            .collect();
        files.sort();
        if !files.is_empty() {
            out.push(files);
        }
    }
    if out.is_empty() {
        return Err(CliError::input("no_people", format!("no folder of photos in {}", dir.display())));
    }
    Ok(out)
}

fn strategies(base: DetectConfig) -> Vec<Strategy> {
    [
        ("coarse pass only (face match)", DetectConfig { exhaustive: false, ..base }),
        ("exhaustive (liveness: coarse and fine passes)", DetectConfig { exhaustive: true, ..base }),
    ]
    .into_iter()
    .map(|(name, cfg)| Strategy {
        name: name.to_string(),
        cfg,
        found: vec![(0, 0); BINS.len()],
        false_others: 0,
        ms: Vec::new(),
        passes: 0,
    })
    .collect()
}

fn centre_in(b: &verity_face::BBox, r: held::Rect) -> bool {
    let (x, y) = (b.x + b.w / 2.0, b.y + b.h / 2.0);
    x >= r.0 && x <= r.0 + r.2 && y >= r.1 && y <= r.1 + r.3
}

pub fn eval_held_cards(models_dir: &Path, args: &EvalHeldCardsArgs) -> Result<Value, CliError> {
    let folks = people(&args.people)?;
    let (engine, _) = load_engine(models_dir)?;
    let font_bytes = synth::load_font(&args.font).map_err(|e| CliError::input("font_missing", e))?;
    let font = synth::font(&font_bytes).map_err(|e| CliError::input("font_invalid", e))?;
    let mut strategies = strategies(engine.config().detect);
    if let Some(dir) = &args.save {
        std::fs::create_dir_all(dir).map_err(|e| CliError::input("file_unwritable", e.to_string()))?;
    }
    let mut rng = Rng::new(args.seed);
    let (mut made, mut skipped, mut negatives, mut unplaced) = (0usize, 0usize, 0usize, 0usize);
    let mut bin_counts = vec![0usize; BINS.len()];
    let started = Instant::now();
    while made < args.count && made + skipped < 4 * args.count {
        let person = rng.pick(&folks).clone();
        let selfie_file = rng.pick(&person).clone();
        let portrait_file = rng.pick(&person).clone();
        let (Some(photo), Some(portrait)) = (load(&selfie_file), load(&portrait_file)) else {
            skipped += 1;
            continue;
        };
        let (Some(face), Some(portrait_face)) = (subject(&engine, &photo), subject(&engine, &portrait))
        else {
            skipped += 1;
            continue;
        };
        // The selfie: the subject's head and shoulders (people behind them left out); the
        // portrait: framed as an ID photo is (the face ~ 2/3 of its width, a plain background).
        let (photo, face) = crop_around(&photo, face, 0.45, 0.6);
        let portrait = id_photo(&portrait, portrait_face, &mut rng);
        let (canvas, face_box) = held::selfie(&mut rng, &photo, face);
        let Some(h) = held::hold_up(&mut rng, &font, &canvas, face_box, &portrait) else {
            skipped += 1;
            unplaced += 1;
            continue;
        };
        if let Some(dir) = &args.save {
            if made < 40 {
                let _ = std::fs::write(dir.join(format!("held_{made:03}.jpg")), &h.jpeg);
                let _ = std::fs::write(dir.join(format!("plain_{made:03}.jpg")), &h.plain_jpeg);
            }
        }
        let limits = Limits::default();
        let (Ok(img), Ok(plain)) =
            (verity_imaging::decode(&h.jpeg, &limits), verity_imaging::decode(&h.plain_jpeg, &limits))
        else {
            skipped += 1;
            continue;
        };
        let long = img.image.width().max(img.image.height()) as f32;
        let block = h.portrait.2 * (640.0 / long).min(2.0);
        let bin = BINS.iter().rposition(|&b| block >= b).unwrap_or(0);
        bin_counts[bin] += 1;
        negatives += 1;
        let inflate = |r: held::Rect| (r.0 - 0.15 * r.2, r.1 - 0.15 * r.3, 1.3 * r.2, 1.3 * r.3);
        for s in strategies.iter_mut() {
            let t = Instant::now();
            let d = engine.detect_with(&img.image, &s.cfg)?;
            s.ms.push(t.elapsed().as_secs_f64() * 1000.0);
            s.passes += d.passes.len();
            // Coordinates are the upright image's; a turned detection (rare) counts as missed.
            let found = d.rotation == 0 && d.faces.iter().any(|f| centre_in(&f.bbox, inflate(h.portrait)));
            s.found[bin].0 += usize::from(found);
            s.found[bin].1 += 1;
            let d = engine.detect_with(&plain.image, &s.cfg)?;
            let others = d.faces.iter().filter(|f| !centre_in(&f.bbox, inflate(face_box))).count();
            s.false_others += usize::from(d.rotation != 0 || others > 0);
        }
        made += 1;
        if made % 50 == 0 {
            eprintln!(
                "eval held-cards: {made}/{} photos, {:.0} s",
                args.count,
                started.elapsed().as_secs_f64()
            );
        }
    }
    let rows: Vec<Value> = strategies
        .iter()
        .map(|s| {
            let hit: usize = s.found.iter().map(|f| f.0).sum();
            let mut ms = s.ms.clone();
            ms.sort_by(f64::total_cmp);
            let p = |q: f64| {
                ms.get(((q * ms.len() as f64) as usize).min(ms.len().saturating_sub(1)))
                    .copied()
                    .unwrap_or(0.0)
            };
            json!({
                "strategy": s.name,
                "recall": hit as f64 / made.max(1) as f64,
                "recall_by_portrait_block_px": BINS.iter().zip(&s.found).map(|(b, f)| json!({
                    "from_px": b, "photos": f.1, "found": f.0,
                })).collect::<Vec<_>>(),
                "false_other_faces_without_document": s.false_others,
                "detect_ms_mean": ms.iter().sum::<f64>() / ms.len().max(1) as f64,
                "detect_ms_p90": p(0.9),
                "passes_per_photo": s.passes as f64 / made.max(1) as f64,
            })
        })
        .collect();
    Ok(json!({
        "photos": made,
        "skipped": skipped,
        "skipped_no_place_for_the_document": unplaced,
        "negatives": negatives,
        "photos_per_bin": bin_counts,
        "seed": args.seed,
        "strategies": rows,
    }))
}

fn load(path: &Path) -> Option<image::RgbImage> {
    let bytes = std::fs::read(path).ok()?;
    verity_imaging::decode(&bytes, &Limits::default()).ok().map(|d| d.image)
}

/// `photo` cropped to `face` widened by `kx` of its width on each side and `ky` of its height
/// above and below (clamped to the photo), and the face's box on the crop.
fn crop_around(photo: &image::RgbImage, face: held::Rect, kx: f32, ky: f32) -> (image::RgbImage, held::Rect) {
    let (w, h) = (photo.width() as f32, photo.height() as f32);
    let x0 = (face.0 - kx * face.2).clamp(0.0, w - 1.0);
    let y0 = (face.1 - ky * face.3).clamp(0.0, h - 1.0);
    let x1 = (face.0 + face.2 * (1.0 + kx)).clamp(x0 + 1.0, w);
    let y1 = (face.1 + face.3 * (1.0 + ky)).clamp(y0 + 1.0, h);
    let crop =
        image::imageops::crop_imm(photo, x0 as u32, y0 as u32, (x1 - x0) as u32, (y1 - y0) as u32).to_image();
    (crop, (face.0 - x0.floor(), face.1 - y0.floor(), face.2, face.3))
}

/// An ID photo of the face at `face` on `photo`: the face about 2/3 of the width, on a plain
/// light background (the photo's own pixels fade into it).
fn id_photo(photo: &image::RgbImage, face: held::Rect, rng: &mut Rng) -> image::RgbImage {
    let (w, h) = ((face.2 / 0.65).round().max(8.0) as u32, (face.3 / 0.55).round().max(8.0) as u32);
    let bg = [rng.range(200.0, 245.0), rng.range(205.0, 245.0), rng.range(210.0, 250.0)];
    let (ox, oy) = (face.0 - (w as f32 - face.2) / 2.0, face.1 - 0.3 * (h as f32 - face.3));
    let (cx, cy) = (face.0 + face.2 / 2.0, face.1 + face.3 / 2.0);
    image::RgbImage::from_fn(w, h, |x, y| {
        let (px, py) = (ox + x as f32, oy + y as f32);
        // Inside an ellipse around the head: the photo; outside: the background.
        let d = ((px - cx) / (0.75 * face.2)).powi(2) + ((py - cy) / (0.85 * face.3)).powi(2);
        let a = (1.5 - d).clamp(0.0, 1.0);
        let inside = px >= 0.0 && py >= 0.0 && (px as u32) < photo.width() && (py as u32) < photo.height();
        let src = if inside { photo.get_pixel(px as u32, py as u32).0.map(f32::from) } else { bg };
        let a = if inside { a } else { 0.0 };
        image::Rgb(std::array::from_fn(|k| (src[k] * a + bg[k] * (1.0 - a)) as u8))
    })
}

/// The subject's face box on the source photo (the best face found upright). Face photos cropped
/// tight (the face filling the frame) are framed in grey first: the detector needs context.
fn subject(engine: &FaceEngine, photo: &image::RgbImage) -> Option<held::Rect> {
    let pad = photo.width().max(photo.height()) / 3;
    let mut framed =
        image::RgbImage::from_pixel(photo.width() + 2 * pad, photo.height() + 2 * pad, image::Rgb([128; 3]));
    image::imageops::overlay(&mut framed, photo, i64::from(pad), i64::from(pad));
    let d = engine.detect(&framed).ok()?;
    let f = d.faces.first().filter(|_| d.rotation == 0)?;
    Some((f.bbox.x - pad as f32, f.bbox.y - pad as f32, f.bbox.w, f.bbox.h))
}
