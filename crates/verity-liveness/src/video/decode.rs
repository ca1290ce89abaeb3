//! Probing and decoding a selfie video with ffmpeg, bounded in size, streams, duration and
//! frames.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};

use image::RgbImage;
use serde::Serialize;
use serde_json::Value;

use super::{verr, VideoLimits};
use crate::LivenessError;

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

pub(super) const CODECS: &[&str] = &["h264", "hevc", "vp8", "vp9", "av1", "mpeg4"];
pub(super) const CONTAINERS: &[&str] = &["mov", "mp4", "matroska", "webm"];

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

pub(super) fn probe(path: &Path, limits: &VideoLimits) -> Result<Probe, LivenessError> {
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
    // A browser's MediaRecorder writes WebM without a duration: the last frame's time then.
    let duration = num(&video["duration"])
        .or_else(|| num(&v["format"]["duration"]))
        .or_else(|| last_frame_time(path))
        .unwrap_or(0.0);
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

/// The time of the last video packet (seconds), read from the packet index without decoding.
fn last_frame_time(path: &Path) -> Option<f64> {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v:0", "-show_entries", "packet=pts_time", "-of", "csv=p=0"])
        .arg(path)
        .stdin(Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines().filter_map(|l| l.trim().trim_end_matches(',').parse::<f64>().ok()).reduce(f64::max)
}

/// Decodes sampled frames (upright: ffmpeg applies the rotation metadata) as PPM through a pipe.
pub(super) fn decode_frames(
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

pub(super) fn read_token(r: &mut impl Read) -> Result<Option<String>, std::io::Error> {
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

pub(super) fn read_ppm_stream(
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
