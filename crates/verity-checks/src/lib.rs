//! Verity's check pipeline: facts from the engines in, decisions out, one way for every API
//! surface (ComplyCube checks, one-call verification, the hosted flow, the command line).
//!
//! - [`Outcome`] and its one combination rule ([`outcome`]);
//! - [`Engines`]: the face, liveness and document engines behind traits ([`FaceChecks`],
//!   [`DocumentReader`]), so tests can run the checks on fakes;
//! - one pure function per check, on loaded inputs (bytes, a video file), returning a typed,
//!   `Serialize` result in ComplyCube's shape: [`identity::identity_check`],
//!   [`identity::enhanced_identity_check`], [`face_auth::face_authentication_check`],
//!   [`document::document_check`].
//!
//! Nothing here knows HTTP or SQL: loading the inputs and storing the results is the caller's.

pub mod document;
pub mod duplicates;
pub mod engines;
pub mod face_auth;
pub mod hosted;
pub mod identity;
pub mod outcome;
pub mod verify;

use serde::Serialize;

pub use engines::{DocumentReader, Engines, FaceChecks};
pub use outcome::{Analysis, Outcome};

/// A check's result: its outcome, the reasons for anything not clear and, when the check ran,
/// its breakdown (`details`, flattened into the same object).
#[derive(Debug, Clone, Serialize)]
pub struct CheckResult<D> {
    pub outcome: Outcome,
    pub reasons: Vec<String>,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub details: Option<D>,
    /// What a reviewer sees of the engines' facts (faces, the MRZ as read, liveness): kept
    /// with the check, not part of its result.
    #[serde(skip)]
    pub evidence: Option<Box<verify::evidence::Evidence>>,
}

impl<D> CheckResult<D> {
    /// A check that could not run, and why.
    pub fn not_processed(reason: impl Into<String>) -> Self {
        Self { outcome: Outcome::NotProcessed, reasons: vec![reason.into()], details: None, evidence: None }
    }
}

/// A result that may carry evidence for a reviewer.
pub trait WithEvidence {
    fn take_evidence(&mut self) -> Option<verify::evidence::Evidence>;
}

impl<D> WithEvidence for CheckResult<D> {
    fn take_evidence(&mut self) -> Option<verify::evidence::Evidence> {
        self.evidence.take().map(|e| *e)
    }
}

/// The check types Verity runs, with the inputs each needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckKind {
    IdentityCheck,
    DocumentCheck,
    FaceAuthenticationCheck,
    EnhancedIdentityCheck,
}

/// An input a check takes (the ComplyCube field naming it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    LivePhoto,
    LiveVideo,
    Document,
}

impl Input {
    /// The request field that names it.
    pub fn field(self) -> &'static str {
        match self {
            Input::LivePhoto => "livePhotoId",
            Input::LiveVideo => "liveVideoId",
            Input::Document => "documentId",
        }
    }
}

impl CheckKind {
    pub const ALL: [CheckKind; 4] = [
        CheckKind::IdentityCheck,
        CheckKind::DocumentCheck,
        CheckKind::FaceAuthenticationCheck,
        CheckKind::EnhancedIdentityCheck,
    ];

    /// ComplyCube check types Verity knows but does not offer (screening, proof of address, …).
    pub const KNOWN_UNSUPPORTED: &'static [&'static str] = &[
        "standard_screening_check",
        "extensive_screening_check",
        "proof_of_address_check",
        "multi_bureau_check",
        "age_estimation_check",
    ];

    pub fn name(self) -> &'static str {
        match self {
            CheckKind::IdentityCheck => "identity_check",
            CheckKind::DocumentCheck => "document_check",
            CheckKind::FaceAuthenticationCheck => "face_authentication_check",
            CheckKind::EnhancedIdentityCheck => "enhanced_identity_check",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }

    /// The inputs the check needs.
    pub fn inputs(self) -> &'static [Input] {
        match self {
            CheckKind::IdentityCheck => &[Input::LivePhoto, Input::Document],
            CheckKind::DocumentCheck => &[Input::Document],
            CheckKind::FaceAuthenticationCheck => &[Input::LivePhoto],
            CheckKind::EnhancedIdentityCheck => &[Input::LiveVideo, Input::Document],
        }
    }

    pub fn needs(self, input: Input) -> bool {
        self.inputs().contains(&input)
    }
}

/// Runs `a` here and `b` on another thread at once (a panic in `b` is re-raised here).
pub(crate) fn both<A: Send, B: Send>(a: impl FnOnce() -> A + Send, b: impl FnOnce() -> B + Send) -> (A, B) {
    std::thread::scope(|scope| {
        let other = scope.spawn(b);
        let a = a();
        let b = other.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
        (a, b)
    })
}
