//! One-call verification (`POST /v1/identity/verify`): a document's front (and back) and a
//! selfie in; the data the document prints, each check's status, fraud signals, a risk score
//! and a decision out. The same engines and facts as the ComplyCube checks; the signals, the
//! score and the decision rule are in [`signals`], the extracted data in [`extract`].

pub mod extract;
pub mod signals;

use serde::{Deserialize, Serialize};
use serde_json::json;
use verity_document::examine::{Examination, ExamineOptions, TextReading};
use verity_face::Embedding;
use verity_liveness::photo::Status;
use verity_mrz::Date;

pub use extract::ExtractedData;
pub use signals::{Decision, FraudSignal, Policy, RiskLevel, Severity};

use crate::engines::{DocumentReader, FaceChecks, LivenessFacts, SelfieFacts};

/// The document types of the seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentType {
    /// Moroccan national identity card (CNIE).
    Cin,
    /// French national identity card.
    Cni,
    Passport,
    /// Driving permit.
    Permit,
    ResidenceCard,
}

impl DocumentType {
    pub const ALL: &'static [DocumentType] = &[
        DocumentType::Cin,
        DocumentType::Cni,
        DocumentType::Passport,
        DocumentType::Permit,
        DocumentType::ResidenceCard,
    ];

    pub fn name(self) -> &'static str {
        match self {
            DocumentType::Cin => "cin",
            DocumentType::Cni => "cni",
            DocumentType::Passport => "passport",
            DocumentType::Permit => "permit",
            DocumentType::ResidenceCard => "residence_card",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|t| t.name() == s)
    }

    /// An ID-1 card: its data may be split between front and back.
    pub fn is_card(self) -> bool {
        self != DocumentType::Passport
    }

    /// Whether an MRZ document code fits this type (ICAO 9303: `P…` passports, `I`/`A`/`C…`
    /// identity and official cards — residence cards are such cards; driving permits carry no
    /// ICAO MRZ, so any code is accepted for them).
    pub fn fits_code(self, code: &str) -> bool {
        let first = code.chars().next().unwrap_or(' ');
        match self {
            DocumentType::Passport => first == 'P',
            DocumentType::Cin | DocumentType::Cni | DocumentType::ResidenceCard => {
                matches!(first, 'I' | 'A' | 'C')
            }
            DocumentType::Permit => true,
        }
    }
}

/// The checks of the seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckName {
    Ocr,
    FaceMatch,
    Liveness,
    Fraud,
    Duplicate,
}

impl CheckName {
    pub const ALL: &'static [CheckName] =
        &[CheckName::Ocr, CheckName::FaceMatch, CheckName::Liveness, CheckName::Fraud, CheckName::Duplicate];

    pub fn name(self) -> &'static str {
        match self {
            CheckName::Ocr => "ocr",
            CheckName::FaceMatch => "face_match",
            CheckName::Liveness => "liveness",
            CheckName::Fraud => "fraud",
            CheckName::Duplicate => "duplicate",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|c| c.name() == s)
    }

    /// Needs a selfie.
    pub fn needs_selfie(self) -> bool {
        matches!(self, CheckName::FaceMatch | CheckName::Liveness)
    }
}

/// A check's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckStatus {
    Passed,
    Failed,
    /// It could not run (the reason says why: no face found, an engine missing).
    NotPerformed,
}

/// Three decimals, as an `f64` (an `f32` prints as 0.953000009059906 in JSON).
fn round3(v: f32) -> f64 {
    (f64::from(v) * 1000.0).round() / 1000.0
}

#[derive(Debug, Clone, Serialize)]
pub struct OcrCheck {
    pub status: CheckStatus,
    /// Mean character probability of the MRZ read.
    pub confidence: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FaceMatchCheck {
    pub status: CheckStatus,
    /// The calibrated match score / 100.
    pub confidence: f64,
    /// Cosine similarity of the selfie's and the portrait's embeddings.
    pub similarity_score: Option<f64>,
    /// The cosine similarity at and above which the faces match.
    pub threshold: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LivenessCheck {
    pub status: CheckStatus,
    /// How far the liveness score is from its threshold (0 at the threshold, 1 at 0 or 100).
    pub confidence: f64,
    pub is_live: Option<bool>,
    /// 1 − the anti-spoofing models' fused probability of a live face.
    pub spoof_probability: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FraudCheck {
    pub status: CheckStatus,
    pub confidence: f64,
    /// Editing software, a cut-off image or a black-and-white copy.
    pub tampering_detected: bool,
    /// The codes of the fraud signals.
    pub signals: Vec<&'static str>,
}

/// The checks asked for, each with its status.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Checks {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ocr: Option<OcrCheck>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub face_match: Option<FaceMatchCheck>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub liveness: Option<LivenessCheck>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fraud: Option<FraudCheck>,
}

impl Checks {
    fn statuses(&self) -> Vec<CheckStatus> {
        [
            self.ocr.as_ref().map(|c| c.status),
            self.face_match.as_ref().map(|c| c.status),
            self.liveness.as_ref().map(|c| c.status),
            self.fraud.as_ref().map(|c| c.status),
        ]
        .into_iter()
        .flatten()
        .collect()
    }
}

/// What a verification is asked to do.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    pub front: &'a [u8],
    pub back: Option<&'a [u8]>,
    pub selfie: Option<&'a [u8]>,
    pub document_type: DocumentType,
    /// ISO 3166-1 alpha-2, upper case.
    pub country: String,
    /// The checks to run (`duplicate` is run by the caller, which holds the gallery).
    pub checks: Vec<CheckName>,
    pub today: Date,
    pub policy: Policy,
}

/// The outcome of a verification (the server adds id, timestamps, metadata and duplicates).
#[derive(Debug, Clone, Serialize)]
pub struct Verification {
    pub status: Decision,
    pub extracted_data: ExtractedData,
    pub checks: Checks,
    pub risk_score: u32,
    pub risk_level: RiskLevel,
    pub fraud_signals: Vec<FraudSignal>,
    /// Every failing signal is about image quality: the user may try again.
    pub retryable: bool,
    /// The selfie's and the document portrait's embeddings (for the duplicate search).
    #[serde(skip)]
    pub selfie_embedding: Option<Embedding>,
    #[serde(skip)]
    pub portrait_embedding: Option<Embedding>,
}

/// Verifies. `Err` when the document cannot be read at all (the caller reports an error).
pub fn verify(
    faces: Result<&dyn FaceChecks, String>,
    reader: Result<&dyn DocumentReader, String>,
    req: &Request<'_>,
) -> Result<Verification, String> {
    let want = |c: CheckName| req.checks.contains(&c);
    let lim = verity_imaging::Limits::default();
    let decode = |name: &str, b: &[u8]| {
        verity_imaging::decode_document(b, &lim)
            .map_err(|e| format!("the document's {name} cannot be read: {e}"))
    };
    let front = decode("front", req.front)?;
    let back = req.back.map(|b| decode("back", b)).transpose()?;
    let read_document = want(CheckName::Ocr) || want(CheckName::Fraud);
    let face_checks = want(CheckName::FaceMatch) || want(CheckName::Liveness);
    let (examination, (selfie, portrait)) = crate::both(
        || -> Option<Result<Examination, String>> {
            read_document.then(|| {
                let reader = reader.as_ref().map_err(|e| format!("document engine unavailable: {e}"))?;
                let opts = ExamineOptions {
                    today: req.today,
                    text: TextReading::Off,
                    forensic: want(CheckName::Fraud),
                };
                reader.examine(&front, back.as_ref(), &opts)
            })
        },
        || {
            crate::both(
                || -> Option<Result<SelfieFacts, String>> {
                    let selfie = req.selfie.filter(|_| face_checks)?;
                    Some(
                        faces
                            .as_ref()
                            .map_err(|e| format!("face engine unavailable: {e}"))
                            .and_then(|f| f.selfie(selfie)),
                    )
                },
                || -> Option<Result<Embedding, String>> {
                    (want(CheckName::FaceMatch) && req.selfie.is_some()).then(|| {
                        faces
                            .as_ref()
                            .map_err(|e| format!("face engine unavailable: {e}"))
                            .and_then(|f| f.portrait(req.front))
                    })
                },
            )
        },
    );
    let mut signals = Vec::new();
    let mut checks = Checks::default();
    let mut extracted = ExtractedData::empty();
    if let Some(ex) = &examination {
        document_signals(ex, req, &mut signals, &mut checks, &mut extracted);
    }
    let mut selfie_embedding = None;
    let mut portrait_embedding = None;
    if face_checks {
        face_signals(
            faces,
            selfie,
            portrait,
            req,
            &mut signals,
            &mut checks,
            &mut selfie_embedding,
            &mut portrait_embedding,
        );
    }
    let complete_before_fraud = checks.statuses().iter().all(|s| *s == CheckStatus::Passed);
    let preview = signals::risk(&signals, &req.policy, complete_before_fraud);
    if want(CheckName::Fraud) {
        let fraud_codes = [
            signals::MRZ_CHECK_DIGIT_FAILED.code,
            signals::DOCUMENT_EXPIRED.code,
            signals::DOCUMENT_TYPE_MISMATCH.code,
            signals::COUNTRY_MISMATCH.code,
            signals::EDITING_SOFTWARE.code,
            signals::BLACK_AND_WHITE_COPY.code,
            signals::SCREEN_OR_PRINT_REPLAY.code,
            signals::FACE_MISMATCH.code,
            signals::LIVENESS_FAILED.code,
        ];
        let tamper =
            [signals::EDITING_SOFTWARE.code, signals::IMAGE_CUT_OFF.code, signals::BLACK_AND_WHITE_COPY.code];
        let failed = signals.iter().any(|s| fraud_codes.contains(&s.code));
        let doubt = preview.score as f32 / 1000.0;
        checks.fraud = Some(FraudCheck {
            status: if failed { CheckStatus::Failed } else { CheckStatus::Passed },
            confidence: round3(if failed { doubt.max(0.5) } else { 1.0 - doubt }),
            tampering_detected: signals.iter().any(|s| tamper.contains(&s.code)),
            signals: signals.iter().map(|s| s.code).collect(),
        });
    }
    let complete = checks.statuses().iter().all(|s| *s == CheckStatus::Passed);
    let risk = signals::risk(&signals, &req.policy, complete);
    Ok(Verification {
        status: risk.decision,
        extracted_data: extracted,
        checks,
        risk_score: risk.score,
        risk_level: risk.level,
        fraud_signals: signals,
        retryable: risk.retryable,
        selfie_embedding,
        portrait_embedding,
    })
}

/// The document's signals, the OCR check and the extracted data.
fn document_signals(
    ex: &Result<Examination, String>,
    req: &Request<'_>,
    out: &mut Vec<FraudSignal>,
    checks: &mut Checks,
    extracted: &mut ExtractedData,
) {
    let ocr = &mut checks.ocr;
    let wants_ocr = req.checks.contains(&CheckName::Ocr);
    let ex = match ex {
        Ok(ex) => ex,
        Err(e) => {
            if wants_ocr {
                *ocr = Some(OcrCheck {
                    status: CheckStatus::NotPerformed,
                    confidence: 0.0,
                    reason: Some(e.clone()),
                });
            }
            return;
        }
    };
    for (side, f) in &ex.forensics {
        if let Some(sw) = &f.editing_software {
            out.push(signals::EDITING_SOFTWARE.signal(
                format!("the {side} image was edited with {sw}"),
                json!({"side": side, "software": sw}),
            ));
        }
        if f.truncated {
            out.push(
                signals::IMAGE_CUT_OFF.signal(
                    format!("the {side} image is cut off (an incomplete file)"),
                    json!({"side": side}),
                ),
            );
        }
        if f.grayscale {
            out.push(signals::BLACK_AND_WHITE_COPY.signal(
                format!("the {side} image has no colour: a black-and-white copy"),
                json!({"side": side, "colourfulness": round3(f.colourfulness)}),
            ));
        }
    }
    let Some((side, reading)) = ex.mrz() else {
        if req.document_type.is_card() && req.back.is_none() {
            out.push(signals::BACK_SIDE_MISSING.signal(
                "no machine-readable zone on the front, and no back was sent (cards often carry it there)",
                json!({}),
            ));
        }
        out.push(signals::MRZ_NOT_FOUND.signal(
            "no machine-readable zone was found on the document",
            json!({"sides_read": ex.reads.len()}),
        ));
        if wants_ocr {
            *ocr = Some(OcrCheck {
                status: CheckStatus::Failed,
                confidence: 0.0,
                reason: Some("no machine-readable zone found".into()),
            });
        }
        return;
    };
    *extracted = ExtractedData::from_mrz(reading);
    if wants_ocr {
        *ocr = Some(OcrCheck {
            status: if reading.valid { CheckStatus::Passed } else { CheckStatus::Failed },
            confidence: round3(reading.confidence),
            reason: (!reading.valid).then(|| "the machine-readable zone does not verify".into()),
        });
    }
    let Some(m) = reading.mrz.as_ref() else { return };
    let failed: Vec<&str> = m.checks.iter().filter(|c| !c.valid).map(|c| c.name).collect();
    if !failed.is_empty() {
        out.push(signals::MRZ_CHECK_DIGIT_FAILED.signal(
            format!("check digits fail: {}", failed.join(", ")),
            json!({"side": side, "failed": failed}),
        ));
    }
    if !reading.low_confidence_fields.is_empty() {
        out.push(signals::MRZ_LOW_CONFIDENCE.signal(
            format!("read with low confidence: {}", reading.low_confidence_fields.join(", ")),
            json!({"fields": reading.low_confidence_fields, "min_probability": round3(reading.unchecked_min_p)}),
        ));
    }
    if let Some(exp) = &m.expiry_date {
        if (exp.year, exp.month, exp.day) < (req.today.year, req.today.month, req.today.day) {
            out.push(signals::DOCUMENT_EXPIRED.signal(
                "the document has expired",
                json!({"expiry_date": extracted.expiry_date, "today": format!("{:04}-{:02}-{:02}", req.today.year, req.today.month, req.today.day)}),
            ));
        }
    }
    if let Some(dob) = &m.birth_date {
        let age = dob.years_until(&req.today);
        if age < req.policy.minimum_age {
            out.push(signals::UNDERAGE.signal(
                format!("the holder is {age}, under {}", req.policy.minimum_age),
                json!({"age": age, "minimum_age": req.policy.minimum_age}),
            ));
        }
    }
    if !req.document_type.fits_code(&m.document_code) {
        out.push(signals::DOCUMENT_TYPE_MISMATCH.signal(
            format!("declared {}, but the document code is {}", req.document_type.name(), m.document_code),
            json!({"declared": req.document_type.name(), "document_code": m.document_code}),
        ));
    }
    let issuer = m.issuing_state.as_ref().and_then(|c| c.iso_alpha2);
    if let Some(iso) = issuer.filter(|iso| !iso.eq_ignore_ascii_case(&req.country)) {
        out.push(signals::COUNTRY_MISMATCH.signal(
            format!("declared {}, but the document was issued by {iso}", req.country),
            json!({"declared": req.country, "issuing_country": iso}),
        ));
    }
}

/// The face match and liveness checks and their signals.
#[allow(clippy::too_many_arguments)]
fn face_signals(
    faces: Result<&dyn FaceChecks, String>,
    selfie: Option<Result<SelfieFacts, String>>,
    portrait: Option<Result<Embedding, String>>,
    req: &Request<'_>,
    out: &mut Vec<FraudSignal>,
    checks: &mut Checks,
    selfie_embedding: &mut Option<Embedding>,
    portrait_embedding: &mut Option<Embedding>,
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
            *selfie_embedding = Some(f.embedding.clone());
            if let Some(why) = &f.multiple_faces {
                out.push(signals::MULTIPLE_FACES.signal(format!("selfie: {why}"), json!({})));
            }
        }
        Err(e) => out
            .push(signals::NO_FACE_IN_SELFIE.signal("no face was found in the selfie", json!({"detail": e}))),
    }
    if want(CheckName::FaceMatch) {
        let portrait = portrait.unwrap_or_else(|| Err("not searched".into()));
        if let Ok(p) = &portrait {
            *portrait_embedding = Some(p.clone());
        } else {
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
                        json!({"signals": replay}),
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
