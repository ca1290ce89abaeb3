//! `/v1/checks`. Checks are created `pending` with their evidence locked, run by a worker
//! ([`crate::run_check::RunCheck`]), and end `complete` (with `result.outcome` clear |
//! attention | not_processed and the reasons) or `failed`. A reviewer may then validate them.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Map, Value};
use verity_checks::document::KNOWN_COVERAGE;
use verity_checks::{CheckKind, Input};
use verity_store::time::now_ms;
use verity_store::Resource;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::resources::kinds::{self, Check, Client, LivePhoto, LiveVideo};
use crate::resources::{fetch, json_object, modify, new_resource, reject_unknown, render, string_field};
use crate::resources::{Internal, Kind};
use crate::run_check::RunCheck;
use crate::{events, AppState};

/// The keys `options` may have.
const OPTIONS: &[&str] = &["challenges", "analysisCoverage", "minimumPermittedAge", "clientDataValidation"];

/// The check types offered, by name.
pub(crate) fn supported() -> Vec<&'static str> {
    CheckKind::ALL.iter().map(|k| k.name()).collect()
}

async fn owned<K: Kind>(
    s: &AppState,
    tenant: &str,
    field: &str,
    m: &Map<String, Value>,
    client: &str,
) -> ApiResult<Resource> {
    let id = string_field(m, field, true)?.unwrap_or_default();
    let r = fetch::<K>(s, tenant, &id).await?;
    if r.client_id.as_deref() != Some(client) {
        return Err(ApiError::invalid(
            "resource_mismatch",
            format!("`{field}` belongs to another client"),
            Some(field),
        ));
    }
    Ok(r)
}

pub async fn create(
    State(s): State<AppState>,
    caller: Caller,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let m = json_object(&body)?;
    reject_unknown(
        &m,
        &["clientId", "type", "livePhotoId", "documentId", "liveVideoId", "options", "enableMonitoring"],
    )?;
    let name = string_field(&m, "type", true)?.unwrap_or_default();
    let Some(kind) = CheckKind::parse(&name) else {
        let offered = supported().join(", ");
        let why = if CheckKind::KNOWN_UNSUPPORTED.contains(&name.as_str()) {
            format!("{name} is not offered by this server (supported: {offered})")
        } else {
            format!("unknown check type {name:?} (supported: {offered})")
        };
        return Err(ApiError::invalid("check_type_unsupported", why, Some("type")));
    };
    let client_id = string_field(&m, "clientId", true)?.unwrap_or_default();
    let client = fetch::<Client>(&s, &caller.tenant_id, &client_id).await?;
    if client.body["type"] != "person" {
        // Every supported check compares a person's face or reads a person's identity document.
        return Err(ApiError::invalid(
            "client_not_person",
            format!("{name} needs a client of type person"),
            Some("clientId"),
        ));
    }
    let mut out = Map::new();
    out.insert("clientId".into(), json!(client.id));
    out.insert("entityName".into(), client.body["entityName"].clone());
    out.insert("type".into(), json!(kind.name()));
    if kind.needs(Input::LivePhoto) {
        let p = owned::<LivePhoto>(&s, &caller.tenant_id, "livePhotoId", &m, &client.id).await?;
        out.insert("livePhotoId".into(), json!(p.id));
    }
    if kind.needs(Input::LiveVideo) {
        let v = owned::<LiveVideo>(&s, &caller.tenant_id, "liveVideoId", &m, &client.id).await?;
        out.insert("liveVideoId".into(), json!(v.id));
    }
    if kind.needs(Input::Document) {
        let d = owned::<kinds::Document>(&s, &caller.tenant_id, "documentId", &m, &client.id).await?;
        if !Internal::of(&d).files.contains_key("front") {
            return Err(ApiError::invalid(
                "document_image_missing",
                "the document has no front image: upload it first",
                Some("documentId"),
            ));
        }
        out.insert("documentId".into(), json!(d.id));
    }

    match m.get("options") {
        None | Some(Value::Null) => {}
        Some(Value::Object(o)) => {
            if let Some(k) = o.keys().find(|k| !OPTIONS.contains(&k.as_str())) {
                let p = format!("options.{k}");
                return Err(ApiError::invalid(
                    "field_unknown",
                    format!("unknown option `{k}`: {}", OPTIONS.join(", ")),
                    Some(&p),
                ));
            }
            if let Some(ch) = o.get("challenges") {
                let names = ch.as_array().ok_or_else(|| {
                    ApiError::invalid(
                        "field_type",
                        "`options.challenges` must be a list",
                        Some("options.challenges"),
                    )
                })?;
                for n in names {
                    if n.as_str().and_then(verity_liveness::Challenge::parse).is_none() {
                        return Err(ApiError::invalid(
                            "field_invalid",
                            format!("unknown challenge {n}: turn_left, turn_right, look_up, look_down, smile, move_closer"),
                            Some("options.challenges"),
                        ));
                    }
                }
            }
            if let Some(cov) = o.get("analysisCoverage") {
                let list = cov.as_array().ok_or_else(|| {
                    ApiError::invalid(
                        "field_type",
                        "`options.analysisCoverage` must be a list",
                        Some("options.analysisCoverage"),
                    )
                })?;
                for n in list {
                    if !n.as_str().is_some_and(|n| KNOWN_COVERAGE.contains(&n)) {
                        return Err(ApiError::invalid(
                            "field_invalid",
                            format!("unknown analysis {n}: {}", KNOWN_COVERAGE.join(", ")),
                            Some("options.analysisCoverage"),
                        ));
                    }
                }
            }
            if let Some(age) = o.get("minimumPermittedAge") {
                if age.as_u64().is_none_or(|a| a > 130) {
                    return Err(ApiError::invalid(
                        "field_invalid",
                        "`options.minimumPermittedAge` must be a whole number of years (0–130)",
                        Some("options.minimumPermittedAge"),
                    ));
                }
            }
            if o.get("clientDataValidation").is_some_and(|v| !v.is_boolean()) {
                return Err(ApiError::invalid(
                    "field_type",
                    "`options.clientDataValidation` must be a boolean",
                    Some("options.clientDataValidation"),
                ));
            }
            out.insert("options".into(), Value::Object(o.clone()));
        }
        Some(_) => {
            return Err(ApiError::invalid("field_type", "`options` must be an object", Some("options")))
        }
    }
    match m.get("enableMonitoring") {
        None | Some(Value::Null) => {}
        Some(Value::Bool(b)) => {
            out.insert("enableMonitoring".into(), json!(b));
        }
        Some(_) => {
            return Err(ApiError::invalid(
                "field_type",
                "`enableMonitoring` must be a boolean",
                Some("enableMonitoring"),
            ))
        }
    }
    out.insert("status".into(), json!("pending"));
    // The evidence is locked before the check exists: from now on its files and the document's
    // type and country cannot change (`document_in_use`), so the check judges what was sent.
    if let Some(id) = out.get("livePhotoId").and_then(Value::as_str) {
        lock::<LivePhoto>(&s, &caller.tenant_id, id).await?;
    }
    if let Some(id) = out.get("liveVideoId").and_then(Value::as_str) {
        lock::<LiveVideo>(&s, &caller.tenant_id, id).await?;
    }
    if let Some(id) = out.get("documentId").and_then(Value::as_str) {
        lock::<kinds::Document>(&s, &caller.tenant_id, id).await?;
    }
    let r = new_resource::<Check>(&caller.tenant_id, Some(client.id), Value::Object(out));
    s.store.insert(&r).await?;
    let job = RunCheck { tenant_id: caller.tenant_id.clone(), check_id: r.id.clone() };
    crate::jobs::enqueue(&s, &job, RunCheck::MAX_ATTEMPTS).await?;
    let rendered = render(&r);
    events::emit::<Check>(&s, &caller.tenant_id, "pending", rendered.clone()).await?;
    s.wake.notify_waiters();
    Ok((StatusCode::CREATED, Json(rendered)))
}

/// Marks a capture or document as used by a check (see [`Internal::in_use`]); a document must
/// still have its front image.
async fn lock<K: Kind>(s: &AppState, tenant: &str, id: &str) -> ApiResult<()> {
    modify::<K, _>(s, tenant, id, |r| {
        let mut internal = Internal::of(r);
        if K::KIND == kinds::Document::KIND && !internal.files.contains_key("front") {
            return Err(ApiError::invalid(
                "document_image_missing",
                "the document has no front image: upload it first",
                Some("documentId"),
            ));
        }
        internal.in_use = true;
        internal.store_in(r);
        Ok(())
    })
    .await?;
    Ok(())
}

pub async fn update(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let m = json_object(&body)?;
    if let Some(k) = m.keys().find(|k| k.as_str() != "enableMonitoring") {
        return Err(ApiError::invalid(
            "field_not_updatable",
            format!("`{k}` cannot be changed on a check"),
            Some(k),
        ));
    }
    let monitoring = match m.get("enableMonitoring") {
        None => None,
        Some(v) => Some(v.as_bool().ok_or_else(|| {
            ApiError::invalid("field_type", "`enableMonitoring` must be a boolean", Some("enableMonitoring"))
        })?),
    };
    let r = modify::<Check, _>(&s, &caller.tenant_id, &id, |r| {
        if let Some(b) = monitoring {
            r.body["enableMonitoring"] = json!(b);
        }
        Ok(())
    })
    .await?;
    let rendered = render(&r);
    events::emit::<Check>(&s, &caller.tenant_id, "updated", rendered.clone()).await?;
    Ok(Json(rendered))
}

/// The outcomes a reviewer may give (ComplyCube's SDKs send `confirmed`; `clear` is its
/// synonym in ComplyCube's check outcomes).
pub(crate) const VALIDATION_OUTCOMES: &[&str] = &["clear", "confirmed", "attention", "rejected"];

/// Records a reviewer's outcome on a completed check (the API's `validate`, the dashboard's
/// review with its `review` details: reviewer and comment) and emits `check.updated`.
pub(crate) async fn record_validation(
    s: &AppState,
    tenant: &str,
    id: &str,
    outcome: &str,
    review: Option<Value>,
) -> ApiResult<verity_store::Resource> {
    let r = modify::<Check, _>(s, tenant, id, |r| {
        if r.body["status"] != "complete" {
            return Err(ApiError::invalid(
                "check_not_complete",
                "only a complete check can be validated",
                None,
            ));
        }
        let mut v = json!({"outcome": outcome, "validatedAt": verity_store::time::format_ms(now_ms())});
        if let Some(review) = &review {
            v["review"] = review.clone();
        }
        r.body["validation"] = v;
        Ok(())
    })
    .await?;
    events::emit::<Check>(s, tenant, "updated", render(&r)).await?;
    Ok(r)
}

/// A reviewer's outcome for a completed check.
pub async fn validate(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let m = json_object(&body)?;
    reject_unknown(&m, &["outcome"])?;
    let outcome = string_field(&m, "outcome", true)?.unwrap_or_default();
    if !VALIDATION_OUTCOMES.contains(&outcome.as_str()) {
        return Err(ApiError::invalid(
            "field_invalid",
            format!("`outcome` must be one of {}", VALIDATION_OUTCOMES.join(", ")),
            Some("outcome"),
        ));
    }
    let r = record_validation(&s, &caller.tenant_id, &id, &outcome, None).await?;
    Ok(Json(json!({"id": r.id, "outcome": outcome})))
}
