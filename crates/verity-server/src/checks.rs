//! `/v1/checks` and the check runner. Checks are created `pending`, run by a worker from the job
//! queue, and end `complete` (with `result.outcome` clear | attention | not_processed and the
//! reasons) or `failed`. A check whose engine is missing or cannot read its input answers
//! `not_processed` with the reason — never a made-up result.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Map, Value};
use verity_face::{FaceEngine, ImageKind};
use verity_liveness::LivenessEngine;
use verity_store::time::now_ms;
use verity_store::{ListQuery, NewJob, Resource};

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::ids::new_id;
use crate::jobs::Outcome;
use crate::resources::{fetch, json_object, list_of, new_resource, reject_unknown, render, string_field};
use crate::{events, AppState};

pub const RUN_CHECK_JOB: &str = "run_check";

/// The engines, loaded once at start. A missing engine is reported in the checks it affects.
pub struct Engines {
    pub face: Result<Arc<FaceEngine>, String>,
    pub liveness: Result<Arc<LivenessEngine>, String>,
    pub document: Result<Arc<verity_document::DocumentEngine>, String>,
}

impl Engines {
    /// Loads the face and liveness engines from `models_dir` (errors are kept, not fatal).
    pub fn load(models_dir: &std::path::Path) -> Self {
        let dir = verity_models::ModelDir::new(models_dir);
        let face = FaceEngine::load(&dir).map(Arc::new).map_err(|e| e.to_string());
        let liveness = match &face {
            Ok(f) => LivenessEngine::load(&dir, f.clone()).map(Arc::new).map_err(|e| e.to_string()),
            Err(e) => Err(format!("needs the face engine: {e}")),
        };
        let document = verity_document::DocumentEngine::load(&dir).map(Arc::new).map_err(|e| e.to_string());
        Self { face, liveness, document }
    }

    pub fn none(reason: &str) -> Self {
        Self { face: Err(reason.into()), liveness: Err(reason.into()), document: Err(reason.into()) }
    }
}

/// The keys `options` may have.
const OPTIONS: &[&str] = &["challenges", "analysisCoverage", "minimumPermittedAge", "clientDataValidation"];

pub(crate) const SUPPORTED: &[&str] =
    &["identity_check", "document_check", "face_authentication_check", "enhanced_identity_check"];
const KNOWN_UNSUPPORTED: &[&str] = &[
    "standard_screening_check",
    "extensive_screening_check",
    "proof_of_address_check",
    "multi_bureau_check",
    "age_estimation_check",
];

async fn owned(
    s: &AppState,
    tenant: &str,
    kind: &'static str,
    what: &'static str,
    field: &str,
    m: &Map<String, Value>,
    client: &str,
) -> ApiResult<Resource> {
    let id = string_field(m, field, true)?.unwrap_or_default();
    let r = fetch(s, tenant, kind, what, &id).await?;
    if r.client_id.as_deref() != Some(client) {
        return Err(ApiError::invalid(
            "resource_mismatch",
            format!("`{field}` belongs to another client"),
            Some(field),
        ));
    }
    Ok(r)
}

pub async fn create(
    State(s): State<AppState>,
    caller: Caller,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let m = json_object(&body)?;
    reject_unknown(
        &m,
        &["clientId", "type", "livePhotoId", "documentId", "liveVideoId", "options", "enableMonitoring"],
    )?;
    let kind = string_field(&m, "type", true)?.unwrap_or_default();
    if !SUPPORTED.contains(&kind.as_str()) {
        let why = if KNOWN_UNSUPPORTED.contains(&kind.as_str()) {
            format!("{kind} is not offered by this server (supported: {})", SUPPORTED.join(", "))
        } else {
            format!("unknown check type {kind:?} (supported: {})", SUPPORTED.join(", "))
        };
        return Err(ApiError::invalid("check_type_unsupported", why, Some("type")));
    }
    let client_id = string_field(&m, "clientId", true)?.unwrap_or_default();
    let client = fetch(&s, &caller.tenant_id, "client", "client", &client_id).await?;
    if client.body["type"] != "person" {
        // Every supported check compares a person's face or reads a person's identity document.
        return Err(ApiError::invalid(
            "client_not_person",
            format!("{kind} needs a client of type person"),
            Some("clientId"),
        ));
    }
    let mut out = Map::new();
    out.insert("clientId".into(), json!(client.id));
    out.insert("entityName".into(), client.body["entityName"].clone());
    out.insert("type".into(), json!(kind));
    let needs = |f: &str| match kind.as_str() {
        "identity_check" => f == "livePhotoId" || f == "documentId",
        "document_check" => f == "documentId",
        "face_authentication_check" => f == "livePhotoId",
        "enhanced_identity_check" => f == "liveVideoId" || f == "documentId",
        _ => false,
    };
    if needs("livePhotoId") {
        let p =
            owned(&s, &caller.tenant_id, "livePhoto", "live photo", "livePhotoId", &m, &client.id).await?;
        out.insert("livePhotoId".into(), json!(p.id));
    }
    if needs("liveVideoId") {
        let v =
            owned(&s, &caller.tenant_id, "liveVideo", "live video", "liveVideoId", &m, &client.id).await?;
        out.insert("liveVideoId".into(), json!(v.id));
    }
    if needs("documentId") {
        let d = owned(&s, &caller.tenant_id, "document", "document", "documentId", &m, &client.id).await?;
        if d.body["_files"]["front"].as_str().is_none() {
            return Err(ApiError::invalid(
                "document_image_missing",
                "the document has no front image: upload it first",
                Some("documentId"),
            ));
        }
        out.insert("documentId".into(), json!(d.id));
    }

    match m.get("options") {
        None | Some(Value::Null) => {}
        Some(Value::Object(o)) => {
            if let Some(k) = o.keys().find(|k| !OPTIONS.contains(&k.as_str())) {
                let p = format!("options.{k}");
                return Err(ApiError::invalid(
                    "field_unknown",
                    format!("unknown option `{k}`: {}", OPTIONS.join(", ")),
                    Some(&p),
                ));
            }
            if let Some(ch) = o.get("challenges") {
                let names = ch.as_array().ok_or_else(|| {
                    ApiError::invalid(
                        "field_type",
                        "`options.challenges` must be a list",
                        Some("options.challenges"),
                    )
                })?;
                for n in names {
                    if n.as_str().and_then(verity_liveness::Challenge::parse).is_none() {
                        return Err(ApiError::invalid(
                            "field_invalid",
                            format!("unknown challenge {n}: turn_left, turn_right, look_up, look_down, smile, move_closer"),
                            Some("options.challenges"),
                        ));
                    }
                }
            }
            if let Some(cov) = o.get("analysisCoverage") {
                let list = cov.as_array().ok_or_else(|| {
                    ApiError::invalid(
                        "field_type",
                        "`options.analysisCoverage` must be a list",
                        Some("options.analysisCoverage"),
                    )
                })?;
                for n in list {
                    if !n.as_str().is_some_and(|n| verity_document::checks::KNOWN_COVERAGE.contains(&n)) {
                        return Err(ApiError::invalid(
                            "field_invalid",
                            format!(
                                "unknown analysis {n}: {}",
                                verity_document::checks::KNOWN_COVERAGE.join(", ")
                            ),
                            Some("options.analysisCoverage"),
                        ));
                    }
                }
            }
            if let Some(age) = o.get("minimumPermittedAge") {
                if age.as_u64().is_none_or(|a| a > 130) {
                    return Err(ApiError::invalid(
                        "field_invalid",
                        "`options.minimumPermittedAge` must be a whole number of years (0–130)",
                        Some("options.minimumPermittedAge"),
                    ));
                }
            }
            if o.get("clientDataValidation").is_some_and(|v| !v.is_boolean()) {
                return Err(ApiError::invalid(
                    "field_type",
                    "`options.clientDataValidation` must be a boolean",
                    Some("options.clientDataValidation"),
                ));
            }
            out.insert("options".into(), Value::Object(o.clone()));
        }
        Some(_) => {
            return Err(ApiError::invalid("field_type", "`options` must be an object", Some("options")))
        }
    }
    match m.get("enableMonitoring") {
        None | Some(Value::Null) => {}
        Some(Value::Bool(b)) => {
            out.insert("enableMonitoring".into(), json!(b));
        }
        Some(_) => {
            return Err(ApiError::invalid(
                "field_type",
                "`enableMonitoring` must be a boolean",
                Some("enableMonitoring"),
            ))
        }
    }
    out.insert("status".into(), json!("pending"));
    // The evidence is locked before the check exists: from now on its files and the document's
    // type and country cannot change (`document_in_use`), so the check judges what was sent.
    for (field, kind, what) in [
        ("livePhotoId", "livePhoto", "live photo"),
        ("liveVideoId", "liveVideo", "live video"),
        ("documentId", "document", "document"),
    ] {
        if let Some(id) = out.get(field).and_then(Value::as_str) {
            crate::resources::modify(&s, &caller.tenant_id, kind, what, id, |r| {
                if kind == "document" && r.body["_files"]["front"].as_str().is_none() {
                    return Err(ApiError::invalid(
                        "document_image_missing",
                        "the document has no front image: upload it first",
                        Some("documentId"),
                    ));
                }
                r.body["_inUse"] = json!(true);
                Ok(())
            })
            .await?;
        }
    }
    let r = new_resource(&caller.tenant_id, "check", Some(client.id), Value::Object(out));
    s.store.insert(&r).await?;
    s.store
        .enqueue(&NewJob {
            id: new_id(),
            kind: RUN_CHECK_JOB.into(),
            payload: json!({"tenantId": caller.tenant_id, "checkId": r.id}),
            max_attempts: 3,
            run_at: now_ms(),
        })
        .await?;
    let rendered = render(&r);
    events::emit(&s, &caller.tenant_id, "check.pending", "check", rendered.clone()).await?;
    s.wake.notify_waiters();
    Ok((StatusCode::CREATED, Json(rendered)))
}

pub async fn get(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    Ok(Json(render(&fetch(&s, &caller.tenant_id, "check", "check", &id).await?)))
}

pub async fn list(
    State(s): State<AppState>,
    caller: Caller,
    Query(params): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    list_of(
        &s,
        &caller.tenant_id,
        "check",
        &params,
        &["type", "status", "documentId", "livePhotoId", "liveVideoId", "result"],
    )
    .await
}

pub async fn update(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let m = json_object(&body)?;
    if let Some(k) = m.keys().find(|k| k.as_str() != "enableMonitoring") {
        return Err(ApiError::invalid(
            "field_not_updatable",
            format!("`{k}` cannot be changed on a check"),
            Some(k),
        ));
    }
    let monitoring = match m.get("enableMonitoring") {
        None => None,
        Some(v) => Some(v.as_bool().ok_or_else(|| {
            ApiError::invalid("field_type", "`enableMonitoring` must be a boolean", Some("enableMonitoring"))
        })?),
    };
    let r = crate::resources::modify(&s, &caller.tenant_id, "check", "check", &id, |r| {
        if let Some(b) = monitoring {
            r.body["enableMonitoring"] = json!(b);
        }
        Ok(())
    })
    .await?;
    let rendered = render(&r);
    events::emit(&s, &caller.tenant_id, "check.updated", "check", rendered.clone()).await?;
    Ok(Json(rendered))
}

/// The outcomes a reviewer may give (ComplyCube's SDKs send `confirmed`; `clear` is its
/// synonym in ComplyCube's check outcomes).
pub(crate) const VALIDATION_OUTCOMES: &[&str] = &["clear", "confirmed", "attention", "rejected"];

/// A reviewer's outcome for a completed check.
pub async fn validate(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let m = json_object(&body)?;
    reject_unknown(&m, &["outcome"])?;
    let outcome = string_field(&m, "outcome", true)?.unwrap_or_default();
    if !VALIDATION_OUTCOMES.contains(&outcome.as_str()) {
        return Err(ApiError::invalid(
            "field_invalid",
            format!("`outcome` must be one of {}", VALIDATION_OUTCOMES.join(", ")),
            Some("outcome"),
        ));
    }
    let r = crate::resources::modify(&s, &caller.tenant_id, "check", "check", &id, |r| {
        if r.body["status"] != "complete" {
            return Err(ApiError::invalid(
                "check_not_complete",
                "only a complete check can be validated",
                None,
            ));
        }
        r.body["validation"] =
            json!({"outcome": outcome, "validatedAt": verity_store::time::format_ms(now_ms())});
        Ok(())
    })
    .await?;
    events::emit(&s, &caller.tenant_id, "check.updated", "check", render(&r)).await?;
    Ok(Json(json!({"id": r.id, "outcome": outcome})))
}

// ------------------------------------------------------------------ running

fn not_processed(reason: &str) -> Value {
    json!({"outcome": "not_processed", "reasons": [reason]})
}

fn combine(parts: &[&str]) -> &'static str {
    if parts.contains(&"attention") {
        "attention"
    } else if parts.contains(&"not_processed") {
        "not_processed"
    } else {
        "clear"
    }
}

async fn file(s: &AppState, r: &Resource, name: &str) -> Result<Option<Vec<u8>>, String> {
    match r.body["_files"][name].as_str() {
        None => Ok(None),
        Some(k) => s.files.get(k).await.map(Some).map_err(|e| e.to_string()),
    }
}

/// The document's portrait, analysed (a PDF's largest image on page 1 stands for the document).
fn analyze_document(face: &FaceEngine, doc: &[u8]) -> Result<verity_face::Analysis, String> {
    verity_imaging::decode_document(doc, &verity_imaging::Limits::default())
        .map_err(|e| e.to_string())
        .and_then(|d| face.analyze(&d.image, ImageKind::Document).map_err(|e| e.to_string()))
}

/// `integrityAnalysis.faceDetection` from the document analysis, and the portrait's embedding.
fn integrity(
    d_an: Result<verity_face::Analysis, String>,
    reasons: &mut Vec<String>,
) -> (&'static str, Option<verity_face::Embedding>) {
    match d_an {
        Ok(a) => ("clear", Some(a.embedding)),
        Err(e) if e == "PDF" => {
            reasons.push("document image is a PDF: reading PDFs comes with the document engine".into());
            ("not_processed", None)
        }
        Err(e) => {
            reasons.push(format!("no face found on the document: {e}"));
            ("attention", None)
        }
    }
}

/// The identity check's breakdown from a selfie and a document front (runs on a blocking thread;
/// the selfie and the document are analysed on two threads at once).
fn identity(face: &FaceEngine, liveness: Result<&LivenessEngine, &str>, selfie: &[u8], doc: &[u8]) -> Value {
    let lim = verity_imaging::Limits::default();
    let mut reasons: Vec<String> = Vec::new();
    let selfie_img = match verity_imaging::decode(selfie, &lim) {
        Ok(d) => d,
        Err(e) => return not_processed(&format!("live photo cannot be read: {e}")),
    };
    let (s_an, live, d_an) = std::thread::scope(|scope| {
        let doc_job = scope.spawn(|| analyze_document(face, doc));
        // One exhaustive analysis of the selfie serves the face match and liveness.
        let s_an = verity_liveness::photo::analyze_selfie(face, &selfie_img);
        let live = match (&s_an, liveness) {
            (Ok(a), Ok(l)) => Some(l.photo_analyzed(&selfie_img, selfie, a).map_err(|e| e.to_string())),
            (Err(e), Ok(_)) => Some(Err(e.to_string())),
            (_, Err(_)) => None,
        };
        let d_an = doc_job.join().unwrap_or_else(|_| Err("document analysis panicked".into()));
        (s_an, live, d_an)
    });
    // A second face counts when it is nearly as large as the subject's (the face engine's
    // `multiple_faces` quality issue), not a small face far in the background or a portrait on
    // a card held up (that is reported by liveness).
    let (face_detection, selfie_emb) = match &s_an {
        Ok(a) => match a.quality.issues.iter().find(|i| i.code == "multiple_faces") {
            None => ("clear", Some(&a.embedding)),
            Some(i) => {
                reasons.push(format!("live photo: {}", i.message));
                ("attention", Some(&a.embedding))
            }
        },
        Err(_) => {
            reasons.push("no face in the live photo".into());
            ("attention", None)
        }
    };
    let (integrity, doc_emb) = integrity(d_an, &mut reasons);
    let (similarity, score) = match (selfie_emb, &doc_emb) {
        (Some(a), Some(b)) => {
            let m = face.compare(a, b);
            if !m.is_match {
                reasons.push(format!("the live photo does not match the document (score {:.0})", m.score));
            }
            (if m.is_match { "clear" } else { "attention" }, Some((m.score.round()) as i64))
        }
        _ => ("not_processed", None),
    };
    // Authenticity of the live photo.
    let (spoofed, live_check, live_score, signals) = match (live, liveness) {
        (_, Err(e)) => {
            reasons.push(format!("liveness engine unavailable: {e}"));
            ("not_processed", "not_processed", None, Value::Null)
        }
        (Some(Ok(p)), _) => {
            let other_spoof = p.reasons.iter().any(|r| r != "passive_pad");
            let pad_ok = p.signals.passive_pad.status == verity_liveness::Status::Pass;
            if !pad_ok {
                reasons.push(format!("liveness check failed (score {:.0})", p.score));
            }
            if other_spoof {
                reasons.push(format!(
                    "spoof signals: {}",
                    p.reasons.iter().filter(|r| *r != "passive_pad").cloned().collect::<Vec<_>>().join(", ")
                ));
            }
            (
                if other_spoof { "attention" } else { "clear" },
                if pad_ok { "clear" } else { "attention" },
                Some(p.score.round() as i64),
                serde_json::to_value(&p.signals).unwrap_or(Value::Null),
            )
        }
        (Some(Err(e)), _) => {
            reasons.push(format!("liveness not assessed: {e}"));
            ("not_processed", "not_processed", None, Value::Null)
        }
        (None, _) => ("not_processed", "not_processed", None, Value::Null),
    };
    let outcome = combine(&[face_detection, similarity, spoofed, live_check, integrity]);
    let mut face_breakdown = json!({});
    if let Some(sc) = score {
        face_breakdown["facialSimilarityScore"] = json!(sc);
    }
    let mut auth_breakdown = json!({});
    if let Some(sc) = live_score {
        auth_breakdown["livenessCheckScore"] = json!(sc);
    }
    json!({
        "outcome": outcome,
        "reasons": reasons,
        "breakdown": {
            "faceAnalysis": {"faceDetection": face_detection, "facialSimilarity": similarity, "breakdown": face_breakdown},
            "authenticityAnalysis": {"spoofedImageAnalysis": spoofed, "livenessCheck": live_check, "breakdown": auth_breakdown},
            "integrityAnalysis": {"faceDetection": integrity},
        },
        "signals": signals,
    })
}

/// What the document resource and the client declare.
fn declared_of(doc: &Resource, client: Option<&Resource>) -> verity_document::checks::Declared {
    let pd = client.map(|c| &c.body["personDetails"]);
    let text = |v: Option<&Value>, k: &str| v.and_then(|v| v[k].as_str()).map(str::to_string);
    let dob = text(pd, "dob").and_then(|d| {
        let mut it = d.split('-').map(|p| p.parse::<i64>().ok());
        let (y, m, dd) = (it.next()??, it.next()??, it.next()??);
        verity_mrz::Date::new(y as i32, m as u32, dd as u32)
    });
    verity_document::checks::Declared {
        document_type: doc.body["type"].as_str().map(str::to_string),
        issuing_country: doc.body["issuingCountry"].as_str().map(str::to_string),
        first_name: text(pd, "firstName"),
        middle_name: text(pd, "middleName"),
        last_name: text(pd, "lastName"),
        dob,
        nationality: text(pd, "nationality"),
    }
}

/// `options` of a document check: `analysisCoverage` (default: what Verity runs),
/// `minimumPermittedAge` (18), `clientDataValidation` (true).
fn document_options(o: &Value) -> verity_document::checks::CheckOptions {
    let coverage = o["analysisCoverage"]
        .as_array()
        .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
        .unwrap_or_else(|| verity_document::checks::DEFAULT_COVERAGE.iter().map(|s| s.to_string()).collect());
    verity_document::checks::CheckOptions {
        coverage,
        minimum_age: o["minimumPermittedAge"].as_u64().map(|a| a as i32).unwrap_or(18),
        today: today(),
        client_data_validation: o["clientDataValidation"].as_bool().unwrap_or(true),
    }
}

/// Today's date (UTC).
fn today() -> verity_mrz::Date {
    verity_mrz::Date::from_unix_days(now_ms().div_euclid(86_400_000))
}

/// The document check: the MRZ read from the front, else the back, then the analyses.
fn document_check(
    engine: &verity_document::DocumentEngine,
    front: &[u8],
    back: Option<&[u8]>,
    declared: &verity_document::checks::Declared,
    opts: &verity_document::checks::CheckOptions,
) -> Value {
    use verity_document::examine::{ExamineOptions, TextReading};
    let lim = verity_imaging::Limits::default();
    let decode = |name: &str, bytes: &[u8]| {
        verity_imaging::decode_document(bytes, &lim)
            .map_err(|e| not_processed(&format!("the document's {name} cannot be read: {e}")))
    };
    let front = match decode("front", front) {
        Ok(d) => d,
        Err(v) => return v,
    };
    let back = match back.map(|b| decode("back", b)).transpose() {
        Ok(d) => d,
        Err(v) => return v,
    };
    let covers = |c: &str| opts.coverage.iter().any(|x| x == c);
    let examine_opts = ExamineOptions {
        today: opts.today,
        text: if covers("consistency") { TextReading::WithMrz } else { TextReading::Off },
        forensic: covers("forensic"),
    };
    let ex = match engine.examine(&front, back.as_ref(), &examine_opts) {
        Ok(ex) => ex,
        Err(e) => return not_processed(&format!("document reading failed: {e}")),
    };
    let evidence = ex.evidence();
    let a = verity_document::checks::assess_evidence(&evidence, declared, opts);
    let mut out = json!({"outcome": a.outcome, "reasons": a.reasons, "breakdown": a.breakdown});
    if let Some((z, _)) = &ex.visual_zone {
        out["visualZone"] = json!({"lines": z.lines.iter().map(|l| json!({"text": l.text, "confidence": (l.confidence * 1000.0).round() / 1000.0})).collect::<Vec<_>>()});
    }
    if let Some((side, b)) = &ex.barcode {
        out["barcode"] = json!({"side": side, "format": b.format, "standard": if b.aamva.is_some() { "AAMVA" } else { "unknown" }, "angleDeg": b.angle_deg});
    }
    if let Some((side, r)) = ex.mrz() {
        out["mrz"] = json!({"side": side, "lines": r.lines, "rawLines": r.raw_lines, "corrections": r.corrections, "confidence": r.confidence});
    }
    out
}

/// The enhanced identity check: video liveness (tracking, same person, PAD, head motion,
/// planarity, the requested challenges) and the best frame matched against the document.
fn enhanced(
    face: &FaceEngine,
    liveness: &LivenessEngine,
    video: &std::path::Path,
    challenges: &[verity_liveness::Challenge],
    limits: &verity_liveness::VideoLimits,
    doc: &[u8],
) -> Value {
    let mut reasons: Vec<String> = Vec::new();
    let (v, d_an) = std::thread::scope(|scope| {
        let doc_job = scope.spawn(|| analyze_document(face, doc));
        let v = liveness.video(video, challenges, limits);
        (v, doc_job.join().unwrap_or_else(|_| Err("document analysis panicked".into())))
    });
    let v = match v {
        Ok(v) => v,
        Err(e) => return not_processed(&format!("live video not assessed: {e}")),
    };
    let rep = &v.report;
    let (integrity, doc_emb) = integrity(d_an, &mut reasons);
    let (similarity, score) = match &doc_emb {
        Some(b) => {
            let m = face.compare(&v.embedding, b);
            if !m.is_match {
                reasons.push(format!("the video's face does not match the document (score {:.0})", m.score));
            }
            (if m.is_match { "clear" } else { "attention" }, Some(m.score.round() as i64))
        }
        None => ("not_processed", None),
    };
    let live = if rep.live { "clear" } else { "attention" };
    if !rep.live {
        reasons.push(format!("video liveness failed: {}", rep.reasons.join(", ")));
    }
    let same =
        if rep.signals.same_person.status == verity_liveness::Status::Pass { "clear" } else { "attention" };
    let outcome = combine(&[similarity, live, integrity, same]);
    let mut face_breakdown = json!({});
    if let Some(sc) = score {
        face_breakdown["facialSimilarityScore"] = json!(sc);
    }
    json!({
        "outcome": outcome,
        "reasons": reasons,
        "breakdown": {
            "faceAnalysis": {"faceDetection": "clear", "facialSimilarity": similarity, "breakdown": face_breakdown},
            "authenticityAnalysis": {
                "spoofedImageAnalysis": if rep.signals.planarity.status == verity_liveness::Status::Spoof { "attention" } else { "clear" },
                "livenessCheck": live,
                "breakdown": {"livenessCheckScore": rep.score.round() as i64},
            },
            "integrityAnalysis": {"faceDetection": integrity},
            "videoAnalysis": {
                "challenges": rep.challenges,
                "bestFrame": rep.best_frame,
                "samePerson": same,
            },
        },
        "signals": rep.signals,
    })
}

/// Face authentication against the client's enrolled faces (live photos of earlier clear checks).
async fn face_authentication(
    s: &AppState,
    tenant: &str,
    check: &Resource,
    face: Arc<FaceEngine>,
) -> Result<Value, String> {
    let photo_id = check.body["livePhotoId"].as_str().unwrap_or_default().to_string();
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
        let p = s.store.list(tenant, "check", &q).await.map_err(|e| e.to_string())?;
        for c in &p.items {
            if let Some(id) = c.body["livePhotoId"].as_str() {
                if id != photo_id && !enrolled.iter().any(|e| e == id) {
                    enrolled.push(id.to_string());
                }
            }
        }
        if p.items.len() < 100 {
            break;
        }
        page += 1;
    }
    if enrolled.is_empty() {
        return Ok(json!({
            "outcome": "not_processed",
            "reasons": ["the client has no enrolled face: run an identity check that comes out clear first"],
            "breakdown": {"faceAuthentication": {"facialSimilarity": "not_processed", "breakdown": {"enrolledFaces": {"livePhotoIds": []}}}},
        }));
    }
    let photo = fetch(s, tenant, "livePhoto", "live photo", &photo_id).await.map_err(|e| e.to_string())?;
    let probe = file(s, &photo, "photo").await?.ok_or("live photo file missing")?;
    let mut gallery = Vec::new();
    for id in &enrolled {
        if let Ok(p) = fetch(s, tenant, "livePhoto", "live photo", id).await {
            if let Ok(Some(b)) = file(s, &p, "photo").await {
                gallery.push((id.clone(), b));
            }
        }
    }
    let enrolled_ids = enrolled.clone();
    tokio::task::spawn_blocking(move || {
        let lim = verity_imaging::Limits::default();
        let probe = verity_imaging::decode(&probe, &lim).map_err(|e| e.to_string())?;
        let probe = match face.analyze(&probe.image, ImageKind::Selfie) {
            Ok(a) => a,
            Err(_) => {
                return Ok(json!({
                    "outcome": "attention",
                    "reasons": ["no face in the live photo"],
                    "breakdown": {"faceAuthentication": {"facialSimilarity": "attention", "breakdown": {"enrolledFaces": {"livePhotoIds": enrolled_ids}}}},
                }))
            }
        };
        let mut matched = Vec::new();
        for (id, bytes) in gallery {
            let Ok(d) = verity_imaging::decode(&bytes, &lim) else { continue };
            let Ok(a) = face.analyze(&d.image, ImageKind::Selfie) else { continue };
            let m = face.compare(&probe.embedding, &a.embedding);
            if m.is_match {
                matched.push(json!({"livePhotoId": id, "facialSimilarityScore": m.score.round() as i64}));
            }
        }
        let outcome = if matched.is_empty() { "attention" } else { "clear" };
        let mut breakdown = json!({"enrolledFaces": {"livePhotoIds": enrolled_ids}});
        if !matched.is_empty() {
            breakdown["facesMatched"] = json!(matched);
        }
        Ok(json!({
            "outcome": outcome,
            "reasons": if matched.is_empty() { vec!["the live photo matches none of the enrolled faces"] } else { vec![] },
            "breakdown": {"faceAuthentication": {"facialSimilarity": outcome, "breakdown": breakdown}},
        }))
    })
    .await
    .map_err(|e| e.to_string())?
}

/// The result of one check, or an error worth retrying.
async fn evaluate(s: &AppState, tenant: &str, check: &Resource) -> Result<Value, String> {
    let kind = check.body["type"].as_str().unwrap_or_default();
    match kind {
        "identity_check" => {
            let face = match &s.engines.face {
                Ok(f) => f.clone(),
                Err(e) => return Ok(not_processed(&format!("face engine unavailable: {e}"))),
            };
            let liveness = s.engines.liveness.clone();
            let photo_id = check.body["livePhotoId"].as_str().unwrap_or_default();
            let doc_id = check.body["documentId"].as_str().unwrap_or_default();
            let Ok(photo) = fetch(s, tenant, "livePhoto", "live photo", photo_id).await else {
                return Ok(not_processed("the live photo was deleted"));
            };
            let Ok(doc) = fetch(s, tenant, "document", "document", doc_id).await else {
                return Ok(not_processed("the document was deleted"));
            };
            let Some(selfie) = file(s, &photo, "photo").await? else {
                return Ok(not_processed("the live photo has no file"));
            };
            let Some(front) = file(s, &doc, "front").await? else {
                return Ok(not_processed("the document has no front image"));
            };
            tokio::task::spawn_blocking(move || {
                identity(&face, liveness.as_deref().map_err(String::as_str), &selfie, &front)
            })
            .await
            .map_err(|e| e.to_string())
        }
        "face_authentication_check" => match &s.engines.face {
            Ok(f) => face_authentication(s, tenant, check, f.clone()).await,
            Err(e) => Ok(not_processed(&format!("face engine unavailable: {e}"))),
        },
        "document_check" => {
            let engine = match &s.engines.document {
                Ok(e) => e.clone(),
                Err(e) => return Ok(not_processed(&format!("document engine unavailable: {e}"))),
            };
            let doc_id = check.body["documentId"].as_str().unwrap_or_default();
            let Ok(doc) = fetch(s, tenant, "document", "document", doc_id).await else {
                return Ok(not_processed("the document was deleted"));
            };
            let Some(front) = file(s, &doc, "front").await? else {
                return Ok(not_processed("the document has no front image"));
            };
            let back = file(s, &doc, "back").await?;
            let client =
                fetch(s, tenant, "client", "client", check.body["clientId"].as_str().unwrap_or_default())
                    .await
                    .ok();
            let declared = declared_of(&doc, client.as_ref());
            let opts = document_options(&check.body["options"]);
            tokio::task::spawn_blocking(move || {
                document_check(&engine, &front, back.as_deref(), &declared, &opts)
            })
            .await
            .map_err(|e| e.to_string())
        }
        "enhanced_identity_check" => {
            let (face, liveness) = match (&s.engines.face, &s.engines.liveness) {
                (Ok(f), Ok(l)) => (f.clone(), l.clone()),
                (Err(e), _) | (_, Err(e)) => return Ok(not_processed(&format!("engine unavailable: {e}"))),
            };
            let video_id = check.body["liveVideoId"].as_str().unwrap_or_default();
            let doc_id = check.body["documentId"].as_str().unwrap_or_default();
            let Ok(video) = fetch(s, tenant, "liveVideo", "live video", video_id).await else {
                return Ok(not_processed("the live video was deleted"));
            };
            let Ok(doc) = fetch(s, tenant, "document", "document", doc_id).await else {
                return Ok(not_processed("the document was deleted"));
            };
            let Some(video_key) = video.body["_files"]["video"].as_str() else {
                return Ok(not_processed("the live video has no file"));
            };
            // Decrypted to a private temporary file, streaming (never whole in memory).
            let tmp = tempfile::NamedTempFile::new().map_err(|e| e.to_string())?;
            s.files.get_to_file(video_key, tmp.path()).await.map_err(|e| e.to_string())?;
            let Some(front) = file(s, &doc, "front").await? else {
                return Ok(not_processed("the document has no front image"));
            };
            let challenges: Vec<verity_liveness::Challenge> = check.body["options"]["challenges"]
                .as_array()
                .map(|a| {
                    a.iter().filter_map(|n| n.as_str().and_then(verity_liveness::Challenge::parse)).collect()
                })
                .unwrap_or_default();
            let limits = crate::routes::videos::video_limits(s);
            tokio::task::spawn_blocking(move || {
                Ok::<Value, String>(enhanced(&face, &liveness, tmp.path(), &challenges, &limits, &front))
            })
            .await
            .map_err(|e| e.to_string())?
        }
        other => Ok(not_processed(&format!("unknown check type {other}"))),
    }
}

/// The `run_check` job.
pub async fn run(s: &AppState, payload: &Value, attempt: i64, max_attempts: i64) -> Outcome {
    let (Some(tenant), Some(id)) = (payload["tenantId"].as_str(), payload["checkId"].as_str()) else {
        return Outcome::GiveUp("malformed check job".into());
    };
    let check = match s.store.get(tenant, "check", id).await {
        Ok(Some(c)) => c,
        Ok(None) => return Outcome::Done, // deleted meanwhile
        Err(e) => return Outcome::Retry { after_ms: 1000, error: e.to_string() },
    };
    if check.body["status"] != "pending" {
        return Outcome::Done;
    }
    let started = std::time::Instant::now();
    match evaluate(s, tenant, &check).await {
        Ok(mut result) => {
            let outcome = result["outcome"].as_str().unwrap_or("not_processed").to_string();
            if let Some(o) = result.as_object_mut() {
                o.insert("processingMs".into(), json!(started.elapsed().as_millis() as u64));
            }
            let written = crate::resources::modify(s, tenant, "check", "check", id, |c| {
                if c.body["status"] != "pending" {
                    // Another worker finished it first (a lease that expired mid-run).
                    return Err(ApiError::Conflict("already finished".into()));
                }
                c.body["status"] = json!("complete");
                c.body["result"] = result.clone();
                Ok(())
            })
            .await;
            let check = match written {
                Ok(c) => c,
                Err(ApiError::Conflict(_) | ApiError::NotFound { .. }) => return Outcome::Done,
                Err(e) => return Outcome::Retry { after_ms: 1000, error: e.to_string() },
            };
            let rendered = render(&check);
            let _ = events::emit(s, tenant, "check.completed", "check", rendered.clone()).await;
            let _ = events::emit(s, tenant, &format!("check.completed.{outcome}"), "check", rendered).await;
            s.metrics.check_done(
                check.body["type"].as_str().unwrap_or(""),
                &outcome,
                started.elapsed().as_millis() as u64,
            );
            Outcome::Done
        }
        Err(e) if attempt < max_attempts => Outcome::Retry { after_ms: 2000 * attempt, error: e },
        Err(e) => {
            let failed = crate::resources::modify(s, tenant, "check", "check", id, |c| {
                if c.body["status"] != "pending" {
                    return Err(ApiError::Conflict("already finished".into()));
                }
                c.body["status"] = json!("failed");
                c.body["error"] = json!(e);
                Ok(())
            })
            .await;
            if let Ok(check) = failed {
                let _ = events::emit(s, tenant, "check.failed", "check", render(&check)).await;
            }
            Outcome::GiveUp(e)
        }
    }
}
