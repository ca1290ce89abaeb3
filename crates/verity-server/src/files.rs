//! Stored files (images, videos, derived crops) through `object_store`: a local directory by
//! default, any S3-compatible bucket by config, in memory in tests.
//!
//! Encrypted at rest with AES-256-GCM in segments, so a file of any size is written and read
//! streaming, holding one 64 KiB segment at a time:
//! `VEF2` ‖ 7-byte random nonce prefix ‖ segment₀ ‖ segment₁ ‖ …, each segment the ciphertext
//! and tag of up to 64 KiB of plaintext, its nonce `prefix ‖ index (u32 BE) ‖ last (0|1)` (the
//! STREAM construction: segments cannot be reordered, dropped or the file truncated without
//! failing authentication), the object key as associated data (a file copied to another key
//! does not decrypt). `VEF1` files (one GCM message) are still read.

use std::path::Path;
use std::sync::Arc;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use futures_util::StreamExt;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, PutPayload};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::config::StorageConfig;

const MAGIC_V1: &[u8; 4] = b"VEF1";
const MAGIC: &[u8; 4] = b"VEF2";
/// Plaintext bytes per segment.
const SEGMENT: usize = 64 * 1024;
const TAG: usize = 16;
const PREFIX: usize = 7;
const HEADER: usize = 4 + PREFIX;

#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("object store: {0}")]
    Store(#[from] object_store::Error),
    #[error("file {0} cannot be decrypted (wrong key, damaged or truncated)")]
    Decrypt(String),
    #[error("cannot set up file storage: {0}")]
    Setup(String),
    #[error("randomness unavailable: {0}")]
    Random(String),
    #[error("local file: {0}")]
    Io(#[from] std::io::Error),
}

/// Where a file lives: tenant, resource, name.
pub fn key(tenant: &str, kind: &str, id: &str, name: &str) -> String {
    format!("{tenant}/{kind}/{id}/{name}")
}

#[derive(Clone)]
pub struct Files {
    store: Arc<dyn ObjectStore>,
    cipher: Aes256Gcm,
    /// Signs short-lived links to files (derived from the file key: every process of one
    /// deployment shares it, and it is never the encryption key itself).
    link_key: String,
}

impl std::fmt::Debug for Files {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Files").field("store", &self.store.to_string()).finish()
    }
}

/// The file key: from config (hex), else `<data_dir>/file.key`, generated on first start.
/// Returns the key and whether it was generated now.
pub fn load_or_create_key(configured: &str, data_dir: &Path) -> Result<([u8; 32], bool), FileError> {
    let parse = |s: &str| -> Option<[u8; 32]> {
        let v = hex::decode(s.trim()).ok()?;
        v.try_into().ok()
    };
    if !configured.is_empty() {
        return parse(configured)
            .map(|k| (k, false))
            .ok_or_else(|| FileError::Setup("storage.encryption_key must be 64 hex characters".into()));
    }
    let path = data_dir.join("file.key");
    if let Ok(text) = std::fs::read_to_string(&path) {
        return parse(&text)
            .map(|k| (k, false))
            .ok_or_else(|| FileError::Setup(format!("{} is not 64 hex characters", path.display())));
    }
    let mut k = [0u8; 32];
    getrandom::fill(&mut k).map_err(|e| FileError::Random(e.to_string()))?;
    std::fs::create_dir_all(data_dir).map_err(|e| FileError::Setup(e.to_string()))?;
    let tmp = data_dir.join("file.key.partial");
    std::fs::write(&tmp, hex::encode(k)).map_err(|e| FileError::Setup(e.to_string()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600));
    }
    std::fs::rename(&tmp, &path).map_err(|e| FileError::Setup(e.to_string()))?;
    Ok((k, true))
}

fn nonce(prefix: &[u8; PREFIX], index: u32, last: bool) -> [u8; 12] {
    let mut n = [0u8; 12];
    n[..PREFIX].copy_from_slice(prefix);
    n[PREFIX..PREFIX + 4].copy_from_slice(&index.to_be_bytes());
    n[11] = u8::from(last);
    n
}

/// Encrypts a stream of plaintext chunks into the `VEF2` format, one segment at a time.
struct Sealer<'a> {
    cipher: &'a Aes256Gcm,
    aad: &'a [u8],
    prefix: [u8; PREFIX],
    index: u32,
    pending: Vec<u8>,
    out: Vec<u8>,
}

impl<'a> Sealer<'a> {
    fn new(cipher: &'a Aes256Gcm, aad: &'a [u8]) -> Result<Self, FileError> {
        let mut prefix = [0u8; PREFIX];
        getrandom::fill(&mut prefix).map_err(|e| FileError::Random(e.to_string()))?;
        let mut out = Vec::with_capacity(HEADER + SEGMENT + TAG);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&prefix);
        Ok(Self { cipher, aad, prefix, index: 0, pending: Vec::with_capacity(SEGMENT), out })
    }

    fn seal(&mut self, last: bool) -> Result<(), FileError> {
        let n = nonce(&self.prefix, self.index, last);
        let ct = self
            .cipher
            .encrypt(Nonce::from_slice(&n), Payload { msg: &self.pending, aad: self.aad })
            .map_err(|_| FileError::Decrypt("encryption failed".into()))?;
        self.out.extend_from_slice(&ct);
        self.pending.clear();
        self.index = self
            .index
            .checked_add(1)
            .ok_or_else(|| FileError::Setup("file too large for one object (256 TiB)".into()))?;
        Ok(())
    }

    /// Adds plaintext; returns the ciphertext ready to be written (may be empty). A full segment
    /// is sealed only when more plaintext follows, so the last one carries the `last` flag.
    fn push(&mut self, mut data: &[u8]) -> Result<Vec<u8>, FileError> {
        while !data.is_empty() {
            if self.pending.len() == SEGMENT {
                self.seal(false)?;
            }
            let take = (SEGMENT - self.pending.len()).min(data.len());
            self.pending.extend_from_slice(&data[..take]);
            data = &data[take..];
        }
        Ok(std::mem::take(&mut self.out))
    }

    fn finish(mut self) -> Result<Vec<u8>, FileError> {
        self.seal(true)?;
        Ok(self.out)
    }
}

/// Decrypts a `VEF2` byte stream chunk by chunk; holds back one segment until it knows whether
/// it is the last.
struct Opener<'a> {
    cipher: &'a Aes256Gcm,
    key: &'a str,
    prefix: Option<[u8; PREFIX]>,
    index: u32,
    buf: Vec<u8>,
}

impl<'a> Opener<'a> {
    fn new(cipher: &'a Aes256Gcm, key: &'a str) -> Self {
        Self { cipher, key, prefix: None, index: 0, buf: Vec::new() }
    }

    fn err(&self) -> FileError {
        FileError::Decrypt(self.key.to_string())
    }

    fn open(&mut self, len: usize, last: bool) -> Result<Vec<u8>, FileError> {
        let prefix = self.prefix.ok_or_else(|| self.err())?;
        let n = nonce(&prefix, self.index, last);
        let pt = self
            .cipher
            .decrypt(Nonce::from_slice(&n), Payload { msg: &self.buf[..len], aad: self.key.as_bytes() })
            .map_err(|_| self.err())?;
        self.buf.drain(..len);
        self.index = self.index.wrapping_add(1);
        Ok(pt)
    }

    fn push(&mut self, data: &[u8]) -> Result<Vec<u8>, FileError> {
        self.buf.extend_from_slice(data);
        if self.prefix.is_none() {
            if self.buf.len() < HEADER {
                return Ok(Vec::new());
            }
            if &self.buf[..4] != MAGIC {
                return Err(self.err());
            }
            let mut p = [0u8; PREFIX];
            p.copy_from_slice(&self.buf[4..HEADER]);
            self.prefix = Some(p);
            self.buf.drain(..HEADER);
        }
        let mut out = Vec::new();
        while self.buf.len() > SEGMENT + TAG {
            out.extend_from_slice(&self.open(SEGMENT + TAG, false)?);
        }
        Ok(out)
    }

    fn finish(mut self) -> Result<Vec<u8>, FileError> {
        if self.prefix.is_none() || self.buf.len() < TAG {
            return Err(self.err());
        }
        let len = self.buf.len();
        self.open(len, true)
    }
}

impl Files {
    pub fn new(store: Arc<dyn ObjectStore>, key: [u8; 32]) -> Self {
        use sha2::Digest;
        let mut h = sha2::Sha256::new();
        h.update(b"verity file links v1:");
        h.update(key);
        Self { store, cipher: Aes256Gcm::new(&key.into()), link_key: hex::encode(h.finalize()) }
    }

    /// The signature of a file link's `what` (path and expiry).
    pub fn sign_link(&self, what: &str) -> String {
        crate::events::sign(&self.link_key, what.as_bytes())
    }

    /// Files under `dir` on the local disk.
    pub fn local(dir: &Path, key: [u8; 32]) -> Result<Self, FileError> {
        std::fs::create_dir_all(dir).map_err(|e| FileError::Setup(format!("{}: {e}", dir.display())))?;
        let fs = object_store::local::LocalFileSystem::new_with_prefix(dir)?;
        Ok(Self::new(Arc::new(fs), key))
    }

    pub fn in_memory(key: [u8; 32]) -> Self {
        Self::new(Arc::new(object_store::memory::InMemory::new()), key)
    }

    /// An S3-compatible bucket (AWS, MinIO, Ceph, R2, …). Unset credentials and region come
    /// from the usual `AWS_*` environment variables.
    pub fn s3(cfg: &crate::config::S3Config, key: [u8; 32]) -> Result<Self, FileError> {
        use object_store::aws::AmazonS3Builder;
        if cfg.bucket.is_empty() {
            return Err(FileError::Setup(
                "storage.s3.bucket is required when storage.backend = \"s3\"".into(),
            ));
        }
        let mut b = AmazonS3Builder::from_env().with_bucket_name(&cfg.bucket);
        if !cfg.region.is_empty() {
            b = b.with_region(&cfg.region);
        }
        if !cfg.endpoint.is_empty() {
            b = b
                .with_endpoint(&cfg.endpoint)
                .with_virtual_hosted_style_request(false)
                .with_allow_http(cfg.endpoint.starts_with("http://"));
        }
        if !cfg.access_key_id.is_empty() {
            b = b.with_access_key_id(&cfg.access_key_id);
        }
        if !cfg.secret_access_key.0.is_empty() {
            b = b.with_secret_access_key(&cfg.secret_access_key.0);
        }
        let s3 = b.build().map_err(|e| FileError::Setup(format!("S3: {e}")))?;
        let store: Arc<dyn ObjectStore> = if cfg.prefix.trim_matches('/').is_empty() {
            Arc::new(s3)
        } else {
            Arc::new(object_store::prefix::PrefixStore::new(s3, cfg.prefix.trim_matches('/')))
        };
        Ok(Self::new(store, key))
    }

    /// The configured backend: the local directory `<data_dir>/files` or S3.
    pub fn from_config(cfg: &StorageConfig, data_dir: &Path, key: [u8; 32]) -> Result<Self, FileError> {
        match cfg.backend.as_str() {
            "local" => Self::local(&data_dir.join("files"), key),
            "s3" => Self::s3(&cfg.s3, key),
            other => Err(FileError::Setup(format!("storage.backend must be local or s3, not {other:?}"))),
        }
    }

    /// Writes, reads back and deletes a small object: start-up fails with the store's own
    /// message (no bucket, bad credentials, unreachable endpoint) instead of at the first upload.
    pub async fn probe(&self) -> Result<(), FileError> {
        let k = ".verity-probe";
        self.put(k, b"probe").await?;
        let back = self.get(k).await?;
        self.delete(k).await?;
        if back != b"probe" {
            return Err(FileError::Setup("the file store returned different bytes".into()));
        }
        Ok(())
    }

    /// Stores `data` encrypted (one request; images and other small files).
    pub async fn put(&self, key: &str, data: &[u8]) -> Result<(), FileError> {
        let mut s = Sealer::new(&self.cipher, key.as_bytes())?;
        let mut out = s.push(data)?;
        out.extend_from_slice(&s.finish()?);
        self.store.put(&ObjectPath::from(key), PutPayload::from(out)).await?;
        Ok(())
    }

    /// Stores a local file encrypted, streaming: one segment in memory plus the upload buffer
    /// (multipart uploads of 5 MiB parts on S3).
    pub async fn put_file(&self, key: &str, path: &Path) -> Result<(), FileError> {
        let mut input = tokio::fs::File::open(path).await?;
        let mut w = object_store::buffered::BufWriter::with_capacity(
            self.store.clone(),
            ObjectPath::from(key),
            5 << 20,
        );
        let result = async {
            let mut s = Sealer::new(&self.cipher, key.as_bytes())?;
            let mut buf = vec![0u8; SEGMENT];
            loop {
                let n = input.read(&mut buf).await?;
                if n == 0 {
                    break;
                }
                let out = s.push(&buf[..n])?;
                w.write_all(&out).await?;
            }
            w.write_all(&s.finish()?).await?;
            w.shutdown().await?;
            Ok::<(), FileError>(())
        }
        .await;
        if result.is_err() {
            let _ = w.abort().await;
        }
        result
    }

    /// Streams the decrypted file to `sink` (a segment at a time).
    async fn read_into(&self, key: &str, mut sink: Sink<'_>) -> Result<(), FileError> {
        let mut stream = self.store.get(&ObjectPath::from(key)).await?.into_stream();
        let first = match stream.next().await {
            Some(chunk) => chunk?,
            None => return Err(FileError::Decrypt(key.to_string())),
        };
        if first.starts_with(MAGIC_V1) {
            let mut all = first.to_vec();
            while let Some(chunk) = stream.next().await {
                all.extend_from_slice(&chunk?);
            }
            if all.len() < 16 + TAG {
                return Err(FileError::Decrypt(key.to_string()));
            }
            let pt = self
                .cipher
                .decrypt(Nonce::from_slice(&all[4..16]), Payload { msg: &all[16..], aad: key.as_bytes() })
                .map_err(|_| FileError::Decrypt(key.to_string()))?;
            return sink.write(&pt).await;
        }
        let mut o = Opener::new(&self.cipher, key);
        let pt = o.push(&first)?;
        sink.write(&pt).await?;
        while let Some(chunk) = stream.next().await {
            let pt = o.push(&chunk?)?;
            sink.write(&pt).await?;
        }
        sink.write(&o.finish()?).await
    }

    pub async fn get(&self, key: &str) -> Result<Vec<u8>, FileError> {
        let mut out = Vec::new();
        self.read_into(key, Sink::Memory(&mut out)).await?;
        Ok(out)
    }

    /// Decrypts a stored file into a local file, streaming (videos for ffmpeg).
    pub async fn get_to_file(&self, key: &str, path: &Path) -> Result<(), FileError> {
        let mut f = tokio::fs::File::create(path).await?;
        self.read_into(key, Sink::File(&mut f)).await?;
        f.flush().await?;
        Ok(())
    }

    pub async fn delete(&self, key: &str) -> Result<(), FileError> {
        match self.store.delete(&ObjectPath::from(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

/// Where decrypted bytes go.
enum Sink<'a> {
    Memory(&'a mut Vec<u8>),
    File(&'a mut tokio::fs::File),
}

impl Sink<'_> {
    async fn write(&mut self, data: &[u8]) -> Result<(), FileError> {
        match self {
            Sink::Memory(v) => v.extend_from_slice(data),
            Sink::File(f) => f.write_all(data).await?,
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn files_are_encrypted_at_rest_and_bound_to_their_key() {
        let dir = tempfile::tempdir().expect("tmp");
        let (k, created) = load_or_create_key("", dir.path()).expect("key");
        assert!(created);
        assert_eq!(load_or_create_key("", dir.path()).expect("again").0, k, "reused");
        let files = Files::local(&dir.path().join("files"), k).expect("files");
        let secret = b"a passport scan, very personal".repeat(10);
        files.put("t/doc/1/front", &secret).await.expect("put");
        assert_eq!(files.get("t/doc/1/front").await.expect("get"), secret);
        // On disk: no plaintext.
        let raw = std::fs::read(dir.path().join("files/t/doc/1/front")).expect("on disk");
        assert!(!raw.windows(8).any(|w| w == b"passport"));
        // Another key, or the same bytes under another name, do not decrypt.
        let other = Files::local(&dir.path().join("files"), [7u8; 32]).expect("files");
        assert!(other.get("t/doc/1/front").await.is_err());
        std::fs::copy(dir.path().join("files/t/doc/1/front"), dir.path().join("files/t/doc/1/back"))
            .expect("copy");
        assert!(files.get("t/doc/1/back").await.is_err());
        files.delete("t/doc/1/front").await.expect("delete");
        files.delete("t/doc/1/front").await.expect("delete twice is fine");
        assert!(files.get("t/doc/1/front").await.is_err());
    }

    fn pattern(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i.wrapping_mul(31) ^ (i >> 8)) as u8).collect()
    }

    #[tokio::test]
    async fn segment_boundaries_round_trip_and_truncation_is_detected() {
        let files = Files::in_memory([3u8; 32]);
        for n in [0, 1, SEGMENT - 1, SEGMENT, SEGMENT + 1, 2 * SEGMENT, 3 * SEGMENT + 17] {
            let data = pattern(n);
            files.put("t/x/1/f", &data).await.expect("put");
            assert_eq!(files.get("t/x/1/f").await.expect("get"), data, "{n} bytes");
            let stored =
                files.store.get(&ObjectPath::from("t/x/1/f")).await.expect("raw").bytes().await.expect("b");
            let segments = n / SEGMENT + usize::from(n % SEGMENT != 0 || n == 0);
            assert_eq!(stored.len(), HEADER + n + segments * TAG, "{n} bytes: one tag per segment");
            if n > SEGMENT {
                // Dropping the last segment, or one byte, or swapping two segments fails.
                for cut in [stored.slice(..HEADER + SEGMENT + TAG), stored.slice(..stored.len() - 1)] {
                    files
                        .store
                        .put(&ObjectPath::from("t/x/1/cut"), PutPayload::from(cut))
                        .await
                        .expect("put");
                    assert!(files.get("t/x/1/cut").await.is_err(), "{n} bytes truncated");
                }
            }
            if n > 2 * SEGMENT {
                let mut swapped = stored[..HEADER].to_vec();
                swapped.extend_from_slice(&stored[HEADER + SEGMENT + TAG..HEADER + 2 * (SEGMENT + TAG)]);
                swapped.extend_from_slice(&stored[HEADER..HEADER + SEGMENT + TAG]);
                swapped.extend_from_slice(&stored[HEADER + 2 * (SEGMENT + TAG)..]);
                files
                    .store
                    .put(&ObjectPath::from("t/x/1/cut"), PutPayload::from(swapped))
                    .await
                    .expect("put");
                assert!(files.get("t/x/1/cut").await.is_err(), "{n} bytes reordered");
            }
        }
    }

    #[tokio::test]
    async fn large_files_stream_through_local_files() {
        let dir = tempfile::tempdir().expect("tmp");
        let files = Files::local(&dir.path().join("files"), [9u8; 32]).expect("files");
        let data = pattern(7 * SEGMENT + 1234);
        let src = dir.path().join("in.bin");
        std::fs::write(&src, &data).expect("write");
        files.put_file("t/v/1/video", &src).await.expect("put_file");
        let out = dir.path().join("out.bin");
        files.get_to_file("t/v/1/video", &out).await.expect("get_to_file");
        assert_eq!(std::fs::read(&out).expect("read"), data);
        assert_eq!(files.get("t/v/1/video").await.expect("get"), data);
        let missing = files.put_file("t/v/2/video", &dir.path().join("nope")).await;
        assert!(matches!(missing, Err(FileError::Io(_))));
    }

    #[tokio::test]
    async fn version_1_files_are_still_read() {
        let files = Files::in_memory([5u8; 32]);
        let nonce = [1u8; 12];
        let ct = files
            .cipher
            .encrypt(Nonce::from_slice(&nonce), Payload { msg: b"old file", aad: b"t/a/1/f" })
            .expect("enc");
        let mut raw = MAGIC_V1.to_vec();
        raw.extend_from_slice(&nonce);
        raw.extend_from_slice(&ct);
        files.store.put(&ObjectPath::from("t/a/1/f"), PutPayload::from(raw)).await.expect("put");
        assert_eq!(files.get("t/a/1/f").await.expect("get"), b"old file");
    }

    /// Against a real S3-compatible server when `VERITY_TEST_S3_URL` is set (`scripts/test`
    /// starts one): bucket `verity-test`, any credentials.
    #[tokio::test]
    async fn s3_backend_round_trip() {
        let Ok(url) = std::env::var("VERITY_TEST_S3_URL") else {
            eprintln!("VERITY_TEST_S3_URL not set: S3 round trip not run (scripts/test sets it)");
            return;
        };
        let cfg = crate::config::S3Config {
            bucket: "verity-test".into(),
            prefix: "run-1".into(),
            region: "us-east-1".into(),
            endpoint: url,
            access_key_id: "test".into(),
            secret_access_key: crate::config::Secret("test".into()),
        };
        let files = Files::s3(&cfg, [4u8; 32]).expect("s3");
        files.probe().await.expect("probe");
        let dir = tempfile::tempdir().expect("tmp");
        // Large enough for a multipart upload (parts of 5 MiB).
        let data = pattern(12 << 20);
        let src = dir.path().join("in.bin");
        std::fs::write(&src, &data).expect("write");
        files.put_file("t/v/1/video", &src).await.expect("put_file");
        let out = dir.path().join("out.bin");
        files.get_to_file("t/v/1/video", &out).await.expect("get_to_file");
        assert!(std::fs::read(&out).expect("read") == data, "12 MiB round trip");
        files.put("t/p/1/photo", b"small").await.expect("put");
        assert_eq!(files.get("t/p/1/photo").await.expect("get"), b"small");
        files.delete("t/v/1/video").await.expect("delete");
        files.delete("t/p/1/photo").await.expect("delete");
        assert!(files.get("t/v/1/video").await.is_err());
        let nobucket =
            Files::s3(&crate::config::S3Config { bucket: "no-such-bucket".into(), ..cfg }, [4u8; 32])
                .expect("built");
        assert!(nobucket.probe().await.is_err(), "a missing bucket fails the start-up probe");
    }
}
