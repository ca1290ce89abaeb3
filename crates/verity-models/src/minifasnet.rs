//! Building the MiniFASNet V2 / V1SE anti-spoofing networks (minivision Silent-Face-Anti-Spoofing,
//! Apache-2.0) as an ONNX graph from their upstream PyTorch state dict, so tract runs the
//! upstream weights with no Python and no third-party export.
//!
//! The architecture follows the key structure of the state dict:
//! `conv1` (3×3/2 Conv-BN-PReLU), `conv2_dw` (3×3 depthwise), `conv_23` / `conv_34` / `conv_45`
//! (Depth_Wise blocks with stride 2: 1×1 expand, 3×3 depthwise, 1×1 project), `conv_3` / `conv_4`
//! / `conv_5` (residual stages of Depth_Wise blocks, `model.{i}`; a block with `se_module` keys
//! multiplies its projection by a squeeze-excitation gate), `conv_6_sep` (1×1), `conv_6_dw` (5×5
//! depthwise, no activation), flatten, `linear` (no bias), `bn` (1-D batch norm), `prob` (no bias)
//! → 3 logits. Batch norms are folded into the preceding convolution; PReLU stays a `PRelu` node
//! (ONNX Runtime fuses it; the tract backend lowers it to `Relu(x) + α·Min(x, 0)` at load).

use std::collections::HashMap;

use prost::Message;
use tract_onnx::pb::{
    attribute_proto::AttributeType, tensor_proto::DataType, tensor_shape_proto, type_proto, AttributeProto,
    GraphProto, ModelProto, NodeProto, OperatorSetIdProto, TensorProto, TensorShapeProto, TypeProto,
    ValueInfoProto,
};

use crate::torch_legacy::Tensor;
use crate::ModelError;

const BN_EPS: f32 = 1e-5;

fn err(detail: impl Into<String>) -> ModelError {
    ModelError::Conversion { what: "MiniFASNet".into(), detail: detail.into() }
}

struct Builder<'a> {
    state: &'a HashMap<String, Tensor>,
    nodes: Vec<NodeProto>,
    inits: Vec<TensorProto>,
    n: usize,
}

impl<'a> Builder<'a> {
    fn get(&self, key: &str) -> Result<&'a Tensor, ModelError> {
        self.state.get(key).ok_or_else(|| err(format!("state dict has no {key}")))
    }
    fn has(&self, key: &str) -> bool {
        self.state.contains_key(key)
    }
    fn name(&mut self, hint: &str) -> String {
        self.n += 1;
        format!("{hint}#{}", self.n)
    }
    fn init(&mut self, hint: &str, dims: &[usize], data: Vec<f32>) -> String {
        let name = self.name(hint);
        self.inits.push(TensorProto {
            name: name.clone(),
            dims: dims.iter().map(|&d| d as i64).collect(),
            data_type: DataType::Float as i32,
            raw_data: data.iter().flat_map(|v| v.to_le_bytes()).collect(),
            ..Default::default()
        });
        name
    }
    fn node(&mut self, op: &str, hint: &str, inputs: Vec<String>, attrs: Vec<AttributeProto>) -> String {
        let out = self.name(hint);
        self.nodes.push(NodeProto {
            op_type: op.into(),
            name: out.clone(),
            input: inputs,
            output: vec![out.clone()],
            attribute: attrs,
            ..Default::default()
        });
        out
    }

    /// Convolution without bias followed by batch norm, folded: W·γ/√(σ²+ε), β − μ·γ/√(σ²+ε).
    fn conv_bn(
        &mut self,
        x: &str,
        weight: &str,
        bn: &str,
        stride: i64,
        pad: i64,
    ) -> Result<String, ModelError> {
        let w = self.get(weight)?;
        if w.shape.len() != 4 {
            return Err(err(format!("{weight} is not a 4-D convolution weight")));
        }
        let (cout, cin_g, kh, kw) = (w.shape[0], w.shape[1], w.shape[2], w.shape[3]);
        let (g, b, m, v) = (
            self.get(&format!("{bn}.weight"))?,
            self.get(&format!("{bn}.bias"))?,
            self.get(&format!("{bn}.running_mean"))?,
            self.get(&format!("{bn}.running_var"))?,
        );
        if [g, b, m, v].iter().any(|t| t.data.len() != cout) {
            return Err(err(format!("{bn} does not match {weight}")));
        }
        let scale: Vec<f32> = g.data.iter().zip(&v.data).map(|(g, v)| g / (v + BN_EPS).sqrt()).collect();
        let per = cin_g * kh * kw;
        let wf: Vec<f32> = w.data.iter().enumerate().map(|(i, x)| x * scale[i / per]).collect();
        let bf: Vec<f32> = (0..cout).map(|c| b.data[c] - m.data[c] * scale[c]).collect();
        let groups = if cin_g == 1 && cout > 1 { cout as i64 } else { 1 };
        let wn = self.init(weight, &w.shape, wf);
        let bname = self.init(&format!("{bn}.folded_bias"), &[cout], bf);
        let ints = |name: &str, v: Vec<i64>| AttributeProto {
            name: name.into(),
            ints: v,
            r#type: AttributeType::Ints as i32,
            ..Default::default()
        };
        let int = |name: &str, i: i64| AttributeProto {
            name: name.into(),
            i,
            r#type: AttributeType::Int as i32,
            ..Default::default()
        };
        Ok(self.node(
            "Conv",
            weight,
            vec![x.into(), wn, bname],
            vec![
                ints("kernel_shape", vec![kh as i64, kw as i64]),
                ints("strides", vec![stride, stride]),
                ints("pads", vec![pad, pad, pad, pad]),
                int("group", groups),
            ],
        ))
    }

    /// PReLU with per-channel slope (the tract backend lowers it to Relu(x) + α·Min(x, 0)).
    fn prelu(&mut self, x: &str, slope: &str) -> Result<String, ModelError> {
        let a = self.get(slope)?;
        let c = a.data.len();
        let an = self.init(slope, &[c, 1, 1], a.data.clone());
        Ok(self.node("PRelu", slope, vec![x.into(), an], vec![]))
    }

    /// Conv_block: conv + BN + PReLU.
    fn conv_block(&mut self, x: &str, prefix: &str, stride: i64, pad: i64) -> Result<String, ModelError> {
        let y = self.conv_bn(x, &format!("{prefix}.conv.weight"), &format!("{prefix}.bn"), stride, pad)?;
        self.prelu(&y, &format!("{prefix}.prelu.weight"))
    }

    /// Depth_Wise block (optionally residual, optionally with squeeze-excitation).
    fn depth_wise(
        &mut self,
        x: &str,
        prefix: &str,
        stride: i64,
        residual: bool,
    ) -> Result<String, ModelError> {
        let h = self.conv_block(x, &format!("{prefix}.conv"), 1, 0)?;
        let h = self.conv_block(&h, &format!("{prefix}.conv_dw"), stride, 1)?;
        let mut h = self.conv_bn(
            &h,
            &format!("{prefix}.project.conv.weight"),
            &format!("{prefix}.project.bn"),
            1,
            0,
        )?;
        let se = format!("{prefix}.se_module");
        if self.has(&format!("{se}.fc1.weight")) {
            let pooled = self.node("GlobalAveragePool", &se, vec![h.clone()], vec![]);
            let f1 = self.conv_bn(&pooled, &format!("{se}.fc1.weight"), &format!("{se}.bn1"), 1, 0)?;
            let r = self.node("Relu", &se, vec![f1], vec![]);
            let f2 = self.conv_bn(&r, &format!("{se}.fc2.weight"), &format!("{se}.bn2"), 1, 0)?;
            let gate = self.node("Sigmoid", &se, vec![f2], vec![]);
            h = self.node("Mul", &se, vec![h, gate], vec![]);
        }
        Ok(if residual { self.node("Add", prefix, vec![x.into(), h], vec![]) } else { h })
    }

    fn residual_stage(&mut self, x: &str, prefix: &str) -> Result<String, ModelError> {
        let mut x = x.to_string();
        let mut i = 0;
        while self.has(&format!("{prefix}.model.{i}.conv.conv.weight")) {
            x = self.depth_wise(&x, &format!("{prefix}.model.{i}"), 1, true)?;
            i += 1;
        }
        if i == 0 {
            return Err(err(format!("{prefix} has no blocks")));
        }
        Ok(x)
    }

    /// x @ Wᵀ for a PyTorch Linear weight W (out × in).
    fn linear(&mut self, x: &str, key: &str) -> Result<String, ModelError> {
        let w = self.get(key)?;
        let (o, i) = (w.shape[0], w.shape[1]);
        let t: Vec<f32> =
            (0..i).flat_map(|c| (0..o).map(move |r| (r, c))).map(|(r, c)| w.data[r * i + c]).collect();
        let wn = self.init(key, &[i, o], t);
        Ok(self.node("MatMul", key, vec![x.into(), wn], vec![]))
    }
}

/// The ONNX bytes of a MiniFASNet (V2 or V1SE, chosen by the state dict's keys) taking a
/// 1×3×80×80 BGR 0–255 input named `input` and giving 1×3 logits named `logits`.
pub fn minifasnet_onnx(state: &[(String, Tensor)]) -> Result<Vec<u8>, ModelError> {
    // Checkpoints saved from DataParallel carry a `module.` prefix; accept both.
    let map: HashMap<String, Tensor> =
        state.iter().map(|(k, t)| (k.strip_prefix("module.").unwrap_or(k).to_string(), t.clone())).collect();
    let mut b = Builder { state: &map, nodes: Vec::new(), inits: Vec::new(), n: 0 };
    let x = "input".to_string();
    let x = b.conv_block(&x, "conv1", 2, 1)?;
    let x = b.conv_block(&x, "conv2_dw", 1, 1)?;
    let x = b.depth_wise(&x, "conv_23", 2, false)?;
    let x = b.residual_stage(&x, "conv_3")?;
    let x = b.depth_wise(&x, "conv_34", 2, false)?;
    let x = b.residual_stage(&x, "conv_4")?;
    let x = b.depth_wise(&x, "conv_45", 2, false)?;
    let x = b.residual_stage(&x, "conv_5")?;
    let x = b.conv_block(&x, "conv_6_sep", 1, 0)?;
    let x = b.conv_bn(&x, "conv_6_dw.conv.weight", "conv_6_dw.bn", 1, 0)?;
    let axis =
        AttributeProto { name: "axis".into(), i: 1, r#type: AttributeType::Int as i32, ..Default::default() };
    let x = b.node("Flatten", "flatten", vec![x], vec![axis]);
    let x = b.linear(&x, "linear.weight")?;
    // 1-D batch norm as an affine map.
    let (g, be, m, v) =
        (b.get("bn.weight")?, b.get("bn.bias")?, b.get("bn.running_mean")?, b.get("bn.running_var")?);
    let scale: Vec<f32> = g.data.iter().zip(&v.data).map(|(g, v)| g / (v + BN_EPS).sqrt()).collect();
    let shift: Vec<f32> = (0..scale.len()).map(|c| be.data[c] - m.data[c] * scale[c]).collect();
    let n = scale.len();
    let sn = b.init("bn.scale", &[n], scale);
    let hn = b.init("bn.shift", &[n], shift);
    let x = b.node("Mul", "bn", vec![x, sn], vec![]);
    let x = b.node("Add", "bn", vec![x, hn], vec![]);
    b.linear(&x, "prob.weight")?;
    // The last node (prob) produces the graph output.
    if let Some(last) = b.nodes.last_mut() {
        last.output = vec!["logits".into()];
    }

    let tensor_type = |dims: &[i64]| TypeProto {
        value: Some(type_proto::Value::TensorType(type_proto::Tensor {
            elem_type: DataType::Float as i32,
            shape: Some(TensorShapeProto {
                dim: dims
                    .iter()
                    .map(|&d| tensor_shape_proto::Dimension {
                        value: Some(tensor_shape_proto::dimension::Value::DimValue(d)),
                        ..Default::default()
                    })
                    .collect(),
            }),
        })),
        ..Default::default()
    };
    let model = ModelProto {
        ir_version: 7,
        producer_name: "verity (from Silent-Face-Anti-Spoofing state dict)".into(),
        opset_import: vec![OperatorSetIdProto { domain: String::new(), version: 13 }],
        graph: Some(GraphProto {
            name: "minifasnet".into(),
            node: b.nodes,
            initializer: b.inits,
            input: vec![ValueInfoProto {
                name: "input".into(),
                r#type: Some(tensor_type(&[1, 3, 80, 80])),
                ..Default::default()
            }],
            output: vec![ValueInfoProto {
                name: "logits".into(),
                r#type: Some(tensor_type(&[1, 3])),
                ..Default::default()
            }],
            ..Default::default()
        }),
        ..Default::default()
    };
    Ok(model.encode_to_vec())
}
