//! Whether a JPEG's main image is complete: its structure walked marker by marker and scan by
//! scan, without decoding pixels (decoders fill missing data with grey without complaint).

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum JpegEnd {
    Complete,
    /// Cut off before the end-of-image marker, but after every coefficient of every component
    /// arrived at some precision (a progressive JPEG whose last refinement scans are missing):
    /// the whole frame decodes, at reduced quality. Decoded, and flagged.
    TruncatedProgressive,
    /// Pixels are missing (the decoder would fill them with grey without complaint).
    Truncated,
    /// The stream's structure is broken (a marker that cannot occur, a segment running past the
    /// end): random bytes behind a JPEG header end here.
    Malformed,
}

/// Whether the main JPEG image is complete, by walking its structure: marker segments by their
/// lengths (so an EXIF thumbnail inside APP1 is skipped), each scan's entropy-coded data up to
/// the next marker (inside it an `FF` is always followed by `00` or a restart marker), until the
/// end-of-image marker. Data after it (some files carry a second, cut-off stream) is ignored, as
/// decoders ignore it. Each complete scan marks the coefficients it carried for its components,
/// which tells a progressive JPEG cut during its last refinements (whole frame, flagged) from
/// one cut before some coefficients arrived (refused).
pub(crate) fn jpeg_completeness(bytes: &[u8]) -> JpegEnd {
    let mut i = 2; // after SOI
    let mut components: Vec<u8> = Vec::new();
    // Per component of the frame: a bit per coefficient (0 = DC, 1–63 = AC) some scan carried.
    let mut covered: Vec<u64> = Vec::new();
    let mut scans = 0usize;
    let whole_frame = |components: &Vec<u8>, covered: &Vec<u64>| {
        !components.is_empty() && covered.iter().all(|c| *c == u64::MAX)
    };
    loop {
        // Fill bytes, then a marker.
        while i + 1 < bytes.len() && bytes[i] == 0xFF && bytes[i + 1] == 0xFF {
            i += 1;
        }
        if i + 2 > bytes.len() {
            return if scans > 0 && whole_frame(&components, &covered) {
                JpegEnd::TruncatedProgressive
            } else {
                JpegEnd::Truncated
            };
        }
        if bytes[i] != 0xFF {
            return JpegEnd::Malformed;
        }
        let marker = bytes[i + 1];
        match marker {
            0xD9 => return if scans > 0 { JpegEnd::Complete } else { JpegEnd::Truncated },
            0xD0..=0xD7 | 0x01 => {
                i += 2;
                continue;
            }
            // Frames, tables, restart interval, comments, application data, number of lines.
            0xC0..=0xCF | 0xDA..=0xDF | 0xE0..=0xEF | 0xFE => {}
            _ => return JpegEnd::Malformed,
        }
        if i + 4 > bytes.len() {
            return JpegEnd::Truncated;
        }
        let len = u16::from_be_bytes([bytes[i + 2], bytes[i + 3]]) as usize;
        if len < 2 {
            return JpegEnd::Malformed;
        }
        if i + 2 + len > bytes.len() {
            return JpegEnd::Truncated;
        }
        let seg = &bytes[i + 4..i + 2 + len];
        i += 2 + len;
        let is_frame = matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC);
        if is_frame {
            // P, Y, X, Nf, then (id, sampling, table) per component.
            let nf = *seg.get(5).unwrap_or(&0) as usize;
            if nf == 0 || seg.len() < 6 + 3 * nf {
                return JpegEnd::Malformed;
            }
            components = (0..nf).map(|k| seg[6 + 3 * k]).collect();
            covered = vec![0; nf];
            continue;
        }
        if marker != 0xDA {
            continue;
        }
        // A scan: Ns, (id, tables) per component, Ss, Se, Ah/Al; then entropy-coded data.
        let ns = *seg.first().unwrap_or(&0) as usize;
        if ns == 0 || seg.len() < 1 + 2 * ns + 3 || components.is_empty() {
            return JpegEnd::Malformed;
        }
        let ids: Vec<u8> = (0..ns).map(|k| seg[1 + 2 * k]).collect();
        let (ss, se) = (seg[1 + 2 * ns] as u32, seg[2 + 2 * ns] as u32);
        if ss > se || se > 63 {
            return JpegEnd::Malformed;
        }
        // The entropy-coded data ends at the first FF not followed by 00 or a restart marker.
        let mut j = i;
        let end = loop {
            match bytes[j..].iter().position(|b| *b == 0xFF) {
                None => break None,
                Some(k) => {
                    j += k;
                    match bytes.get(j + 1) {
                        None => break None,
                        Some(0x00 | 0xD0..=0xD7) => j += 2,
                        Some(_) => break Some(j),
                    }
                }
            }
        };
        let Some(end) = end else {
            // Cut inside this scan: what the earlier scans carried is all there is.
            return if whole_frame(&components, &covered) {
                JpegEnd::TruncatedProgressive
            } else {
                JpegEnd::Truncated
            };
        };
        let bits = if se == 63 { u64::MAX << ss } else { ((1u64 << (se + 1)) - 1) & (u64::MAX << ss) };
        for id in ids {
            if let Some(c) = components.iter().position(|x| *x == id) {
                covered[c] |= bits;
            }
        }
        scans += 1;
        i = end;
    }
}
