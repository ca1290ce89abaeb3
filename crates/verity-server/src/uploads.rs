//! The gate in front of upload routes (live photos, live videos, document sides). An upload
//! holds its body, the decoded file and a decoded image in memory, so only
//! `limits.concurrent_uploads` are read at once. The gate authenticates first (an anonymous
//! request never takes a slot), then takes one of its tenant's slots
//! (`limits.concurrent_uploads_per_tenant`) and only then a shared one — so one tenant's slow
//! uploads can hold at most its own share and never stall another tenant. The body must then
//! arrive at `limits.min_upload_bytes_per_sec` on average after a 5-second grace, or the
//! upload is cut off with 408 `body_too_slow`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures_util::{Stream, StreamExt};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::ApiError;
use crate::AppState;

const GRACE: Duration = Duration::from_secs(5);

pub struct UploadSlots {
    shared: Arc<Semaphore>,
    per_tenant: usize,
    tenants: Mutex<HashMap<String, Arc<Semaphore>>>,
}

impl UploadSlots {
    pub fn new(total: usize, per_tenant: usize) -> Self {
        let total = total.max(1);
        Self {
            shared: Arc::new(Semaphore::new(total)),
            per_tenant: per_tenant.clamp(1, total),
            tenants: Mutex::new(HashMap::new()),
        }
    }

    fn tenant(&self, tenant: &str) -> Arc<Semaphore> {
        let mut t = self.tenants.lock().unwrap_or_else(|p| p.into_inner());
        if t.len() > 1000 {
            // Forget idle tenants (all their slots free).
            let n = self.per_tenant;
            t.retain(|_, s| s.available_permits() < n);
        }
        t.entry(tenant.to_string()).or_insert_with(|| Arc::new(Semaphore::new(self.per_tenant))).clone()
    }

    /// Waits for one of the tenant's slots, then a shared one.
    pub async fn acquire(&self, tenant: &str) -> Option<(OwnedSemaphorePermit, OwnedSemaphorePermit)> {
        let own = self.tenant(tenant).acquire_owned().await.ok()?;
        let shared = self.shared.clone().acquire_owned().await.ok()?;
        Some((own, shared))
    }

    /// One shared slot, for an upload whose tenant is known only once its body is read (the
    /// hosted flow's form carries its key or session inside).
    pub async fn acquire_shared(&self) -> Option<OwnedSemaphorePermit> {
        self.shared.clone().acquire_owned().await.ok()
    }
}

/// Passes a body through, failing it (and raising `slow`) when it falls below `rate` bytes a
/// second on average after the grace period.
fn paced(
    body: Body,
    rate: u64,
    slow: Arc<AtomicBool>,
) -> impl Stream<Item = Result<Bytes, std::io::Error>> + Send {
    let started = Instant::now();
    let rate = rate.max(1) as f64;
    futures_util::stream::unfold((body.into_data_stream(), 0u64, false), move |(mut s, got, done)| {
        let slow = slow.clone();
        async move {
            if done {
                return None;
            }
            // The next byte is due when the average would fall below the rate.
            let due = started + GRACE + Duration::from_secs_f64((got as f64 + 1.0) / rate);
            match tokio::time::timeout_at(due.into(), s.next()).await {
                Ok(Some(Ok(chunk))) => {
                    let n = got + chunk.len() as u64;
                    Some((Ok(chunk), (s, n, false)))
                }
                Ok(Some(Err(e))) => Some((Err(std::io::Error::other(e)), (s, got, true))),
                Ok(None) => None,
                Err(_) => {
                    slow.store(true, Ordering::Relaxed);
                    Some((Err(std::io::Error::other("upload too slow")), (s, got, true)))
                }
            }
        }
    })
}

/// The middleware on upload routes.
pub async fn gate(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let (mut parts, body) = req.into_parts();
    let caller = match crate::auth::authenticate(&parts, &s).await {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let Some(_slots) = s.uploads.acquire(&caller.tenant_id).await else {
        return ApiError::Unavailable("upload gate closed".into()).into_response();
    };
    parts.extensions.insert(caller);
    let abandon = parts.extensions.get::<crate::serve::AbandonBody>().cloned();
    let slow = Arc::new(AtomicBool::new(false));
    let body = Body::from_stream(paced(body, s.config.limits.min_upload_bytes_per_sec, slow.clone()));
    let resp = next.run(Request::from_parts(parts, body)).await;
    if slow.load(Ordering::Relaxed) {
        if let Some(a) = abandon {
            a.0.store(true, Ordering::Relaxed);
        }
        return ApiError::Timeout {
            code: "body_too_slow",
            message: format!(
                "the upload arrived slower than {} bytes per second",
                s.config.limits.min_upload_bytes_per_sec
            ),
        }
        .into_response();
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn one_tenant_cannot_hold_every_slot() {
        let slots = UploadSlots::new(2, 1);
        let a1 = slots.acquire("a").await.expect("slot");
        // Tenant a's second upload waits for its own slot; tenant b still gets the other one.
        let a2 = tokio::time::timeout(Duration::from_millis(50), slots.acquire("a")).await;
        assert!(a2.is_err(), "a second slot for the same tenant");
        let b = tokio::time::timeout(Duration::from_millis(50), slots.acquire("b")).await;
        assert!(b.is_ok_and(|s| s.is_some()), "another tenant is served");
        drop(a1);
    }
}
