//! Liveness of one photo: passive PAD on the subject's face plus the training-free signals, each
//! reported with its value, its threshold and a status.

use std::time::Instant;

use image::RgbImage;
use serde::Serialize;
use serde_json::{json, Value};
use verity_face::{Analysis, DetectConfig, Face, FaceEngine, ImageKind};
use verity_imaging::Decoded;

use crate::metadata::{exif_summary, jpeg_quality};
use crate::passive::{PassiveModel, PassiveScore};
use crate::signals::{borders, crop_padding, moire, padding, Grey, Rect};
use crate::{LivenessConfig, LivenessError};

/// What one signal concluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Nothing suspicious.
    Pass,
    /// Evidence of a presentation attack: the photo is not accepted as live.
    Spoof,
    /// Worth a reviewer's attention, but not evidence of an attack on its own.
    Warning,
    /// Could not be computed; `reason` says why.
    NotAssessed,
}

/// One named signal.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Signal {
    pub status: Status,
    /// The measured value (its unit is in the docs and in `detail`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Value::is_null")]
    pub detail: Value,
}

impl Signal {
    fn new(status: Status, value: Option<f64>, threshold: Option<f64>, detail: Value) -> Self {
        Self { status, value, threshold, reason: None, detail }
    }
    fn not_assessed(reason: impl Into<String>) -> Self {
        Self {
            status: Status::NotAssessed,
            value: None,
            threshold: None,
            reason: Some(reason.into()),
            detail: Value::Null,
        }
    }
    fn because(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }
}

/// Maps the fused PAD probability to 0–100 with the threshold at 50 (piecewise linear).
pub fn pad_score(fused_real: f32, threshold: f32) -> f32 {
    let t = threshold.clamp(1e-3, 1.0 - 1e-3);
    let s = if fused_real < t { 50.0 * fused_real / t } else { 50.0 + 50.0 * (fused_real - t) / (1.0 - t) };
    s.clamp(0.0, 100.0)
}

/// The liveness result of a photo.
#[derive(Debug, Clone, Serialize)]
pub struct PhotoLiveness {
    pub live: bool,
    /// 0–100; ≥ 50 means the PAD models accept the face. Capped at 49 when another signal
    /// reports a spoof, so that score and decision agree.
    pub score: f32,
    /// Why `live` is false (signal names), empty when live.
    pub reasons: Vec<String>,
    /// Signals with status `warning`.
    pub warnings: Vec<String>,
    pub face: FaceInfo,
    pub signals: PhotoSignals,
    pub timings_ms: PhotoTimings,
}

#[derive(Debug, Clone, Serialize)]
pub struct FaceInfo {
    /// `[x, y, w, h]` in the upright image, in the models' integer convention.
    pub bbox: [i64; 4],
    pub detector_score: f32,
    /// Clockwise rotation applied to find the face.
    pub rotation: u16,
    pub faces_found: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct PhotoSignals {
    /// MiniFASNet V2 + V1SE fused "real" probability.
    pub passive_pad: Signal,
    /// Periodic spectral peak on the face (screen recapture), dB.
    pub moire: Signal,
    /// Straight, continuous edges on several sides of the face (screen bezel, print edge).
    pub screen_border: Signal,
    /// Constant-colour bars at the image edges (letterboxing, padding), pixels per side.
    pub padding: Signal,
    /// Another face in the picture: a second person, or a portrait on an ID card or a photo.
    pub other_faces: Signal,
    /// Camera make/model present; editing software named in EXIF.
    pub camera_exif: Signal,
    /// JPEG quality of the last compression (IJG scale).
    pub compression: Signal,
    /// Face size in pixels (inter-ocular distance).
    pub resolution: Signal,
}

#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct PhotoTimings {
    pub detect_ms: f64,
    pub pad_ms: f64,
    pub signals_ms: f64,
    pub total_ms: f64,
}

/// The face box in the upstream `[x, y, w, h]` integer convention (x = int(left),
/// w = int(right − left + 1)).
pub fn upstream_box(face: &Face) -> [i64; 4] {
    let b = face.bbox;
    [b.x.max(0.0) as i64, b.y.max(0.0) as i64, (b.w + 1.0) as i64, (b.h + 1.0) as i64]
}

/// Scores PAD on a face of an upright image.
pub fn pad_signal(
    passive: &PassiveModel,
    img: &RgbImage,
    face: &Face,
    cfg: &LivenessConfig,
) -> Result<(Signal, PassiveScore), LivenessError> {
    let s = passive.score(img, upstream_box(face))?;
    let status = if s.fused_real >= cfg.pad_threshold { Status::Pass } else { Status::Spoof };
    let sig = Signal::new(
        status,
        Some(s.fused_real as f64),
        Some(cfg.pad_threshold as f64),
        json!({"v2_real": s.v2_real, "v1se_real": s.v1se_real}),
    );
    Ok((sig, s))
}

/// Assesses a decoded photo. `raw` is the file as uploaded (for EXIF and JPEG tables).
pub fn assess_photo(
    face_engine: &FaceEngine,
    passive: &PassiveModel,
    cfg: &LivenessConfig,
    decoded: &Decoded,
    raw: &[u8],
) -> Result<PhotoLiveness, LivenessError> {
    let t0 = Instant::now();
    let analysis = analyze_selfie(face_engine, decoded)?;
    let mut out = assess_analyzed(passive, cfg, decoded, raw, &analysis)?;
    out.timings_ms.detect_ms = (Instant::now() - t0).as_secs_f64() * 1000.0 - out.timings_ms.total_ms;
    out.timings_ms.total_ms += out.timings_ms.detect_ms;
    Ok(out)
}

/// The face analysis liveness needs: exhaustive detection, so a small second face (an ID card,
/// a photo) beside the subject is found. Callers that also need the subject's embedding (an
/// identity check) run this once and pass it to [`assess_analyzed`].
pub fn analyze_selfie(face_engine: &FaceEngine, decoded: &Decoded) -> Result<Analysis, LivenessError> {
    let detect_cfg = DetectConfig { exhaustive: true, ..face_engine.config().detect };
    Ok(face_engine.analyze_with(&decoded.image, ImageKind::Selfie, &detect_cfg)?)
}

/// Liveness of a photo whose face analysis (from [`analyze_selfie`]) is already done.
pub fn assess_analyzed(
    passive: &PassiveModel,
    cfg: &LivenessConfig,
    decoded: &Decoded,
    raw: &[u8],
    analysis: &Analysis,
) -> Result<PhotoLiveness, LivenessError> {
    let t1 = Instant::now();
    let face = *analysis.face();
    let (passive_pad, _) = pad_signal(passive, &analysis.upright, &face, cfg)?;
    let t2 = Instant::now();

    let signals = PhotoSignals {
        passive_pad,
        moire: Signal::not_assessed(""),
        screen_border: Signal::not_assessed(""),
        padding: Signal::not_assessed(""),
        other_faces: other_faces(analysis),
        camera_exif: camera_exif(decoded),
        compression: compression(raw, cfg),
        resolution: resolution(&face, cfg),
    };
    let signals = with_image_signals(signals, &analysis.upright, &face, cfg);
    let t3 = Instant::now();
    let ms = |a: Instant, b: Instant| (b - a).as_secs_f64() * 1000.0;
    let (live, score, reasons, warnings) = decide(&signals, cfg);
    Ok(PhotoLiveness {
        live,
        score,
        reasons,
        warnings,
        face: FaceInfo {
            bbox: upstream_box(&face),
            detector_score: face.score,
            rotation: analysis.rotation,
            faces_found: analysis.faces.len(),
        },
        signals,
        timings_ms: PhotoTimings {
            detect_ms: 0.0,
            pad_ms: ms(t1, t2),
            signals_ms: ms(t2, t3),
            total_ms: ms(t1, t3),
        },
    })
}

fn named(s: &PhotoSignals) -> [(&'static str, &Signal); 8] {
    [
        ("passive_pad", &s.passive_pad),
        ("moire", &s.moire),
        ("screen_border", &s.screen_border),
        ("padding", &s.padding),
        ("other_faces", &s.other_faces),
        ("camera_exif", &s.camera_exif),
        ("compression", &s.compression),
        ("resolution", &s.resolution),
    ]
}

fn decide(s: &PhotoSignals, cfg: &LivenessConfig) -> (bool, f32, Vec<String>, Vec<String>) {
    let reasons: Vec<String> =
        named(s).iter().filter(|(_, g)| g.status == Status::Spoof).map(|(n, _)| n.to_string()).collect();
    let warnings: Vec<String> =
        named(s).iter().filter(|(_, g)| g.status == Status::Warning).map(|(n, _)| n.to_string()).collect();
    let mut score = pad_score(s.passive_pad.value.unwrap_or(0.0) as f32, cfg.pad_threshold);
    if reasons.iter().any(|r| r != "passive_pad") {
        score = score.min(49.0);
    }
    (reasons.is_empty(), (score * 10.0).round() / 10.0, reasons, warnings)
}

/// The image-based signals (moiré and borders) for a face of an upright image.
fn with_image_signals(
    mut s: PhotoSignals,
    img: &RgbImage,
    face: &Face,
    cfg: &LivenessConfig,
) -> PhotoSignals {
    let g = Grey::from_rgb(img);
    let b = face.bbox;
    let rect = Rect::from_xywh(b.x, b.y, b.w, b.h, g.w, g.h);
    s.moire = match moire(&g, rect) {
        Ok(m) => {
            let status = if m.peak_db >= cfg.moire_db { Status::Spoof } else { Status::Pass };
            Signal::new(
                status,
                Some(m.peak_db as f64),
                Some(cfg.moire_db as f64),
                json!({"frequency": m.frequency, "window": m.window}),
            )
        }
        Err(why) => Signal::not_assessed(why),
    };
    // Borders on a copy at most 640 px on its long side: lines are long, detail is noise here.
    let long = img.width().max(img.height());
    let (small, f) = if long > 640 {
        let f = 640.0 / long as f32;
        let (w, h) = (
            ((img.width() as f32 * f).round() as u32).max(1),
            ((img.height() as f32 * f).round() as u32).max(1),
        );
        (verity_face::resize_rgb(img, w, h), f)
    } else {
        (img.clone(), 1.0)
    };
    let gs = Grey::from_rgb(&small);
    // Software padding (letterbox bars) is reported on its own and cut off before the border
    // search: its edge is a straight line on every padded side.
    let pad = padding(&gs);
    let padded = pad.iter().filter(|&&p| p > 0).count();
    s.padding = if padded > 0 {
        Signal::new(
            Status::Warning,
            Some(padded as f64),
            None,
            json!({"left": pad[0], "right": pad[1], "top": pad[2], "bottom": pad[3]}),
        )
        .because("constant-colour bars at the image edges: letterboxed or padded by software")
    } else {
        Signal::new(Status::Pass, Some(0.0), None, Value::Null)
    };
    let (gs, ox, oy) = crop_padding(&gs, pad);
    let r = Rect::from_xywh(b.x * f - ox as f32, b.y * f - oy as f32, b.w * f, b.h * f, gs.w, gs.h);
    let bd = borders(&gs, r);
    let found = bd.found(cfg.border_continuity);
    s.screen_border = if bd.searched() < cfg.border_sides {
        Signal::not_assessed(format!("only {} sides of the face have room to search", bd.searched()))
    } else {
        let status = if found >= cfg.border_sides { Status::Spoof } else { Status::Pass };
        Signal::new(
            status,
            Some(found as f64),
            Some(cfg.border_sides as f64),
            serde_json::to_value(bd).unwrap_or(Value::Null),
        )
    };
    s
}

fn other_faces(a: &Analysis) -> Signal {
    let subject = a.face();
    let others: Vec<Value> = a
        .faces
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != a.chosen)
        .map(|(_, f)| json!({"bbox": [f.bbox.x, f.bbox.y, f.bbox.w, f.bbox.h], "score": f.score, "relative_size": f.bbox.h / subject.bbox.h}))
        .collect();
    if others.is_empty() {
        return Signal::new(Status::Pass, Some(0.0), None, Value::Null);
    }
    let smaller = a.faces.iter().enumerate().any(|(i, f)| i != a.chosen && f.bbox.h < 0.6 * subject.bbox.h);
    let why = if smaller {
        "a smaller face beside the subject: a portrait on an ID card or a photo"
    } else {
        "another person in the picture"
    };
    Signal::new(Status::Warning, Some(others.len() as f64), None, json!({"faces": others})).because(why)
}

fn camera_exif(d: &Decoded) -> Signal {
    let Some(raw) = &d.exif else {
        return Signal::new(Status::Warning, Some(0.0), None, Value::Null)
            .because("no EXIF: not straight from a camera (exported, screenshotted or stripped)");
    };
    let e = exif_summary(raw);
    let detail = serde_json::to_value(&e).unwrap_or(Value::Null);
    if let Some(sw) = e.editing_software() {
        return Signal::new(Status::Warning, Some(1.0), None, detail).because(format!("edited with {sw}"));
    }
    if !e.has_camera() {
        return Signal::new(Status::Warning, Some(0.0), None, detail).because("EXIF names no camera");
    }
    Signal::new(Status::Pass, Some(1.0), None, detail)
}

fn compression(raw: &[u8], cfg: &LivenessConfig) -> Signal {
    match jpeg_quality(raw) {
        None => Signal::not_assessed("not a JPEG (no quantisation tables)"),
        Some(q) => {
            let status = if q < cfg.min_jpeg_quality { Status::Warning } else { Status::Pass };
            let s = Signal::new(status, Some(q as f64), Some(cfg.min_jpeg_quality as f64), Value::Null);
            if status == Status::Warning {
                s.because("heavily compressed: detail that PAD relies on is lost")
            } else {
                s
            }
        }
    }
}

fn resolution(face: &Face, cfg: &LivenessConfig) -> Signal {
    let l = &face.landmarks;
    let iod = ((l[0].x - l[1].x).powi(2) + (l[0].y - l[1].y).powi(2)).sqrt();
    let status = if iod < cfg.min_inter_ocular_px { Status::Warning } else { Status::Pass };
    let s = Signal::new(status, Some(iod as f64), Some(cfg.min_inter_ocular_px as f64), Value::Null);
    if status == Status::Warning {
        s.because("small face: too few pixels for reliable anti-spoofing")
    } else {
        s
    }
}
