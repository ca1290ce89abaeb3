//! Points, boxes, resizing, the 5-point similarity transform and the affine warp.

use image::{Rgb, RgbImage};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Default)]
pub struct Point {
    pub x: f32,
    pub y: f32,
}

/// An axis-aligned box: top-left corner and size, in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Default)]
pub struct BBox {
    pub x: f32,
    pub y: f32,
    pub w: f32,
    pub h: f32,
}

impl BBox {
    pub fn area(&self) -> f32 {
        self.w.max(0.0) * self.h.max(0.0)
    }
    pub fn center(&self) -> Point {
        Point { x: self.x + self.w / 2.0, y: self.y + self.h / 2.0 }
    }
    pub fn iou(&self, o: &BBox) -> f32 {
        let x1 = self.x.max(o.x);
        let y1 = self.y.max(o.y);
        let x2 = (self.x + self.w).min(o.x + o.w);
        let y2 = (self.y + self.h).min(o.y + o.h);
        let inter = (x2 - x1).max(0.0) * (y2 - y1).max(0.0);
        let union = self.area() + o.area() - inter;
        if union <= 0.0 {
            0.0
        } else {
            inter / union
        }
    }
    /// The part of the box inside a `w`×`h` image, as integer pixel bounds (x0, y0, x1, y1),
    /// exclusive of x1/y1; `None` if empty.
    pub fn clip(&self, w: u32, h: u32) -> Option<(u32, u32, u32, u32)> {
        let x0 = self.x.floor().max(0.0) as u32;
        let y0 = self.y.floor().max(0.0) as u32;
        let x1 = ((self.x + self.w).ceil().max(0.0) as u32).min(w);
        let y1 = ((self.y + self.h).ceil().max(0.0) as u32).min(h);
        (x1 > x0 && y1 > y0).then_some((x0, y0, x1, y1))
    }
}

pub use verity_imaging::resize as resize_rgb;

/// A 2-D similarity transform: x' = a·x − b·y + tx, y' = b·x + a·y + ty.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Similarity {
    pub a: f32,
    pub b: f32,
    pub tx: f32,
    pub ty: f32,
}

impl Similarity {
    /// Least-squares similarity mapping `src` points onto `dst` (Umeyama's method without
    /// reflection, closed form in 2-D).
    pub fn estimate(src: &[Point], dst: &[Point]) -> Similarity {
        let n = src.len().min(dst.len()).max(1) as f64;
        let (mut sx, mut sy, mut dx, mut dy) = (0f64, 0f64, 0f64, 0f64);
        for (s, d) in src.iter().zip(dst) {
            sx += s.x as f64;
            sy += s.y as f64;
            dx += d.x as f64;
            dy += d.y as f64;
        }
        let (sx, sy, dx, dy) = (sx / n, sy / n, dx / n, dy / n);
        let (mut num_a, mut num_b, mut den) = (0f64, 0f64, 0f64);
        for (s, d) in src.iter().zip(dst) {
            let (xs, ys) = (s.x as f64 - sx, s.y as f64 - sy);
            let (xd, yd) = (d.x as f64 - dx, d.y as f64 - dy);
            num_a += xs * xd + ys * yd;
            num_b += xs * yd - ys * xd;
            den += xs * xs + ys * ys;
        }
        let den = if den <= 1e-12 { 1.0 } else { den };
        let a = num_a / den;
        let b = num_b / den;
        let tx = dx - (a * sx - b * sy);
        let ty = dy - (b * sx + a * sy);
        Similarity { a: a as f32, b: b as f32, tx: tx as f32, ty: ty as f32 }
    }

    pub fn apply(&self, p: Point) -> Point {
        Point { x: self.a * p.x - self.b * p.y + self.tx, y: self.b * p.x + self.a * p.y + self.ty }
    }

    pub fn scale(&self) -> f32 {
        (self.a * self.a + self.b * self.b).sqrt()
    }

    pub fn inverse(&self) -> Similarity {
        let d = self.a * self.a + self.b * self.b;
        let (ia, ib) = (self.a / d, -self.b / d);
        // x = ia·x' − ib·y' + itx
        let itx = -(ia * self.tx - ib * self.ty);
        let ity = -(ib * self.tx + ia * self.ty);
        Similarity { a: ia, b: ib, tx: itx, ty: ity }
    }
}

/// Warps `img` into a `size`×`size` image: output pixel (u, v) takes the bilinear sample of the
/// input at `to_output.inverse()(u, v)`; outside the input is black (as OpenCV's `warpAffine`).
/// When the transform shrinks by more than 2×, the input is first shrunk by area averaging so
/// the bilinear sampling does not alias.
pub fn warp_similarity(img: &RgbImage, to_output: &Similarity, size: u32) -> RgbImage {
    let scale = to_output.scale();
    if scale >= 0.5 {
        return warp_direct(img, to_output, size);
    }
    // Only the source region that maps into the output matters: crop it (with a margin for
    // the filters), shrink it by area averaging so the remaining scale is within [0.5, 1],
    // then warp.
    let inv = to_output.inverse();
    let s = size as f32;
    let corners = [(0.0, 0.0), (s, 0.0), (0.0, s), (s, s)].map(|(x, y)| inv.apply(Point { x, y }));
    let (w, h) = img.dimensions();
    let x0 = (corners.iter().map(|p| p.x).fold(f32::INFINITY, f32::min).floor() - 2.0).max(0.0) as u32;
    let y0 = (corners.iter().map(|p| p.y).fold(f32::INFINITY, f32::min).floor() - 2.0).max(0.0) as u32;
    let x1 =
        ((corners.iter().map(|p| p.x).fold(f32::NEG_INFINITY, f32::max).ceil() + 2.0).max(0.0) as u32).min(w);
    let y1 =
        ((corners.iter().map(|p| p.y).fold(f32::NEG_INFINITY, f32::max).ceil() + 2.0).max(0.0) as u32).min(h);
    if x1 <= x0 || y1 <= y0 {
        return RgbImage::new(size, size);
    }
    let crop = image::imageops::crop_imm(img, x0, y0, x1 - x0, y1 - y0).to_image();
    // crop coordinates → image coordinates → output.
    let from_crop = compose(to_output, &Similarity { a: 1.0, b: 0.0, tx: x0 as f32, ty: y0 as f32 });
    let f = (0.75 / scale).clamp(1.0, 64.0);
    let (cw, ch) = crop.dimensions();
    let nw = ((cw as f32 / f).round() as u32).max(1);
    let nh = ((ch as f32 / f).round() as u32).max(1);
    let small = resize_rgb(&crop, nw, nh);
    let f_avg = (cw as f32 / nw as f32 + ch as f32 / nh as f32) / 2.0;
    // Small pixel i covers crop [i·f, (i+1)·f), centre (i + 0.5)·f − 0.5: a crop point p is at
    // (p + 0.5)/f − 0.5 in the small image.
    let pre = Similarity { a: 1.0 / f_avg, b: 0.0, tx: 0.5 / f_avg - 0.5, ty: 0.5 / f_avg - 0.5 };
    warp_direct(&small, &compose(&from_crop, &pre.inverse()), size)
}

fn warp_direct(src: &RgbImage, t: &Similarity, size: u32) -> RgbImage {
    let inv = t.inverse();
    let (w, h) = src.dimensions();
    let mut out = RgbImage::new(size, size);
    for v in 0..size {
        for u in 0..size {
            let p = inv.apply(Point { x: u as f32, y: v as f32 });
            out.put_pixel(u, v, bilinear(src, w, h, p.x, p.y));
        }
    }
    out
}

/// `outer ∘ inner`.
fn compose(outer: &Similarity, inner: &Similarity) -> Similarity {
    let a = outer.a * inner.a - outer.b * inner.b;
    let b = outer.b * inner.a + outer.a * inner.b;
    let t = outer.apply(Point { x: inner.tx, y: inner.ty });
    Similarity { a, b, tx: t.x, ty: t.y }
}

fn bilinear(img: &RgbImage, w: u32, h: u32, x: f32, y: f32) -> Rgb<u8> {
    let x0 = x.floor();
    let y0 = y.floor();
    let (fx, fy) = (x - x0, y - y0);
    let (x0, y0) = (x0 as i64, y0 as i64);
    let get = |xx: i64, yy: i64| -> [f32; 3] {
        if xx < 0 || yy < 0 || xx >= w as i64 || yy >= h as i64 {
            [0.0; 3]
        } else {
            let p = img.get_pixel(xx as u32, yy as u32);
            [p[0] as f32, p[1] as f32, p[2] as f32]
        }
    };
    let (p00, p10, p01, p11) = (get(x0, y0), get(x0 + 1, y0), get(x0, y0 + 1), get(x0 + 1, y0 + 1));
    let mut o = [0u8; 3];
    for c in 0..3 {
        let top = p00[c] * (1.0 - fx) + p10[c] * fx;
        let bot = p01[c] * (1.0 - fx) + p11[c] * fx;
        o[c] = (top * (1.0 - fy) + bot * fy).round().clamp(0.0, 255.0) as u8;
    }
    Rgb(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimate_recovers_a_known_similarity() {
        let t = Similarity { a: 0.8 * 0.6f32.cos(), b: 0.8 * 0.6f32.sin(), tx: 12.0, ty: -7.0 };
        let src: Vec<Point> = [(10.0, 20.0), (50.0, 22.0), (30.0, 40.0), (15.0, 60.0), (45.0, 61.0)]
            .iter()
            .map(|&(x, y)| Point { x, y })
            .collect();
        let dst: Vec<Point> = src.iter().map(|&p| t.apply(p)).collect();
        let e = Similarity::estimate(&src, &dst);
        assert!((e.a - t.a).abs() < 1e-4 && (e.b - t.b).abs() < 1e-4);
        assert!((e.tx - t.tx).abs() < 1e-3 && (e.ty - t.ty).abs() < 1e-3);
        let back = e.inverse().apply(e.apply(src[0]));
        assert!((back.x - src[0].x).abs() < 1e-3 && (back.y - src[0].y).abs() < 1e-3);
    }

    #[test]
    fn iou_of_identical_and_disjoint_boxes() {
        let a = BBox { x: 0.0, y: 0.0, w: 10.0, h: 10.0 };
        assert_eq!(a.iou(&a), 1.0);
        assert_eq!(a.iou(&BBox { x: 20.0, ..a }), 0.0);
    }

    #[test]
    fn area_resize_averages_and_bilinear_enlarges() {
        // 4×2 → 2×1: each output is the mean of a 2×2 block.
        let img = RgbImage::from_raw(
            4,
            2,
            vec![
                0, 0, 0, 100, 100, 100, 10, 10, 10, 30, 30, 30, 0, 0, 0, 100, 100, 100, 10, 10, 10, 30, 30,
                30,
            ],
        )
        .expect("raw");
        let small = resize_rgb(&img, 2, 1);
        assert_eq!(small.get_pixel(0, 0), &Rgb([50, 50, 50]));
        assert_eq!(small.get_pixel(1, 0), &Rgb([20, 20, 20]));
        // Non-integer factor keeps the mean of a flat image.
        let flat = RgbImage::from_pixel(1200, 900, Rgb([77, 88, 99]));
        let r = resize_rgb(&flat, 333, 250);
        assert!(r.pixels().all(|p| p == &Rgb([77, 88, 99])));
        // Enlarging a 2-pixel ramp interpolates between the two.
        let ramp = RgbImage::from_raw(2, 1, vec![0, 0, 0, 200, 200, 200]).expect("raw");
        let big = resize_rgb(&ramp, 4, 1);
        let v: Vec<u8> = big.pixels().map(|p| p[0]).collect();
        assert_eq!(v, vec![0, 50, 150, 200]);
    }

    #[test]
    fn warp_with_identity_copies_pixels() {
        let img = RgbImage::from_fn(20, 20, |x, y| Rgb([x as u8 * 10, y as u8 * 10, 7]));
        let id = Similarity { a: 1.0, b: 0.0, tx: 0.0, ty: 0.0 };
        let out = warp_similarity(&img, &id, 20);
        assert_eq!(out, img);
    }

    #[test]
    fn strong_shrink_keeps_geometry() {
        // A white square at (400..600) in a 1000×1000 image, shrunk 10× around the origin:
        // it must land at (40..60) in the output.
        let img = RgbImage::from_fn(1000, 1000, |x, y| {
            if (400..600).contains(&x) && (400..600).contains(&y) {
                Rgb([255; 3])
            } else {
                Rgb([0; 3])
            }
        });
        let t = Similarity { a: 0.1, b: 0.0, tx: 0.0, ty: 0.0 };
        let out = warp_similarity(&img, &t, 100);
        assert!(out.get_pixel(50, 50)[0] > 250);
        assert!(out.get_pixel(36, 50)[0] < 5 && out.get_pixel(64, 50)[0] < 5);
        assert!(out.get_pixel(42, 42)[0] > 200 && out.get_pixel(58, 58)[0] > 200);
    }
}
