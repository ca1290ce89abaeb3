//! Short-lived signed links to a hosted check's files (the seed's `files.*.url`,
//! `selfie_video_url`, `id_photo_url`): never a public path. A link names the tenant, the
//! verification, the file and its expiry, signed with a key derived from the file key (every
//! process of a deployment checks it alike). After `hosted.link_ttl_secs` it answers 410, and
//! after the retention period the file itself is gone (410 too).

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use verity_store::time::now_ms;

use super::{SeedError, SeedResult};
use crate::resources::{Internal, Kind};
use crate::verification::Verification;
use crate::AppState;

/// The files a link may name.
pub const NAMES: [&str; 3] = ["selfie_video", "document_front", "document_back"];

fn signed_part(tenant_b64: &str, id: &str, name: &str, expires: i64) -> String {
    format!("{tenant_b64}/{id}/{name}/{expires}")
}

/// A link to a verification's file, valid for `hosted.link_ttl_secs`.
pub fn link(s: &AppState, tenant: &str, id: &str, name: &str) -> String {
    let t = super::tenant_in_url(tenant);
    let expires = now_ms() / 1000 + s.config.hosted.link_ttl_secs as i64;
    let sig = s.files.sign_link(&signed_part(&t, id, name, expires));
    format!("{}/verif/files/{t}/{id}/{name}?expires={expires}&signature={sig}", super::public_url(s))
}

fn gone(code: &'static str, message: &str) -> SeedError {
    SeedError::new(StatusCode::GONE, code, message)
}

/// What a file's first bytes say it is.
pub fn content_type(bytes: &[u8]) -> &'static str {
    match bytes {
        [0xFF, 0xD8, ..] => "image/jpeg",
        [b'%', b'P', b'D', b'F', ..] => "application/pdf",
        [0x89, b'P', b'N', b'G', ..] => "image/png",
        [b'R', b'I', b'F', b'F', _, _, _, _, b'W', b'E', b'B', b'P', ..] => "image/webp",
        [0x1A, 0x45, 0xDF, 0xA3, ..] => "video/webm",
        [_, _, _, _, b'f', b't', b'y', b'p', ..] => "video/mp4",
        _ => "application/octet-stream",
    }
}

/// The file extension of an ID photo (JPEG unless its bytes say otherwise).
pub fn photo_extension(bytes: &[u8]) -> &'static str {
    match content_type(bytes) {
        "image/png" => "png",
        "image/webp" => "webp",
        "application/pdf" => "pdf",
        _ => "jpg",
    }
}

/// `GET /verif/files/{tenant}/{id}/{name}?expires=…&signature=…`.
pub async fn download(
    State(s): State<AppState>,
    Path((t, id, name)): Path<(String, String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> SeedResult<Response> {
    let not_found = || SeedError(crate::error::ApiError::NotFound { what: "file" });
    let expires: i64 = q.get("expires").and_then(|e| e.parse().ok()).ok_or_else(not_found)?;
    let given = q.get("signature").map(String::as_str).unwrap_or_default();
    let expected = s.files.sign_link(&signed_part(&t, &id, &name, expires));
    // Compared by hash: no early exit on the first differing character.
    if crate::ids::key_hash(given) != crate::ids::key_hash(&expected) || !NAMES.contains(&name.as_str()) {
        return Err(not_found());
    }
    if now_ms() / 1000 > expires {
        return Err(gone("link_expired", "this link has expired: ask for a new one"));
    }
    let tenant = super::tenant_from_url(&t).ok_or_else(not_found)?;
    let r = s.store.get(&tenant, Verification::KIND, &id).await.map_err(|e| SeedError(e.into()))?;
    let r = r.ok_or_else(not_found)?;
    let Some(key) = Internal::of(&r).files.get(&name).cloned() else {
        return Err(gone("file_deleted", "this file was deleted (retention period or erasure)"));
    };
    let bytes = s.files.get(&key).await.map_err(|e| SeedError(e.into()))?;
    let mut resp = bytes.clone().into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type(&bytes)));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    h.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("default-src 'none'; sandbox"));
    h.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    Ok(resp)
}
