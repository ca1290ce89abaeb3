//! Running a verification: the pipeline (`verity_checks::verify`) on a blocking thread, the
//! result written into the resource once (a second run finds it finished and stops), and the
//! delivery to `webhook_url` queued. A sync request runs it in place; the `run_verification`
//! job runs it for async requests and, as a safety net, for a sync request whose process died.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use verity_checks::verify::{self, CheckName, DocumentType, Request};
use verity_store::time::now_ms;
use verity_store::Resource;

use super::{gallery, settings, webhook, Verification};
use crate::error::ApiError;
use crate::jobs::{Attempt, JobError, JobKind};
use crate::resources::{modify, Internal, Kind};
use crate::AppState;

/// Runs one verification.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunVerification {
    pub tenant_id: String,
    pub verification_id: String,
}

impl RunVerification {
    pub const MAX_ATTEMPTS: i64 = 3;
}

impl JobKind for RunVerification {
    const NAME: &'static str = "run_verification";

    async fn run(self, s: &AppState, attempt: Attempt) -> Result<(), JobError> {
        let (tenant, id) = (self.tenant_id.as_str(), self.verification_id.as_str());
        let r = match s.store.get(tenant, Verification::KIND, id).await {
            Ok(Some(r)) => r,
            Ok(None) => return Ok(()), // deleted meanwhile
            Err(e) => return Err(JobError::transient(1000, e)),
        };
        if r.body["status"] != "pending" {
            return Ok(()); // finished by the request that made it
        }
        let mut images = Images::default();
        for (name, key) in &Internal::of(&r).files {
            if name == "selfie_video" {
                // The decoder reads a file: decrypted straight into one.
                let f = tempfile::NamedTempFile::new().map_err(|e| JobError::transient(1000, e))?;
                s.files.get_to_file(key, f.path()).await.map_err(|e| JobError::transient(1000, e))?;
                images.video = Some(f);
                continue;
            }
            if !super::FILES.contains(&name.as_str()) {
                continue; // what the run made (the best frame), not what it reads
            }
            let bytes = s.files.get(key).await.map_err(|e| JobError::transient(1000, e))?;
            images.put(name, bytes);
        }
        match finish(s, &r, images).await {
            Err(e) if attempt.is_last() || matches!(e, JobError::Permanent(_)) => {
                let message = match &e {
                    JobError::Transient { error, .. } | JobError::Permanent(error) => error.clone(),
                };
                let _ = write(s, tenant, id, error_body("verification_failed", &message), None).await;
                Err(e)
            }
            other => other.map(|_| ()),
        }
    }
}

/// How long after the sync time budget the safety-net job runs a verification whose own run
/// has not finished by then (its process died).
const SAFETY_NET_MS: i64 = 120_000;

/// Runs a stored, pending verification in place (the sync answer), within
/// `verification.sync_budget_ms`: answers it finished, or still pending past the budget. A
/// `run_verification` job is queued first as a safety net: if this process dies mid-run, the
/// job finishes it; if the run finishes, the job finds it done.
pub async fn in_place(
    s: &AppState,
    r: &Resource,
    images: Images,
) -> Result<Resource, verity_store::StoreError> {
    let job = RunVerification { tenant_id: r.tenant_id.clone(), verification_id: r.id.clone() };
    let budget = s.config.verification.sync_budget_ms;
    crate::jobs::enqueue_at(s, &job, RunVerification::MAX_ATTEMPTS, now_ms() + budget as i64 + SAFETY_NET_MS)
        .await?;
    // Its own task: a client that hangs up does not stop the run half-way.
    let (st, stored) = (s.clone(), r.clone());
    let task = tokio::spawn(async move { finish(&st, &stored, images).await });
    Ok(match tokio::time::timeout(std::time::Duration::from_millis(budget), task).await {
        Ok(Ok(Ok(done))) => done,
        Ok(Ok(Err(e))) => {
            // Storage trouble: the queued job finishes it later.
            tracing::warn!(verification = %r.id, error = ?e, "verification left to the job queue");
            r.clone()
        }
        Ok(Err(e)) => {
            tracing::error!(verification = %r.id, error = %e, "verification run stopped");
            r.clone()
        }
        Err(_) => r.clone(),
    })
}

/// The images of a verification (and the hosted flow's selfie video, as the file the decoder
/// reads).
#[derive(Default)]
pub struct Images {
    pub front: Vec<u8>,
    pub back: Option<Vec<u8>>,
    pub selfie: Option<Vec<u8>>,
    pub video: Option<tempfile::NamedTempFile>,
}

impl Images {
    fn put(&mut self, name: &str, bytes: Vec<u8>) {
        match name {
            "document_front" => self.front = bytes,
            "document_back" => self.back = Some(bytes),
            "selfie" => self.selfie = Some(bytes),
            _ => {}
        }
    }
}

/// The result fields of a verification that could not be made.
fn error_body(code: &str, message: &str) -> Value {
    json!({"status": "error", "error": {"code": code, "message": message}})
}

/// Runs the pipeline on a pending verification and writes the result. Answers the finished
/// resource (or the one another run finished first).
pub async fn finish(s: &AppState, r: &Resource, images: Images) -> Result<Resource, JobError> {
    let started = std::time::Instant::now();
    let tenant = r.tenant_id.as_str();
    let policy =
        settings::policy_of(&settings::load(s, tenant).await.map_err(|e| JobError::transient(1000, e))?);
    let document_type = r.body["document_type"].as_str().and_then(DocumentType::from_name);
    let Some(document_type) = document_type else {
        return Ok(write(
            s,
            tenant,
            &r.id,
            error_body("verification_failed", "malformed verification"),
            None,
        )
        .await?
        .0);
    };
    let checks: Vec<CheckName> = r.body["checks"]
        .as_object()
        .map(|m| m.keys().filter_map(|k| CheckName::parse(k)).collect())
        .unwrap_or_default();
    let country = r.body["country"].as_str().and_then(verity_mrz::CountryCode::parse);
    let today = verity_mrz::Date::from_unix_days(now_ms().div_euclid(86_400_000));
    let engines = s.engines.clone();
    let tenant_gallery = if checks.contains(&CheckName::Duplicate) {
        Some(gallery::current(s, tenant).await.map_err(|e| JobError::transient(1000, e))?)
    } else {
        None
    };
    let (challenges, prompted_at_ms) = prompts_of(&r.body);
    let video_limits = verity_liveness::VideoLimits {
        max_bytes: s.config.limits.video_body_bytes as u64,
        ..verity_liveness::VideoLimits::default()
    };
    let outcome = tokio::task::spawn_blocking(move || {
        let selfie = match &images.video {
            Some(f) => Some(verify::Selfie::Video(verify::VideoSelfie {
                path: f.path(),
                challenges: &challenges,
                prompted_at_ms: &prompted_at_ms,
                limits: video_limits,
            })),
            None => images.selfie.as_deref().map(verify::Selfie::Photo),
        };
        let faces = engines.face.as_ref().map(|f| f.as_ref()).map_err(Clone::clone);
        let reader = engines.document.as_ref().map(|d| d.as_ref()).map_err(Clone::clone);
        let searched = tenant_gallery.as_ref().map(|g| g.gallery.read().unwrap_or_else(|p| p.into_inner()));
        let req = Request {
            front: &images.front,
            back: images.back.as_deref(),
            selfie,
            document_type,
            country,
            checks,
            today,
            policy,
            gallery: searched.as_deref(),
        };
        verify::verify(faces, reader, &req)
    })
    .await
    .map_err(|e| JobError::Permanent(format!("the verification stopped: {e}")))?;
    let hosted = r.body["mode"] == "hosted";
    let mut best_frame = None;
    let mut evidence = None;
    let (body, fingerprint) = match outcome {
        Ok(mut v) => {
            best_frame = v.best_frame.take();
            evidence = serde_json::to_value(std::mem::take(&mut v.evidence)).ok();
            let mut body = serde_json::to_value(&v).unwrap_or_else(|_| json!({}));
            if hosted {
                // The seed's two summaries, made from the same decision.
                body["face_comparison"] = json!(verity_checks::hosted::face_comparison(&v));
                body["assessment"] = json!(verity_checks::hosted::assessment(&v));
            }
            (body, Some(v.fingerprint))
        }
        Err(message) => (error_body("document_unreadable", &message), None),
    };
    let (mut done, ours) = write(s, tenant, &r.id, body, evidence).await?;
    if let Some(frame) = best_frame.filter(|_| ours) {
        // Kept with the files (and erased with them): ComplyCube's identity check of a hosted
        // capture takes it as the live photo; a reviewer sees what was compared.
        match keep_best_frame(s, &done, &frame).await {
            Ok(r) => done = r,
            Err(e) => tracing::error!(verification = %r.id, error = %e, "cannot keep the best frame"),
        }
    }
    if let Some(f) = fingerprint.filter(|_| ours) {
        // Kept for later duplicate searches, deleted with the verification.
        let owner = crate::resources::Id::<Verification>::of(r).public();
        if let Err(e) = gallery::record(s, tenant, &owner, &f).await {
            tracing::error!(verification = %r.id, error = %e, "cannot keep the fingerprint");
        }
    }
    let status = done.body["status"].as_str().unwrap_or("error").to_string();
    s.metrics.check_done("verification", &status, started.elapsed().as_millis() as u64);
    Ok(done)
}

/// Writes the result fields into a pending verification and queues the delivery to its
/// `webhook_url`; a verification another run finished first is left as it is.
/// Answers the verification and whether this call wrote it.
async fn write(
    s: &AppState,
    tenant: &str,
    id: &str,
    fields: Value,
    evidence: Option<Value>,
) -> Result<(Resource, bool), JobError> {
    let written = modify::<Verification, _>(s, tenant, id, |r| {
        if r.body["status"] != "pending" {
            return Err(ApiError::Conflict("already finished".into()));
        }
        if evidence.is_some() {
            Internal::update(r, |i| i.evidence = evidence.clone());
        }
        if let (Some(body), Some(new)) = (r.body.as_object_mut(), fields.as_object()) {
            for (k, v) in new {
                body.insert(k.clone(), v.clone());
            }
        }
        Ok(())
    })
    .await;
    match written {
        Ok(r) => {
            if r.body["mode"] == "hosted" {
                crate::hosted::webhook::queue(s, &r).await.map_err(|e| JobError::transient(1000, e))?;
            } else {
                webhook::queue(s, &r).await.map_err(|e| JobError::transient(1000, e))?;
            }
            Ok((r, true))
        }
        Err(ApiError::Conflict(_)) => {
            let r = s
                .store
                .get(tenant, Verification::KIND, id)
                .await
                .map_err(|e| JobError::transient(1000, e))?;
            r.map(|r| (r, false)).ok_or_else(|| JobError::Permanent("the verification was deleted".into()))
        }
        Err(ApiError::NotFound { .. }) => Err(JobError::Permanent("the verification was deleted".into())),
        Err(e) => Err(JobError::transient(1000, e)),
    }
}

/// Stores a video's best frame (JPEG) among a verification's files.
async fn keep_best_frame(s: &AppState, r: &Resource, frame: &image::RgbImage) -> Result<Resource, ApiError> {
    let jpeg = verity_imaging::encode_jpeg(frame, 92);
    let key = crate::files::key(&r.tenant_id, Verification::KIND, &r.id, "best_frame");
    s.files.put(&key, &jpeg).await?;
    modify::<Verification, _>(s, &r.tenant_id, &r.id, |r| {
        Internal::update(r, |i| {
            i.files.insert("best_frame".into(), key.clone());
        });
        Ok(())
    })
    .await
}

/// The prompts a hosted selfie video was recorded with: the challenges in order and when each
/// was shown (`liveness_prompts: [{name, shown_at_ms}]`).
fn prompts_of(body: &Value) -> (Vec<verity_liveness::Challenge>, Vec<u64>) {
    let mut challenges = Vec::new();
    let mut shown = Vec::new();
    for p in body["liveness_prompts"].as_array().into_iter().flatten() {
        if let Some(c) = p["name"].as_str().and_then(verity_liveness::Challenge::parse) {
            challenges.push(c);
            shown.push(p["shown_at_ms"].as_u64().unwrap_or(0));
        }
    }
    (challenges, shown)
}
