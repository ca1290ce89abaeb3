//! Quality signals of a chosen face, each named with its value and, when it fails, an issue
//! with the limit it broke.

use image::RgbImage;
use serde::Serialize;

use crate::detect::Face;

/// Limits of the quality signals. The defaults are documented in `docs/face-engine.md`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct QualityConfig {
    /// Smallest face box width, in image pixels.
    pub min_face_px: f32,
    /// Smallest variance of the Laplacian of the aligned 112×112 grey face.
    pub min_sharpness: f32,
    /// Mean luma of the face region below this is "too dark".
    pub min_brightness: f32,
    /// Mean luma of the face region above this is "too bright".
    pub max_brightness: f32,
    /// Fraction of face pixels that are saturated (≥ 250 in every channel) above this is glare.
    pub max_glare_fraction: f32,
    /// Largest absolute yaw / pitch / roll (degrees, estimated from landmarks).
    pub max_yaw_deg: f32,
    pub max_pitch_deg: f32,
    pub max_roll_deg: f32,
    /// Another face at least this fraction of the chosen face's width counts as a second person.
    pub other_face_fraction: f32,
    /// Fraction of the face box outside the image above which the face is "cut by the frame".
    pub max_outside_fraction: f32,
}

impl Default for QualityConfig {
    fn default() -> Self {
        Self {
            min_face_px: 40.0,
            min_sharpness: 40.0,
            min_brightness: 50.0,
            max_brightness: 215.0,
            max_glare_fraction: 0.05,
            max_yaw_deg: 35.0,
            max_pitch_deg: 30.0,
            max_roll_deg: 30.0,
            other_face_fraction: 0.5,
            max_outside_fraction: 0.05,
        }
    }
}

/// A failed quality signal.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QualityIssue {
    /// Stable code: `face_too_small`, `blurry`, `too_dark`, `too_bright`, `glare`, `strong_pose`,
    /// `multiple_faces`, `face_cut_by_frame`.
    pub code: &'static str,
    pub value: f32,
    pub limit: f32,
    pub message: String,
}

/// Every signal with its value.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Quality {
    pub face_width_px: f32,
    pub interocular_px: f32,
    /// Variance of the Laplacian of the aligned grey face (higher is sharper).
    pub sharpness: f32,
    /// Mean luma (0–255) of the face region.
    pub brightness: f32,
    /// Fraction of face pixels saturated in every channel.
    pub glare_fraction: f32,
    /// Head pose estimated from the 5 landmarks, degrees (yaw +: subject turned to their left,
    /// pitch +: looking down, roll +: head tilted clockwise in the image).
    pub yaw_deg: f32,
    pub pitch_deg: f32,
    pub roll_deg: f32,
    /// Faces detected in the image, and how many besides the chosen one are large enough to be
    /// another person in the frame.
    pub faces_detected: usize,
    pub other_large_faces: usize,
    /// Fraction of the face box that lies outside the image.
    pub outside_fraction: f32,
    pub issues: Vec<QualityIssue>,
}

impl Quality {
    pub fn ok(&self) -> bool {
        self.issues.is_empty()
    }
    pub fn has(&self, code: &str) -> bool {
        self.issues.iter().any(|i| i.code == code)
    }
}

/// Pose from landmarks (a weak-perspective estimate, good to ~10°).
///
/// Roll is the angle of the eye line. Yaw comes from the horizontal offset of the nose tip from
/// the eyes' midpoint, relative to the eye distance, with the nose tip standing ~0.55 eye
/// distances in front of the eye plane: offset = 0.55·tan(yaw). Pitch comes from where the nose
/// tip sits between the eye line and the mouth line: 0.49 on the frontal template.
pub fn pose(face: &Face) -> (f32, f32, f32) {
    let [re, le, nose, rm, lm] = face.landmarks;
    let roll = (le.y - re.y).atan2(le.x - re.x);
    let (c, s) = (roll.cos(), roll.sin());
    // De-roll around the eye midpoint.
    let mid = ((re.x + le.x) / 2.0, (re.y + le.y) / 2.0);
    let rot = |p: crate::Point| {
        let (dx, dy) = (p.x - mid.0, p.y - mid.1);
        (dx * c + dy * s, -dx * s + dy * c)
    };
    let iod = ((le.x - re.x).powi(2) + (le.y - re.y).powi(2)).sqrt().max(1e-3);
    let n = rot(nose);
    let mouth_mid = rot(crate::Point { x: (rm.x + lm.x) / 2.0, y: (rm.y + lm.y) / 2.0 });
    let yaw = (n.0 / iod / 0.55).atan();
    let eye_to_mouth = mouth_mid.1.max(1e-3);
    let q = n.1 / eye_to_mouth; // 0.49 frontal
    let pitch = ((q - 0.494) / 0.5).atan();
    (yaw.to_degrees(), pitch.to_degrees(), roll.to_degrees())
}

/// Computes the quality signals of `chosen` among `faces` in `image`, with its aligned crop.
pub fn assess(
    image: &RgbImage,
    faces: &[Face],
    chosen: usize,
    aligned: &RgbImage,
    cfg: &QualityConfig,
) -> Quality {
    let face = &faces[chosen];
    let (w, h) = image.dimensions();
    let [re, le, ..] = face.landmarks;
    let interocular = ((le.x - re.x).powi(2) + (le.y - re.y).powi(2)).sqrt();

    let (brightness, glare) = match face.bbox.clip(w, h) {
        Some((x0, y0, x1, y1)) => {
            let (mut sum, mut sat, mut n) = (0f64, 0usize, 0usize);
            for y in y0..y1 {
                for x in x0..x1 {
                    let p = image.get_pixel(x, y);
                    sum += luma(p.0) as f64;
                    if p[0] >= 250 && p[1] >= 250 && p[2] >= 250 {
                        sat += 1;
                    }
                    n += 1;
                }
            }
            ((sum / n.max(1) as f64) as f32, sat as f32 / n.max(1) as f32)
        }
        None => (0.0, 0.0),
    };
    let sharpness = laplacian_variance(aligned);
    let (yaw, pitch, roll) = pose(face);
    let inside = face.bbox.clip(w, h).map(|(x0, y0, x1, y1)| ((x1 - x0) * (y1 - y0)) as f32).unwrap_or(0.0);
    let outside_fraction =
        if face.bbox.area() > 0.0 { (1.0 - inside / face.bbox.area()).clamp(0.0, 1.0) } else { 1.0 };
    let other_large = faces
        .iter()
        .enumerate()
        .filter(|(i, f)| *i != chosen && f.bbox.w >= cfg.other_face_fraction * face.bbox.w)
        .count();

    let mut issues = Vec::new();
    let mut issue = |code: &'static str, value: f32, limit: f32, message: String| {
        issues.push(QualityIssue { code, value, limit, message })
    };
    if face.bbox.w < cfg.min_face_px {
        issue(
            "face_too_small",
            face.bbox.w,
            cfg.min_face_px,
            format!("the face is {:.0} px wide; at least {:.0} px is needed", face.bbox.w, cfg.min_face_px),
        );
    }
    if sharpness < cfg.min_sharpness {
        issue(
            "blurry",
            sharpness,
            cfg.min_sharpness,
            format!("the face is blurred (sharpness {sharpness:.0} < {:.0})", cfg.min_sharpness),
        );
    }
    if brightness < cfg.min_brightness {
        issue(
            "too_dark",
            brightness,
            cfg.min_brightness,
            format!("the face is too dark (mean luma {brightness:.0} < {:.0})", cfg.min_brightness),
        );
    }
    if brightness > cfg.max_brightness {
        issue(
            "too_bright",
            brightness,
            cfg.max_brightness,
            format!("the face is too bright (mean luma {brightness:.0} > {:.0})", cfg.max_brightness),
        );
    }
    if glare > cfg.max_glare_fraction {
        issue(
            "glare",
            glare,
            cfg.max_glare_fraction,
            format!("{:.0}% of the face is saturated (glare)", glare * 100.0),
        );
    }
    let pose_excess = [
        (yaw.abs(), cfg.max_yaw_deg, "yaw"),
        (pitch.abs(), cfg.max_pitch_deg, "pitch"),
        (roll.abs(), cfg.max_roll_deg, "roll"),
    ];
    if let Some((v, lim, name)) = pose_excess.iter().copied().find(|(v, lim, _)| v > lim) {
        issue("strong_pose", v, lim, format!("the head is turned too far ({name} {v:.0}° > {lim:.0}°)"));
    }
    if other_large > 0 {
        issue(
            "multiple_faces",
            (other_large + 1) as f32,
            1.0,
            format!("{} faces of similar size are in the image", other_large + 1),
        );
    }
    if outside_fraction > cfg.max_outside_fraction {
        issue(
            "face_cut_by_frame",
            outside_fraction,
            cfg.max_outside_fraction,
            format!("{:.0}% of the face is outside the image", outside_fraction * 100.0),
        );
    }
    Quality {
        face_width_px: face.bbox.w,
        interocular_px: interocular,
        sharpness,
        brightness,
        glare_fraction: glare,
        yaw_deg: yaw,
        pitch_deg: pitch,
        roll_deg: roll,
        faces_detected: faces.len(),
        other_large_faces: other_large,
        outside_fraction,
        issues,
    }
}

fn luma(p: [u8; 3]) -> f32 {
    0.299 * p[0] as f32 + 0.587 * p[1] as f32 + 0.114 * p[2] as f32
}

/// Variance of the 4-neighbour Laplacian over the central part of an aligned face (eyes, nose,
/// mouth; the border holds background and black fill).
pub fn laplacian_variance(aligned: &RgbImage) -> f32 {
    let (w, h) = aligned.dimensions();
    if w < 8 || h < 8 {
        return 0.0;
    }
    let g: Vec<f32> = aligned.pixels().map(|p| luma(p.0)).collect();
    let at = |x: u32, y: u32| g[(y * w + x) as usize];
    let (x0, x1, y0, y1) = (w * 20 / 112, w * 92 / 112, h * 30 / 112, h * 104 / 112);
    let (mut sum, mut sum2, mut n) = (0f64, 0f64, 0f64);
    for y in y0.max(1)..y1.min(h - 1) {
        for x in x0.max(1)..x1.min(w - 1) {
            let l = at(x - 1, y) + at(x + 1, y) + at(x, y - 1) + at(x, y + 1) - 4.0 * at(x, y);
            sum += l as f64;
            sum2 += (l as f64) * (l as f64);
            n += 1.0;
        }
    }
    if n == 0.0 {
        return 0.0;
    }
    let mean = sum / n;
    (sum2 / n - mean * mean) as f32
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::embed::TEMPLATE;
    use crate::geometry::{BBox, Point};

    fn template_face(scale: f32, dx: f32) -> Face {
        Face {
            bbox: BBox { x: 0.0, y: 0.0, w: 112.0 * scale, h: 112.0 * scale },
            score: 0.9,
            landmarks: TEMPLATE
                .map(|p| Point { x: p.x * scale + if p == TEMPLATE[2] { dx } else { 0.0 }, y: p.y * scale }),
        }
    }

    #[test]
    fn frontal_template_has_near_zero_pose() {
        let (y, p, r) = pose(&template_face(2.0, 0.0));
        assert!(y.abs() < 2.0 && p.abs() < 2.0 && r.abs() < 1.0, "{y} {p} {r}");
    }

    #[test]
    fn nose_shift_reads_as_yaw() {
        // Eye distance 70.5; nose moved by 0.55·70.5 → yaw 45°.
        let (y, _, _) = pose(&template_face(2.0, 0.55 * 70.47));
        assert!((y - 45.0).abs() < 2.0, "{y}");
    }

    #[test]
    fn flat_grey_face_is_blurry_and_checkerboard_is_sharp() {
        let flat = RgbImage::from_pixel(112, 112, image::Rgb([128; 3]));
        assert_eq!(laplacian_variance(&flat), 0.0);
        let sharp =
            RgbImage::from_fn(112, 112, |x, y| image::Rgb([if (x + y) % 2 == 0 { 0 } else { 255 }; 3]));
        assert!(laplacian_variance(&sharp) > 1000.0);
    }

    #[test]
    fn dark_small_cut_face_gets_named_issues() {
        let img = RgbImage::from_pixel(100, 100, image::Rgb([10; 3]));
        let mut f = template_face(0.3, 0.0);
        f.bbox.x = -10.0;
        let aligned = RgbImage::from_pixel(112, 112, image::Rgb([10; 3]));
        let q = assess(&img, &[f], 0, &aligned, &QualityConfig::default());
        for code in ["face_too_small", "blurry", "too_dark", "face_cut_by_frame"] {
            assert!(q.has(code), "{code} in {:?}", q.issues);
        }
        assert!(!q.has("multiple_faces") && !q.has("glare"));
    }
}
