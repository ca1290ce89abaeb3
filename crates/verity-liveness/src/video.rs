//! Liveness of a selfie video: decoded with ffmpeg (bounded), the face tracked across sampled
//! frames, the same person required throughout, the best frame picked for the face match, PAD run
//! on frames and aggregated, active challenges verified from landmarks in order, and a planarity
//! test (a flat photo or screen moved in front of the camera is explained by one homography).

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use image::RgbImage;
use serde::Serialize;
use serde_json::{json, Value};
use verity_face::{align, laplacian_variance, pose, DetectConfig, Embedding, Face, FaceEngine, Point};

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

fn verr(code: &'static str, message: impl Into<String>) -> LivenessError {
    LivenessError::Video { code, message: message.into() }
}

// ---------------------------------------------------------------- probe & decode

/// What ffprobe says about a video that passed the intake checks.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Probe {
    pub container: String,
    pub codec: String,
    pub width: u32,
    pub height: u32,
    pub duration: f64,
}

const CODECS: &[&str] = &["h264", "hevc", "vp8", "vp9", "av1", "mpeg4"];
const CONTAINERS: &[&str] = &["mov", "mp4", "matroska", "webm"];

/// Checks a video file at the edge (size, streams, container, codec, dimensions, duration)
/// without decoding it.
pub fn probe_file(path: &Path, limits: &VideoLimits) -> Result<Probe, LivenessError> {
    let bytes = std::fs::metadata(path)
        .map_err(|e| verr("video_unreadable", format!("cannot read the video: {e}")))?
        .len();
    if bytes == 0 {
        return Err(verr("video_empty", "the video file is empty"));
    }
    if bytes > limits.max_bytes {
        return Err(verr(
            "video_too_large",
            format!("{bytes} bytes; the limit is {} bytes", limits.max_bytes),
        ));
    }
    probe(path, limits)
}

fn probe(path: &Path, limits: &VideoLimits) -> Result<Probe, LivenessError> {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-print_format", "json", "-show_format", "-show_streams"])
        .arg(path)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| {
            verr(
                "video_decoder_missing",
                format!("cannot run ffprobe ({e}): install ffmpeg (Debian package `ffmpeg`)"),
            )
        })?;
    if !out.status.success() {
        return Err(verr("video_unreadable", "not a video file that ffmpeg can read"));
    }
    let v: Value = serde_json::from_slice(&out.stdout)
        .map_err(|_| verr("video_unreadable", "ffprobe gave no usable description"))?;
    let container = v["format"]["format_name"].as_str().unwrap_or("").to_string();
    let streams = v["streams"].as_array().cloned().unwrap_or_default();
    let video = streams
        .iter()
        .find(|s| s["codec_type"] == "video" && s["disposition"]["attached_pic"].as_i64() != Some(1));
    let Some(video) = video else {
        let kinds: Vec<&str> = streams.iter().filter_map(|s| s["codec_type"].as_str()).collect();
        return Err(verr(
            "video_no_video_stream",
            format!(
                "the file has no video stream (streams: {})",
                if kinds.is_empty() { "none".into() } else { kinds.join(", ") }
            ),
        ));
    };
    if !container.split(',').any(|c| CONTAINERS.contains(&c)) {
        return Err(verr(
            "video_format_unsupported",
            format!("container {container:?}: send MP4, MOV or WebM"),
        ));
    }
    let codec = video["codec_name"].as_str().unwrap_or("").to_string();
    if !CODECS.contains(&codec.as_str()) {
        return Err(verr(
            "video_format_unsupported",
            format!("video codec {codec:?}: send H.264, HEVC, VP8, VP9 or AV1"),
        ));
    }
    let width = video["width"].as_u64().unwrap_or(0) as u32;
    let height = video["height"].as_u64().unwrap_or(0) as u32;
    if width == 0 || height == 0 {
        return Err(verr("video_unreadable", "the video stream has no frame size"));
    }
    if width.max(height) > limits.max_side {
        return Err(verr(
            "video_dimensions_too_large",
            format!("{width}×{height}: the largest side allowed is {}", limits.max_side),
        ));
    }
    let num = |x: &Value| x.as_str().and_then(|s| s.parse::<f64>().ok()).or_else(|| x.as_f64());
    let duration = num(&video["duration"]).or_else(|| num(&v["format"]["duration"])).unwrap_or(0.0);
    if duration.is_nan() || duration < limits.min_duration_s {
        return Err(verr(
            "video_too_short",
            format!("the video lasts {duration:.2} s; at least {} s is needed", limits.min_duration_s),
        ));
    }
    if duration > limits.max_duration_s {
        return Err(verr(
            "video_too_long",
            format!("the video lasts {duration:.1} s; the limit is {} s", limits.max_duration_s),
        ));
    }
    Ok(Probe { container, codec, width, height, duration })
}

/// Decodes sampled frames (upright: ffmpeg applies the rotation metadata) as PPM through a pipe.
fn decode_frames(
    path: &Path,
    limits: &VideoLimits,
    duration: f64,
    on_frame: &mut dyn FnMut(usize, &RgbImage) -> Result<(), LivenessError>,
) -> Result<Vec<RgbImage>, LivenessError> {
    let side = limits.decode_long_side;
    let filter = format!(
        "fps={},scale=w='min({side},iw)':h='min({side},ih)':force_original_aspect_ratio=decrease:force_divisible_by=2",
        limits.sample_fps
    );
    let max_frames = (duration * limits.sample_fps).ceil() as usize + 2;
    let mut child = Command::new("ffmpeg")
        .args(["-v", "error", "-nostdin", "-threads", "2", "-i"])
        .arg(path)
        .args(["-an", "-sn", "-dn", "-vf", &filter, "-frames:v", &max_frames.to_string()])
        .args(["-f", "image2pipe", "-vcodec", "ppm", "pipe:1"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            verr(
                "video_decoder_missing",
                format!("cannot run ffmpeg ({e}): install ffmpeg (Debian package `ffmpeg`)"),
            )
        })?;
    let mut stdout = child.stdout.take().ok_or_else(|| verr("video_decoder_failed", "no pipe"))?;
    let mut stderr = child.stderr.take().ok_or_else(|| verr("video_decoder_failed", "no pipe"))?;
    let err_thread = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    // Reading happens here; a watchdog kills the decoder if it outlives the timeout.
    let pid = child.id();
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let timeout = limits.decode_timeout;
    let watchdog = std::thread::spawn(move || {
        if done_rx.recv_timeout(timeout).is_err() {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            return true;
        }
        false
    });
    // Frames are read on a thread and handed over as they arrive, so that the caller's work on
    // frame k overlaps the decoding of frame k+1.
    let (tx, rx) = std::sync::mpsc::sync_channel::<RgbImage>(4);
    let reader = std::thread::spawn(move || {
        let mut n = 0usize;
        let r = read_ppm_stream(&mut stdout, max_frames, &mut |img| {
            n += 1;
            tx.send(img).is_ok()
        });
        r.map(|_| n)
    });
    let mut frames = Vec::new();
    let mut callback_err = None;
    for img in rx.iter() {
        if callback_err.is_none() {
            if let Err(e) = on_frame(frames.len(), &img) {
                callback_err = Some(e);
            }
        }
        frames.push(img);
    }
    let result = reader.join().unwrap_or_else(|_| Err(verr("video_decoder_failed", "frame reader failed")));
    let status = child.wait();
    let _ = done_tx.send(());
    let timed_out = watchdog.join().unwrap_or(false);
    let stderr = err_thread.join().unwrap_or_default();
    if timed_out {
        return Err(verr(
            "video_decode_timeout",
            format!("decoding took longer than {} s", timeout.as_secs()),
        ));
    }
    result?;
    if let Some(e) = callback_err {
        return Err(e);
    }
    match status {
        Ok(s) if s.success() => {}
        _ if !frames.is_empty() => {} // a damaged tail: keep what decoded
        _ => {
            let tail = stderr.lines().last().unwrap_or("").to_string();
            return Err(verr("video_corrupt", format!("the video could not be decoded: {tail}")));
        }
    }
    if frames.is_empty() {
        return Err(verr("video_corrupt", "the video has no decodable frame"));
    }
    Ok(frames)
}

fn read_token(r: &mut impl Read) -> Result<Option<String>, std::io::Error> {
    let mut tok = Vec::new();
    let mut b = [0u8; 1];
    loop {
        if r.read(&mut b)? == 0 {
            return Ok(if tok.is_empty() { None } else { Some(String::from_utf8_lossy(&tok).into_owned()) });
        }
        if b[0].is_ascii_whitespace() {
            if tok.is_empty() {
                continue;
            }
            return Ok(Some(String::from_utf8_lossy(&tok).into_owned()));
        }
        tok.push(b[0]);
        if tok.len() > 16 {
            return Err(std::io::Error::other("bad PPM header"));
        }
    }
}

fn read_ppm_stream(
    r: &mut impl Read,
    max_frames: usize,
    out: &mut dyn FnMut(RgbImage) -> bool,
) -> Result<(), LivenessError> {
    let bad = |e: std::io::Error| verr("video_decoder_failed", format!("reading frames: {e}"));
    let mut n = 0;
    while n < max_frames {
        let Some(magic) = read_token(r).map_err(bad)? else { return Ok(()) };
        if magic != "P6" {
            return Err(verr("video_decoder_failed", "unexpected frame format"));
        }
        let mut nums = [0u32; 3];
        for n in &mut nums {
            *n = read_token(r)
                .map_err(bad)?
                .and_then(|t| t.parse().ok())
                .ok_or_else(|| verr("video_decoder_failed", "bad frame header"))?;
        }
        let [w, h, maxv] = nums;
        if maxv != 255 || w == 0 || h == 0 || w > 8192 || h > 8192 {
            return Err(verr("video_decoder_failed", "unexpected frame header"));
        }
        let mut buf = vec![0u8; (w * h * 3) as usize];
        r.read_exact(&mut buf).map_err(bad)?;
        n += 1;
        if !out(RgbImage::from_raw(w, h, buf).ok_or_else(|| verr("video_decoder_failed", "short frame"))?) {
            return Ok(());
        }
    }
    // Drain what is left so the decoder is not killed by a broken pipe mid-write.
    let _ = std::io::copy(r, &mut std::io::sink());
    Ok(())
}

// ---------------------------------------------------------------- tracking

#[derive(Debug, Clone, Copy)]
struct Track {
    frame: usize,
    face: Face,
    yaw: f32,
    pitch: f32,
    iod: f32,
    mouth: f32,
    width_frac: f32,
    sharpness: f32,
}

fn dist(a: Point, b: Point) -> f32 {
    ((a.x - b.x).powi(2) + (a.y - b.y).powi(2)).sqrt()
}

/// Follows the subject's face from frame to frame.
struct Tracker<'a> {
    face: &'a FaceEngine,
    cfg: DetectConfig,
    tracks: Vec<Track>,
    last: Option<Face>,
}

impl<'a> Tracker<'a> {
    fn new(face: &'a FaceEngine) -> Self {
        let cfg = DetectConfig { try_rotations: false, ..face.config().detect };
        Self { face, cfg, tracks: Vec::new(), last: None }
    }

    fn push(&mut self, i: usize, img: &RgbImage) -> Result<(), LivenessError> {
        let (face, cfg, last) = (self.face, &self.cfg, self.last);
        let det = face.detect_with(img, cfg)?;
        if det.faces.is_empty() {
            return Ok(());
        }
        let (w, h) = (img.width() as f32, img.height() as f32);
        let pick = match last {
            // The face that overlaps the previous one most; a jump to another face loses the track.
            Some(prev) => det
                .faces
                .iter()
                .map(|f| (f.bbox.iou(&prev.bbox), f))
                .filter(|(iou, _)| *iou > 0.2)
                .max_by(|a, b| a.0.total_cmp(&b.0))
                .map(|(_, f)| *f),
            // The largest face, weighted towards the centre.
            None => det
                .faces
                .iter()
                .max_by(|a, b| {
                    let s = |f: &Face| {
                        let c = f.bbox.center();
                        let off = ((c.x / w - 0.5).powi(2) + (c.y / h - 0.5).powi(2)).sqrt();
                        f.bbox.area() * (1.0 - off)
                    };
                    s(a).total_cmp(&s(b))
                })
                .copied(),
        };
        let Some(f) = pick else { return Ok(()) };
        self.last = Some(f);
        let (yaw, pitch, _) = pose(&f);
        let l = f.landmarks;
        let iod = dist(l[0], l[1]).max(1.0);
        let (aligned, _) = align(img, &f);
        self.tracks.push(Track {
            frame: i,
            face: f,
            yaw,
            pitch,
            iod,
            mouth: dist(l[3], l[4]) / iod,
            width_frac: f.bbox.w / w,
            sharpness: laplacian_variance(&aligned),
        });
        Ok(())
    }
}

fn median(v: &mut [f32]) -> f32 {
    if v.is_empty() {
        return f32::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// Indices of up to `n` elements spread evenly over `0..len`.
fn spread(len: usize, n: usize) -> Vec<usize> {
    if len <= n {
        return (0..len).collect();
    }
    (0..n).map(|k| k * (len - 1) / (n - 1).max(1)).collect()
}

// ---------------------------------------------------------------- challenges

fn frame_ms(frame: usize, fps: f64) -> u64 {
    (frame as f64 * 1000.0 / fps).round() as u64
}

/// Verifies the challenges in order: each must be met at a frame after the previous one was met.
fn verify_challenges(tracks: &[Track], challenges: &[Challenge], fps: f64) -> Vec<ChallengeResult> {
    let base_n = tracks.len().min(3);
    let base = |f: fn(&Track) -> f32| median(&mut tracks[..base_n].iter().map(f).collect::<Vec<_>>());
    // The head-pose baseline absorbs the landmark model's per-person bias, but only up to
    // ±BASELINE_MAX_DEG: a video that starts already turned must still turn past frontal.
    let yaw0 = base(|t| t.yaw).clamp(-BASELINE_MAX_DEG, BASELINE_MAX_DEG);
    let pitch0 = base(|t| t.pitch).clamp(-BASELINE_MAX_DEG, BASELINE_MAX_DEG);
    let (mouth0, width0) = (base(|t| t.mouth), base(|t| t.width_frac));
    let mut from = 0usize;
    let mut failed = false;
    challenges
        .iter()
        .map(|&c| {
            let met = |t: &Track| match c {
                Challenge::TurnLeft => t.yaw - yaw0 >= TURN_DEG,
                Challenge::TurnRight => t.yaw - yaw0 <= -TURN_DEG,
                Challenge::LookUp => t.pitch - pitch0 <= -PITCH_DEG,
                Challenge::LookDown => t.pitch - pitch0 >= PITCH_DEG,
                Challenge::Smile => t.mouth >= mouth0 * SMILE_RATIO && (t.yaw - yaw0).abs() < TURN_DEG,
                Challenge::MoveCloser => t.width_frac >= width0 * CLOSER_RATIO,
            };
            let hit = if failed { None } else { tracks.iter().enumerate().skip(from).find(|(_, t)| met(t)) };
            match hit {
                Some((k, t)) => {
                    from = k + 1;
                    ChallengeResult { name: c.name(), passed: true, at_ms: Some(frame_ms(t.frame, fps)) }
                }
                None => {
                    failed = true;
                    ChallengeResult { name: c.name(), passed: false, at_ms: None }
                }
            }
        })
        .collect()
}

// ---------------------------------------------------------------- planarity

/// Solves the 8×8 system by Gaussian elimination with partial pivoting.
fn solve8(mut a: [[f64; 9]; 8]) -> Option<[f64; 8]> {
    for col in 0..8 {
        let p = (col..8).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
        if a[p][col].abs() < 1e-12 {
            return None;
        }
        a.swap(col, p);
        let pivot = a[col];
        for (r, row) in a.iter_mut().enumerate() {
            if r != col {
                let f = row[col] / pivot[col];
                for (v, p) in row.iter_mut().zip(pivot.iter()).skip(col) {
                    *v -= f * p;
                }
            }
        }
    }
    Some(std::array::from_fn(|i| a[i][8] / a[i][i]))
}

/// Least-squares homography (h33 = 1) mapping `src` to `dst` (normal equations, points
/// normalised), and the RMS residual in `dst` units.
pub fn homography_residual(src: &[Point], dst: &[Point]) -> Option<f32> {
    let norm = |p: &[Point]| {
        let n = p.len() as f64;
        let (mx, my) =
            (p.iter().map(|q| q.x as f64).sum::<f64>() / n, p.iter().map(|q| q.y as f64).sum::<f64>() / n);
        let s =
            p.iter().map(|q| ((q.x as f64 - mx).powi(2) + (q.y as f64 - my).powi(2)).sqrt()).sum::<f64>() / n;
        let s = if s > 1e-9 { 1.0 / s } else { 1.0 };
        (mx, my, s)
    };
    let (sx, sy, ss) = norm(src);
    let (dx, dy, ds) = norm(dst);
    let mut ata = [[0.0f64; 9]; 8];
    for (p, q) in src.iter().zip(dst) {
        let (x, y) = ((p.x as f64 - sx) * ss, (p.y as f64 - sy) * ss);
        let (u, v) = ((q.x as f64 - dx) * ds, (q.y as f64 - dy) * ds);
        let rows = [
            ([x, y, 1.0, 0.0, 0.0, 0.0, -u * x, -u * y], u),
            ([0.0, 0.0, 0.0, x, y, 1.0, -v * x, -v * y], v),
        ];
        for (r, b) in rows {
            for i in 0..8 {
                for j in 0..8 {
                    ata[i][j] += r[i] * r[j];
                }
                ata[i][8] += r[i] * b;
            }
        }
    }
    let h = solve8(ata)?;
    let mut sq = 0.0;
    for (p, q) in src.iter().zip(dst) {
        let (x, y) = ((p.x as f64 - sx) * ss, (p.y as f64 - sy) * ss);
        let w = h[6] * x + h[7] * y + 1.0;
        if w.abs() < 1e-9 {
            return None;
        }
        let u = (h[0] * x + h[1] * y + h[2]) / w;
        let v = (h[3] * x + h[4] * y + h[5]) / w;
        let (eu, ev) = (u / ds + dx - q.x as f64, v / ds + dy - q.y as f64);
        sq += eu * eu + ev * ev;
    }
    Some((sq / src.len() as f64).sqrt() as f32)
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
