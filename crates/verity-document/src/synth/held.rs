//! A selfie with an identity document held up beside the face: what the selfie's "other faces"
//! signal exists to notice, as a benchmark set (`verity eval held-cards`).
//!
//! The selfie is a face photo placed on a canvas at a random size (the subject's face 22–45 %
//! of the width) over a heavily blurred copy of itself; a synthetic card or passport page whose
//! portrait is a given face photo is then held beside the face (never over it): its size
//! relative to the face, its angle, perspective, light and glare vary, and the whole photo is
//! blurred, noised and JPEG-compressed like a phone's. The portrait's place on the photo is
//! returned so a detector's answer can be scored.

use ab_glyph::FontRef;
use image::{Rgb, RgbImage};
use verity_mrz::compose::compose;
use verity_mrz::Format;

use super::camera::{bilinear, place};
use super::{portrait_block, random_data, render, Rng};

/// A face box (x, y, w, h) in image pixels.
pub type Rect = (f32, f32, f32, f32);

/// One selfie with a held document, and the same selfie without it.
pub struct HeldUp {
    /// The selfie alone (no document), before the camera's blur and noise.
    pub plain: RgbImage,
    /// The selfie with the document held up, as the phone would send it (JPEG).
    pub jpeg: Vec<u8>,
    /// The plain selfie as a JPEG of the same quality (the negative sample).
    pub plain_jpeg: Vec<u8>,
    /// Where the document's portrait block lies on the photo (bounding box of its corners).
    pub portrait: Rect,
    /// The held document's format.
    pub format: Format,
}

/// Places `face_photo` on a canvas so that its face (`face`, in `face_photo`'s pixels) is 22–45 %
/// of the canvas width; the canvas is 900–1600 px on its long side, portrait, square or
/// landscape. Returns the canvas and the face's box on it.
pub fn selfie(rng: &mut Rng, face_photo: &RgbImage, face: Rect) -> (RgbImage, Rect) {
    let long = rng.range(900.0, 1600.0);
    let aspect = *rng.pick(&[0.75f32, 1.0, 1.333]);
    let (cw, ch) = if aspect < 1.0 { (long * aspect, long) } else { (long, long / aspect) };
    let (cw, ch) = (cw.round() as u32, ch.round() as u32);
    let s = rng.range(0.22, 0.45) * cw as f32 / face.2.max(1.0);
    let (pw, ph) = ((face_photo.width() as f32 * s) as u32, (face_photo.height() as f32 * s) as u32);
    let person = verity_imaging::resize(face_photo, pw.max(1), ph.max(1));
    // Background: the photo stretched over the canvas and blurred past recognition.
    let small = verity_imaging::resize(face_photo, 24, 24);
    let mut canvas = image::imageops::blur(&verity_imaging::resize(&small, cw, ch), 12.0);
    // The face in the upper middle: centre x 35–65 %, y 30–50 % of the canvas.
    let (fx, fy) = (face.0 + face.2 / 2.0, face.1 + face.3 / 2.0);
    let (tx, ty) = (rng.range(0.35, 0.65) * cw as f32, rng.range(0.30, 0.50) * ch as f32);
    let (ox, oy) = (tx - fx * s, ty - fy * s);
    // Feathered paste: the photo's edges fade into the background over 15 % of its size.
    let feather = 0.15 * pw.min(ph) as f32;
    for y in 0..ph {
        for x in 0..pw {
            let (cx, cy) = (ox as i64 + x as i64, oy as i64 + y as i64);
            if cx < 0 || cy < 0 || cx >= cw as i64 || cy >= ch as i64 {
                continue;
            }
            let edge = (x.min(pw - 1 - x).min(y).min(ph - 1 - y)) as f32;
            let a = (edge / feather).clamp(0.0, 1.0);
            let (src, dst) = (person.get_pixel(x, y), canvas.get_pixel_mut(cx as u32, cy as u32));
            for k in 0..3 {
                dst[k] = (src[k] as f32 * a + dst[k] as f32 * (1.0 - a)).round() as u8;
            }
        }
    }
    let face_box = (ox + face.0 * s, oy + face.1 * s, face.2 * s, face.3 * s);
    (canvas, face_box)
}

/// Holds a document whose portrait is `portrait` beside the face at `face` on `selfie`: a card
/// (TD1, 70 %) or a passport page, 0.55–1.3 face widths wide for a card, turned up to ±25°, in
/// perspective, away from the face, its portrait wholly on the photo. `None` when no place was
/// found in 60 tries.
pub fn hold_up(
    rng: &mut Rng,
    font: &FontRef<'_>,
    selfie: &RgbImage,
    face: Rect,
    portrait: &RgbImage,
) -> Option<HeldUp> {
    let format = if rng.f() < 0.7 { Format::Td1 } else { Format::Td3 };
    let data = random_data(rng, format);
    let lines = compose(format, &data).unwrap_or_default();
    let mut doc = render(rng, font, format, &lines, &data);
    let (bx, by, bw, bh) = portrait_block(format);
    image::imageops::overlay(
        &mut doc,
        &verity_imaging::resize(portrait, bw, bh),
        i64::from(bx),
        i64::from(by),
    );

    let (w, h) = (selfie.width() as f32, selfie.height() as f32);
    let card_mm = if format == Format::Td1 { 85.6 } else { 125.0 };
    let dw = rng.range(0.55, 1.3) * face.2 * card_mm / 85.6;
    let dh = dw * doc.height() as f32 / doc.width() as f32;
    let angle = rng.range(-25.0, 25.0).to_radians();
    let persp = rng.range(0.0, 0.08);
    let inflate =
        |r: Rect, k: f32| (r.0 - k * r.2, r.1 - k * r.3, r.2 * (1.0 + 2.0 * k), r.3 * (1.0 + 2.0 * k));
    let keep_clear = inflate(face, 0.1);
    for _ in 0..60 {
        let centre = (rng.range(0.0, w), rng.range(0.0, h));
        let hmat = place(rng, &doc, (dw, dh), centre, angle, persp);
        // Photo → document; its inverse maps the document's corners onto the photo.
        let (dwf, dhf) = (doc.width() as f32, doc.height() as f32);
        let quad = |x0: f32, y0: f32, x1: f32, y1: f32| [(x0, y0), (x1, y0), (x1, y1), (x0, y1)];
        let Some(to_photo) = hmat_inverse(&hmat) else {
            continue;
        };
        let card = bounds(quad(0.0, 0.0, dwf, dhf).map(|(u, v)| apply(&to_photo, u, v)));
        let pb = bounds(
            quad(bx as f32, by as f32, (bx + bw) as f32, (by + bh) as f32)
                .map(|(u, v)| apply(&to_photo, u, v)),
        );
        let on_photo = pb.0 >= 0.0 && pb.1 >= 0.0 && pb.0 + pb.2 <= w && pb.1 + pb.3 <= h;
        if !on_photo || overlaps(card, keep_clear) {
            continue;
        }
        let mut img = selfie.clone();
        let light = rng.range(0.8, 1.15);
        let glare = (rng.range(card.0, card.0 + card.2), rng.range(card.1, card.1 + card.3), 0.3 * card.2);
        let glare_strength = if rng.f() < 0.4 { rng.range(0.2, 0.6) } else { 0.0 };
        let (x0, y0) = (card.0.max(0.0) as u32, card.1.max(0.0) as u32);
        let (x1, y1) = (
            ((card.0 + card.2).ceil() as u32).min(img.width()),
            ((card.1 + card.3).ceil() as u32).min(img.height()),
        );
        for y in y0..y1 {
            for x in x0..x1 {
                let (fx, fy) = (x as f32 + 0.5, y as f32 + 0.5);
                let (u, v) = apply(&hmat, fx, fy);
                if u < 0.0 || v < 0.0 || u >= dwf || v >= dhf {
                    continue;
                }
                let p = bilinear(&doc, u, v, [0.0; 3]);
                let gd = ((fx - glare.0).powi(2) + (fy - glare.1).powi(2)).sqrt() / glare.2.max(1.0);
                let g = glare_strength * (-gd * gd).exp();
                let px = p.map(|c| {
                    let c = c * light;
                    (c + (255.0 - c) * g).clamp(0.0, 255.0) as u8
                });
                img.put_pixel(x, y, Rgb(px));
            }
        }
        let sigma = rng.range(0.0, 1.4);
        let noise = rng.range(1.0, 5.0);
        let quality = rng.range(70.0, 92.0) as u8;
        let camera = |im: &RgbImage, rng: &mut Rng| {
            let mut im = if sigma > 0.3 { image::imageops::blur(im, sigma) } else { im.clone() };
            for p in im.pixels_mut() {
                let n = rng.normal() * noise;
                for c in p.0.iter_mut() {
                    *c = (*c as f32 + n).clamp(0.0, 255.0) as u8;
                }
            }
            verity_imaging::encode_jpeg(&im, quality)
        };
        let jpeg = camera(&img, rng);
        let plain_jpeg = camera(selfie, rng);
        return Some(HeldUp { plain: selfie.clone(), jpeg, plain_jpeg, portrait: pb, format });
    }
    None
}

fn apply(m: &[f32; 9], x: f32, y: f32) -> (f32, f32) {
    let d = m[6] * x + m[7] * y + m[8];
    ((m[0] * x + m[1] * y + m[2]) / d, (m[3] * x + m[4] * y + m[5]) / d)
}

/// The inverse of a 3×3 matrix (row-major), normalised so its last entry is 1.
fn hmat_inverse(m: &[f32; 9]) -> Option<[f32; 9]> {
    let m: [f64; 9] = m.map(f64::from);
    let c = [
        m[4] * m[8] - m[5] * m[7],
        m[2] * m[7] - m[1] * m[8],
        m[1] * m[5] - m[2] * m[4],
        m[5] * m[6] - m[3] * m[8],
        m[0] * m[8] - m[2] * m[6],
        m[2] * m[3] - m[0] * m[5],
        m[3] * m[7] - m[4] * m[6],
        m[1] * m[6] - m[0] * m[7],
        m[0] * m[4] - m[1] * m[3],
    ];
    let det = m[0] * c[0] + m[1] * c[3] + m[2] * c[6];
    if det.abs() < 1e-12 || c[8].abs() < 1e-12 {
        return None;
    }
    Some(c.map(|v| (v / c[8]) as f32))
}

fn bounds(pts: [(f32, f32); 4]) -> Rect {
    let (mut x0, mut y0, mut x1, mut y1) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
    for (x, y) in pts {
        (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
    }
    (x0, y0, x1 - x0, y1 - y0)
}

fn overlaps(a: Rect, b: Rect) -> bool {
    a.0 < b.0 + b.2 && b.0 < a.0 + a.2 && a.1 < b.1 + b.3 && b.1 < a.1 + a.3
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_is_held_beside_the_face_with_its_portrait_on_the_photo() {
        let bytes = super::super::load_font(std::path::Path::new(super::super::OCRB_PATH))
            .expect("OCR-B (scripts/setup installs fonts-ocr-b)");
        let font = super::super::font(&bytes).expect("font");
        // A "face photo": a light oval on grey; its face box is the oval's.
        let photo = RgbImage::from_fn(150, 150, |x, y| {
            let d = ((x as f32 - 75.0) / 40.0).powi(2) + ((y as f32 - 70.0) / 50.0).powi(2);
            Rgb(if d < 1.0 { [220, 180, 160] } else { [90, 90, 100] })
        });
        let portrait = RgbImage::from_pixel(40, 50, Rgb([200, 150, 140]));
        let mut placed = 0;
        for seed in 0..20 {
            let mut rng = Rng::new(seed);
            let (canvas, face) = selfie(&mut rng, &photo, (35.0, 20.0, 80.0, 100.0));
            let (w, h) = (canvas.width() as f32, canvas.height() as f32);
            assert!((900.0..=1601.0).contains(&w.max(h)), "{w}×{h}");
            assert!((0.21..=0.46).contains(&(face.2 / w)), "face {face:?} on {w}");
            let Some(held) = hold_up(&mut rng, &font, &canvas, face, &portrait) else { continue };
            placed += 1;
            let p = held.portrait;
            assert!(
                p.0 >= 0.0 && p.1 >= 0.0 && p.0 + p.2 <= w && p.1 + p.3 <= h,
                "portrait {p:?} off the photo"
            );
            let centre = (p.0 + p.2 / 2.0, p.1 + p.3 / 2.0);
            let in_face = centre.0 > face.0
                && centre.0 < face.0 + face.2
                && centre.1 > face.1
                && centre.1 < face.1 + face.3;
            assert!(!in_face, "the document covers the face");
            let decoded = image::load_from_memory(&held.jpeg).expect("a JPEG").to_rgb8();
            assert_eq!(decoded.dimensions(), canvas.dimensions());
        }
        assert!(placed >= 15, "placed {placed} of 20");
    }

    #[test]
    fn the_inverse_undoes_the_matrix() {
        let m = [1.2, 0.1, 5.0, -0.2, 0.9, 7.0, 0.0001, 0.0002, 1.0];
        let inv = hmat_inverse(&m).unwrap();
        let (u, v) = apply(&m, 30.0, 40.0);
        let (x, y) = apply(&inv, u, v);
        assert!((x - 30.0).abs() < 1e-2 && (y - 40.0).abs() < 1e-2, "{x} {y}");
    }
}
