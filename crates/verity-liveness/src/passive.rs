//! Passive presentation-attack detection on one face: MiniFASNet V2 (2.7× context) and V1SE
//! (4.0× context), built from the upstream weights, softmax, index 1 = real, fused by averaging
//! the two "real" probabilities (as upstream `test.py` sums the softmax vectors).

use std::path::Path;

use image::RgbImage;
use serde::Serialize;
use verity_runtime::{Model, Runtime, Settings, Source};

use crate::crop::{patch, window, Window};

/// Context scales of the two models.
pub const SCALE_V2: f64 = 2.7;
pub const SCALE_V1SE: f64 = 4.0;

/// Errors of the passive model.
#[derive(Debug, thiserror::Error)]
pub enum PassiveError {
    #[error("cannot read {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error(transparent)]
    Model(#[from] verity_models::ModelError),
    #[error("inference failed: {0}")]
    Inference(String),
}

/// Both networks, loaded once on the model runtime.
pub struct PassiveModel {
    v2: Model,
    v1se: Model,
}

/// The outcome on one face.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PassiveScore {
    /// Softmax probability of "real" from each model.
    pub v2_real: f32,
    pub v1se_real: f32,
    /// (v2_real + v1se_real) / 2.
    pub fused_real: f32,
    pub v2_window: Window,
    pub v1se_window: Window,
}

const SHAPE: [usize; 4] = [1, 3, 80, 80];

fn build(runtime: &Runtime, path: &Path) -> Result<Model, PassiveError> {
    let bytes = std::fs::read(path)
        .map_err(|source| PassiveError::Io { path: path.display().to_string(), source })?;
    let onnx =
        verity_models::minifasnet::minifasnet_onnx(&verity_models::torch_legacy::load_state_dict(&bytes)?)?;
    let name = path.display().to_string();
    let model = Model::load(runtime, Source::Bytes { name: &name, bytes: &onnx }, Settings::per_caller())
        .map_err(|e| PassiveError::Inference(e.to_string()))?;
    model.precompile(&SHAPE).map_err(|e| PassiveError::Inference(e.to_string()))?;
    Ok(model)
}

fn real_probability(model: &Model, input: &[f32]) -> Result<f32, PassiveError> {
    let l = model.run_first(input.to_vec(), &SHAPE).map_err(|e| PassiveError::Inference(e.to_string()))?.data;
    if l.len() != 3 {
        return Err(PassiveError::Inference(format!("{} logits, expected 3", l.len())));
    }
    let m = l.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let e: Vec<f32> = l.iter().map(|v| (v - m).exp()).collect();
    Ok(e[1] / e.iter().sum::<f32>())
}

impl PassiveModel {
    /// Builds both networks from the upstream `.pth` state dicts.
    pub fn load(runtime: &Runtime, v2_pth: &Path, v1se_pth: &Path) -> Result<Self, PassiveError> {
        Ok(Self { v2: build(runtime, v2_pth)?, v1se: build(runtime, v1se_pth)? })
    }

    /// Scores the face in `bbox` (`[x, y, w, h]`, integers) of an upright RGB image.
    pub fn score(&self, image: &RgbImage, bbox: [i64; 4]) -> Result<PassiveScore, PassiveError> {
        let (w, h) = image.dimensions();
        let w2 = window(w, h, bbox, SCALE_V2);
        let w4 = window(w, h, bbox, SCALE_V1SE);
        let v2_real = real_probability(&self.v2, &patch(image, &w2))?;
        let v1se_real = real_probability(&self.v1se, &patch(image, &w4))?;
        Ok(PassiveScore {
            v2_real,
            v1se_real,
            fused_real: (v2_real + v1se_real) / 2.0,
            v2_window: w2,
            v1se_window: w4,
        })
    }
}
