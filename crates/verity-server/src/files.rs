//! Stored files (images, videos) through `object_store`: a local directory by default, in memory
//! in tests. Encrypted at rest with AES-256-GCM: `VEF1` ‖ 12-byte random nonce ‖ ciphertext ‖
//! tag, the object key as associated data (a file copied to another key does not decrypt).

use std::path::Path;
use std::sync::Arc;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, PutPayload};

const MAGIC: &[u8; 4] = b"VEF1";

#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("object store: {0}")]
    Store(#[from] object_store::Error),
    #[error("file {0} cannot be decrypted (wrong key or damaged)")]
    Decrypt(String),
    #[error("cannot set up file storage: {0}")]
    Setup(String),
    #[error("randomness unavailable: {0}")]
    Random(String),
}

/// Where a file lives: tenant, resource, name.
pub fn key(tenant: &str, kind: &str, id: &str, name: &str) -> String {
    format!("{tenant}/{kind}/{id}/{name}")
}

#[derive(Clone)]
pub struct Files {
    store: Arc<dyn ObjectStore>,
    cipher: Aes256Gcm,
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

impl Files {
    pub fn new(store: Arc<dyn ObjectStore>, key: [u8; 32]) -> Self {
        Self { store, cipher: Aes256Gcm::new(&key.into()) }
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

    pub async fn put(&self, key: &str, data: &[u8]) -> Result<(), FileError> {
        let mut nonce = [0u8; 12];
        getrandom::fill(&mut nonce).map_err(|e| FileError::Random(e.to_string()))?;
        let ct = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), Payload { msg: data, aad: key.as_bytes() })
            .map_err(|_| FileError::Decrypt(key.to_string()))?;
        let mut out = Vec::with_capacity(4 + 12 + ct.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        self.store.put(&ObjectPath::from(key), PutPayload::from(out)).await?;
        Ok(())
    }

    pub async fn get(&self, key: &str) -> Result<Vec<u8>, FileError> {
        let bytes = self.store.get(&ObjectPath::from(key)).await?.bytes().await?;
        if bytes.len() < 16 + 16 || &bytes[..4] != MAGIC {
            return Err(FileError::Decrypt(key.to_string()));
        }
        self.cipher
            .decrypt(Nonce::from_slice(&bytes[4..16]), Payload { msg: &bytes[16..], aad: key.as_bytes() })
            .map_err(|_| FileError::Decrypt(key.to_string()))
    }

    pub async fn delete(&self, key: &str) -> Result<(), FileError> {
        match self.store.delete(&ObjectPath::from(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
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
}
