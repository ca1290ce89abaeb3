//! `POST /verif/submit`: the seed's multipart form (`api_key`, `user_identifier` or `user_id`,
//! `selfie_video` ≤ 50 MB, `id_photo`, `user_email`, `user_phone`) — or the capture page's,
//! which sends its session token (`session`) instead of a key, the prompts it showed
//! (`liveness_prompts`), and may add `id_photo_back`, `document_type` and `country`.
//!
//! The files are checked at the edge (video: container, codec, size, duration; photo: decodes,
//! size), stored encrypted with a `pending` hosted verification, their deletion queued for the
//! end of the retention period, and the pipeline runs in place; the answer is the seed's
//! result. A `run_verification` job is queued as a safety net, so a check whose process dies
//! mid-run still finishes (and its webhook still goes).

use std::io::Write;

use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use verity_checks::verify::{CheckName, DocumentType};
use verity_store::Resource;

use super::session::{self, Closed};
use super::{partner, retention, SeedError, SeedResult};
use crate::error::ApiError;
use crate::resources::{new_resource, Internal, Kind};
use crate::verification::run::{self, Images};
use crate::verification::Verification;
use crate::AppState;

/// What a hosted check runs.
const HOSTED_CHECKS: [CheckName; 4] =
    [CheckName::Ocr, CheckName::FaceMatch, CheckName::Liveness, CheckName::Fraud];

/// Largest text field.
const TEXT_MAX: usize = 8 * 1024;

/// What the form brought.
#[derive(Default)]
struct Form {
    api_key: Option<String>,
    user_identifier: Option<String>,
    user_email: Option<String>,
    user_phone: Option<String>,
    session: Option<String>,
    prompts: Option<String>,
    document_type: Option<String>,
    country: Option<String>,
    video: Option<(tempfile::NamedTempFile, usize)>,
    photo: Option<Vec<u8>>,
    photo_back: Option<Vec<u8>>,
}

fn bad(code: &'static str, message: impl Into<String>) -> SeedError {
    SeedError(ApiError::bad(code, message, None))
}

fn invalid(code: &'static str, message: impl Into<String>, field: &str) -> SeedError {
    SeedError(ApiError::invalid(code, message, Some(field)))
}

fn interrupted(e: &dyn std::fmt::Display) -> SeedError {
    tracing::info!(detail = %e, "hosted upload unreadable");
    bad("body_unreadable", "the upload was interrupted or is not a well-formed form")
}

async fn text(field: axum::extract::multipart::Field<'_>, name: &str) -> SeedResult<String> {
    let bytes = read_bounded(field, TEXT_MAX, name).await?;
    String::from_utf8(bytes).map_err(|_| bad("field_invalid", format!("`{name}` is not UTF-8 text")))
}

async fn read_bounded(
    mut field: axum::extract::multipart::Field<'_>,
    max: usize,
    name: &str,
) -> SeedResult<Vec<u8>> {
    let mut out = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(|e| interrupted(&e))? {
        if out.len() + chunk.len() > max {
            return Err(SeedError(ApiError::too_large(
                "file_too_large",
                format!("`{name}` is larger than {max} bytes"),
                Some(name),
            )));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

/// Reads the whole form: the video streams to a temporary file, the photos into memory, each
/// bounded.
async fn read_form(s: &AppState, mut form: Multipart) -> SeedResult<Form> {
    let mut f = Form::default();
    let video_max = s.config.limits.video_body_bytes;
    let photo_max = s.config.hosted.photo_bytes;
    let duplicate = |name: &str| bad("field_duplicate", format!("`{name}` was sent twice"));
    while let Some(mut field) = form.next_field().await.map_err(|e| interrupted(&e))? {
        let name = field.name().unwrap_or_default().to_string();
        let slot = match name.as_str() {
            "api_key" => &mut f.api_key,
            "user_identifier" | "user_id" => &mut f.user_identifier,
            "user_email" => &mut f.user_email,
            "user_phone" => &mut f.user_phone,
            "session" => &mut f.session,
            "liveness_prompts" => &mut f.prompts,
            "document_type" => &mut f.document_type,
            "country" => &mut f.country,
            "selfie_video" => {
                if f.video.is_some() {
                    return Err(duplicate(&name));
                }
                let tmp = tempfile::NamedTempFile::new()
                    .map_err(|e| SeedError(ApiError::Internal(e.to_string())))?;
                let mut file = tmp.reopen().map_err(|e| SeedError(ApiError::Internal(e.to_string())))?;
                let mut size = 0usize;
                while let Some(chunk) = field.chunk().await.map_err(|e| interrupted(&e))? {
                    size += chunk.len();
                    if size > video_max {
                        return Err(SeedError(ApiError::too_large(
                            "file_too_large",
                            format!("the selfie video is larger than {video_max} bytes"),
                            Some("selfie_video"),
                        )));
                    }
                    file.write_all(&chunk).map_err(|e| SeedError(ApiError::Internal(e.to_string())))?;
                }
                f.video = (size > 0).then_some((tmp, size));
                continue;
            }
            "id_photo" | "id_photo_back" => {
                let bytes = read_bounded(field, photo_max, &name).await?;
                let slot = if name == "id_photo" { &mut f.photo } else { &mut f.photo_back };
                if slot.is_some() {
                    return Err(duplicate(&name));
                }
                *slot = Some(bytes).filter(|b| !b.is_empty());
                continue;
            }
            _ => {
                // Fields of other clients (a CSRF token, a language) are read and ignored.
                read_bounded(field, 64 * 1024, &name).await?;
                continue;
            }
        };
        let value = text(field, &name).await?;
        if slot.is_some() {
            return Err(duplicate(&name));
        }
        *slot = Some(value.trim().to_string()).filter(|v| !v.is_empty());
    }
    Ok(f)
}

/// Who submits: the session's tenant and subject, or the seed's key and fields.
struct Submitter {
    tenant: String,
    session: Option<Resource>,
    user_identifier: String,
    user_email: Option<String>,
    user_phone: Option<String>,
}

async fn submitter(s: &AppState, addr: &str, f: &Form) -> SeedResult<Submitter> {
    if let Some(token) = &f.session {
        let r = session::by_token(s, token).await.map_err(closed)?;
        session::state_of(&r).map_err(closed)?;
        let b = &r.body;
        let str_of = |k: &str| b[k].as_str().map(str::to_string);
        return Ok(Submitter {
            tenant: r.tenant_id.clone(),
            user_identifier: str_of("user_identifier").unwrap_or_default(),
            user_email: str_of("user_email"),
            user_phone: str_of("user_phone"),
            session: Some(r),
        });
    }
    // The seed's error table, in its order.
    let key = f.api_key.as_deref().ok_or_else(|| bad("api_key_required", "API key is required"))?;
    let user = f
        .user_identifier
        .clone()
        .ok_or_else(|| bad("user_identifier_required", "User identifier is required"))?;
    let caller = crate::auth::authenticate_key(s, addr, key).await?;
    session::check_identifier(&user)?;
    session::check_contact(f.user_email.as_deref(), f.user_phone.as_deref())?;
    Ok(Submitter {
        tenant: caller.tenant_id,
        session: None,
        user_identifier: user,
        user_email: f.user_email.clone(),
        user_phone: f.user_phone.clone(),
    })
}

/// A closed session as an error.
pub fn closed(c: Closed) -> SeedError {
    let message = match c {
        Closed::Unknown => "this verification link is not valid",
        Closed::Expired => "this verification link has expired: ask for a new one",
        Closed::Used => "this verification link was already used",
    };
    SeedError::new(c.status(), c.code(), message)
}

/// The prompts the video was recorded with: `[{name, shown_at_ms}]` as the page sends them,
/// checked against the session's (same names, same order).
fn prompts(f: &Form, session: Option<&Resource>) -> SeedResult<Vec<Value>> {
    let expected: Vec<String> = session
        .and_then(|r| r.body["challenges"].as_array().cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(|c| c.as_str().map(str::to_string))
        .collect();
    let sent: Vec<(String, u64)> = match &f.prompts {
        None => Vec::new(),
        Some(text) => {
            let v: Value = serde_json::from_str(text).map_err(|_| {
                invalid("field_invalid", "`liveness_prompts` is not JSON", "liveness_prompts")
            })?;
            let items = v.as_array().cloned().unwrap_or_default();
            let parsed: Option<Vec<(String, u64)>> = items
                .iter()
                .map(|p| {
                    let name = p["name"].as_str()?;
                    verity_liveness::Challenge::parse(name)?;
                    Some((name.to_string(), p["shown_at_ms"].as_u64()?))
                })
                .collect();
            parsed.filter(|p| p.len() <= 4).ok_or_else(|| {
                invalid(
                    "field_invalid",
                    "`liveness_prompts` must be a list of {name, shown_at_ms} with known challenge names",
                    "liveness_prompts",
                )
            })?
        }
    };
    if session.is_some() {
        let names: Vec<&str> = sent.iter().map(|(n, _)| n.as_str()).collect();
        if names != expected.iter().map(String::as_str).collect::<Vec<_>>() {
            return Err(invalid(
                "prompts_mismatch",
                format!("the video must answer the session's prompts in order: {}", expected.join(", ")),
                "liveness_prompts",
            ));
        }
    }
    Ok(sent.into_iter().map(|(name, at)| json!({"name": name, "shown_at_ms": at})).collect())
}

/// Checks the files at the edge; answers what the video is and the photo's file extension.
async fn check_files(s: &AppState, f: &Form) -> SeedResult<(Value, &'static str)> {
    let (Some((video, _)), Some(photo)) = (&f.video, &f.photo) else {
        return Err(bad("files_required", "Both selfie video and ID photo are required"));
    };
    let limits = verity_liveness::VideoLimits {
        max_bytes: s.config.limits.video_body_bytes as u64,
        ..verity_liveness::VideoLimits::default()
    };
    let path = video.path().to_path_buf();
    let probe = tokio::task::spawn_blocking(move || verity_liveness::video::probe_file(&path, &limits))
        .await
        .map_err(|e| SeedError(ApiError::Internal(e.to_string())))?
        .map_err(|e| {
            if e.is_input_error() {
                invalid(e.code(), format!("selfie_video: {e}"), "selfie_video")
            } else {
                SeedError(ApiError::Internal(e.to_string()))
            }
        })?;
    let video_ext =
        if probe.container.contains("webm") || probe.container.contains("matroska") { "webm" } else { "mp4" };
    let video_info = json!({
        "extension": video_ext,
        "bytes": f.video.as_ref().map(|v| v.1),
        "codec": probe.codec,
        "width": probe.width,
        "height": probe.height,
        "duration_s": (probe.duration * 100.0).round() / 100.0,
    });
    for (name, bytes) in [("id_photo", Some(photo)), ("id_photo_back", f.photo_back.as_ref())] {
        let Some(bytes) = bytes.cloned() else { continue };
        let decoded = tokio::task::spawn_blocking(move || {
            verity_imaging::decode_document(&bytes, &verity_imaging::Limits::default()).map(|_| ())
        })
        .await
        .map_err(|e| SeedError(ApiError::Internal(e.to_string())))?;
        decoded.map_err(|e| invalid("image_unreadable", format!("{name}: {e}"), name))?;
    }
    Ok((video_info, super::links::photo_extension(photo)))
}

/// `POST /verif/submit`.
pub async fn submit(State(s): State<AppState>, req: Request) -> SeedResult<Response> {
    let (parts, body) = req.into_parts();
    let addr = crate::auth::peer_ip(&parts, &s).map(|ip| ip.to_string()).unwrap_or_default();
    let req = Request::from_parts(parts, body);
    let multipart = req
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"));
    if !multipart {
        return Err(bad("multipart_required", "send multipart/form-data (see the seed's request format)"));
    }
    let form = Multipart::from_request(req, &s).await.map_err(|_| {
        bad("multipart_invalid", "the multipart form cannot be read: send it with its boundary")
    })?;
    let f = read_form(&s, form).await?;
    let who = submitter(&s, &addr, &f).await?;
    let prompts = prompts(&f, who.session.as_ref())?;
    let document_type = match f.document_type.as_deref() {
        None => DocumentType::Any,
        Some(t) => DocumentType::parse(t).ok_or_else(|| {
            invalid(
                "field_invalid",
                "`document_type` must be passport, cin, cni, permit or residence_card",
                "document_type",
            )
        })?,
    };
    let country = match f.country.as_deref().map(verity_mrz::CountryCode::parse_any_case) {
        None => None,
        Some(Some(c)) => Some(c),
        Some(None) => {
            return Err(invalid("field_invalid", "`country` must be an ISO 3166-1 alpha-2 code", "country"))
        }
    };
    let (video_info, photo_ext) = check_files(&s, &f).await?;
    let settings = partner::load(&s, &who.tenant).await?;
    let mut body = crate::verification::pending_body(&HOSTED_CHECKS, document_type, country, "hosted");
    let hosted = json!({
        "user_identifier": who.user_identifier,
        "user_email": who.user_email,
        "user_phone": who.user_phone,
        "capture_session": who.session.as_ref().map(|c| format!("cs_{}", c.id)),
        "liveness_prompts": prompts,
        "files": {
            "selfie_video": video_info,
            "document_front": {"extension": photo_ext},
        },
        "retention_days": settings.retention_days,
    });
    if let (Some(b), Value::Object(h)) = (body.as_object_mut(), hosted) {
        b.extend(h);
    }
    let mut r = new_resource::<Verification>(&who.tenant, None, body);
    if let Some(c) = &who.session {
        session::consume(&s, c, &format!("ver_{}", r.id)).await.map_err(closed)?;
    }
    let images = store(&s, &mut r, f).await?;
    if let Some(c) = &who.session {
        super::complycube::queue(&s, c, &r.id).await.map_err(ApiError::from)?;
    }
    retention::schedule(&s, &r.tenant_id, Verification::KIND, &r.id, settings.retention_days)
        .await
        .map_err(ApiError::from)?;
    let done = run::in_place(&s, &r, images).await.map_err(ApiError::from)?;
    if let Some(c) = &who.session {
        reopen_if_retryable(&s, c, &done).await;
    }
    let result = super::webhook::result(&s, &done);
    let code = if result["status"] == "pending" { StatusCode::ACCEPTED } else { StatusCode::OK };
    let id = crate::resources::Id::<Verification>::of(&done).public();
    Ok((
        code,
        Json(json!({"success": true, "check_id": id, "result": result, "retryable": done.body["retryable"]})),
    )
        .into_response())
}

/// Stores the files (encrypted) and the pending verification; answers the images to run on.
async fn store(s: &AppState, r: &mut Resource, f: Form) -> SeedResult<Images> {
    let mut internal = Internal::default();
    let (video, _) =
        f.video.ok_or_else(|| bad("files_required", "Both selfie video and ID photo are required"))?;
    let key = crate::files::key(&r.tenant_id, Verification::KIND, &r.id, "selfie_video");
    s.files.put_file(&key, video.path()).await.map_err(ApiError::from)?;
    internal.files.insert("selfie_video".into(), key);
    let front = f.photo.unwrap_or_default();
    for (name, bytes) in [("document_front", Some(&front)), ("document_back", f.photo_back.as_ref())] {
        if let Some(b) = bytes {
            let key = crate::files::key(&r.tenant_id, Verification::KIND, &r.id, name);
            s.files.put(&key, b).await.map_err(ApiError::from)?;
            internal.files.insert(name.into(), key);
        }
    }
    internal.store_in(r);
    s.store.insert(r).await.map_err(ApiError::from)?;
    Ok(Images { front, back: f.photo_back, selfie: None, video: Some(video) })
}

/// At most this many submissions per capture link when the results ask the user to try again.
const MAX_TRIES: u64 = 3;

/// A result that only failed on image quality lets the user try again on the same link.
async fn reopen_if_retryable(s: &AppState, c: &Resource, done: &Resource) {
    if done.body["retryable"] != true {
        return;
    }
    let r = crate::resources::modify::<session::CaptureSession, _>(s, &c.tenant_id, &c.id, |r| {
        let tries = r.body["tries"].as_u64().unwrap_or(0) + 1;
        r.body["tries"] = json!(tries);
        if tries < MAX_TRIES && r.body["status"] == "submitted" {
            r.body["status"] = json!("created");
        }
        Ok(())
    })
    .await;
    if let Err(e) = r {
        tracing::warn!(session = %c.id, error = %e, "cannot reopen the capture session");
    }
}
