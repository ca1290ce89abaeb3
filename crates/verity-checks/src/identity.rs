//! The identity check (a selfie against the document's portrait, with the selfie's liveness)
//! and the enhanced identity check (a selfie video's liveness and its best frame against the
//! portrait), in ComplyCube's `identity_check` / `enhanced_identity_check` result shapes.

use std::path::Path;

use serde::Serialize;
use verity_face::Embedding;
use verity_liveness::photo::PhotoSignals;
use verity_liveness::video::{BestFrame, ChallengeResult, VideoSignals};
use verity_liveness::{Challenge, Status, VideoLimits};

use crate::both;
use crate::duplicates::{Fingerprint, ImageHash};
use crate::engines::{FaceChecks, LivenessFacts, SelfieFacts};
use crate::verify::evidence::{Evidence, LivenessMarks};
use crate::{CheckResult, Outcome};

/// `result.breakdown` and `result.signals` of an identity check.
#[derive(Debug, Clone, Serialize)]
pub struct IdentityDetails<S> {
    pub breakdown: IdentityBreakdown,
    /// Every liveness signal with its value (photo or video signals).
    pub signals: S,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IdentityBreakdown {
    pub face_analysis: FaceAnalysis,
    pub authenticity_analysis: AuthenticityAnalysis,
    pub integrity_analysis: IntegrityAnalysis,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub video_analysis: Option<VideoAnalysis>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FaceAnalysis {
    pub face_detection: Outcome,
    pub facial_similarity: Outcome,
    pub breakdown: FaceScores,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FaceScores {
    /// 0–100, 50 being the decision threshold.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub facial_similarity_score: Option<i64>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthenticityAnalysis {
    pub spoofed_image_analysis: Outcome,
    pub liveness_check: Outcome,
    pub breakdown: LivenessScores,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LivenessScores {
    /// 0–100, 50 being the decision threshold.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub liveness_check_score: Option<i64>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IntegrityAnalysis {
    /// A face was found on the document.
    pub face_detection: Outcome,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VideoAnalysis {
    pub challenges: Vec<ChallengeResult>,
    pub best_frame: BestFrame,
    pub same_person: Outcome,
}

pub type IdentityResult = CheckResult<IdentityDetails<Option<PhotoSignals>>>;
pub type EnhancedIdentityResult = CheckResult<IdentityDetails<VideoSignals>>;

/// The document's face: `integrityAnalysis.faceDetection` and the embedding to compare with.
fn integrity(portrait: Result<Embedding, String>, reasons: &mut Vec<String>) -> (Outcome, Option<Embedding>) {
    match portrait {
        Ok(e) => (Outcome::Clear, Some(e)),
        Err(e) => {
            reasons.push(format!("no face found on the document: {e}"));
            (Outcome::Attention, None)
        }
    }
}

/// The face match of two faces when both were found: `facialSimilarity` and its score.
fn similarity(
    faces: &dyn FaceChecks,
    subject: Option<&Embedding>,
    portrait: Option<&Embedding>,
    what: &str,
    reasons: &mut Vec<String>,
) -> (Outcome, FaceScores) {
    match (subject, portrait) {
        (Some(a), Some(b)) => {
            let m = faces.compare(a, b);
            if !m.is_match {
                reasons.push(format!("{what} does not match the document (score {:.0})", m.score));
            }
            (Outcome::of(m.is_match), FaceScores { facial_similarity_score: Some(m.score.round() as i64) })
        }
        _ => (Outcome::NotProcessed, FaceScores::default()),
    }
}

/// The identity check on a selfie and a document front (bytes as uploaded).
pub fn identity_check(faces: &dyn FaceChecks, selfie: &[u8], document_front: &[u8]) -> IdentityResult {
    identity_check_kept(faces, selfie, document_front).0
}

/// As [`identity_check`], with what the duplicate search keeps of the two faces (the live
/// photo's fingerprint: its embedding and picture hashes; the document's: its portrait's
/// embedding). Identities are the caller's to fill.
pub fn identity_check_kept(
    faces: &dyn FaceChecks,
    selfie_bytes: &[u8],
    document_front: &[u8],
) -> (IdentityResult, Option<Fingerprint>, Option<Fingerprint>) {
    let (selfie, portrait) = both(|| faces.selfie(selfie_bytes), || faces.portrait_marked(document_front));
    let mut evidence = Evidence::default();
    let portrait = portrait.map(|(e, marks)| {
        evidence.faces.extend(marks);
        e
    });
    let document =
        portrait.as_ref().ok().map(|e| Fingerprint { portrait: Some(e.0.clone()), ..Default::default() });
    match selfie {
        Ok(s) => {
            use sha2::Digest;
            let photo = Fingerprint {
                selfie: s.face.as_ref().ok().map(|f| f.embedding.0.clone()),
                images: vec![(
                    "selfie".into(),
                    ImageHash { sha256: sha2::Sha256::digest(selfie_bytes).into(), dhash: s.dhash },
                )],
                ..Default::default()
            };
            evidence.faces.extend(s.marks.iter().cloned());
            if let LivenessFacts::Assessed(p) = &s.liveness {
                evidence.liveness = Some(LivenessMarks::of_photo(p));
            }
            let mut result = assess_identity(faces, s, portrait);
            result.evidence = Some(Box::new(evidence));
            (result, Some(photo), document)
        }
        Err(e) => (CheckResult::not_processed(format!("live photo cannot be read: {e}")), None, document),
    }
}

/// The identity check's decisions on the facts of the selfie and the document portrait.
pub fn assess_identity(
    faces: &dyn FaceChecks,
    selfie: SelfieFacts,
    portrait: Result<Embedding, String>,
) -> IdentityResult {
    let mut reasons = Vec::new();
    // A second face counts when it is nearly as large as the subject's, not a small face far in
    // the background or a portrait on a card held up (that is reported by liveness).
    let (face_detection, subject) = match &selfie.face {
        Ok(f) => match &f.multiple_faces {
            None => (Outcome::Clear, Some(&f.embedding)),
            Some(why) => {
                reasons.push(format!("live photo: {why}"));
                (Outcome::Attention, Some(&f.embedding))
            }
        },
        Err(_) => {
            reasons.push("no face in the live photo".into());
            (Outcome::Attention, None)
        }
    };
    let (integrity, portrait) = integrity(portrait, &mut reasons);
    let (facial_similarity, scores) =
        similarity(faces, subject, portrait.as_ref(), "the live photo", &mut reasons);
    let (spoofed, live, live_scores, signals) = match selfie.liveness {
        LivenessFacts::Unavailable(e) => {
            reasons.push(format!("liveness engine unavailable: {e}"));
            (Outcome::NotProcessed, Outcome::NotProcessed, LivenessScores::default(), None)
        }
        LivenessFacts::NotAssessed(e) => {
            reasons.push(format!("liveness not assessed: {e}"));
            (Outcome::NotProcessed, Outcome::NotProcessed, LivenessScores::default(), None)
        }
        LivenessFacts::Assessed(p) => {
            let others: Vec<&str> =
                p.reasons.iter().map(String::as_str).filter(|r| *r != "passive_pad").collect();
            let pad_ok = p.signals.passive_pad.status == Status::Pass;
            if !pad_ok {
                reasons.push(format!("liveness check failed (score {:.0})", p.score));
            }
            if !others.is_empty() {
                reasons.push(format!("spoof signals: {}", others.join(", ")));
            }
            (
                Outcome::of(others.is_empty()),
                Outcome::of(pad_ok),
                LivenessScores { liveness_check_score: Some(p.score.round() as i64) },
                Some(p.signals),
            )
        }
    };
    let outcome = Outcome::combine([face_detection, facial_similarity, spoofed, live, integrity]);
    CheckResult {
        outcome,
        reasons,
        details: Some(IdentityDetails {
            breakdown: IdentityBreakdown {
                face_analysis: FaceAnalysis { face_detection, facial_similarity, breakdown: scores },
                authenticity_analysis: AuthenticityAnalysis {
                    spoofed_image_analysis: spoofed,
                    liveness_check: live,
                    breakdown: live_scores,
                },
                integrity_analysis: IntegrityAnalysis { face_detection: integrity },
                video_analysis: None,
            },
            signals,
        }),
        evidence: None,
    }
}

/// The enhanced identity check: the video's liveness (tracking, same person, PAD, head motion,
/// planarity, the requested challenges) and its best frame against the document's portrait.
pub fn enhanced_identity_check(
    faces: &dyn FaceChecks,
    video: &Path,
    challenges: &[Challenge],
    limits: &VideoLimits,
    document_front: &[u8],
) -> EnhancedIdentityResult {
    let (v, portrait) =
        both(|| faces.video(video, challenges, limits), || faces.portrait_marked(document_front));
    let mut evidence = Evidence::default();
    let portrait = portrait.map(|(e, marks)| {
        evidence.faces.extend(marks);
        e
    });
    let v = match v {
        Ok(v) => v,
        Err(e) => return CheckResult::not_processed(format!("live video not assessed: {e}")),
    };
    let mut reasons = Vec::new();
    let rep = v.report;
    evidence.liveness = Some(LivenessMarks::of_video(&rep, &[]));
    let (integrity, portrait) = integrity(portrait, &mut reasons);
    let (facial_similarity, scores) =
        similarity(faces, Some(&v.embedding), portrait.as_ref(), "the video's face", &mut reasons);
    let live = Outcome::of(rep.live);
    if !rep.live {
        reasons.push(format!("video liveness failed: {}", rep.reasons.join(", ")));
    }
    let same = Outcome::of(rep.signals.same_person.status == Status::Pass);
    let outcome = Outcome::combine([facial_similarity, live, integrity, same]);
    CheckResult {
        outcome,
        reasons,
        details: Some(IdentityDetails {
            breakdown: IdentityBreakdown {
                face_analysis: FaceAnalysis {
                    face_detection: Outcome::Clear,
                    facial_similarity,
                    breakdown: scores,
                },
                authenticity_analysis: AuthenticityAnalysis {
                    spoofed_image_analysis: Outcome::of(rep.signals.planarity.status != Status::Spoof),
                    liveness_check: live,
                    breakdown: LivenessScores { liveness_check_score: Some(rep.score.round() as i64) },
                },
                integrity_analysis: IntegrityAnalysis { face_detection: integrity },
                video_analysis: Some(VideoAnalysis {
                    challenges: rep.challenges,
                    best_frame: rep.best_frame,
                    same_person: same,
                }),
            },
            signals: rep.signals,
        }),
        evidence: Some(Box::new(evidence)),
    }
}
