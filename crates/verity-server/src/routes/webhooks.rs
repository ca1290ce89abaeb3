//! `/v1/webhooks`: endpoints, their events, and a delivery log. The signing secret is shown
//! only in the response that creates the webhook.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Map, Value};

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::events::{EventType, ALL_EVENTS, EVENT_TYPES};
use crate::resources::kinds::Webhook;
use crate::resources::{
    fetch, json_object, merge_patch, modify, new_resource, reject_unknown, render, string_field, Internal,
    Kind,
};
use crate::AppState;

/// Refuses a URL that is malformed or reaches an internal address (see `outbound`). The name
/// is resolved off the async threads, for 3 s at most (a name that does not resolve in time is
/// checked again at each delivery).
pub(crate) async fn check_url(s: &AppState, url: &str, param: &str) -> ApiResult<()> {
    let ok = (url.starts_with("https://") || url.starts_with("http://"))
        && url.len() <= 2048
        && !url.contains(char::is_whitespace);
    if !ok {
        return Err(ApiError::invalid(
            "field_invalid",
            format!("`{param}` must be an http(s) URL"),
            Some(param),
        ));
    }
    let (policy, u) = (s.outbound.clone(), url.to_string());
    let check = tokio::task::spawn_blocking(move || crate::outbound::check_url(&u, &policy));
    match tokio::time::timeout(std::time::Duration::from_secs(3), check).await {
        Ok(Ok(Err(refusal))) => {
            let code = match refusal {
                crate::outbound::Refusal::Internal => "url_not_allowed",
                crate::outbound::Refusal::Malformed => "field_invalid",
            };
            Err(ApiError::invalid(code, refusal.to_string(), Some(param)))
        }
        _ => Ok(()),
    }
}

fn fields(m: &Map<String, Value>, out: &mut Map<String, Value>, creating: bool) -> ApiResult<()> {
    reject_unknown(m, &["url", "enabled", "events", "description"])?;
    if let Some(url) = string_field(m, "url", creating)? {
        out.insert("url".into(), json!(url));
    }
    match m.get("enabled") {
        None if creating => {
            out.insert("enabled".into(), json!(true));
        }
        None => {}
        Some(Value::Bool(b)) => {
            out.insert("enabled".into(), json!(b));
            if *b {
                out.insert("disabledReason".into(), Value::Null);
            }
        }
        Some(_) => {
            return Err(ApiError::invalid("field_type", "`enabled` must be a boolean", Some("enabled")))
        }
    }
    match m.get("events") {
        None if creating => {
            return Err(ApiError::invalid("field_required", "`events` is required", Some("events")))
        }
        None => {}
        Some(Value::Array(a)) if !a.is_empty() => {
            let mut evs = Vec::new();
            for e in a {
                let name = e.as_str().unwrap_or_default();
                if name != ALL_EVENTS && EventType::complycube(name).is_none() {
                    return Err(ApiError::invalid(
                        "field_invalid",
                        format!(
                            "unknown event type {e}; known: {}, or \"*\" for all",
                            EVENT_TYPES.join(", ")
                        ),
                        Some("events"),
                    ));
                }
                evs.push(json!(name));
            }
            out.insert("events".into(), Value::Array(evs));
        }
        Some(_) => {
            return Err(ApiError::invalid(
                "field_invalid",
                "`events` must be a non-empty list of event types",
                Some("events"),
            ))
        }
    }
    if let Some(d) = string_field(m, "description", false)? {
        out.insert("description".into(), json!(d));
    }
    Ok(())
}

pub async fn create(
    State(s): State<AppState>,
    caller: Caller,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let m = json_object(&body)?;
    let mut out = Map::new();
    fields(&m, &mut out, true)?;
    check_url(&s, out["url"].as_str().unwrap_or_default(), "url").await?;
    let q = verity_store::ListQuery { page: 1, page_size: 1, ..Default::default() };
    let max = s.config.webhooks.max_per_tenant;
    if s.store.list(&caller.tenant_id, Webhook::KIND, &q).await?.total >= max {
        return Err(ApiError::invalid(
            "webhook_limit_reached",
            format!("a tenant may have at most {max} webhooks: delete one first"),
            None,
        ));
    }
    let secret = crate::ids::new_webhook_secret();
    let mut r = new_resource::<Webhook>(&caller.tenant_id, None, Value::Object(out));
    Internal { secret: Some(secret.clone()), ..Internal::default() }.store_in(&mut r);
    s.store.insert(&r).await?;
    let mut shown = render(&r);
    shown["secret"] = json!(secret);
    Ok((StatusCode::CREATED, Json(shown)))
}

pub async fn update(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let m = json_object(&body)?;
    let mut patch = Map::new();
    fields(&m, &mut patch, false)?;
    if let Some(url) = patch.get("url").and_then(Value::as_str) {
        check_url(&s, url, "url").await?;
    }
    let r = modify::<Webhook, _>(&s, &caller.tenant_id, &id, |r| {
        if let Value::Object(b) = &mut r.body {
            merge_patch(b, patch.clone());
        }
        Ok(())
    })
    .await?;
    Ok(Json(render(&r)))
}

pub async fn delete(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    fetch::<Webhook>(&s, &caller.tenant_id, &id).await?;
    s.store.delete(&caller.tenant_id, Webhook::KIND, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The last 100 delivery attempts, newest first.
pub async fn deliveries(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    fetch::<Webhook>(&s, &caller.tenant_id, &id).await?;
    let ds = s.store.deliveries(&caller.tenant_id, &id).await?;
    let items: Vec<Value> = ds
        .iter()
        .map(|d| {
            json!({
                "id": d.id, "eventId": d.event_id, "attempt": d.attempt, "statusCode": d.status_code,
                "error": d.error, "createdAt": verity_store::time::format_ms(d.created_at),
                "latencyMs": d.latency_ms, "nextRetryAt": d.next_retry_at.map(verity_store::time::format_ms),
            })
        })
        .collect();
    Ok(Json(json!({"items": items})))
}

/// Sends a delivery's event again (a new series of attempts, the same event id).
pub async fn redeliver(
    State(s): State<AppState>,
    caller: Caller,
    Path((id, delivery)): Path<(String, String)>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let event = crate::events::redeliver(&s, &caller.tenant_id, &id, &delivery).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({"queued": true, "eventId": event}))))
}
