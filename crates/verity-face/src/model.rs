//! The inference seam: two tiny traits, and their implementations on the model runtime
//! (`verity-runtime`: ONNX Runtime, or tract).
//!
//! Pre-processing (tensor layout) and post-processing (decoding, NMS, normalisation) live in
//! `detect.rs` and `embed.rs`; a model only maps an input buffer to output buffers, so unit tests
//! can substitute fakes.

use std::path::{Path, PathBuf};

use verity_runtime::{Model, Runtime, Settings, Source};

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

fn runtime_error(path: &Path) -> impl Fn(verity_runtime::RuntimeError) -> FaceError + '_ {
    move |e| match e {
        verity_runtime::RuntimeError::Load { detail, .. } => {
            FaceError::ModelLoad { path: path.to_path_buf(), detail }
        }
        verity_runtime::RuntimeError::Inference(m) => FaceError::Inference(m),
    }
}

/// YuNet on the model runtime. YuNet is fully convolutional (its reshapes use −1), so it runs at
/// any input size that is a multiple of 32 (on tract, one plan per size, the common ones
/// compiled at load).
pub struct YuNet {
    path: PathBuf,
    model: Model,
}

/// Input sizes compiled at load: full 640 (tiles, 1:1 photos), 4:3 and 3:4 photos fitted to 640,
/// and the small square used for small images.
const PRECOMPILED: [(usize, usize); 4] = [(640, 640), (640, 480), (480, 640), (320, 320)];

impl YuNet {
    pub fn load(runtime: &Runtime, path: &Path) -> Result<Self, FaceError> {
        let err = runtime_error(path);
        let model =
            Model::load(runtime, Source::File(path), Settings::per_caller().variable()).map_err(&err)?;
        for (w, h) in PRECOMPILED {
            model.precompile(&[1, 3, h, w]).map_err(&err)?;
        }
        Ok(Self { path: path.to_path_buf(), model })
    }
}

impl DetectorModel for YuNet {
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
        let out =
            self.model.run(input.to_vec(), &[1, 3, height, width]).map_err(runtime_error(&self.path))?;
        if out.len() != 12 {
            return Err(FaceError::Inference(format!("detector gave {} outputs, expected 12", out.len())));
        }
        // Output order in the graph: cls_8/16/32, obj_8/16/32, bbox_8/16/32, kps_8/16/32.
        let mut it = out.into_iter().map(|o| o.data);
        let mut next3 = || -> [Vec<f32>; 3] {
            [it.next().unwrap_or_default(), it.next().unwrap_or_default(), it.next().unwrap_or_default()]
        };
        Ok(DetectorOutput { width, height, cls: next3(), obj: next3(), bbox: next3(), kps: next3() })
    }
}

/// SFace on the model runtime.
pub struct SFace {
    path: PathBuf,
    model: Model,
}

impl SFace {
    pub fn load(runtime: &Runtime, path: &Path) -> Result<Self, FaceError> {
        let err = runtime_error(path);
        let model = Model::load(runtime, Source::File(path), Settings::per_caller()).map_err(&err)?;
        model.precompile(&[1, 3, EMBEDDER_INPUT, EMBEDDER_INPUT]).map_err(&err)?;
        Ok(Self { path: path.to_path_buf(), model })
    }
}

impl EmbedderModel for SFace {
    fn run(&self, input: &[f32]) -> Result<[f32; EMBEDDING_DIM], FaceError> {
        let out = self
            .model
            .run_first(input.to_vec(), &[1, 3, EMBEDDER_INPUT, EMBEDDER_INPUT])
            .map_err(runtime_error(&self.path))?;
        out.data
            .as_slice()
            .try_into()
            .map_err(|_| FaceError::Inference(format!("embedder gave {} values", out.data.len())))
    }
}
