//! Following the subject's face across frames, verifying the challenges from its landmarks, and
//! the planarity test (one homography explains a flat photo or screen moved before the camera).

use image::RgbImage;
use verity_face::{pose, DetectConfig, Face, FaceEngine, Point};

use super::*;
use crate::LivenessError;

// ---------------------------------------------------------------- tracking

#[derive(Debug, Clone, Copy)]
pub(super) struct Track {
    pub(super) frame: usize,
    pub(super) face: Face,
    pub(super) yaw: f32,
    pub(super) pitch: f32,
    pub(super) iod: f32,
    pub(super) mouth: f32,
    pub(super) width_frac: f32,
    pub(super) sharpness: f32,
}

pub(super) fn dist(a: Point, b: Point) -> f32 {
    ((a.x - b.x).powi(2) + (a.y - b.y).powi(2)).sqrt()
}

/// Follows the subject's face from frame to frame.
pub(super) struct Tracker<'a> {
    face: &'a FaceEngine,
    cfg: DetectConfig,
    pub(super) tracks: Vec<Track>,
    last: Option<Face>,
}

impl<'a> Tracker<'a> {
    pub(super) fn new(face: &'a FaceEngine) -> Self {
        let cfg = DetectConfig { try_rotations: false, ..face.config().detect };
        Self { face, cfg, tracks: Vec::new(), last: None }
    }

    pub(super) fn push(&mut self, i: usize, img: &RgbImage) -> Result<(), LivenessError> {
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

pub(super) fn median(v: &mut [f32]) -> f32 {
    if v.is_empty() {
        return f32::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// Indices of up to `n` elements spread evenly over `0..len`.
pub(super) fn spread(len: usize, n: usize) -> Vec<usize> {
    if len <= n {
        return (0..len).collect();
    }
    (0..n).map(|k| k * (len - 1) / (n - 1).max(1)).collect()
}

// ---------------------------------------------------------------- challenges

pub(super) fn frame_ms(frame: usize, fps: f64) -> u64 {
    (frame as f64 * 1000.0 / fps).round() as u64
}

/// Verifies the challenges in order: each must be met at a frame after the previous one was met.
pub(super) fn verify_challenges(
    tracks: &[Track],
    challenges: &[Challenge],
    fps: f64,
) -> Vec<ChallengeResult> {
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
pub(super) fn solve8(mut a: [[f64; 9]; 8]) -> Option<[f64; 8]> {
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
