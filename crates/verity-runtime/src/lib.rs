//! The one model runtime every engine loads its networks through.
//!
//! - **ONNX Runtime** (the shared library from the pinned `onnxruntime` wheel, which `verity
//!   models fetch` puts in the models directory) is the default: measured 2–4× faster than tract
//!   on the same files here. It takes any input shape.
//! - **tract** (pure Rust) is the fallback that builds and runs anywhere. It needs concrete
//!   input shapes to optimise, so one plan is compiled per input shape and cached here; engines
//!   precompile their usual shapes at load.
//!
//! `VERITY_RUNTIME=ort|tract` forces one. A [`Model`] maps one `f32` input tensor to its output
//! tensors; engines keep their own pre- and post-processing, and tests can stand in fakes for
//! the engines' model traits.
//!
//! **Threads.** Throughput comes from running checks side by side, not from splitting one
//! inference over cores. [`set_callers`] tells the runtime how many inferences may run at once
//! in this process (the server: its worker count); each model then gets that many sessions (no
//! caller waits on another's session) with `cores / callers` intra-op threads each (at least 1),
//! so callers × threads never exceeds the cores. A one-shot command line keeps the default, one
//! caller using every core.

mod lowering;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tract_onnx::prelude::*;
use verity_models::{ModelDir, ONNXRUNTIME};

/// Environment variable choosing the runtime: `ort` or `tract`.
pub const RUNTIME_ENV: &str = "VERITY_RUNTIME";

/// Errors of loading or running a model.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("cannot load model {what}: {detail}")]
    Load { what: String, detail: String },
    #[error("inference failed: {0}")]
    Inference(String),
}

/// The inference runtime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Runtime {
    Tract,
    /// ONNX Runtime, loaded from this shared library.
    Ort(PathBuf),
}

impl Runtime {
    /// `onnxruntime` or `tract` (as reported in outputs and `/readyz`).
    pub fn name(&self) -> &'static str {
        match self {
            Runtime::Tract => "tract",
            Runtime::Ort(_) => "onnxruntime",
        }
    }

    /// `VERITY_RUNTIME`, else ONNX Runtime if its library is in the models directory, else tract.
    pub fn choose(models: &ModelDir) -> Result<Self, RuntimeError> {
        match std::env::var(RUNTIME_ENV).ok().as_deref() {
            Some("tract") => Ok(Runtime::Tract),
            Some("ort") | Some("onnxruntime") => models
                .require(&ONNXRUNTIME)
                .map(Runtime::Ort)
                .map_err(|e| RuntimeError::Load { what: "onnxruntime".into(), detail: e.to_string() }),
            Some(other) if !other.is_empty() => Err(RuntimeError::Load {
                what: models.path().display().to_string(),
                detail: format!("{RUNTIME_ENV}={other}: use `ort` or `tract`"),
            }),
            _ => Ok(match models.require(&ONNXRUNTIME) {
                Ok(lib) => Runtime::Ort(lib),
                Err(_) => Runtime::Tract,
            }),
        }
    }
}

static CALLERS: AtomicUsize = AtomicUsize::new(1);

/// How many inferences may run at once in this process (set before the engines load). Also
/// sets tract's matrix-product threads (process-wide) to `cores / callers`.
pub fn set_callers(n: usize) {
    CALLERS.store(n.max(1), Ordering::Relaxed);
    apply_tract_threads();
}

/// tract's executor follows [`set_callers`]: one caller gets every core.
fn apply_tract_threads() {
    use tract_linalg::multithread::{set_default_executor, Executor};
    let threads = (cores() / CALLERS.load(Ordering::Relaxed).max(1)).max(1);
    if threads <= 1 {
        set_default_executor(Executor::SingleThread);
    } else {
        set_default_executor(Executor::multithread(threads));
    }
}

/// The cores this process may use.
pub fn cores() -> usize {
    std::thread::available_parallelism().map(usize::from).unwrap_or(1)
}

/// Sessions and intra-op threads of one model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// Sessions (ONNX Runtime): callers that can run the model at once without waiting.
    pub sessions: usize,
    /// Intra-op threads per session.
    pub threads: usize,
    /// The input shape changes from call to call (no memory pattern is planned per shape).
    pub variable_shape: bool,
}

impl Settings {
    /// The rule of the module documentation: a session per caller, the cores shared among them.
    pub fn per_caller() -> Self {
        let callers = CALLERS.load(Ordering::Relaxed).max(1);
        Settings { sessions: callers, threads: (cores() / callers).max(1), variable_shape: false }
    }

    /// For a model called by several threads of one request (e.g. the text lines of an MRZ band
    /// recognised at once): at least `n` sessions, one thread each.
    pub fn fan_out(n: usize) -> Self {
        let callers = CALLERS.load(Ordering::Relaxed).max(1);
        Settings { sessions: n.max(callers), threads: 1, variable_shape: false }
    }

    pub fn variable(mut self) -> Self {
        self.variable_shape = true;
        self
    }
}

/// Where a model's ONNX bytes come from.
#[derive(Debug, Clone, Copy)]
pub enum Source<'a> {
    File(&'a Path),
    /// Built in memory (e.g. converted from PyTorch weights); `name` is for messages.
    Bytes {
        name: &'a str,
        bytes: &'a [u8],
    },
}

impl Source<'_> {
    fn name(&self) -> String {
        match self {
            Source::File(p) => p.display().to_string(),
            Source::Bytes { name, .. } => name.to_string(),
        }
    }
}

/// An initializer's replacement (name, shape, values), applied when the model loads.
#[derive(Debug, Clone)]
pub struct Initializer {
    pub name: String,
    pub shape: Vec<usize>,
    pub values: Vec<f32>,
}

/// One output tensor.
#[derive(Debug, Clone, PartialEq)]
pub struct Output {
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

/// A loaded model on one runtime.
pub struct Model {
    name: String,
    inner: Inner,
}

enum Inner {
    Tract(Box<Planned>),
    Ort(ort_backend::OrtModel),
}

impl Model {
    /// Loads a model with the given sessions and threads.
    pub fn load(runtime: &Runtime, source: Source<'_>, settings: Settings) -> Result<Self, RuntimeError> {
        Self::load_with(runtime, source, settings, &[])
    }

    /// Loads a model with some initializers replaced.
    pub fn load_with(
        runtime: &Runtime,
        source: Source<'_>,
        settings: Settings,
        replaced: &[Initializer],
    ) -> Result<Self, RuntimeError> {
        let inner = match runtime {
            Runtime::Tract => Inner::Tract(Box::new(Planned::load(source, replaced)?)),
            Runtime::Ort(lib) => Inner::Ort(ort_backend::OrtModel::load(lib, source, settings, replaced)?),
        };
        Ok(Self { name: source.name(), inner })
    }

    /// Compiles the plan of an input shape ahead of its first use (tract; nothing to do on ONNX
    /// Runtime).
    pub fn precompile(&self, shape: &[usize]) -> Result<(), RuntimeError> {
        match &self.inner {
            Inner::Tract(p) => p.plan(shape).map(|_| ()),
            Inner::Ort(_) => Ok(()),
        }
    }

    /// Runs on one input of `shape`; every output, in the graph's order.
    pub fn run(&self, input: Vec<f32>, shape: &[usize]) -> Result<Vec<Output>, RuntimeError> {
        let expected: usize = shape.iter().product();
        if input.len() != expected {
            return Err(RuntimeError::Inference(format!(
                "{}: {} input values for shape {shape:?}",
                self.name,
                input.len()
            )));
        }
        match &self.inner {
            Inner::Tract(p) => p.run(input, shape),
            Inner::Ort(m) => m.run(input, shape),
        }
    }

    /// Runs and returns the first output.
    pub fn run_first(&self, input: Vec<f32>, shape: &[usize]) -> Result<Output, RuntimeError> {
        self.run(input, shape)?
            .into_iter()
            .next()
            .ok_or_else(|| RuntimeError::Inference(format!("{}: no output", self.name)))
    }

    pub fn runtime_name(&self) -> &'static str {
        match &self.inner {
            Inner::Tract(_) => "tract",
            Inner::Ort(_) => "onnxruntime",
        }
    }
}

/// The model's bytes with its inputs' dimensions past the second (height, width) made symbolic,
/// and the shapes it declares for outputs and intermediate values dropped (they are inferred
/// again for each input). Fully convolutional models (YuNet, the text detector) then run at any
/// size.
fn free_spatial_dims(source: Source<'_>) -> Result<Vec<u8>, RuntimeError> {
    use prost::Message;
    use tract_onnx::pb::tensor_shape_proto::{dimension, Dimension};
    use tract_onnx::pb::type_proto;
    let name = source.name();
    let fail = |detail: String| RuntimeError::Load { what: name.clone(), detail };
    let onnx = tract_onnx::onnx();
    let mut proto = match source {
        Source::File(p) => onnx.proto_model_for_path(p),
        Source::Bytes { bytes, .. } => onnx.proto_model_for_read(&mut &bytes[..]),
    }
    .map_err(|e| fail(format!("{e:#}")))?;
    let graph = proto.graph.as_mut().ok_or_else(|| fail("no graph".into()))?;
    let initializers: std::collections::HashSet<String> =
        graph.initializer.iter().map(|t| t.name.clone()).collect();
    for input in graph.input.iter_mut().filter(|i| !initializers.contains(&i.name)) {
        if let Some(type_proto::Value::TensorType(t)) = input.r#type.as_mut().and_then(|t| t.value.as_mut()) {
            if let Some(shape) = t.shape.as_mut() {
                for (i, d) in shape.dim.iter_mut().enumerate().skip(2) {
                    *d = Dimension {
                        denotation: d.denotation.clone(),
                        value: Some(dimension::Value::DimParam(format!("{}_{i}", input.name))),
                    };
                }
            }
        }
    }
    for output in graph.output.iter_mut() {
        if let Some(type_proto::Value::TensorType(t)) = output.r#type.as_mut().and_then(|t| t.value.as_mut())
        {
            t.shape = None;
        }
    }
    graph.value_info.clear();
    Ok(proto.encode_to_vec())
}

fn poisoned() -> RuntimeError {
    RuntimeError::Inference("a model lock was poisoned by a panic".into())
}

type Plan = Arc<TypedRunnableModel>;

/// A tract model and its plans per input shape.
struct Planned {
    name: String,
    model: InferenceModel,
    plans: Mutex<HashMap<Vec<usize>, Plan>>,
}

impl Planned {
    fn load(source: Source<'_>, replaced: &[Initializer]) -> Result<Self, RuntimeError> {
        static THREADS: std::sync::Once = std::sync::Once::new();
        THREADS.call_once(apply_tract_threads);
        let name = source.name();
        let fail = |detail: String| RuntimeError::Load { what: name.clone(), detail };
        let err = |e: TractError| fail(format!("{e:#}"));
        let onnx = tract_onnx::onnx();
        let mut proto = match source {
            Source::File(p) => onnx.proto_model_for_path(p).map_err(err)?,
            Source::Bytes { bytes, .. } => onnx.proto_model_for_read(&mut &bytes[..]).map_err(err)?,
        };
        {
            let graph = proto.graph.as_mut().ok_or_else(|| fail("no graph".into()))?;
            lowering::lower_prelu(graph);
            for init in replaced {
                let t = graph
                    .initializer
                    .iter_mut()
                    .find(|t| t.name == init.name)
                    .ok_or_else(|| fail(format!("no initializer {}", init.name)))?;
                t.dims = init.shape.iter().map(|&d| d as i64).collect();
                t.float_data.clear();
                t.raw_data = init.values.iter().flat_map(|v| v.to_le_bytes()).collect();
            }
        }
        let model = onnx.model_for_proto_model(&proto).map_err(err)?;
        Ok(Self { name, model, plans: Mutex::new(HashMap::new()) })
    }

    fn plan(&self, shape: &[usize]) -> Result<Plan, RuntimeError> {
        if let Some(p) = self.plans.lock().map_err(|_| poisoned())?.get(shape) {
            return Ok(p.clone());
        }
        let err = |e: TractError| RuntimeError::Load { what: self.name.clone(), detail: format!("{e:#}") };
        let plan = self
            .model
            .clone()
            .with_input_fact(0, f32::fact(shape).into())
            .map_err(err)?
            .into_optimized()
            .map_err(err)?
            .into_runnable()
            .map_err(err)?;
        self.plans.lock().map_err(|_| poisoned())?.insert(shape.to_vec(), plan.clone());
        Ok(plan)
    }

    fn run(&self, input: Vec<f32>, shape: &[usize]) -> Result<Vec<Output>, RuntimeError> {
        let plan = self.plan(shape)?;
        let inf = |e: TractError| RuntimeError::Inference(format!("{}: {e:#}", self.name));
        let tensor = Tensor::from_shape(shape, &input).map_err(inf)?;
        let out = plan.run(tvec!(tensor.into_tvalue())).map_err(inf)?;
        out.iter()
            .map(|v| {
                let view = v.to_plain_array_view::<f32>().map_err(inf)?;
                Ok(Output { shape: view.shape().to_vec(), data: view.iter().copied().collect() })
            })
            .collect()
    }
}

mod ort_backend {
    use std::path::Path;
    use std::sync::{Mutex, OnceLock};

    use ort::environment::Environment;
    use ort::session::Session;

    use super::{poisoned, Initializer, Output, RuntimeError, Settings, Source};

    /// One ONNX Runtime environment per process, created on first use from `lib`.
    fn environment(lib: &Path) -> Result<&'static Environment, String> {
        static ENV: OnceLock<Result<Environment, String>> = OnceLock::new();
        ENV.get_or_init(|| {
            ort::init_from(lib)
                .map_err(|e| format!("cannot load {}: {e}", lib.display()))?
                .with_name("verity")
                .build()
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(Clone::clone)
    }

    /// Sessions of one model (one per concurrent caller).
    pub struct OrtModel {
        name: String,
        sessions: Vec<Mutex<Session>>,
    }

    impl OrtModel {
        pub fn load(
            lib: &Path,
            source: Source<'_>,
            settings: Settings,
            replaced: &[Initializer],
        ) -> Result<Self, RuntimeError> {
            let name = source.name();
            let err = |e: String| RuntimeError::Load { what: name.clone(), detail: e };
            let env = environment(lib).map_err(err)?;
            let mut values = Vec::new();
            for init in replaced {
                let t = ort::value::Tensor::from_array((init.shape.clone(), init.values.clone()))
                    .map_err(|e| err(e.to_string()))?;
                values.push((init.name.clone(), std::sync::Arc::new(t.into_dyn())));
            }
            // ONNX Runtime holds a model to the input shape its graph declares: a variable-shape
            // model gets symbolic spatial dimensions.
            let free = if settings.variable_shape { Some(super::free_spatial_dims(source)?) } else { None };
            let mut out = Vec::new();
            for _ in 0..settings.sessions.max(1) {
                let mut b = Session::builder(env).map_err(|e| err(e.to_string()))?;
                for (name, v) in &values {
                    b = b.with_initializer(name, v.clone()).map_err(|e| err(e.to_string()))?;
                }
                if settings.variable_shape {
                    // No memory pattern planned per shape (~10 % faster on the text detector).
                    b = b.with_memory_pattern(false).map_err(|e| err(e.to_string()))?;
                }
                let mut b = b
                    .with_intra_threads(settings.threads.max(1))
                    .map_err(|e| err(e.to_string()))?
                    .with_inter_threads(1)
                    .map_err(|e| err(e.to_string()))?
                    // Idle threads sleep instead of spinning: sessions share the cores.
                    .with_intra_op_spinning(false)
                    .map_err(|e| err(e.to_string()))?;
                let s = match (&free, source) {
                    (Some(bytes), _) => b.commit_from_memory(bytes),
                    (None, Source::File(p)) => b.commit_from_file(p),
                    (None, Source::Bytes { bytes, .. }) => b.commit_from_memory(bytes),
                }
                .map_err(|e| err(e.to_string()))?;
                out.push(Mutex::new(s));
            }
            Ok(Self { name, sessions: out })
        }

        pub fn run(&self, input: Vec<f32>, shape: &[usize]) -> Result<Vec<Output>, RuntimeError> {
            let inference = |e: ort::Error| RuntimeError::Inference(format!("{}: {e}", self.name));
            // A free session, else wait for the first.
            let mut guard = match self.sessions.iter().find_map(|m| m.try_lock().ok()) {
                Some(g) => g,
                None => self.sessions[0].lock().map_err(|_| poisoned())?,
            };
            let tensor = ort::value::Tensor::from_array((shape.to_vec(), input)).map_err(inference)?;
            let outputs = guard.run(ort::inputs![tensor]).map_err(inference)?;
            let mut all = Vec::with_capacity(outputs.len());
            for (_, v) in outputs.iter() {
                let (out_shape, data) = v.try_extract_tensor::<f32>().map_err(inference)?;
                all.push(Output {
                    shape: out_shape.iter().map(|&d| d.max(0) as usize).collect(),
                    data: data.to_vec(),
                });
            }
            Ok(all)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_follow_the_callers_and_threads_share_the_cores() {
        let cores = cores();
        set_callers(1);
        assert_eq!(Settings::per_caller(), Settings { sessions: 1, threads: cores, variable_shape: false });
        set_callers(2 * cores);
        let s = Settings::per_caller();
        assert_eq!((s.sessions, s.threads), (2 * cores, 1), "never more threads than cores in all");
        assert_eq!(Settings::fan_out(1).sessions, 2 * cores);
        assert!(Settings::fan_out(1).variable().variable_shape);
        set_callers(0);
        assert_eq!(Settings::per_caller().sessions, 1);
    }

    #[test]
    fn a_wrong_input_size_is_an_error_not_a_panic() {
        // A one-node graph built in memory: y = x (Identity), float input of 1×1×2×2.
        let bytes = identity_model();
        let m = Model::load(
            &Runtime::Tract,
            Source::Bytes { name: "identity", bytes: &bytes },
            Settings::per_caller(),
        )
        .expect("loads");
        let out = m.run(vec![1.0, 2.0, 3.0, 4.0], &[1, 1, 2, 2]).expect("runs");
        assert_eq!(out, vec![Output { shape: vec![1, 1, 2, 2], data: vec![1.0, 2.0, 3.0, 4.0] }]);
        assert!(matches!(m.run(vec![1.0], &[1, 1, 2, 2]), Err(RuntimeError::Inference(_))));
        let freed = free_spatial_dims(Source::Bytes { name: "identity", bytes: &bytes }).expect("freed");
        let m = Model::load(
            &Runtime::Tract,
            Source::Bytes { name: "freed", bytes: &freed },
            Settings::per_caller(),
        )
        .expect("loads");
        let out = m.run_first(vec![0.5; 6], &[1, 1, 2, 3]).expect("any spatial size");
        assert_eq!(out.shape, vec![1, 1, 2, 3]);
    }

    fn identity_model() -> Vec<u8> {
        use prost::Message;
        use tract_onnx::pb::tensor_shape_proto::{dimension, Dimension};
        use tract_onnx::pb::{
            type_proto, GraphProto, ModelProto, NodeProto, OperatorSetIdProto, TensorShapeProto, TypeProto,
            ValueInfoProto,
        };
        let value = |name: &str| ValueInfoProto {
            name: name.into(),
            r#type: Some(TypeProto {
                value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                    elem_type: 1,
                    shape: Some(TensorShapeProto {
                        dim: [1, 1, 2, 2]
                            .iter()
                            .map(|&d| Dimension {
                                value: Some(dimension::Value::DimValue(d)),
                                ..Default::default()
                            })
                            .collect(),
                    }),
                })),
                ..Default::default()
            }),
            ..Default::default()
        };
        ModelProto {
            ir_version: 8,
            opset_import: vec![OperatorSetIdProto { domain: String::new(), version: 13 }],
            graph: Some(GraphProto {
                name: "g".into(),
                node: vec![NodeProto {
                    op_type: "Identity".into(),
                    input: vec!["x".into()],
                    output: vec!["y".into()],
                    ..Default::default()
                }],
                input: vec![value("x")],
                output: vec![value("y")],
                ..Default::default()
            }),
            ..Default::default()
        }
        .encode_to_vec()
    }
}
