//! One camera model for two scenes: a document page on a table, or the same page shown on a
//! colour display and photographed from it (a screen recapture).
//!
//! The camera is the same in both, so a detector cannot tell them apart by the camera: each
//! camera pixel integrates the scene over its area through a Gaussian lens blur (Monte Carlo,
//! 16 samples), records one colour through an RGGB Bayer filter with sensor noise, and the
//! mosaic is demosaiced bilinearly and JPEG-compressed. The display is a stripe panel: every
//! display pixel is three vertical stripes (red, green, blue, or blue-green-red), each lit over
//! part of its width and height (the black matrix between them), with colour crosstalk between
//! the sensor's filters and the panel's primaries. Its pitch on the photo ranges from finer than
//! the sensor's (moiré) to four camera pixels per display pixel (the lattice resolved).

use image::{Rgb, RgbImage};

use super::camera::{bilinear, place};
use super::{Rng, Severity};

/// A display showing the document.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Display {
    /// Camera pixels per display pixel on the photo.
    pub camera_px_per_pixel: f32,
    /// Blue-green-red stripes instead of red-green-blue.
    pub bgr: bool,
    /// Lit fraction of a stripe's width and of a pixel's height.
    pub fill: (f32, f32),
    /// Leak of each primary into the sensor's two other filters.
    pub crosstalk: f32,
}

impl Display {
    /// A random panel and distance.
    pub fn random(rng: &mut Rng) -> Self {
        Self {
            camera_px_per_pixel: (rng.range(0.7f32.ln(), 4.0f32.ln())).exp(),
            bgr: rng.f() < 0.2,
            fill: (rng.range(0.55, 0.9), rng.range(0.7, 0.95)),
            crosstalk: rng.range(0.05, 0.25),
        }
    }
}

/// What the camera looks at.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Scene {
    /// The page itself, on a table.
    Paper,
    /// The page on a display filling the frame.
    Screen(Display),
}

/// Light leaving point (x, y) of the display, in display pixels, showing `shown` (one
/// display pixel per image pixel); `ch` is the sensor filter.
fn display_light(shown: &RgbImage, d: &Display, x: f32, y: f32, ch: usize, ui: [f32; 3]) -> f32 {
    let (i, j) = (x.floor(), y.floor());
    let (fx, fy) = (x - i, y - j);
    let content = if i < 0.0 || j < 0.0 || i >= shown.width() as f32 || j >= shown.height() as f32 {
        ui
    } else {
        let p = shown.get_pixel(i as u32, j as u32);
        [p[0] as f32, p[1] as f32, p[2] as f32]
    };
    if (fy - 0.5).abs() > d.fill.1 / 2.0 {
        return 0.0;
    }
    let stripe = ((fx * 3.0) as usize).min(2);
    let local = fx * 3.0 - stripe as f32;
    if (local - 0.5).abs() > d.fill.0 / 2.0 {
        return 0.0;
    }
    let primary = if d.bgr { 2 - stripe } else { stripe };
    let gain = 3.0 / (d.fill.0 * d.fill.1);
    let leak = if primary == ch { 1.0 - d.crosstalk } else { d.crosstalk / 2.0 };
    content[primary] * gain * leak
}

/// Photographs `doc` (a flat page) in `scene` at `sev`; returns the JPEG bytes and the photo's
/// size.
pub fn capture(rng: &mut Rng, doc: &RgbImage, scene: Scene, sev: Severity) -> (Vec<u8>, u32, u32) {
    let l = sev.level() as usize;
    let out_w = rng.int(1100, 1600) as u32;
    let out_h = out_w * 3 / 4;
    let doc_w = rng.range(0.75, 0.92) * out_w as f32;
    let s = doc_w / doc.width() as f32;
    let (dw, dh) = (doc.width() as f32 * s, doc.height() as f32 * s);
    let angle = rng.range(-1.0, 1.0) * [1.0, 3.0, 7.0, 12.0][l] * std::f32::consts::PI / 180.0;
    let persp = [0.005, 0.02, 0.05, 0.09][l];
    let (cx, cy) = (out_w as f32 / 2.0 + rng.range(-20.0, 20.0), out_h as f32 / 2.0 + rng.range(-20.0, 20.0));
    let hm = place(rng, doc, (dw, dh), (cx, cy), angle, persp);
    let (w, h) = (doc.width() as f32, doc.height() as f32);
    // The page as the display shows it: one display pixel per image pixel.
    let shown = match scene {
        Scene::Screen(d) => {
            let across = (dw / d.camera_px_per_pixel).round().max(16.0) as u32;
            let down = (across as f32 * h / w).round().max(16.0) as u32;
            Some(verity_imaging::resize(doc, across, down))
        }
        Scene::Paper => None,
    };
    let table = [rng.range(60.0, 160.0), rng.range(50.0, 140.0), rng.range(40.0, 120.0)];
    let ui = [rng.range(20.0, 240.0); 3];
    let psf = [0.35, 0.5, 0.8, 1.1][l] * rng.range(0.7, 1.3);
    let noise = [1.5, 3.0, 5.0, 8.0][l];
    let wb = [rng.range(0.9, 1.1), 1.0, rng.range(0.9, 1.1)];
    let mut raw = vec![0f32; (out_w * out_h) as usize];
    const S: usize = 4;
    for y in 0..out_h {
        for x in 0..out_w {
            let ch = match (x % 2, y % 2) {
                (0, 0) => 0,
                (1, 1) => 2,
                _ => 1,
            };
            let mut acc = 0f32;
            for a in 0..S * S {
                let ox = ((a % S) as f32 + 0.5) / S as f32 + rng.normal() * psf;
                let oy = ((a / S) as f32 + 0.5) / S as f32 + rng.normal() * psf;
                let (fx, fy) = (x as f32 + ox, y as f32 + oy);
                let dd = hm[6] * fx + hm[7] * fy + hm[8];
                let (u, v) = ((hm[0] * fx + hm[1] * fy + hm[2]) / dd, (hm[3] * fx + hm[4] * fy + hm[5]) / dd);
                acc += match (&scene, &shown) {
                    (Scene::Screen(d), Some(img)) => {
                        let k = img.width() as f32 / w;
                        display_light(img, d, u * k, v * k, ch, ui)
                    }
                    _ => bilinear(doc, u, v, table)[ch],
                };
            }
            raw[(y * out_w + x) as usize] = acc / (S * S) as f32 * wb[ch] + rng.normal() * noise;
        }
    }
    let img = demosaic(&raw, out_w, out_h);
    let quality = [92u8, 85, 75, 60][l];
    (verity_imaging::encode_jpeg(&img, quality), out_w, out_h)
}

/// Bilinear demosaicing of an RGGB mosaic.
fn demosaic(raw: &[f32], w: u32, h: u32) -> RgbImage {
    let (wi, hi) = (w as i64, h as i64);
    let at = |x: i64, y: i64| raw[(y.clamp(0, hi - 1) * wi + x.clamp(0, wi - 1)) as usize];
    let chan = |x: i64, y: i64| match (x.rem_euclid(2), y.rem_euclid(2)) {
        (0, 0) => 0,
        (1, 1) => 2,
        _ => 1,
    };
    RgbImage::from_fn(w, h, |x, y| {
        let (x, y) = (x as i64, y as i64);
        let mut out = [0f32; 3];
        for (c, o) in out.iter_mut().enumerate() {
            let (mut sum, mut n) = (0f32, 0f32);
            let r = if chan(x, y) == c { 0 } else { 1 };
            for dy in -r..=r {
                for dx in -r..=r {
                    if chan(x + dx, y + dy) == c {
                        sum += at(x + dx, y + dy);
                        n += 1.0;
                    }
                }
            }
            *o = if n > 0.0 { sum / n } else { 0.0 };
        }
        Rgb(out.map(|v| v.clamp(0.0, 255.0) as u8))
    })
}
