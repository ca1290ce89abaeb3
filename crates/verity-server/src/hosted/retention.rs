//! Retention: files and face embeddings are deleted when the tenant's retention period ends —
//! a hosted check's (the selfie video, the ID photos) after `retention_days` of the partner
//! settings (7 by default, as the seed promises); ComplyCube live photos, live videos and
//! documents, and one-call verifications, after `resource_retention_days` when the tenant set
//! it (counted from the resource's creation; unset: kept until redacted or deleted). The
//! deletion is a job queued, in the database, when the files are stored: it survives restarts
//! and runs once on whichever process is up then. The results stay, marked `redacted` (a
//! verification also gets `files_deleted_at`), as ComplyCube's redact endpoints leave them.

use serde::{Deserialize, Serialize};
use serde_json::json;
use verity_store::time::{format_ms, now_ms};

use crate::error::ApiError;
use crate::jobs::{self, Attempt, JobError, JobKind};
use crate::resources::{modify, Internal, Kind};
use crate::verification::{gallery, Verification};
use crate::AppState;

/// Deletes a resource's files and embeddings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExpireFiles {
    pub tenant_id: String,
    /// The stored kind (`verification`, `livePhoto`, `liveVideo`, `document`).
    pub kind: String,
    pub id: String,
}

impl ExpireFiles {
    pub const MAX_ATTEMPTS: i64 = 10;
}

impl JobKind for ExpireFiles {
    const NAME: &'static str = "expire_files";

    async fn run(self, s: &AppState, _attempt: Attempt) -> Result<(), JobError> {
        use crate::resources::kinds::{Document, LivePhoto, LiveVideo};
        use crate::routes::media::redact;
        let (t, id) = (self.tenant_id.as_str(), self.id.as_str());
        let done = match self.kind.as_str() {
            k if k == Verification::KIND => erase(s, t, id).await,
            k if k == LivePhoto::KIND => redact::<LivePhoto>(s, t, id).await.map(|_| ()),
            k if k == LiveVideo::KIND => redact::<LiveVideo>(s, t, id).await.map(|_| ()),
            k if k == Document::KIND => redact::<Document>(s, t, id).await.map(|_| ()),
            other => return Err(JobError::Permanent(format!("no retention for {other:?}"))),
        };
        match done {
            Ok(()) | Err(ApiError::NotFound { .. }) => Ok(()), // deleted meanwhile: nothing left
            Err(e) => Err(JobError::transient(60_000, e)),
        }
    }
}

/// Queues the deletion of a resource's files `days` from now.
pub async fn schedule(
    s: &AppState,
    tenant: &str,
    kind: &str,
    id: &str,
    days: u64,
) -> Result<(), verity_store::StoreError> {
    let job = ExpireFiles { tenant_id: tenant.into(), kind: kind.into(), id: id.into() };
    jobs::enqueue_at(s, &job, ExpireFiles::MAX_ATTEMPTS, now_ms() + days as i64 * 86_400_000).await
}

/// Queues the deletion of a ComplyCube resource's or a one-call verification's files when the
/// tenant set `resource_retention_days` (called when files are stored).
pub async fn schedule_resource(s: &AppState, tenant: &str, kind: &str, id: &str) -> Result<(), ApiError> {
    if let Some(days) = super::partner::load(s, tenant).await?.resource_retention_days {
        schedule(s, tenant, kind, id, days).await?;
    }
    Ok(())
}

/// Deletes the files and embeddings of a verification now and marks it redacted (nothing when
/// it is gone).
pub async fn erase(s: &AppState, tenant: &str, id: &str) -> Result<(), ApiError> {
    let Some(r) = s.store.get(tenant, Verification::KIND, id).await? else {
        return Ok(());
    };
    for key in Internal::of(&r).files.values() {
        s.files.delete(key).await?;
    }
    gallery::forget(s, tenant, &crate::resources::Id::<Verification>::of(&r).public()).await?;
    let at = format_ms(now_ms());
    let written = modify::<Verification, _>(s, tenant, id, |r| {
        Internal::update(r, |i| {
            i.files.clear();
            i.evidence = None;
        });
        r.body["redacted"] = json!(true);
        r.body["files_deleted_at"] = json!(at);
        Ok(())
    })
    .await;
    match written {
        Ok(_) | Err(ApiError::NotFound { .. }) => Ok(()),
        Err(e) => Err(e),
    }
}
