//! Raw inference time of one model file with tract, for profiling conversions. A `.pth` file is
//! an upstream MiniFASNet state dict, built into a graph first (and the build timed).
//!
//!   cargo run --release -p verity-face --example model_speed -- MODEL.onnx|MODEL.pth N C H W [RUNS]

use std::time::Instant;

use tract_onnx::prelude::*;

fn main() -> TractResult<()> {
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
    let t = Instant::now();
    let plan = tract_onnx::onnx()
        .model_for_read(&mut &onnx[..])?
        .with_input_fact(0, f32::fact(&dims).into())?
        .into_optimized()?
        .into_runnable()?;
    let load = t.elapsed().as_secs_f64() * 1000.0;
    let n: usize = dims.iter().product();
    let input: Vec<f32> = (0..n).map(|i| (i % 251) as f32).collect();
    let mut times = Vec::new();
    for i in 0..runs + 3 {
        let x = Tensor::from_shape(&dims, &input)?;
        let t = Instant::now();
        let _ = plan.run(tvec!(x.into_tvalue()))?;
        if i >= 3 {
            times.push(t.elapsed().as_secs_f64() * 1000.0);
        }
    }
    times.sort_by(f64::total_cmp);
    println!(
        "{{\"model\": {:?}, \"read_ms\": {build:.1}, \"load_ms\": {load:.1}, \"p50_ms\": {:.2}, \"min_ms\": {:.2}}}",
        a[1],
        times[times.len() / 2],
        times[0]
    );
    Ok(())
}
