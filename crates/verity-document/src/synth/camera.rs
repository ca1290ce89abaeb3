//! The camera of the synthetic documents: where the page lies on the photo (a homography),
//! how it is sampled, and the photograph itself (light, glare, blur, noise) for
//! [`super::generate`] and its siblings. `super::recapture` has the Bayer-sensor camera.

use image::{Rgb, RgbImage};

use super::{Rng, Severity};

/// Solves the 3×3 homography mapping `dst` corners to `src` corners (inverse mapping).
pub(super) fn homography(src: [(f32, f32); 4], dst: [(f32, f32); 4]) -> Option<[f32; 9]> {
    // 8 unknowns: h = [a b c d e f g h], i = 1.
    let mut m = [[0f64; 9]; 8];
    for (k, (&(x, y), &(u, v))) in dst.iter().zip(src.iter()).enumerate() {
        let (x, y, u, v) = (x as f64, y as f64, u as f64, v as f64);
        m[2 * k] = [x, y, 1.0, 0.0, 0.0, 0.0, -u * x, -u * y, u];
        m[2 * k + 1] = [0.0, 0.0, 0.0, x, y, 1.0, -v * x, -v * y, v];
    }
    for col in 0..8 {
        let piv = (col..8).max_by(|&a, &b| m[a][col].abs().total_cmp(&m[b][col].abs()))?;
        if m[piv][col].abs() < 1e-12 {
            return None;
        }
        m.swap(col, piv);
        for r in 0..8 {
            if r != col {
                let f = m[r][col] / m[col][col];
                let pivot_row = m[col];
                for (dst, src) in m[r].iter_mut().zip(pivot_row.iter()).skip(col) {
                    *dst -= f * src;
                }
            }
        }
    }
    let mut h = [0f32; 9];
    for i in 0..8 {
        h[i] = (m[i][8] / m[i][i]) as f32;
    }
    h[8] = 1.0;
    Some(h)
}

pub(super) fn bilinear(img: &RgbImage, x: f32, y: f32, bg: [f32; 3]) -> [f32; 3] {
    let (w, h) = (img.width() as i64, img.height() as i64);
    let (x, y) = (x - 0.5, y - 0.5);
    let (x0, y0) = (x.floor() as i64, y.floor() as i64);
    let (fx, fy) = (x - x0 as f32, y - y0 as f32);
    let px = |xx: i64, yy: i64| -> [f32; 3] {
        if xx < 0 || yy < 0 || xx >= w || yy >= h {
            bg
        } else {
            let p = img.get_pixel(xx as u32, yy as u32);
            [p[0] as f32, p[1] as f32, p[2] as f32]
        }
    };
    let (a, b, c, d) = (px(x0, y0), px(x0 + 1, y0), px(x0, y0 + 1), px(x0 + 1, y0 + 1));
    let mut o = [0f32; 3];
    for k in 0..3 {
        o[k] = (a[k] * (1.0 - fx) + b[k] * fx) * (1.0 - fy) + (c[k] * (1.0 - fx) + d[k] * fx) * fy;
    }
    o
}

/// The homography from photo pixels to `doc` pixels for a document `size` pixels large on the
/// photo, centred at `centre`, turned by `angle` (radians), each corner moved at random by up to
/// `persp` of the size.
pub(super) fn place(
    rng: &mut Rng,
    doc: &RgbImage,
    size: (f32, f32),
    centre: (f32, f32),
    angle: f32,
    persp: f32,
) -> [f32; 9] {
    let ((dw, dh), (cx, cy)) = (size, centre);
    let (ca, sa) = (angle.cos(), angle.sin());
    let corners =
        [(-dw / 2.0, -dh / 2.0), (dw / 2.0, -dh / 2.0), (dw / 2.0, dh / 2.0), (-dw / 2.0, dh / 2.0)];
    let dst: Vec<(f32, f32)> = corners
        .iter()
        .map(|&(x, y)| {
            let (jx, jy) = (rng.range(-1.0, 1.0) * persp * dw, rng.range(-1.0, 1.0) * persp * dh);
            (cx + (x + jx) * ca - (y + jy) * sa, cy + (x + jx) * sa + (y + jy) * ca)
        })
        .collect();
    let (w, h) = (doc.width() as f32, doc.height() as f32);
    homography([(0.0, 0.0), (w, 0.0), (w, h), (0.0, h)], [dst[0], dst[1], dst[2], dst[3]])
        .unwrap_or([1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0])
}

/// Photographs the document: placed on a background at a random size, rotated, in perspective,
/// lit unevenly with a glare spot, blurred, noisy, JPEG-compressed.
pub(super) fn photograph(rng: &mut Rng, doc: &RgbImage, sev: Severity) -> (RgbImage, u8) {
    photograph_in(rng, doc, sev, &Scene::default())
}

/// Where the photo is taken: the frame's size relative to 1200×900 (the document scaled with it)
/// and what lies around the document (a flat colour when `None`).
#[derive(Debug, Clone)]
pub(super) struct Scene {
    pub scale: f32,
    pub background: Option<RgbImage>,
}

impl Default for Scene {
    fn default() -> Self {
        Self { scale: 1.0, background: None }
    }
}

/// [`photograph`] in a given scene (the same random draws, so a default scene gives the same
/// photo).
pub(super) fn photograph_in(rng: &mut Rng, doc: &RgbImage, sev: Severity, scene: &Scene) -> (RgbImage, u8) {
    let l = sev.level();
    let out_w = (1200.0 * scene.scale).round() as u32;
    let out_h = (900.0 * scene.scale).round() as u32;
    // Document width on the photo: smaller with severity.
    let doc_w = (rng.range(1000.0 - 120.0 * l, 1100.0 - 100.0 * l) * scene.scale)
        .min(out_w as f32 - 40.0 * scene.scale);
    let s = doc_w / doc.width() as f32;
    let (dw, dh) = (doc.width() as f32 * s, doc.height() as f32 * s);
    let angle = rng.range(-1.0, 1.0) * [0.0, 3.0, 7.0, 12.0][l as usize] * std::f32::consts::PI / 180.0;
    let persp = [0.0, 0.02, 0.05, 0.09][l as usize];
    let (cx, cy) = (
        out_w as f32 / 2.0 + rng.range(-30.0, 30.0) * scene.scale,
        out_h as f32 / 2.0 + rng.range(-30.0, 30.0) * scene.scale,
    );
    let hmat = place(rng, doc, (dw, dh), (cx, cy), angle, persp);
    let bg = [rng.range(60.0, 160.0), rng.range(50.0, 140.0), rng.range(40.0, 120.0)];
    let glare = (
        rng.range(0.2, 0.8) * out_w as f32,
        rng.range(0.2, 0.8) * out_h as f32,
        rng.range(80.0, 220.0) * scene.scale,
    );
    let glare_strength = [0.0, 0.25, 0.45, 0.65][l as usize] * rng.f();
    let light = rng.range(-0.12, 0.12) * l;
    let noise = [0.0, 3.0, 6.0, 10.0][l as usize];
    let mut img = RgbImage::new(out_w, out_h);
    for y in 0..out_h {
        for x in 0..out_w {
            let (fx, fy) = (x as f32 + 0.5, y as f32 + 0.5);
            let d = hmat[6] * fx + hmat[7] * fy + hmat[8];
            let (u, v) =
                ((hmat[0] * fx + hmat[1] * fy + hmat[2]) / d, (hmat[3] * fx + hmat[4] * fy + hmat[5]) / d);
            let around = match &scene.background {
                Some(b) => {
                    let q = b.get_pixel(x.min(b.width() - 1), y.min(b.height() - 1));
                    [q[0] as f32, q[1] as f32, q[2] as f32]
                }
                None => bg,
            };
            let mut p = bilinear(doc, u, v, around);
            let shade = 1.0 + light * (fx / out_w as f32 - 0.5) * 2.0;
            let gd = ((fx - glare.0).powi(2) + (fy - glare.1).powi(2)).sqrt() / glare.2;
            let g = glare_strength * (-gd * gd).exp();
            for c in p.iter_mut() {
                let v = *c * shade;
                *c = v + (255.0 - v) * g + rng.normal() * noise;
            }
            img.put_pixel(
                x,
                y,
                Rgb([
                    p[0].clamp(0.0, 255.0) as u8,
                    p[1].clamp(0.0, 255.0) as u8,
                    p[2].clamp(0.0, 255.0) as u8,
                ]),
            );
        }
    }
    let sigma = [0.0, 0.6, 1.1, 1.6][l as usize] * rng.range(0.6, 1.0) * scene.scale.max(1.0).sqrt();
    if sigma > 0.3 {
        img = image::imageops::blur(&img, sigma);
    }
    let quality = [92u8, 85, 70, 55][l as usize];
    (img, quality)
}
