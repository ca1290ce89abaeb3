//! The `duplicate` check of a verification: its fingerprint searched in the tenant's gallery of
//! earlier verifications (`crate::duplicates`). A match is a *duplicate* when it names another
//! identity (or one side's identity is unknown); the same person verifying again with the same
//! document is listed, not flagged.

use serde::Serialize;
use serde_json::json;

use super::{round3, signals, CheckStatus, FraudSignal};
use crate::duplicates::{Fingerprint, Gallery, ONE_TO_N_THRESHOLD};
use crate::engines::FaceChecks;

/// Why an earlier verification matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchKind {
    /// The same face (selfie or document portrait).
    Face,
    /// The same document number.
    DocumentNumber,
    /// The same picture sent again.
    Image,
}

/// An earlier verification, live photo or document that matched.
#[derive(Debug, Clone, Serialize)]
pub struct DuplicateMatch {
    /// `ver_…` for a verification, the ComplyCube id for a live photo or a document.
    pub id: String,
    /// `identity.verification`, `live_photo` or `document`.
    pub object: &'static str,
    pub kind: MatchKind,
    /// Cosine similarity, for a face match.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub similarity: Option<f64>,
    /// Both name the same holder (a returning customer, not a duplicate).
    pub same_identity: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct DuplicateCheck {
    pub status: CheckStatus,
    pub confidence: f64,
    /// Earlier submissions that matched, most similar first (at most 10).
    pub matches: Vec<DuplicateMatch>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// What a gallery owner is: `ver_…` (a verification), `livePhoto:<id>`, `document:<id>`.
pub fn describe(owner: &str) -> (String, &'static str) {
    if let Some(id) = owner.strip_prefix("livePhoto:") {
        (id.to_string(), "live_photo")
    } else if let Some(id) = owner.strip_prefix("document:") {
        (id.to_string(), "document")
    } else {
        (owner.to_string(), "identity.verification")
    }
}

fn matched(owner: &str, kind: MatchKind, similarity: Option<f64>, same_identity: bool) -> DuplicateMatch {
    let (id, object) = describe(owner);
    DuplicateMatch { id, object, kind, similarity, same_identity }
}

/// Searches the gallery for `fp` (this verification's fingerprint); adds the signals.
pub fn check(
    gallery: &Gallery,
    fp: &Fingerprint,
    faces: Option<&dyn FaceChecks>,
    out: &mut Vec<FraudSignal>,
) -> DuplicateCheck {
    let mut matches: Vec<DuplicateMatch> = Vec::new();
    let another = |other: &Fingerprint| {
        fp.identity.differs(&other.identity) || fp.identity.is_unknown() || other.identity.is_unknown()
    };
    // The two selfies are of different people (1:1); `None` when one side has none.
    let face_gap = |owner: &str| match (&fp.selfie, gallery.selfie_of(owner), faces) {
        (Some(a), Some(b), Some(engine)) => {
            let m = engine.compare(&verity_face::Embedding(a.clone()), &verity_face::Embedding(b));
            (!m.is_match).then_some(m.similarity)
        }
        _ => None,
    };
    let mut seen = std::collections::HashSet::new();
    let mut flagged = false;

    // The same face under another identity.
    let mut best_other = 0f32;
    for probe in [&fp.selfie, &fp.portrait].into_iter().flatten() {
        let (hits, nearest) = gallery.scan(probe, ONE_TO_N_THRESHOLD, another);
        best_other = best_other.max(nearest);
        for hit in hits {
            let Some(other) = gallery.get(&hit.owner) else { continue };
            if !seen.insert((hit.owner.clone(), MatchKind::Face)) {
                continue;
            }
            let different = another(other);
            if different {
                flagged = true;
                let (id, object) = describe(&hit.owner);
                out.push(signals::DUPLICATE_FACE.signal(
                    format!("the same face was seen earlier under another identity ({object} {id})"),
                    json!({"id": id, "object": object, "similarity": round3(hit.similarity),
                           "threshold": round3(ONE_TO_N_THRESHOLD)}),
                ));
            }
            matches.push(matched(&hit.owner, MatchKind::Face, Some(round3(hit.similarity)), !different));
        }
    }

    // The same document number under another face or name.
    if let Some(doc) = &fp.identity.document {
        for (owner, other) in gallery.with_document(doc) {
            if !seen.insert((owner.to_string(), MatchKind::DocumentNumber)) {
                continue;
            }
            let other_face = face_gap(owner);
            let other_name =
                matches!((&fp.identity.person, &other.identity.person), (Some(a), Some(b)) if a != b);
            let different = other_face.is_some() || other_name;
            if different {
                flagged = true;
                let why = if other_face.is_some() { "another face" } else { "another name or birth date" };
                let (id, object) = describe(owner);
                out.push(signals::DUPLICATE_DOCUMENT.signal(
                    format!("the same document number was verified earlier with {why} ({object} {id})"),
                    json!({"id": id, "object": object, "face_similarity": other_face.map(round3)}),
                ));
            }
            matches.push(matched(owner, MatchKind::DocumentNumber, None, !different));
        }
    }

    // The same picture sent again under another identity or with another face.
    for (role, hash) in &fp.images {
        for (owner, other) in gallery.with_image(role, hash) {
            if !seen.insert((owner.to_string(), MatchKind::Image)) {
                continue;
            }
            let different = another(other) || face_gap(owner).is_some();
            if different {
                flagged = true;
                let (id, object) = describe(owner);
                out.push(signals::RESUBMITTED_IMAGE.signal(
                    format!("the {role} image was already sent ({object} {id})"),
                    json!({"id": id, "object": object, "image": role, "identical_file": other.images.iter().any(|(r, h)| r == role && h.sha256 == hash.sha256)}),
                ));
            }
            matches.push(matched(owner, MatchKind::Image, None, !different));
        }
    }
    matches.sort_by(|a, b| b.similarity.unwrap_or(1.0).total_cmp(&a.similarity.unwrap_or(1.0)));
    matches.truncate(10);
    DuplicateCheck {
        status: if flagged { CheckStatus::Failed } else { CheckStatus::Passed },
        // Failed: the similarity of the closest face of another identity (1 when only a
        // document or an image matched); passed: 1 − that similarity (how unlike anyone else).
        confidence: round3(if flagged {
            if best_other >= ONE_TO_N_THRESHOLD {
                best_other
            } else {
                1.0
            }
        } else {
            1.0 - best_other.max(0.0)
        }),
        matches,
        reason: None,
    }
}
