//! `Authorization: <key>` (as ComplyCube's SDKs send it; `Bearer <key>` is accepted too) →
//! the key's tenant. Keys are looked up by hash and cached: a valid key for 5 s (so a revoked
//! key stops working in every process within 5 s), an unknown one for 1 s, and the cache never
//! holds more than [`CACHE_MAX`] entries, so random keys cannot grow memory. Each client address
//! may fail authentication `limits.failed_auth_per_minute` times a minute, then gets 429 without
//! a lookup (unless the key was valid in the last 10 minutes). Each key has a request budget refilled continuously (a token bucket), so no window
//! boundary lets twice the budget through.

use std::collections::HashMap;
use std::net::IpAddr;
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

const VALID_TTL: Duration = Duration::from_secs(5);
const UNKNOWN_TTL: Duration = Duration::from_secs(1);
/// A key seen valid this recently is still looked up from an address that keeps failing (a
/// partner whose one stale key floods 401s keeps its good keys working).
const KNOWN_FOR: Duration = Duration::from_secs(600);
/// Most entries the key cache and each limiter hold.
pub const CACHE_MAX: usize = 10_000;

/// Removes expired entries when the map is full; clears it if that is not enough (a flood of
/// distinct keys or addresses costs them a lookup, never unbounded memory).
fn make_room<K, V>(m: &mut HashMap<K, V>, expired: impl Fn(&V) -> bool) {
    if m.len() >= CACHE_MAX {
        m.retain(|_, v| !expired(v));
        if m.len() >= CACHE_MAX {
            m.clear();
        }
    }
}

#[derive(Default)]
pub struct KeyCache {
    entries: Mutex<HashMap<String, (Option<Caller>, Instant)>>,
}

impl KeyCache {
    fn get(&self, hash: &str) -> Option<Option<Caller>> {
        let c = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let (v, at) = c.get(hash)?;
        let ttl = if v.is_some() { VALID_TTL } else { UNKNOWN_TTL };
        (at.elapsed() < ttl).then(|| v.clone())
    }

    /// Whether the key was valid at its last lookup, within [`KNOWN_FOR`].
    fn known_valid(&self, hash: &str) -> bool {
        let c = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        c.get(hash).is_some_and(|(v, at)| v.is_some() && at.elapsed() < KNOWN_FOR)
    }

    fn put(&self, hash: String, v: Option<Caller>) {
        let mut c = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        make_room(&mut c, |(v, at)| at.elapsed() >= if v.is_some() { KNOWN_FOR } else { UNKNOWN_TTL });
        c.insert(hash, (v, Instant::now()));
    }

    pub fn len(&self) -> usize {
        self.entries.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Token buckets: each name holds up to `per_minute` tokens, refilled at `per_minute` a minute.
#[derive(Default)]
pub struct RateLimiter {
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl RateLimiter {
    /// Takes a token for `name`; `Err(seconds until one is available)` when none is left.
    pub fn check(&self, name: &str, per_minute: u32) -> Result<(), u64> {
        self.check_at(name, per_minute, Instant::now())
    }

    fn check_at(&self, name: &str, per_minute: u32, now: Instant) -> Result<(), u64> {
        if per_minute == 0 {
            return Ok(());
        }
        let cap = f64::from(per_minute);
        let per_sec = cap / 60.0;
        let mut b = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if !b.contains_key(name) {
            // A bucket refills completely in a minute: older ones are as good as new.
            make_room(&mut b, |(_, at)| now.saturating_duration_since(*at) >= Duration::from_secs(60));
        }
        let e = b.entry(name.to_string()).or_insert((cap, now));
        let tokens = (e.0 + now.saturating_duration_since(e.1).as_secs_f64() * per_sec).min(cap);
        e.1 = now;
        if tokens < 1.0 {
            e.0 = tokens;
            return Err(((1.0 - tokens) / per_sec).ceil().max(1.0) as u64);
        }
        e.0 = tokens - 1.0;
        Ok(())
    }

    /// Whether `name` has a token left, without taking one.
    fn exhausted(&self, name: &str, per_minute: u32) -> Option<u64> {
        if per_minute == 0 {
            return None;
        }
        let per_sec = f64::from(per_minute) / 60.0;
        let b = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let (t, at) = b.get(name)?;
        let tokens = t + at.elapsed().as_secs_f64() * per_sec;
        (tokens < 1.0).then(|| ((1.0 - tokens) / per_sec).ceil().max(1.0) as u64)
    }
}

/// The client address of a request: the TCP peer, or the client a trusted proxy forwarded.
pub fn peer_ip(parts: &Parts, state: &AppState) -> Option<IpAddr> {
    let peer = parts.extensions.get::<crate::serve::Peer>()?.0.ip();
    let forwarded = parts.headers.get("x-forwarded-for").and_then(|v| v.to_str().ok());
    Some(crate::serve::client_ip(peer, forwarded, &state.proxies))
}

/// Resolves the caller of a request (the `Caller` extractor, and the upload gate before it
/// takes a slot).
pub async fn authenticate(parts: &Parts, state: &AppState) -> Result<Caller, ApiError> {
    let addr = peer_ip(parts, state).map(|ip| ip.to_string()).unwrap_or_default();
    let raw = parts
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|s| !s.is_empty());
    let Some(raw) = raw else {
        return Err(failed(state, &addr, "missing API key: send it in the Authorization header"));
    };
    authenticate_key(state, &addr, raw.strip_prefix("Bearer ").unwrap_or(raw).trim()).await
}

/// Counts a failed authentication against the client address; past the budget the next ones
/// get 429.
fn failed(state: &AppState, addr: &str, message: &str) -> ApiError {
    match state.failed_auth.check(addr, state.config.limits.failed_auth_per_minute) {
        Ok(()) => ApiError::Unauthorized(message.into()),
        Err(retry_after) => ApiError::RateLimited { retry_after },
    }
}

/// Resolves an API key given some other way than the `Authorization` header (the hosted
/// flow's `api_key` parameter), with the same failure budget per client address.
pub async fn authenticate_key(state: &AppState, addr: &str, key: &str) -> Result<Caller, ApiError> {
    let per_min = state.config.limits.failed_auth_per_minute;
    if key.is_empty() || key.len() > 256 {
        return Err(failed(state, addr, "invalid API key"));
    }
    let hash = key_hash(key);
    let caller = match state.keys.get(&hash) {
        Some(v) => v,
        // An address that keeps failing gets no more lookups for a while, except for keys
        // known to be valid.
        None if state.failed_auth.exhausted(addr, per_min).is_some() && !state.keys.known_valid(&hash) => {
            return Err(failed(state, addr, "invalid API key"))
        }
        None => {
            let found = state
                .store
                .key_by_hash(&hash)
                .await?
                .map(|k| Caller { tenant_id: k.tenant_id, key_id: k.id });
            state.keys.put(hash, found.clone());
            found
        }
    };
    let caller = caller.ok_or_else(|| failed(state, addr, "invalid API key"))?;
    crate::audit::set_api_key(&caller.key_id);
    state
        .rate
        .check(&caller.key_id, state.config.limits.requests_per_minute)
        .map_err(|retry_after| ApiError::RateLimited { retry_after })?;
    Ok(caller)
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if let Some(c) = parts.extensions.get::<Caller>() {
            return Ok(c.clone());
        }
        let c = authenticate(parts, state).await?;
        parts.extensions.insert(c.clone());
        Ok(c)
    }
}

/// Creates an API key of `tenant`; answers it and the secret (shown once: only its hash is kept).
pub async fn create_key(
    store: &dyn verity_store::Storage,
    tenant: &str,
    name: &str,
) -> Result<(verity_store::ApiKey, String), verity_store::StoreError> {
    let key = crate::ids::new_api_key();
    let k = verity_store::ApiKey {
        id: crate::ids::new_id(),
        tenant_id: tenant.to_string(),
        name: name.to_string(),
        prefix: key[..10].to_string(),
        key_hash: key_hash(&key),
        created_at: verity_store::time::now_ms(),
        revoked_at: None,
    };
    store.create_key(&k).await?;
    Ok((k, key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_bucket_never_lets_twice_the_budget_through() {
        let r = RateLimiter::default();
        let t0 = Instant::now();
        let mut passed = 0;
        // 60 a minute: a burst of 60, then one a second; across any minute boundary at most
        // 60 + the refill.
        for i in 0..200u64 {
            let at = t0 + Duration::from_millis(i * 150); // 30 s in all
            if r.check_at("k", 60, at).is_ok() {
                passed += 1;
            }
        }
        assert!((60..=91).contains(&passed), "{passed}");
        let e = r.check_at("k", 60, t0 + Duration::from_millis(30_000));
        assert!(e.is_err(), "empty bucket");
        assert!(r.check_at("k", 60, t0 + Duration::from_millis(32_000)).is_ok(), "refilled");
    }

    #[test]
    fn the_cache_is_bounded() {
        let c = KeyCache::default();
        for i in 0..(CACHE_MAX * 2 + 5) {
            c.put(format!("h{i}"), None);
        }
        assert!(c.len() <= CACHE_MAX, "{}", c.len());
    }
}
