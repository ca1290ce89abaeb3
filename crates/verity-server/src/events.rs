//! Events and their webhook deliveries. An event is stored once with a stable id; each
//! subscribed, enabled webhook gets a delivery job. Delivery happens in the worker, never in a
//! request: the raw body is signed (hex HMAC-SHA256 with the webhook's secret, header
//! `ComplyCube-Signature`), failures are retried with exponential back-off, and after the last
//! attempt the endpoint is disabled. Every attempt is logged.

use crate::resources::kinds::Webhook;
use crate::resources::Kind;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::Sha256;
use verity_store::time::{format_ms, now_ms};
use verity_store::{Event, ListQuery};

use crate::error::ApiResult;
use crate::ids::new_id;
use crate::jobs::{self, Attempt, JobError, JobKind};
use crate::AppState;

/// Every event type Verity emits (ComplyCube's names).
pub const EVENT_TYPES: &[&str] = &[
    "client.created",
    "client.updated",
    "client.deleted",
    "address.created",
    "address.updated",
    "address.deleted",
    "document.created",
    "document.updated",
    "document.deleted",
    "check.pending",
    "check.completed",
    "check.completed.clear",
    "check.completed.attention",
    "check.completed.rejected",
    "check.completed.not_processed",
    "check.failed",
    "check.updated",
    "check.monitoring.attention",
    "check.completed.match_confirmed",
];

/// An event type Verity emits: one of the ComplyCube types in [`EVENT_TYPES`] or one of the
/// verification surfaces' own. Nothing else can be made, so no event of an undocumented type is
/// stored or sent, and a webhook's subscription is parsed into these at the edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EventType(&'static str);

impl EventType {
    /// A one-call or hosted verification finished (`POST /v1/identity/verify`'s `webhook_url`).
    pub const VERIFICATION_COMPLETED: Self = Self("identity.verification.completed");
    pub const VERIFICATION_FAILED: Self = Self("identity.verification.failed");
    /// A person decided the verification in the dashboard (its `review` says who, when and why).
    pub const VERIFICATION_REVIEWED: Self = Self("identity.verification.reviewed");
    /// A hosted capture's result, to the partner's webhook.
    pub const HOSTED_COMPLETED: Self = Self("hosted.verification.completed");

    /// A ComplyCube event type by name (`check.completed.clear`); `None` for any other text.
    pub fn complycube(name: &str) -> Option<Self> {
        EVENT_TYPES.iter().find(|t| **t == name).map(|t| Self(t))
    }

    /// The ComplyCube event `{K::KIND}.{action}` (`client.created`), if it is one.
    pub fn of<K: Kind>(action: &str) -> Option<Self> {
        Self::complycube(&format!("{}.{action}", K::KIND))
    }

    pub const fn as_str(self) -> &'static str {
        self.0
    }
}

impl std::fmt::Display for EventType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

/// Subscribes a webhook to every event type, present and future (as ComplyCube documents).
pub const ALL_EVENTS: &str = "*";

/// The delivery of one event to one webhook.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliverWebhook {
    pub tenant_id: String,
    pub webhook_id: String,
    pub event_id: String,
}

impl JobKind for DeliverWebhook {
    const NAME: &'static str = "deliver_webhook";

    async fn run(self, s: &AppState, attempt: Attempt) -> Result<(), JobError> {
        deliver(s, &self, attempt).await
    }
}

/// The exact bytes sent for an event.
pub fn event_body(e: &Event) -> Vec<u8> {
    json!({
        "id": e.id,
        "type": e.event_type,
        "resourceType": e.resource_type,
        "payload": e.payload,
        "createdAt": format_ms(e.created_at),
    })
    .to_string()
    .into_bytes()
}

/// Hex HMAC-SHA256 of `body` with `secret` (as ComplyCube's SDK verifier computes it).
pub fn sign(secret: &str, body: &[u8]) -> String {
    // HMAC accepts keys of any length.
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap_or_else(|_| unreachable!("any key length"));
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// Records the event `{K::KIND}.{action}` (`client.created`, `check.completed.clear`) about a
/// resource of type `K` and queues a delivery to every enabled webhook of the tenant subscribed
/// to it. An action that names no documented event type is a defect: logged, nothing stored.
pub async fn emit<K: Kind>(s: &AppState, tenant: &str, action: &str, payload: Value) -> ApiResult<()> {
    let Some(event_type) = EventType::of::<K>(action) else {
        tracing::error!(kind = K::KIND, action, "no such event type: not emitted");
        debug_assert!(false, "undocumented event type {}.{action}", K::KIND);
        return Ok(());
    };
    let event_type = event_type.as_str();
    let e = Event {
        id: new_id(),
        tenant_id: tenant.into(),
        event_type: event_type.into(),
        resource_type: K::KIND.into(),
        payload,
        created_at: now_ms(),
    };
    s.store.insert_event(&e).await?;
    let mut page = 1;
    let mut queued = false;
    loop {
        let q = ListQuery { page, page_size: 100, ..Default::default() };
        let hooks = s.store.list(tenant, Webhook::KIND, &q).await?;
        for h in &hooks.items {
            let enabled = h.body["enabled"].as_bool().unwrap_or(false);
            let wants = h.body["events"]
                .as_array()
                .is_some_and(|a| a.iter().any(|v| v == event_type || v == ALL_EVENTS));
            if enabled && wants {
                let job = DeliverWebhook {
                    tenant_id: tenant.to_string(),
                    webhook_id: h.id.clone(),
                    event_id: e.id.clone(),
                };
                jobs::enqueue(s, &job, s.config.webhooks.max_attempts).await?;
                queued = true;
            }
        }
        if hooks.items.len() < 100 {
            break;
        }
        page += 1;
    }
    if queued {
        s.wake.notify_waiters();
    }
    Ok(())
}

/// Queues a webhook's delivery `delivery_id` again (its event, to the webhook as it is now);
/// answers the event id. A disabled webhook is refused: enable it first.
pub async fn redeliver(s: &AppState, tenant: &str, webhook_id: &str, delivery_id: &str) -> ApiResult<String> {
    let hook = crate::resources::fetch::<Webhook>(s, tenant, webhook_id).await?;
    let d = s
        .store
        .delivery(tenant, delivery_id)
        .await?
        .filter(|d| d.webhook_id == hook.id)
        .ok_or(crate::error::ApiError::NotFound { what: "delivery" })?;
    if !hook.body["enabled"].as_bool().unwrap_or(false) {
        return Err(crate::error::ApiError::invalid(
            "webhook_disabled",
            "the webhook is disabled: enable it, then redeliver",
            None,
        ));
    }
    let job =
        DeliverWebhook { tenant_id: tenant.to_string(), webhook_id: hook.id, event_id: d.event_id.clone() };
    jobs::enqueue(s, &job, s.config.webhooks.max_attempts).await?;
    s.wake.notify_waiters();
    Ok(d.event_id)
}

/// One delivery attempt; the last failed one disables the webhook.
async fn deliver(s: &AppState, job: &DeliverWebhook, attempt: Attempt) -> Result<(), JobError> {
    let tenant = job.tenant_id.as_str();
    let hook = match s.store.get(tenant, Webhook::KIND, &job.webhook_id).await {
        Ok(Some(h)) => h,
        Ok(None) => return Ok(()), // deleted since
        Err(e) => return Err(JobError::transient(1000, e)),
    };
    if !hook.body["enabled"].as_bool().unwrap_or(false) {
        return Ok(());
    }
    let event = match s.store.event(&job.event_id).await {
        Ok(Some(e)) => e,
        Ok(None) => return Err(JobError::Permanent("event not found".into())),
        Err(e) => return Err(JobError::transient(1000, e)),
    };
    let url = hook.body["url"].as_str().unwrap_or_default().to_string();
    let secret = crate::resources::Internal::of(&hook).secret.unwrap_or_default();
    let body = event_body(&event);
    let headers = vec![("ComplyCube-Signature", sign(&secret, &body))];
    let sent = crate::verification::webhook::Sent {
        owner: &hook.id,
        event_id: &event.id,
        url,
        user_agent: crate::outbound::USER_AGENT,
    };
    let n = attempt.number;
    let last = attempt.is_last();
    let result = crate::verification::webhook::send_logged(s, tenant, sent, headers, body, attempt).await;
    if let (Err(err), true) = (&result, last) {
        let reason = format!("{n} failed delivery attempts; last: {err}");
        let disabled = crate::resources::modify::<Webhook, _>(s, tenant, &hook.id, |h| {
            h.body["enabled"] = json!(false);
            h.body["disabledReason"] = json!(reason);
            Ok(())
        })
        .await;
        if disabled.is_ok() {
            tracing::warn!(webhook = %hook.id, "webhook disabled after {n} failed attempts");
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::kinds::{Address, Check, Client, Document};

    #[test]
    fn event_types_are_made_only_from_the_documented_list() {
        for name in EVENT_TYPES {
            assert_eq!(EventType::complycube(name).map(EventType::as_str), Some(*name));
        }
        // Every action the handlers emit names a documented type.
        for action in ["created", "updated", "deleted"] {
            assert!(EventType::of::<Client>(action).is_some(), "client.{action}");
            assert!(EventType::of::<Address>(action).is_some(), "address.{action}");
            assert!(EventType::of::<Document>(action).is_some(), "document.{action}");
        }
        for action in ["pending", "updated", "failed", "completed"]
            .into_iter()
            .map(String::from)
            .chain(["clear", "attention", "rejected", "not_processed"].map(|o| format!("completed.{o}")))
        {
            assert!(EventType::of::<Check>(&action).is_some(), "check.{action}");
        }
        assert_eq!(EventType::of::<Check>("completed.clear").unwrap().to_string(), "check.completed.clear");
        for bad in ["exploded", "", "completed.maybe", "*"] {
            assert!(EventType::of::<Client>(bad).is_none(), "{bad:?}");
        }
        assert!(
            EventType::complycube("identity.verification.completed").is_none(),
            "not a webhook subscription"
        );
    }

    #[test]
    fn signatures_are_hex_hmac_sha256() {
        // RFC 4231 test case 2.
        assert_eq!(
            sign("Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
