//! `/v1/documents` and their front and back images.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use base64::Engine as _;
use serde_json::{json, Map, Value};
use verity_store::time::{format_ms, now_ms};

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::files::key as file_key;
use crate::resources::kinds::Document;
use crate::resources::{
    fetch, json_object, merge_patch, modify, new_resource, reject_unknown, render, string_field, Internal,
};
use crate::routes::intake::{decode_upload, explain_fields, parse_upload, FileKind, SideUpload};
use crate::routes::media::{client_of, delete_if_unused, locked, redact, used_by_checks};
use crate::{events, AppState};

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
        if verity_mrz::CountryCode::parse(&c).is_none() {
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
    let r = new_resource::<Document>(&caller.tenant_id, Some(client.id), Value::Object(out));
    s.store.insert(&r).await?;
    crate::hosted::retention::schedule_resource(
        &s,
        &r.tenant_id,
        <Document as crate::resources::Kind>::KIND,
        &r.id,
    )
    .await?;
    let rendered = render(&r);
    events::emit::<Document>(&s, &caller.tenant_id, "created", rendered.clone()).await?;
    Ok((StatusCode::CREATED, Json(rendered)))
}

pub async fn update_document(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let m = json_object(&body)?;
    let mut patch = Map::new();
    document_fields(&m, &mut patch, false)?;
    let current = fetch::<Document>(&s, &caller.tenant_id, &id).await?;
    let legacy_use = used_by_checks(&s, &caller.tenant_id, "documentId", &id).await? > 0;
    let r = modify::<Document, _>(&s, &caller.tenant_id, &current.id, |r| {
        let changes_evidence =
            ["type", "issuingCountry"].iter().any(|k| patch.get(*k).is_some_and(|v| *v != r.body[*k]));
        if changes_evidence && (locked(r) || legacy_use) {
            return Err(ApiError::invalid(
                "document_in_use",
                "this document was used by a check: its type and issuing country cannot change",
                None,
            ));
        }
        if let Value::Object(b) = &mut r.body {
            merge_patch(b, patch.clone());
        }
        Ok(())
    })
    .await?;
    let rendered = render(&r);
    events::emit::<Document>(&s, &caller.tenant_id, "updated", rendered.clone()).await?;
    Ok(Json(rendered))
}

pub async fn delete_document(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    delete_if_unused::<Document>(&s, &caller.tenant_id, "documentId", "document_in_use", &id).await?;
    events::emit::<Document>(&s, &caller.tenant_id, "deleted", json!({"id": id})).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A side of a document, parsed from the path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Front,
    Back,
}

impl Side {
    fn parse(side: &str) -> ApiResult<Self> {
        match side {
            "front" => Ok(Side::Front),
            "back" => Ok(Side::Back),
            _ => Err(ApiError::bad(
                "side_invalid",
                format!("document side {side:?}: front or back"),
                Some("side"),
            )),
        }
    }

    /// Its name in the API (`documentSide`) and among the document's files.
    fn as_str(self) -> &'static str {
        match self {
            Side::Front => "front",
            Side::Back => "back",
        }
    }
}

pub async fn upload_side(
    State(s): State<AppState>,
    caller: Caller,
    Path((id, side)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let side = Side::parse(&side)?.as_str();
    let r = fetch::<Document>(&s, &caller.tenant_id, &id).await?;
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
    // Each upload is a new file: a concurrent upload or delete of the side never removes the
    // file the document ends up pointing to.
    let fk = file_key(&caller.tenant_id, "documents", &r.id, &format!("{side}-{image_id}"));
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
    let legacy_use = used_by_checks(&s, &caller.tenant_id, "documentId", &r.id).await? > 0;
    let mut replaced = None;
    let written = modify::<Document, _>(&s, &caller.tenant_id, &r.id, |r| {
        if locked(r) || legacy_use {
            return Err(side_in_use());
        }
        let body = r.body.as_object_mut().ok_or_else(|| ApiError::Internal("document body".into()))?;
        let images = body.entry("images").or_insert_with(|| json!([]));
        if let Value::Array(a) = images {
            a.retain(|i| i["documentSide"] != side);
            a.push(image.clone());
        }
        Internal::update(r, |i| replaced = i.files.insert(side.to_string(), fk.clone()));
        Ok(())
    })
    .await;
    match written {
        Ok(_) => {
            if let Some(old) = replaced.filter(|old| *old != fk) {
                s.files.delete(&old).await?;
            }
            Ok((StatusCode::CREATED, Json(image)))
        }
        Err(e) => {
            s.files.delete(&fk).await?;
            Err(e)
        }
    }
}

fn side_in_use() -> ApiError {
    ApiError::invalid(
        "document_in_use",
        "this document was used by a check: its images cannot be replaced or deleted",
        None,
    )
}

pub async fn download_side(
    State(s): State<AppState>,
    caller: Caller,
    Path((id, side)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let side = Side::parse(&side)?.as_str();
    let r = fetch::<Document>(&s, &caller.tenant_id, &id).await?;
    let k = Internal::of(&r).files.remove(side).ok_or(ApiError::NotFound { what: "document image" })?;
    let bytes = s.files.get(&k).await?;
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
    let side = Side::parse(&side)?.as_str();
    let current = fetch::<Document>(&s, &caller.tenant_id, &id).await?;
    let legacy_use = used_by_checks(&s, &caller.tenant_id, "documentId", &current.id).await? > 0;
    let mut removed = None;
    modify::<Document, _>(&s, &caller.tenant_id, &current.id, |r| {
        let Some(k) = Internal::of(r).files.get(side).cloned() else {
            return Err(ApiError::NotFound { what: "document image" });
        };
        if locked(r) || legacy_use {
            return Err(side_in_use());
        }
        if let Some(b) = r.body.as_object_mut() {
            if let Some(Value::Array(a)) = b.get_mut("images") {
                a.retain(|i| i["documentSide"] != side);
            }
        }
        Internal::update(r, |i| {
            i.files.remove(side);
        });
        removed = Some(k);
        Ok(())
    })
    .await?;
    if let Some(k) = removed {
        s.files.delete(&k).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

pub async fn redact_document(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    // ComplyCube's redaction request may name fields; Verity erases every image either way.
    if !body.is_empty() {
        json_object(&body)?;
    }
    let out = redact::<Document>(&s, &caller.tenant_id, &id).await?;
    events::emit::<Document>(&s, &caller.tenant_id, "updated", out.clone()).await?;
    Ok(Json(out))
}
