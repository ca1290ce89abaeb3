//! `/v1/liveVideos`: a selfie video uploaded either as the raw request body
//! (`POST /v1/liveVideos?clientId=ID`, `Content-Type: video/mp4 | video/webm | video/quicktime`)
//! or as a `multipart/form-data` form with a `clientId` field and a `video` file field (what a
//! browser's `FormData` sends). ≤ `limits.video_body_bytes`, streamed to a temporary file while
//! counted, checked with ffprobe (streams, container, codec, dimensions, duration), stored
//! encrypted, streaming.

use std::collections::HashMap;
use std::io::Write;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};
use verity_liveness::VideoLimits;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::files::key as file_key;
use crate::resources::kinds::{Client, LiveVideo};
use crate::resources::{fetch, new_resource, render, Internal};
use crate::AppState;

/// The video limits the server applies (upload size from the config).
pub fn video_limits(s: &AppState) -> VideoLimits {
    VideoLimits { max_bytes: s.config.limits.video_body_bytes as u64, ..VideoLimits::default() }
}

/// Where the upload's bytes come from: a raw body or one part of a multipart form.
enum Source {
    Raw(Body),
    Multipart(axum::extract::Multipart),
}

/// Reads and discards what is left of a refused upload (up to `cap` bytes, 30 s), so the client
/// finishes sending and reads the error instead of seeing the connection reset.
async fn drain(source: Source, cap: usize) {
    let work = async {
        let mut seen = 0usize;
        match source {
            Source::Raw(body) => {
                use futures_util::StreamExt;
                let mut stream = body.into_data_stream();
                while let Some(Ok(chunk)) = stream.next().await {
                    seen += chunk.len();
                    if seen > cap {
                        break;
                    }
                }
            }
            Source::Multipart(mut form) => {
                while let Ok(Some(mut field)) = form.next_field().await {
                    while let Ok(Some(chunk)) = field.chunk().await {
                        seen += chunk.len();
                        if seen > cap {
                            return;
                        }
                    }
                }
            }
        }
    };
    let _ = tokio::time::timeout(std::time::Duration::from_secs(30), work).await;
}

pub async fn create(
    State(s): State<AppState>,
    caller: Caller,
    Query(params): Query<HashMap<String, String>>,
    req: axum::extract::Request,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let is_multipart = req
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"));
    let source = if is_multipart {
        use axum::extract::FromRequest;
        let m = axum::extract::Multipart::from_request(req, &s).await.map_err(|e| {
            tracing::info!(detail = %e, "multipart form refused");
            ApiError::bad(
                "multipart_invalid",
                "the multipart form cannot be read: send multipart/form-data with its boundary",
                None,
            )
        })?;
        Source::Multipart(m)
    } else {
        Source::Raw(req.into_body())
    };
    let limit = s.config.limits.video_body_bytes;
    let mut client_id = params.get("clientId").filter(|c| !c.is_empty()).cloned();
    // A client named in the query is checked before the video is read.
    let early = match &client_id {
        Some(id) => fetch::<Client>(&s, &caller.tenant_id, id).await.err(),
        None if !is_multipart => Some(ApiError::invalid(
            "field_required",
            "`clientId` is required (query parameter, or a form field in a multipart upload)",
            Some("clientId"),
        )),
        None => None,
    };
    if let Some(e) = early {
        drain(source, limit).await;
        return Err(e);
    }
    let too_large =
        || ApiError::too_large("file_too_large", format!("the video is larger than {limit} bytes"), None);
    let interrupted = |e: &dyn std::fmt::Display| {
        tracing::info!(detail = %e, "upload body unreadable");
        ApiError::bad("body_unreadable", "the upload was interrupted or is not a well-formed form", None)
    };
    // Stream the video into a temporary file, counting.
    let tmp = tempfile::NamedTempFile::new().map_err(|e| ApiError::Internal(e.to_string()))?;
    let mut file = tmp.reopen().map_err(|e| ApiError::Internal(e.to_string()))?;
    let mut size = 0usize;
    match source {
        Source::Raw(body) => {
            let mut stream = body.into_data_stream();
            use futures_util::StreamExt;
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(|e| interrupted(&e))?;
                size += chunk.len();
                if size > limit {
                    return Err(too_large());
                }
                file.write_all(&chunk).map_err(|e| ApiError::Internal(e.to_string()))?;
            }
        }
        Source::Multipart(mut form) => {
            let read = async {
                let mut seen_video = false;
                while let Some(mut field) = form.next_field().await.map_err(|e| interrupted(&e))? {
                    match field.name().unwrap_or_default() {
                        "clientId" => {
                            let text = field.text().await.map_err(|e| interrupted(&e))?;
                            let text = text.trim().to_string();
                            if text.len() > 64 {
                                return Err(ApiError::invalid(
                                    "field_invalid",
                                    "`clientId` is not an id",
                                    Some("clientId"),
                                ));
                            }
                            if client_id.as_ref().is_some_and(|c| *c != text) {
                                return Err(ApiError::invalid(
                                    "field_mismatch",
                                    "`clientId` differs between the query and the form",
                                    Some("clientId"),
                                ));
                            }
                            client_id = Some(text);
                        }
                        "video" | "file" => {
                            if seen_video {
                                return Err(ApiError::invalid(
                                    "field_duplicate",
                                    "send one video per upload",
                                    Some("video"),
                                ));
                            }
                            seen_video = true;
                            while let Some(chunk) = field.chunk().await.map_err(|e| interrupted(&e))? {
                                size += chunk.len();
                                if size > limit {
                                    return Err(too_large());
                                }
                                file.write_all(&chunk).map_err(|e| ApiError::Internal(e.to_string()))?;
                            }
                        }
                        other => {
                            let other = other.to_string();
                            return Err(ApiError::invalid(
                                "field_unknown",
                                format!("unknown form field `{other}` (send `clientId` and `video`)"),
                                Some(&other),
                            ));
                        }
                    }
                }
                if !seen_video {
                    return Err(ApiError::invalid(
                        "field_required",
                        "the form has no `video` file field",
                        Some("video"),
                    ));
                }
                Ok(())
            }
            .await;
            if let Err(e) = read {
                drain(Source::Multipart(form), limit).await;
                return Err(e);
            }
        }
    }
    let client_id = client_id
        .filter(|c| !c.is_empty())
        .ok_or_else(|| ApiError::invalid("field_required", "`clientId` is required", Some("clientId")))?;
    let client = fetch::<Client>(&s, &caller.tenant_id, &client_id).await?;
    drop(file);
    let limits = video_limits(&s);
    let path = tmp.path().to_path_buf();
    let probe = tokio::task::spawn_blocking(move || verity_liveness::video::probe_file(&path, &limits))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(|e| {
            if e.is_input_error() {
                ApiError::invalid(e.code(), e.to_string(), None)
            } else {
                ApiError::Internal(e.to_string())
            }
        })?;
    let mut r = new_resource::<LiveVideo>(&caller.tenant_id, Some(client.id.clone()), json!({}));
    let fk = file_key(&caller.tenant_id, "liveVideos", &r.id, "video");
    s.files.put_file(&fk, tmp.path()).await?;
    let content_type = if probe.container.contains("webm") || probe.container.contains("matroska") {
        "video/webm"
    } else if probe.container.contains("mov") {
        "video/mp4"
    } else {
        "application/octet-stream"
    };
    r.body = json!({
        "clientId": client.id,
        "downloadLink": format!("/liveVideos/{}/download", r.id),
        "contentType": content_type,
        "size": size,
        "durationSeconds": (probe.duration * 100.0).round() / 100.0,
        "width": probe.width,
        "height": probe.height,
        "codec": probe.codec,
    });
    Internal::update(&mut r, |i| {
        i.files.insert("video".into(), fk);
    });
    s.store.insert(&r).await?;
    crate::hosted::retention::schedule_resource(
        &s,
        &r.tenant_id,
        <LiveVideo as crate::resources::Kind>::KIND,
        &r.id,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(render(&r))))
}

pub async fn download(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    crate::routes::media::download_single::<LiveVideo>(&s, &caller.tenant_id, "video", &id).await
}

pub async fn delete(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    crate::routes::media::delete_if_unused::<LiveVideo>(
        &s,
        &caller.tenant_id,
        "liveVideoId",
        "live_video_in_use",
        &id,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn redact(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    Ok(Json(crate::routes::media::redact::<LiveVideo>(&s, &caller.tenant_id, &id).await?))
}
