//! The engines a check needs, behind traits: the model engines in production, fakes in tests.
//!
//! The traits speak in facts (a selfie's embedding and liveness, a document portrait's
//! embedding, a document's examination), never in API outcomes: turning facts into outcomes is
//! the checks' job ([`crate::identity`], [`crate::document`]).

use std::path::Path;
use std::sync::Arc;

use verity_document::examine::{Examination, ExamineOptions};
use verity_document::DocumentEngine;
use verity_face::{Embedding, FaceEngine, ImageKind, Match};
use verity_imaging::{Decoded, Limits};
use verity_liveness::{Challenge, LivenessEngine, PhotoLiveness, VideoLimits, VideoLiveness};

use crate::verify::evidence::{face_marks, FaceMark};

/// What one analysis of a selfie tells: the subject's face and the photo's liveness.
#[derive(Debug, Clone)]
pub struct SelfieFacts {
    /// The subject's face, or why none was found.
    pub face: Result<SelfieFace, String>,
    pub liveness: LivenessFacts,
    /// The picture's perceptual hash (`duplicates::dhash`).
    pub dhash: u64,
    /// Every face found, on the selfie as displayed (for a reviewer).
    pub marks: Vec<FaceMark>,
}

/// The subject's face on a selfie.
#[derive(Debug, Clone)]
pub struct SelfieFace {
    pub embedding: Embedding,
    /// Another face nearly as large as the subject's (the face engine's `multiple_faces`
    /// quality issue), described.
    pub multiple_faces: Option<String>,
}

/// The liveness of a photo, or why it was not assessed.
#[derive(Debug, Clone)]
pub enum LivenessFacts {
    /// No liveness engine (the reason).
    Unavailable(String),
    /// The engine ran but could not assess the photo (the reason).
    NotAssessed(String),
    Assessed(Box<PhotoLiveness>),
}

/// A selfie video's liveness and the face of its best frame.
#[derive(Debug, Clone)]
pub struct VideoFacts {
    pub report: VideoLiveness,
    pub embedding: Embedding,
    /// The frame the face was compared from (upright, as decoded).
    pub best_frame: image::RgbImage,
}

/// Faces: selfies, document portraits, videos and comparisons.
pub trait FaceChecks: Send + Sync {
    /// A selfie as uploaded: `Err` when the image cannot be read.
    fn selfie(&self, bytes: &[u8]) -> Result<SelfieFacts, String>;
    /// The subject's face on a selfie for face authentication (no liveness): `Ok(None)` when
    /// no face is found, `Err` when the image cannot be read.
    fn probe(&self, bytes: &[u8]) -> Result<Option<Embedding>, String>;
    /// The portrait on a document (a PDF's largest image on page 1 stands for the document):
    /// `Err` describes why no face was found.
    fn portrait(&self, bytes: &[u8]) -> Result<Embedding, String>;
    /// As [`FaceChecks::portrait`], with the faces found on the document's front as displayed
    /// (none for a PDF, or when the engine does not say).
    fn portrait_marked(&self, bytes: &[u8]) -> Result<(Embedding, Vec<FaceMark>), String> {
        self.portrait(bytes).map(|e| (e, Vec::new()))
    }
    fn compare(&self, a: &Embedding, b: &Embedding) -> Match;
    /// A selfie video's liveness with the requested challenges: `Err` when it was not assessed.
    fn video(
        &self,
        path: &Path,
        challenges: &[Challenge],
        limits: &VideoLimits,
    ) -> Result<VideoFacts, String>;
}

/// Documents: the MRZ, barcode, printed text and forensic signals of one or two sides.
pub trait DocumentReader: Send + Sync {
    fn examine(
        &self,
        front: &Decoded,
        back: Option<&Decoded>,
        opts: &ExamineOptions,
    ) -> Result<Examination, String>;
    /// The model runtime it runs on (`onnxruntime` | `tract`).
    fn runtime(&self) -> &'static str;
}

/// The engines, loaded once per process. A missing engine is kept with its reason and reported
/// in the checks it affects — never a made-up result.
#[derive(Clone)]
pub struct Engines {
    pub face: Result<Arc<dyn FaceChecks>, String>,
    /// Whether photo and video liveness is available (the face checks report it in their facts).
    pub liveness: Result<(), String>,
    pub document: Result<Arc<dyn DocumentReader>, String>,
}

impl Engines {
    /// Loads the face, liveness and document engines from `models_dir` (errors are kept, not
    /// fatal), for `callers` checks running at once (the worker count: each model gets a session
    /// per caller and the cores are shared among them, see `verity-runtime`).
    pub fn load(models_dir: &Path, callers: usize) -> Self {
        verity_runtime::set_callers(callers);
        let dir = verity_models::ModelDir::new(models_dir);
        let faces = ModelFaces::load(&dir);
        let liveness = match &faces {
            Ok(f) => f.liveness.as_ref().map(|_| ()).map_err(Clone::clone),
            Err(e) => Err(format!("needs the face engine: {e}")),
        };
        Self {
            face: faces.map(|f| Arc::new(f) as Arc<dyn FaceChecks>),
            liveness,
            document: ModelDocuments::load(&dir).map(|d| Arc::new(d) as Arc<dyn DocumentReader>),
        }
    }

    /// No engine at all (HTTP-only tests, or loading failed).
    pub fn none(reason: &str) -> Self {
        Self { face: Err(reason.into()), liveness: Err(reason.into()), document: Err(reason.into()) }
    }
}

/// The face and liveness model engines.
pub struct ModelFaces {
    pub face: Arc<FaceEngine>,
    pub liveness: Result<Arc<LivenessEngine>, String>,
}

impl ModelFaces {
    /// The face engine, and the liveness engine when its models are there (its error kept).
    pub fn load(dir: &verity_models::ModelDir) -> Result<Self, String> {
        let face = Arc::new(FaceEngine::load(dir).map_err(|e| e.to_string())?);
        let liveness = LivenessEngine::load(dir, face.clone()).map(Arc::new).map_err(|e| e.to_string());
        Ok(Self { face, liveness })
    }
}

impl FaceChecks for ModelFaces {
    fn selfie(&self, bytes: &[u8]) -> Result<SelfieFacts, String> {
        let img = verity_imaging::decode(bytes, &Limits::default()).map_err(|e| e.to_string())?;
        // One exhaustive analysis serves the face match and liveness.
        let analysis = verity_liveness::photo::analyze_selfie(&self.face, &img);
        let liveness = match (&analysis, &self.liveness) {
            (_, Err(e)) => LivenessFacts::Unavailable(e.clone()),
            (Ok(a), Ok(l)) => match l.photo_analyzed(&img, bytes, a) {
                Ok(p) => LivenessFacts::Assessed(Box::new(p)),
                Err(e) => LivenessFacts::NotAssessed(e.to_string()),
            },
            (Err(e), Ok(_)) => LivenessFacts::NotAssessed(e.to_string()),
        };
        let (w, h) = img.image.dimensions();
        let marks = analysis.as_ref().map(|a| face_marks("selfie", a, w, h)).unwrap_or_default();
        let face = match analysis {
            Ok(a) => Ok(SelfieFace {
                multiple_faces: a
                    .quality
                    .issues
                    .iter()
                    .find(|i| i.code == "multiple_faces")
                    .map(|i| i.message.clone()),
                embedding: a.embedding,
            }),
            Err(e) => Err(e.to_string()),
        };
        Ok(SelfieFacts { face, liveness, dhash: crate::duplicates::dhash(&img.image), marks })
    }

    fn probe(&self, bytes: &[u8]) -> Result<Option<Embedding>, String> {
        let img = verity_imaging::decode(bytes, &Limits::default()).map_err(|e| e.to_string())?;
        Ok(self.face.analyze(&img.image, ImageKind::Selfie).ok().map(|a| a.embedding))
    }

    fn portrait(&self, bytes: &[u8]) -> Result<Embedding, String> {
        self.portrait_marked(bytes).map(|(e, _)| e)
    }

    fn portrait_marked(&self, bytes: &[u8]) -> Result<(Embedding, Vec<FaceMark>), String> {
        let d = verity_imaging::decode_document(bytes, &Limits::default()).map_err(|e| e.to_string())?;
        let a = self.face.analyze(&d.image, ImageKind::Document).map_err(|e| e.to_string())?;
        // A PDF's portrait is on an image inside it: its coordinates are not the page's.
        let marks = if bytes.starts_with(b"%PDF") {
            Vec::new()
        } else {
            let (w, h) = d.image.dimensions();
            face_marks("document_front", &a, w, h)
        };
        Ok((a.embedding, marks))
    }

    fn compare(&self, a: &Embedding, b: &Embedding) -> Match {
        self.face.compare(a, b)
    }

    fn video(
        &self,
        path: &Path,
        challenges: &[Challenge],
        limits: &VideoLimits,
    ) -> Result<VideoFacts, String> {
        let l = self.liveness.as_ref().map_err(|e| format!("liveness engine unavailable: {e}"))?;
        let v = l.video(path, challenges, limits).map_err(|e| e.to_string())?;
        Ok(VideoFacts { report: v.report, embedding: v.embedding, best_frame: v.best_frame })
    }
}

/// The document model engine.
pub struct ModelDocuments(pub DocumentEngine);

impl ModelDocuments {
    pub fn load(dir: &verity_models::ModelDir) -> Result<Self, String> {
        DocumentEngine::load(dir).map(Self).map_err(|e| e.to_string())
    }
}

impl DocumentReader for ModelDocuments {
    fn examine(
        &self,
        front: &Decoded,
        back: Option<&Decoded>,
        opts: &ExamineOptions,
    ) -> Result<Examination, String> {
        self.0.examine(front, back, opts).map_err(|e| e.to_string())
    }

    fn runtime(&self) -> &'static str {
        self.0.runtime.name()
    }
}
