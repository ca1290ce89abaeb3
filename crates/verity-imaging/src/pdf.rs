//! Document images delivered as PDF (ComplyCube accepts JPG, PNG and PDF uploads).
//!
//! A scanned or exported identity document is a PDF whose first page carries the photo as an
//! embedded image. [`extract_page1_image`] finds every image XObject drawn by page 1 (in the
//! page's resources, inherited ones, and inside form XObjects), picks the largest by pixel count
//! and returns it as bytes [`crate::decode`] takes: a JPEG stream (`DCTDecode`) as it is, raw
//! samples (`FlateDecode`, `LZWDecode`, uncompressed; 8-bit gray, RGB or CMYK, 1-bit gray) as a
//! PNG. The dimensions in the image dictionary are checked against the limits *before* any
//! sample is decompressed. A PDF with no image on page 1, an encrypted PDF, or an image in an
//! encoding we do not read (JPEG 2000, JBIG2, CCITT) gets a typed error. The parser runs under
//! `catch_unwind`: a malformed file is an error, never a crash.

use image::{GrayImage, RgbImage};
use lopdf::{Dictionary, Document, Object, ObjectId};
use serde::Serialize;

use crate::{ImageError, Limits};

/// What was taken from the PDF.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PdfInfo {
    /// Pages in the document.
    pub pages: usize,
    /// Images drawn by page 1.
    pub images_on_page: usize,
    /// Size of the chosen image as stored in the PDF.
    pub width: u32,
    pub height: u32,
    /// The chosen image's filter chain (`DCTDecode`, `FlateDecode`, …).
    pub filters: Vec<String>,
    /// The document information's `Producer` and `Creator` (which software wrote the PDF).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub producer: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub creator: Option<String>,
}

/// The largest image of page 1, as JPEG or PNG bytes.
pub fn extract_page1_image(bytes: &[u8], limits: &Limits) -> Result<(Vec<u8>, PdfInfo), ImageError> {
    match std::panic::catch_unwind(|| extract(bytes, limits)) {
        Ok(r) => r,
        Err(_) => Err(unreadable("the PDF structure could not be parsed")),
    }
}

fn unreadable(detail: &str) -> ImageError {
    ImageError::Corrupt { format: "pdf", detail: detail.to_string() }
}

struct Candidate {
    id: ObjectId,
    width: u32,
    height: u32,
}

fn extract(bytes: &[u8], limits: &Limits) -> Result<(Vec<u8>, PdfInfo), ImageError> {
    let doc = Document::load_mem(bytes).map_err(|e| unreadable(&format!("{e}")))?;
    if doc.is_encrypted() {
        return Err(ImageError::PdfEncrypted);
    }
    let pages = doc.get_pages();
    let Some(&page_id) = pages.get(&1) else {
        return Err(unreadable("the PDF has no pages"));
    };
    let page = doc.get_dictionary(page_id).map_err(|e| unreadable(&format!("page 1: {e}")))?;
    let mut found = Vec::new();
    let mut seen = Vec::new();
    if let Some(res) = page_resources(&doc, page) {
        collect_images(&doc, res, 0, &mut found, &mut seen);
    }
    let count = found.len();
    let Some(best) = found.into_iter().max_by_key(|c| c.width as u64 * c.height as u64) else {
        return Err(ImageError::PdfWithoutImage);
    };
    let (w, h) = (best.width, best.height);
    limits.check_not_too_large(w, h)?;
    let stream = doc
        .get_object(best.id)
        .and_then(Object::as_stream)
        .map_err(|e| unreadable(&format!("image object: {e}")))?;
    let filters: Vec<String> = stream
        .filters()
        .map(|f| f.iter().map(|n| String::from_utf8_lossy(n).into_owned()).collect())
        .unwrap_or_default();
    let info_text = |key: &[u8]| -> Option<String> {
        let info =
            doc.trailer.get(b"Info").ok().and_then(|o| deref(&doc, o)).and_then(|o| o.as_dict().ok())?;
        match deref(&doc, info.get(key).ok()?)? {
            Object::String(bytes, _) => {
                // PDF text strings: UTF-16BE with a BOM, else PDFDocEncoding (Latin-1 here).
                let text = if bytes.starts_with(&[0xFE, 0xFF]) {
                    let units: Vec<u16> =
                        bytes[2..].chunks_exact(2).map(|c| u16::from_be_bytes([c[0], c[1]])).collect();
                    String::from_utf16_lossy(&units)
                } else {
                    bytes.iter().map(|&b| b as char).collect()
                };
                Some(text.chars().take(200).collect())
            }
            _ => None,
        }
    };
    let info = PdfInfo {
        pages: pages.len(),
        images_on_page: count,
        width: w,
        height: h,
        filters: filters.clone(),
        producer: info_text(b"Producer"),
        creator: info_text(b"Creator"),
    };
    let last = filters.last().map(String::as_str);
    let out = match last {
        Some("DCTDecode" | "DCT") => {
            if filters.len() == 1 {
                stream.content.clone()
            } else {
                // e.g. [FlateDecode DCTDecode]: undo the outer filters only.
                let mut s = stream.clone();
                s.dict.set(
                    "Filter",
                    Object::Array(
                        filters[..filters.len() - 1]
                            .iter()
                            .map(|f| Object::Name(f.as_bytes().to_vec()))
                            .collect(),
                    ),
                );
                s.decompressed_content().map_err(|e| unreadable(&format!("image stream: {e}")))?
            }
        }
        None | Some("FlateDecode" | "Fl" | "LZWDecode" | "LZW") => {
            let raw = if filters.is_empty() {
                stream.content.clone()
            } else {
                stream.decompressed_content().map_err(|e| unreadable(&format!("image stream: {e}")))?
            };
            raw_to_png(&doc, &stream.dict, &raw, w, h)?
        }
        Some(other) => {
            let name = match other {
                "JPXDecode" => "JPEG 2000",
                "JBIG2Decode" => "JBIG2",
                "CCITTFaxDecode" | "CCF" => "CCITT fax",
                _ => other,
            };
            return Err(ImageError::UnsupportedEncoding {
                format: "pdf",
                detail: format!(
                    "the page's image is {name}-encoded; send a JPEG or PNG, or a PDF with a JPEG image"
                ),
            });
        }
    };
    Ok((out, info))
}

/// The page's resources, inherited from its ancestors when the page has none.
fn page_resources<'a>(doc: &'a Document, page: &'a Dictionary) -> Option<&'a Dictionary> {
    let mut node = page;
    for _ in 0..32 {
        if let Ok(r) = node.get(b"Resources") {
            return deref(doc, r).and_then(|o| o.as_dict().ok());
        }
        let parent = node.get(b"Parent").ok()?;
        node = deref(doc, parent)?.as_dict().ok()?;
    }
    None
}

fn deref<'a>(doc: &'a Document, o: &'a Object) -> Option<&'a Object> {
    match o {
        Object::Reference(id) => doc.get_object(*id).ok(),
        other => Some(other),
    }
}

fn collect_images(
    doc: &Document,
    res: &Dictionary,
    depth: usize,
    out: &mut Vec<Candidate>,
    seen: &mut Vec<ObjectId>,
) {
    if depth > 4 {
        return;
    }
    let Some(xobjects) = res.get(b"XObject").ok().and_then(|o| deref(doc, o)).and_then(|o| o.as_dict().ok())
    else {
        return;
    };
    for (_, v) in xobjects.iter() {
        let Object::Reference(id) = v else { continue };
        if seen.contains(id) {
            continue;
        }
        seen.push(*id);
        let Ok(stream) = doc.get_object(*id).and_then(Object::as_stream) else { continue };
        let d = &stream.dict;
        match d.get(b"Subtype").and_then(Object::as_name) {
            Ok(b"Image") => {
                let dim = |k: &[u8]| d.get(k).ok().and_then(|o| deref(doc, o)).and_then(|o| o.as_i64().ok());
                if let (Some(w), Some(h)) = (dim(b"Width"), dim(b"Height")) {
                    if w > 0 && h > 0 && w <= u32::MAX as i64 && h <= u32::MAX as i64 {
                        out.push(Candidate { id: *id, width: w as u32, height: h as u32 });
                    }
                }
            }
            Ok(b"Form") => {
                if let Some(r) =
                    d.get(b"Resources").ok().and_then(|o| deref(doc, o)).and_then(|o| o.as_dict().ok())
                {
                    collect_images(doc, r, depth + 1, out, seen);
                }
            }
            _ => {}
        }
    }
}

/// Raw samples → PNG, for the colour spaces scanners and exporters write.
fn raw_to_png(doc: &Document, dict: &Dictionary, raw: &[u8], w: u32, h: u32) -> Result<Vec<u8>, ImageError> {
    let bpc = dict
        .get(b"BitsPerComponent")
        .ok()
        .and_then(|o| deref(doc, o))
        .and_then(|o| o.as_i64().ok())
        .unwrap_or(8);
    let channels = color_channels(doc, dict)?;
    let (w_us, h_us) = (w as usize, h as usize);
    let unsupported = |detail: String| ImageError::UnsupportedEncoding { format: "pdf", detail };
    let short = || unreadable("the image stream is shorter than its declared size");
    match (bpc, channels) {
        (8, 1) => {
            let n = w_us * h_us;
            let px = raw.get(..n).ok_or_else(short)?.to_vec();
            let img = GrayImage::from_raw(w, h, px).ok_or_else(short)?;
            Ok(crate::encode_png(&image::DynamicImage::ImageLuma8(img).to_rgb8()))
        }
        (8, 3) => {
            let n = w_us * h_us * 3;
            let px = raw.get(..n).ok_or_else(short)?.to_vec();
            let img = RgbImage::from_raw(w, h, px).ok_or_else(short)?;
            Ok(crate::encode_png(&img))
        }
        (8, 4) => {
            let n = w_us * h_us * 4;
            let px = raw.get(..n).ok_or_else(short)?;
            let rgb: Vec<u8> = px
                .chunks_exact(4)
                .flat_map(|c| {
                    let k = 255 - c[3] as u32;
                    [c[0], c[1], c[2]].map(|v| ((255 - v as u32) * k / 255) as u8)
                })
                .collect();
            let img = RgbImage::from_raw(w, h, rgb).ok_or_else(short)?;
            Ok(crate::encode_png(&img))
        }
        (1, 1) => {
            let row = w_us.div_ceil(8);
            let data = raw.get(..row * h_us).ok_or_else(short)?;
            let mut img = GrayImage::new(w, h);
            for (y, r) in data.chunks_exact(row).enumerate() {
                for x in 0..w_us {
                    let bit = (r[x / 8] >> (7 - (x % 8))) & 1;
                    img.put_pixel(x as u32, y as u32, image::Luma([if bit == 1 { 255 } else { 0 }]));
                }
            }
            Ok(crate::encode_png(&image::DynamicImage::ImageLuma8(img).to_rgb8()))
        }
        (b, c) => Err(unsupported(format!("a {c}-channel image at {b} bits per component"))),
    }
}

fn color_channels(doc: &Document, dict: &Dictionary) -> Result<usize, ImageError> {
    let Some(cs) = dict.get(b"ColorSpace").ok().and_then(|o| deref(doc, o)) else {
        return Ok(1); // image masks and some scanners' gray images
    };
    let unsupported = |what: String| ImageError::UnsupportedEncoding {
        format: "pdf",
        detail: format!("images in the {what} colour space are not read; send a JPEG or PNG"),
    };
    let name_channels = |n: &[u8]| match n {
        b"DeviceGray" | b"CalGray" | b"G" => Some(1),
        b"DeviceRGB" | b"CalRGB" | b"RGB" => Some(3),
        b"DeviceCMYK" | b"CMYK" => Some(4),
        _ => None,
    };
    match cs {
        Object::Name(n) => {
            name_channels(n).ok_or_else(|| unsupported(String::from_utf8_lossy(n).into_owned()))
        }
        Object::Array(a) => {
            let family = a.first().and_then(|o| o.as_name().ok()).unwrap_or(b"");
            match family {
                b"ICCBased" => {
                    let n = a
                        .get(1)
                        .and_then(|o| deref(doc, o))
                        .and_then(|o| o.as_stream().ok())
                        .and_then(|s| s.dict.get(b"N").ok())
                        .and_then(|o| o.as_i64().ok())
                        .unwrap_or(3);
                    Ok(n.clamp(1, 4) as usize)
                }
                other => name_channels(other)
                    .ok_or_else(|| unsupported(String::from_utf8_lossy(other).into_owned())),
            }
        }
        _ => Err(unsupported("declared".into())),
    }
}

/// An image to embed with [`page_with_images`].
#[derive(Debug, Clone, Copy)]
pub struct EmbeddedImage<'a> {
    pub width: u32,
    pub height: u32,
    /// `/Filter` value (`DCTDecode`, `FlateDecode`, `JPXDecode`…), or `None` for raw samples.
    pub filter: Option<&'a str>,
    /// `/ColorSpace` value (`DeviceRGB`, `DeviceGray`, `DeviceCMYK`).
    pub color_space: &'a str,
    pub data: &'a [u8],
}

/// A one-page PDF drawing the given images side by side (none: a page with a line of text).
/// For tests and sample data: a hand-written file with a classic cross-reference table.
pub fn page_with_images(images: &[EmbeddedImage<'_>]) -> Vec<u8> {
    page_with(images, &["Identity document"])
}

/// A one-page PDF with text only (no image), one line per entry.
pub fn text_page(lines: &[&str]) -> Vec<u8> {
    page_with(&[], lines)
}

fn page_with(images: &[EmbeddedImage<'_>], text: &[&str]) -> Vec<u8> {
    let mut out: Vec<u8> = b"%PDF-1.4\n%\xE2\xE3\xCF\xD3\n".to_vec();
    let mut offsets = Vec::new();
    let mut obj = |out: &mut Vec<u8>, body: &[u8]| {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", offsets.len()).as_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(b"\nendobj\n");
    };
    // 1 catalog, 2 pages, 3 page, 4 content, 5.. images, then the font.
    let n = images.len();
    let font_id = 5 + n;
    obj(&mut out, b"<< /Type /Catalog /Pages 2 0 R >>");
    obj(&mut out, b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>");
    let xobjects: String = (0..n).map(|i| format!("/Im{i} {} 0 R ", 5 + i)).collect();
    obj(
        &mut out,
        format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /XObject << {xobjects}>> /Font << /F1 {font_id} 0 R >> >> >>"
        )
        .as_bytes(),
    );
    let mut content = String::from("BT /F1 12 Tf 72 760 Td 14 TL\n");
    for line in text {
        let escaped: String = line
            .chars()
            .filter(|c| c.is_ascii() && !c.is_ascii_control())
            .flat_map(|c| if matches!(c, '(' | ')' | '\\') { vec!['\\', c] } else { vec![c] })
            .collect();
        content.push_str(&format!("({escaped}) Tj T*\n"));
    }
    content.push_str("ET\n");
    for (i, im) in images.iter().enumerate() {
        content.push_str(&format!(
            "q {} 0 0 {} {} 72 cm /Im{i} Do Q\n",
            im.width.min(300),
            im.height.min(300),
            72 + 310 * i
        ));
    }
    obj(&mut out, format!("<< /Length {} >>\nstream\n{content}endstream", content.len()).as_bytes());
    for im in images {
        let filter = im.filter.map(|f| format!("/Filter /{f} ")).unwrap_or_default();
        let mut body = format!(
            "<< /Type /XObject /Subtype /Image /Width {} /Height {} /ColorSpace /{} /BitsPerComponent 8 {filter}/Length {} >>\nstream\n",
            im.width,
            im.height,
            im.color_space,
            im.data.len()
        )
        .into_bytes();
        body.extend_from_slice(im.data);
        body.extend_from_slice(b"\nendstream");
        obj(&mut out, &body);
    }
    obj(&mut out, b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>");
    let xref = out.len();
    out.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f \n", offsets.len() + 1).as_bytes());
    for o in &offsets {
        out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!("trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n", offsets.len() + 1)
            .as_bytes(),
    );
    out
}
