//! Liveness of a selfie video: decoded with ffmpeg (bounded), the face tracked across sampled
//! frames, the same person required throughout, the best frame picked for the face match, PAD run
//! on frames and aggregated, active challenges verified from landmarks in order, and a planarity
//! test (a flat photo or screen moved in front of the camera is explained by one homography).

use std::path::Path;
use std::time::{Duration, Instant};

use image::RgbImage;
use serde::Serialize;
use serde_json::{json, Value};
use verity_face::{align, laplacian_variance, Embedding, FaceEngine};

use crate::passive::PassiveModel;
use crate::photo::{pad_score, upstream_box, Signal, Status};
use crate::{LivenessConfig, LivenessError};

/// Bounds on what is decoded.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VideoLimits {
    pub max_bytes: u64,
    pub max_duration_s: f64,
    pub min_duration_s: f64,
    /// Largest width or height of the stored video.
    pub max_side: u32,
    /// Frames sampled per second for tracking and challenges.
    pub sample_fps: f64,
    /// Frames are scaled down so their long side is at most this (memory: ~0.7 MB per frame
    /// at 640×360, kept until the end for PAD and the best frame).
    pub decode_long_side: u32,
    /// Wall-clock bound on the decoder.
    pub decode_timeout: Duration,
}

impl Default for VideoLimits {
    fn default() -> Self {
        Self {
            max_bytes: 50 << 20,
            max_duration_s: 30.0,
            min_duration_s: 1.0,
            max_side: 4096,
            sample_fps: 6.0,
            decode_long_side: 640,
            decode_timeout: Duration::from_secs(60),
        }
    }
}

/// An active challenge, checked against the face's state at the start of the video.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Challenge {
    TurnLeft,
    TurnRight,
    LookUp,
    LookDown,
    Smile,
    MoveCloser,
}

impl Challenge {
    pub const ALL: [Challenge; 6] = [
        Challenge::TurnLeft,
        Challenge::TurnRight,
        Challenge::LookUp,
        Challenge::LookDown,
        Challenge::Smile,
        Challenge::MoveCloser,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Challenge::TurnLeft => "turn_left",
            Challenge::TurnRight => "turn_right",
            Challenge::LookUp => "look_up",
            Challenge::LookDown => "look_down",
            Challenge::Smile => "smile",
            Challenge::MoveCloser => "move_closer",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.name() == s.trim())
    }
}

/// Thresholds of the challenges, relative to the baseline (median of the first tracked frames).
pub const TURN_DEG: f32 = 15.0;
pub const PITCH_DEG: f32 = 10.0;
/// Largest head-pose baseline accepted from the first frames (degrees).
pub const BASELINE_MAX_DEG: f32 = 8.0;
pub const SMILE_RATIO: f32 = 1.12;
pub const CLOSER_RATIO: f32 = 1.2;
/// Landmark residual of the best homography, as a fraction of the inter-ocular distance, below
/// which the face moves like a flat picture.
pub const PLANAR_RESIDUAL: f32 = 0.12;
/// Head rotation (yaw or pitch range, degrees) needed before planarity means anything.
pub const MIN_MOTION_DEG: f32 = 8.0;

#[derive(Debug, Clone, Serialize)]
pub struct ChallengeResult {
    pub name: &'static str,
    pub passed: bool,
    /// Time of the sampled frame where it was met.
    pub at_ms: Option<u64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct VideoInfo {
    pub container: String,
    pub codec: String,
    pub width: u32,
    pub height: u32,
    pub duration_s: f64,
    pub bytes: u64,
    pub frames_sampled: usize,
    pub frames_with_face: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct BestFrame {
    pub index: usize,
    pub at_ms: u64,
    pub bbox: [i64; 4],
    pub yaw_deg: f32,
    pub pitch_deg: f32,
    pub sharpness: f32,
}

#[derive(Debug, Clone, Serialize)]
pub struct VideoSignals {
    /// Fraction of sampled frames in which the subject's face was found.
    pub face_tracking: Signal,
    /// Smallest cosine similarity between the best frame and other frames.
    pub same_person: Signal,
    /// Median fused PAD "real" probability over frames.
    pub passive_pad: Signal,
    /// Range of head yaw/pitch seen (degrees).
    pub head_motion: Signal,
    /// 90th percentile of the homography residual / inter-ocular distance.
    pub planarity: Signal,
}

#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct VideoTimings {
    pub probe_ms: f64,
    pub decode_ms: f64,
    pub track_ms: f64,
    pub embed_ms: f64,
    pub pad_ms: f64,
    pub total_ms: f64,
}

/// The liveness result of a video.
#[derive(Debug, Clone, Serialize)]
pub struct VideoLiveness {
    pub live: bool,
    /// 0–100 from the median PAD probability (50 = threshold), capped at 49 when another check
    /// fails so that score and decision agree.
    pub score: f32,
    pub reasons: Vec<String>,
    pub warnings: Vec<String>,
    pub challenges: Vec<ChallengeResult>,
    pub best_frame: BestFrame,
    pub signals: VideoSignals,
    pub video: VideoInfo,
    pub timings_ms: VideoTimings,
}

/// What callers get besides the report: the best frame and its embedding, for the face match.
pub struct VideoOutcome {
    pub report: VideoLiveness,
    pub best_frame: RgbImage,
    pub embedding: Embedding,
}

mod decode;
mod motion;

use decode::*;
pub use decode::{probe_file, Probe};
pub use motion::homography_residual;
use motion::*;

pub(crate) fn verr(code: &'static str, message: impl Into<String>) -> LivenessError {
    LivenessError::Video { code, message: message.into() }
}

// ---------------------------------------------------------------- the whole assessment

/// Assesses a video file.
pub fn assess_video(
    face: &FaceEngine,
    passive: &PassiveModel,
    cfg: &LivenessConfig,
    path: &Path,
    challenges: &[Challenge],
    limits: &VideoLimits,
) -> Result<VideoOutcome, LivenessError> {
    let t0 = Instant::now();
    let p = probe_file(path, limits)?;
    let bytes = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let t1 = Instant::now();
    let mut tracker = Tracker::new(face);
    let mut track_s = 0.0;
    let frames = decode_frames(path, limits, p.duration, &mut |i, img| {
        let t = Instant::now();
        let r = tracker.push(i, img);
        track_s += t.elapsed().as_secs_f64();
        r
    })?;
    let tracks = tracker.tracks;
    let t2 = Instant::now();
    let t3 = t2;
    let fps = limits.sample_fps;
    let info = VideoInfo {
        container: p.container,
        codec: p.codec,
        width: p.width,
        height: p.height,
        duration_s: p.duration,
        bytes,
        frames_sampled: frames.len(),
        frames_with_face: tracks.len(),
    };
    if tracks.len() < 3 {
        return Err(verr(
            "video_no_face",
            format!("a face was found in {} of {} sampled frames", tracks.len(), frames.len()),
        ));
    }
    let tracking_frac = tracks.len() as f32 / frames.len() as f32;
    let face_tracking = Signal {
        status: if tracking_frac >= 0.7 { Status::Pass } else { Status::Spoof },
        value: Some(tracking_frac as f64),
        threshold: Some(0.7),
        reason: (tracking_frac < 0.7)
            .then(|| "the face leaves the frame or is lost for long stretches".into()),
        detail: Value::Null,
    };

    // Best frame: frontal (|yaw|, |pitch| ≤ 15°) and sharpest; otherwise the most frontal.
    let frontal: Vec<&Track> =
        tracks.iter().filter(|t| t.yaw.abs() <= 15.0 && t.pitch.abs() <= 15.0).collect();
    let best = if frontal.is_empty() {
        tracks.iter().min_by(|a, b| (a.yaw.abs() + a.pitch.abs()).total_cmp(&(b.yaw.abs() + b.pitch.abs())))
    } else {
        frontal.into_iter().max_by(|a, b| (a.sharpness * a.iod).total_cmp(&(b.sharpness * b.iod)))
    }
    .copied()
    .ok_or_else(|| verr("video_no_face", "no usable face"))?;

    // Same person: the best frame against frames spread over the video.
    let (best_emb, _) = face.embed_face(&frames[best.frame], &best.face)?;
    // Only near-frontal frames (|yaw| ≤ 25°, |pitch| ≤ 20°): the recogniser is unreliable on
    // profiles, and turning the head must not look like a change of person.
    let comparable: Vec<&Track> =
        tracks.iter().filter(|t| t.yaw.abs() <= 25.0 && t.pitch.abs() <= 20.0).collect();
    let comparable: Vec<&Track> = if comparable.len() >= 2 { comparable } else { tracks.iter().collect() };
    let mut sims = Vec::new();
    for k in spread(comparable.len(), 5) {
        let t = comparable[k];
        if t.frame == best.frame {
            continue;
        }
        let (e, _) = face.embed_face(&frames[t.frame], &t.face)?;
        sims.push((frame_ms(t.frame, fps), face.compare(&best_emb, &e).similarity));
    }
    let threshold = face.config().scale.0.threshold;
    let min_sim = sims.iter().map(|s| s.1).fold(1.0f32, f32::min);
    let same_person = Signal {
        status: if min_sim >= threshold { Status::Pass } else { Status::Spoof },
        value: Some(min_sim as f64),
        threshold: Some(threshold as f64),
        reason: (min_sim < threshold).then(|| "the face changes identity during the video".into()),
        detail: json!({"similarities": sims.iter().map(|(ms, s)| json!({"at_ms": ms, "similarity": s})).collect::<Vec<_>>()}),
    };
    let t4 = Instant::now();

    // PAD over frames: median of up to 7 frames spread over the track.
    let mut pads = Vec::new();
    for k in spread(tracks.len(), 7) {
        let t = &tracks[k];
        let s = passive.score(&frames[t.frame], upstream_box(&t.face))?;
        pads.push((frame_ms(t.frame, fps), s.fused_real));
    }
    let pad_median = median(&mut pads.iter().map(|p| p.1).collect::<Vec<_>>());
    let pad_real_frac = pads.iter().filter(|p| p.1 >= cfg.pad_threshold).count() as f32 / pads.len() as f32;
    let passive_pad = Signal {
        status: if pad_median >= cfg.pad_threshold { Status::Pass } else { Status::Spoof },
        value: Some(pad_median as f64),
        threshold: Some(cfg.pad_threshold as f64),
        reason: None,
        detail: json!({"frames_real_fraction": pad_real_frac, "frames": pads.iter().map(|(ms, s)| json!({"at_ms": ms, "fused_real": s})).collect::<Vec<_>>()}),
    };
    let t5 = Instant::now();

    // Head motion and planarity.
    let range = |f: fn(&Track) -> f32| {
        let mut v: Vec<f32> = tracks.iter().map(f).collect();
        v.sort_by(|a, b| a.total_cmp(b));
        // 5th to 95th percentile: robust to a stray landmark.
        let lo = v[(v.len() - 1) * 5 / 100];
        let hi = v[(v.len() - 1) * 95 / 100];
        hi - lo
    };
    let (yaw_range, pitch_range) = (range(|t| t.yaw), range(|t| t.pitch));
    let motion = yaw_range.max(pitch_range);
    let head_motion = Signal {
        status: if motion >= MIN_MOTION_DEG { Status::Pass } else { Status::Spoof },
        value: Some(motion as f64),
        threshold: Some(MIN_MOTION_DEG as f64),
        reason: (motion < MIN_MOTION_DEG)
            .then(|| "the head does not turn: a still face cannot be told from a photo".into()),
        detail: json!({"yaw_range_deg": yaw_range, "pitch_range_deg": pitch_range}),
    };
    let mut residuals: Vec<f32> = tracks
        .iter()
        .filter(|t| t.frame != best.frame)
        .filter_map(|t| homography_residual(&best.face.landmarks, &t.face.landmarks).map(|r| r / t.iod))
        .collect();
    let planarity = if motion < MIN_MOTION_DEG || residuals.is_empty() {
        Signal {
            status: Status::NotAssessed,
            value: None,
            threshold: Some(PLANAR_RESIDUAL as f64),
            reason: Some("too little head rotation to tell a flat face from a real one".into()),
            detail: Value::Null,
        }
    } else {
        residuals.sort_by(|a, b| a.total_cmp(b));
        let p90 = residuals[(residuals.len() - 1) * 9 / 10];
        Signal {
            status: if p90 >= PLANAR_RESIDUAL { Status::Pass } else { Status::Spoof },
            value: Some(p90 as f64),
            threshold: Some(PLANAR_RESIDUAL as f64),
            reason: (p90 < PLANAR_RESIDUAL).then(|| {
                "the landmarks move as on a flat picture (one homography explains every frame)".into()
            }),
            detail: json!({"frames": residuals.len()}),
        }
    };

    let challenge_results = verify_challenges(&tracks, challenges, fps);
    let signals = VideoSignals { face_tracking, same_person, passive_pad, head_motion, planarity };
    let named = [
        ("face_tracking", &signals.face_tracking),
        ("same_person", &signals.same_person),
        ("passive_pad", &signals.passive_pad),
        ("head_motion", &signals.head_motion),
        ("planarity", &signals.planarity),
    ];
    let mut reasons: Vec<String> =
        named.iter().filter(|(_, s)| s.status == Status::Spoof).map(|(n, _)| n.to_string()).collect();
    reasons.extend(challenge_results.iter().filter(|c| !c.passed).map(|c| format!("challenge_{}", c.name)));
    let warnings: Vec<String> =
        named.iter().filter(|(_, s)| s.status == Status::Warning).map(|(n, _)| n.to_string()).collect();
    let mut score = pad_score(pad_median, cfg.pad_threshold);
    if reasons.iter().any(|r| r != "passive_pad") {
        score = score.min(49.0);
    }
    let t6 = Instant::now();
    let ms = |a: Instant, b: Instant| (b - a).as_secs_f64() * 1000.0;
    let report = VideoLiveness {
        live: reasons.is_empty(),
        score: (score * 10.0).round() / 10.0,
        reasons,
        warnings,
        challenges: challenge_results,
        best_frame: BestFrame {
            index: best.frame,
            at_ms: frame_ms(best.frame, fps),
            bbox: upstream_box(&best.face),
            yaw_deg: best.yaw,
            pitch_deg: best.pitch,
            sharpness: best.sharpness,
        },
        signals,
        video: info,
        timings_ms: VideoTimings {
            probe_ms: ms(t0, t1),
            decode_ms: ms(t1, t2),
            track_ms: track_s * 1000.0,
            embed_ms: ms(t3, t4),
            pad_ms: ms(t4, t5),
            total_ms: ms(t0, t6),
        },
    };
    Ok(VideoOutcome { report, best_frame: frames[best.frame].clone(), embedding: best_emb })
}

#[cfg(test)]
mod tests {
    use super::*;
    use verity_face::Point;

    #[test]
    fn a_projective_map_of_five_points_has_no_residual_and_a_moved_nose_has_one() {
        let src = [
            Point { x: 40.0, y: 50.0 },
            Point { x: 80.0, y: 50.0 },
            Point { x: 60.0, y: 70.0 },
            Point { x: 45.0, y: 90.0 },
            Point { x: 75.0, y: 90.0 },
        ];
        let h = |p: Point| {
            let w = 0.001 * p.x + 0.0005 * p.y + 1.0;
            Point { x: (1.1 * p.x + 0.1 * p.y + 5.0) / w, y: (-0.05 * p.x + 0.9 * p.y + 12.0) / w }
        };
        let dst: Vec<Point> = src.iter().map(|&p| h(p)).collect();
        assert!(homography_residual(&src, &dst).expect("fit") < 1e-3);
        let mut moved = dst.clone();
        moved[2].x += 8.0;
        assert!(homography_residual(&src, &moved).expect("fit") > 1.0);
    }

    #[test]
    fn challenge_names_round_trip() {
        for c in Challenge::ALL {
            assert_eq!(Challenge::parse(c.name()), Some(c));
        }
        assert_eq!(Challenge::parse("jump"), None);
    }

    #[test]
    fn ppm_stream_parsing_refuses_garbage() {
        let mut frames = Vec::new();
        let mut data: &[u8] = b"P6\n2 1\n255\n\x01\x02\x03\x04\x05\x06P6 1 1 255\n\x07\x08\x09";
        read_ppm_stream(&mut data, 10, &mut |f| {
            frames.push(f);
            true
        })
        .expect("two frames");
        assert_eq!(frames.len(), 2);
        assert_eq!(frames[1].get_pixel(0, 0).0, [7, 8, 9]);
        let mut bad: &[u8] = b"P5\n1 1\n255\n\x00";
        assert!(read_ppm_stream(&mut bad, 10, &mut |_| true).is_err());
    }
}
