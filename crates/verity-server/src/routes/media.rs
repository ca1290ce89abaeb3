//! `/v1/livePhotos`, and what every stored capture shares: its files, the lock a check puts on
//! it (captures and documents a check used cannot change), deletion and redaction.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use base64::Engine as _;
use serde_json::{json, Map, Value};
use verity_store::Resource;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::files::key as file_key;
use crate::resources::kinds::{Check, Client, LivePhoto};
use crate::resources::{fetch, modify, new_resource, render, string_field, Internal, Kind};
use crate::routes::intake::{decode_upload, explain_fields, parse_upload, FileKind, PhotoUpload};
use crate::AppState;

pub(crate) async fn client_of(s: &AppState, tenant: &str, m: &Map<String, Value>) -> ApiResult<Resource> {
    let id = string_field(m, "clientId", true)?.unwrap_or_default();
    fetch::<Client>(s, tenant, &id).await
}

/// Deletes the stored files a resource points to ([`Internal::files`]) and the faces it left in the duplicate search's gallery.
pub async fn delete_files_of(s: &AppState, r: &Resource) -> ApiResult<()> {
    for k in Internal::of(r).files.values() {
        s.files.delete(k).await?;
    }
    crate::verification::gallery::forget_resource(s, r).await?;
    Ok(())
}

/// Whether a check has locked this capture or document (see `checks::create`).
pub(crate) fn locked(r: &Resource) -> bool {
    Internal::of(r).in_use
}

/// Whether a check uses the resource: its lock, or (for rows from before locks) a check naming it.
pub(crate) async fn in_use(s: &AppState, r: &Resource, field: &str) -> ApiResult<bool> {
    Ok(locked(r) || used_by_checks(s, &r.tenant_id, field, &r.id).await? > 0)
}

/// `DELETE …/{id}` of a photo, video or document: deletes it and its files unless a check uses it
/// (`in_use_code`). A concurrent change (a check locking it meanwhile) is seen: the delete
/// applies only to the version checked.
pub(crate) async fn delete_if_unused<K: Kind>(
    s: &AppState,
    tenant: &str,
    check_field: &str,
    in_use_code: &'static str,
    id: &str,
) -> ApiResult<Resource> {
    let what = K::NOUN;
    for _ in 0..64 {
        let r = fetch::<K>(s, tenant, id).await?;
        if in_use(s, &r, check_field).await? {
            return Err(ApiError::invalid(
                in_use_code,
                format!("this {what} was used by a check and cannot be deleted"),
                None,
            ));
        }
        if s.store.delete_unchanged(&r).await? {
            delete_files_of(s, &r).await?;
            return Ok(r);
        }
    }
    Err(ApiError::Conflict(format!("the {what} is being changed by other requests: try again")))
}

pub(crate) async fn used_by_checks(s: &AppState, tenant: &str, field: &str, id: &str) -> ApiResult<u64> {
    let q = verity_store::ListQuery {
        filters: vec![(field.into(), id.into())],
        page: 1,
        page_size: 1,
        ..Default::default()
    };
    Ok(s.store.list(tenant, Check::KIND, &q).await?.total)
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
    let client = fetch::<Client>(&s, &caller.tenant_id, client_id).await?;
    let (bytes, kind) = decode_upload(&s, up.data.as_deref(), &[FileKind::Jpeg, FileKind::Png]).await?;
    let liveness = up.perform_liveness_check.unwrap_or(true);
    drop(up);
    drop(body);
    let mut r = new_resource::<LivePhoto>(&caller.tenant_id, Some(client.id.clone()), json!({}));
    let fk = file_key(&caller.tenant_id, "livePhotos", &r.id, "photo");
    s.files.put(&fk, &bytes).await?;
    r.body = json!({
        "clientId": client.id,
        "downloadLink": format!("/livePhotos/{}/download", r.id),
        "contentType": kind.content_type(),
        "size": bytes.len(),
        "performLivenessCheck": liveness,
    });
    Internal::update(&mut r, |i| {
        i.files.insert("photo".into(), fk);
    });
    s.store.insert(&r).await?;
    crate::hosted::retention::schedule_resource(&s, &r.tenant_id, LivePhoto::KIND, &r.id).await?;
    Ok((StatusCode::CREATED, Json(render(&r))))
}

/// `GET …/{id}/download` of a resource holding one file: `{id, contentType, size, data}`.
pub async fn download_single<K: Kind>(
    s: &AppState,
    tenant: &str,
    file: &str,
    id: &str,
) -> ApiResult<Json<Value>> {
    let r = fetch::<K>(s, tenant, id).await?;
    let k = Internal::of(&r).files.remove(file).ok_or(ApiError::NotFound { what: "file (redacted)" })?;
    let bytes = s.files.get(&k).await?;
    Ok(Json(json!({
        "id": r.id,
        "contentType": r.body["contentType"],
        "size": bytes.len(),
        "data": base64::engine::general_purpose::STANDARD.encode(&bytes),
    })))
}

/// `POST …/{id}/redact`: erases the personal data of a resource (its files and, for a document,
/// its images) and keeps the record, marked `redacted`. A check that used it keeps its result;
/// its images show as redacted. Irreversible.
pub async fn redact<K: Kind>(s: &AppState, tenant: &str, id: &str) -> ApiResult<Value> {
    let mut erased = Vec::new();
    let r = modify::<K, _>(s, tenant, id, |r| {
        Internal::update(r, |i| erased = std::mem::take(&mut i.files).into_values().collect());
        if let Some(b) = r.body.as_object_mut() {
            if b.contains_key("images") {
                b.insert("images".into(), json!([]));
            }
            b.remove("downloadLink");
            b.insert("redacted".into(), json!(true));
        }
        Ok(())
    })
    .await?;
    for k in &erased {
        s.files.delete(k).await?;
    }
    crate::verification::gallery::forget_resource(s, &r).await?;
    Ok(render(&r))
}

pub async fn redact_live_photo(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    Ok(Json(redact::<LivePhoto>(&s, &caller.tenant_id, &id).await?))
}

pub async fn download_live_photo(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    download_single::<LivePhoto>(&s, &caller.tenant_id, "photo", &id).await
}

pub async fn delete_live_photo(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    delete_if_unused::<LivePhoto>(&s, &caller.tenant_id, "livePhotoId", "live_photo_in_use", &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
