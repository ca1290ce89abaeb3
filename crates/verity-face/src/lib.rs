//! Verity's face engine.
//!
//! [`FaceEngine::analyze`] finds every face in an upright RGB image (YuNet, multi-scale, with a
//! sideways fallback), chooses the subject by a named rule, aligns it onto the 112×112 template,
//! embeds it with SFace and measures its quality. [`FaceEngine::compare`] turns two analyses into
//! a cosine similarity, a 0–100 score and a decision. The engine knows nothing of HTTP or storage.

mod detect;
mod draw;
mod embed;
mod geometry;
pub mod model;
mod quality;
mod select;

use std::path::PathBuf;
use std::time::Instant;

use image::RgbImage;
use serde::Serialize;

pub use detect::{decode as decode_detector_output, detect, nms, DetectConfig, Detection, Face};
pub use draw::draw_faces;
pub use embed::{align, embed_aligned, Embedding, ScoreScale, DEFAULT_SCALE, TEMPLATE};
pub use geometry::{resize_rgb, warp_similarity, BBox, Point, Similarity};
pub use model::{DetectorModel, EmbedderModel, SFace, YuNet};
pub use quality::{assess, laplacian_variance, pose, Quality, QualityConfig, QualityIssue};
pub use select::{choose, ImageKind, SelectionRule};

use verity_models::{ModelDir, ModelError, SFACE, YUNET};

/// Errors of the face engine.
#[derive(Debug, thiserror::Error)]
pub enum FaceError {
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error("cannot load model {path}: {detail}")]
    ModelLoad { path: PathBuf, detail: String },
    #[error("inference failed: {0}")]
    Inference(String),
    #[error("no face was found in the image (tried upright and rotated 90°, 180°, 270°)")]
    NoFace,
}

impl FaceError {
    pub fn code(&self) -> &'static str {
        match self {
            FaceError::Model(_) | FaceError::ModelLoad { .. } => "model_unavailable",
            FaceError::Inference(_) => "inference_failed",
            FaceError::NoFace => "no_face_detected",
        }
    }
}

/// Settings of the whole engine.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct EngineConfig {
    pub detect: DetectConfig,
    pub quality: QualityConfig,
    pub scale: ScoreScaleConfig,
}

/// Wrapper so `EngineConfig` can derive `Default` with the calibrated scale.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoreScaleConfig(pub ScoreScale);

impl Default for ScoreScaleConfig {
    fn default() -> Self {
        Self(DEFAULT_SCALE)
    }
}

/// Time spent in each stage, milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Default)]
pub struct Timings {
    pub detect_ms: f64,
    pub align_ms: f64,
    pub embed_ms: f64,
    pub quality_ms: f64,
}

/// The analysis of one image.
#[derive(Debug, Clone)]
pub struct Analysis {
    /// Every face found, best score first, in the coordinates of `upright`.
    pub faces: Vec<Face>,
    /// Index of the subject in `faces`.
    pub chosen: usize,
    pub rule: SelectionRule,
    /// Clockwise rotation applied to the input to find the faces (0, 90, 180, 270).
    pub rotation: u16,
    pub upright: RgbImage,
    pub aligned: RgbImage,
    pub embedding: Embedding,
    pub quality: Quality,
    pub timings: Timings,
}

impl Analysis {
    pub fn face(&self) -> &Face {
        &self.faces[self.chosen]
    }
}

/// The comparison of two analyses.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Match {
    /// Cosine similarity of the embeddings, −1…1.
    pub similarity: f32,
    /// 0–100 (`facialSimilarityScore`); 50 is the decision threshold.
    pub score: f32,
    #[serde(rename = "match")]
    pub is_match: bool,
    /// Cosine threshold used.
    pub threshold: f32,
}

/// The face engine: models loaded and optimised once, shareable between threads.
pub struct FaceEngine {
    detector: Box<dyn DetectorModel>,
    embedder: Box<dyn EmbedderModel>,
    config: EngineConfig,
}

impl FaceEngine {
    /// Loads YuNet and SFace from the models directory, refusing missing or corrupt files.
    pub fn load(models: &ModelDir) -> Result<Self, FaceError> {
        let runtime = verity_runtime::Runtime::choose(models)
            .map_err(|e| FaceError::ModelLoad { path: models.path().to_path_buf(), detail: e.to_string() })?;
        Self::load_on(models, &runtime)
    }

    /// As [`FaceEngine::load`], on the given runtime.
    pub fn load_on(models: &ModelDir, runtime: &verity_runtime::Runtime) -> Result<Self, FaceError> {
        let yunet = models.require(&YUNET)?;
        let sface = models.require(&SFACE)?;
        Ok(Self::with_models(
            Box::new(YuNet::load(runtime, &yunet)?),
            Box::new(SFace::load(runtime, &sface)?),
            EngineConfig::default(),
        ))
    }

    /// An engine over any models (fakes in tests).
    pub fn with_models(
        detector: Box<dyn DetectorModel>,
        embedder: Box<dyn EmbedderModel>,
        config: EngineConfig,
    ) -> Self {
        Self { detector, embedder, config }
    }

    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    pub fn set_config(&mut self, config: EngineConfig) {
        self.config = config;
    }

    /// Detection only.
    pub fn detect(&self, image: &RgbImage) -> Result<Detection, FaceError> {
        detect::detect(self.detector.as_ref(), image, &self.config.detect)
    }

    /// Detection with other settings (e.g. no rotation search for video frames that the decoder
    /// already turned upright).
    pub fn detect_with(&self, image: &RgbImage, cfg: &DetectConfig) -> Result<Detection, FaceError> {
        detect::detect(self.detector.as_ref(), image, cfg)
    }

    /// Embeds a given face of an image (for callers that track faces themselves).
    pub fn embed_face(&self, image: &RgbImage, face: &Face) -> Result<(Embedding, RgbImage), FaceError> {
        let (aligned, _) = align(image, face);
        let e = embed_aligned(self.embedder.as_ref(), &aligned)?;
        Ok((e, aligned))
    }

    /// Detects, chooses the subject, aligns, embeds and assesses quality.
    pub fn analyze(&self, image: &RgbImage, kind: ImageKind) -> Result<Analysis, FaceError> {
        self.analyze_with(image, kind, &self.config.detect)
    }

    /// [`FaceEngine::analyze`] with other detection settings (e.g. `exhaustive`, to find a small
    /// second face beside a large one).
    pub fn analyze_with(
        &self,
        image: &RgbImage,
        kind: ImageKind,
        detect_cfg: &DetectConfig,
    ) -> Result<Analysis, FaceError> {
        let t0 = Instant::now();
        let det = self.detect_with(image, detect_cfg)?;
        let t1 = Instant::now();
        let (w, h) = det.upright.dimensions();
        let (chosen, rule) = choose(&det.faces, kind, w, h).ok_or(FaceError::NoFace)?;
        let (aligned, _) = align(&det.upright, &det.faces[chosen]);
        let t2 = Instant::now();
        let embedding = embed_aligned(self.embedder.as_ref(), &aligned)?;
        let t3 = Instant::now();
        let mut qcfg = self.config.quality;
        if kind == ImageKind::Document {
            // The ghost portrait is ~⅓–½ of the main one: only a face nearly as large as the
            // portrait is a second person on a document.
            qcfg.other_face_fraction = qcfg.other_face_fraction.max(0.8);
        }
        let quality = assess(&det.upright, &det.faces, chosen, &aligned, &qcfg);
        let t4 = Instant::now();
        let ms = |a: Instant, b: Instant| (b - a).as_secs_f64() * 1000.0;
        Ok(Analysis {
            faces: det.faces,
            chosen,
            rule,
            rotation: det.rotation,
            upright: det.upright,
            aligned,
            embedding,
            quality,
            timings: Timings {
                detect_ms: ms(t0, t1),
                align_ms: ms(t1, t2),
                embed_ms: ms(t2, t3),
                quality_ms: ms(t3, t4),
            },
        })
    }

    /// Compares two embeddings.
    pub fn compare(&self, a: &Embedding, b: &Embedding) -> Match {
        let scale = self.config.scale.0;
        let similarity = a.cosine(b);
        Match {
            similarity,
            score: scale.score(similarity),
            is_match: scale.is_match(similarity),
            threshold: scale.threshold,
        }
    }
}
