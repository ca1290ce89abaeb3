//! The checks' decisions on fake engines: every edge a real model rarely shows on demand (no
//! liveness engine, a spoof signal, a second face, an unreadable portrait, no enrolled face).

use std::collections::HashMap;
use std::path::Path;

use serde_json::{json, Value};
use verity_checks::engines::{FaceChecks, LivenessFacts, SelfieFace, SelfieFacts, VideoFacts};
use verity_checks::face_auth::face_authentication_check;
use verity_checks::identity::identity_check;
use verity_checks::Outcome;
use verity_face::{Embedding, Match};
use verity_liveness::photo::{FaceInfo, PhotoLiveness, PhotoSignals, PhotoTimings};
use verity_liveness::{Challenge, Signal, Status, VideoLimits};

/// Faces are unit vectors named by the bytes of their "image": `a`, `b`, … are people; an
/// image whose bytes are not in the table cannot be read.
#[derive(Default)]
struct Fake {
    people: HashMap<&'static [u8], [f32; 2]>,
    /// Liveness of each selfie (absent: the liveness engine is unavailable).
    liveness: HashMap<&'static [u8], (f32, Vec<&'static str>)>,
    second_face: Vec<&'static [u8]>,
}

fn signal(status: Status) -> Signal {
    Signal { status, value: None, threshold: None, reason: None, detail: Value::Null }
}

fn photo_liveness(score: f32, spoofs: &[&str]) -> PhotoLiveness {
    let pad = if score >= 50.0 { Status::Pass } else { Status::Spoof };
    PhotoLiveness {
        live: score >= 50.0 && spoofs.is_empty(),
        score,
        reasons: spoofs
            .iter()
            .map(|s| s.to_string())
            .chain((score < 50.0).then(|| "passive_pad".into()))
            .collect(),
        warnings: vec![],
        face: FaceInfo { bbox: [0, 0, 10, 10], detector_score: 0.9, rotation: 0, faces_found: 1 },
        signals: PhotoSignals {
            passive_pad: signal(pad),
            moire: signal(if spoofs.contains(&"moire") { Status::Spoof } else { Status::Pass }),
            screen_border: signal(Status::Pass),
            padding: signal(Status::Pass),
            other_faces: signal(Status::Pass),
            camera_exif: signal(Status::Pass),
            compression: signal(Status::Pass),
            resolution: signal(Status::Pass),
        },
        timings_ms: PhotoTimings::default(),
    }
}

impl Fake {
    fn face(&self, bytes: &[u8]) -> Result<Option<Embedding>, String> {
        match bytes {
            b"blank" => Ok(None),
            _ => self
                .people
                .get(bytes)
                .map(|v| Some(Embedding(v.to_vec())))
                .ok_or_else(|| "unreadable image".to_string()),
        }
    }
}

impl FaceChecks for Fake {
    fn selfie(&self, bytes: &[u8]) -> Result<SelfieFacts, String> {
        let face = match self.face(bytes)? {
            Some(embedding) => Ok(SelfieFace {
                embedding,
                multiple_faces: self
                    .second_face
                    .contains(&bytes)
                    .then(|| "2 faces of similar size".to_string()),
            }),
            None => Err("no face found".to_string()),
        };
        let liveness = match (&face, self.liveness.get(bytes)) {
            (_, None) => LivenessFacts::Unavailable("no PAD weights".into()),
            (Err(e), Some(_)) => LivenessFacts::NotAssessed(e.clone()),
            (Ok(_), Some((score, spoofs))) => {
                LivenessFacts::Assessed(Box::new(photo_liveness(*score, spoofs)))
            }
        };
        Ok(SelfieFacts { face, liveness, dhash: 0, marks: Vec::new() })
    }

    fn probe(&self, bytes: &[u8]) -> Result<Option<Embedding>, String> {
        self.face(bytes)
    }

    fn portrait(&self, bytes: &[u8]) -> Result<Embedding, String> {
        self.face(bytes)?.ok_or_else(|| "no face found".to_string())
    }

    fn compare(&self, a: &Embedding, b: &Embedding) -> Match {
        let similarity = a.cosine(b);
        Match { similarity, score: (similarity + 1.0) * 50.0, is_match: similarity > 0.5, threshold: 0.5 }
    }

    fn video(&self, _: &Path, _: &[Challenge], _: &VideoLimits) -> Result<VideoFacts, String> {
        Err("no video in these tests".into())
    }
}

fn fake() -> Fake {
    let mut f = Fake::default();
    f.people.insert(b"ann", [1.0, 0.0]);
    f.people.insert(b"ann-card", [0.96, 0.28]);
    f.people.insert(b"ann-again", [0.9, 0.436]);
    f.people.insert(b"bob", [0.0, 1.0]);
    f.people.insert(b"ann-screen", [1.0, 0.0]);
    f.people.insert(b"ann-crowd", [1.0, 0.0]);
    f.people.insert(b"ann-nolive", [1.0, 0.0]);
    f.liveness.insert(b"ann", (88.0, vec![]));
    f.liveness.insert(b"ann-again", (80.0, vec![]));
    f.liveness.insert(b"bob", (90.0, vec![]));
    f.liveness.insert(b"ann-screen", (70.0, vec!["moire"]));
    f.liveness.insert(b"ann-crowd", (75.0, vec![]));
    f.second_face.push(b"ann-crowd");
    f
}

fn shown<T: serde::Serialize>(r: &T) -> Value {
    serde_json::to_value(r).expect("json")
}

#[test]
fn the_same_live_person_is_clear_with_scores() {
    let r = identity_check(&fake(), b"ann", b"ann-card");
    assert_eq!(r.outcome, Outcome::Clear, "{:?}", r.reasons);
    let v = shown(&r);
    assert_eq!(v["breakdown"]["faceAnalysis"]["breakdown"]["facialSimilarityScore"], json!(98));
    assert_eq!(v["breakdown"]["authenticityAnalysis"]["breakdown"]["livenessCheckScore"], json!(88));
    assert_eq!(v["signals"]["passive_pad"]["status"], "pass");
    assert_eq!(v["reasons"], json!([]));
}

#[test]
fn another_person_a_spoof_signal_and_a_second_face_each_need_attention_with_their_reason() {
    let f = fake();
    let other = identity_check(&f, b"bob", b"ann-card");
    assert_eq!(other.outcome, Outcome::Attention);
    assert!(other.reasons.iter().any(|r| r.contains("does not match the document")), "{:?}", other.reasons);
    let screen = shown(&identity_check(&f, b"ann-screen", b"ann-card"));
    assert_eq!(screen["outcome"], "attention");
    assert_eq!(screen["breakdown"]["authenticityAnalysis"]["spoofedImageAnalysis"], "attention");
    assert_eq!(screen["breakdown"]["authenticityAnalysis"]["livenessCheck"], "clear");
    assert!(screen["reasons"].to_string().contains("spoof signals: moire"), "{screen}");
    let crowd = shown(&identity_check(&f, b"ann-crowd", b"ann-card"));
    assert_eq!(crowd["breakdown"]["faceAnalysis"]["faceDetection"], "attention");
    assert!(crowd["reasons"].to_string().contains("2 faces"), "{crowd}");
}

#[test]
fn what_could_not_be_assessed_is_named_never_made_up() {
    let f = fake();
    // No liveness engine: the face matched, liveness not processed — a partial check needs a
    // person's attention, it is not clear.
    let r = shown(&identity_check(&f, b"ann-nolive", b"ann-card"));
    assert_eq!(r["outcome"], "attention", "{r}");
    assert_eq!(r["breakdown"]["faceAnalysis"]["facialSimilarity"], "clear");
    assert_eq!(r["breakdown"]["authenticityAnalysis"]["livenessCheck"], "not_processed");
    assert!(r["breakdown"]["authenticityAnalysis"]["breakdown"].get("livenessCheckScore").is_none(), "{r}");
    assert!(r["signals"].is_null());
    assert!(r["reasons"].to_string().contains("liveness engine unavailable"), "{r}");
    // A document without a face: integrity needs attention, the match is not processed.
    let r = shown(&identity_check(&f, b"ann", b"blank"));
    assert_eq!(r["breakdown"]["integrityAnalysis"]["faceDetection"], "attention");
    assert_eq!(r["breakdown"]["faceAnalysis"]["facialSimilarity"], "not_processed");
    assert_eq!(r["outcome"], "attention");
    // An unreadable selfie: the check did not run.
    let r = shown(&identity_check(&f, b"\xff\xd8garbage", b"ann-card"));
    assert_eq!(
        r,
        json!({"outcome": "not_processed", "reasons": ["live photo cannot be read: unreadable image"]})
    );
}

#[test]
fn face_authentication_matches_the_enrolled_faces() {
    let f = fake();
    let enrolled = vec!["p1".to_string(), "p2".to_string()];
    let gallery = vec![("p1".to_string(), b"ann".to_vec()), ("p2".to_string(), b"bob".to_vec())];
    let r = shown(&face_authentication_check(&f, b"ann-again", &enrolled, &gallery));
    assert_eq!(r["outcome"], "clear", "{r}");
    let fa = &r["breakdown"]["faceAuthentication"];
    assert_eq!(fa["breakdown"]["facesMatched"], json!([{"livePhotoId": "p1", "facialSimilarityScore": 95}]));
    assert_eq!(fa["breakdown"]["enrolledFaces"]["livePhotoIds"], json!(["p1", "p2"]));
    let none = shown(&face_authentication_check(&f, b"ann", &[], &[]));
    assert_eq!(none["outcome"], "not_processed");
    assert_eq!(none["breakdown"]["faceAuthentication"]["facialSimilarity"], "not_processed");
    let blank = shown(&face_authentication_check(&f, b"blank", &enrolled, &gallery));
    assert_eq!(
        (blank["outcome"].as_str(), blank["reasons"][0].as_str()),
        (Some("attention"), Some("no face in the live photo"))
    );
    let stranger = shown(&face_authentication_check(&f, b"bob", &enrolled, &gallery[..1]));
    assert_eq!(stranger["outcome"], "attention");
    assert!(stranger["breakdown"]["faceAuthentication"]["breakdown"].get("facesMatched").is_none());
}
