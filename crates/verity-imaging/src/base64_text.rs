//! Files sent as base64 text (ComplyCube's uploads): standard or URL-safe alphabet, padded or
//! not, with or without a `data:…;base64,` prefix, line breaks and spaces ignored. The decoded
//! size is bounded before anything is decoded.

use base64::Engine as _;

/// Why base64 text was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Base64Error {
    /// The decoded file would be larger than the limit (judged from the text's length).
    #[error("the file is larger than {max} bytes")]
    TooLarge { max: usize },
    /// Not base64 in either alphabet; the position of the first bad character, if known.
    #[error("not valid base64{}", .at.map(|a| format!(" (at character {a})")).unwrap_or_default())]
    Invalid { at: Option<usize> },
}

/// Decodes `text` into at most `max_bytes` bytes.
pub fn decode(text: &str, max_bytes: usize) -> Result<Vec<u8>, Base64Error> {
    let text = match text.find(";base64,") {
        Some(i) if text.starts_with("data:") => &text[i + 8..],
        _ => text,
    };
    // Copy only when the text has line breaks or spaces in it.
    let compact: std::borrow::Cow<'_, str> = if text.bytes().any(|b| b.is_ascii_whitespace()) {
        text.chars().filter(|c| !c.is_ascii_whitespace()).collect::<String>().into()
    } else {
        text.into()
    };
    if compact.len() / 4 * 3 > max_bytes.saturating_add(3) {
        return Err(Base64Error::TooLarge { max: max_bytes });
    }
    let standard = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
    );
    let bytes = standard.decode(compact.as_bytes()).or_else(|first| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(compact.trim_end_matches('=').as_bytes())
            .map_err(|_| Base64Error::Invalid {
                at: match first {
                    base64::DecodeError::InvalidByte(at, _) => Some(at),
                    _ => None,
                },
            })
    })?;
    if bytes.len() > max_bytes {
        return Err(Base64Error::TooLarge { max: max_bytes });
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_accepted_spelling_decodes_to_the_same_bytes() {
        let want = b"\xff\xd8\xff\xe0 any bytes? yes>>".to_vec();
        let std = base64::engine::general_purpose::STANDARD.encode(&want);
        let url = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&want);
        let wrapped: String =
            std.as_bytes().chunks(8).map(|c| format!("{}\r\n", String::from_utf8_lossy(c))).collect();
        for text in [
            std.clone(),
            url,
            format!("data:image/jpeg;base64,{std}"),
            wrapped,
            std.trim_end_matches('=').into(),
        ] {
            assert_eq!(decode(&text, 1000), Ok(want.clone()), "{text}");
        }
        assert!(matches!(decode("@@@@", 1000), Err(Base64Error::Invalid { .. })));
        assert_eq!(decode(&std, 10), Err(Base64Error::TooLarge { max: 10 }));
        assert_eq!(decode(&"A".repeat(4000), 100), Err(Base64Error::TooLarge { max: 100 }));
    }
}
