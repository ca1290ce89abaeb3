//! Face authentication: a new selfie against the client's enrolled faces (the live photos of
//! its earlier clear identity checks), in ComplyCube's `face_authentication_check` shape.

use serde::Serialize;

use crate::engines::FaceChecks;
use crate::{CheckResult, Outcome};

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FaceAuthenticationDetails {
    pub breakdown: FaceAuthenticationBreakdown,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FaceAuthenticationBreakdown {
    pub face_authentication: FaceAuthentication,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FaceAuthentication {
    pub facial_similarity: Outcome,
    pub breakdown: EnrolledMatches,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EnrolledMatches {
    pub enrolled_faces: EnrolledFaces,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub faces_matched: Vec<FaceMatched>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EnrolledFaces {
    pub live_photo_ids: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FaceMatched {
    pub live_photo_id: String,
    pub facial_similarity_score: i64,
}

pub type FaceAuthenticationResult = CheckResult<FaceAuthenticationDetails>;

fn result(
    outcome: Outcome,
    reason: Option<&str>,
    enrolled: &[String],
    matched: Vec<FaceMatched>,
) -> FaceAuthenticationResult {
    CheckResult {
        outcome,
        reasons: reason.map(str::to_string).into_iter().collect(),
        details: Some(FaceAuthenticationDetails {
            breakdown: FaceAuthenticationBreakdown {
                face_authentication: FaceAuthentication {
                    facial_similarity: outcome,
                    breakdown: EnrolledMatches {
                        enrolled_faces: EnrolledFaces { live_photo_ids: enrolled.to_vec() },
                        faces_matched: matched,
                    },
                },
            },
        }),
        evidence: None,
    }
}

/// `probe`: the new selfie; `enrolled`: the ids of the enrolled live photos; `gallery`: those
/// of them whose image could be loaded, with their bytes. An enrolled image that cannot be read
/// or holds no face is passed over.
pub fn face_authentication_check(
    faces: &dyn FaceChecks,
    probe: &[u8],
    enrolled: &[String],
    gallery: &[(String, Vec<u8>)],
) -> FaceAuthenticationResult {
    if enrolled.is_empty() {
        return result(
            Outcome::NotProcessed,
            Some("the client has no enrolled face: run an identity check that comes out clear first"),
            enrolled,
            Vec::new(),
        );
    }
    let probe = match faces.probe(probe) {
        Ok(Some(e)) => e,
        Ok(None) => {
            return result(Outcome::Attention, Some("no face in the live photo"), enrolled, Vec::new())
        }
        Err(e) => return CheckResult::not_processed(format!("live photo cannot be read: {e}")),
    };
    let matched: Vec<FaceMatched> = gallery
        .iter()
        .filter_map(|(id, bytes)| {
            let e = faces.probe(bytes).ok()??;
            let m = faces.compare(&probe, &e);
            m.is_match.then(|| FaceMatched {
                live_photo_id: id.clone(),
                facial_similarity_score: m.score.round() as i64,
            })
        })
        .collect();
    if matched.is_empty() {
        result(
            Outcome::Attention,
            Some("the live photo matches none of the enrolled faces"),
            enrolled,
            matched,
        )
    } else {
        result(Outcome::Clear, None, enrolled, matched)
    }
}
