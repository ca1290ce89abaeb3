//! The `run_check` job: loads a check's evidence from storage, runs the check in the pipeline
//! (`verity-checks`, on a blocking thread) and records the result with its events. A check whose
//! engine is missing or whose evidence is gone answers `not_processed` with the reason — never a
//! made-up result.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use verity_checks::document::{CheckOptions, Declared};
use verity_checks::{CheckKind, CheckResult, Outcome, WithEvidence};
use verity_store::time::now_ms;
use verity_store::{ListQuery, Resource};

use crate::error::ApiError;
use crate::events;
use crate::jobs::{Attempt, JobError, JobKind};
use crate::resources::kinds::{Check, Client, Document, LivePhoto, LiveVideo};
use crate::resources::{fetch, render, Internal, Kind};
use crate::AppState;

/// Runs one check.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunCheck {
    pub tenant_id: String,
    pub check_id: String,
}

impl RunCheck {
    pub const MAX_ATTEMPTS: i64 = 3;
}

impl JobKind for RunCheck {
    const NAME: &'static str = "run_check";

    async fn run(self, s: &AppState, attempt: Attempt) -> Result<(), JobError> {
        let (tenant, id) = (self.tenant_id.as_str(), self.check_id.as_str());
        let check = match s.store.get(tenant, Check::KIND, id).await {
            Ok(Some(c)) => c,
            Ok(None) => return Ok(()), // deleted meanwhile
            Err(e) => return Err(JobError::transient(1000, e)),
        };
        if check.body["status"] != "pending" {
            return Ok(());
        }
        let started = std::time::Instant::now();
        let mut evidence = None;
        match evaluate(s, tenant, &check, &mut evidence).await {
            Ok(result) => complete(s, tenant, id, result, evidence, started).await,
            Err(e) => {
                let last = attempt.is_last() || matches!(e, JobError::Permanent(_));
                if last {
                    fail(s, tenant, id, &e).await;
                }
                match e {
                    JobError::Transient { error, .. } => {
                        Err(JobError::Transient { after_ms: 2000 * attempt.number, error })
                    }
                    permanent => Err(permanent),
                }
            }
        }
    }
}

/// Stores a result: the check turns `complete`, `check.completed` and
/// `check.completed.<outcome>` are emitted.
async fn complete(
    s: &AppState,
    tenant: &str,
    id: &str,
    mut result: Value,
    evidence: Option<Value>,
    started: std::time::Instant,
) -> Result<(), JobError> {
    let outcome = result["outcome"].as_str().unwrap_or("not_processed").to_string();
    if let Some(o) = result.as_object_mut() {
        o.insert("processingMs".into(), json!(started.elapsed().as_millis() as u64));
    }
    let written = crate::resources::modify::<Check, _>(s, tenant, id, |c| {
        if c.body["status"] != "pending" {
            // Another worker finished it first (a lease that expired mid-run).
            return Err(ApiError::Conflict("already finished".into()));
        }
        c.body["status"] = json!("complete");
        c.body["result"] = result.clone();
        if evidence.is_some() {
            Internal::update(c, |i| i.evidence = evidence.clone());
        }
        Ok(())
    })
    .await;
    let check = match written {
        Ok(c) => c,
        Err(ApiError::Conflict(_) | ApiError::NotFound { .. }) => return Ok(()),
        Err(e) => return Err(JobError::transient(1000, e)),
    };
    let rendered = render(&check);
    let _ = events::emit::<Check>(s, tenant, "completed", rendered.clone()).await;
    let _ = events::emit::<Check>(s, tenant, &format!("completed.{outcome}"), rendered).await;
    s.metrics.check_done(
        check.body["type"].as_str().unwrap_or(""),
        &outcome,
        started.elapsed().as_millis() as u64,
    );
    Ok(())
}

/// The check turns `failed` with the error, and `check.failed` is emitted.
async fn fail(s: &AppState, tenant: &str, id: &str, e: &JobError) {
    let error = match e {
        JobError::Transient { error, .. } | JobError::Permanent(error) => error.clone(),
    };
    let failed = crate::resources::modify::<Check, _>(s, tenant, id, |c| {
        if c.body["status"] != "pending" {
            return Err(ApiError::Conflict("already finished".into()));
        }
        c.body["status"] = json!("failed");
        c.body["error"] = json!(error);
        Ok(())
    })
    .await;
    if let Ok(check) = failed {
        let _ = events::emit::<Check>(s, tenant, "failed", render(&check)).await;
    }
}

fn not_processed(reason: &str) -> Value {
    to_json(CheckResult::<()>::not_processed(reason))
}

fn to_json<T: Serialize>(r: T) -> Value {
    serde_json::to_value(r)
        .unwrap_or_else(|e| json!({"outcome": Outcome::NotProcessed, "reasons": [e.to_string()]}))
}

/// A file of a resource (`None` when it has none); storage failures are worth a retry.
async fn file(s: &AppState, r: &Resource, name: &str) -> Result<Option<Vec<u8>>, JobError> {
    match Internal::of(r).files.get(name) {
        None => Ok(None),
        Some(k) => s.files.get(k).await.map(Some).map_err(|e| JobError::transient(1000, e)),
    }
}

/// Runs the pipeline's function on a blocking thread (a panic there is not retried); its
/// evidence for a reviewer goes to `evidence`.
async fn blocking<T: Serialize + WithEvidence + Send + 'static>(
    evidence: &mut Option<Value>,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<Value, JobError> {
    let (result, kept) = tokio::task::spawn_blocking(move || {
        let mut r = f();
        let kept = r.take_evidence().and_then(|e| serde_json::to_value(e).ok());
        (to_json(r), kept)
    })
    .await
    .map_err(|e| JobError::Permanent(format!("the check stopped: {e}")))?;
    *evidence = kept;
    Ok(result)
}

/// What the document resource and the client declare.
fn declared_of(doc: &Resource, client: Option<&Resource>) -> Declared {
    let pd = client.map(|c| &c.body["personDetails"]);
    let text = |v: Option<&Value>, k: &str| v.and_then(|v| v[k].as_str()).map(str::to_string);
    let dob = text(pd, "dob").and_then(|d| {
        let mut it = d.split('-').map(|p| p.parse::<i64>().ok());
        let (y, m, dd) = (it.next()??, it.next()??, it.next()??);
        verity_mrz::Date::new(y as i32, m as u32, dd as u32)
    });
    Declared {
        document_type: doc.body["type"].as_str().map(str::to_string),
        issuing_country: doc.body["issuingCountry"].as_str().and_then(verity_mrz::CountryCode::parse),
        first_name: text(pd, "firstName"),
        middle_name: text(pd, "middleName"),
        last_name: text(pd, "lastName"),
        dob,
        nationality: text(pd, "nationality"),
    }
}

/// Who a client says it is, for the duplicate search (a person key from its name and birth date).
fn client_identity(client: Option<&Resource>) -> verity_checks::duplicates::Identity {
    let pd = client.map(|c| &c.body["personDetails"]);
    let text = |k: &str| pd.and_then(|p| p[k].as_str()).unwrap_or("");
    verity_checks::duplicates::Identity {
        document: None,
        person: verity_checks::duplicates::Identity::person_key(
            text("lastName"),
            text("firstName"),
            text("dob"),
        ),
    }
}

/// `options` of a document check: `analysisCoverage` (default: what Verity runs),
/// `minimumPermittedAge` (18), `clientDataValidation` (true).
fn document_options(o: &Value) -> CheckOptions {
    let today = verity_mrz::Date::from_unix_days(now_ms().div_euclid(86_400_000));
    let mut opts = CheckOptions::new(today);
    if let Some(a) = o["analysisCoverage"].as_array() {
        opts.coverage = a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect();
    }
    if let Some(age) = o["minimumPermittedAge"].as_u64() {
        opts.minimum_age = age as i32;
    }
    if let Some(b) = o["clientDataValidation"].as_bool() {
        opts.client_data_validation = b;
    }
    opts
}

/// The live photo ids enrolled for face authentication: those of the client's clear checks.
async fn enrolled_faces(
    s: &AppState,
    tenant: &str,
    check: &Resource,
    probe: &str,
) -> Result<Vec<String>, JobError> {
    let mut enrolled: Vec<String> = Vec::new();
    let mut page = 1;
    loop {
        let q = ListQuery {
            client_id: check.client_id.clone(),
            filters: vec![("status".into(), "complete".into()), ("result.outcome".into(), "clear".into())],
            page,
            page_size: 100,
            ..Default::default()
        };
        let p = s.store.list(tenant, Check::KIND, &q).await.map_err(|e| JobError::transient(1000, e))?;
        for c in &p.items {
            if let Some(id) = c.body["livePhotoId"].as_str() {
                if id != probe && !enrolled.iter().any(|e| e == id) {
                    enrolled.push(id.to_string());
                }
            }
        }
        if p.items.len() < 100 {
            return Ok(enrolled);
        }
        page += 1;
    }
}

/// The check's result as stored, or an error (whose kind says whether to retry); what the
/// engines saw, for a reviewer, goes to `evidence`.
async fn evaluate(
    s: &AppState,
    tenant: &str,
    check: &Resource,
    evidence: &mut Option<Value>,
) -> Result<Value, JobError> {
    let Some(kind) = check.body["type"].as_str().and_then(CheckKind::parse) else {
        return Ok(not_processed(&format!("unknown check type {}", check.body["type"])));
    };
    let field = |f: &str| check.body[f].as_str().unwrap_or_default().to_string();
    let engines = s.engines.clone();
    let faces = || engines.face.clone().map_err(|e| not_processed(&format!("face engine unavailable: {e}")));
    let document = || async {
        let Ok(doc) = fetch::<Document>(s, tenant, &field("documentId")).await else {
            return Ok(Err(not_processed("the document was deleted")));
        };
        Ok(match file(s, &doc, "front").await? {
            Some(front) => Ok((doc, front)),
            None => Err(not_processed("the document has no front image")),
        })
    };
    match kind {
        CheckKind::IdentityCheck => {
            let faces = match faces() {
                Ok(f) => f,
                Err(r) => return Ok(r),
            };
            let Ok(photo) = fetch::<LivePhoto>(s, tenant, &field("livePhotoId")).await else {
                return Ok(not_processed("the live photo was deleted"));
            };
            let (doc, front) = match document().await? {
                Ok(d) => d,
                Err(r) => return Ok(r),
            };
            let Some(selfie) = file(s, &photo, "photo").await? else {
                return Ok(not_processed("the live photo has no file"));
            };
            let (mut result, kept_photo, kept_portrait) = tokio::task::spawn_blocking(move || {
                verity_checks::identity::identity_check_kept(faces.as_ref(), &selfie, &front)
            })
            .await
            .map_err(|e| JobError::Permanent(format!("the check stopped: {e}")))?;
            // The two faces join the tenant's gallery for one-call verification's duplicate
            // search, under the client's name (forgotten when the photo or document goes).
            let client = fetch::<Client>(s, tenant, &field("clientId")).await.ok();
            let identity = client_identity(client.as_ref());
            for (owner, kept) in [
                (format!("livePhoto:{}", photo.id), kept_photo),
                (format!("document:{}", doc.id), kept_portrait),
            ] {
                if let Some(mut f) = kept {
                    f.identity = identity.clone();
                    if let Err(e) = crate::verification::gallery::record(s, tenant, &owner, &f).await {
                        tracing::error!(owner = %owner, error = %e, "cannot keep a fingerprint");
                    }
                }
            }
            *evidence = result.take_evidence().and_then(|e| serde_json::to_value(e).ok());
            Ok(to_json(result))
        }
        CheckKind::FaceAuthenticationCheck => {
            let faces = match faces() {
                Ok(f) => f,
                Err(r) => return Ok(r),
            };
            let photo_id = field("livePhotoId");
            let enrolled = enrolled_faces(s, tenant, check, &photo_id).await?;
            let Ok(photo) = fetch::<LivePhoto>(s, tenant, &photo_id).await else {
                return Ok(not_processed("the live photo was deleted"));
            };
            let Some(probe) = file(s, &photo, "photo").await? else {
                return Ok(not_processed("the live photo has no file"));
            };
            let mut gallery = Vec::new();
            for id in &enrolled {
                if let Ok(p) = fetch::<LivePhoto>(s, tenant, id).await {
                    if let Ok(Some(b)) = file(s, &p, "photo").await {
                        gallery.push((id.clone(), b));
                    }
                }
            }
            blocking(evidence, move || {
                verity_checks::face_auth::face_authentication_check(
                    faces.as_ref(),
                    &probe,
                    &enrolled,
                    &gallery,
                )
            })
            .await
        }
        CheckKind::DocumentCheck => {
            let reader = match &engines.document {
                Ok(e) => e.clone(),
                Err(e) => return Ok(not_processed(&format!("document engine unavailable: {e}"))),
            };
            let (doc, front) = match document().await? {
                Ok(d) => d,
                Err(r) => return Ok(r),
            };
            let back = file(s, &doc, "back").await?;
            let client = fetch::<Client>(s, tenant, &field("clientId")).await.ok();
            let declared = declared_of(&doc, client.as_ref());
            let opts = document_options(&check.body["options"]);
            blocking(evidence, move || {
                verity_checks::document::document_check(
                    reader.as_ref(),
                    &front,
                    back.as_deref(),
                    &declared,
                    &opts,
                )
            })
            .await
        }
        CheckKind::EnhancedIdentityCheck => {
            let faces = match faces() {
                Ok(f) => f,
                Err(r) => return Ok(r),
            };
            let Ok(video) = fetch::<LiveVideo>(s, tenant, &field("liveVideoId")).await else {
                return Ok(not_processed("the live video was deleted"));
            };
            let (_, front) = match document().await? {
                Ok(d) => d,
                Err(r) => return Ok(r),
            };
            let Some(video_key) = Internal::of(&video).files.remove("video") else {
                return Ok(not_processed("the live video has no file"));
            };
            // Decrypted to a private temporary file, streaming (never whole in memory).
            let tmp = tempfile::NamedTempFile::new().map_err(|e| JobError::transient(1000, e))?;
            s.files.get_to_file(&video_key, tmp.path()).await.map_err(|e| JobError::transient(1000, e))?;
            let challenges: Vec<verity_liveness::Challenge> = check.body["options"]["challenges"]
                .as_array()
                .map(|a| {
                    a.iter().filter_map(|n| n.as_str().and_then(verity_liveness::Challenge::parse)).collect()
                })
                .unwrap_or_default();
            let limits = crate::routes::videos::video_limits(s);
            blocking(evidence, move || {
                verity_checks::identity::enhanced_identity_check(
                    faces.as_ref(),
                    tmp.path(),
                    &challenges,
                    &limits,
                    &front,
                )
            })
            .await
        }
    }
}
