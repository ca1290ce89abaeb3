//! Builds MiniFASNet from an upstream `.pth` and times it in tract (one 1×3×80×80 input).
//!
//!   cargo run --release -p verity-models --example minifasnet_speed -- MODEL.pth [RUNS]

use std::time::Instant;

use tract_onnx::prelude::*;
use verity_models::minifasnet::minifasnet_onnx;
use verity_models::torch_legacy::load_state_dict;

fn main() -> TractResult<()> {
    let args: Vec<String> = std::env::args().collect();
    let runs: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(50);
    let t = Instant::now();
    let bytes = std::fs::read(&args[1])?;
    let onnx = minifasnet_onnx(&load_state_dict(&bytes)?)?;
    let build = t.elapsed().as_secs_f64() * 1000.0;
    let t = Instant::now();
    let plan = tract_onnx::onnx()
        .model_for_read(&mut &onnx[..])?
        .with_input_fact(0, f32::fact([1, 3, 80, 80]).into())?
        .into_optimized()?
        .into_runnable()?;
    let optimise = t.elapsed().as_secs_f64() * 1000.0;
    let input: Vec<f32> = (0..19200).map(|i| (i % 251) as f32).collect();
    let mut times = Vec::new();
    for i in 0..runs + 3 {
        let x = Tensor::from_shape(&[1, 3, 80, 80], &input)?;
        let t = Instant::now();
        let _ = plan.run(tvec!(x.into_tvalue()))?;
        if i >= 3 {
            times.push(t.elapsed().as_secs_f64() * 1000.0);
        }
    }
    times.sort_by(f64::total_cmp);
    println!(
        "{{\"model\": {:?}, \"build_ms\": {build:.1}, \"optimise_ms\": {optimise:.1}, \"p50_ms\": {:.2}, \"min_ms\": {:.2}}}",
        args[1],
        times[times.len() / 2],
        times[0]
    );
    Ok(())
}
