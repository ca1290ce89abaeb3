//! ComplyCube's hosted flow on capture sessions. `POST /v1/flow/sessions` (`clientId`,
//! `checkTypes`, `successUrl`, `cancelUrl`, `language`, `theme`) answers ComplyCube's
//! `{redirectUrl}`: a capture link for that client; `POST /v1/tokens` (`clientId`, `referrer`,
//! `appId`) answers `{token}`: the same link's token (the page is `/verif/s/<token>`; Verity has
//! no copy of ComplyCube's Web SDK). When the user submits, the result lands on the client as
//! ComplyCube resources — a document with the ID photo(s), a live video, and one check per
//! requested type, run by the job queue like any other and announced by the client's webhooks
//! (`check.completed`) — besides the hosted verification the page shows.

use axum::body::Bytes;
use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use verity_store::time::{format_ms, now_ms};
use verity_store::Resource;

use super::session::{self, CaptureSession, Subject};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::jobs::{self, Attempt, JobError, JobKind};
use crate::resources::kinds::{Check, Client, Document, LivePhoto, LiveVideo};
use crate::resources::{
    fetch, json_object, modify, new_resource, reject_unknown, render, string_field, Internal, Kind,
};
use crate::run_check::RunCheck;
use crate::verification::Verification;
use crate::AppState;

/// The check types a capture can feed: the page records a video (whose best frame stands as the
/// live photo of an `identity_check`) and photographs a document.
pub const FLOW_CHECKS: [&str; 3] = ["document_check", "identity_check", "enhanced_identity_check"];

/// The client a flow is for (a person of the caller's tenant).
async fn person(s: &AppState, tenant: &str, m: &Map<String, Value>) -> ApiResult<Resource> {
    let id = string_field(m, "clientId", false)?
        .ok_or_else(|| ApiError::invalid("field_required", "`clientId` is required", Some("clientId")))?;
    let client = fetch::<Client>(s, tenant, &id).await?;
    if client.body["type"] != "person" {
        return Err(ApiError::invalid(
            "client_not_person",
            "the hosted flow verifies a person",
            Some("clientId"),
        ));
    }
    Ok(client)
}

/// A capture session for a ComplyCube client.
async fn open_for_client(
    s: &AppState,
    tenant: &str,
    client: &Resource,
    check_types: Vec<String>,
    m: &Map<String, Value>,
) -> ApiResult<(Resource, String)> {
    let subject = Subject {
        user_identifier: client.id.clone(),
        user_email: client.body["email"].as_str().map(str::to_string),
        language: string_field(m, "language", false)?,
        success_url: string_field(m, "successUrl", false)?,
        cancel_url: string_field(m, "cancelUrl", false)?,
        client_id: Some(client.id.clone()),
        check_types,
        ..Subject::default()
    };
    session::open_new(s, tenant, subject).await
}

/// `POST /v1/flow/sessions`.
pub async fn create_flow_session(
    State(s): State<AppState>,
    caller: Caller,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let m = json_object(&body)?;
    // ComplyCube's other options are accepted and have no effect here (the page always offers a
    // file upload; texts and document types are the page's own); workflows are not offered.
    reject_unknown(
        &m,
        &[
            "clientId",
            "checkTypes",
            "successUrl",
            "cancelUrl",
            "language",
            "theme",
            "enableMonitoring",
            "allowDocumentUpload",
            "supportEmail",
            "messages",
            "documentTypes",
            "shortUrl",
            "workflowTemplateId",
        ],
    )?;
    if m.get("workflowTemplateId").is_some_and(|w| !w.is_null()) {
        return Err(ApiError::invalid(
            "workflow_unsupported",
            "workflows are not offered by this server: send `checkTypes`",
            Some("workflowTemplateId"),
        ));
    }
    let client = person(&s, &caller.tenant_id, &m).await?;
    let types: Vec<String> = match m.get("checkTypes") {
        Some(Value::Array(a)) if !a.is_empty() => {
            a.iter().map(|t| t.as_str().map(str::to_string)).collect::<Option<Vec<_>>>().ok_or_else(|| {
                ApiError::invalid("field_type", "`checkTypes` must be a list of names", Some("checkTypes"))
            })?
        }
        _ => {
            return Err(ApiError::invalid(
                "field_required",
                "`checkTypes` is required: a list of check types",
                Some("checkTypes"),
            ))
        }
    };
    if let Some(t) = types.iter().find(|t| !FLOW_CHECKS.contains(&t.as_str())) {
        return Err(ApiError::invalid(
            "check_type_unsupported",
            format!("the hosted flow records a selfie video and a document photo: it runs {FLOW_CHECKS:?}, not {t:?}"),
            Some("checkTypes"),
        ));
    }
    if let Some(t) = string_field(&m, "theme", false)?.filter(|t| t != "light" && t != "dark") {
        return Err(ApiError::invalid(
            "field_invalid",
            format!("`theme` {t:?}: light or dark"),
            Some("theme"),
        ));
    }
    let (_, token) = open_for_client(&s, &caller.tenant_id, &client, types, &m).await?;
    Ok(Json(json!({"redirectUrl": format!("{}/verif/s/{token}", super::public_url(&s))})))
}

/// `POST /v1/tokens`.
pub async fn create_token(State(s): State<AppState>, caller: Caller, body: Bytes) -> ApiResult<Json<Value>> {
    let m = json_object(&body)?;
    reject_unknown(&m, &["clientId", "referrer", "appId"])?;
    let client = person(&s, &caller.tenant_id, &m).await?;
    let types = FLOW_CHECKS.iter().map(|t| t.to_string()).collect();
    let (_, token) = open_for_client(&s, &caller.tenant_id, &client, types, &Map::new()).await?;
    Ok(Json(json!({"token": token})))
}

/// Files a hosted submission on the session's ComplyCube client.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FileClientChecks {
    pub tenant_id: String,
    pub session_id: String,
    pub verification_id: String,
}

impl FileClientChecks {
    pub const MAX_ATTEMPTS: i64 = 10;
}

impl JobKind for FileClientChecks {
    const NAME: &'static str = "file_client_checks";

    async fn run(self, s: &AppState, _attempt: Attempt) -> Result<(), JobError> {
        file_checks(s, &self).await
    }
}

/// Queues the filing of a submission when its session is a ComplyCube client's.
pub async fn queue(
    s: &AppState,
    session: &Resource,
    verification_id: &str,
) -> Result<(), verity_store::StoreError> {
    if !session.body["client_id"].is_string() {
        return Ok(());
    }
    let job = FileClientChecks {
        tenant_id: session.tenant_id.clone(),
        session_id: session.id.clone(),
        verification_id: verification_id.into(),
    };
    jobs::enqueue(s, &job, FileClientChecks::MAX_ATTEMPTS).await?;
    s.wake.notify_waiters();
    Ok(())
}

/// ComplyCube's document type and the issuing country of a hosted verification (declared, or
/// read from its MRZ).
fn document_type_of(v: &Value) -> (&'static str, Option<String>) {
    let mrz = v["extracted_data"]["mrz"].as_str().unwrap_or_default();
    let lines: Vec<&str> = mrz.lines().collect();
    let today = verity_mrz::Date::from_unix_days(now_ms().div_euclid(86_400_000));
    let parsed =
        verity_mrz::parse(&lines, &verity_mrz::Options { mode: verity_mrz::Mode::Tolerant, today }).ok();
    let country = parsed
        .as_ref()
        .and_then(|m| m.issuing_state.as_ref().and_then(|c| c.iso_alpha2))
        .map(str::to_string)
        .or_else(|| v["country"].as_str().map(str::to_string));
    let declared = match v["document_type"].as_str() {
        Some("passport") => Some("passport"),
        Some("cin" | "cni") => Some("national_identity_card"),
        Some("residence_card") => Some("residence_permit"),
        Some("permit") => Some("driving_license"),
        _ => None,
    };
    let read =
        parsed.map(|m| if m.document_code.starts_with('P') { "passport" } else { "national_identity_card" });
    (declared.or(read).unwrap_or("national_identity_card"), country)
}

fn transient(e: impl std::fmt::Display) -> JobError {
    JobError::transient(2000, e)
}

async fn file_checks(s: &AppState, job: &FileClientChecks) -> Result<(), JobError> {
    let tenant = job.tenant_id.as_str();
    let Some(session) =
        s.store.get(tenant, CaptureSession::KIND, &job.session_id).await.map_err(transient)?
    else {
        return Ok(());
    };
    let Some(v) = s.store.get(tenant, Verification::KIND, &job.verification_id).await.map_err(transient)?
    else {
        return Ok(());
    };
    if v.body["complycube"].is_object() {
        return Ok(()); // filed already
    }
    if v.body["status"] == "pending" {
        // The document's type is read from the verification's MRZ: wait for it.
        return Err(JobError::transient(2000, "the hosted verification is still running"));
    }
    let client_id = session.body["client_id"].as_str().unwrap_or_default().to_string();
    if s.store.get(tenant, Client::KIND, &client_id).await.map_err(transient)?.is_none() {
        return Ok(()); // the client was deleted meanwhile
    }
    let files = Internal::of(&v).files;
    let now = format_ms(now_ms());
    // The document, with the ID photo(s) (re-encrypted under the document's own keys).
    let (doc_type, country) = document_type_of(&v.body);
    let mut doc = new_resource::<Document>(tenant, Some(client_id.clone()), json!({}));
    let mut images = Vec::new();
    let mut doc_internal = Internal { in_use: true, ..Internal::default() };
    for (name, side) in [("document_front", "front"), ("document_back", "back")] {
        let Some(key) = files.get(name) else { continue };
        let bytes = s.files.get(key).await.map_err(transient)?;
        let image_id = crate::ids::new_id();
        let fk = crate::files::key(tenant, "documents", &doc.id, &format!("{side}-{image_id}"));
        s.files.put(&fk, &bytes).await.map_err(transient)?;
        doc_internal.files.insert(side.into(), fk);
        let ctype = super::links::content_type(&bytes);
        images.push(json!({
            "id": image_id, "fileName": format!("{side}.{}", super::links::photo_extension(&bytes)),
            "documentSide": side, "downloadLink": format!("/documents/{}/images/{image_id}/download", doc.id),
            "contentType": ctype, "size": bytes.len(), "createdAt": now, "updatedAt": now,
        }));
    }
    let mut body = json!({"clientId": client_id, "type": doc_type, "images": images});
    if let Some(c) = country {
        body["issuingCountry"] = json!(c);
    }
    doc.body = body;
    doc_internal.store_in(&mut doc);
    s.store.insert(&doc).await.map_err(transient)?;
    // The live video.
    let mut video = new_resource::<LiveVideo>(tenant, Some(client_id.clone()), json!({}));
    if let Some(key) = files.get("selfie_video") {
        let bytes = s.files.get(key).await.map_err(transient)?;
        let fk = crate::files::key(tenant, "liveVideos", &video.id, "video");
        s.files.put(&fk, &bytes).await.map_err(transient)?;
        let info = &v.body["files"]["selfie_video"];
        video.body = json!({
            "clientId": client_id,
            "downloadLink": format!("/liveVideos/{}/download", video.id),
            "contentType": if info["extension"] == "webm" { "video/webm" } else { "video/mp4" },
            "size": bytes.len(),
            "durationSeconds": info["duration_s"],
            "width": info["width"],
            "height": info["height"],
            "codec": info["codec"],
        });
        Internal {
            in_use: true,
            files: [("video".to_string(), fk)].into_iter().collect(),
            ..Internal::default()
        }
        .store_in(&mut video);
        s.store.insert(&video).await.map_err(transient)?;
    }
    // The video's best frame as a live photo, when an identity check wants one.
    let types: Vec<&str> =
        session.body["check_types"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    let mut photo_id = None;
    if let (true, Some(key)) = (types.contains(&"identity_check"), files.get("best_frame")) {
        let bytes = s.files.get(key).await.map_err(transient)?;
        let mut photo = new_resource::<LivePhoto>(tenant, Some(client_id.clone()), json!({}));
        let fk = crate::files::key(tenant, "livePhotos", &photo.id, "photo");
        s.files.put(&fk, &bytes).await.map_err(transient)?;
        photo.body = json!({
            "clientId": client_id,
            "downloadLink": format!("/livePhotos/{}/download", photo.id),
            "contentType": "image/jpeg",
            "size": bytes.len(),
            "performLivenessCheck": true,
        });
        Internal {
            in_use: true,
            files: [("photo".to_string(), fk)].into_iter().collect(),
            ..Internal::default()
        }
        .store_in(&mut photo);
        s.store.insert(&photo).await.map_err(transient)?;
        photo_id = Some(photo.id);
    }
    // One check per requested type.
    let challenges: Vec<Value> = session.body["challenges"].as_array().cloned().unwrap_or_default();
    let mut check_ids = Vec::new();
    let mut skipped = Vec::new();
    for t in types {
        let mut c = json!({"clientId": client_id, "type": t, "documentId": doc.id, "status": "pending"});
        if t == "enhanced_identity_check" {
            c["liveVideoId"] = json!(video.id);
            c["options"] = json!({"challenges": challenges});
        }
        if t == "identity_check" {
            let Some(p) = &photo_id else {
                skipped
                    .push(json!({"type": t, "reason": "the video gave no face to stand as the live photo"}));
                continue;
            };
            c["livePhotoId"] = json!(p);
        }
        let r = new_resource::<Check>(tenant, Some(client_id.clone()), c);
        s.store.insert(&r).await.map_err(transient)?;
        jobs::enqueue(
            s,
            &RunCheck { tenant_id: tenant.into(), check_id: r.id.clone() },
            RunCheck::MAX_ATTEMPTS,
        )
        .await
        .map_err(transient)?;
        let _ = crate::events::emit::<Check>(s, tenant, "pending", render(&r)).await;
        check_ids.push(r.id);
    }
    s.wake.notify_waiters();
    let filed = json!({"clientId": client_id, "documentId": doc.id, "liveVideoId": video.id,
                       "livePhotoId": photo_id, "checkIds": check_ids, "skipped": skipped});
    modify::<Verification, _>(s, tenant, &v.id, |r| {
        r.body["complycube"] = filed.clone();
        Ok(())
    })
    .await
    .map_err(transient)?;
    Ok(())
}
