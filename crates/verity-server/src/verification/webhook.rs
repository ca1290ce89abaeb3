//! The delivery of a finished verification to its `webhook_url`. The event (a stable id,
//! `evt_…`, the same on every attempt so the receiver can drop repeats) is stored once; each
//! attempt is signed afresh, logged, and retried with exponential back-off:
//!
//! ```text
//! Verity-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>
//! Verity-Event-Id: evt_…
//! ```
//!
//! The secret is the tenant's (`GET /v1/identity/settings`). The receiver recomputes the HMAC
//! over the timestamp, a dot and the raw body, compares in constant time and refuses a
//! timestamp older than a few minutes (a replayed delivery). The URL was checked when the
//! verification was made and its address is checked again at every attempt, after DNS
//! resolution (`outbound`).

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use verity_store::time::{format_ms, now_ms};
use verity_store::{Delivery, Event, Resource, StoreError};

use super::{settings, Verification};
use crate::events::EventType;
use crate::ids::new_id;
use crate::jobs::{self, Attempt, JobError, JobKind};
use crate::resources::{Internal, Kind};
use crate::AppState;

/// The delivery of one verification event.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliverVerification {
    pub tenant_id: String,
    pub verification_id: String,
    pub event_id: String,
}

impl JobKind for DeliverVerification {
    const NAME: &'static str = "deliver_verification";

    async fn run(self, s: &AppState, attempt: Attempt) -> Result<(), JobError> {
        deliver(s, &self, attempt).await
    }
}

/// The signature header's value for `body` sent at `t` (unix seconds).
pub fn signature(secret: &str, t: i64, body: &[u8]) -> String {
    let mut signed = format!("{t}.").into_bytes();
    signed.extend_from_slice(body);
    format!("t={t},v1={}", crate::events::sign(secret, &signed))
}

/// The exact bytes sent for an event.
pub fn event_body(e: &Event) -> Vec<u8> {
    json!({
        "id": format!("evt_{}", e.id),
        "object": "event",
        "type": e.event_type,
        "created_at": format_ms(e.created_at),
        "data": e.payload,
    })
    .to_string()
    .into_bytes()
}

/// Stores the event of a finished verification and queues its delivery (nothing without a
/// `webhook_url`).
pub async fn queue(s: &AppState, r: &Resource) -> Result<(), StoreError> {
    let event_type = if r.body["status"] == "error" {
        EventType::VERIFICATION_FAILED
    } else {
        EventType::VERIFICATION_COMPLETED
    };
    queue_event(s, r, event_type).await
}

/// Stores an event of a verification and queues its delivery (nothing without a
/// `webhook_url`).
pub async fn queue_event(s: &AppState, r: &Resource, event_type: EventType) -> Result<(), StoreError> {
    if r.body["webhook_url"].as_str().is_none() {
        return Ok(());
    }
    let e = Event {
        id: new_id(),
        tenant_id: r.tenant_id.clone(),
        event_type: event_type.as_str().into(),
        resource_type: Verification::KIND.into(),
        payload: Verification::render(r),
        created_at: now_ms(),
    };
    s.store.insert_event(&e).await?;
    let job =
        DeliverVerification { tenant_id: r.tenant_id.clone(), verification_id: r.id.clone(), event_id: e.id };
    jobs::enqueue(s, &job, s.config.webhooks.max_attempts).await?;
    s.wake.notify_waiters();
    Ok(())
}

/// Queues a verification's delivery `delivery_id` again (the same event); answers the event id.
pub async fn redeliver(s: &AppState, r: &Resource, delivery_id: &str) -> crate::error::ApiResult<String> {
    let d = s
        .store
        .delivery(&r.tenant_id, delivery_id)
        .await?
        .filter(|d| d.webhook_id == r.id)
        .ok_or(crate::error::ApiError::NotFound { what: "delivery" })?;
    if r.body["mode"] == "hosted" {
        let url = crate::hosted::partner::load(s, &r.tenant_id).await?.webhook_url.ok_or_else(|| {
            crate::error::ApiError::invalid(
                "webhook_url_missing",
                "the partner settings have no webhook_url",
                None,
            )
        })?;
        let job = crate::hosted::webhook::DeliverHosted {
            tenant_id: r.tenant_id.clone(),
            verification_id: r.id.clone(),
            event_id: d.event_id.clone(),
            url,
        };
        jobs::enqueue(s, &job, s.config.webhooks.max_attempts).await?;
    } else {
        if r.body["webhook_url"].as_str().is_none() {
            return Err(crate::error::ApiError::NotFound { what: "webhook_url" });
        }
        let job = DeliverVerification {
            tenant_id: r.tenant_id.clone(),
            verification_id: r.id.clone(),
            event_id: d.event_id.clone(),
        };
        jobs::enqueue(s, &job, s.config.webhooks.max_attempts).await?;
    }
    s.wake.notify_waiters();
    Ok(d.event_id)
}

/// One attempt.
async fn deliver(s: &AppState, job: &DeliverVerification, attempt: Attempt) -> Result<(), JobError> {
    let tenant = job.tenant_id.as_str();
    let r = match s.store.get(tenant, Verification::KIND, &job.verification_id).await {
        Ok(Some(r)) => r,
        Ok(None) => return Ok(()), // deleted since: nothing to send
        Err(e) => return Err(JobError::transient(1000, e)),
    };
    let event = match s.store.event(&job.event_id).await {
        Ok(Some(e)) => e,
        Ok(None) => return Err(JobError::Permanent("event not found".into())),
        Err(e) => return Err(JobError::transient(1000, e)),
    };
    let secret = match settings::load(s, tenant).await {
        Ok(st) => Internal::of(&st).secret.unwrap_or_default(),
        Err(e) => return Err(JobError::transient(1000, e)),
    };
    let url = r.body["webhook_url"].as_str().unwrap_or_default().to_string();
    let body = event_body(&event);
    let headers = vec![
        ("Verity-Signature", signature(&secret, now_ms() / 1000, &body)),
        ("Verity-Event-Id", format!("evt_{}", event.id)),
    ];
    let sent = Sent { owner: &r.id, event_id: &event.id, url, user_agent: crate::outbound::USER_AGENT };
    send_logged(s, tenant, sent, headers, body, attempt).await
}

/// Where one attempt goes: the resource it is about, its event, the URL and `User-Agent`.
pub struct Sent<'a> {
    pub owner: &'a str,
    pub event_id: &'a str,
    pub url: String,
    pub user_agent: &'static str,
}

/// Sends one attempt, logs it under its owner, and asks for a retry with exponential back-off
/// when it failed.
pub async fn send_logged(
    s: &AppState,
    tenant: &str,
    sent: Sent<'_>,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
    attempt: Attempt,
) -> Result<(), JobError> {
    let timeout = std::time::Duration::from_secs(s.config.webhooks.timeout_secs);
    let started = std::time::Instant::now();
    let result =
        crate::outbound::post_json(sent.url, sent.user_agent, headers, body, timeout, s.outbound.clone())
            .await;
    let latency_ms = started.elapsed().as_millis() as i64;
    let (status, error) = match &result {
        Ok(code) => (Some(*code as i64), (!(200..300).contains(code)).then(|| format!("HTTP {code}"))),
        Err(e) => (None, Some(e.clone())),
    };
    let n = attempt.number;
    let retry_after = s.config.webhooks.backoff_base_ms.saturating_mul(1i64 << (n - 1).clamp(0, 20));
    let logged = Delivery {
        id: new_id(),
        webhook_id: sent.owner.to_string(),
        event_id: sent.event_id.to_string(),
        attempt: n,
        status_code: status,
        error: error.clone(),
        created_at: now_ms(),
        latency_ms: status.map(|_| latency_ms),
        next_retry_at: (error.is_some() && !attempt.is_last()).then(|| now_ms() + retry_after),
    };
    let _ = s.store.insert_delivery(tenant, &logged).await;
    match error {
        None => Ok(()),
        Some(err) if attempt.is_last() => Err(JobError::Permanent(err)),
        Some(err) => Err(JobError::Transient { after_ms: retry_after, error: err }),
    }
}

/// A verification's delivery attempts, newest first.
pub fn deliveries_json(ds: &[Delivery]) -> Value {
    let items: Vec<Value> = ds
        .iter()
        .map(|d| {
            json!({
                "id": d.id, "event_id": format!("evt_{}", d.event_id), "attempt": d.attempt,
                "status_code": d.status_code, "error": d.error, "created_at": format_ms(d.created_at),
                "latency_ms": d.latency_ms, "next_retry_at": d.next_retry_at.map(format_ms),
            })
        })
        .collect();
    json!({"object": "list", "data": items})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_covers_the_timestamp_and_the_body() {
        let a = signature("whsec_x", 1_700_000_000, b"{}");
        assert!(a.starts_with("t=1700000000,v1=") && a.len() == "t=1700000000,v1=".len() + 64, "{a}");
        assert_ne!(a, signature("whsec_x", 1_700_000_001, b"{}"));
        assert_ne!(a, signature("whsec_x", 1_700_000_000, b"{ }"));
        assert_ne!(a, signature("whsec_y", 1_700_000_000, b"{}"));
    }
}
