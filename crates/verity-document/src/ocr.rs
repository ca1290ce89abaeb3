//! PP-OCRv5 mobile text detection (DB) and recognition (CTC), on the model runtime
//! (`verity-runtime`: ONNX Runtime when its library is in the models directory, else tract; the
//! usual input shapes are compiled at load for tract). Measured on this 2-core machine over the
//! real document set: a whole MRZ read 145 ms mean on ONNX Runtime vs ~300 ms on tract
//! (detection 60 vs 105 ms).

use std::path::{Path, PathBuf};

use tract_onnx::prelude::Framework;

use crate::DocumentError;

/// The recogniser's input height.
pub const REC_HEIGHT: usize = 48;
/// The recogniser's output stride: one time step per 8 input columns.
pub const REC_STRIDE: usize = 8;
/// Recogniser widths compiled (a line is padded to the next one).
pub const REC_WIDTHS: [usize; 5] = [320, 480, 640, 720, 800];
/// Detector input shapes for the first, faster pass (image fitted to 480 px).
pub const DET_SHAPES_FAST: [(usize, usize); 5] = [(512, 384), (384, 512), (512, 512), (512, 288), (288, 512)];
/// Detector input shapes compiled at load (width, height).
pub const DET_SHAPES: [(usize, usize); 6] =
    [(640, 448), (448, 640), (640, 640), (640, 384), (384, 640), (640, 320)];

pub use verity_runtime::Runtime;
use verity_runtime::{Initializer, Model, Settings, Source};

impl From<verity_runtime::RuntimeError> for DocumentError {
    fn from(e: verity_runtime::RuntimeError) -> Self {
        match e {
            verity_runtime::RuntimeError::Load { what, detail } => {
                DocumentError::ModelLoad { path: PathBuf::from(what), detail }
            }
            verity_runtime::RuntimeError::Inference(m) => DocumentError::Inference(m),
        }
    }
}

/// Runs a model on one input, its first output as (shape, values).
fn run(model: &Model, input: Vec<f32>, shape: [usize; 4]) -> Result<(Vec<usize>, Vec<f32>), DocumentError> {
    let out = model.run_first(input, &shape)?;
    Ok((out.shape, out.data))
}

/// The recogniser's output layer (`MatMul` then `Add` before the final `Softmax`) cut to the
/// classes `keep`. The softmax over fewer classes scales every kept probability of a time step
/// by one factor, and CTC decoding over an alphabet only compares and normalises kept
/// probabilities within a step, so reads are unchanged — and the layer over 18,385 classes,
/// ~15 % of a line's recognition, is gone.
fn pruned_head(path: &Path, keep: &[usize]) -> Result<Vec<Initializer>, DocumentError> {
    let err = |detail: String| DocumentError::ModelLoad { path: path.to_path_buf(), detail };
    let proto = tract_onnx::onnx().proto_model_for_path(path).map_err(|e| err(format!("{e:#}")))?;
    let graph = proto.graph.as_ref().ok_or_else(|| err("no graph".into()))?;
    let producer = |name: &str| graph.node.iter().find(|n| n.output.iter().any(|o| o == name));
    let init = |name: &str| graph.initializer.iter().find(|t| t.name == name);
    let out = graph.output.first().ok_or_else(|| err("no output".into()))?;
    let mut node = producer(&out.name).filter(|n| n.op_type == "Softmax");
    while let Some(n) = node.filter(|n| n.op_type == "Softmax" || n.op_type == "Identity") {
        node = n.input.first().and_then(|i| producer(i));
    }
    let head = || err("the output layer is not MatMul + Add before Softmax".into());
    let add = node.filter(|n| n.op_type == "Add" && n.input.len() == 2).ok_or_else(head)?;
    let (bias, matmul) = match (init(&add.input[1]), producer(&add.input[0])) {
        (Some(b), Some(m)) if m.op_type == "MatMul" && m.input.len() == 2 => (b, m),
        _ => return Err(head()),
    };
    let weight = init(&matmul.input[1]).ok_or_else(head)?;
    let floats = |t: &tract_onnx::pb::TensorProto| -> Result<Vec<f32>, DocumentError> {
        if t.data_type != 1 {
            return Err(err(format!("{} is not float32", t.name)));
        }
        Ok(if t.raw_data.is_empty() {
            t.float_data.clone()
        } else {
            t.raw_data.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
        })
    };
    let (w, b) = (floats(weight)?, floats(bias)?);
    let (inner, classes) = match weight.dims[..] {
        [i, c] if i > 0 && c > 0 && (i * c) as usize == w.len() && c as usize == b.len() => {
            (i as usize, c as usize)
        }
        _ => return Err(err(format!("output layer weight of shape {:?}", weight.dims))),
    };
    if keep.iter().any(|&k| k >= classes) {
        return Err(err(format!("a kept class is beyond the {classes} classes")));
    }
    let mut pw = Vec::with_capacity(inner * keep.len());
    for row in w.chunks_exact(classes) {
        pw.extend(keep.iter().map(|&k| row[k]));
    }
    Ok(vec![
        Initializer { name: weight.name.clone(), shape: vec![inner, keep.len()], values: pw },
        Initializer {
            name: bias.name.clone(),
            shape: vec![keep.len()],
            values: keep.iter().map(|&k| b[k]).collect(),
        },
    ])
}

/// The text detector: a BGR image normalised as PaddleOCR does, a probability map out.
pub struct Detector(Model);

/// A probability map the size of the detector input.
#[derive(Debug, Clone)]
pub struct ProbMap {
    pub width: usize,
    pub height: usize,
    pub data: Vec<f32>,
}

impl Detector {
    pub fn load(runtime: &Runtime, path: &Path, precompile: bool) -> Result<Self, DocumentError> {
        // A session per concurrent caller, the cores shared among them.
        let d = Self(Model::load(runtime, Source::File(path), Settings::per_caller().variable())?);
        if precompile {
            for (w, h) in DET_SHAPES.into_iter().chain(DET_SHAPES_FAST) {
                d.0.precompile(&[1, 3, h, w])?;
            }
        }
        Ok(d)
    }

    /// Runs on `img` (already resized to fit `width`×`height`, multiples of 32; the rest is
    /// padding).
    pub fn run(&self, img: &image::RgbImage, width: usize, height: usize) -> Result<ProbMap, DocumentError> {
        const MEAN: [f32; 3] = [0.485, 0.456, 0.406];
        const STD: [f32; 3] = [0.229, 0.224, 0.225];
        let plane = width * height;
        let mut input = vec![0f32; 3 * plane];
        // PaddleOCR feeds BGR and applies the ImageNet mean/std in that channel order.
        for (x, y, p) in img.enumerate_pixels() {
            let (x, y) = (x as usize, y as usize);
            if x >= width || y >= height {
                continue;
            }
            let bgr = [p[2], p[1], p[0]];
            for c in 0..3 {
                input[c * plane + y * width + x] = (bgr[c] as f32 / 255.0 - MEAN[c]) / STD[c];
            }
        }
        let (shape, data) = run(&self.0, input, [1, 3, height, width])?;
        if shape.len() != 4 || shape[2] != height || shape[3] != width {
            return Err(DocumentError::Inference(format!("detector output shape {shape:?}")));
        }
        Ok(ProbMap { width, height, data })
    }
}

/// The text recogniser: one 48-pixel-high line in, per time step a probability per class out.
pub struct Recognizer {
    planned: Model,
    /// Class index → character (0 = CTC blank).
    pub keys: Vec<String>,
}

/// The recogniser's output for one line.
#[derive(Debug, Clone)]
pub struct RecOutput {
    pub steps: usize,
    pub classes: usize,
    /// `steps × classes` probabilities (softmax).
    pub probs: Vec<f32>,
}

impl RecOutput {
    pub fn step(&self, t: usize) -> &[f32] {
        &self.probs[t * self.classes..(t + 1) * self.classes]
    }
}

impl Recognizer {
    /// Loads the recogniser; its output keeps only the classes that fold into one of
    /// `alphabets` (see [`pruned_head`]), and [`Recognizer::keys`] are those classes' keys.
    pub fn load(
        runtime: &Runtime,
        path: &Path,
        keys_path: &Path,
        precompile: &[usize],
        alphabets: &[&str],
    ) -> Result<Self, DocumentError> {
        let text = std::fs::read_to_string(keys_path)
            .map_err(|e| DocumentError::ModelLoad { path: keys_path.to_path_buf(), detail: e.to_string() })?;
        let mut keys: Vec<String> = text.split('\n').map(|s| s.trim_end_matches('\r').to_string()).collect();
        while keys.last().is_some_and(String::is_empty) {
            keys.pop();
        }
        let mut keep: Vec<usize> = vec![0];
        for a in alphabets {
            keep.extend(crate::ctc::Alphabet::new(&keys, a).classes());
        }
        keep.sort_unstable();
        keep.dedup();
        let (replaced, keys) = if alphabets.is_empty() {
            (vec![], keys)
        } else {
            (pruned_head(path, &keep)?, keep.iter().map(|&k| keys[k].clone()).collect())
        };
        // Lines are recognised in parallel, each on one thread: three sessions (or one per
        // caller if more), so the three lines of a TD1 band run at once rather than in rounds.
        let settings = Settings::fan_out(3).variable();
        let r = Self { planned: Model::load_with(runtime, Source::File(path), settings, &replaced)?, keys };
        for w in precompile {
            r.planned.precompile(&[1, 3, REC_HEIGHT, *w])?;
        }
        Ok(r)
    }

    /// The compiled width a line of `width` pixels is padded to.
    pub fn bucket(width: usize) -> usize {
        REC_WIDTHS.iter().copied().find(|w| *w >= width).unwrap_or(REC_WIDTHS[REC_WIDTHS.len() - 1])
    }

    /// Recognises a line image (height [`REC_HEIGHT`], width ≤ the largest bucket), padded to
    /// its bucket.
    pub fn run(&self, line: &image::RgbImage) -> Result<RecOutput, DocumentError> {
        // The usual widths on both runtimes (ONNX Runtime would take any: the line's own width
        // read no faster and no better on the synthetic set).
        let w = Self::bucket(line.width() as usize);
        let plane = REC_HEIGHT * w;
        let mut input = vec![0f32; 3 * plane];
        for (x, y, p) in line.enumerate_pixels() {
            let (x, y) = (x as usize, y as usize);
            if x >= w || y >= REC_HEIGHT {
                continue;
            }
            let bgr = [p[2], p[1], p[0]];
            for c in 0..3 {
                input[c * plane + y * w + x] = bgr[c] as f32 / 127.5 - 1.0;
            }
        }
        let (shape, probs) = run(&self.planned, input, [1, 3, REC_HEIGHT, w])?;
        if shape.len() != 3 || shape[2] != self.keys.len() {
            return Err(DocumentError::Inference(format!(
                "recogniser output shape {shape:?} for {} classes",
                self.keys.len()
            )));
        }
        Ok(RecOutput { steps: shape[1], classes: shape[2], probs })
    }
}
