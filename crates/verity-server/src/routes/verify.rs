//! `/v1/identity/verify`: one request in (document front/back, selfie), one decision out. The
//! request is checked and its images stored with a `pending` verification before anything
//! runs; a sync request then runs the pipeline in place and answers the finished verification
//! (or `pending`, 202, past `verification.sync_budget_ms`); an async one answers `pending` at
//! once and the job queue runs it. Either way a `run_verification` job is queued, so a
//! verification whose process dies mid-run is still finished.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use crate::auth::Caller;
use crate::error::ApiResult;
use crate::jobs;
use crate::resources::{fetch, list_query, Kind};
use crate::verification::request::{self, Mode};
use crate::verification::run::{self, Images, RunVerification};
use crate::verification::{self as v, Verification};
use crate::AppState;

/// `POST /v1/identity/verify`.
pub async fn create(State(s): State<AppState>, caller: Caller, body: Bytes) -> ApiResult<Response> {
    let sub = request::parse(&s, &body).await?;
    drop(body);
    let mut r = v::pending(&caller.tenant_id, &sub);
    v::store(&s, &mut r, &sub).await?;
    crate::hosted::retention::schedule_resource(&s, &r.tenant_id, Verification::KIND, &r.id).await?;
    let pending =
        |r: &verity_store::Resource| (StatusCode::ACCEPTED, Json(Verification::render(r))).into_response();
    if sub.mode == Mode::Async {
        let job = RunVerification { tenant_id: r.tenant_id.clone(), verification_id: r.id.clone() };
        jobs::enqueue(&s, &job, RunVerification::MAX_ATTEMPTS).await?;
        s.wake.notify_waiters();
        return Ok(pending(&r));
    }
    let images = Images { front: sub.front, back: sub.back, selfie: sub.selfie, video: None };
    let done = run::in_place(&s, &r, images).await?;
    if done.body["status"] == "pending" {
        return Ok(pending(&done));
    }
    Ok(Json(Verification::render(&done)).into_response())
}

/// `GET /v1/identity/verify`: `page`, `page_size`, `created_after`, `created_before` and
/// equality filters on `status`, `document_type`, `country`, `risk_level`, `mode`.
pub async fn list(
    State(s): State<AppState>,
    caller: Caller,
    Query(params): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    let renamed: HashMap<String, String> = params
        .into_iter()
        .map(|(k, val)| {
            let k = match k.as_str() {
                "page_size" => "pageSize".to_string(),
                "created_after" => "createdAfter".to_string(),
                "created_before" => "createdBefore".to_string(),
                "updated_after" => "updatedAfter".to_string(),
                "updated_before" => "updatedBefore".to_string(),
                _ => k,
            };
            (k, val)
        })
        .collect();
    let q = list_query(&renamed, Verification::FILTERS)?;
    let page = s.store.list(&caller.tenant_id, Verification::KIND, &q).await?;
    let seen = u64::from(q.page - 1) * u64::from(q.page_size) + page.items.len() as u64;
    Ok(Json(json!({
        "object": "list",
        "data": page.items.iter().map(Verification::render).collect::<Vec<_>>(),
        "page": q.page,
        "page_size": q.page_size,
        "total": page.total,
        "has_more": seen < page.total,
    })))
}

/// `DELETE /v1/identity/verify/{id}`: the verification and its images.
pub async fn delete(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let r = fetch::<Verification>(&s, &caller.tenant_id, &id).await?;
    v::delete_files(&s, &r).await?;
    s.store.delete(&caller.tenant_id, Verification::KIND, &r.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v1/identity/verify/{id}/deliveries`.
pub async fn deliveries(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let r = fetch::<Verification>(&s, &caller.tenant_id, &id).await?;
    let ds = s.store.deliveries(&caller.tenant_id, &r.id).await?;
    Ok(Json(v::webhook::deliveries_json(&ds)))
}

/// Sends a verification's delivery again (the same event, to its `webhook_url`, or a hosted
/// check's result to the partner's webhook).
pub async fn redeliver(
    State(s): State<AppState>,
    caller: Caller,
    Path((id, delivery)): Path<(String, String)>,
) -> ApiResult<(axum::http::StatusCode, Json<Value>)> {
    let r = fetch::<Verification>(&s, &caller.tenant_id, &id).await?;
    let event = v::webhook::redeliver(&s, &r, &delivery).await?;
    Ok((
        axum::http::StatusCode::ACCEPTED,
        Json(serde_json::json!({"queued": true, "event_id": format!("evt_{event}")})),
    ))
}
