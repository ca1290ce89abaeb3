//! Raw inference time of one model file on the model runtime (ONNX Runtime when the models
//! directory has it, else tract; `VERITY_RUNTIME=tract|ort` forces one), for profiling
//! conversions. A `.pth` file is an upstream MiniFASNet state dict, built into a graph first (and
//! the build timed).
//!
//!   cargo run --release -p verity-face --example model_speed -- MODEL.onnx|MODEL.pth N C H W [RUNS]

use std::time::Instant;

use verity_runtime::{Model, Runtime, Settings, Source};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let a: Vec<String> = std::env::args().collect();
    let dims: Vec<usize> = a[2..6].iter().map(|s| s.parse().expect("dim")).collect();
    let runs: usize = a.get(6).and_then(|s| s.parse().ok()).unwrap_or(30);
    let t = Instant::now();
    let onnx = if a[1].ends_with(".pth") {
        let state = verity_models::torch_legacy::load_state_dict(&std::fs::read(&a[1])?)?;
        verity_models::minifasnet::minifasnet_onnx(&state)?
    } else {
        std::fs::read(&a[1])?
    };
    let build = t.elapsed().as_secs_f64() * 1000.0;
    let runtime = Runtime::choose(&verity_models::ModelDir::from_env_or_default())?;
    let t = Instant::now();
    let model = Model::load(&runtime, Source::Bytes { name: &a[1], bytes: &onnx }, Settings::per_caller())?;
    model.precompile(&dims)?;
    let load = t.elapsed().as_secs_f64() * 1000.0;
    let n: usize = dims.iter().product();
    let input: Vec<f32> = (0..n).map(|i| (i % 251) as f32).collect();
    let mut times = Vec::new();
    for i in 0..runs + 3 {
        let t = Instant::now();
        let _ = model.run(input.clone(), &dims)?;
        if i >= 3 {
            times.push(t.elapsed().as_secs_f64() * 1000.0);
        }
    }
    times.sort_by(f64::total_cmp);
    println!(
        "{{\"model\": {:?}, \"runtime\": {:?}, \"read_ms\": {build:.1}, \"load_ms\": {load:.1}, \"p50_ms\": {:.2}, \"min_ms\": {:.2}}}",
        a[1],
        runtime.name(),
        times[times.len() / 2],
        times[0]
    );
    Ok(())
}
