//! Which face is the subject.

use serde::Serialize;

use crate::detect::Face;

/// What kind of image the face comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ImageKind {
    /// A selfie or live photo: the subject is the main face.
    Selfie,
    /// A photo or scan of an identity document: the subject is the document's main portrait.
    Document,
}

/// The rule that chose the face, reported with the result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SelectionRule {
    /// Only one face was found.
    OnlyFace,
    /// Selfie: the face with the highest score × size × centrality (see [`choose`]).
    CentreWeighted,
    /// Document: the largest face. The main portrait is the largest; the ghost image (the small
    /// secondary portrait on many cards and passports) and background faces are smaller.
    LargestPortrait,
}

/// Chooses the subject among `faces` (non-empty) in a `w`×`h` image.
///
/// Selfie: weight = score × sqrt(width / widest) × (0.3 + 0.7 · centrality), centrality =
/// 1 − distance of the box centre from the image centre / half the diagonal. On LFW-style
/// photos, "largest face" picked a background person in about half of the errors of a reference
/// pipeline; preferring the centre removed them (see `../shared/MODELS.md`).
pub fn choose(faces: &[Face], kind: ImageKind, w: u32, h: u32) -> Option<(usize, SelectionRule)> {
    match faces.len() {
        0 => None,
        1 => Some((0, SelectionRule::OnlyFace)),
        _ => match kind {
            ImageKind::Document => {
                let i = argmax(faces.iter().map(|f| f.bbox.area() as f64 + f.score as f64 * 1e-3));
                Some((i, SelectionRule::LargestPortrait))
            }
            ImageKind::Selfie => {
                let widest = faces.iter().map(|f| f.bbox.w).fold(1e-3, f32::max) as f64;
                let (cx, cy) = (w as f64 / 2.0, h as f64 / 2.0);
                let half_diag = ((w as f64).hypot(h as f64) / 2.0).max(1.0);
                let i = argmax(faces.iter().map(|f| {
                    let c = f.bbox.center();
                    let d = (c.x as f64 - cx).hypot(c.y as f64 - cy) / half_diag;
                    let centrality = (1.0 - d).clamp(0.0, 1.0);
                    f.score as f64 * (f.bbox.w as f64 / widest).sqrt() * (0.3 + 0.7 * centrality)
                }));
                Some((i, SelectionRule::CentreWeighted))
            }
        },
    }
}

fn argmax(it: impl Iterator<Item = f64>) -> usize {
    it.enumerate().fold((0, f64::NEG_INFINITY), |b, (i, v)| if v > b.1 { (i, v) } else { b }).0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::{BBox, Point};

    fn face(x: f32, y: f32, w: f32) -> Face {
        Face { bbox: BBox { x, y, w, h: w * 1.2 }, score: 0.9, landmarks: [Point::default(); 5] }
    }

    #[test]
    fn selfie_prefers_the_central_face_over_a_larger_one_at_the_edge() {
        let faces = [face(0.0, 0.0, 90.0), face(80.0, 70.0, 70.0)];
        assert_eq!(choose(&faces, ImageKind::Selfie, 250, 250), Some((1, SelectionRule::CentreWeighted)));
    }

    #[test]
    fn document_takes_the_main_portrait_not_the_ghost() {
        let faces = [face(500.0, 100.0, 40.0), face(50.0, 80.0, 120.0)];
        assert_eq!(choose(&faces, ImageKind::Document, 800, 500), Some((1, SelectionRule::LargestPortrait)));
    }
}
