//! Folding blocked int8 `DequantizeLinear` nodes into fp32 initialisers.
//!
//! The OpenCV Zoo `*_int8bq.onnx` files store every weight as int8 with per-block scales and zero
//! points (opset 21 `DequantizeLinear` with a `block_size` attribute), which tract does not run.
//! Each such node whose three inputs are initialisers is replaced by one fp32 initialiser:
//! `w[i] = (q[i] - zero_point[b(i)]) * scale[b(i)]`, where `b(i)` is `i` with its coordinate
//! along `axis` divided by `block_size`. A `Reshape` of such a weight by a constant shape is folded
//! too, and graph inputs that name initialisers or feed nothing (older exporters list every
//! weight as an input) are dropped, so the converted graph has only its real inputs.
//!
//! Shape hints (`value_info`, output shapes) are dropped too, so a fully convolutional graph
//! accepts any input size. Runtime-specific rewrites (tract's PRelu lowering) are the runtime's
//! business, at load time (`verity-runtime`).

use std::collections::{HashMap, HashSet};

use prost::Message;
use tract_onnx::pb::{self, tensor_proto::DataType, ModelProto, NodeProto, TensorProto};

use verity_models::ModelError;

/// What a conversion did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DequantReport {
    pub dequantized: usize,
    pub reshapes_folded: usize,
    pub inputs_dropped: usize,
    pub shape_hints_dropped: usize,
}

fn conv_err(what: &str, detail: impl Into<String>) -> ModelError {
    ModelError::Conversion { what: what.to_string(), detail: detail.into() }
}

/// Converts an ONNX model (bytes) with blocked int8 weights into an fp32 one (bytes).
pub fn dequantize_blocked_int8(what: &str, onnx: &[u8]) -> Result<(Vec<u8>, DequantReport), ModelError> {
    let mut model =
        ModelProto::decode(onnx).map_err(|e| conv_err(what, format!("not an ONNX model: {e}")))?;
    let graph = model.graph.as_mut().ok_or_else(|| conv_err(what, "model has no graph"))?;
    let mut report = DequantReport::default();

    let mut inits: HashMap<String, TensorProto> =
        graph.initializer.drain(..).map(|t| (t.name.clone(), t)).collect();
    let mut order: Vec<String> = Vec::new();
    let mut kept_nodes: Vec<NodeProto> = Vec::with_capacity(graph.node.len());

    for node in graph.node.drain(..) {
        let all_const = !node.input.is_empty() && node.input.iter().all(|i| inits.contains_key(i));
        if node.op_type == "DequantizeLinear" && all_const && node.output.len() == 1 {
            let tensor = fold_dequantize(what, &node, &inits)?;
            order.push(tensor.name.clone());
            inits.insert(tensor.name.clone(), tensor);
            report.dequantized += 1;
            continue;
        }
        if node.op_type == "Reshape" && all_const && node.input.len() == 2 && node.output.len() == 1 {
            let data = &inits[&node.input[0]];
            if data.data_type == DataType::Float as i32 {
                let shape = int64_values(what, &inits[&node.input[1]])?;
                let mut t = data.clone();
                t.dims = resolve_shape(what, &data.dims, &shape)?;
                t.name = node.output[0].clone();
                order.push(t.name.clone());
                inits.insert(t.name.clone(), t);
                report.reshapes_folded += 1;
                continue;
            }
        }
        kept_nodes.push(node);
    }

    // Keep only initialisers something still reads (nodes or graph outputs).
    let mut used: HashSet<&str> = HashSet::new();
    for n in &kept_nodes {
        for i in &n.input {
            used.insert(i.as_str());
        }
        // Subgraph attributes are not expected in these models; refuse rather than break them.
        if n.attribute.iter().any(|a| a.g.is_some() || !a.graphs.is_empty()) {
            return Err(conv_err(what, format!("node {} has a subgraph", n.name)));
        }
    }
    for o in &graph.output {
        used.insert(o.name.as_str());
    }
    let original_order: Vec<String> = {
        let mut names: Vec<String> = inits.keys().filter(|k| !order.contains(k)).cloned().collect();
        names.sort();
        names
    };
    let mut new_inits = Vec::new();
    for name in original_order.iter().chain(order.iter()) {
        if used.contains(name.as_str()) {
            if let Some(t) = inits.get(name) {
                new_inits.push(t.clone());
            }
        }
    }
    let init_names: HashSet<String> = new_inits.iter().map(|t| t.name.clone()).collect();
    let before = graph.input.len();
    graph.input.retain(|i| !init_names.contains(&i.name) && used.contains(i.name.as_str()));
    report.inputs_dropped = before - graph.input.len();
    graph.initializer = new_inits;
    graph.node = kept_nodes;
    // Intermediate and output shape hints pin the graph to the exporter's input size; without
    // them a fully convolutional model (YuNet) runs at any input size the caller declares.
    report.shape_hints_dropped = graph.value_info.len();
    graph.value_info.clear();
    for o in graph.output.iter_mut() {
        if let Some(pb::type_proto::Value::TensorType(t)) = o.r#type.as_mut().and_then(|t| t.value.as_mut()) {
            t.shape = None;
        }
    }

    if graph.node.iter().any(|n| n.op_type == "DequantizeLinear") {
        return Err(conv_err(what, "a DequantizeLinear node with non-constant inputs remains"));
    }
    Ok((model.encode_to_vec(), report))
}

fn attr_int(node: &NodeProto, name: &str) -> Option<i64> {
    node.attribute.iter().find(|a| a.name == name).map(|a| a.i)
}

fn fold_dequantize(
    what: &str,
    node: &NodeProto,
    inits: &HashMap<String, TensorProto>,
) -> Result<TensorProto, ModelError> {
    let q = &inits[&node.input[0]];
    let scale = node
        .input
        .get(1)
        .map(|n| &inits[n])
        .ok_or_else(|| conv_err(what, format!("{}: no scale", node.name)))?;
    let zp = node.input.get(2).map(|n| &inits[n]);

    let qv = int_values(what, q)?;
    let sv = float_values(what, scale)?;
    let zv = match zp {
        Some(z) => int_values(what, z)?,
        None => vec![0; sv.len()],
    };
    if zv.len() != sv.len() {
        return Err(conv_err(what, format!("{}: scale and zero point differ in size", node.name)));
    }
    let dims: Vec<usize> = q.dims.iter().map(|&d| d as usize).collect();
    let numel: usize = dims.iter().product();
    if numel != qv.len() {
        return Err(conv_err(what, format!("{}: {} values for shape {:?}", node.name, qv.len(), dims)));
    }
    let rank = dims.len().max(1);
    let axis_attr = attr_int(node, "axis").unwrap_or(1);
    let axis = if axis_attr < 0 { axis_attr + rank as i64 } else { axis_attr } as usize;
    let block = attr_int(node, "block_size").unwrap_or(0);

    let mut out = vec![0f32; numel];
    if sv.len() == 1 {
        for (o, &v) in out.iter_mut().zip(&qv) {
            *o = (v - zv[0]) as f32 * sv[0];
        }
    } else {
        if axis >= dims.len() {
            return Err(conv_err(what, format!("{}: axis {axis} out of range", node.name)));
        }
        // Strides of q, and of the scale tensor (same shape but axis dim = ceil(d/block) when blocked,
        // or just [d_axis] for per-axis quantisation).
        let inner: usize = dims[axis + 1..].iter().product();
        let d_axis = dims[axis];
        let outer: usize = dims[..axis].iter().product();
        if block > 0 {
            let b = block as usize;
            let nb = d_axis.div_ceil(b);
            if sv.len() != outer * nb * inner {
                return Err(conv_err(
                    what,
                    format!("{}: {} scales for shape {:?} with block {b}", node.name, sv.len(), dims),
                ));
            }
            for o in 0..outer {
                for a in 0..d_axis {
                    for i in 0..inner {
                        let qi = (o * d_axis + a) * inner + i;
                        let si = (o * nb + a / b) * inner + i;
                        out[qi] = (qv[qi] - zv[si]) as f32 * sv[si];
                    }
                }
            }
        } else {
            if sv.len() != d_axis {
                return Err(conv_err(what, format!("{}: per-axis scale size mismatch", node.name)));
            }
            for o in 0..outer {
                for a in 0..d_axis {
                    for i in 0..inner {
                        let qi = (o * d_axis + a) * inner + i;
                        out[qi] = (qv[qi] - zv[a]) as f32 * sv[a];
                    }
                }
            }
        }
    }
    let raw: Vec<u8> = out.iter().flat_map(|f| f.to_le_bytes()).collect();
    Ok(TensorProto {
        dims: q.dims.clone(),
        data_type: DataType::Float as i32,
        name: node.output[0].clone(),
        raw_data: raw,
        ..Default::default()
    })
}

fn int_values(what: &str, t: &TensorProto) -> Result<Vec<i32>, ModelError> {
    let dt = DataType::try_from(t.data_type)
        .map_err(|_| conv_err(what, format!("{}: unknown data type {}", t.name, t.data_type)))?;
    match dt {
        DataType::Int8 => Ok(if t.raw_data.is_empty() {
            t.int32_data.clone()
        } else {
            t.raw_data.iter().map(|&b| b as i8 as i32).collect()
        }),
        DataType::Uint8 => Ok(if t.raw_data.is_empty() {
            t.int32_data.clone()
        } else {
            t.raw_data.iter().map(|&b| b as i32).collect()
        }),
        other => Err(conv_err(what, format!("{}: quantised type {other:?} not supported", t.name))),
    }
}

fn float_values(what: &str, t: &TensorProto) -> Result<Vec<f32>, ModelError> {
    if t.data_type != DataType::Float as i32 {
        return Err(conv_err(what, format!("{}: scale is not float32", t.name)));
    }
    Ok(if t.raw_data.is_empty() {
        t.float_data.clone()
    } else {
        t.raw_data.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
    })
}

fn int64_values(what: &str, t: &TensorProto) -> Result<Vec<i64>, ModelError> {
    if t.data_type != DataType::Int64 as i32 {
        return Err(conv_err(what, format!("{}: shape is not int64", t.name)));
    }
    Ok(if t.raw_data.is_empty() {
        t.int64_data.clone()
    } else {
        t.raw_data
            .chunks_exact(8)
            .map(|c| i64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
            .collect()
    })
}

/// ONNX Reshape semantics: 0 copies the input dim, -1 is inferred.
fn resolve_shape(what: &str, input: &[i64], shape: &[i64]) -> Result<Vec<i64>, ModelError> {
    let numel: i64 = input.iter().product();
    let mut out: Vec<i64> = shape
        .iter()
        .enumerate()
        .map(|(i, &d)| if d == 0 { input.get(i).copied().unwrap_or(0) } else { d })
        .collect();
    let known: i64 = out.iter().filter(|&&d| d != -1).product();
    if let Some(p) = out.iter().position(|&d| d == -1) {
        if known == 0 || numel % known != 0 {
            return Err(conv_err(what, "cannot infer reshape dimension"));
        }
        out[p] = numel / known;
    }
    if out.iter().product::<i64>() != numel {
        return Err(conv_err(what, format!("reshape {input:?} -> {shape:?} changes size")));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tract_onnx::pb::{AttributeProto, GraphProto, ValueInfoProto};

    fn tensor_i8(name: &str, dims: &[i64], v: &[i8]) -> TensorProto {
        TensorProto {
            name: name.into(),
            dims: dims.to_vec(),
            data_type: DataType::Int8 as i32,
            raw_data: v.iter().map(|&x| x as u8).collect(),
            ..Default::default()
        }
    }
    fn tensor_f32(name: &str, dims: &[i64], v: &[f32]) -> TensorProto {
        TensorProto {
            name: name.into(),
            dims: dims.to_vec(),
            data_type: DataType::Float as i32,
            float_data: v.to_vec(),
            ..Default::default()
        }
    }
    fn int_attr(name: &str, i: i64) -> AttributeProto {
        AttributeProto { name: name.into(), i, r#type: 2, ..Default::default() }
    }

    #[test]
    fn blocked_dequantisation_matches_the_formula() {
        // q: 2x5, axis 1, block 2 -> scales 2x3 (last block cut to length 1).
        let q: Vec<i8> = vec![1, 2, 3, 4, 5, -1, -2, -3, -4, -128];
        let s = vec![0.5, 1.0, 2.0, 0.25, 0.125, 4.0];
        let z: Vec<i8> = vec![0, 1, -1, 0, 2, 3];
        let model = ModelProto {
            graph: Some(GraphProto {
                node: vec![
                    NodeProto {
                        input: vec!["q".into(), "s".into(), "z".into()],
                        output: vec!["w".into()],
                        op_type: "DequantizeLinear".into(),
                        attribute: vec![int_attr("axis", 1), int_attr("block_size", 2)],
                        ..Default::default()
                    },
                    NodeProto {
                        input: vec!["x".into(), "w".into()],
                        output: vec!["y".into()],
                        op_type: "MatMul".into(),
                        ..Default::default()
                    },
                ],
                initializer: vec![
                    tensor_i8("q", &[2, 5], &q),
                    tensor_f32("s", &[2, 3], &s),
                    tensor_i8("z", &[2, 3], &z),
                ],
                input: vec![
                    ValueInfoProto { name: "x".into(), ..Default::default() },
                    ValueInfoProto { name: "unused_weight".into(), ..Default::default() },
                ],
                output: vec![ValueInfoProto { name: "y".into(), ..Default::default() }],
                ..Default::default()
            }),
            ..Default::default()
        };
        let (bytes, report) = dequantize_blocked_int8("test", &model.encode_to_vec()).expect("ok");
        assert_eq!(report.dequantized, 1);
        assert_eq!(report.inputs_dropped, 1);
        let out = ModelProto::decode(bytes.as_slice()).expect("decode");
        let g = out.graph.expect("graph");
        assert_eq!(g.node.len(), 1);
        assert_eq!(g.initializer.len(), 1);
        let w = float_values("t", &g.initializer[0]).expect("floats");
        let expect: Vec<f32> = vec![
            (1.0 - 0.0) * 0.5,
            (2.0 - 0.0) * 0.5,
            (3.0 - 1.0) * 1.0,
            (4.0 - 1.0) * 1.0,
            (5.0 + 1.0) * 2.0,
            (-1.0 - 0.0) * 0.25,
            (-2.0 - 0.0) * 0.25,
            (-3.0 - 2.0) * 0.125,
            (-4.0 - 2.0) * 0.125,
            (-128.0 - 3.0) * 4.0,
        ];
        assert_eq!(w, expect);
    }

    #[test]
    fn garbage_is_a_clear_error() {
        let err = dequantize_blocked_int8("junk", b"\xff\xff\xff not onnx").unwrap_err();
        assert!(err.to_string().contains("junk"));
    }
}
