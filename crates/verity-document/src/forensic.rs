//! Forensic signals of a document image — the `forensic` analysis of a document check.
//!
//! What the file and its colours say, each signal named and explained:
//! - `editingSoftware`: the EXIF `Software` tag (or a PDF's `Producer`/`Creator`) names an image
//!   editor (Photoshop, GIMP, …). Phone cameras and scanners write their own firmware names.
//! - `imageIntegrity`: the JPEG ends before its last scan (cut off, re-saved from a partial
//!   download) — see `verity_imaging::IntakeInfo::truncated`.
//! - `colourImage`: the document is in colour. Identity documents are printed in colour; a
//!   gray-scale image is a photocopy, a black-and-white scan or a converted file, which hides
//!   security printing. Measured with the Hasler–Süsstrunk colourfulness (0 for gray).
//! - `screenRecapture`: the photo was taken off a colour display — its subpixel lattice (or the
//!   moiré it folds into) is in the image; see [`crate::recapture`].
//!
//! Not here (said in the check's reasons, never made up): pixel-level splice or copy-move
//! detection, colour print recaptures (halftone), font and layout templates per issuer.

use serde::Serialize;
use verity_imaging::Decoded;

/// Below this colourfulness an image is taken for gray-scale (Hasler–Süsstrunk M: ~0 for a
/// gray image, ~1–5 for a gray print photographed under tinted light, 15+ for colour
/// documents; measured figures in `docs/documents.md`).
pub const GRAYSCALE_BELOW: f32 = 6.0;

/// The signals' inputs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Forensics {
    /// The editor named by EXIF `Software` or the PDF's producer/creator.
    pub editing_software: Option<String>,
    /// The JPEG was cut off during a later progressive scan.
    pub truncated: bool,
    /// Hasler–Süsstrunk colourfulness of the image.
    pub colourfulness: f32,
    pub grayscale: bool,
    /// The display-lattice test (`None` for an image smaller than its tile).
    pub screen: Option<crate::recapture::ScreenLattice>,
}

impl Forensics {
    /// The display lattice, when the image was photographed off a display.
    pub fn screen_recapture(&self) -> Option<&crate::recapture::ScreenLattice> {
        self.screen.as_ref().filter(|s| s.found)
    }
}

/// Inspects a decoded document image.
pub fn inspect(d: &Decoded) -> Forensics {
    let exif = d.exif.as_deref().map(verity_imaging::metadata::exif_summary).unwrap_or_default();
    let mut pdf_software = d.info.pdf.iter().flat_map(|p| [&p.producer, &p.creator]).flatten();
    let editing = exif
        .editing_software()
        .map(str::to_string)
        .or_else(|| pdf_software.find(|s| verity_imaging::metadata::names_an_editor(s)).cloned());
    let colourfulness = colourfulness(&d.image);
    Forensics {
        editing_software: editing,
        truncated: d.info.truncated,
        colourfulness,
        grayscale: colourfulness < GRAYSCALE_BELOW,
        screen: crate::recapture::screen_lattice(&d.image),
    }
}

/// Hasler & Süsstrunk (2003): √(σ_rg² + σ_yb²) + 0.3·√(μ_rg² + μ_yb²), with rg = R − G and
/// yb = (R + G)/2 − B, over a subsample of the image's central 80 %.
pub fn colourfulness(img: &image::RgbImage) -> f32 {
    let (w, h) = img.dimensions();
    if w == 0 || h == 0 {
        return 0.0;
    }
    let step = ((w.max(h) / 400).max(1)) as usize;
    let (x0, x1, y0, y1) = (w / 10, w - w / 10, h / 10, h - h / 10);
    let (mut n, mut srg, mut syb, mut srg2, mut syb2) = (0f64, 0f64, 0f64, 0f64, 0f64);
    for y in (y0..y1.max(y0 + 1)).step_by(step) {
        for x in (x0..x1.max(x0 + 1)).step_by(step) {
            let Some(p) = img.get_pixel_checked(x, y) else { continue };
            let (r, g, b) = (p[0] as f64, p[1] as f64, p[2] as f64);
            let rg = r - g;
            let yb = (r + g) / 2.0 - b;
            n += 1.0;
            srg += rg;
            syb += yb;
            srg2 += rg * rg;
            syb2 += yb * yb;
        }
    }
    if n == 0.0 {
        return 0.0;
    }
    let (mrg, myb) = (srg / n, syb / n);
    let vrg = (srg2 / n - mrg * mrg).max(0.0);
    let vyb = (syb2 / n - myb * myb).max(0.0);
    ((vrg + vyb).sqrt() + 0.3 * (mrg * mrg + myb * myb).sqrt()) as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decoded(img: image::RgbImage) -> Decoded {
        let jpeg = verity_imaging::encode_jpeg(&img, 90);
        verity_imaging::decode(&jpeg, &verity_imaging::Limits::default()).expect("decode")
    }

    #[test]
    fn gray_copies_and_editors_are_named() {
        let colour =
            image::RgbImage::from_fn(200, 120, |x, y| image::Rgb([(x + 40) as u8, (y * 2) as u8, 180]));
        let f = inspect(&decoded(colour.clone()));
        assert!(!f.grayscale && f.colourfulness > 20.0, "{f:?}");
        let gray = image::DynamicImage::ImageRgb8(colour).to_luma8();
        let f = inspect(&decoded(image::DynamicImage::ImageLuma8(gray).to_rgb8()));
        assert!(f.grayscale && f.colourfulness < 2.0, "{f:?}");
        assert_eq!((f.editing_software, f.truncated), (None, false));
        // A PDF written by an image editor.
        let img = image::RgbImage::from_pixel(64, 64, image::Rgb([200, 30, 30]));
        let jpeg = verity_imaging::encode_jpeg(&img, 90);
        let mut pdf = verity_imaging::pdf::page_with_images(&[verity_imaging::pdf::EmbeddedImage {
            width: 64,
            height: 64,
            filter: Some("DCTDecode"),
            color_space: "DeviceRGB",
            data: &jpeg,
        }]);
        // Give it an Info dictionary naming the producer.
        let at = pdf.windows(11).rposition(|w| w == b"/Root 1 0 R").expect("trailer") + 11;
        pdf.splice(at..at, b" /Info << /Producer (Adobe Photoshop 25.0) >>".iter().copied());
        let d = verity_imaging::decode_document(&pdf, &verity_imaging::Limits::default()).expect("pdf");
        assert_eq!(inspect(&d).editing_software.as_deref(), Some("Adobe Photoshop 25.0"));
    }
}
