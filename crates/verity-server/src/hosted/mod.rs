//! The hosted capture flow, the seed's third API surface ("Identity Verification API",
//! `../shared/seeds/video-selfie-verification-api.txt`): a page served by Verity records a
//! selfie video with random prompts and an ID photo; `POST /verif/submit` runs the same
//! pipeline as `/v1/identity/verify` (a selfie video in place of a photo) and answers the
//! seed's result; the partner's webhook gets it too.
//!
//! - [`session`]: capture sessions (`POST /v1/capture-sessions`), the single-use token a
//!   capture link carries — the seed's `?api_key=` link is exchanged for one at once;
//! - [`page`]: `GET /verif/` and the page at `/verif/s/<token>`;
//! - [`submit`]: `POST /verif/submit`;
//! - [`links`]: short-lived signed links to the stored files;
//! - [`partner`]: each tenant's partner settings (theme, languages, webhook, retention);
//! - [`webhook`]: the seed's webhook payload, signed and retried;
//! - [`retention`]: files and face embeddings deleted after the retention period;
//! - [`complycube`]: ComplyCube's `POST /v1/flow/sessions` and `POST /v1/tokens` on capture
//!   sessions, the submission filed on the client as ComplyCube checks.
//!
//! A hosted check is stored as a verification (`ver_…`, `mode: "hosted"`), so it is listed,
//! read and deleted with `/v1/identity/verify` like the others.

pub mod complycube;
pub mod links;
pub mod page;
pub mod partner;
pub mod retention;
pub mod session;
pub mod submit;
pub mod webhook;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::error::ApiError;
use crate::AppState;

/// Where users and partners reach this server (no trailing slash).
pub fn public_url(s: &AppState) -> String {
    let configured = s.config.hosted.public_url.trim_end_matches('/');
    if configured.is_empty() {
        format!("http://{}", s.config.listen)
    } else {
        configured.to_string()
    }
}

/// A tenant id as it stands in a capture link or a file link (base64url).
pub fn tenant_in_url(tenant: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(tenant.as_bytes())
}

/// The tenant id a link names, if it is well-formed.
pub fn tenant_from_url(t: &str) -> Option<String> {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(t).ok().and_then(|b| String::from_utf8(b).ok())
}

/// An error of the seed's endpoints: the seed's `{"success": false, "error": message}` and
/// Verity's stable `code`, `type` and `message`.
pub struct SeedError(pub ApiError);

impl From<ApiError> for SeedError {
    fn from(e: ApiError) -> Self {
        SeedError(e)
    }
}

impl SeedError {
    pub fn new(status: StatusCode, code: &'static str, message: &str) -> Self {
        SeedError(match status {
            StatusCode::UNAUTHORIZED => ApiError::Unauthorized(message.into()),
            StatusCode::PAYLOAD_TOO_LARGE => ApiError::too_large(code, message, None),
            StatusCode::UNPROCESSABLE_ENTITY => ApiError::invalid(code, message, None),
            StatusCode::GONE => ApiError::Gone { code, message: message.into() },
            StatusCode::NOT_FOUND => ApiError::NotFound { what: "verification link" },
            _ => ApiError::bad(code, message, None),
        })
    }
}

impl IntoResponse for SeedError {
    fn into_response(self) -> Response {
        let (status, kind, code, param) = self.0.parts();
        let (code, message) = match status {
            StatusCode::UNAUTHORIZED => ("invalid_api_key", "Invalid API key".to_string()),
            s if s.is_server_error() => (code, "Verification processing failed".to_string()),
            _ => (code, self.0.to_string()),
        };
        let mut body =
            json!({"success": false, "error": message, "type": kind, "code": code, "message": message});
        if let Some(p) = param {
            body["param"] = json!(p);
        }
        // The API error's own answer (its logging, `Retry-After`) with the seed's body.
        let (parts, _) = self.0.into_response().into_parts();
        let mut resp = Json(body).into_response();
        *resp.status_mut() = parts.status;
        for (name, value) in parts.headers.iter() {
            if name != axum::http::header::CONTENT_TYPE && name != axum::http::header::CONTENT_LENGTH {
                resp.headers_mut().insert(name.clone(), value.clone());
            }
        }
        resp
    }
}

pub type SeedResult<T> = Result<T, SeedError>;
