//! PDF417 barcodes (the back of North American driving licences and ID cards), read with
//! `rxing` and parsed as AAMVA data.
//!
//! rxing's PDF417 detector finds codes only within ~2° of upright (or at 90°/180°), so the image
//! is deskewed first: the shear that makes the column profile sharpest gives the bars' angle
//! (see [`dominant_skew`]), tried first; then a few fixed angles. Each try is a rotation of a ≤ 1,600 px gray copy.

use std::time::Instant;

use image::{GrayImage, Luma, RgbImage};
use rxing::{BarcodeFormat, DecodeHints};
use serde::Serialize;

use crate::aamva::{self, Aamva};

/// A PDF417 read.
#[derive(Debug, Clone, Serialize)]
pub struct BarcodeReading {
    /// `pdf417`.
    pub format: &'static str,
    /// The decoded payload.
    pub text: String,
    /// The AAMVA data, when the payload is AAMVA.
    pub aamva: Option<Aamva>,
    /// Why the payload is not AAMVA data, when it is not.
    pub aamva_error: Option<String>,
    /// The rotation (degrees, counter-clockwise) at which the code was read.
    pub angle_deg: f32,
    /// Rotations tried.
    pub attempts: u32,
    pub ms: f64,
}

const MAX_SIDE: u32 = 1600;

/// Reads a PDF417 code from a photo, deskewing first. `None` when there is none to read.
pub fn read_pdf417(img: &RgbImage) -> Option<BarcodeReading> {
    let t = Instant::now();
    let gray = to_gray_bounded(img, MAX_SIDE);
    let skew = dominant_skew(&gray);
    let mut angles = vec![0.0f32];
    if skew.abs() > 1.0 {
        angles.insert(0, -skew);
    }
    for a in [-3.0, 3.0, -6.0, 6.0, -10.0, 10.0, -15.0, 15.0, -20.0, 20.0, 90.0] {
        if angles.iter().all(|b| (a - b).abs() > 1.5) {
            angles.push(a);
        }
    }
    // A payload that is not AAMVA data may be a misdecode (rxing has returned corrupted text for
    // a code read at the wrong angle): keep trying, and return it only if nothing parses.
    let mut fallback: Option<BarcodeReading> = None;
    for (i, a) in angles.into_iter().enumerate() {
        let attempts = i as u32 + 1;
        let rotated = if a == 0.0 { gray.clone() } else { rotate(&gray, a) };
        if let Some(text) = decode(&rotated) {
            let (aamva, aamva_error) = match aamva::parse(&text) {
                Ok(a) => (Some(a), None),
                Err(e) => (None, Some(e.to_string())),
            };
            let parsed = aamva.is_some();
            let reading = BarcodeReading {
                format: "pdf417",
                text,
                aamva,
                aamva_error,
                angle_deg: a,
                attempts,
                ms: t.elapsed().as_secs_f64() * 1e3,
            };
            if parsed {
                return Some(reading);
            }
            fallback.get_or_insert(reading);
        }
    }
    fallback.map(|mut r| {
        r.ms = t.elapsed().as_secs_f64() * 1e3;
        r
    })
}

fn decode(g: &GrayImage) -> Option<String> {
    let (w, h) = g.dimensions();
    let raw = g.as_raw().clone();
    // rxing is a port with deep index arithmetic: a malformed code must not take the process down.
    std::panic::catch_unwind(move || {
        let mut hints = DecodeHints::default();
        rxing::helpers::detect_in_luma_with_hints(raw, w, h, Some(BarcodeFormat::PDF_417), &mut hints)
            .ok()
            .map(|r| r.getText().to_string())
    })
    .ok()
    .flatten()
}

fn to_gray_bounded(img: &RgbImage, max_side: u32) -> GrayImage {
    let (w, h) = img.dimensions();
    let scale = (max_side as f32 / w.max(h) as f32).min(1.0);
    let src = if scale < 1.0 {
        let (nw, nh) =
            (((w as f32 * scale).round() as u32).max(1), ((h as f32 * scale).round() as u32).max(1));
        verity_imaging::resize(img, nw, nh)
    } else {
        img.clone()
    };
    GrayImage::from_fn(src.width(), src.height(), |x, y| {
        let p = src.get_pixel(x, y).0;
        Luma([((p[0] as u32 * 299 + p[1] as u32 * 587 + p[2] as u32 * 114) / 1000) as u8])
    })
}

/// The skew of vertical structure (a PDF417's bars) in degrees, in [-25°, 25°]: 0 for an
/// upright code; rotating the image by minus this value makes the bars vertical. Found as the
/// shear that makes the column profile sharpest (projection profiles: no interpolation, O(pixels)
/// per angle), coarse in 1° steps, then 0.25° around the best.
pub fn dominant_skew(g: &GrayImage) -> f32 {
    let (w, h) = g.dimensions();
    if w < 8 || h < 8 {
        return 0.0;
    }
    let raw = g.as_raw();
    let (wu, hu) = (w as usize, h as usize);
    let ystep = (hu / 300).max(1);
    let score = |deg: f32| -> f64 {
        let t = deg.to_radians().tan();
        let pad = (hu as f32 * t.abs()).ceil() as usize + 1;
        let mut prof = vec![0f64; wu + 2 * pad];
        for y in (0..hu).step_by(ystep) {
            let shift = pad as f32 - (y as f32 - hu as f32 / 2.0) * t;
            let row = &raw[y * wu..(y + 1) * wu];
            for (x, &v) in row.iter().enumerate() {
                let c = (x as f32 + shift).round() as usize;
                if let Some(p) = prof.get_mut(c) {
                    *p += 255.0 - v as f64;
                }
            }
        }
        prof.windows(2).map(|p| (p[1] - p[0]) * (p[1] - p[0])).sum()
    };
    let mut best = (0.0f32, score(0.0));
    for d in -25..=25 {
        let sc = score(d as f32);
        if sc > best.1 * 1.0001 {
            best = (d as f32, sc);
        }
    }
    let coarse = best.0;
    for k in -4..=4 {
        let d = coarse + k as f32 * 0.25;
        let sc = score(d);
        if sc > best.1 {
            best = (d, sc);
        }
    }
    best.0
}

/// Rotates counter-clockwise by `deg` about the centre (bilinear), onto a canvas that holds the
/// whole image, the corners filled white.
pub fn rotate(g: &GrayImage, deg: f32) -> GrayImage {
    let (w, h) = (g.width() as f32, g.height() as f32);
    let (s, c) = deg.to_radians().sin_cos();
    let nw = (w * c.abs() + h * s.abs()).ceil() as u32;
    let nh = (w * s.abs() + h * c.abs()).ceil() as u32;
    let (cx, cy) = (w / 2.0, h / 2.0);
    let (ncx, ncy) = (nw as f32 / 2.0, nh as f32 / 2.0);
    let src = g.as_raw();
    let gw = g.width() as usize;
    GrayImage::from_fn(nw, nh, |x, y| {
        // Inverse map: destination → source (image y grows downwards, so counter-clockwise on
        // screen is a clockwise rotation of the coordinates).
        let dx = x as f32 + 0.5 - ncx;
        let dy = y as f32 + 0.5 - ncy;
        let sx = c * dx - s * dy + cx - 0.5;
        let sy = s * dx + c * dy + cy - 0.5;
        if sx < 0.0 || sy < 0.0 || sx > w - 1.0 || sy > h - 1.0 {
            return Luma([255]);
        }
        let (x0, y0) = (sx.floor() as usize, sy.floor() as usize);
        let (x1, y1) = ((x0 + 1).min(gw - 1), (y0 + 1).min(g.height() as usize - 1));
        let (fx, fy) = (sx - x0 as f32, sy - y0 as f32);
        let p = |xx: usize, yy: usize| src[yy * gw + xx] as f32;
        let v = p(x0, y0) * (1.0 - fx) * (1.0 - fy)
            + p(x1, y0) * fx * (1.0 - fy)
            + p(x0, y1) * (1.0 - fx) * fy
            + p(x1, y1) * fx * fy;
        Luma([v.round().clamp(0.0, 255.0) as u8])
    })
}

/// Renders `text` as a PDF417 symbol, black on white, `module` pixels per module, with a quiet
/// zone. For synthetic documents and tests.
pub fn render_pdf417(text: &str, module: u32) -> Option<GrayImage> {
    use rxing::Writer;
    let writer = rxing::pdf417::PDF417Writer;
    let m = writer.encode(text, &BarcodeFormat::PDF_417, 0, 0).ok()?;
    let (mw, mh) = (m.getWidth(), m.getHeight());
    // The writer's matrix already has PDF417's row height (several modules per row); each
    // module becomes `module` × `module` pixels.
    let q = 2 * module;
    let (w, h) = (mw * module + 2 * q, mh * module + 2 * q);
    Some(GrayImage::from_fn(w, h, |x, y| {
        if x < q || y < q || x >= w - q || y >= h - q {
            return Luma([255]);
        }
        let (mx, my) = ((x - q) / module, (y - q) / module);
        Luma([if m.get(mx, my) { 0 } else { 255 }])
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn on_card(code: &GrayImage) -> RgbImage {
        // A light card with the code in the lower half and some printed blocks above.
        let (cw, ch) = (code.width() + 120, code.height() * 2 + 120);
        RgbImage::from_fn(cw, ch, |x, y| {
            let (ox, oy) = (60, ch - code.height() - 60);
            if x >= ox && y >= oy && x < ox + code.width() && y < oy + code.height() {
                let v = code.get_pixel(x - ox, y - oy)[0];
                image::Rgb([v, v, v])
            } else if y > 40 && y < 60 && x > 60 && x < cw / 2 {
                image::Rgb([40, 40, 60])
            } else {
                image::Rgb([236, 232, 222])
            }
        })
    }

    fn rgb_rotated(img: &RgbImage, deg: f32) -> RgbImage {
        let g = image::DynamicImage::ImageRgb8(img.clone()).to_luma8();
        image::DynamicImage::ImageLuma8(rotate(&g, deg)).to_rgb8()
    }

    #[test]
    fn an_aamva_code_is_read_upright_and_tilted() {
        let text = crate::aamva::EXAMPLE;
        let code = render_pdf417(text, 3).expect("renders");
        let card = on_card(&code);
        let r = read_pdf417(&card).expect("upright read");
        assert_eq!(r.text, text);
        let a = r.aamva.expect("aamva");
        assert_eq!(a.document_number.as_deref(), Some("T64235789"));
        for deg in [7.0f32, -12.0, 90.0] {
            let tilted = rgb_rotated(&card, deg);
            let r = read_pdf417(&tilted).unwrap_or_else(|| panic!("read at {deg}°"));
            assert_eq!(r.text, text, "at {deg}°");
            if deg.abs() < 45.0 {
                // Deskewed: read at the first rotation tried.
                assert_eq!(r.attempts, 1, "at {deg}°: {r:?}");
            }
        }
    }

    #[test]
    fn skew_is_measured() {
        let code = render_pdf417("VERITY SKEW TEST 0123456789", 3).expect("renders");
        for deg in [0.0f32, 4.0, -8.0, 13.0] {
            let s = dominant_skew(&rotate(&code, deg));
            // The skew is the rotation applied; rotating back by it makes the bars vertical.
            assert!((s - deg).abs() < 1.0, "rotated {deg}: measured {s}");
        }
    }

    #[test]
    fn no_code_and_tiny_images_are_none() {
        let blank = RgbImage::from_pixel(300, 200, image::Rgb([250, 250, 250]));
        assert!(read_pdf417(&blank).is_none());
        assert!(read_pdf417(&RgbImage::new(1, 1)).is_none());
    }
}
