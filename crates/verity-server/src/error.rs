//! The API's errors, mapped to HTTP in exactly one place. Bodies have ComplyCube's shape
//! (`type`, `message`, `param`) plus a stable `code`. The cause of a 5xx is logged, not sent.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: malformed request (bad JSON, bad base64, bad query parameter).
    #[error("{message}")]
    BadRequest { code: &'static str, message: String, param: Option<String> },
    /// 401.
    #[error("{0}")]
    Unauthorized(String),
    /// 404: absent, or another tenant's.
    #[error("{what} not found")]
    NotFound { what: &'static str },
    /// 413.
    #[error("{message}")]
    TooLarge { code: &'static str, message: String, param: Option<String> },
    /// 408: the client sent too slowly.
    #[error("{message}")]
    Timeout { code: &'static str, message: String },
    /// 410: it existed and is gone for good (an expired link, a deleted file).
    #[error("{message}")]
    Gone { code: &'static str, message: String },
    /// 409: the resource kept changing under this request (see `resources::modify`).
    #[error("{0}")]
    Conflict(String),
    /// 422: well-formed but not acceptable (validation, state).
    #[error("{message}")]
    Invalid { code: &'static str, message: String, param: Option<String> },
    /// 429.
    #[error("rate limit exceeded: retry in {retry_after} s")]
    RateLimited { retry_after: u64 },
    /// 503: a dependency is down (database).
    #[error("service unavailable")]
    Unavailable(String),
    /// 500.
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    pub fn bad(code: &'static str, message: impl Into<String>, param: Option<&str>) -> Self {
        ApiError::BadRequest { code, message: message.into(), param: param.map(str::to_string) }
    }
    pub fn invalid(code: &'static str, message: impl Into<String>, param: Option<&str>) -> Self {
        ApiError::Invalid { code, message: message.into(), param: param.map(str::to_string) }
    }
    pub fn too_large(code: &'static str, message: impl Into<String>, param: Option<&str>) -> Self {
        ApiError::TooLarge { code, message: message.into(), param: param.map(str::to_string) }
    }

    /// Status, type, code and parameter.
    pub(crate) fn parts(&self) -> (StatusCode, &'static str, &'static str, Option<&str>) {
        match self {
            ApiError::BadRequest { code, param, .. } => {
                (StatusCode::BAD_REQUEST, "invalid_request", code, param.as_deref())
            }
            ApiError::Unauthorized(_) => {
                (StatusCode::UNAUTHORIZED, "authentication_error", "unauthorized", None)
            }
            ApiError::NotFound { .. } => (StatusCode::NOT_FOUND, "resource_not_found", "not_found", None),
            ApiError::TooLarge { code, param, .. } => {
                (StatusCode::PAYLOAD_TOO_LARGE, "invalid_request", code, param.as_deref())
            }
            ApiError::Timeout { code, .. } => (StatusCode::REQUEST_TIMEOUT, "invalid_request", code, None),
            ApiError::Conflict(_) => (StatusCode::CONFLICT, "conflict_error", "conflict", None),
            ApiError::Gone { code, .. } => (StatusCode::GONE, "resource_gone", code, None),
            ApiError::Invalid { code, param, .. } => {
                (StatusCode::UNPROCESSABLE_ENTITY, "validation_error", code, param.as_deref())
            }
            ApiError::RateLimited { .. } => {
                (StatusCode::TOO_MANY_REQUESTS, "rate_limit_exceeded", "rate_limited", None)
            }
            ApiError::Unavailable(_) => {
                (StatusCode::SERVICE_UNAVAILABLE, "internal_error", "unavailable", None)
            }
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal_error", "internal", None),
        }
    }
}

impl From<verity_store::StoreError> for ApiError {
    fn from(e: verity_store::StoreError) -> Self {
        match e {
            verity_store::StoreError::BadFilter(f) => {
                ApiError::bad("bad_filter", format!("cannot filter on {f:?}"), Some(&f))
            }
            e if e.is_unavailable() => ApiError::Unavailable(e.to_string()),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<crate::files::FileError> for ApiError {
    fn from(e: crate::files::FileError) -> Self {
        ApiError::Internal(e.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, kind, code, param) = self.parts();
        if status.is_server_error() {
            let cause = match &self {
                ApiError::Internal(c) | ApiError::Unavailable(c) => c.as_str(),
                _ => "",
            };
            tracing::error!(status = status.as_u16(), code, cause, "request failed");
        }
        let mut body = json!({"type": kind, "code": code, "message": self.to_string()});
        if let Some(p) = param {
            body["param"] = json!(p);
        }
        let mut resp = (status, Json(body)).into_response();
        if let ApiError::RateLimited { retry_after } = self {
            if let Ok(v) = retry_after.to_string().parse() {
                resp.headers_mut().insert("retry-after", v);
            }
        }
        resp
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
