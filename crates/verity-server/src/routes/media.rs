//! `/v1/livePhotos` and `/v1/documents` (with their front/back images): base64 uploads checked
//! at the edge (base64, size 34 KB–4 MB, format by content, a decodable image), stored
//! encrypted, downloadable as base64.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use base64::Engine as _;
use serde_json::{json, Map, Value};
use verity_store::time::{format_ms, now_ms};
use verity_store::Resource;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::files::key as file_key;
use crate::resources::{fetch, json_object, list_of, new_resource, reject_unknown, render, string_field};
use crate::{events, AppState};

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
    let lim = &s.config.limits;
    let Some(text) = data else {
        return Err(ApiError::invalid(
            "field_required",
            "`data` is required (base64 file content)",
            Some("data"),
        ));
    };
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
    if compact.len() / 4 * 3 > lim.image_max_bytes + 3 {
        return Err(ApiError::too_large(
            "file_too_large",
            format!("the file is larger than {} bytes", lim.image_max_bytes),
            Some("data"),
        ));
    }
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
    );
    let bytes = engine
        .decode(compact.as_bytes())
        .or_else(|_| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(compact.trim_end_matches('=').as_bytes())
        })
        .map_err(|e| {
            ApiError::bad("base64_invalid", format!("`data` is not valid base64: {e}"), Some("data"))
        })?;
    if bytes.len() > lim.image_max_bytes {
        return Err(ApiError::too_large(
            "file_too_large",
            format!("the file is {} bytes; the limit is {}", bytes.len(), lim.image_max_bytes),
            Some("data"),
        ));
    }
    if bytes.len() < lim.image_min_bytes {
        return Err(ApiError::invalid(
            "file_too_small",
            format!("the file is {} bytes; at least {} are required", bytes.len(), lim.image_min_bytes),
            Some("data"),
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
            format!("the file is not one of: {}", names.join(", ")),
            Some("data"),
        ));
    };
    if !allowed.contains(&kind) {
        let names: Vec<&str> = allowed.iter().map(|k| k.content_type()).collect();
        return Err(ApiError::invalid(
            "file_format_unsupported",
            format!("{} is not accepted here; send {}", kind.content_type(), names.join(" or ")),
            Some("data"),
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
            return Err(ApiError::invalid(e.code(), e.to_string(), Some("data")));
        }
        Ok((bytes, kind))
    }
}

/// A live-photo upload, borrowing the base64 text from the request body (no copy).
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct PhotoUpload<'a> {
    client_id: Option<String>,
    #[serde(borrow)]
    data: Option<std::borrow::Cow<'a, str>>,
    perform_liveness_check: Option<bool>,
}

/// A document-side upload, borrowing the base64 text.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct SideUpload<'a> {
    file_name: Option<String>,
    #[serde(borrow)]
    data: Option<std::borrow::Cow<'a, str>>,
}

/// Parses an upload body into `T`; when that fails, the field-by-field checks of `explain`
/// produce the precise error (which field, what is wrong).
fn parse_upload<'a, T: serde::Deserialize<'a>>(
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

fn explain_fields(m: &Map<String, Value>, allowed: &[&str], strings: &[&str]) -> ApiResult<()> {
    reject_unknown(m, allowed)?;
    for f in strings {
        string_field(m, f, false)?;
    }
    Ok(())
}

pub(crate) async fn client_of(s: &AppState, tenant: &str, m: &Map<String, Value>) -> ApiResult<Resource> {
    let id = string_field(m, "clientId", true)?.unwrap_or_default();
    fetch(s, tenant, "client", "client", &id).await
}

/// Deletes the stored files a resource points to (`_files`: name → key).
pub async fn delete_files_of(s: &AppState, r: &Resource) -> ApiResult<()> {
    if let Some(files) = r.body.get("_files").and_then(Value::as_object) {
        for k in files.values().filter_map(Value::as_str) {
            s.files.delete(k).await?;
        }
    }
    Ok(())
}

async fn used_by_checks(s: &AppState, tenant: &str, field: &str, id: &str) -> ApiResult<u64> {
    let q = verity_store::ListQuery {
        filters: vec![(field.into(), id.into())],
        page: 1,
        page_size: 1,
        ..Default::default()
    };
    Ok(s.store.list(tenant, "check", &q).await?.total)
}

// ------------------------------------------------------------------ live photos

pub async fn create_live_photo(
    State(s): State<AppState>,
    caller: Caller,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let up: PhotoUpload<'_> = parse_upload(&body, |m| {
        explain_fields(m, &["clientId", "data", "performLivenessCheck"], &["clientId", "data"])?;
        if m.get("performLivenessCheck").is_some_and(|v| !v.is_boolean()) {
            return Err(ApiError::invalid(
                "field_type",
                "`performLivenessCheck` must be a boolean",
                Some("performLivenessCheck"),
            ));
        }
        Ok(())
    })?;
    let client_id = up.client_id.as_deref().filter(|c| !c.trim().is_empty());
    let Some(client_id) = client_id else {
        return Err(ApiError::invalid("field_required", "`clientId` is required", Some("clientId")));
    };
    let client = fetch(&s, &caller.tenant_id, "client", "client", client_id).await?;
    let (bytes, kind) = decode_upload(&s, up.data.as_deref(), &[FileKind::Jpeg, FileKind::Png]).await?;
    let liveness = up.perform_liveness_check.unwrap_or(true);
    drop(up);
    drop(body);
    let mut r = new_resource(&caller.tenant_id, "livePhoto", Some(client.id.clone()), json!({}));
    let fk = file_key(&caller.tenant_id, "livePhotos", &r.id, "photo");
    s.files.put(&fk, &bytes).await?;
    r.body = json!({
        "clientId": client.id,
        "downloadLink": format!("/livePhotos/{}/download", r.id),
        "contentType": kind.content_type(),
        "size": bytes.len(),
        "performLivenessCheck": liveness,
        "_files": {"photo": fk},
    });
    s.store.insert(&r).await?;
    Ok((StatusCode::CREATED, Json(render(&r))))
}

pub async fn get_live_photo(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    Ok(Json(render(&fetch(&s, &caller.tenant_id, "livePhoto", "live photo", &id).await?)))
}

/// `GET …/{id}/download` of a resource holding one file: `{id, contentType, size, data}`.
pub async fn download_single(
    s: &AppState,
    tenant: &str,
    kind: &'static str,
    what: &'static str,
    file: &str,
    id: &str,
) -> ApiResult<Json<Value>> {
    let r = fetch(s, tenant, kind, what, id).await?;
    let k =
        r.body["_files"][file].as_str().ok_or_else(|| ApiError::Internal(format!("{what} without file")))?;
    let bytes = s.files.get(k).await?;
    Ok(Json(json!({
        "id": r.id,
        "contentType": r.body["contentType"],
        "size": bytes.len(),
        "data": base64::engine::general_purpose::STANDARD.encode(&bytes),
    })))
}

/// `DELETE …/{id}` of a capture (photo, video) that no check has used; its files go with it.
pub async fn delete_unused(
    s: &AppState,
    tenant: &str,
    kind: &'static str,
    what: &'static str,
    check_field: &str,
    in_use_code: &'static str,
    id: &str,
) -> ApiResult<StatusCode> {
    let r = fetch(s, tenant, kind, what, id).await?;
    if used_by_checks(s, tenant, check_field, id).await? > 0 {
        return Err(ApiError::invalid(
            in_use_code,
            format!("this {what} was used by a check and cannot be deleted"),
            None,
        ));
    }
    delete_files_of(s, &r).await?;
    s.store.delete(tenant, kind, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn download_live_photo(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    download_single(&s, &caller.tenant_id, "livePhoto", "live photo", "photo", &id).await
}

pub async fn delete_live_photo(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    delete_unused(&s, &caller.tenant_id, "livePhoto", "live photo", "livePhotoId", "live_photo_in_use", &id)
        .await
}

pub async fn list_live_photos(
    State(s): State<AppState>,
    caller: Caller,
    Query(params): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    list_of(&s, &caller.tenant_id, "livePhoto", &params, &["contentType"]).await
}

// ------------------------------------------------------------------ documents

pub const DOCUMENT_TYPES: &[&str] = &[
    "passport",
    "driving_license",
    "national_identity_card",
    "residence_permit",
    "visa",
    "polling_card",
    "national_insurance_number",
    "social_security_number",
    "tax_identification_number",
    "birth_certificate",
    "bank_statement",
    "change_of_name",
    "tax_document",
    "company_confirmation_statement",
    "company_annual_accounts",
    "company_statement_of_capital",
    "company_change_of_address",
    "company_incorporation",
    "company_change_of_officers",
    "company_change_of_beneficial_owners",
    "unknown",
    "other",
];
pub(crate) const CLASSIFICATIONS: &[&str] = &[
    "proof_of_identity",
    "source_of_wealth",
    "source_of_funds",
    "proof_of_address",
    "company_filing",
    "other",
];

fn document_fields(m: &Map<String, Value>, out: &mut Map<String, Value>, creating: bool) -> ApiResult<()> {
    let allowed: &[&str] = if creating {
        &["clientId", "type", "classification", "issuingCountry"]
    } else {
        &["type", "classification", "issuingCountry"]
    };
    reject_unknown(m, allowed)?;
    if let Some(t) = string_field(m, "type", creating)? {
        if !DOCUMENT_TYPES.contains(&t.as_str()) {
            return Err(ApiError::invalid(
                "field_invalid",
                format!("`type` {t:?} is not a document type"),
                Some("type"),
            ));
        }
        out.insert("type".into(), json!(t));
    }
    if let Some(c) = string_field(m, "classification", false)? {
        if !CLASSIFICATIONS.contains(&c.as_str()) {
            return Err(ApiError::invalid(
                "field_invalid",
                format!("`classification` {c:?} is not a classification"),
                Some("classification"),
            ));
        }
        out.insert("classification".into(), json!(c));
    }
    if let Some(c) = string_field(m, "issuingCountry", false)? {
        if verity_mrz::iso_alpha2_name(&c).is_none() {
            return Err(ApiError::invalid(
                "field_invalid",
                "`issuingCountry` must be an ISO 3166-1 alpha-2 code",
                Some("issuingCountry"),
            ));
        }
        out.insert("issuingCountry".into(), json!(c));
    }
    Ok(())
}

pub async fn create_document(
    State(s): State<AppState>,
    caller: Caller,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let m = json_object(&body)?;
    let mut out = Map::new();
    document_fields(&m, &mut out, true)?;
    let client = client_of(&s, &caller.tenant_id, &m).await?;
    out.insert("clientId".into(), json!(client.id));
    out.insert("images".into(), json!([]));
    let r = new_resource(&caller.tenant_id, "document", Some(client.id), Value::Object(out));
    s.store.insert(&r).await?;
    let rendered = render(&r);
    events::emit(&s, &caller.tenant_id, "document.created", "document", rendered.clone()).await?;
    Ok((StatusCode::CREATED, Json(rendered)))
}

pub async fn get_document(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    Ok(Json(render(&fetch(&s, &caller.tenant_id, "document", "document", &id).await?)))
}

pub async fn update_document(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let mut r = fetch(&s, &caller.tenant_id, "document", "document", &id).await?;
    let m = json_object(&body)?;
    let mut patch = Map::new();
    document_fields(&m, &mut patch, false)?;
    if let Value::Object(b) = &mut r.body {
        b.extend(patch);
    }
    r.updated_at = now_ms();
    s.store.update(&r).await?;
    let rendered = render(&r);
    events::emit(&s, &caller.tenant_id, "document.updated", "document", rendered.clone()).await?;
    Ok(Json(rendered))
}

pub async fn delete_document(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let r = fetch(&s, &caller.tenant_id, "document", "document", &id).await?;
    if used_by_checks(&s, &caller.tenant_id, "documentId", &id).await? > 0 {
        return Err(ApiError::invalid(
            "document_in_use",
            "this document was used by a check and cannot be deleted",
            None,
        ));
    }
    delete_files_of(&s, &r).await?;
    s.store.delete(&caller.tenant_id, "document", &id).await?;
    events::emit(&s, &caller.tenant_id, "document.deleted", "document", json!({"id": id})).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn list_documents(
    State(s): State<AppState>,
    caller: Caller,
    Query(params): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    list_of(&s, &caller.tenant_id, "document", &params, &["type", "classification", "issuingCountry"]).await
}

fn side_of(side: &str) -> ApiResult<&'static str> {
    match side {
        "front" => Ok("front"),
        "back" => Ok("back"),
        _ => {
            Err(ApiError::bad("side_invalid", format!("document side {side:?}: front or back"), Some("side")))
        }
    }
}

pub async fn upload_side(
    State(s): State<AppState>,
    caller: Caller,
    Path((id, side)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let side = side_of(&side)?;
    let mut r = fetch(&s, &caller.tenant_id, "document", "document", &id).await?;
    let up: SideUpload<'_> =
        parse_upload(&body, |m| explain_fields(m, &["fileName", "data"], &["fileName", "data"]))?;
    let file_name = up.file_name.clone().filter(|f| !f.trim().is_empty());
    let Some(file_name) = file_name else {
        return Err(ApiError::invalid("field_required", "`fileName` is required", Some("fileName")));
    };
    if file_name.len() > 255 || file_name.contains(['/', '\\', '\0']) {
        return Err(ApiError::invalid(
            "field_invalid",
            "`fileName` must be a plain file name of at most 255 bytes",
            Some("fileName"),
        ));
    }
    let (bytes, kind) =
        decode_upload(&s, up.data.as_deref(), &[FileKind::Jpeg, FileKind::Png, FileKind::Pdf]).await?;
    drop(up);
    drop(body);
    let image_id = crate::ids::new_id();
    let fk = file_key(&caller.tenant_id, "documents", &r.id, side);
    s.files.put(&fk, &bytes).await?;
    let now = now_ms();
    let image = json!({
        "id": image_id,
        "fileName": file_name,
        "documentSide": side,
        "downloadLink": format!("/documents/{}/images/{}/download", r.id, image_id),
        "contentType": kind.content_type(),
        "size": bytes.len(),
        "createdAt": format_ms(now),
        "updatedAt": format_ms(now),
    });
    let body = r.body.as_object_mut().ok_or_else(|| ApiError::Internal("document body".into()))?;
    let images = body.entry("images").or_insert_with(|| json!([]));
    if let Value::Array(a) = images {
        a.retain(|i| i["documentSide"] != side);
        a.push(image.clone());
    }
    let files = body.entry("_files").or_insert_with(|| json!({}));
    files[side] = json!(fk);
    r.updated_at = now;
    s.store.update(&r).await?;
    Ok((StatusCode::CREATED, Json(image)))
}

pub async fn download_side(
    State(s): State<AppState>,
    caller: Caller,
    Path((id, side)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let side = side_of(&side)?;
    let r = fetch(&s, &caller.tenant_id, "document", "document", &id).await?;
    let k = r.body["_files"][side].as_str().ok_or(ApiError::NotFound { what: "document image" })?;
    let bytes = s.files.get(k).await?;
    let image = r.body["images"]
        .as_array()
        .and_then(|a| a.iter().find(|i| i["documentSide"] == side))
        .cloned()
        .unwrap_or(Value::Null);
    Ok(Json(json!({
        "id": image["id"],
        "fileName": image["fileName"],
        "documentSide": side,
        "contentType": image["contentType"],
        "size": bytes.len(),
        "data": base64::engine::general_purpose::STANDARD.encode(&bytes),
    })))
}

pub async fn delete_side(
    State(s): State<AppState>,
    caller: Caller,
    Path((id, side)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let side = side_of(&side)?;
    let mut r = fetch(&s, &caller.tenant_id, "document", "document", &id).await?;
    let Some(k) = r.body["_files"][side].as_str().map(str::to_string) else {
        return Err(ApiError::NotFound { what: "document image" });
    };
    s.files.delete(&k).await?;
    if let Some(b) = r.body.as_object_mut() {
        if let Some(Value::Array(a)) = b.get_mut("images") {
            a.retain(|i| i["documentSide"] != side);
        }
        if let Some(Value::Object(f)) = b.get_mut("_files") {
            f.remove(side);
        }
    }
    r.updated_at = now_ms();
    s.store.update(&r).await?;
    Ok(StatusCode::NO_CONTENT)
}
