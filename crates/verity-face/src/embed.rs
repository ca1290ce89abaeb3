//! Alignment onto SFace's 112×112 template, embedding, and similarity scoring.

use image::RgbImage;
use serde::Serialize;

use crate::detect::Face;
use crate::geometry::{warp_similarity, Point, Similarity};
use crate::model::{EmbedderModel, EMBEDDER_INPUT, EMBEDDING_DIM};
use crate::FaceError;

/// The standard 5-point template of the 112×112 aligned face (ArcFace / SFace).
pub const TEMPLATE: [Point; 5] = [
    Point { x: 38.2946, y: 51.6963 },
    Point { x: 73.5318, y: 51.5014 },
    Point { x: 56.0252, y: 71.7366 },
    Point { x: 41.5493, y: 92.3655 },
    Point { x: 70.7299, y: 92.2041 },
];

/// An L2-normalised face embedding.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Embedding(pub Vec<f32>);

impl Embedding {
    /// Cosine similarity (both are unit vectors).
    pub fn cosine(&self, other: &Embedding) -> f32 {
        self.0.iter().zip(&other.0).map(|(a, b)| a * b).sum::<f32>().clamp(-1.0, 1.0)
    }
}

/// The face warped onto the template, and the transform used.
pub fn align(image: &RgbImage, face: &Face) -> (RgbImage, Similarity) {
    let t = Similarity::estimate(&face.landmarks, &TEMPLATE);
    (warp_similarity(image, &t, EMBEDDER_INPUT as u32), t)
}

/// Embeds an aligned 112×112 face.
pub fn embed_aligned(model: &dyn EmbedderModel, aligned: &RgbImage) -> Result<Embedding, FaceError> {
    let n = EMBEDDER_INPUT;
    if aligned.dimensions() != (n as u32, n as u32) {
        return Err(FaceError::Inference(format!(
            "aligned face is {:?}, expected {n}x{n}",
            aligned.dimensions()
        )));
    }
    let plane = n * n;
    let mut input = vec![0f32; 3 * plane];
    for (i, p) in aligned.pixels().enumerate() {
        input[i] = p[0] as f32;
        input[plane + i] = p[1] as f32;
        input[2 * plane + i] = p[2] as f32;
    }
    let raw = model.run(&input)?;
    Ok(normalise(raw))
}

fn normalise(raw: [f32; EMBEDDING_DIM]) -> Embedding {
    let norm = raw.iter().map(|v| v * v).sum::<f32>().sqrt();
    let inv = if norm > 0.0 && norm.is_finite() { 1.0 / norm } else { 0.0 };
    Embedding(raw.iter().map(|v| v * inv).collect())
}

/// How cosine similarity becomes ComplyCube's 0–100 `facialSimilarityScore`, and the decision.
///
/// Piecewise linear: cosine ≤ 0 → 0; `threshold` → 50; `certain` → 100 (and above). So a score
/// of 50 or more means "match" at the calibrated threshold, and 100 means a similarity at which,
/// in calibration, no impostor pair was seen. See `docs/face-calibration.md`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ScoreScale {
    /// Cosine at and above which two faces are taken to be the same person.
    pub threshold: f32,
    /// Cosine mapped to 100.
    pub certain: f32,
}

/// Calibrated on the 600 LFW View-2 fold-2 pairs (see `docs/face-calibration.md`).
pub const DEFAULT_SCALE: ScoreScale = ScoreScale { threshold: 0.325, certain: 0.70 };

impl ScoreScale {
    pub fn score(&self, cosine: f32) -> f32 {
        let s = if cosine <= 0.0 {
            0.0
        } else if cosine < self.threshold {
            50.0 * cosine / self.threshold
        } else {
            50.0 + 50.0 * (cosine - self.threshold) / (self.certain - self.threshold)
        };
        (s.clamp(0.0, 100.0) * 10.0).round() / 10.0
    }
    pub fn is_match(&self, cosine: f32) -> bool {
        cosine >= self.threshold
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn score_scale_is_monotonic_and_anchored() {
        let s = DEFAULT_SCALE;
        assert_eq!(s.score(-0.5), 0.0);
        assert_eq!(s.score(s.threshold), 50.0);
        assert_eq!(s.score(s.certain), 100.0);
        assert_eq!(s.score(1.0), 100.0);
        let mut last = -1.0;
        for i in -100..=100 {
            let v = s.score(i as f32 / 100.0);
            assert!(v >= last);
            last = v;
        }
        assert!(s.is_match(s.threshold) && !s.is_match(s.threshold - 0.001));
    }

    struct Constant;
    impl EmbedderModel for Constant {
        fn run(&self, input: &[f32]) -> Result<[f32; EMBEDDING_DIM], FaceError> {
            let mut v = [0f32; EMBEDDING_DIM];
            v[0] = 3.0;
            v[1] = input[0] + 4.0; // depends on the red channel of pixel (0,0)
            Ok(v)
        }
    }

    #[test]
    fn embeddings_are_unit_length_and_red_goes_first() {
        let mut img = RgbImage::new(112, 112);
        img.put_pixel(0, 0, image::Rgb([0, 9, 9]));
        let e = embed_aligned(&Constant, &img).expect("embeds");
        assert!((e.0[0] - 0.6).abs() < 1e-6 && (e.0[1] - 0.8).abs() < 1e-6);
        assert!((e.cosine(&e) - 1.0).abs() < 1e-6);
        assert!(embed_aligned(&Constant, &RgbImage::new(10, 10)).is_err());
    }
}
