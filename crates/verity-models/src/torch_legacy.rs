//! Reading PyTorch state dicts saved in the legacy (pre-1.6, non-zip) `torch.save` format, with
//! a restricted pickle machine: no code runs, and only the globals a state dict needs are
//! recognised (`collections.OrderedDict`, `torch._utils._rebuild_tensor_v2`, storage types).
//!
//! Layout of such a file: five pickles — magic number, protocol version, system info, the
//! object (tensors refer to storages by persistent id), the list of storage keys — then, for
//! each key in that order, an 8-byte little-endian element count and the raw elements.

use std::collections::HashMap;

use crate::ModelError;

/// A tensor of a state dict, as f32 (float storages only; integer buffers such as
/// `num_batches_tracked` are skipped).
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

const MAGIC: u128 = 0x1950a86a20f9469cfc6c;

fn err(detail: impl Into<String>) -> ModelError {
    ModelError::Conversion { what: "PyTorch state dict".into(), detail: detail.into() }
}

#[derive(Debug, Clone, PartialEq)]
enum Value {
    None,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str(String),
    Tuple(Vec<Value>),
    List(Vec<Value>),
    Dict(Vec<(Value, Value)>),
    Global(String),
    /// A storage reference: (storage type, key).
    Storage(String, String),
    /// A tensor view of a storage: key, offset, shape, stride.
    TensorRef {
        key: String,
        offset: usize,
        shape: Vec<usize>,
        stride: Vec<usize>,
    },
    Mark,
}

const ALLOWED_GLOBALS: &[&str] = &[
    "collections OrderedDict",
    "torch._utils _rebuild_tensor_v2",
    "torch FloatStorage",
    "torch LongStorage",
    "torch IntStorage",
    "torch DoubleStorage",
    "torch HalfStorage",
];

struct Reader<'a> {
    b: &'a [u8],
    pos: usize,
    /// Storage type of every storage key seen in a persistent id.
    storage_types: HashMap<String, String>,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], ModelError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.b.len())
            .ok_or_else(|| err("unexpected end of file"))?;
        let s = &self.b[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8, ModelError> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, ModelError> {
        let s = self.take(2)?;
        Ok(u16::from_le_bytes([s[0], s[1]]))
    }
    fn u32(&mut self) -> Result<u32, ModelError> {
        let s = self.take(4)?;
        Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
    }
    fn line(&mut self) -> Result<String, ModelError> {
        let start = self.pos;
        while self.pos < self.b.len() && self.b[self.pos] != b'\n' {
            self.pos += 1;
        }
        let s = String::from_utf8_lossy(&self.b[start..self.pos]).to_string();
        self.pos += 1;
        Ok(s)
    }

    /// Runs one pickle to its STOP and returns the value left on the stack.
    fn pickle(&mut self) -> Result<Value, ModelError> {
        let mut stack: Vec<Value> = Vec::new();
        let mut memo: HashMap<u32, Value> = HashMap::new();
        let pop = |stack: &mut Vec<Value>| stack.pop().ok_or_else(|| err("pickle stack underflow"));
        let pop_mark = |stack: &mut Vec<Value>| -> Result<Vec<Value>, ModelError> {
            let at =
                stack.iter().rposition(|v| *v == Value::Mark).ok_or_else(|| err("pickle mark missing"))?;
            let items = stack.split_off(at + 1);
            stack.pop();
            Ok(items)
        };
        loop {
            let op = self.u8()?;
            match op {
                0x80 => {
                    self.u8()?; // PROTO
                }
                0x95 => {
                    self.take(8)?; // FRAME
                }
                b'.' => return pop(&mut stack), // STOP
                b'(' => stack.push(Value::Mark),
                b'N' => stack.push(Value::None),
                0x88 => stack.push(Value::Bool(true)),
                0x89 => stack.push(Value::Bool(false)),
                b'J' => stack.push(Value::Int(self.u32()? as i32 as i128)),
                b'K' => stack.push(Value::Int(self.u8()? as i128)),
                b'M' => stack.push(Value::Int(self.u16()? as i128)),
                0x8a => {
                    // LONG1: little-endian two's complement of n bytes.
                    let n = self.u8()? as usize;
                    let bytes = self.take(n)?;
                    if n > 16 {
                        return Err(err("integer too large"));
                    }
                    let mut v: i128 = 0;
                    for (i, &byte) in bytes.iter().enumerate() {
                        v |= (byte as i128) << (8 * i);
                    }
                    if n > 0 && n < 16 && bytes[n - 1] & 0x80 != 0 {
                        v -= 1i128 << (8 * n);
                    }
                    stack.push(Value::Int(v));
                }
                b'G' => {
                    let s = self.take(8)?;
                    stack.push(Value::Float(f64::from_be_bytes(s.try_into().map_err(|_| err("float"))?)));
                }
                b'X' => {
                    let n = self.u32()? as usize;
                    let s = self.take(n)?;
                    stack.push(Value::Str(String::from_utf8_lossy(s).to_string()));
                }
                0x8c => {
                    let n = self.u8()? as usize;
                    let s = self.take(n)?;
                    stack.push(Value::Str(String::from_utf8_lossy(s).to_string()));
                }
                b'c' => {
                    let module = self.line()?;
                    let name = self.line()?;
                    let g = format!("{module} {name}");
                    if !ALLOWED_GLOBALS.contains(&g.as_str()) {
                        return Err(err(format!("refusing pickle global {g:?} (not a plain state dict)")));
                    }
                    stack.push(Value::Global(g));
                }
                b'q' => {
                    let k = self.u8()? as u32;
                    memo.insert(k, stack.last().cloned().ok_or_else(|| err("memo of empty stack"))?);
                }
                b'r' => {
                    let k = self.u32()?;
                    memo.insert(k, stack.last().cloned().ok_or_else(|| err("memo of empty stack"))?);
                }
                0x94 => {
                    let k = memo.len() as u32;
                    memo.insert(k, stack.last().cloned().ok_or_else(|| err("memo of empty stack"))?);
                }
                b'h' => {
                    let k = self.u8()? as u32;
                    stack.push(memo.get(&k).cloned().ok_or_else(|| err("unknown memo key"))?);
                }
                b'j' => {
                    let k = self.u32()?;
                    stack.push(memo.get(&k).cloned().ok_or_else(|| err("unknown memo key"))?);
                }
                b')' => stack.push(Value::Tuple(Vec::new())),
                b']' => stack.push(Value::List(Vec::new())),
                b'}' => stack.push(Value::Dict(Vec::new())),
                b't' => {
                    let items = pop_mark(&mut stack)?;
                    stack.push(Value::Tuple(items));
                }
                0x85 => {
                    let a = pop(&mut stack)?;
                    stack.push(Value::Tuple(vec![a]));
                }
                0x86 => {
                    let b = pop(&mut stack)?;
                    let a = pop(&mut stack)?;
                    stack.push(Value::Tuple(vec![a, b]));
                }
                0x87 => {
                    let c = pop(&mut stack)?;
                    let b = pop(&mut stack)?;
                    let a = pop(&mut stack)?;
                    stack.push(Value::Tuple(vec![a, b, c]));
                }
                b'a' => {
                    let v = pop(&mut stack)?;
                    match stack.last_mut() {
                        Some(Value::List(l)) => l.push(v),
                        _ => return Err(err("APPEND to a non-list")),
                    }
                }
                b'e' => {
                    let items = pop_mark(&mut stack)?;
                    match stack.last_mut() {
                        Some(Value::List(l)) => l.extend(items),
                        _ => return Err(err("APPENDS to a non-list")),
                    }
                }
                b's' => {
                    let v = pop(&mut stack)?;
                    let k = pop(&mut stack)?;
                    match stack.last_mut() {
                        Some(Value::Dict(d)) => d.push((k, v)),
                        _ => return Err(err("SETITEM on a non-dict")),
                    }
                }
                b'u' => {
                    let items = pop_mark(&mut stack)?;
                    let Some(Value::Dict(d)) = stack.last_mut() else {
                        return Err(err("SETITEMS on a non-dict"));
                    };
                    let mut it = items.into_iter();
                    while let (Some(k), Some(v)) = (it.next(), it.next()) {
                        d.push((k, v));
                    }
                }
                b'Q' => {
                    // BINPERSID: ('storage', type, key, location, numel[, view])
                    let pid = pop(&mut stack)?;
                    match pid {
                        Value::Tuple(t) if t.len() >= 5 => match (&t[1], &t[2]) {
                            (Value::Global(g), Value::Str(key)) => {
                                self.storage_types.insert(key.clone(), g.clone());
                                stack.push(Value::Storage(g.clone(), key.clone()))
                            }
                            _ => return Err(err("unexpected persistent id")),
                        },
                        _ => return Err(err("unexpected persistent id")),
                    }
                }
                b'R' => {
                    let args = pop(&mut stack)?;
                    let f = pop(&mut stack)?;
                    stack.push(reduce(f, args)?);
                }
                b'b' => {
                    // BUILD: state on an object; state dicts carry `_metadata` this way. Ignored.
                    pop(&mut stack)?;
                }
                other => return Err(err(format!("unsupported pickle opcode 0x{other:02x}"))),
            }
        }
    }
}

fn reduce(f: Value, args: Value) -> Result<Value, ModelError> {
    let Value::Global(g) = f else { return Err(err("REDUCE of a non-callable")) };
    let Value::Tuple(a) = args else { return Err(err("REDUCE arguments are not a tuple")) };
    match g.as_str() {
        "collections OrderedDict" => Ok(Value::Dict(Vec::new())),
        "torch._utils _rebuild_tensor_v2" => {
            let ints = |v: &Value| -> Result<Vec<usize>, ModelError> {
                match v {
                    Value::Tuple(t) => t
                        .iter()
                        .map(|x| match x {
                            Value::Int(i) if *i >= 0 => Ok(*i as usize),
                            _ => Err(err("bad tensor dimension")),
                        })
                        .collect(),
                    _ => Err(err("bad tensor shape")),
                }
            };
            match (a.first(), a.get(1), a.get(2), a.get(3)) {
                (Some(Value::Storage(_, key)), Some(Value::Int(off)), Some(size), Some(stride)) => {
                    Ok(Value::TensorRef {
                        key: key.clone(),
                        offset: *off as usize,
                        shape: ints(size)?,
                        stride: ints(stride)?,
                    })
                }
                _ => Err(err("bad _rebuild_tensor_v2 arguments")),
            }
        }
        other => Err(err(format!("refusing to call {other:?}"))),
    }
}

fn element_size(storage_type: &str) -> Result<usize, ModelError> {
    Ok(match storage_type {
        "torch FloatStorage" | "torch IntStorage" => 4,
        "torch LongStorage" | "torch DoubleStorage" => 8,
        "torch HalfStorage" => 2,
        other => return Err(err(format!("unsupported storage {other}"))),
    })
}

/// Reads a legacy-format state dict: (name, tensor) in file order, float tensors only.
pub fn load_state_dict(bytes: &[u8]) -> Result<Vec<(String, Tensor)>, ModelError> {
    let mut r = Reader { b: bytes, pos: 0, storage_types: HashMap::new() };
    match r.pickle()? {
        Value::Int(m) if m as u128 == MAGIC => {}
        _ => return Err(err("not a legacy torch.save file (bad magic number)")),
    }
    match r.pickle()? {
        Value::Int(1001) => {}
        other => return Err(err(format!("unsupported protocol version {other:?}"))),
    }
    let _sys_info = r.pickle()?;
    let obj = r.pickle()?;
    let keys = match r.pickle()? {
        Value::List(k) => k,
        _ => return Err(err("storage key list missing")),
    };
    let Value::Dict(entries) = obj else { return Err(err("the object is not a state dict")) };

    let mut storages: HashMap<String, Vec<f32>> = HashMap::new();
    for k in &keys {
        let Value::Str(key) = k else { return Err(err("storage key is not a string")) };
        let n = u64::from_le_bytes(r.take(8)?.try_into().map_err(|_| err("count"))?) as usize;
        let storage_type =
            r.storage_types.get(key).cloned().ok_or_else(|| err(format!("storage {key} has no type")))?;
        let size = element_size(&storage_type)?;
        let raw = r.take(n.checked_mul(size).ok_or_else(|| err("storage too large"))?)?;
        if storage_type == "torch FloatStorage" {
            storages.insert(
                key.clone(),
                raw.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect(),
            );
        }
    }
    let mut out = Vec::new();
    for (k, v) in entries {
        let (Value::Str(name), Value::TensorRef { key, offset, shape, stride }) = (k, v) else { continue };
        let Some(storage) = storages.get(&key) else { continue };
        let numel: usize = shape.iter().product();
        let mut data = Vec::with_capacity(numel);
        // Gather by strides (state dicts are contiguous, but do not assume it).
        let mut idx = vec![0usize; shape.len()];
        for _ in 0..numel {
            let at = offset + idx.iter().zip(&stride).map(|(i, s)| i * s).sum::<usize>();
            data.push(*storage.get(at).ok_or_else(|| err(format!("{name}: index out of its storage")))?);
            for d in (0..shape.len()).rev() {
                idx[d] += 1;
                if idx[d] < shape[d] {
                    break;
                }
                idx[d] = 0;
            }
        }
        out.push((name, Tensor { shape, data }));
    }
    Ok(out)
}
