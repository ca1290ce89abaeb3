//! Face detection with YuNet: letterboxing, output decoding, NMS, multi-scale passes and the
//! sideways fallback.

use image::RgbImage;
use serde::Serialize;

use crate::geometry::{resize_rgb, BBox, Point};
use crate::model::{DetectorModel, DetectorOutput, DETECTOR_INPUT};
use crate::FaceError;

/// One detected face, in the coordinates of the (upright) image it was found in.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Face {
    pub bbox: BBox,
    /// Detector confidence, 0–1 (sqrt(cls × obj)).
    pub score: f32,
    /// Right eye, left eye, nose tip, right mouth corner, left mouth corner (subject's right/left,
    /// so the "right eye" is on the image's left in a frontal photo).
    pub landmarks: [Point; 5],
}

/// Detection settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DetectConfig {
    /// Faces scoring below this are dropped.
    pub score_threshold: f32,
    /// Boxes overlapping more than this (IoU) with a better one are dropped.
    pub nms_iou: f32,
    /// Largest upscaling of a small image for the first pass.
    pub max_upscale: f32,
    /// A face at least this wide (detector pixels) in the coarse pass makes the fine pass
    /// unnecessary (see `detect_upright`).
    pub coarse_min_face: f32,
    /// Always run the fine pass too (finds small faces beside a large one; for signals such as
    /// "a second face or an ID card in the selfie").
    pub exhaustive: bool,
    /// Try 90°, 180° and 270° when nothing is found upright, or the best face upright scores
    /// below `rotation_check_below` or lies on its side.
    pub try_rotations: bool,
    pub rotation_check_below: f32,
}

impl Default for DetectConfig {
    fn default() -> Self {
        Self {
            score_threshold: 0.6,
            nms_iou: 0.3,
            max_upscale: 2.0,
            coarse_min_face: 48.0,
            exhaustive: false,
            try_rotations: true,
            rotation_check_below: 0.9,
        }
    }
}

/// The result of detection on one image.
#[derive(Debug, Clone)]
pub struct Detection {
    /// Faces, best score first, in the coordinates of `upright`.
    pub faces: Vec<Face>,
    /// Clockwise rotation (0, 90, 180, 270) applied to the input before the faces were found.
    pub rotation: u16,
    /// The image the coordinates refer to (the input turned by `rotation`).
    pub upright: RgbImage,
    /// Scales (detector pixels per image pixel) of the passes run, in order.
    pub passes: Vec<f32>,
}

/// Detects faces; when none is found upright, or the best one lies on its side, finds them in
/// the image turned by 90°, 180° or 270°.
pub fn detect(
    model: &dyn DetectorModel,
    image: &RgbImage,
    cfg: &DetectConfig,
) -> Result<Detection, FaceError> {
    let mut passes = Vec::new();
    let faces = detect_upright(model, image, cfg, &mut passes)?;
    let confident = faces
        .first()
        .is_some_and(|f| f.score >= cfg.rotation_check_below && crate::quality::pose(f).2.abs() <= 45.0);
    if !cfg.try_rotations || confident {
        return Ok(Detection { faces, rotation: 0, upright: image.clone(), passes });
    }
    // Nothing found upright, or only a weak or lying face: YuNet sometimes fires on a face
    // turned on its side with a low score and meaningless landmarks, and on an upside-down face
    // with a fair one (0.87 where the upright face scores 0.95). Try the other three
    // orientations and keep the one whose best face scores highest (a turned orientation must
    // beat the upright one by a margin).
    let best_score = |f: &[Face]| f.first().map(|f| f.score).unwrap_or(0.0);
    let mut best = Detection { faces, rotation: 0, upright: image.clone(), passes: Vec::new() };
    let mut best_s = best_score(&best.faces);
    for rotation in [90u16, 270, 180] {
        let turned = rotate(image, rotation);
        let faces = detect_upright(model, &turned, cfg, &mut passes)?;
        let s = best_score(&faces);
        if !faces.is_empty()
            && s > best_s + if best.rotation == 0 && !best.faces.is_empty() { 0.05 } else { 0.0 }
        {
            best_s = s;
            best = Detection { faces, rotation, upright: turned, passes: Vec::new() };
        }
    }
    best.passes = passes;
    Ok(best)
}

/// The image turned clockwise by 90, 180 or 270 degrees.
fn rotate(image: &RgbImage, clockwise: u16) -> RgbImage {
    match clockwise {
        90 => image::imageops::rotate90(image),
        180 => image::imageops::rotate180(image),
        270 => image::imageops::rotate270(image),
        _ => image.clone(),
    }
}

/// Multi-scale detection on one orientation, coarse to fine.
///
/// The *fine* scale fits the image's longer side to the 640 input (upscaling small images at
/// most `max_upscale`×). When the image at half that scale is still at least 160 px, a *coarse*
/// pass runs first at half the fine scale: it finds large faces (a selfie), which YuNet handles
/// poorly at the fine scale (its anchors favour faces under ~300 px), for a quarter of the cost.
/// If the coarse pass finds a face at least `coarse_min_face` detector pixels wide, every face
/// half its width or more is also within the coarse pass's reach, so the fine pass is skipped
/// (unless `exhaustive`). Otherwise the fine pass runs. If the image is much larger than the
/// input and nothing is found, a last pass tiles it at 3× the fine scale (at most 1:1): a small
/// portrait on a photographed card.
fn detect_upright(
    model: &dyn DetectorModel,
    image: &RgbImage,
    cfg: &DetectConfig,
    passes: &mut Vec<f32>,
) -> Result<Vec<Face>, FaceError> {
    let (w, h) = image.dimensions();
    let long = w.max(h) as f32;
    let fine = (DETECTOR_INPUT as f32 / long).min(cfg.max_upscale);
    let coarse = fine * 0.5;
    let mut faces = Vec::new();
    let mut need_fine = true;
    if long * coarse >= 160.0 {
        faces = run_at_scale(model, image, coarse, (0, 0), cfg)?;
        passes.push(coarse);
        let widest = faces.iter().map(|f| f.bbox.w * coarse).fold(0.0, f32::max);
        need_fine = cfg.exhaustive || widest < cfg.coarse_min_face;
    }
    if need_fine {
        faces.extend(run_at_scale(model, image, fine, (0, 0), cfg)?);
        passes.push(fine);
    }
    if faces.is_empty() && long > 1.5 * DETECTOR_INPUT as f32 {
        // Tiles of 640 detector pixels at 3× the fine scale (at most 1:1), overlapping by a quarter.
        let s3 = (3.0 * fine).min(1.0);
        let tile = (DETECTOR_INPUT as f32 / s3) as u32;
        let step = (tile * 3 / 4).max(1);
        passes.push(s3);
        let mut y = 0;
        loop {
            let mut x = 0;
            loop {
                faces.extend(run_at_scale(model, image, s3, (x, y), cfg)?);
                if x + tile >= w {
                    break;
                }
                x += step;
            }
            if y + tile >= h {
                break;
            }
            y += step;
        }
    }
    Ok(nms(faces, cfg.nms_iou))
}

/// Detector input sides are rounded up to a multiple of this (a multiple of YuNet's 32), so few
/// distinct input shapes (at most 16) need a compiled plan.
pub const INPUT_BUCKET: usize = 160;

/// Runs the detector on the window of `image` starting at `origin`, scaled by `scale`, placed
/// top-left on a black canvas whose sides are the scaled size rounded up to [`INPUT_BUCKET`]
/// (at most 640). Returns faces in image coordinates.
fn run_at_scale(
    model: &dyn DetectorModel,
    image: &RgbImage,
    scale: f32,
    origin: (u32, u32),
    cfg: &DetectConfig,
) -> Result<Vec<Face>, FaceError> {
    let n = DETECTOR_INPUT;
    let (w, h) = image.dimensions();
    let win_w = (w - origin.0).min((n as f32 / scale).floor() as u32).max(1);
    let win_h = (h - origin.1).min((n as f32 / scale).floor() as u32).max(1);
    let window = if origin == (0, 0) && win_w == w && win_h == h {
        std::borrow::Cow::Borrowed(image)
    } else {
        std::borrow::Cow::Owned(image::imageops::crop_imm(image, origin.0, origin.1, win_w, win_h).to_image())
    };
    let tw = ((win_w as f32 * scale).round() as u32).clamp(1, n as u32);
    let th = ((win_h as f32 * scale).round() as u32).clamp(1, n as u32);
    let resized = resize_rgb(&window, tw, th);
    // Actual scale per axis after rounding.
    let (sx, sy) = (tw as f32 / win_w as f32, th as f32 / win_h as f32);

    let iw = (tw as usize).div_ceil(INPUT_BUCKET).max(1) * INPUT_BUCKET;
    let ih = (th as usize).div_ceil(INPUT_BUCKET).max(1) * INPUT_BUCKET;
    let (iw, ih) = (iw.min(n), ih.min(n));
    let plane = iw * ih;
    let mut input = vec![0f32; 3 * plane];
    for (y, row) in resized.rows().enumerate() {
        let base = y * iw;
        for (x, p) in row.enumerate() {
            let i = base + x;
            input[i] = p[2] as f32; // B
            input[plane + i] = p[1] as f32; // G
            input[2 * plane + i] = p[0] as f32; // R
        }
    }
    let out = model.run(&input, iw, ih)?;
    let faces = decode(&out, cfg.score_threshold)?;
    let (ox, oy) = (origin.0 as f32, origin.1 as f32);
    Ok(faces
        .into_iter()
        .map(|f| {
            let map = |p: Point| Point { x: p.x / sx + ox, y: p.y / sy + oy };
            Face {
                bbox: BBox {
                    x: f.bbox.x / sx + ox,
                    y: f.bbox.y / sy + oy,
                    w: f.bbox.w / sx,
                    h: f.bbox.h / sy,
                },
                score: f.score,
                landmarks: f.landmarks.map(map),
            }
        })
        .collect())
}

/// Decodes YuNet's outputs (in detector-input pixels).
pub fn decode(out: &DetectorOutput, threshold: f32) -> Result<Vec<Face>, FaceError> {
    let mut faces = Vec::new();
    for (k, stride) in [8usize, 16, 32].into_iter().enumerate() {
        let cols = out.width / stride;
        let cells = cols * (out.height / stride);
        if out.cls[k].len() < cells
            || out.obj[k].len() < cells
            || out.bbox[k].len() < 4 * cells
            || out.kps[k].len() < 10 * cells
        {
            return Err(FaceError::Inference(format!("detector output for stride {stride} is too short")));
        }
        let s = stride as f32;
        for idx in 0..cells {
            let cls = out.cls[k][idx].clamp(0.0, 1.0);
            let obj = out.obj[k][idx].clamp(0.0, 1.0);
            let score = (cls * obj).sqrt();
            if score < threshold {
                continue;
            }
            let (r, c) = ((idx / cols) as f32, (idx % cols) as f32);
            let b = &out.bbox[k][idx * 4..idx * 4 + 4];
            let cx = (c + b[0]) * s;
            let cy = (r + b[1]) * s;
            let bw = b[2].exp() * s;
            let bh = b[3].exp() * s;
            let kp = &out.kps[k][idx * 10..idx * 10 + 10];
            let landmarks =
                std::array::from_fn(|j| Point { x: (kp[2 * j] + c) * s, y: (kp[2 * j + 1] + r) * s });
            faces.push(Face {
                bbox: BBox { x: cx - bw / 2.0, y: cy - bh / 2.0, w: bw, h: bh },
                score,
                landmarks,
            });
        }
    }
    Ok(faces)
}

/// Greedy non-maximum suppression, best score first.
pub fn nms(mut faces: Vec<Face>, iou_threshold: f32) -> Vec<Face> {
    faces.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut kept: Vec<Face> = Vec::with_capacity(faces.len());
    for f in faces {
        if kept.iter().all(|k| k.bbox.iou(&f.bbox) <= iou_threshold) {
            kept.push(f);
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    fn face(x: f32, y: f32, w: f32, score: f32) -> Face {
        Face { bbox: BBox { x, y, w, h: w }, score, landmarks: [Point { x, y }; 5] }
    }

    #[test]
    fn nms_keeps_the_best_of_overlapping_boxes() {
        let kept =
            nms(vec![face(0.0, 0.0, 10.0, 0.7), face(1.0, 1.0, 10.0, 0.9), face(50.0, 50.0, 10.0, 0.8)], 0.3);
        assert_eq!(kept.len(), 2);
        assert_eq!(kept[0].score, 0.9);
        assert_eq!(kept[1].score, 0.8);
    }

    /// A fake detector that reports one face at a fixed place of the 640 input: decoding and the
    /// mapping back to image coordinates can be checked without a model.
    struct OneFace {
        cell: (usize, usize),
    }
    impl DetectorModel for OneFace {
        fn run(&self, input: &[f32], width: usize, height: usize) -> Result<DetectorOutput, FaceError> {
            assert_eq!(input.len(), 3 * width * height);
            let mut out = DetectorOutput { width, height, ..Default::default() };
            for (k, stride) in [8usize, 16, 32].into_iter().enumerate() {
                let cells = (width / stride) * (height / stride);
                out.cls[k] = vec![0.0; cells];
                out.obj[k] = vec![0.0; cells];
                out.bbox[k] = vec![0.0; 4 * cells];
                out.kps[k] = vec![0.0; 10 * cells];
            }
            // stride 16, cell (row r, col c): centre (c*16, r*16), size 16*e^2 (118 px).
            let idx = self.cell.0 * (width / 16) + self.cell.1;
            out.cls[1][idx] = 0.81;
            out.obj[1][idx] = 1.0;
            out.bbox[1][idx * 4 + 2] = 2.0;
            out.bbox[1][idx * 4 + 3] = 2.0;
            Ok(out)
        }
    }

    #[test]
    fn decoding_maps_back_to_image_pixels_at_both_scales() {
        let model = OneFace { cell: (4, 8) };
        // 1280×640 image: fine scale 0.5, coarse 0.25. The fake face at detector (128, 64) is
        // image (256, 128) in the fine pass and (512, 256) in the coarse pass.
        let img = RgbImage::new(1280, 640);
        let cfg = DetectConfig { coarse_min_face: f32::MAX, ..Default::default() };
        let d = detect(&model, &img, &cfg).expect("runs");
        assert_eq!(d.rotation, 0);
        assert_eq!(d.passes, vec![0.25, 0.5]);
        assert_eq!(d.faces.len(), 2);
        for (scale, cx, cy) in [(0.5f32, 256.0f32, 128.0f32), (0.25, 512.0, 256.0)] {
            let size = 16.0 * 2f32.exp() / scale;
            let f = d.faces.iter().find(|f| (f.bbox.w - size).abs() < 0.01).expect("face at scale");
            assert!((f.score - 0.9).abs() < 1e-6);
            assert!((f.bbox.x + f.bbox.w / 2.0 - cx).abs() < 0.01, "{:?}", f.bbox);
            assert!((f.bbox.y + f.bbox.h / 2.0 - cy).abs() < 0.01, "{:?}", f.bbox);
        }
        // A large face in the coarse pass makes the fine pass unnecessary.
        let d = detect(&model, &img, &DetectConfig::default()).expect("runs");
        assert_eq!(d.passes, vec![0.25]);
    }

    struct NoFace;
    impl DetectorModel for NoFace {
        fn run(&self, input: &[f32], width: usize, height: usize) -> Result<DetectorOutput, FaceError> {
            OneFace { cell: (0, 0) }.run(input, width, height).map(|mut o| {
                o.cls[1][0] = 0.0;
                o
            })
        }
    }

    #[test]
    fn nothing_found_tries_every_rotation_and_tiles_large_images() {
        let img = RgbImage::new(2000, 1000);
        let d = detect(&NoFace, &img, &DetectConfig::default()).expect("runs");
        assert!(d.faces.is_empty());
        assert_eq!(d.rotation, 0);
        // 4 orientations × (coarse, fine, tiles).
        assert_eq!(d.passes.len(), 12);
    }
}
