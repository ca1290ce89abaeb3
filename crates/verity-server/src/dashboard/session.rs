//! Signing in and out of the dashboard, and who is signed in ([`Viewer`]).
//!
//! A session is 256 random bits in an `HttpOnly`, `SameSite=Strict` cookie scoped to
//! `/dashboard` (`Secure` over HTTPS); the database keeps only its SHA-256, with the user, a
//! CSRF token that every form carries, and when it was last used: it ends after
//! `dashboard.idle_minutes` without a request and `dashboard.session_hours` in any case. The
//! login form has its own CSRF token (a cookie it must match). Wrong passwords are limited per
//! address (`dashboard.login_attempts_per_minute`) and per user (`lock_after` in a row lock
//! the user for `lock_minutes`); an unknown email costs the same Argon2 work as a wrong password.

use axum::extract::{FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Form;
use serde::Deserialize;
use verity_store::time::now_ms;
use verity_store::{Session, User};

use super::users::{self, Role};
use super::{layout, DashError};
use crate::AppState;

pub const SESSION_COOKIE: &str = "verity_session";
const LOGIN_COOKIE: &str = "verity_login";
/// A session's last use is written at most this often (each page view need not be a write).
const TOUCH_EVERY_MS: i64 = 60_000;

/// The signed-in user of a request, with the session's CSRF token.
#[derive(Debug, Clone)]
pub struct Viewer {
    pub user: User,
    pub role: Role,
    pub session: Session,
}

impl Viewer {
    pub fn tenant(&self) -> &str {
        &self.user.tenant_id
    }

    /// Refuses a form whose CSRF token is not this session's.
    pub fn check_csrf(&self, token: &str) -> Result<(), DashError> {
        if same_secret(token, &self.session.csrf) {
            Ok(())
        } else {
            Err(DashError::Csrf)
        }
    }

    /// Refuses users below `role`.
    pub fn require(&self, role: Role) -> Result<(), DashError> {
        if self.role >= role {
            Ok(())
        } else {
            Err(DashError::Forbidden(format!("this needs the {} role", role.name())))
        }
    }
}

/// Compared by hash: no early exit on the first differing byte.
fn same_secret(a: &str, b: &str) -> bool {
    !a.is_empty() && crate::ids::key_hash(a) == crate::ids::key_hash(b)
}

pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}

/// Whether the dashboard is reached over HTTPS (cookies are then `Secure`).
fn over_https(parts_headers: &HeaderMap, peer: Option<std::net::IpAddr>, s: &AppState) -> bool {
    if s.config.dashboard.secure_cookies || s.config.hosted.public_url.starts_with("https://") {
        return true;
    }
    let proxied_https = parts_headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"));
    proxied_https && peer.is_some_and(|ip| s.proxies.iter().any(|c| c.contains(ip)))
}

fn set_cookie(name: &str, value: &str, max_age_secs: i64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/dashboard; Max-Age={max_age_secs}; HttpOnly; SameSite=Strict{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn peer(parts: &Parts) -> Option<std::net::IpAddr> {
    parts.extensions.get::<crate::serve::Peer>().map(|p| p.0.ip())
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = DashError;

    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, DashError> {
        let next = parts.uri.path_and_query().map(|p| p.as_str().to_string()).unwrap_or_default();
        let signed_out = || DashError::SignedOut { next: next.clone() };
        let token =
            cookie(&parts.headers, SESSION_COOKIE).filter(|t| t.len() == 64).ok_or_else(signed_out)?;
        let hash = crate::ids::key_hash(token);
        let session = s.store.session(&hash).await?.ok_or_else(signed_out)?;
        let now = now_ms();
        let idle_ms = s.config.dashboard.idle_minutes.max(1) as i64 * 60_000;
        if session.expires_at <= now || session.last_seen_at + idle_ms <= now {
            s.store.delete_session(&hash).await?;
            return Err(signed_out());
        }
        let user = s.store.user(&session.user_id).await?.ok_or_else(signed_out)?;
        let role = Role::parse(&user.role).ok_or_else(signed_out)?;
        if user.disabled_at.is_some() || user.tenant_id != session.tenant_id {
            return Err(signed_out());
        }
        if now - session.last_seen_at >= TOUCH_EVERY_MS {
            s.store.touch_session(&hash, now).await?;
        }
        crate::audit::set_member(&user.id, &user.email, "dashboard");
        Ok(Viewer { user, role, session })
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct LoginQuery {
    #[serde(default)]
    next: String,
}

/// Only paths of the dashboard itself are followed after a login (no open redirect).
fn safe_next(next: &str) -> &str {
    let ok = next.starts_with("/dashboard/") && !next.contains("//") && !next.contains('\\');
    if ok {
        next
    } else {
        "/dashboard/cases"
    }
}

/// `GET /dashboard/login`: the form, with a fresh login CSRF token in a cookie.
pub async fn login_page(State(s): State<AppState>, Query(q): Query<LoginQuery>, parts: Parts) -> Response {
    login_form(&s, &parts, safe_next(&q.next), None, axum::http::StatusCode::OK)
}

fn login_form(
    s: &AppState,
    parts: &Parts,
    next: &str,
    problem: Option<&str>,
    status: axum::http::StatusCode,
) -> Response {
    let token = hex::encode(crate::ids::random_bytes::<16>());
    let secure = over_https(&parts.headers, peer(parts), s);
    let mut resp = (status, layout::login(&token, next, problem)).into_response();
    resp.headers_mut().append(header::SET_COOKIE, set_cookie(LOGIN_COOKIE, &token, 3600, secure));
    resp
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    next: String,
}

/// `POST /dashboard/login`.
pub async fn login(
    State(s): State<AppState>,
    parts: Parts,
    Form(f): Form<LoginForm>,
) -> Result<Response, DashError> {
    use axum::http::StatusCode;
    let expected = cookie(&parts.headers, LOGIN_COOKIE).unwrap_or_default();
    if !same_secret(&f.csrf, expected) {
        return Err(DashError::Csrf);
    }
    let next = safe_next(&f.next).to_string();
    let ip = crate::auth::peer_ip(&parts, &s).map(|ip| ip.to_string()).unwrap_or_default();
    let cfg = &s.config.dashboard;
    if let Err(retry_after) = s.rate.check(&format!("dashboard-login:{ip}"), cfg.login_attempts_per_minute) {
        return Err(DashError::RateLimited { retry_after });
    }
    let wrong = "Wrong email or password.";
    let user = match users::normalise_email(&f.email) {
        Ok(e) => s.store.user_by_email(&e).await?,
        Err(_) => None,
    };
    let now = now_ms();
    if let Some(until) = user.as_ref().and_then(|u| u.locked_until).filter(|t| *t > now) {
        let minutes = ((until - now) as f64 / 60_000.0).ceil() as i64;
        let msg = format!("Too many wrong passwords: this account is locked for {minutes} more minute(s).");
        return Ok(login_form(&s, &parts, &next, Some(&msg), StatusCode::TOO_MANY_REQUESTS));
    }
    let hash =
        user.as_ref().map(|u| u.password_hash.clone()).unwrap_or_else(|| users::decoy_hash().to_string());
    let password = f.password.clone();
    let matches = tokio::task::spawn_blocking(move || users::verify_password(&password, &hash))
        .await
        .map_err(|e| DashError::Internal(e.to_string()))?;
    let user = match user {
        Some(u) if matches && u.disabled_at.is_none() && Role::parse(&u.role).is_some() => u,
        Some(u) => {
            if !matches {
                let lock = now + cfg.lock_minutes.max(1) as i64 * 60_000;
                s.store.login_failed(&u.id, i64::from(cfg.lock_after.max(1)), lock).await?;
                tracing::info!(user = %u.id, "dashboard login: wrong password");
            }
            return Ok(login_form(&s, &parts, &next, Some(wrong), StatusCode::UNAUTHORIZED));
        }
        None => return Ok(login_form(&s, &parts, &next, Some(wrong), StatusCode::UNAUTHORIZED)),
    };
    s.store.login_succeeded(&user.id).await?;
    let idle_ms = cfg.idle_minutes.max(1) as i64 * 60_000;
    s.store.delete_stale_sessions(now, now - idle_ms).await?;
    let token = hex::encode(crate::ids::random_bytes::<32>());
    let life_ms = cfg.session_hours.max(1) as i64 * 3_600_000;
    s.store
        .create_session(&Session {
            id_hash: crate::ids::key_hash(&token),
            user_id: user.id.clone(),
            tenant_id: user.tenant_id.clone(),
            csrf: hex::encode(crate::ids::random_bytes::<32>()),
            created_at: now,
            last_seen_at: now,
            expires_at: now + life_ms,
        })
        .await?;
    tracing::info!(user = %user.id, tenant = %user.tenant_id, "dashboard login");
    let secure = over_https(&parts.headers, peer(&parts), &s);
    let mut resp = super::see_other(&next);
    let h = resp.headers_mut();
    h.append(header::SET_COOKIE, set_cookie(SESSION_COOKIE, &token, life_ms / 1000, secure));
    h.append(header::SET_COOKIE, set_cookie(LOGIN_COOKIE, "", 0, secure));
    Ok(resp)
}

#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    pub csrf: String,
}

/// `POST /dashboard/logout`.
pub async fn logout(
    State(s): State<AppState>,
    viewer: Viewer,
    parts: Parts,
    Form(f): Form<CsrfForm>,
) -> Result<Response, DashError> {
    viewer.check_csrf(&f.csrf)?;
    s.store.delete_session(&viewer.session.id_hash).await?;
    let mut resp = super::see_other("/dashboard/login");
    let secure = over_https(&parts.headers, peer(&parts), &s);
    resp.headers_mut().append(header::SET_COOKIE, set_cookie(SESSION_COOKIE, "", 0, secure));
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_dashboard_paths_are_followed_after_login() {
        assert_eq!(safe_next("/dashboard/cases?page=2"), "/dashboard/cases?page=2");
        for bad in
            ["https://evil.example", "//evil.example", "/dashboard//evil", "/v1/clients", "/dashboard\\x", ""]
        {
            assert_eq!(safe_next(bad), "/dashboard/cases", "{bad}");
        }
    }

    #[test]
    fn cookies_are_found_by_name() {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, HeaderValue::from_static("a=1; verity_session=abc ; b=2"));
        assert_eq!(cookie(&h, "verity_session"), Some("abc"));
        assert_eq!(cookie(&h, "c"), None);
    }
}
