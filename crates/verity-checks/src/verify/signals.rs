//! Fraud signals, the risk score and the status of a one-call verification, in one place and
//! documented in `docs/verify.md`.
//!
//! Every signal has a code, a severity, the points it adds and its evidence. `risk_score` is the
//! sum of the points, at most 1000, and at least 801 when a signal is critical. The status
//! follows from the signals and the score with the [`Policy`]: rejected when a signal is critical
//! or the score is above `reject_above`; review when a signal is high, the score is above
//! `review_above`, or a check asked for did not pass (it failed or could not be performed);
//! verified otherwise.

use serde::Serialize;
use serde_json::Value;

/// How serious a signal is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

/// One fraud signal, explained.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FraudSignal {
    pub code: &'static str,
    pub severity: Severity,
    pub points: u32,
    pub message: String,
    /// What was measured (values, thresholds, which fields).
    pub evidence: Value,
    /// About the picture rather than the person or the document: the user may try again.
    #[serde(skip)]
    pub quality: bool,
}

/// A signal of the catalogue.
#[derive(Debug, Clone, Copy)]
pub struct Kind {
    pub code: &'static str,
    pub severity: Severity,
    pub points: u32,
    pub quality: bool,
}

macro_rules! signals {
    ($($name:ident = $code:literal, $sev:ident, $points:literal, $quality:literal;)*) => {
        $(pub const $name: Kind = Kind { code: $code, severity: Severity::$sev, points: $points, quality: $quality };)*
        /// Every signal Verity reports.
        pub const CATALOGUE: &[Kind] = &[$($name),*];
    };
}

signals! {
    MRZ_NOT_FOUND = "MRZ_NOT_FOUND", Medium, 250, true;
    MRZ_CHECK_DIGIT_FAILED = "MRZ_CHECK_DIGIT_FAILED", High, 400, false;
    MRZ_LOW_CONFIDENCE = "MRZ_LOW_CONFIDENCE", Low, 100, true;
    MRZ_VISUAL_ZONE_MISMATCH = "MRZ_VISUAL_ZONE_MISMATCH", Medium, 150, false;
    DOCUMENT_EXPIRED = "DOCUMENT_EXPIRED", High, 400, false;
    UNDERAGE = "UNDERAGE", High, 400, false;
    DOCUMENT_TYPE_MISMATCH = "DOCUMENT_TYPE_MISMATCH", High, 300, false;
    COUNTRY_MISMATCH = "COUNTRY_MISMATCH", High, 300, false;
    BACK_SIDE_MISSING = "BACK_SIDE_MISSING", Low, 100, true;
    EDITING_SOFTWARE = "EDITING_SOFTWARE", High, 450, false;
    IMAGE_CUT_OFF = "IMAGE_CUT_OFF", Medium, 150, true;
    BLACK_AND_WHITE_COPY = "BLACK_AND_WHITE_COPY", High, 350, false;
    NO_FACE_ON_DOCUMENT = "NO_FACE_ON_DOCUMENT", Medium, 250, true;
    NO_FACE_IN_SELFIE = "NO_FACE_IN_SELFIE", Medium, 250, true;
    MULTIPLE_FACES = "MULTIPLE_FACES", Low, 100, false;
    FACE_MISMATCH = "FACE_MISMATCH", Critical, 300, false;
    LIVENESS_FAILED = "LIVENESS_FAILED", Critical, 400, false;
    CHALLENGE_NOT_MET = "CHALLENGE_NOT_MET", High, 350, true;
    SCREEN_OR_PRINT_REPLAY = "SCREEN_OR_PRINT_REPLAY", Critical, 500, false;
    LOW_IMAGE_QUALITY = "LOW_IMAGE_QUALITY", Low, 50, true;
    DUPLICATE_FACE = "DUPLICATE_FACE", High, 400, false;
    DUPLICATE_DOCUMENT = "DUPLICATE_DOCUMENT", High, 400, false;
    RESUBMITTED_IMAGE = "RESUBMITTED_IMAGE", Medium, 250, false;
}

impl Kind {
    /// The signal with its message and evidence.
    pub fn signal(self, message: impl Into<String>, evidence: Value) -> FraudSignal {
        FraudSignal {
            code: self.code,
            severity: self.severity,
            points: self.points,
            message: message.into(),
            evidence,
            quality: self.quality,
        }
    }

    /// The signal with more points than the catalogue's (e.g. a face mismatch scaled by how far
    /// the similarity is below the threshold).
    pub fn scaled(self, points: u32, message: impl Into<String>, evidence: Value) -> FraudSignal {
        FraudSignal { points, ..self.signal(message, evidence) }
    }
}

/// The seed's `risk_level` bands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RiskLevel {
    Low,
    Medium,
    High,
    Critical,
}

impl RiskLevel {
    /// 0–400 low, 401–600 medium, 601–800 high, 801–1000 critical.
    pub fn of(score: u32) -> Self {
        match score {
            0..=400 => RiskLevel::Low,
            401..=600 => RiskLevel::Medium,
            601..=800 => RiskLevel::High,
            _ => RiskLevel::Critical,
        }
    }
}

/// A verification's decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Verified,
    Review,
    Rejected,
}

/// Where the score's bands turn into decisions (per tenant).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Above this score (or with a high signal): review.
    pub review_above: u32,
    /// Above this score (or with a critical signal): rejected.
    pub reject_above: u32,
    /// Under this age (years, on the day of the verification): `UNDERAGE`.
    pub minimum_age: i32,
}

impl Default for Policy {
    fn default() -> Self {
        Self { review_above: 400, reject_above: 800, minimum_age: 18 }
    }
}

/// The score, level, decision and whether trying again could help.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Risk {
    pub score: u32,
    pub level: RiskLevel,
    pub decision: Decision,
    /// Every signal that is not `info` is about image quality.
    pub retryable: bool,
}

/// Scores signals under a policy; `complete`: every check asked for passed.
pub fn risk(signals: &[FraudSignal], policy: &Policy, complete: bool) -> Risk {
    let sum: u32 = signals.iter().map(|s| s.points).sum();
    let critical = signals.iter().any(|s| s.severity == Severity::Critical);
    let high = signals.iter().any(|s| s.severity == Severity::High);
    let mut score = sum.min(1000);
    if critical {
        score = score.max(801);
    }
    let decision = if critical || score > policy.reject_above {
        Decision::Rejected
    } else if high || score > policy.review_above || !complete {
        Decision::Review
    } else {
        Decision::Verified
    };
    let failing: Vec<&FraudSignal> = signals.iter().filter(|s| s.severity > Severity::Info).collect();
    let retryable =
        decision != Decision::Verified && !failing.is_empty() && failing.iter().all(|s| s.quality);
    Risk { score, level: RiskLevel::of(score), decision, retryable }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn scores_add_up_critical_signals_reject_and_quality_alone_is_retryable() {
        let p = Policy::default();
        let none = risk(&[], &p, true);
        assert_eq!(
            (none.score, none.level, none.decision, none.retryable),
            (0, RiskLevel::Low, Decision::Verified, false)
        );
        let low = risk(&[MRZ_LOW_CONFIDENCE.signal("m", json!({}))], &p, true);
        assert_eq!((low.score, low.decision), (100, Decision::Verified));
        let high = risk(&[DOCUMENT_EXPIRED.signal("m", json!({}))], &p, true);
        assert_eq!(
            (high.score, high.level, high.decision, high.retryable),
            (400, RiskLevel::Low, Decision::Review, false)
        );
        let crit = risk(&[FACE_MISMATCH.signal("m", json!({}))], &p, false);
        assert_eq!((crit.score, crit.level, crit.decision), (801, RiskLevel::Critical, Decision::Rejected));
        // No face in the selfie: the face match could not be performed, so no verification.
        let quality = risk(
            &[NO_FACE_IN_SELFIE.signal("m", json!({})), IMAGE_CUT_OFF.signal("m", json!({}))],
            &p,
            false,
        );
        assert_eq!((quality.score, quality.decision, quality.retryable), (400, Decision::Review, true));
        let more = risk(
            &[NO_FACE_IN_SELFIE.signal("m", json!({})), MRZ_NOT_FOUND.signal("m", json!({}))],
            &p,
            false,
        );
        assert_eq!((more.score, more.decision, more.retryable), (500, Decision::Review, true));
        let capped = risk(&vec![EDITING_SOFTWARE.signal("m", json!({})); 5], &p, true);
        assert_eq!((capped.score, capped.decision), (1000, Decision::Rejected));
        let codes: std::collections::HashSet<_> = CATALOGUE.iter().map(|k| k.code).collect();
        assert_eq!(codes.len(), CATALOGUE.len(), "codes are unique");
    }
}
