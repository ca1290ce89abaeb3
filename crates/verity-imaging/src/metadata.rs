//! What an image file says about where it came from: EXIF camera and software tags, and the
//! JPEG quantisation tables (how hard the image was compressed, last time).

use serde::Serialize;

/// EXIF tags that matter for liveness and document forensics.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ExifSummary {
    pub make: Option<String>,
    pub model: Option<String>,
    pub software: Option<String>,
    pub date_time_original: Option<String>,
}

impl ExifSummary {
    pub fn has_camera(&self) -> bool {
        self.make.is_some() || self.model.is_some()
    }

    /// The software tag names a known image editor (a fact about the file, not proof of a spoof).
    pub fn editing_software(&self) -> Option<&str> {
        self.software.as_deref().filter(|s| names_an_editor(s))
    }
}

/// Whether a software name (EXIF `Software`, a PDF's producer or creator) is a known image editor.
pub fn names_an_editor(software: &str) -> bool {
    const EDITORS: &[&str] = &[
        "photoshop",
        "gimp",
        "lightroom",
        "snapseed",
        "picsart",
        "facetune",
        "faceapp",
        "pixelmator",
        "affinity",
        "paint.net",
        "canva",
        "meitu",
        "photoscape",
        "fotor",
        "airbrush",
        "remini",
    ];
    let lower = software.to_ascii_lowercase();
    EDITORS.iter().any(|e| lower.contains(e))
}

/// Reads IFD0 (Make, Model, Software) and the Exif IFD (DateTimeOriginal) of a raw EXIF block
/// (with or without the `Exif\0\0` prefix). Malformed blocks give what could be read.
pub fn exif_summary(raw: &[u8]) -> ExifSummary {
    let tiff = raw.strip_prefix(b"Exif\0\0").unwrap_or(raw);
    let mut out = ExifSummary::default();
    let Some(le) = (match tiff.get(0..2) {
        Some(b"II") => Some(true),
        Some(b"MM") => Some(false),
        _ => None,
    }) else {
        return out;
    };
    let u16_at = |o: usize| -> Option<u16> {
        let b = tiff.get(o..o + 2)?;
        Some(if le { u16::from_le_bytes([b[0], b[1]]) } else { u16::from_be_bytes([b[0], b[1]]) })
    };
    let u32_at = |o: usize| -> Option<u32> {
        let b = tiff.get(o..o + 4)?;
        let a = [b[0], b[1], b[2], b[3]];
        Some(if le { u32::from_le_bytes(a) } else { u32::from_be_bytes(a) })
    };
    let ascii = |entry: usize| -> Option<String> {
        let typ = u16_at(entry + 2)?;
        let count = u32_at(entry + 4)? as usize;
        if typ != 2 || count == 0 || count > 4096 {
            return None;
        }
        let bytes = if count <= 4 {
            tiff.get(entry + 8..entry + 8 + count)?
        } else {
            let off = u32_at(entry + 8)? as usize;
            tiff.get(off..off.checked_add(count)?)?
        };
        let s: String = bytes
            .iter()
            .take_while(|&&b| b != 0)
            .map(|&b| if b.is_ascii_graphic() || b == b' ' { b as char } else { '?' })
            .collect();
        let s = s.trim().to_string();
        (!s.is_empty()).then_some(s)
    };
    // Entries of one IFD: (tag, entry offset).
    let entries = |ifd: usize| -> Vec<(u16, usize)> {
        let Some(n) = u16_at(ifd) else { return Vec::new() };
        (0..n.min(512) as usize)
            .filter_map(|i| {
                let e = ifd + 2 + 12 * i;
                u16_at(e).map(|t| (t, e))
            })
            .collect()
    };
    let Some(ifd0) = u32_at(4) else { return out };
    let mut exif_ifd = None;
    for (tag, e) in entries(ifd0 as usize) {
        match tag {
            0x010F => out.make = ascii(e),
            0x0110 => out.model = ascii(e),
            0x0131 => out.software = ascii(e),
            0x8769 => exif_ifd = u32_at(e + 8),
            _ => {}
        }
    }
    if let Some(ifd) = exif_ifd {
        for (tag, e) in entries(ifd as usize) {
            if tag == 0x9003 {
                out.date_time_original = ascii(e);
            }
        }
    }
    out
}

/// The IJG luminance table at quality 50 (any order: only sums are compared).
const STD_LUMA: [u16; 64] = [
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56, 14, 17,
    22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92, 49, 64, 78,
    87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
];

/// The JPEG quality (IJG scale, 1–100) that the first quantisation table corresponds to, from the
/// ratio of its sum to the standard table's. `None` for non-JPEG data or no table.
pub fn jpeg_quality(bytes: &[u8]) -> Option<u8> {
    if bytes.get(0..2) != Some(&[0xFF, 0xD8]) {
        return None;
    }
    let mut i = 2;
    while i + 4 <= bytes.len() {
        if bytes[i] != 0xFF {
            return None;
        }
        let marker = bytes[i + 1];
        if marker == 0xFF {
            i += 1;
            continue;
        }
        if marker == 0xDA || marker == 0xD9 {
            return None;
        }
        let len = u16::from_be_bytes([bytes[i + 2], bytes[i + 3]]) as usize;
        if len < 2 {
            return None;
        }
        let seg = bytes.get(i + 4..i + 2 + len)?;
        if marker == 0xDB {
            let (&pq_tq, rest) = seg.split_first()?;
            let sixteen = pq_tq >> 4 == 1;
            let sum: u32 = if sixteen {
                rest.get(..128)?.chunks(2).map(|c| u16::from_be_bytes([c[0], c[1]]) as u32).sum()
            } else {
                rest.get(..64)?.iter().map(|&v| v as u32).sum()
            };
            let std: u32 = STD_LUMA.iter().map(|&v| v as u32).sum();
            let scale = sum as f64 * 100.0 / std as f64;
            let q = if scale <= 100.0 { (200.0 - scale) / 2.0 } else { 5000.0 / scale };
            return Some(q.round().clamp(1.0, 100.0) as u8);
        }
        i += 2 + len;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quality_estimate_follows_the_encoder_setting() {
        let img = image::RgbImage::from_fn(64, 64, |x, y| image::Rgb([(x * 4) as u8, (y * 4) as u8, 90]));
        for q in [30u8, 50, 75, 90, 95] {
            let mut out = Vec::new();
            image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, q)
                .encode_image(&img)
                .expect("encode");
            let est = jpeg_quality(&out).expect("a table");
            assert!((est as i32 - q as i32).abs() <= 2, "q {q} estimated {est}");
        }
        assert_eq!(jpeg_quality(b"\x89PNG\r\n"), None);
        assert_eq!(jpeg_quality(&[0xFF, 0xD8, 0xFF]), None);
    }

    #[test]
    fn exif_tags_are_read_in_both_byte_orders() {
        // A little-endian TIFF block: IFD0 with Make (inline "Cam"), Software (offset).
        let mut t = b"II*\0\x08\0\0\0".to_vec();
        t.extend_from_slice(&2u16.to_le_bytes());
        t.extend_from_slice(&0x010Fu16.to_le_bytes());
        t.extend_from_slice(&2u16.to_le_bytes());
        t.extend_from_slice(&4u32.to_le_bytes());
        t.extend_from_slice(b"Cam\0");
        t.extend_from_slice(&0x0131u16.to_le_bytes());
        t.extend_from_slice(&2u16.to_le_bytes());
        t.extend_from_slice(&16u32.to_le_bytes());
        t.extend_from_slice(&38u32.to_le_bytes());
        t.extend_from_slice(&0u32.to_le_bytes());
        t.extend_from_slice(b"Adobe Photoshop\0");
        let s = exif_summary(&[b"Exif\0\0".as_slice(), &t].concat());
        assert_eq!(s.make.as_deref(), Some("Cam"));
        assert_eq!(s.software.as_deref(), Some("Adobe Photoshop"));
        assert!(s.has_camera());
        assert_eq!(s.editing_software(), Some("Adobe Photoshop"));
        // Garbage and truncation give nothing, without panicking.
        assert_eq!(exif_summary(b"garbage"), ExifSummary::default());
        for n in 0..t.len() {
            let _ = exif_summary(&t[..n]);
        }
    }
}
