//! What every upload goes through at the edge: base64 (with or without a data-URL prefix),
//! size 34 KB–4 MB, format by content, a full decode of the image (corrupt, truncated or absurd
//! dimensions refused), and typed upload bodies whose errors name the field at fault.

use axum::body::Bytes;
use serde_json::{Map, Value};

use crate::error::{ApiError, ApiResult};
use crate::resources::{json_object, reject_unknown, string_field};
use crate::AppState;

/// What an upload turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Jpeg,
    Png,
    Pdf,
}

impl FileKind {
    pub fn content_type(self) -> &'static str {
        match self {
            FileKind::Jpeg => "image/jpeg",
            FileKind::Png => "image/png",
            FileKind::Pdf => "application/pdf",
        }
    }
}

/// Decodes and checks a base64 upload: size bounds, format by content (only `allowed`), and
/// for images and PDFs a full decode of the image (corrupt, truncated or absurd dimensions, a PDF
/// without an image on page 1 are refused here).
pub async fn decode_upload(
    s: &AppState,
    data: Option<&str>,
    allowed: &[FileKind],
) -> ApiResult<(Vec<u8>, FileKind)> {
    decode_field(s, "data", data, allowed).await
}

/// As [`decode_upload`], for the base64 field `field` (errors name it).
pub async fn decode_field(
    s: &AppState,
    field: &str,
    data: Option<&str>,
    allowed: &[FileKind],
) -> ApiResult<(Vec<u8>, FileKind)> {
    let lim = &s.config.limits;
    let param = Some(field);
    let Some(text) = data else {
        return Err(ApiError::invalid(
            "field_required",
            format!("`{field}` is required (base64 file content)"),
            param,
        ));
    };
    let bytes = verity_imaging::base64_text::decode(text, lim.image_max_bytes).map_err(|e| match e {
        verity_imaging::base64_text::Base64Error::TooLarge { max } => {
            ApiError::too_large("file_too_large", format!("`{field}` is larger than {max} bytes"), param)
        }
        invalid => ApiError::bad("base64_invalid", format!("`{field}` is {invalid}"), param),
    })?;
    if bytes.len() < lim.image_min_bytes {
        return Err(ApiError::invalid(
            "file_too_small",
            format!("`{field}` is {} bytes; at least {} are required", bytes.len(), lim.image_min_bytes),
            param,
        ));
    }
    let kind = if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        FileKind::Jpeg
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        FileKind::Png
    } else if bytes.starts_with(b"%PDF-") {
        FileKind::Pdf
    } else {
        let names: Vec<&str> = allowed.iter().map(|k| k.content_type()).collect();
        return Err(ApiError::invalid(
            "file_format_unsupported",
            format!("`{field}` is not one of: {}", names.join(", ")),
            param,
        ));
    };
    if !allowed.contains(&kind) {
        let names: Vec<&str> = allowed.iter().map(|k| k.content_type()).collect();
        return Err(ApiError::invalid(
            "file_format_unsupported",
            format!("`{field}`: {} is not accepted here; send {}", kind.content_type(), names.join(" or ")),
            param,
        ));
    }
    {
        // A PDF must carry a readable image on page 1 (the document's photo or scan).
        let checked = tokio::task::spawn_blocking(move || {
            let r = verity_imaging::decode_document(&bytes, &verity_imaging::Limits::default()).map(|_| ());
            (bytes, r)
        })
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
        let (bytes, r) = checked;
        if let Err(e) = r {
            tracing::info!(code = e.code(), detail = %e, "upload refused");
            return Err(ApiError::invalid(e.code(), format!("`{field}`: {}", e.public_message()), param));
        }
        Ok((bytes, kind))
    }
}

/// A live-photo upload, borrowing the base64 text from the request body (no copy).
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct PhotoUpload<'a> {
    pub client_id: Option<String>,
    #[serde(borrow)]
    pub data: Option<std::borrow::Cow<'a, str>>,
    pub perform_liveness_check: Option<bool>,
}

/// A document-side upload, borrowing the base64 text.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct SideUpload<'a> {
    pub file_name: Option<String>,
    #[serde(borrow)]
    pub data: Option<std::borrow::Cow<'a, str>>,
}

/// Parses an upload body into `T`; when that fails, the field-by-field checks of `explain`
/// produce the precise error (which field, what is wrong).
pub(crate) fn parse_upload<'a, T: serde::Deserialize<'a>>(
    body: &'a Bytes,
    explain: impl FnOnce(&Map<String, Value>) -> ApiResult<()>,
) -> ApiResult<T> {
    match serde_json::from_slice::<T>(body) {
        Ok(t) => Ok(t),
        Err(e) => {
            let m = json_object(body)?;
            explain(&m)?;
            Err(ApiError::invalid(
                "field_type",
                format!("the request body does not have the expected fields: {e}"),
                None,
            ))
        }
    }
}

pub(crate) fn explain_fields(m: &Map<String, Value>, allowed: &[&str], strings: &[&str]) -> ApiResult<()> {
    reject_unknown(m, allowed)?;
    for f in strings {
        string_field(m, f, false)?;
    }
    Ok(())
}
