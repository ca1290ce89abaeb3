//! The legacy torch.save reader on the upstream MiniFASNet weights in `../shared/models/upstream`,
//! checked against the ONNX exports made from the same weights (`../shared/models/*.onnx`): the
//! tensors the exporter kept as they were must be equal, and the ones it folded (convolution +
//! batch norm) must equal the fold computed from what we read.

use std::collections::HashMap;
use std::path::PathBuf;

use prost::Message;
use tract_onnx::pb::ModelProto;
use verity_models::torch_legacy::{load_state_dict, Tensor};

fn shared() -> PathBuf {
    std::env::var_os("VERITY_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"))
}

fn onnx_inits(name: &str) -> HashMap<String, (Vec<usize>, Vec<f32>)> {
    let bytes = std::fs::read(shared().join("models").join(name)).expect("onnx oracle");
    let m = ModelProto::decode(bytes.as_slice()).expect("onnx");
    m.graph
        .expect("graph")
        .initializer
        .into_iter()
        .map(|t| {
            let data = if t.raw_data.is_empty() {
                t.float_data.clone()
            } else {
                t.raw_data.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
            };
            (t.name.clone(), (t.dims.iter().map(|&d| d as usize).collect(), data))
        })
        .collect()
}

fn state(file: &str) -> HashMap<String, Tensor> {
    let bytes = std::fs::read(shared().join("models/upstream").join(file)).expect("pth");
    load_state_dict(&bytes).expect("state dict").into_iter().collect()
}

fn transpose(t: &Tensor) -> Vec<f32> {
    let (r, c) = (t.shape[0], t.shape[1]);
    (0..c).flat_map(|j| (0..r).map(move |i| (i, j))).map(|(i, j)| t.data[i * c + j]).collect()
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

fn check(pth: &str, onnx: &str, first_conv: &str, first_bias: &str) {
    let s = state(pth);
    let o = onnx_inits(onnx);
    // Kept as they were: the final BatchNorm1d and the two linear layers (stored transposed).
    for p in ["weight", "bias", "running_mean", "running_var"] {
        let t = &s[&format!("module.bn.{p}")];
        assert_eq!(t.data, o[&format!("bn.{p}")].1, "bn.{p}");
    }
    let lin = &s["module.linear.weight"];
    assert_eq!(lin.shape, vec![128, 512]);
    let (name, _) = o.iter().find(|(_, (d, _))| d == &vec![512, 128]).expect("linear");
    assert_eq!(transpose(lin), o[name].1);
    // Folded: conv1 weight × γ/√(σ²+ε), bias β − μ·γ/√(σ²+ε).
    let (w, g, b, m, v) = (
        &s["module.conv1.conv.weight"],
        &s["module.conv1.bn.weight"],
        &s["module.conv1.bn.bias"],
        &s["module.conv1.bn.running_mean"],
        &s["module.conv1.bn.running_var"],
    );
    let per = w.data.len() / w.shape[0];
    let scale: Vec<f32> = g.data.iter().zip(&v.data).map(|(g, v)| g / (v + 1e-5).sqrt()).collect();
    let folded: Vec<f32> = w.data.iter().enumerate().map(|(i, x)| x * scale[i / per]).collect();
    let bias: Vec<f32> = (0..scale.len()).map(|c| b.data[c] - m.data[c] * scale[c]).collect();
    assert!(
        max_diff(&folded, &o[first_conv].1) < 1e-5,
        "{first_conv}: {}",
        max_diff(&folded, &o[first_conv].1)
    );
    assert!(max_diff(&bias, &o[first_bias].1) < 1e-4, "{first_bias}: {}", max_diff(&bias, &o[first_bias].1));
}

#[test]
fn minifasnet_v2_weights_match_the_onnx_oracle() {
    check(
        "2.7_80x80_MiniFASNetV2.pth",
        "minifasnet_v2_scale2.7_80x80.onnx",
        "onnx::Conv_558",
        "onnx::Conv_559",
    );
}

#[test]
fn minifasnet_v1se_weights_match_the_onnx_oracle() {
    let o = onnx_inits("minifasnet_v1se_scale4.0_80x80.onnx");
    let first: Vec<&String> = o.keys().filter(|k| o[*k].0 == vec![32, 3, 3, 3]).collect();
    assert_eq!(first.len(), 1);
    let w = first[0].clone();
    let n: usize = w.trim_start_matches("onnx::Conv_").parse().expect("numbered");
    check(
        "4_0_0_80x80_MiniFASNetV1SE.pth",
        "minifasnet_v1se_scale4.0_80x80.onnx",
        &w,
        &format!("onnx::Conv_{}", n + 1),
    );
}

#[test]
fn garbage_and_foreign_pickles_are_refused() {
    assert!(load_state_dict(b"").is_err());
    assert!(load_state_dict(b"\x80\x02K\x05.").is_err(), "wrong magic");
    // A pickle that would call os.system is refused at its GLOBAL.
    let mut evil = b"\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19.".to_vec();
    evil.extend_from_slice(b"\x80\x02M\xe9\x03.");
    evil.extend_from_slice(b"\x80\x02}.");
    evil.extend_from_slice(b"\x80\x02cos\nsystem\nX\x02\x00\x00\x00ls\x85R.");
    let e = load_state_dict(&evil).unwrap_err().to_string();
    assert!(e.contains("refusing"), "{e}");
}

mod network {
    use super::*;
    use tract_onnx::prelude::*;
    use verity_models::minifasnet::minifasnet_onnx;

    fn plan(bytes: &[u8]) -> TypedSimplePlan {
        tract_onnx::onnx()
            .model_for_read(&mut &bytes[..])
            .expect("parses")
            .with_input_fact(0, f32::fact([1, 3, 80, 80]).into())
            .expect("fact")
            .into_optimized()
            .expect("optimises")
            .into_runnable()
            .expect("runnable")
            .as_ref()
            .clone()
    }

    fn logits(p: &TypedSimplePlan, input: &[f32]) -> Vec<f32> {
        let t = tract_onnx::prelude::Tensor::from_shape(&[1, 3, 80, 80], input).expect("tensor");
        let out = std::sync::Arc::new(p.clone()).run(tvec!(t.into_tvalue())).expect("runs");
        out[0].to_plain_array_view::<f32>().expect("f32").iter().copied().collect()
    }

    /// 80×80 BGR 0–255 inputs: real face crops from `../shared/data/spoof` (both labels) and
    /// two synthetic patterns.
    fn inputs() -> Vec<Vec<f32>> {
        let mut v = Vec::new();
        for name in
            ["real/real_mp4_0.png", "real/real_mp4_200.png", "fake/fake_mp4_0.png", "fake/fake_mp4_300.png"]
        {
            let path = shared().join("data/spoof/images/tranvanluyt_frames").join(name);
            let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let img =
                verity_imaging::decode(&bytes, &verity_imaging::Limits::default()).expect("decodes").image;
            let img = image::imageops::resize(&img, 80, 80, image::imageops::FilterType::Triangle);
            let mut t = vec![0f32; 3 * 80 * 80];
            for (i, p) in img.pixels().enumerate() {
                t[i] = p[2] as f32;
                t[6400 + i] = p[1] as f32;
                t[12800 + i] = p[0] as f32;
            }
            v.push(t);
        }
        v.push((0..19200).map(|i| ((i * 37) % 256) as f32).collect());
        v.push(vec![128.0; 19200]);
        v
    }

    fn compare(pth: &str, onnx: &str) {
        let bytes = std::fs::read(shared().join("models/upstream").join(pth)).expect("pth");
        let ours = minifasnet_onnx(&load_state_dict(&bytes).expect("state")).expect("builds");
        let oracle = std::fs::read(shared().join("models").join(onnx)).expect("oracle");
        let (a, b) = (plan(&ours), plan(&oracle));
        let mut worst = 0f32;
        for x in inputs() {
            let (la, lb) = (logits(&a, &x), logits(&b, &x));
            assert_eq!(la.len(), 3);
            worst = worst.max(max_diff(&la, &lb));
        }
        println!("{pth}: max |logit difference| vs the ONNX export = {worst:e}");
        assert!(worst < 1e-4, "{pth}: {worst}");
    }

    #[test]
    fn v2_built_from_upstream_weights_matches_the_onnx_export() {
        compare("2.7_80x80_MiniFASNetV2.pth", "minifasnet_v2_scale2.7_80x80.onnx");
    }

    #[test]
    fn v1se_built_from_upstream_weights_matches_the_onnx_export() {
        compare("4_0_0_80x80_MiniFASNetV1SE.pth", "minifasnet_v1se_scale4.0_80x80.onnx");
    }
}
