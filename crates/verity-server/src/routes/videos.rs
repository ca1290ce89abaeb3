//! `/v1/liveVideos`: a selfie video uploaded as the raw request body
//! (`POST /v1/liveVideos?clientId=ID`, `Content-Type: video/mp4 | video/webm | video/quicktime`),
//! ≤ `limits.video_body_bytes`, streamed to a temporary file while counted, checked with ffprobe
//! (streams, container, codec, dimensions, duration), stored encrypted.

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
use crate::resources::{fetch, list_of, new_resource, render};
use crate::AppState;

/// The video limits the server applies (upload size from the config).
pub fn video_limits(s: &AppState) -> VideoLimits {
    VideoLimits { max_bytes: s.config.limits.video_body_bytes as u64, ..VideoLimits::default() }
}

pub async fn create(
    State(s): State<AppState>,
    caller: Caller,
    Query(params): Query<HashMap<String, String>>,
    body: Body,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let client_id = params.get("clientId").filter(|c| !c.is_empty()).ok_or_else(|| {
        ApiError::invalid("field_required", "`clientId` is required (query parameter)", Some("clientId"))
    })?;
    let client = fetch(&s, &caller.tenant_id, "client", "client", client_id).await?;
    let limit = s.config.limits.video_body_bytes;
    // Stream the body into a temporary file, counting.
    let tmp = tempfile::NamedTempFile::new().map_err(|e| ApiError::Internal(e.to_string()))?;
    let mut file = tmp.reopen().map_err(|e| ApiError::Internal(e.to_string()))?;
    let mut stream = body.into_data_stream();
    let mut size = 0usize;
    use futures_util::StreamExt;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| {
            ApiError::bad("body_unreadable", format!("the upload was interrupted: {e}"), None)
        })?;
        size += chunk.len();
        if size > limit {
            return Err(ApiError::too_large(
                "file_too_large",
                format!("the video is larger than {limit} bytes"),
                None,
            ));
        }
        file.write_all(&chunk).map_err(|e| ApiError::Internal(e.to_string()))?;
    }
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
    let mut r = new_resource(&caller.tenant_id, "liveVideo", Some(client.id.clone()), json!({}));
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
        "_files": {"video": fk},
    });
    s.store.insert(&r).await?;
    Ok((StatusCode::CREATED, Json(render(&r))))
}

pub async fn get(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    Ok(Json(render(&fetch(&s, &caller.tenant_id, "liveVideo", "live video", &id).await?)))
}

pub async fn download(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    crate::routes::media::download_single(&s, &caller.tenant_id, "liveVideo", "live video", "video", &id)
        .await
}

pub async fn delete(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    crate::routes::media::delete_unused(
        &s,
        &caller.tenant_id,
        "liveVideo",
        "live video",
        "liveVideoId",
        "live_video_in_use",
        &id,
    )
    .await
}

pub async fn list(
    State(s): State<AppState>,
    caller: Caller,
    Query(params): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    list_of(&s, &caller.tenant_id, "liveVideo", &params, &["contentType", "codec"]).await
}
