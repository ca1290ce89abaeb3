//! What a reviewer needs to see a decision as the engines saw it: the faces found (boxes and
//! landmarks, in the coordinates of the stored image as a browser shows it), the MRZ as read
//! (each character's probability, every correction), the liveness signals against their
//! thresholds and a selfie video's challenge timeline. Facts, kept with the verification and
//! never part of the API's answer.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use verity_document::read::MrzReading;
use verity_face::Analysis;

/// A face found on one of a case's images.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaceMark {
    /// The image: `selfie`, `best_frame`, `document_front`.
    pub file: String,
    /// The image's width and height as displayed.
    pub size: [u32; 2],
    /// `[x, y, w, h]`, pixels of the image as displayed (EXIF orientation applied).
    pub bbox: [f32; 4],
    /// Eyes, nose tip, mouth corners (none for a video's best frame).
    #[serde(default)]
    pub landmarks: Vec<[f32; 2]>,
    pub score: f32,
    /// The face the checks used (others are shown too: a second face is a signal).
    pub subject: bool,
}

/// Every face of an analysis, mapped back from the upright image it was found in to the image
/// as displayed (`width`×`height`, before the analysis' rotation).
pub fn face_marks(file: &str, a: &Analysis, width: u32, height: u32) -> Vec<FaceMark> {
    let (w, h) = (width as f32, height as f32);
    // The analysis rotated the image clockwise by `rotation` to find the faces: undo it.
    let back = |x: f32, y: f32| -> [f32; 2] {
        match a.rotation {
            90 => [y, h - x],
            180 => [w - x, h - y],
            270 => [w - y, x],
            _ => [x, y],
        }
    };
    a.faces
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let b = &f.bbox;
            let corners = [back(b.x, b.y), back(b.x + b.w, b.y + b.h)];
            let (x0, x1) = (corners[0][0].min(corners[1][0]), corners[0][0].max(corners[1][0]));
            let (y0, y1) = (corners[0][1].min(corners[1][1]), corners[0][1].max(corners[1][1]));
            FaceMark {
                file: file.to_string(),
                size: [width, height],
                bbox: [x0, y0, x1 - x0, y1 - y0],
                landmarks: f.landmarks.iter().map(|p| back(p.x, p.y)).collect(),
                score: f.score,
                subject: i == a.chosen,
            }
        })
        .collect()
}

/// A correction the reader made to a character.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CorrectionMark {
    pub line: usize,
    pub position: usize,
    pub from: char,
    pub to: char,
    pub reason: String,
}

/// The MRZ as read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MrzMarks {
    /// `front` or `back`.
    pub side: String,
    /// After corrections (what was parsed).
    pub lines: Vec<String>,
    /// Per line, per character: the recogniser's probability.
    pub confidences: Vec<Vec<f32>>,
    pub corrections: Vec<CorrectionMark>,
    /// A character of an unprotected field below this probability makes the read not valid.
    pub low_below: f32,
    pub valid: bool,
    pub low_confidence_fields: Vec<String>,
}

impl MrzMarks {
    pub fn of(side: &str, r: &MrzReading) -> Self {
        Self {
            side: side.to_string(),
            lines: r.lines.clone(),
            confidences: r
                .char_confidences
                .iter()
                .map(|l| l.iter().map(|p| (p * 1000.0).round() / 1000.0).collect())
                .collect(),
            corrections: r
                .corrections
                .iter()
                .map(|c| CorrectionMark {
                    line: c.line,
                    position: c.position,
                    from: c.from,
                    to: c.to,
                    reason: c.reason.clone(),
                })
                .collect(),
            low_below: verity_document::read::UNCHECKED_MIN_P,
            valid: r.valid,
            low_confidence_fields: r.low_confidence_fields.clone(),
        }
    }
}

/// A challenge of a selfie video: when it was prompted and when it was met.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChallengeMark {
    pub name: String,
    pub passed: bool,
    pub met_at_ms: Option<u64>,
    pub prompted_at_ms: Option<u64>,
}

/// The liveness engine's view: its score against the threshold (50), each signal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LivenessMarks {
    /// 0–100; live at and above 50.
    pub score: f32,
    /// Each signal: `{status, value, threshold, reason}`.
    pub signals: Value,
    #[serde(default)]
    pub challenges: Vec<ChallengeMark>,
    /// A video's length and the time of its best frame.
    pub duration_ms: Option<u64>,
    pub best_frame_at_ms: Option<u64>,
}

impl LivenessMarks {
    /// A photo's liveness.
    pub fn of_photo(p: &verity_liveness::PhotoLiveness) -> Self {
        Self {
            score: p.score,
            signals: serde_json::to_value(&p.signals).unwrap_or_default(),
            challenges: Vec::new(),
            duration_ms: None,
            best_frame_at_ms: None,
        }
    }

    /// A selfie video's liveness; `prompted_at_ms[i]`: when the i-th challenge was shown (empty
    /// when unknown).
    pub fn of_video(r: &verity_liveness::VideoLiveness, prompted_at_ms: &[u64]) -> Self {
        Self {
            score: r.score,
            signals: serde_json::to_value(&r.signals).unwrap_or_default(),
            challenges: r
                .challenges
                .iter()
                .enumerate()
                .map(|(i, c)| ChallengeMark {
                    name: c.name.to_string(),
                    passed: c.passed,
                    met_at_ms: c.at_ms,
                    prompted_at_ms: prompted_at_ms.get(i).copied(),
                })
                .collect(),
            duration_ms: Some((r.video.duration_s * 1000.0).round() as u64),
            best_frame_at_ms: Some(r.best_frame.at_ms),
        }
    }
}

/// Everything above, for one verification.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    #[serde(default)]
    pub faces: Vec<FaceMark>,
    #[serde(default)]
    pub mrz: Option<MrzMarks>,
    #[serde(default)]
    pub liveness: Option<LivenessMarks>,
}
