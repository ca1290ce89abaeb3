//! Retention: a hosted check's files (the selfie video, the ID photos) and its face embeddings
//! are deleted when the tenant's retention period ends (`retention_days` of the partner
//! settings, 7 by default as the seed promises). The deletion is a job queued, in the database,
//! when the files are stored: it survives restarts and runs once on whichever process is up
//! then. The result stays, marked `redacted`, with `files_deleted_at`.

use serde::{Deserialize, Serialize};
use serde_json::json;
use verity_store::time::{format_ms, now_ms};

use crate::error::ApiError;
use crate::jobs::{self, Attempt, JobError, JobKind};
use crate::resources::{modify, Internal, Kind};
use crate::verification::{gallery, Verification};
use crate::AppState;

/// Deletes a verification's files and embeddings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExpireFiles {
    pub tenant_id: String,
    pub verification_id: String,
}

impl ExpireFiles {
    pub const MAX_ATTEMPTS: i64 = 10;
}

impl JobKind for ExpireFiles {
    const NAME: &'static str = "expire_files";

    async fn run(self, s: &AppState, _attempt: Attempt) -> Result<(), JobError> {
        erase(s, &self.tenant_id, &self.verification_id).await.map_err(|e| JobError::transient(60_000, e))
    }
}

/// Queues the deletion of a verification's files `days` from now.
pub async fn schedule(
    s: &AppState,
    tenant: &str,
    id: &str,
    days: u64,
) -> Result<(), verity_store::StoreError> {
    let job = ExpireFiles { tenant_id: tenant.into(), verification_id: id.into() };
    jobs::enqueue_at(s, &job, ExpireFiles::MAX_ATTEMPTS, now_ms() + days as i64 * 86_400_000).await
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
    gallery::forget(s, tenant, &format!("{}{}", Verification::ID_PREFIX, id)).await?;
    let at = format_ms(now_ms());
    let written = modify::<Verification, _>(s, tenant, id, |r| {
        Internal::update(r, |i| i.files.clear());
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
