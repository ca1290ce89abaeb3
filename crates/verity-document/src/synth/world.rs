//! The variety of documents met in the world, on top of the synthetic camera: what documents
//! never seen in development looked like (other states' printing, specimen stamps and stock-photo
//! watermarks across the MRZ, fine guilloche under it, a busy page around the document, a glare
//! band, very small and very large photos, photos turned with or without an EXIF orientation).
//! Each variation is drawn independently with a given chance and named in the result, so a
//! benchmark can report each one's effect.

use ab_glyph::FontRef;
use image::{Rgb, RgbImage};
use verity_mrz::compose::compose;
use verity_mrz::Format;

use super::camera::{bilinear, photograph_in, Scene};
use super::{draw_text, random_data, render_with, Print, Rng, Severity, Synthetic};

/// Every variation, in the order they are drawn.
/// (`orientation`: turned without EXIF, `orientation_exif`: turned with the EXIF that undoes it.)
pub const VARIATIONS: &[&str] = &[
    "print",
    "guilloche",
    "stamp",
    "watermark",
    "busy_background",
    "glare_band",
    "size",
    "orientation",
    "orientation_exif",
];

/// A document photo with each variation applied with probability `chance`; the variations
/// applied are returned with it.
pub fn generate(
    rng: &mut Rng,
    font: &FontRef<'_>,
    format: Format,
    sev: Severity,
    chance: f32,
) -> (Synthetic, Vec<&'static str>) {
    let mut applied = Vec::new();
    let mut draw = |rng: &mut Rng, name: &'static str| {
        let yes = rng.f() < chance;
        if yes {
            applied.push(name);
        }
        yes
    };
    let (print, guilloche, stamp, watermark, busy, band, size, turn) = (
        draw(rng, "print"),
        draw(rng, "guilloche"),
        draw(rng, "stamp"),
        draw(rng, "watermark"),
        draw(rng, "busy_background"),
        draw(rng, "glare_band"),
        draw(rng, "size"),
        draw(rng, "orientation"),
    );
    let data = random_data(rng, format);
    let lines = compose(format, &data).unwrap_or_default();
    let mut how = Print::default();
    if print {
        // Other states' printers: pitch 2.40–2.70 mm, OCR-B 3.3–4.3 mm, lines 2.1–2.9 pitches
        // apart, sometimes heavier strokes.
        how.pitch_mm = rng.range(2.40, 2.70);
        how.size_mm = rng.range(3.3, 4.3);
        how.spacing = rng.range(2.1, 2.9);
        how.bold = rng.f() < 0.5;
    }
    if guilloche {
        how.guilloche = rng.range(0.3, 0.9);
    }
    let mut doc = render_with(rng, font, format, &lines, &data, &how);
    if stamp {
        let word = *rng.pick(&["SPECIMEN", "SPECIMEN", "VOID", "SAMPLE", "MUSTER"]);
        let colour = *rng.pick(&[[200u8, 30, 40], [40, 60, 170], [90, 90, 90]]);
        let size = doc.height() as f32 * rng.range(0.18, 0.32);
        let centre =
            (doc.width() as f32 * rng.range(0.35, 0.65), doc.height() as f32 * rng.range(0.55, 0.85));
        overlay_text(&mut doc, font, word, size, centre, rng.range(-0.5, 0.5), colour, rng.range(0.25, 0.55));
    }
    if watermark {
        // A stock-photo watermark: a word tiled diagonally over the whole page.
        let word = *rng.pick(&["stockphoto", "PREVIEW", "© images", "SAMPLE"]);
        let size = doc.height() as f32 * rng.range(0.06, 0.11);
        let angle = rng.range(-0.6, -0.3);
        let alpha = rng.range(0.2, 0.45);
        let (w, h) = (doc.width() as f32, doc.height() as f32);
        let step = (size * 6.0, size * 2.6);
        let mut y = 0.0;
        let mut row = 0;
        while y < h + step.1 {
            let mut x = if row % 2 == 0 { 0.0 } else { step.0 / 2.0 };
            while x < w + step.0 {
                overlay_text(&mut doc, font, word, size, (x, y), angle, [255, 255, 255], alpha);
                x += step.0;
            }
            y += step.1;
            row += 1;
        }
    }
    let scale = if size { *rng.pick(&[0.55f32, 0.7, 1.4, 1.7]) } else { 1.0 };
    let background = busy.then(|| busy_page(rng, font, scale));
    let (mut photo, quality) = photograph_in(rng, &doc, sev, &Scene { scale, background });
    if band {
        glare_band(rng, &mut photo);
    }
    let mut jpeg_orientation = None;
    if turn {
        let clockwise = *rng.pick(&[90u16, 180, 270]);
        photo = match clockwise {
            90 => image::imageops::rotate90(&photo),
            180 => image::imageops::rotate180(&photo),
            _ => image::imageops::rotate270(&photo),
        };
        // Half the turned photos say how to turn them back (as a phone does), half do not (an
        // export that dropped the metadata): EXIF 6 = turn 90° clockwise to view, 3 = 180°,
        // 8 = 270°; the photo above was turned the other way.
        if rng.f() < 0.5 {
            jpeg_orientation = Some(match clockwise {
                90 => 8,
                180 => 3,
                _ => 6,
            });
            if let Some(name) = applied.iter_mut().find(|n| **n == "orientation") {
                *name = "orientation_exif";
            }
        }
    }
    let mut jpeg = verity_imaging::encode_jpeg(&photo, quality);
    if let Some(o) = jpeg_orientation {
        jpeg = with_exif_orientation(&jpeg, o);
    }
    let (width, height) = photo.dimensions();
    (Synthetic { format, lines, jpeg, width, height }, applied)
}

/// Draws `text` centred at `centre`, turned by `angle` radians, in `colour` at opacity `alpha`.
#[allow(clippy::too_many_arguments)]
fn overlay_text(
    img: &mut RgbImage,
    font: &FontRef<'_>,
    text: &str,
    size: f32,
    centre: (f32, f32),
    angle: f32,
    colour: [u8; 3],
    alpha: f32,
) {
    // The text's coverage on its own canvas (white on black), then mapped onto the image.
    let w = (size * 0.75 * text.chars().count() as f32 + size) as u32;
    let h = (size * 1.5) as u32;
    let mut mask = RgbImage::new(w.max(1), h.max(1));
    draw_text(&mut mask, font, text, size * 0.3, size * 0.1, size, None, [255, 255, 255]);
    let (ca, sa) = (angle.cos(), angle.sin());
    let reach = (w as f32).hypot(h as f32) / 2.0;
    let (x0, x1) = ((centre.0 - reach).max(0.0) as u32, ((centre.0 + reach) as u32).min(img.width()));
    let (y0, y1) = ((centre.1 - reach).max(0.0) as u32, ((centre.1 + reach) as u32).min(img.height()));
    for y in y0..y1 {
        for x in x0..x1 {
            let (dx, dy) = (x as f32 + 0.5 - centre.0, y as f32 + 0.5 - centre.1);
            let (u, v) = (dx * ca + dy * sa + w as f32 / 2.0, -dx * sa + dy * ca + h as f32 / 2.0);
            let cov = bilinear(&mask, u, v, [0.0; 3])[0] / 255.0 * alpha;
            if cov > 0.0 {
                let p = img.get_pixel_mut(x, y);
                for k in 0..3 {
                    p[k] = (p[k] as f32 * (1.0 - cov) + colour[k] as f32 * cov).round() as u8;
                }
            }
        }
    }
}

/// A busy page behind the document: other printed text in lines and columns, rules and boxes on
/// paper (what lies on a desk, or the rest of a scanned page).
fn busy_page(rng: &mut Rng, font: &FontRef<'_>, scale: f32) -> RgbImage {
    let (w, h) = ((1200.0 * scale).round() as u32, (900.0 * scale).round() as u32);
    let paper = [rng.range(190.0, 245.0), rng.range(185.0, 240.0), rng.range(175.0, 235.0)];
    let mut img = RgbImage::from_pixel(w, h, Rgb(paper.map(|c| c as u8)));
    const WORDS: &[&str] = &[
        "REPUBLIC",
        "Name",
        "Date of birth",
        "Signature",
        "Nationality",
        "VALID UNTIL",
        "No.",
        "Authority",
        "Address",
        "12.03.1985",
        "Place of issue",
        "BUREAU",
        "Observations",
        "page 3",
    ];
    let px = rng.range(14.0, 30.0) * scale;
    let mut y = rng.range(0.0, px);
    while y < h as f32 {
        let mut x = rng.range(0.0, 3.0 * px);
        while x < w as f32 {
            let word = *rng.pick(WORDS);
            let ink = rng.range(20.0, 110.0) as u8;
            draw_text(&mut img, font, word, x, y, px, None, [ink, ink, ink + 10]);
            x += px * (0.7 * word.len() as f32 + rng.range(1.0, 4.0));
        }
        if rng.f() < 0.15 {
            let ry = (y + px * 1.4) as u32;
            for yy in ry..(ry + 2).min(h) {
                for xx in 0..w {
                    img.put_pixel(xx, yy, Rgb([60, 60, 70]));
                }
            }
        }
        y += px * rng.range(1.4, 2.2);
    }
    img
}

/// A straight specular band across the photo (a laminate catching a window's light).
fn glare_band(rng: &mut Rng, img: &mut RgbImage) {
    let (w, h) = (img.width() as f32, img.height() as f32);
    let angle = rng.range(0.0, std::f32::consts::PI);
    let (nx, ny) = (angle.cos(), angle.sin());
    let c = (rng.range(0.25, 0.75) * w, rng.range(0.25, 0.75) * h);
    let half = rng.range(0.02, 0.07) * w.min(h);
    let strength = rng.range(0.4, 0.85);
    for (x, y, p) in img.enumerate_pixels_mut() {
        let d = ((x as f32 - c.0) * nx + (y as f32 - c.1) * ny) / half;
        let g = strength * (-d * d).exp();
        if g > 0.01 {
            for k in 0..3 {
                p[k] = (p[k] as f32 + (255.0 - p[k] as f32) * g).round() as u8;
            }
        }
    }
}

/// The JPEG with an EXIF APP1 segment whose only tag is the orientation (1–8).
pub fn with_exif_orientation(jpeg: &[u8], orientation: u16) -> Vec<u8> {
    // TIFF, big-endian: header, one IFD with one SHORT entry (0x0112), no next IFD.
    let mut tiff = vec![b'M', b'M', 0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1];
    tiff.extend_from_slice(&orientation.to_be_bytes());
    tiff.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend_from_slice(&tiff);
    let len = (app1.len() + 2) as u16;
    let mut out = Vec::with_capacity(jpeg.len() + app1.len() + 4);
    out.extend_from_slice(&jpeg[..2.min(jpeg.len())]); // SOI
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&app1);
    out.extend_from_slice(&jpeg[2.min(jpeg.len())..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_exif_orientation_is_read_back_and_applied() {
        // A 40×20 photo, its left half dark, turned 90° clockwise (20×40) and tagged 8 (turn
        // 270° clockwise to view): decoded upright again, 40×20 with the dark half on the left.
        let img = RgbImage::from_fn(40, 20, |x, _| Rgb(if x < 20 { [20; 3] } else { [230; 3] }));
        let turned = image::imageops::rotate90(&img);
        let jpeg = with_exif_orientation(&verity_imaging::encode_jpeg(&turned, 95), 8);
        let d = verity_imaging::decode(&jpeg, &verity_imaging::Limits::default()).expect("decodes");
        assert_eq!(d.image.dimensions(), (40, 20));
        assert!(d.image.get_pixel(5, 10)[0] < 100 && d.image.get_pixel(35, 10)[0] > 150);
    }

    #[test]
    fn every_variation_is_drawn_and_named() {
        let bytes = super::super::load_font(std::path::Path::new(super::super::OCRB_PATH))
            .expect("OCR-B (scripts/setup installs fonts-ocr-b)");
        let font = super::super::font(&bytes).expect("font");
        let mut seen = std::collections::BTreeSet::new();
        let mut rng = Rng::new(3);
        for i in 0..6 {
            let (s, applied) = generate(&mut rng, &font, Format::Td3, Severity::Mild, 0.6);
            assert_eq!(s.lines.len(), 2);
            assert!(image::load_from_memory(&s.jpeg).is_ok(), "photo {i} is a JPEG");
            seen.extend(applied);
        }
        assert!(seen.len() >= 6, "{seen:?}");
        let (_, none) = generate(&mut Rng::new(4), &font, Format::Td1, Severity::Mild, 0.0);
        assert!(none.is_empty());
    }
}
