//! `Authorization: <key>` (as ComplyCube's SDKs send it; `Bearer <key>` is accepted too) →
//! the key's tenant. Keys are looked up by hash, cached for a few seconds; each key has a
//! per-minute request budget.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use crate::error::ApiError;
use crate::ids::key_hash;
use crate::AppState;

/// The authenticated caller.
#[derive(Debug, Clone)]
pub struct Caller {
    pub tenant_id: String,
    pub key_id: String,
}

const CACHE_TTL: Duration = Duration::from_secs(5);

#[derive(Default)]
pub struct KeyCache {
    entries: Mutex<HashMap<String, (Option<Caller>, Instant)>>,
}

#[derive(Default)]
pub struct RateLimiter {
    windows: Mutex<HashMap<String, (u64, u32)>>,
}

impl RateLimiter {
    /// Counts a request for `key_id` in the current minute; `Err(seconds to wait)` over budget.
    pub fn check(&self, key_id: &str, per_minute: u32) -> Result<(), u64> {
        if per_minute == 0 {
            return Ok(());
        }
        let now = verity_store::time::now_ms() as u64 / 1000;
        let minute = now / 60;
        let mut w = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        let e = w.entry(key_id.to_string()).or_insert((minute, 0));
        if e.0 != minute {
            *e = (minute, 0);
        }
        if e.1 >= per_minute {
            return Err(60 - now % 60);
        }
        e.1 += 1;
        Ok(())
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let raw = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| {
                ApiError::Unauthorized("missing API key: send it in the Authorization header".into())
            })?;
        let key = raw.strip_prefix("Bearer ").unwrap_or(raw).trim();
        let hash = key_hash(key);
        let cached = {
            let c = state.keys.entries.lock().unwrap_or_else(|p| p.into_inner());
            c.get(&hash).filter(|(_, at)| at.elapsed() < CACHE_TTL).map(|(v, _)| v.clone())
        };
        let caller = match cached {
            Some(v) => v,
            None => {
                let found = state
                    .store
                    .key_by_hash(&hash)
                    .await?
                    .map(|k| Caller { tenant_id: k.tenant_id, key_id: k.id });
                state
                    .keys
                    .entries
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(hash, (found.clone(), Instant::now()));
                found
            }
        };
        let caller = caller.ok_or_else(|| ApiError::Unauthorized("invalid API key".into()))?;
        state
            .rate
            .check(&caller.key_id, state.config.limits.requests_per_minute)
            .map_err(|retry_after| ApiError::RateLimited { retry_after })?;
        Ok(caller)
    }
}
