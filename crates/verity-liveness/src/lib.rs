//! Verity's liveness engine.
//!
//! - [`passive`]: MiniFASNet V2 + V1SE built from the upstream weights, on the exact upstream
//!   crop ([`crop`]).
//! - [`photo`]: a photo's liveness: PAD on the subject's face plus training-free signals
//!   ([`signals`], [`metadata`]), each named with its value and status.
//! - [`video`]: a selfie video decoded with ffmpeg: tracking, same person throughout, best frame,
//!   PAD over frames, active challenges and the planarity test.

pub mod crop;
/// File metadata (EXIF tags, JPEG quality): moved to `verity_imaging::metadata`, shared with the
/// document engine's forensic signals.
pub use verity_imaging::metadata;
pub mod passive;
pub mod photo;
pub mod signals;
pub mod video;

use std::sync::Arc;

use verity_face::FaceEngine;
use verity_models::{ModelDir, MINIFASNET_V1SE, MINIFASNET_V2};

pub use passive::{PassiveModel, PassiveScore};
pub use photo::{PhotoLiveness, Signal, Status};
pub use video::{Challenge, VideoLimits, VideoLiveness, VideoOutcome};

/// Thresholds of the liveness decision (see `docs/liveness.md` for how they were chosen).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LivenessConfig {
    /// Fused MiniFASNet "real" probability at or above which a face is accepted.
    pub pad_threshold: f32,
    /// Spectral peak (dB above its ring's median) at or above which the face shows moiré.
    pub moire_db: f32,
    /// A side has a border when one straight line covers this fraction of it...
    pub border_continuity: f32,
    /// ...and a frame is reported when this many sides have one.
    pub border_sides: usize,
    /// JPEG quality below which the photo is called heavily compressed (warning).
    pub min_jpeg_quality: u8,
    /// Inter-ocular distance below which the face is called small (warning).
    pub min_inter_ocular_px: f32,
}

impl Default for LivenessConfig {
    fn default() -> Self {
        Self {
            pad_threshold: 0.5,
            moire_db: 30.0,
            border_continuity: 0.8,
            border_sides: 3,
            min_jpeg_quality: 50,
            min_inter_ocular_px: 30.0,
        }
    }
}

/// Errors of the liveness engine. Input errors have stable codes.
#[derive(Debug, thiserror::Error)]
pub enum LivenessError {
    #[error(transparent)]
    Face(#[from] verity_face::FaceError),
    #[error(transparent)]
    Passive(#[from] passive::PassiveError),
    #[error(transparent)]
    Model(#[from] verity_models::ModelError),
    #[error(transparent)]
    Image(#[from] verity_imaging::ImageError),
    #[error("{message}")]
    Video { code: &'static str, message: String },
}

impl LivenessError {
    /// Stable code for APIs.
    pub fn code(&self) -> &'static str {
        match self {
            LivenessError::Face(f) => f.code(),
            LivenessError::Passive(_) => "inference_failed",
            LivenessError::Model(_) => "model_error",
            LivenessError::Image(i) => i.code(),
            LivenessError::Video { code, .. } => code,
        }
    }

    /// Whether the input (not the server) is at fault.
    pub fn is_input_error(&self) -> bool {
        matches!(
            self,
            LivenessError::Image(_)
                | LivenessError::Face(verity_face::FaceError::NoFace)
                | LivenessError::Video { .. }
        ) && !matches!(
            self,
            LivenessError::Video { code: "video_decoder_missing" | "video_decoder_failed", .. }
        )
    }
}

/// The engine: the face engine (shared) and both PAD networks.
pub struct LivenessEngine {
    pub face: Arc<FaceEngine>,
    pub passive: PassiveModel,
    pub config: LivenessConfig,
}

impl LivenessEngine {
    /// Loads the PAD weights from the models directory (refusing missing or corrupt files).
    pub fn load(models: &ModelDir, face: Arc<FaceEngine>) -> Result<Self, LivenessError> {
        let v2 = models.require(&MINIFASNET_V2)?;
        let v1se = models.require(&MINIFASNET_V1SE)?;
        let runtime = verity_runtime::Runtime::choose(models)
            .map_err(|e| passive::PassiveError::Inference(e.to_string()))?;
        Ok(Self {
            face,
            passive: PassiveModel::load(&runtime, &v2, &v1se)?,
            config: LivenessConfig::default(),
        })
    }

    /// Liveness of a photo given as uploaded bytes.
    pub fn photo(
        &self,
        bytes: &[u8],
        limits: &verity_imaging::Limits,
    ) -> Result<PhotoLiveness, LivenessError> {
        let decoded = verity_imaging::decode(bytes, limits)?;
        self.photo_decoded(&decoded, bytes)
    }

    /// Liveness of a decoded photo whose selfie analysis ([`photo::analyze_selfie`]) is done.
    pub fn photo_analyzed(
        &self,
        decoded: &verity_imaging::Decoded,
        raw: &[u8],
        analysis: &verity_face::Analysis,
    ) -> Result<PhotoLiveness, LivenessError> {
        photo::assess_analyzed(&self.passive, &self.config, decoded, raw, analysis)
    }

    /// Liveness of an already decoded photo (`raw` = the bytes it came from).
    pub fn photo_decoded(
        &self,
        decoded: &verity_imaging::Decoded,
        raw: &[u8],
    ) -> Result<PhotoLiveness, LivenessError> {
        photo::assess_photo(&self.face, &self.passive, &self.config, decoded, raw)
    }

    /// Liveness of a selfie video file, with the given active challenges (in order).
    pub fn video(
        &self,
        path: &std::path::Path,
        challenges: &[Challenge],
        limits: &VideoLimits,
    ) -> Result<VideoOutcome, LivenessError> {
        video::assess_video(&self.face, &self.passive, &self.config, path, challenges, limits)
    }
}
