//! The selfie's side of a verification: the face match and liveness checks and their signals.

use serde_json::json;
use verity_face::Embedding;
use verity_liveness::photo::Status;

use super::{
    round3, signals, CheckName, CheckStatus, Checks, FaceMatchCheck, FraudSignal, LivenessCheck, Request,
};
use crate::engines::{FaceChecks, LivenessFacts, SelfieFacts};

/// The face match and liveness checks and their signals.
pub(super) fn face_signals(
    faces: Result<&dyn FaceChecks, String>,
    selfie: Option<Result<SelfieFacts, String>>,
    portrait: Option<Result<Embedding, String>>,
    req: &Request<'_>,
    out: &mut Vec<FraudSignal>,
    checks: &mut Checks,
) {
    let want = |c: CheckName| req.checks.contains(&c);
    let not_performed_face = |why: String| FaceMatchCheck {
        status: CheckStatus::NotPerformed,
        confidence: 0.0,
        similarity_score: None,
        threshold: 0.0,
        reason: Some(why),
    };
    let not_performed_live = |why: String| LivenessCheck {
        status: CheckStatus::NotPerformed,
        confidence: 0.0,
        is_live: None,
        spoof_probability: None,
        reason: Some(why),
    };
    let selfie = match selfie {
        None => {
            let why = "no selfie was sent".to_string();
            if want(CheckName::FaceMatch) {
                checks.face_match = Some(not_performed_face(why.clone()));
            }
            if want(CheckName::Liveness) {
                checks.liveness = Some(not_performed_live(why));
            }
            return;
        }
        Some(Err(e)) => {
            if want(CheckName::FaceMatch) {
                checks.face_match = Some(not_performed_face(e.clone()));
            }
            if want(CheckName::Liveness) {
                checks.liveness = Some(not_performed_live(e));
            }
            return;
        }
        Some(Ok(s)) => s,
    };
    match &selfie.face {
        Ok(f) => {
            if let Some(why) = &f.multiple_faces {
                out.push(signals::MULTIPLE_FACES.signal(format!("selfie: {why}"), json!({})));
            }
        }
        Err(e) => out
            .push(signals::NO_FACE_IN_SELFIE.signal("no face was found in the selfie", json!({"detail": e}))),
    }
    if want(CheckName::FaceMatch) {
        let portrait = portrait.unwrap_or_else(|| Err("not searched".into()));
        if portrait.is_err() {
            out.push(signals::NO_FACE_ON_DOCUMENT.signal(
                "no face was found on the document's front",
                json!({"detail": portrait.as_ref().err()}),
            ));
        }
        checks.face_match = Some(match (&selfie.face, &portrait, faces) {
            (Ok(s), Ok(p), Ok(engine)) => {
                let m = engine.compare(&s.embedding, p);
                if !m.is_match {
                    // 300 points at the threshold, up to 500 as the similarity falls 0.2 below it.
                    let gap = (m.threshold - m.similarity).max(0.0);
                    let points = 300 + ((gap / 0.2).min(1.0) * 200.0).round() as u32;
                    out.push(signals::FACE_MISMATCH.scaled(
                        points,
                        "the selfie and the document's portrait are not the same person",
                        json!({"similarity": round3(m.similarity), "threshold": round3(m.threshold)}),
                    ));
                }
                FaceMatchCheck {
                    status: if m.is_match { CheckStatus::Passed } else { CheckStatus::Failed },
                    confidence: round3(if m.is_match { m.score / 100.0 } else { 1.0 - m.score / 100.0 }),
                    similarity_score: Some(round3(m.similarity)),
                    threshold: round3(m.threshold),
                    reason: None,
                }
            }
            (Err(_), _, _) => not_performed_face("no face in the selfie".into()),
            (_, Err(_), _) => not_performed_face("no face on the document".into()),
            (_, _, Err(e)) => not_performed_face(format!("face engine unavailable: {e}")),
        });
    }
    if want(CheckName::Liveness) {
        checks.liveness = Some(match &selfie.liveness {
            LivenessFacts::Unavailable(e) => not_performed_live(format!("liveness engine unavailable: {e}")),
            LivenessFacts::NotAssessed(e) => not_performed_live(format!("liveness not assessed: {e}")),
            LivenessFacts::Assessed(p) => {
                let replay: Vec<&str> =
                    p.reasons.iter().map(String::as_str).filter(|r| *r != "passive_pad").collect();
                let pad_failed = p.signals.passive_pad.status == Status::Spoof;
                let fused = p.signals.passive_pad.value.unwrap_or(0.0) as f32;
                if pad_failed {
                    out.push(signals::LIVENESS_FAILED.signal(
                        format!("the selfie is not of a live person (liveness score {:.0}/100)", p.score),
                        json!({"score": p.score, "live_probability": round3(fused)}),
                    ));
                }
                if !replay.is_empty() {
                    out.push(signals::SCREEN_OR_PRINT_REPLAY.signal(
                        format!("the selfie shows a screen or a print: {}", replay.join(", ")),
                        json!({"subject": "selfie", "signals": replay}),
                    ));
                }
                LivenessCheck {
                    status: if p.live { CheckStatus::Passed } else { CheckStatus::Failed },
                    confidence: round3(((p.score - 50.0).abs() / 50.0).min(1.0)),
                    is_live: Some(p.live),
                    spoof_probability: Some(round3(1.0 - fused)),
                    reason: None,
                }
            }
        });
    }
}
