//! The inference seam: two tiny traits, and their tract implementations.
//!
//! Pre-processing (tensor layout) and post-processing (decoding, NMS, normalisation) live in
//! `detect.rs` and `embed.rs`; a model only maps an input buffer to output buffers, so unit tests
//! can substitute fakes.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use tract_onnx::prelude::*;

use crate::FaceError;

/// YuNet's fixed input side.
pub const DETECTOR_INPUT: usize = 640;
/// SFace's input side.
pub const EMBEDDER_INPUT: usize = 112;
/// SFace's output length.
pub const EMBEDDING_DIM: usize = 128;

/// The raw outputs of YuNet for one input of `width`×`height` (multiples of 32), per stride
/// 8/16/32, cells in row-major order.
#[derive(Debug, Clone, Default)]
pub struct DetectorOutput {
    pub width: usize,
    pub height: usize,
    /// Per stride: class score (after sigmoid), one per cell.
    pub cls: [Vec<f32>; 3],
    /// Per stride: objectness (after sigmoid), one per cell.
    pub obj: [Vec<f32>; 3],
    /// Per stride: 4 values per cell (cx, cy offsets in cells; log w, log h in strides).
    pub bbox: [Vec<f32>; 3],
    /// Per stride: 10 values per cell (5 points, offsets in cells).
    pub kps: [Vec<f32>; 3],
}

/// A face detector: a 1×3×`height`×`width` BGR 0–255 NCHW buffer in (sides multiples of 32, at
/// most [`DETECTOR_INPUT`]), YuNet outputs out.
pub trait DetectorModel: Send + Sync {
    fn run(&self, input: &[f32], width: usize, height: usize) -> Result<DetectorOutput, FaceError>;
}

/// A face embedder: a 1×3×112×112 RGB 0–255 NCHW buffer in, a raw 128-d vector out.
pub trait EmbedderModel: Send + Sync {
    fn run(&self, input: &[f32]) -> Result<[f32; EMBEDDING_DIM], FaceError>;
}

type Plan = Arc<TypedRunnableModel>;

fn parse(path: &Path) -> Result<InferenceModel, FaceError> {
    tract_onnx::onnx()
        .model_for_path(path)
        .map_err(|e| FaceError::ModelLoad { path: path.to_path_buf(), detail: format!("{e:#}") })
}

/// Optimises a parsed model for one concrete input shape.
fn plan_for(model: &InferenceModel, path: &Path, shape: [usize; 4]) -> Result<Plan, FaceError> {
    let err = |e: TractError| FaceError::ModelLoad { path: path.to_path_buf(), detail: format!("{e:#}") };
    model
        .clone()
        .with_input_fact(0, f32::fact(shape).into())
        .map_err(err)?
        .into_optimized()
        .map_err(err)?
        .into_runnable()
        .map_err(err)
}

fn run_plan(plan: &Plan, input: &[f32], shape: [usize; 4]) -> Result<TVec<TValue>, FaceError> {
    let tensor = Tensor::from_shape(&shape, input)
        .map_err(|e| FaceError::Inference(format!("input tensor: {e:#}")))?;
    plan.run(tvec!(tensor.into_tvalue())).map_err(|e| FaceError::Inference(format!("{e:#}")))
}

fn to_vec(v: &TValue, what: &str) -> Result<Vec<f32>, FaceError> {
    v.to_plain_array_view::<f32>()
        .map(|a| a.iter().copied().collect())
        .map_err(|e| FaceError::Inference(format!("output {what}: {e:#}")))
}

/// YuNet run by tract. YuNet is fully convolutional (its reshapes use −1), so it runs at any
/// input size that is a multiple of 32: tract needs a concrete shape to optimise, so one plan is
/// compiled per input size and cached; the common sizes are compiled at load.
pub struct TractYuNet {
    path: std::path::PathBuf,
    model: InferenceModel,
    plans: Mutex<HashMap<(usize, usize), Plan>>,
}

/// Input sizes compiled at load: full 640 (tiles, 1:1 photos), 4:3 and 3:4 photos fitted to 640,
/// and the small square used for small images.
const PRECOMPILED: [(usize, usize); 4] = [(640, 640), (640, 480), (480, 640), (320, 320)];

impl TractYuNet {
    pub fn load(path: &Path) -> Result<Self, FaceError> {
        let me = Self { path: path.to_path_buf(), model: parse(path)?, plans: Mutex::new(HashMap::new()) };
        for (w, h) in PRECOMPILED {
            me.plan(w, h)?;
        }
        Ok(me)
    }

    fn plan(&self, w: usize, h: usize) -> Result<Plan, FaceError> {
        if let Some(p) = self.plans.lock().map_err(|_| poisoned())?.get(&(w, h)) {
            return Ok(p.clone());
        }
        let p = plan_for(&self.model, &self.path, [1, 3, h, w])?;
        self.plans.lock().map_err(|_| poisoned())?.insert((w, h), p.clone());
        Ok(p)
    }
}

fn poisoned() -> FaceError {
    FaceError::Inference("a model cache lock was poisoned by a panic".into())
}

impl DetectorModel for TractYuNet {
    fn run(&self, input: &[f32], width: usize, height: usize) -> Result<DetectorOutput, FaceError> {
        if !width.is_multiple_of(32)
            || !height.is_multiple_of(32)
            || width == 0
            || height == 0
            || width > DETECTOR_INPUT
            || height > DETECTOR_INPUT
        {
            return Err(FaceError::Inference(format!(
                "detector input {width}x{height} is not a multiple of 32 up to {DETECTOR_INPUT}"
            )));
        }
        let plan = self.plan(width, height)?;
        let out = run_plan(&plan, input, [1, 3, height, width])?;
        if out.len() != 12 {
            return Err(FaceError::Inference(format!("detector gave {} outputs, expected 12", out.len())));
        }
        // Output order in the graph: cls_8/16/32, obj_8/16/32, bbox_8/16/32, kps_8/16/32.
        let g = |i: usize| to_vec(&out[i], "detector");
        Ok(DetectorOutput {
            width,
            height,
            cls: [g(0)?, g(1)?, g(2)?],
            obj: [g(3)?, g(4)?, g(5)?],
            bbox: [g(6)?, g(7)?, g(8)?],
            kps: [g(9)?, g(10)?, g(11)?],
        })
    }
}

/// SFace run by tract.
pub struct TractSFace {
    plan: Plan,
}

impl TractSFace {
    pub fn load(path: &Path) -> Result<Self, FaceError> {
        Ok(Self { plan: plan_for(&parse(path)?, path, [1, 3, EMBEDDER_INPUT, EMBEDDER_INPUT])? })
    }
}

impl EmbedderModel for TractSFace {
    fn run(&self, input: &[f32]) -> Result<[f32; EMBEDDING_DIM], FaceError> {
        let out = run_plan(&self.plan, input, [1, 3, EMBEDDER_INPUT, EMBEDDER_INPUT])?;
        let v = to_vec(&out[0], "embedder")?;
        v.as_slice().try_into().map_err(|_| FaceError::Inference(format!("embedder gave {} values", v.len())))
    }
}
