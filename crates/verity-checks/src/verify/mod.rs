//! One-call verification (`POST /v1/identity/verify`): a document's front (and back) and a
//! selfie in; the data the document prints, each check's status, fraud signals, a risk score
//! and a decision out. The same engines and facts as the ComplyCube checks; the signals, the
//! score and the decision rule are in [`signals`], the extracted data in [`extract`].

mod document;
pub mod duplicate;
pub mod evidence;
pub mod extract;
mod face;
pub mod signals;

use std::path::Path;

use serde::{Deserialize, Serialize};
use verity_document::examine::{Examination, ExamineOptions, TextReading};
use verity_face::Embedding;
use verity_liveness::{Challenge, VideoLimits};
use verity_mrz::Date;

pub use extract::ExtractedData;
pub use signals::{Decision, FraudSignal, Policy, RiskLevel, Severity};

use crate::duplicates::{Fingerprint, Gallery, Identity, ImageHash};
use crate::engines::{DocumentReader, FaceChecks, SelfieFacts, VideoFacts};
pub use duplicate::DuplicateCheck;

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
    /// Not declared (the hosted flow's ID photo): whatever the document says it is; no type or
    /// country mismatch is looked for. Not accepted from `/v1/identity/verify`.
    Any,
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
            DocumentType::Any => "any",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|t| t.name() == s)
    }

    /// Any type by its name, `any` included (stored verifications; requests use [`Self::parse`]).
    pub fn from_name(s: &str) -> Option<Self> {
        Self::parse(s).or((s == "any").then_some(DocumentType::Any))
    }

    /// An ID-1 card: its data may be split between front and back.
    pub fn is_card(self) -> bool {
        !matches!(self, DocumentType::Passport | DocumentType::Any)
    }

    /// Whether the MRZ is printed on the back (the Moroccan CNIE, the French CNI since 2021 and
    /// most TD1 cards): it is looked for there first.
    pub fn mrz_on_back(self) -> bool {
        matches!(self, DocumentType::Cin | DocumentType::Cni | DocumentType::ResidenceCard)
    }

    /// Whether the visual zone is read for the fields the MRZ lacks: national identity cards and
    /// residence cards (a TD1 MRZ carries no birth place, address or issue date, and their
    /// printed layouts label each field).
    pub fn reads_visual_zone(self) -> bool {
        matches!(self, DocumentType::Cin | DocumentType::Cni | DocumentType::ResidenceCard)
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
            DocumentType::Permit | DocumentType::Any => true,
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
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duplicate: Option<DuplicateCheck>,
}

impl Checks {
    fn statuses(&self) -> Vec<CheckStatus> {
        [
            self.ocr.as_ref().map(|c| c.status),
            self.face_match.as_ref().map(|c| c.status),
            self.liveness.as_ref().map(|c| c.status),
            self.fraud.as_ref().map(|c| c.status),
            self.duplicate.as_ref().map(|c| c.status),
        ]
        .into_iter()
        .flatten()
        .collect()
    }
}

/// The selfie of a verification: a photo, or a video recorded with active challenges (the
/// hosted capture flow).
#[derive(Debug, Clone)]
pub enum Selfie<'a> {
    Photo(&'a [u8]),
    Video(VideoSelfie<'a>),
}

/// A selfie video and the prompts its subject was shown.
#[derive(Debug, Clone)]
pub struct VideoSelfie<'a> {
    pub path: &'a Path,
    /// The challenges in the order they were prompted.
    pub challenges: &'a [Challenge],
    /// When each challenge was prompted (ms into the video), as the capture page recorded it;
    /// empty when unknown. A challenge met before its prompt was shown was not a response to it.
    pub prompted_at_ms: &'a [u64],
    pub limits: VideoLimits,
}

/// What a verification is asked to do.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    pub front: &'a [u8],
    pub back: Option<&'a [u8]>,
    pub selfie: Option<Selfie<'a>>,
    pub document_type: DocumentType,
    /// The declared issuing country, when one was.
    pub country: Option<verity_mrz::CountryCode>,
    /// The checks to run.
    pub checks: Vec<CheckName>,
    pub today: Date,
    pub policy: Policy,
    /// The tenant's earlier verifications, for the `duplicate` check (`None`: not performed).
    pub gallery: Option<&'a Gallery>,
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
    /// What the gallery keeps of this verification for later duplicate searches.
    #[serde(skip)]
    pub fingerprint: Fingerprint,
    /// A selfie video's best frame (the face compared with the portrait), kept with the files.
    #[serde(skip)]
    pub best_frame: Option<image::RgbImage>,
    /// What a reviewer sees: faces, the MRZ as read, liveness signals (kept, not shown by the API).
    #[serde(skip)]
    pub evidence: evidence::Evidence,
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
    let duplicates = want(CheckName::Duplicate);
    let (examination, (selfie, portrait)) = crate::both(
        || -> Option<Result<Examination, String>> {
            read_document.then(|| {
                let reader = reader.as_ref().map_err(|e| format!("document engine unavailable: {e}"))?;
                // National ID cards print what their MRZ lacks (birth place, address, issue
                // date): their visual zone is read (`docs/verify.md` on why not passports').
                let text = if want(CheckName::Ocr) && req.document_type.reads_visual_zone() {
                    TextReading::WithMrz
                } else {
                    TextReading::Off
                };
                let opts = ExamineOptions {
                    today: req.today,
                    text,
                    forensic: want(CheckName::Fraud),
                    back_first: req.document_type.mrz_on_back() && back.is_some(),
                };
                reader.examine(&front, back.as_ref(), &opts)
            })
        },
        || {
            crate::both(
                || -> Option<Result<SelfieEvidence, String>> {
                    let selfie = req.selfie.as_ref().filter(|_| face_checks || duplicates)?;
                    let engine = faces.as_ref().map_err(|e| format!("face engine unavailable: {e}"));
                    Some(engine.and_then(|f| {
                        match selfie {
                            Selfie::Photo(bytes) => f.selfie(bytes).map(SelfieEvidence::Photo),
                            Selfie::Video(v) => f
                                .video(v.path, v.challenges, &v.limits)
                                .map(|v| SelfieEvidence::Video(Box::new(v))),
                        }
                    }))
                },
                || -> Option<Result<(Embedding, Vec<evidence::FaceMark>), String>> {
                    ((want(CheckName::FaceMatch) && req.selfie.is_some()) || duplicates).then(|| {
                        faces
                            .as_ref()
                            .map_err(|e| format!("face engine unavailable: {e}"))
                            .and_then(|f| f.portrait_marked(req.front))
                    })
                },
            )
        },
    );
    let mut marks = evidence::Evidence::default();
    let portrait = portrait.map(|r| {
        r.map(|(embedding, faces)| {
            marks.faces.extend(faces);
            embedding
        })
    });
    if let Some(Ok(s)) = &selfie {
        selfie_marks(s, req, &mut marks);
    }
    if let Some((side, reading)) = examination.as_ref().and_then(|e| e.as_ref().ok()).and_then(|e| e.mrz()) {
        marks.mrz = Some(evidence::MrzMarks::of(side, reading));
    }
    let mut signals = Vec::new();
    let mut checks = Checks::default();
    let mut extracted = ExtractedData::empty();
    if let Some(ex) = &examination {
        document::document_signals(ex, req, &mut signals, &mut checks, &mut extracted);
    }
    let evidence = selfie.as_ref().and_then(|r| r.as_ref().ok());
    let mut fingerprint = Fingerprint {
        identity: identity_of(&extracted),
        selfie: evidence.and_then(SelfieEvidence::embedding).map(|e| e.0.clone()),
        portrait: portrait.as_ref().and_then(|r| r.as_ref().ok()).map(|e| e.0.clone()),
        images: vec![("document_front".into(), ImageHash::of(req.front, &front.image))],
    };
    if let (Some(b), Some(d)) = (req.back, &back) {
        fingerprint.images.push(("document_back".into(), ImageHash::of(b, &d.image)));
    }
    if let (Some(Selfie::Photo(b)), Some(SelfieEvidence::Photo(f))) = (&req.selfie, evidence) {
        use sha2::Digest;
        fingerprint
            .images
            .push(("selfie".into(), ImageHash { sha256: sha2::Sha256::digest(b).into(), dhash: f.dhash }));
    }
    let best_frame = match &selfie {
        Some(Ok(SelfieEvidence::Video(v))) => Some(v.best_frame.clone()),
        _ => None,
    };
    if face_checks {
        face::face_signals(faces.clone(), selfie, portrait, req, &mut signals, &mut checks);
    }
    if duplicates {
        checks.duplicate = Some(match req.gallery {
            Some(g) => duplicate::check(g, &fingerprint, faces.as_ref().ok().copied(), &mut signals),
            None => DuplicateCheck {
                status: CheckStatus::NotPerformed,
                confidence: 0.0,
                matches: Vec::new(),
                reason: Some("no gallery of earlier verifications was given".into()),
            },
        });
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
        fingerprint,
        best_frame,
        evidence: marks,
    })
}

/// The selfie's faces and liveness signals, for a reviewer.
fn selfie_marks(s: &SelfieEvidence, req: &Request<'_>, out: &mut evidence::Evidence) {
    use crate::engines::LivenessFacts;
    match s {
        SelfieEvidence::Photo(f) => {
            out.faces.extend(f.marks.iter().cloned());
            if let LivenessFacts::Assessed(p) = &f.liveness {
                out.liveness = Some(evidence::LivenessMarks::of_photo(p));
            }
        }
        SelfieEvidence::Video(v) => {
            let r = &v.report;
            let b = r.best_frame.bbox;
            out.faces.push(evidence::FaceMark {
                file: "best_frame".into(),
                size: [v.best_frame.width(), v.best_frame.height()],
                bbox: [b[0] as f32, b[1] as f32, b[2] as f32, b[3] as f32],
                landmarks: Vec::new(),
                score: 1.0,
                subject: true,
            });
            let prompted = match &req.selfie {
                Some(Selfie::Video(vs)) => vs.prompted_at_ms,
                _ => &[],
            };
            out.liveness = Some(evidence::LivenessMarks::of_video(r, prompted));
        }
    }
}

/// What the face engine found in the selfie.
pub(crate) enum SelfieEvidence {
    Photo(SelfieFacts),
    Video(Box<VideoFacts>),
}

impl SelfieEvidence {
    /// The subject's face (a video's best frame).
    fn embedding(&self) -> Option<&Embedding> {
        match self {
            SelfieEvidence::Photo(p) => p.face.as_ref().ok().map(|f| &f.embedding),
            SelfieEvidence::Video(v) => Some(&v.embedding),
        }
    }
}

/// Who the extracted data says the holder is: the document number (MRZ fillers removed) and
/// the person key ([`Identity::person_key`]) when the names and birth date were read.
fn identity_of(d: &ExtractedData) -> Identity {
    Identity {
        document: d
            .document_number
            .as_deref()
            .map(|n| n.trim().to_uppercase().replace('<', ""))
            .filter(|n| !n.is_empty()),
        person: match (&d.last_name, &d.first_name, &d.date_of_birth) {
            (Some(l), Some(f), Some(b)) => Identity::person_key(l, f, b),
            _ => None,
        },
    }
}
