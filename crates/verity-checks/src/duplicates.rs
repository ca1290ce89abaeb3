//! Duplicate detection within a tenant: the same face under another identity (a 1:N search over
//! the faces of earlier verifications, exact: a scan of unit vectors), the same document
//! number under another face or name, and the same image sent again (exact hash, or a
//! perceptual hash a few bits away) with the rest of the submission different.
//!
//! The [`Gallery`] is an in-memory snapshot of the tenant's earlier verifications
//! ([`Fingerprint`]s); keeping it in step with storage is the caller's. Nothing here knows SQL.

use serde::{Deserialize, Serialize};
use verity_face::Embedding;

/// SFace's embedding size.
pub const DIM: usize = 128;

/// The cosine similarity at and above which two faces of the gallery are taken for the same
/// person. Stricter than 1:1 (0.325): a search compares a face with every stored one, so the
/// chance of a false match grows with the gallery (`docs/verify.md`, measured with
/// `examples/duplicate_threshold.rs`).
pub const ONE_TO_N_THRESHOLD: f32 = 0.55;

/// How many bits two perceptual hashes may differ by and still be the same picture (a
/// recompressed or slightly resized copy moves a few bits; another photo about half of 64).
pub const DHASH_MAX_BITS: u32 = 4;

/// Who a verification says the holder is (any part may be unknown).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// Declared country and document number (`MA:AE123456`).
    pub document: Option<String>,
    /// `LAST|FIRST|YYYY-MM-DD` ([`Identity::person_key`]).
    pub person: Option<String>,
}

impl Identity {
    /// The person key of a name and birth date: the surname and the first given name in the
    /// MRZ's alphabet (`Müller` and `MUELLER` agree; a second given name printed on one side
    /// only does not matter), and the date (`YYYY-MM-DD`). `None` when a part is missing.
    pub fn person_key(last: &str, given: &str, birth_date: &str) -> Option<String> {
        let last = verity_mrz::translit::to_mrz(last);
        let first = verity_mrz::translit::to_mrz(given).split(' ').next().unwrap_or("").to_string();
        let date = birth_date.trim();
        (!last.is_empty() && !first.is_empty() && date.len() == 10).then(|| format!("{last}|{first}|{date}"))
    }

    /// Whether the two certainly name different people (a part known on both sides differs).
    pub fn differs(&self, other: &Identity) -> bool {
        let differ = |a: &Option<String>, b: &Option<String>| matches!((a, b), (Some(a), Some(b)) if a != b);
        differ(&self.document, &other.document) || differ(&self.person, &other.person)
    }

    /// Whether nothing is known.
    pub fn is_unknown(&self) -> bool {
        self.document.is_none() && self.person.is_none()
    }
}

/// An image's exact and perceptual hashes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageHash {
    /// SHA-256 of the file, hex.
    #[serde(with = "hex_array")]
    pub sha256: [u8; 32],
    /// Difference hash of the picture (9×8 grey, each pixel against its right neighbour).
    pub dhash: u64,
}

mod hex_array {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&v.iter().map(|b| format!("{b:02x}")).collect::<String>())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let s = String::deserialize(d)?;
        let mut out = [0u8; 32];
        if s.len() != 64 {
            return Err(serde::de::Error::custom("sha256: 64 hex characters"));
        }
        for (i, o) in out.iter_mut().enumerate() {
            *o = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).map_err(serde::de::Error::custom)?;
        }
        Ok(out)
    }
}

impl ImageHash {
    /// The hashes of an image file and its decoded picture.
    pub fn of(file: &[u8], picture: &image::RgbImage) -> Self {
        use sha2::Digest;
        let sha256: [u8; 32] = sha2::Sha256::digest(file).into();
        Self { sha256, dhash: dhash(picture) }
    }

    /// The same picture: the same file, or a perceptual hash at most [`DHASH_MAX_BITS`] away.
    pub fn same_picture(&self, other: &ImageHash) -> bool {
        self.sha256 == other.sha256 || (self.dhash ^ other.dhash).count_ones() <= DHASH_MAX_BITS
    }
}

/// Difference hash: the picture shrunk to 9×8 grey levels; bit = left brighter than right.
pub fn dhash(picture: &image::RgbImage) -> u64 {
    let small = verity_imaging::resize(picture, 9, 8);
    let grey = |x: u32, y: u32| {
        let p = small.get_pixel(x, y).0;
        u32::from(p[0]) * 299 + u32::from(p[1]) * 587 + u32::from(p[2]) * 114
    };
    let mut h = 0u64;
    for y in 0..8 {
        for x in 0..8 {
            h = (h << 1) | u64::from(grey(x, y) > grey(x + 1, y));
        }
    }
    h
}

/// What is kept of one verification for later searches (no image, no name in clear beyond the
/// identity key).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Fingerprint {
    pub identity: Identity,
    /// Unit embeddings, as stored (f32 little-endian, base64 in JSON).
    #[serde(default, skip_serializing_if = "Option::is_none", with = "embedding_b64")]
    pub selfie: Option<Vec<f32>>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "embedding_b64")]
    pub portrait: Option<Vec<f32>>,
    /// `document_front`, `document_back`, `selfie`.
    #[serde(default)]
    pub images: Vec<(String, ImageHash)>,
}

mod embedding_b64 {
    use base64::Engine as _;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &Option<Vec<f32>>, s: S) -> Result<S::Ok, S::Error> {
        let bytes: Vec<u8> = v.iter().flatten().flat_map(|f| f.to_le_bytes()).collect();
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<f32>>, D::Error> {
        let s = String::deserialize(d)?;
        let bytes = base64::engine::general_purpose::STANDARD.decode(s).map_err(serde::de::Error::custom)?;
        if bytes.len() % 4 != 0 {
            return Err(serde::de::Error::custom("embedding: whole f32s"));
        }
        Ok(Some(bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()))
    }
}

/// One stored face.
#[derive(Clone)]
struct Face {
    owner: u32,
    selfie: bool,
    v: [f32; DIM],
}

/// Dot product in eight lanes (the compiler vectorises it; one running sum would not be).
fn dot(a: &[f32; DIM], b: &[f32; DIM]) -> f32 {
    let mut acc = [0f32; 8];
    for (x, y) in a.chunks_exact(8).zip(b.chunks_exact(8)) {
        for k in 0..8 {
            acc[k] += x[k] * y[k];
        }
    }
    acc.iter().sum()
}

/// The tenant's earlier verifications, searchable.
#[derive(Default)]
pub struct Gallery {
    faces: Vec<Face>,
    owners: Vec<Option<(String, Fingerprint)>>,
    index: std::collections::HashMap<String, u32>,
}

/// A face of the gallery similar to the probe.
#[derive(Debug, Clone, PartialEq)]
pub struct FaceHit {
    pub owner: String,
    /// The stored face is that verification's selfie (else its document portrait).
    pub selfie: bool,
    pub similarity: f32,
}

fn unit(v: &[f32]) -> Option<[f32; DIM]> {
    let mut out = [0f32; DIM];
    if v.len() != DIM {
        return None;
    }
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if !n.is_finite() || n <= 0.0 {
        return None;
    }
    for (o, x) in out.iter_mut().zip(v) {
        *o = x / n;
    }
    Some(out)
}

impl std::fmt::Debug for Gallery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gallery").field("verifications", &self.len()).field("faces", &self.faces()).finish()
    }
}

impl Gallery {
    /// Faces stored.
    pub fn faces(&self) -> usize {
        self.faces.len()
    }

    /// Verifications stored.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// Adds (or replaces) a verification's fingerprint (its embeddings are kept once, in the
    /// search matrix).
    pub fn insert(&mut self, owner: &str, mut f: Fingerprint) {
        self.remove(owner);
        let n = self.owners.len() as u32;
        for (emb, selfie) in [(f.selfie.take(), true), (f.portrait.take(), false)] {
            if let Some(v) = emb.as_deref().and_then(unit) {
                self.faces.push(Face { owner: n, selfie, v });
            }
        }
        self.owners.push(Some((owner.to_string(), f)));
        self.index.insert(owner.to_string(), n);
    }

    /// Forgets a verification (its faces go at once; its slot is reused by no one).
    pub fn remove(&mut self, owner: &str) {
        if let Some(n) = self.index.remove(owner) {
            self.faces.retain(|f| f.owner != n);
            self.owners[n as usize] = None;
        }
    }

    /// A verification's selfie embedding (unit length).
    pub fn selfie_of(&self, owner: &str) -> Option<Vec<f32>> {
        let n = *self.index.get(owner)?;
        self.faces.iter().find(|f| f.owner == n && f.selfie).map(|f| f.v.to_vec())
    }

    /// A verification's fingerprint, without its embeddings ([`Gallery::selfie_of`]).
    pub fn get(&self, owner: &str) -> Option<&Fingerprint> {
        let n = *self.index.get(owner)?;
        self.owners[n as usize].as_ref().map(|(_, f)| f)
    }

    /// Every stored face at or above `threshold` cosine with `probe`, best first (an exact scan).
    pub fn search(&self, probe: &[f32], threshold: f32) -> Vec<FaceHit> {
        self.scan(probe, threshold, |_| true).0
    }

    /// As [`Gallery::search`], and in the same pass the highest similarity of any stored face
    /// whose verification satisfies `counts` (−1 when none does).
    pub fn scan(
        &self,
        probe: &[f32],
        threshold: f32,
        counts: impl Fn(&Fingerprint) -> bool,
    ) -> (Vec<FaceHit>, f32) {
        let Some(p) = unit(probe) else { return (Vec::new(), -1.0) };
        let mut hits: Vec<FaceHit> = Vec::new();
        let mut best = -1f32;
        for f in &self.faces {
            let s = dot(&p, &f.v);
            if s < threshold && s <= best {
                continue;
            }
            let Some((owner, fp)) = &self.owners[f.owner as usize] else { continue };
            if s > best && counts(fp) {
                best = s;
            }
            if s >= threshold {
                hits.push(FaceHit { owner: owner.clone(), selfie: f.selfie, similarity: s });
            }
        }
        hits.sort_by(|a, b| b.similarity.total_cmp(&a.similarity));
        (hits, best)
    }

    /// Verifications with this document key.
    pub fn with_document(&self, document: &str) -> Vec<(&str, &Fingerprint)> {
        self.owners
            .iter()
            .flatten()
            .filter(|(_, f)| f.identity.document.as_deref() == Some(document))
            .map(|(o, f)| (o.as_str(), f))
            .collect()
    }

    /// Verifications with an image of this role that is the same picture.
    pub fn with_image(&self, role: &str, hash: &ImageHash) -> Vec<(&str, &Fingerprint)> {
        self.owners
            .iter()
            .flatten()
            .filter(|(_, f)| f.images.iter().any(|(r, h)| r == role && h.same_picture(hash)))
            .map(|(o, f)| (o.as_str(), f))
            .collect()
    }
}

/// A probe's embedding as stored.
pub fn stored(e: &Embedding) -> Vec<f32> {
    e.0.clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vec_of(seed: u32) -> Vec<f32> {
        let mut x = seed.wrapping_mul(2654435761).max(1);
        (0..DIM)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                (x as f32 / u32::MAX as f32) - 0.5
            })
            .collect()
    }

    #[test]
    fn a_search_finds_the_same_face_and_forgets_removed_ones() {
        let mut g = Gallery::default();
        for i in 0..50 {
            g.insert(&format!("v{i}"), Fingerprint { selfie: Some(vec_of(i)), ..Default::default() });
        }
        assert_eq!((g.len(), g.faces()), (50, 50));
        let hits = g.search(&vec_of(7), ONE_TO_N_THRESHOLD);
        assert_eq!(hits.len(), 1, "random vectors are far apart");
        assert_eq!(hits[0].owner, "v7");
        assert!(hits[0].similarity > 0.999);
        g.remove("v7");
        assert!(g.search(&vec_of(7), ONE_TO_N_THRESHOLD).is_empty());
        assert_eq!(g.faces(), 49);
        // A re-insert replaces.
        g.insert("v8", Fingerprint { portrait: Some(vec_of(8)), ..Default::default() });
        assert_eq!(g.faces(), 49);
        assert!(!g.search(&vec_of(8), ONE_TO_N_THRESHOLD)[0].selfie);
    }

    #[test]
    fn fingerprints_round_trip_and_identities_compare_on_what_is_known() {
        let f = Fingerprint {
            identity: Identity { document: Some("MA:AB1".into()), person: None },
            selfie: Some(vec_of(3)),
            portrait: None,
            images: vec![("selfie".into(), ImageHash { sha256: [7; 32], dhash: 0xF0F0 })],
        };
        let json = serde_json::to_string(&f).expect("json");
        assert_eq!(serde_json::from_str::<Fingerprint>(&json).expect("parse"), f);
        let a = Identity { document: Some("MA:1".into()), person: Some("A|B|1990-01-01".into()) };
        let b = Identity { document: Some("MA:1".into()), person: None };
        let c = Identity { document: Some("MA:2".into()), person: None };
        assert!(!a.differs(&b) && a.differs(&c) && !Identity::default().differs(&a));
    }

    #[test]
    fn perceptual_hashes_survive_recompression_and_tell_pictures_apart() {
        let img = image::RgbImage::from_fn(300, 200, |x, y| {
            image::Rgb([(x * 255 / 300) as u8, ((x * y) % 255) as u8, (y * 255 / 200) as u8])
        });
        let jpeg = verity_imaging::encode_jpeg(&img, 60);
        let again = verity_imaging::decode(&jpeg, &verity_imaging::Limits::default()).expect("decode").image;
        let small = verity_imaging::resize(&img, 150, 100);
        let a = ImageHash::of(b"a", &img);
        assert!(a.same_picture(&ImageHash::of(b"b", &again)), "recompressed");
        assert!(a.same_picture(&ImageHash::of(b"c", &small)), "resized");
        let other =
            image::RgbImage::from_fn(300, 200, |x, y| image::Rgb([(y % 255) as u8, 90, (x % 255) as u8]));
        assert!(!a.same_picture(&ImageHash::of(b"d", &other)));
    }
}
