//! The hosted capture flow's result (`POST /verif/submit`, the seed's "Identity Verification
//! API"): the same verification as `/v1/identity/verify` — a selfie video instead of a photo —
//! told in the seed's camelCase shape: a face comparison and an overall assessment.

use serde::Serialize;

use crate::verify::{CheckStatus, Decision, RiskLevel, Verification};

/// How the faces were compared (the seed's example says `openai_vision`; Verity compares face
/// embeddings of the video's best frame and the document's portrait).
pub const METHOD: &str = "face_embedding";

/// The seed's `faceComparison`.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct FaceComparison {
    pub is_identical: bool,
    /// How sure the comparison is of its answer (0–1).
    pub confidence: f64,
    /// The calibrated probability that the two faces are one person, in percent (0–100).
    pub similarity_score: u32,
    pub method: &'static str,
}

/// The seed's `verificationAssessment`.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Assessment {
    /// 100 − risk score / 10: 100 is no risk signal at all.
    pub overall_score: u32,
    /// `verified` | `review` | `rejected` (the verification's decision).
    pub verification_status: Decision,
    /// `high` below a risk score of 401, `medium` to 600, `low` above.
    pub confidence_level: &'static str,
    pub summary: String,
    /// The codes of the fraud signals (the seed's example reads `riskFactors` on rejection).
    pub risk_factors: Vec<&'static str>,
}

/// The face comparison of a verification (`None`: the face match was not asked for).
pub fn face_comparison(v: &Verification) -> Option<FaceComparison> {
    let m = v.checks.face_match.as_ref()?;
    let passed = m.status == CheckStatus::Passed;
    // `confidence` is the match probability when it matched, its complement otherwise.
    let p = match m.status {
        CheckStatus::Passed => m.confidence,
        CheckStatus::Failed => 1.0 - m.confidence,
        CheckStatus::NotPerformed => 0.0,
    };
    Some(FaceComparison {
        is_identical: passed,
        confidence: m.confidence,
        similarity_score: (p * 100.0).round().clamp(0.0, 100.0) as u32,
        method: METHOD,
    })
}

/// The overall assessment of a verification.
pub fn assessment(v: &Verification) -> Assessment {
    let confidence_level = match v.risk_level {
        RiskLevel::Low => "high",
        RiskLevel::Medium => "medium",
        RiskLevel::High | RiskLevel::Critical => "low",
    };
    let summary = match v.status {
        Decision::Verified if v.fraud_signals.is_empty() => "Verification completed successfully".to_string(),
        Decision::Verified => format!(
            "Verification completed with minor findings: {}",
            v.fraud_signals.iter().map(|s| s.message.as_str()).collect::<Vec<_>>().join("; ")
        ),
        Decision::Review | Decision::Rejected => {
            let mut why: Vec<&str> = v.fraud_signals.iter().map(|s| s.message.as_str()).collect();
            if why.is_empty() {
                why.push("a check could not be completed");
            }
            let head = if v.status == Decision::Review {
                "Verification needs a manual review"
            } else {
                "Verification rejected"
            };
            format!("{head}: {}", why.join("; "))
        }
    };
    Assessment {
        overall_score: 100 - (v.risk_score.min(1000) / 10),
        verification_status: v.status,
        confidence_level,
        summary,
        risk_factors: v.fraud_signals.iter().map(|s| s.code).collect(),
    }
}
