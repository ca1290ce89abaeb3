//! Identifiers: 24 hexadecimal characters like ComplyCube's (4 bytes of seconds, a 3-byte
//! counter, 5 random bytes), so ids sort by creation time — strictly within one process, even
//! within one millisecond (lists are ordered by creation time, then id); API keys and webhook
//! secrets.

use sha2::{Digest, Sha256};

fn random<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    // The OS random source failing is not recoverable for a server that mints secrets.
    getrandom::fill(&mut b).unwrap_or_else(|e| panic!("the OS random source failed: {e}"));
    b
}

/// Random bytes (tokens).
pub fn random_bytes<const N: usize>() -> [u8; N] {
    random::<N>()
}

/// A random number (jitter, sampling).
pub fn random_u32() -> u32 {
    u32::from_be_bytes(random::<4>())
}

pub fn new_id() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::OnceLock;
    static START: OnceLock<u32> = OnceLock::new();
    static COUNT: AtomicU32 = AtomicU32::new(0);
    // A random start in the lower half of the 24-bit range: 8 million ids before it wraps.
    let start = *START.get_or_init(|| u32::from_be_bytes(random::<4>()) & 0x7f_ffff);
    let n = start.wrapping_add(COUNT.fetch_add(1, Ordering::Relaxed)) & 0xff_ffff;
    let secs = (verity_store::time::now_ms() / 1000) as u32;
    format!("{secs:08x}{n:06x}{}", hex::encode(random::<5>()))
}

/// Whether `s` looks like one of our ids (saves a query on garbage).
pub fn looks_like_id(s: &str) -> bool {
    s.len() == 24 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A new API key: `vk_` + 40 hex characters (160 random bits).
pub fn new_api_key() -> String {
    format!("vk_{}", hex::encode(random::<20>()))
}

/// A webhook signing secret: `whsec_` + 48 hex characters.
pub fn new_webhook_secret() -> String {
    format!("whsec_{}", hex::encode(random::<24>()))
}

/// What is stored for a key: its SHA-256 (keys carry 160 random bits, so a fast hash is enough).
pub fn key_hash(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_made_one_after_another_sort_in_that_order() {
        let ids: Vec<String> = (0..1000).map(|_| new_id()).collect();
        for w in ids.windows(2) {
            // Same second: the counter orders them; a later second sorts after anyway.
            assert!(w[0] < w[1], "{} then {}", w[0], w[1]);
        }
    }

    #[test]
    fn ids_and_keys_have_their_shapes() {
        let a = new_id();
        assert!(looks_like_id(&a), "{a}");
        assert_ne!(a, new_id());
        let k = new_api_key();
        assert!(k.starts_with("vk_") && k.len() == 43);
        assert_eq!(key_hash(&k).len(), 64);
        assert!(!looks_like_id("../../etc/passwd"));
    }
}
