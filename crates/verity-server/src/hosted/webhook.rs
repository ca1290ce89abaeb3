//! The seed's webhook: a finished hosted check is POSTed to the tenant's `webhook_url`
//! (partner settings) with the seed's payload (`check_id`, `user_identifier`,
//! `verification_result{…}`, `selfie_video_url`, `id_photo_url`, `completed_at`),
//! `User-Agent: IdentityVerification/1.0`, a 10 s timeout (`webhooks.timeout_secs`) and retries
//! with exponential back-off. Each attempt carries the same idempotency id
//! (`Verity-Event-Id`, `Idempotency-Key`) and a fresh signature — the same
//! `Verity-Signature: t=…,v1=…` as one-call verification's, with the tenant's secret from
//! `GET /v1/identity/settings` — and fresh file links. Attempts are logged
//! (`GET /v1/identity/verify/{id}/deliveries`).

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use verity_store::time::{format_ms, now_ms};
use verity_store::{Event, Resource, StoreError};

use super::{links, partner};
use crate::ids::new_id;
use crate::jobs::{self, Attempt, JobError, JobKind};
use crate::resources::{Internal, Kind};
use crate::verification::webhook::{send_logged, Sent};
use crate::verification::{settings, Verification};
use crate::AppState;

/// The seed's `User-Agent`.
pub const USER_AGENT: &str = "IdentityVerification/1.0";

/// The delivery of one finished hosted check.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliverHosted {
    pub tenant_id: String,
    pub verification_id: String,
    pub event_id: String,
    pub url: String,
}

impl JobKind for DeliverHosted {
    const NAME: &'static str = "deliver_hosted";

    async fn run(self, s: &AppState, attempt: Attempt) -> Result<(), JobError> {
        deliver(s, &self, attempt).await
    }
}

/// The seed's `status`: `verified`, `rejected`, or `review` (which its example handles as
/// "flag for manual review").
fn status_of(r: &Resource) -> &str {
    r.body["status"].as_str().unwrap_or("error")
}

/// The seed's `result` object of a finished hosted check (the submit response's and the
/// webhook's `verification_result`), with links valid from now.
pub fn result(s: &AppState, r: &Resource) -> Value {
    let id = crate::resources::Id::<Verification>::of(r).public();
    let files = Internal::of(r).files;
    let file = |name: &str, label: &str, ext: &str| {
        files.get(name).map(|_| {
            json!({
                "url": links::link(s, &r.tenant_id, &r.id, name),
                "fileName": format!("{id}_{label}_{}.{ext}", r.created_at),
            })
        })
    };
    let video_ext = r.body["files"]["selfie_video"]["extension"].as_str().unwrap_or("mp4").to_string();
    let photo_ext = r.body["files"]["document_front"]["extension"].as_str().unwrap_or("jpg").to_string();
    json!({
        "sessionId": id,
        "timestamp": format_ms(r.created_at),
        "files": {
            "selfieVideo": file("selfie_video", "selfie", &video_ext),
            "idPhoto": file("document_front", "id", &photo_ext),
        },
        "faceComparison": r.body["face_comparison"],
        "verificationAssessment": r.body["assessment"],
        "status": status_of(r),
        "redacted": r.body["redacted"].as_bool().unwrap_or(false),
    })
}

/// The payload sent for a finished hosted check.
pub fn payload(s: &AppState, r: &Resource) -> Value {
    let result = result(s, r);
    json!({
        "check_id": result["sessionId"],
        "user_identifier": r.body["user_identifier"],
        "verification_result": result,
        "selfie_video_url": result["files"]["selfieVideo"]["url"],
        "id_photo_url": result["files"]["idPhoto"]["url"],
        "completed_at": format_ms(r.updated_at),
    })
}

/// Stores the event of a finished hosted check and queues its delivery to the tenant's
/// webhook URL (nothing when none is set).
pub async fn queue(s: &AppState, r: &Resource) -> Result<(), StoreError> {
    let url = match partner::load(s, &r.tenant_id).await {
        Ok(st) => st.webhook_url,
        Err(e) => {
            tracing::error!(verification = %r.id, error = %e, "cannot read the partner settings: no webhook");
            None
        }
    };
    let Some(url) = url else { return Ok(()) };
    let e = Event {
        id: new_id(),
        tenant_id: r.tenant_id.clone(),
        event_type: crate::events::EventType::HOSTED_COMPLETED.as_str().into(),
        resource_type: Verification::KIND.into(),
        payload: json!({"verification_id": r.id}),
        created_at: now_ms(),
    };
    s.store.insert_event(&e).await?;
    let job =
        DeliverHosted { tenant_id: r.tenant_id.clone(), verification_id: r.id.clone(), event_id: e.id, url };
    jobs::enqueue(s, &job, s.config.webhooks.max_attempts).await?;
    s.wake.notify_waiters();
    Ok(())
}

/// One attempt.
async fn deliver(s: &AppState, job: &DeliverHosted, attempt: Attempt) -> Result<(), JobError> {
    let tenant = job.tenant_id.as_str();
    let r = match s.store.get(tenant, Verification::KIND, &job.verification_id).await {
        Ok(Some(r)) => r,
        Ok(None) => return Ok(()), // deleted since: nothing to send
        Err(e) => return Err(JobError::transient(1000, e)),
    };
    let secret = match settings::load(s, tenant).await {
        Ok(st) => Internal::of(&st).secret.unwrap_or_default(),
        Err(e) => return Err(JobError::transient(1000, e)),
    };
    let body = payload(s, &r).to_string().into_bytes();
    let event_id = format!("evt_{}", job.event_id);
    let headers = vec![
        ("Verity-Signature", crate::verification::webhook::signature(&secret, now_ms() / 1000, &body)),
        ("Verity-Event-Id", event_id.clone()),
        ("Idempotency-Key", event_id),
    ];
    let sent = Sent { owner: &r.id, event_id: &job.event_id, url: job.url.clone(), user_agent: USER_AGENT };
    send_logged(s, tenant, sent, headers, body, attempt).await
}
