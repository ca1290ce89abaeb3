//! The selfie's side of a verification: the face match and liveness checks and their signals.

use serde_json::json;
use verity_face::Embedding;
use verity_liveness::photo::Status;

use super::{
    round3, signals, CheckName, CheckStatus, Checks, FaceMatchCheck, FraudSignal, LivenessCheck, Request,
    Selfie, SelfieEvidence,
};
use crate::engines::{FaceChecks, LivenessFacts, VideoFacts};

/// How long before its prompt a challenge may be met and still count as an answer to it (the
/// page's clock and the video's timestamps differ by a frame or two; sampled at 6 fps).
pub const PROMPT_TOLERANCE_MS: u64 = 500;

/// The face match and liveness checks and their signals.
pub(super) fn face_signals(
    faces: Result<&dyn FaceChecks, String>,
    selfie: Option<Result<SelfieEvidence, String>>,
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
    let face = match &selfie {
        SelfieEvidence::Photo(p) => p.face.as_ref().map(|f| &f.embedding).map_err(Clone::clone),
        SelfieEvidence::Video(v) => Ok(&v.embedding),
    };
    match &selfie {
        SelfieEvidence::Photo(p) => match &p.face {
            Ok(f) => {
                if let Some(why) = &f.multiple_faces {
                    out.push(signals::MULTIPLE_FACES.signal(format!("selfie: {why}"), json!({})));
                }
            }
            Err(e) => out.push(
                signals::NO_FACE_IN_SELFIE.signal("no face was found in the selfie", json!({"detail": e})),
            ),
        },
        // A video without a tracked face is not assessed at all (`Err` above).
        SelfieEvidence::Video(_) => {}
    }
    if want(CheckName::FaceMatch) {
        let portrait = portrait.unwrap_or_else(|| Err("not searched".into()));
        if portrait.is_err() {
            out.push(signals::NO_FACE_ON_DOCUMENT.signal(
                "no face was found on the document's front",
                json!({"detail": portrait.as_ref().err()}),
            ));
        }
        checks.face_match = Some(match (&face, &portrait, faces) {
            (Ok(s), Ok(p), Ok(engine)) => {
                let m = engine.compare(s, p);
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
        let photo = match &selfie {
            SelfieEvidence::Photo(p) => &p.liveness,
            SelfieEvidence::Video(v) => {
                let prompted = match &req.selfie {
                    Some(Selfie::Video(s)) => s.prompted_at_ms,
                    _ => &[],
                };
                checks.liveness = Some(video_liveness(v, prompted, out));
                return;
            }
        };
        checks.liveness = Some(match photo {
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

/// The liveness check of a selfie video: the engine's verdict (tracking, same person, PAD, head
/// motion, planarity, the challenges in order), and each challenge met no earlier than its
/// prompt was shown.
fn video_liveness(v: &VideoFacts, prompted_at_ms: &[u64], out: &mut Vec<FraudSignal>) -> LivenessCheck {
    let r = &v.report;
    let early: Vec<&str> = r
        .challenges
        .iter()
        .zip(prompted_at_ms)
        .filter(|(c, shown)| c.at_ms.is_some_and(|at| at + PROMPT_TOLERANCE_MS < **shown))
        .map(|(c, _)| c.name)
        .collect();
    let missed: Vec<&str> = r.challenges.iter().filter(|c| !c.passed).map(|c| c.name).collect();
    if !missed.is_empty() || !early.is_empty() {
        out.push(signals::CHALLENGE_NOT_MET.signal(
            if missed.is_empty() {
                format!("the selfie video met {} before being asked to", early.join(", "))
            } else {
                format!("the selfie video does not show {}", missed.join(", "))
            },
            json!({"subject": "selfie", "missed": missed, "before_prompt": early,
                   "challenges": r.challenges, "prompted_at_ms": prompted_at_ms}),
        ));
    }
    let spoof_reason = |name: &str| r.reasons.iter().any(|x| x == name);
    let pad = r.signals.passive_pad.value.unwrap_or(0.0) as f32;
    if spoof_reason("passive_pad") || spoof_reason("same_person") {
        out.push(signals::LIVENESS_FAILED.signal(
            format!("the selfie video is not of one live person (liveness score {:.0}/100)", r.score),
            json!({"subject": "selfie", "score": r.score, "live_probability": round3(pad), "reasons": r.reasons}),
        ));
    }
    if spoof_reason("planarity") {
        out.push(signals::SCREEN_OR_PRINT_REPLAY.signal(
            "the face in the selfie video moves like a flat picture",
            json!({"subject": "selfie", "signals": ["planarity"], "residual": r.signals.planarity.value}),
        ));
    }
    if spoof_reason("face_tracking") {
        out.push(signals::LOW_IMAGE_QUALITY.signal(
            "the face is not visible through the selfie video",
            json!({"subject": "selfie", "tracked": r.signals.face_tracking.value}),
        ));
    }
    let live = r.live && early.is_empty();
    LivenessCheck {
        status: if live { CheckStatus::Passed } else { CheckStatus::Failed },
        confidence: round3(((r.score - 50.0).abs() / 50.0).min(1.0)),
        is_live: Some(live),
        spoof_probability: Some(round3(1.0 - pad)),
        reason: (!live).then(|| {
            let mut why = r.reasons.clone();
            why.extend(early.iter().map(|c| format!("challenge_{c}_before_prompt")));
            why.join(", ")
        }),
    }
}
