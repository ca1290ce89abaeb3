//! The partner dashboard (`/dashboard/`): server-rendered pages (maud) for a tenant's people —
//! every case Verity decided (ComplyCube checks, one-call verifications, hosted captures) with
//! its images and evidence. No script is needed to read it; every page is `no-store`, framed
//! by nobody, and loads nothing from elsewhere (CSP). Users and sessions: [`users`],
//! [`session`].

mod audit_log;
mod case;
mod cases;
mod evidence;
mod files;
mod layout;
mod overview;
pub mod review;
pub mod session;
mod settings;
pub mod users;
mod webhooks;

use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

use crate::AppState;

/// Why a dashboard request was not served; answered as a page (or a redirect to the login).
#[derive(Debug, thiserror::Error)]
pub enum DashError {
    #[error("not signed in")]
    SignedOut { next: String },
    #[error("the form expired or did not come from this dashboard")]
    Csrf,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    BadRequest(String),
    #[error("too many attempts: retry in {retry_after} s")]
    RateLimited { retry_after: u64 },
    #[error("the database is unavailable")]
    Unavailable(String),
    #[error("internal error")]
    Internal(String),
}

impl From<verity_store::StoreError> for DashError {
    fn from(e: verity_store::StoreError) -> Self {
        if e.is_unavailable() {
            DashError::Unavailable(e.to_string())
        } else {
            DashError::Internal(e.to_string())
        }
    }
}

impl From<crate::files::FileError> for DashError {
    fn from(e: crate::files::FileError) -> Self {
        DashError::Internal(e.to_string())
    }
}

impl From<crate::error::ApiError> for DashError {
    fn from(e: crate::error::ApiError) -> Self {
        use crate::error::ApiError as A;
        match e {
            A::NotFound { what } => DashError::NotFound(what),
            A::BadRequest { message, .. } | A::Invalid { message, .. } => DashError::BadRequest(message),
            A::Conflict(m) => DashError::BadRequest(m),
            A::Unavailable(m) => DashError::Unavailable(m),
            other => DashError::Internal(other.to_string()),
        }
    }
}

impl IntoResponse for DashError {
    fn into_response(self) -> Response {
        let (status, code) = match &self {
            DashError::SignedOut { next } => {
                return see_other(&format!("/dashboard/login?next={}", percent_encode(next)));
            }
            DashError::Csrf => (StatusCode::FORBIDDEN, "csrf_failed"),
            DashError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            DashError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            DashError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            DashError::RateLimited { .. } => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            DashError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            DashError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        };
        if let DashError::Internal(cause) | DashError::Unavailable(cause) = &self {
            tracing::error!(%cause, "dashboard error");
        }
        let message = match &self {
            DashError::Internal(_) => "Something went wrong; it has been logged.".to_string(),
            e => e.to_string(),
        };
        let mut resp = (status, layout::error_page(status, code, &message)).into_response();
        if let DashError::RateLimited { retry_after } = self {
            if let Ok(v) = HeaderValue::from_str(&retry_after.to_string()) {
                resp.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        resp
    }
}

/// A `303 See Other` to a path of this server.
pub fn see_other(to: &str) -> Response {
    let mut resp = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    resp
}

/// Percent-encodes everything but unreserved characters (RFC 3986).
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Every dashboard answer: not stored by the browser or proxies, not framed, nothing loaded from
/// elsewhere, no script at all.
async fn headers(req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    // A page that sets its own policy (the capture page's preview) keeps it.
    let set = |h: &mut axum::http::HeaderMap, k: header::HeaderName, v: &'static str| {
        if !h.contains_key(&k) {
            h.insert(k, HeaderValue::from_static(v));
        }
    };
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store, private"));
    set(
        h,
        header::CONTENT_SECURITY_POLICY,
        "default-src 'none'; style-src 'self'; img-src 'self'; frame-src 'self'; form-action 'self'; \
         frame-ancestors 'none'; base-uri 'none'",
    );
    set(h, header::X_FRAME_OPTIONS, "DENY");
    set(h, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(h, header::REFERRER_POLICY, "same-origin");
    resp
}

const CSS: &str = include_str!("assets/dashboard.css");

async fn css() -> Response {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], CSS).into_response()
}

/// The dashboard's routes, under `/dashboard`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/dashboard", get(|| async { see_other("/dashboard/cases") }))
        .route("/dashboard/", get(|| async { see_other("/dashboard/cases") }))
        .route("/dashboard/login", get(session::login_page).post(session::login))
        .route("/dashboard/logout", post(session::logout))
        .route("/dashboard/assets/dashboard.css", get(css))
        .route("/dashboard/cases", get(cases::list))
        .route("/dashboard/cases/{kind}/{id}", get(case::show))
        .route("/dashboard/cases/{kind}/{id}/files/{name}", get(files::download))
        .route("/dashboard/cases/{kind}/{id}/review", post(review::review))
        .route("/dashboard/audit", get(audit_log::list))
        .route("/dashboard/overview", get(overview::show))
        .route("/dashboard/settings", get(settings::show))
        .route("/dashboard/settings/preview", get(settings::preview))
        .route("/dashboard/settings/partner", post(settings::save_partner))
        .route("/dashboard/settings/keys", post(settings::create_key))
        .route("/dashboard/settings/keys/{id}/revoke", post(settings::revoke_key))
        .route("/dashboard/settings/users", post(settings::add_member))
        .route("/dashboard/settings/users/{id}/{change}", post(settings::set_member))
        .route("/dashboard/webhooks", get(webhooks::list))
        .route("/dashboard/webhooks/{id}", get(webhooks::show))
        .route("/dashboard/webhooks/{id}/deliveries/{delivery}/redeliver", post(webhooks::redeliver))
        .route(
            "/dashboard/cases/verification/{id}/deliveries/{delivery}/redeliver",
            post(webhooks::redeliver_verification),
        )
        // Changes made by a signed-in user are theirs in the audit log (the `Viewer` names them).
        .layer(axum::middleware::from_fn(|req: Request, next: Next| {
            crate::audit::scope("dashboard", req, next)
        }))
        .layer(axum::middleware::from_fn(headers))
}
