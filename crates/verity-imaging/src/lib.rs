//! Image intake shared by every Verity engine.
//!
//! [`decode`] takes untrusted bytes and returns an upright 8-bit RGB image, or a typed error with a
//! stable code. In order, it:
//! 1. refuses empty input and input over the byte limit;
//! 2. detects the format from the content (magic bytes), never from a file name, and names
//!    formats it recognises but does not take (GIF, BMP, TIFF, HEIC/AVIF, PDF);
//! 3. reads only the header and refuses dimensions over the pixel or side limits *before* any
//!    pixel is decoded (no decompression bombs), with a matching allocation limit on the decoder;
//! 4. decodes, converts grayscale, alpha (composited on white), 16-bit and CMYK (JPEG) to 8-bit RGB;
//! 5. applies the EXIF orientation (all 8 values) so that pixels are upright.

use jpeg::{jpeg_completeness, JpegEnd};
use std::io::Cursor;

use image::codecs::jpeg::JpegDecoder;
use image::codecs::png::PngDecoder;
use image::codecs::webp::WebPDecoder;
use image::{DynamicImage, ImageDecoder, RgbImage};
use serde::Serialize;

pub use image;

pub mod base64_text;
mod jpeg;
pub mod metadata;
pub mod pdf;

/// Limits applied before decoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest accepted input, in bytes.
    pub max_bytes: usize,
    /// Largest accepted width × height.
    pub max_pixels: u64,
    /// Largest accepted width or height.
    pub max_side: u32,
    /// Smallest accepted width or height.
    pub min_side: u32,
}

impl Limits {
    /// Refuses dimensions over the side or pixel limits (before anything is decoded).
    pub fn check_not_too_large(&self, width: u32, height: u32) -> Result<(), ImageError> {
        if width > self.max_side
            || height > self.max_side
            || (width as u64) * (height as u64) > self.max_pixels
        {
            return Err(ImageError::TooManyPixels {
                width,
                height,
                max_pixels: self.max_pixels,
                max_side: self.max_side,
            });
        }
        Ok(())
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self { max_bytes: 25 << 20, max_pixels: 40_000_000, max_side: 12_000, min_side: 16 }
    }
}

/// Formats Verity decodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Jpeg,
    Png,
    Webp,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Jpeg => "jpeg",
            Format::Png => "png",
            Format::Webp => "webp",
        }
    }
}

/// What the content looks like, from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sniffed {
    Supported(Format),
    /// A format we recognise but do not decode.
    Other(&'static str),
    Unknown,
}

/// Detects the format from magic bytes.
pub fn sniff(bytes: &[u8]) -> Sniffed {
    let starts = |m: &[u8]| bytes.len() >= m.len() && &bytes[..m.len()] == m;
    if starts(&[0xFF, 0xD8, 0xFF]) {
        Sniffed::Supported(Format::Jpeg)
    } else if starts(b"\x89PNG\r\n\x1a\n") {
        Sniffed::Supported(Format::Png)
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Sniffed::Supported(Format::Webp)
    } else if starts(b"GIF87a") || starts(b"GIF89a") {
        Sniffed::Other("gif")
    } else if starts(b"BM") && bytes.len() > 14 {
        Sniffed::Other("bmp")
    } else if starts(b"II*\0") || starts(b"MM\0*") {
        Sniffed::Other("tiff")
    } else if starts(b"%PDF-") {
        Sniffed::Other("pdf")
    } else if bytes.len() >= 12 && &bytes[4..8] == b"ftyp" {
        match &bytes[8..12] {
            b"avif" | b"avis" => Sniffed::Other("avif"),
            b"heic" | b"heix" | b"mif1" | b"msf1" | b"hevc" => Sniffed::Other("heic"),
            _ => Sniffed::Other("iso-bmff video"),
        }
    } else {
        Sniffed::Unknown
    }
}

/// Why an image was refused. Each variant has a stable [`ImageError::code`].
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ImageError {
    #[error("the image is empty (0 bytes)")]
    Empty,
    #[error("the image is {bytes} bytes; the limit is {max} bytes")]
    TooLarge { bytes: usize, max: usize },
    #[error("{0} images are not supported; send JPEG, PNG or WebP")]
    UnsupportedFormat(&'static str),
    #[error("the content is not a JPEG, PNG or WebP image")]
    NotAnImage,
    #[error(
        "the image is {width}x{height} pixels; the limit is {max_pixels} pixels and {max_side} pixels a side"
    )]
    TooManyPixels { width: u32, height: u32, max_pixels: u64, max_side: u32 },
    #[error("the image is {width}x{height} pixels; each side must be at least {min_side} pixels")]
    TooSmall { width: u32, height: u32, min_side: u32 },
    #[error("the {format} image is truncated or corrupt: {detail}")]
    Corrupt { format: &'static str, detail: String },
    #[error("the {format} image uses an unsupported encoding: {detail}")]
    UnsupportedEncoding { format: &'static str, detail: String },
    #[error("the PDF has no image on its first page; send the document as a photo or a scan (JPEG, PNG or a PDF with the image on page 1)")]
    PdfWithoutImage,
    #[error("the PDF is encrypted; send it without a password")]
    PdfEncrypted,
}

impl ImageError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            ImageError::Empty => "image_empty",
            ImageError::TooLarge { .. } => "image_too_large",
            ImageError::UnsupportedFormat(_) => "image_format_unsupported",
            ImageError::NotAnImage => "image_not_an_image",
            ImageError::TooManyPixels { .. } => "image_dimensions_too_large",
            ImageError::TooSmall { .. } => "image_dimensions_too_small",
            ImageError::Corrupt { .. } => "image_corrupt",
            ImageError::UnsupportedEncoding { .. } => "image_encoding_unsupported",
            ImageError::PdfWithoutImage => "pdf_without_image",
            ImageError::PdfEncrypted => "pdf_encrypted",
        }
    }

    /// The message for the sender of the file: [`ImageError`]'s text without the decoder's or
    /// PDF parser's own words (which belong in the log, not in an API answer).
    pub fn public_message(&self) -> String {
        match self {
            ImageError::Corrupt { format, .. } => format!("the {format} image is truncated or corrupt"),
            ImageError::UnsupportedEncoding { format, .. } => {
                format!("the {format} image uses an encoding this server cannot read")
            }
            other => other.to_string(),
        }
    }
}

/// A decoded, upright RGB image and what intake saw on the way.
#[derive(Debug, Clone)]
pub struct Decoded {
    pub image: RgbImage,
    pub info: IntakeInfo,
    /// The raw EXIF block, if any (for metadata signals downstream).
    pub exif: Option<Vec<u8>>,
}

/// Facts about the input, reported to callers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IntakeInfo {
    pub format: Format,
    pub bytes: usize,
    /// Size as stored, before orientation.
    pub stored_width: u32,
    pub stored_height: u32,
    /// Size after orientation.
    pub width: u32,
    pub height: u32,
    /// EXIF orientation value applied (1 = none).
    pub exif_orientation: u8,
    /// Colour model of the stored pixels (`rgb8`, `l16`, `rgba8`, …).
    pub color: String,
    pub had_alpha: bool,
    /// A progressive JPEG whose last scans were cut off: complete but at reduced quality. An
    /// integrity signal for fraud checks.
    pub truncated: bool,
    /// Set when the image was taken from a PDF ([`decode_document`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pdf: Option<pdf::PdfInfo>,
}

/// Decodes untrusted bytes into an upright RGB image. See the module docs for the order of checks.
pub fn decode(bytes: &[u8], limits: &Limits) -> Result<Decoded, ImageError> {
    if bytes.is_empty() {
        return Err(ImageError::Empty);
    }
    if bytes.len() > limits.max_bytes {
        return Err(ImageError::TooLarge { bytes: bytes.len(), max: limits.max_bytes });
    }
    let format = match sniff(bytes) {
        Sniffed::Supported(f) => f,
        Sniffed::Other(name) => return Err(ImageError::UnsupportedFormat(name)),
        Sniffed::Unknown => return Err(ImageError::NotAnImage),
    };
    match format {
        Format::Jpeg => {
            let truncated = match jpeg_completeness(bytes) {
                JpegEnd::Complete => false,
                JpegEnd::TruncatedProgressive => true,
                JpegEnd::Truncated => {
                    return Err(ImageError::Corrupt {
                        format: "jpeg",
                        detail: "truncated: the image data ends before the end-of-image marker".into(),
                    })
                }
                JpegEnd::Malformed => {
                    return Err(ImageError::Corrupt {
                        format: "jpeg",
                        detail: "malformed: the data does not follow the JPEG structure".into(),
                    })
                }
            };
            let d = JpegDecoder::new(Cursor::new(bytes)).map_err(|e| map_err(format, e))?;
            let mut decoded = finish(d, format, bytes.len(), limits)?;
            decoded.info.truncated = truncated;
            Ok(decoded)
        }
        Format::Png => {
            let d = PngDecoder::new(Cursor::new(bytes)).map_err(|e| map_err(format, e))?;
            finish(d, format, bytes.len(), limits)
        }
        Format::Webp => {
            let d = WebPDecoder::new(Cursor::new(bytes)).map_err(|e| map_err(format, e))?;
            finish(d, format, bytes.len(), limits)
        }
    }
}

/// Decodes an identity-document upload: what [`decode`] takes, plus PDF, whose largest image
/// on page 1 is decoded (see [`pdf`]). Selfies and other captures use [`decode`], which refuses PDF.
pub fn decode_document(bytes: &[u8], limits: &Limits) -> Result<Decoded, ImageError> {
    if sniff(bytes) != Sniffed::Other("pdf") {
        return decode(bytes, limits);
    }
    if bytes.len() > limits.max_bytes {
        return Err(ImageError::TooLarge { bytes: bytes.len(), max: limits.max_bytes });
    }
    let (inner, info) = pdf::extract_page1_image(bytes, limits)?;
    // The embedded image was already bounded by the PDF's size and its declared dimensions;
    // raw samples re-encoded as PNG may be larger than the PDF itself.
    let inner_limits = Limits { max_bytes: usize::MAX, ..*limits };
    let mut decoded = decode(&inner, &inner_limits)?;
    decoded.info.bytes = bytes.len();
    decoded.info.pdf = Some(info);
    Ok(decoded)
}

fn map_err(format: Format, e: image::ImageError) -> ImageError {
    match e {
        image::ImageError::Unsupported(u) => {
            ImageError::UnsupportedEncoding { format: format.as_str(), detail: u.to_string() }
        }
        image::ImageError::Limits(l) => {
            ImageError::Corrupt { format: format.as_str(), detail: format!("limit exceeded: {l}") }
        }
        other => ImageError::Corrupt { format: format.as_str(), detail: other.to_string() },
    }
}

fn finish<D: ImageDecoder>(
    mut decoder: D,
    format: Format,
    nbytes: usize,
    limits: &Limits,
) -> Result<Decoded, ImageError> {
    let (w, h) = decoder.dimensions();
    limits.check_not_too_large(w, h)?;
    if w < limits.min_side || h < limits.min_side {
        return Err(ImageError::TooSmall { width: w, height: h, min_side: limits.min_side });
    }
    let mut dl = image::Limits::default();
    dl.max_image_width = Some(limits.max_side);
    dl.max_image_height = Some(limits.max_side);
    // Largest buffer: pixels × 4 channels × 2 bytes, plus decoder overhead.
    dl.max_alloc = Some(limits.max_pixels.saturating_mul(8).saturating_add(64 << 20));
    decoder.set_limits(dl).map_err(|e| map_err(format, e))?;

    let orientation = decoder.orientation().unwrap_or(image::metadata::Orientation::NoTransforms);
    let exif = decoder.exif_metadata().ok().flatten();
    let color_type = decoder.color_type();
    let color = format!("{color_type:?}").to_lowercase();
    let had_alpha = color_type.has_alpha();
    let mut img = DynamicImage::from_decoder(decoder).map_err(|e| map_err(format, e))?;
    img.apply_orientation(orientation);
    let rgb = to_rgb8_on_white(img);
    let info = IntakeInfo {
        format,
        bytes: nbytes,
        stored_width: w,
        stored_height: h,
        width: rgb.width(),
        height: rgb.height(),
        exif_orientation: orientation_value(orientation),
        color,
        had_alpha,
        truncated: false,
        pdf: None,
    };
    Ok(Decoded { image: rgb, info, exif })
}

fn orientation_value(o: image::metadata::Orientation) -> u8 {
    use image::metadata::Orientation::*;
    match o {
        NoTransforms => 1,
        FlipHorizontal => 2,
        Rotate180 => 3,
        FlipVertical => 4,
        Rotate90FlipH => 5,
        Rotate90 => 6,
        Rotate270FlipH => 7,
        Rotate270 => 8,
    }
}

/// Converts any colour model to 8-bit RGB; transparent pixels are composited on white, so a
/// cut-out portrait does not become a face on black.
fn to_rgb8_on_white(img: DynamicImage) -> RgbImage {
    if !img.color().has_alpha() {
        return img.to_rgb8();
    }
    let rgba = img.to_rgba8();
    let (w, h) = rgba.dimensions();
    let mut out = RgbImage::new(w, h);
    for (o, p) in out.pixels_mut().zip(rgba.pixels()) {
        let a = p[3] as u32;
        for c in 0..3 {
            o[c] = ((p[c] as u32 * a + 255 * (255 - a) + 127) / 255) as u8;
        }
    }
    out
}

/// Encodes an RGB image as PNG (for debug drawings and derived crops).
pub fn encode_png(img: &RgbImage) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    // Writing into memory cannot fail for a valid RgbImage.
    let _ = img.write_to(&mut out, image::ImageFormat::Png);
    out.into_inner()
}

/// Encodes an RGB image as JPEG at the given quality.
pub fn encode_jpeg(img: &RgbImage, quality: u8) -> Vec<u8> {
    let mut out = Vec::new();
    let mut enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality);
    let _ = enc.encode_image(img);
    out
}

/// Resizes an RGB image: area averaging when shrinking (each output pixel is the mean of the
/// source area it covers, like OpenCV's `INTER_AREA`), bilinear with half-pixel centres when
/// enlarging. Separable, with precomputed weights, one output row at a time: the vertical pass
/// first (whole source rows, which the compiler vectorises), then the horizontal pass on that
/// one row with a fixed number of taps per output pixel; no image-sized intermediate buffer.
pub fn resize(img: &RgbImage, w: u32, h: u32) -> RgbImage {
    let (sw, sh) = img.dimensions();
    if (sw, sh) == (w, h) {
        return img.clone();
    }
    if w == 0 || h == 0 || sw == 0 || sh == 0 {
        return RgbImage::new(w, h);
    }
    let taps = Taps::new(sw as usize, w as usize);
    let wy = weights(sh as usize, h as usize);
    let src = img.as_raw();
    let src_stride = sw as usize * 3;
    let stride = w as usize * 3;
    let mut dst = vec![0u8; h as usize * stride];
    let mut column = vec![0f32; src_stride];
    for (y, (start, ws)) in wy.iter().enumerate() {
        column.iter_mut().for_each(|a| *a = 0.0);
        for (k, &wt) in ws.iter().enumerate() {
            let row = &src[(start + k) * src_stride..(start + k + 1) * src_stride];
            for (a, &v) in column.iter_mut().zip(row) {
                *a += v as f32 * wt;
            }
        }
        taps.apply(&column, &mut dst[y * stride..(y + 1) * stride]);
    }
    RgbImage::from_raw(w, h, dst).unwrap_or_else(|| RgbImage::new(w, h))
}

/// The horizontal weights of a resize, flattened: every output pixel reads `n` consecutive
/// source pixels from `first[x]` (the window shifted left at the right edge, with zero weights
/// where it reaches beyond the pixel's own weights).
struct Taps {
    n: usize,
    first: Vec<usize>,
    weights: Vec<f32>,
}

impl Taps {
    fn new(src: usize, dst: usize) -> Self {
        let ws = weights(src, dst);
        let n = ws.iter().map(|(_, w)| w.len()).max().unwrap_or(1).min(src);
        let mut first = Vec::with_capacity(dst);
        let mut weights = vec![0f32; dst * n];
        for (x, (start, w)) in ws.iter().enumerate() {
            let f = (*start).min(src - n);
            first.push(f);
            for (k, &wt) in w.iter().enumerate() {
                weights[x * n + start + k - f] = wt;
            }
        }
        Self { n, first, weights }
    }

    /// One output row (RGB, rounded to u8) from one row of the vertical pass.
    fn apply(&self, row: &[f32], out: &mut [u8]) {
        match self.n {
            1 => self.apply_n::<1>(row, out),
            2 => self.apply_n::<2>(row, out),
            3 => self.apply_n::<3>(row, out),
            4 => self.apply_n::<4>(row, out),
            5 => self.apply_n::<5>(row, out),
            6 => self.apply_n::<6>(row, out),
            _ => self.apply_any(row, out),
        }
    }

    fn apply_n<const N: usize>(&self, row: &[f32], out: &mut [u8]) {
        for ((px, &f), ws) in out.chunks_exact_mut(3).zip(&self.first).zip(self.weights.chunks_exact(N)) {
            let src = &row[f * 3..(f + N) * 3];
            let (mut r, mut g, mut b) = (0f32, 0f32, 0f32);
            for k in 0..N {
                r += src[k * 3] * ws[k];
                g += src[k * 3 + 1] * ws[k];
                b += src[k * 3 + 2] * ws[k];
            }
            px[0] = (r + 0.5).clamp(0.0, 255.0) as u8;
            px[1] = (g + 0.5).clamp(0.0, 255.0) as u8;
            px[2] = (b + 0.5).clamp(0.0, 255.0) as u8;
        }
    }

    fn apply_any(&self, row: &[f32], out: &mut [u8]) {
        let n = self.n;
        for ((px, &f), ws) in out.chunks_exact_mut(3).zip(&self.first).zip(self.weights.chunks_exact(n)) {
            let (mut r, mut g, mut b) = (0f32, 0f32, 0f32);
            for (k, &wt) in ws.iter().enumerate() {
                let i = (f + k) * 3;
                r += row[i] * wt;
                g += row[i + 1] * wt;
                b += row[i + 2] * wt;
            }
            px[0] = (r + 0.5).clamp(0.0, 255.0) as u8;
            px[1] = (g + 0.5).clamp(0.0, 255.0) as u8;
            px[2] = (b + 0.5).clamp(0.0, 255.0) as u8;
        }
    }
}

/// For each output index: the first source index and the weights of consecutive sources.
fn weights(src: usize, dst: usize) -> Vec<(usize, Vec<f32>)> {
    let scale = src as f64 / dst as f64;
    (0..dst)
        .map(|o| {
            if scale >= 1.0 {
                // Area: output o covers [o·scale, (o+1)·scale).
                let (a, b) = (o as f64 * scale, (o as f64 + 1.0) * scale);
                let first = a.floor() as usize;
                let last = ((b.ceil() as usize).min(src)).max(first + 1);
                let ws = (first..last)
                    .map(|i| (((i + 1) as f64).min(b) - (i as f64).max(a)).max(0.0) / scale)
                    .map(|v| v as f32)
                    .collect();
                (first, ws)
            } else {
                // Bilinear, half-pixel centres, edges clamped.
                let c = ((o as f64 + 0.5) * scale - 0.5).clamp(0.0, (src - 1) as f64);
                let i = (c.floor() as usize).min(src - 1);
                let f = (c - i as f64) as f32;
                if i + 1 < src {
                    (i, vec![1.0 - f, f])
                } else {
                    (i, vec![1.0])
                }
            }
        })
        .collect()
}

#[cfg(test)]
mod tests;

/// Returns a copy of a JPEG with an EXIF block (APP1) holding only the given orientation tag,
/// inserted right after the start-of-image marker. For tests and synthetic data.
pub fn jpeg_with_exif_orientation(jpeg: &[u8], orientation: u8) -> Vec<u8> {
    let mut tiff = Vec::new();
    tiff.extend_from_slice(b"MM\0*");
    tiff.extend_from_slice(&8u32.to_be_bytes()); // IFD0 offset
    tiff.extend_from_slice(&1u16.to_be_bytes()); // one entry
    tiff.extend_from_slice(&0x0112u16.to_be_bytes()); // Orientation
    tiff.extend_from_slice(&3u16.to_be_bytes()); // SHORT
    tiff.extend_from_slice(&1u32.to_be_bytes()); // count
    tiff.extend_from_slice(&(orientation as u16).to_be_bytes());
    tiff.extend_from_slice(&[0, 0]);
    tiff.extend_from_slice(&0u32.to_be_bytes()); // no next IFD
    let mut app1 = Vec::new();
    app1.extend_from_slice(&[0xFF, 0xE1]);
    app1.extend_from_slice(&((2 + 6 + tiff.len()) as u16).to_be_bytes());
    app1.extend_from_slice(b"Exif\0\0");
    app1.extend_from_slice(&tiff);
    let mut out = Vec::with_capacity(jpeg.len() + app1.len());
    out.extend_from_slice(&jpeg[..2.min(jpeg.len())]);
    out.extend_from_slice(&app1);
    out.extend_from_slice(&jpeg[2.min(jpeg.len())..]);
    out
}

/// The stored pixels that, tagged with `orientation`, display as `upright`.
/// (The inverse of what a viewer applies; for tests and synthetic data.)
pub fn store_for_orientation(upright: &RgbImage, orientation: u8) -> RgbImage {
    use image::imageops::{flip_horizontal, flip_vertical, rotate180, rotate270, rotate90};
    match orientation {
        2 => flip_horizontal(upright),
        3 => rotate180(upright),
        4 => flip_vertical(upright),
        5 => flip_horizontal(&rotate90(upright)), // transpose
        6 => rotate270(upright),
        7 => flip_horizontal(&rotate270(upright)), // transverse
        8 => rotate90(upright),
        _ => upright.clone(),
    }
}
