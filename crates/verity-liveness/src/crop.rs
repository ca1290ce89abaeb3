//! The MiniFASNet input patch, exactly as Silent-Face-Anti-Spoofing prepares it
//! (`generate_patches.py`, `_get_new_box`): the score moves by up to 0.26 when the crop or the
//! resize deviates (see `../shared/models/README.md`, sensitivity table).
//!
//! 1. The face box is `[x, y, w, h]` in integers (`w = right − left + 1`).
//! 2. The scale is capped so the window fits: `s = min(s, (H−1)/h, (W−1)/w)`.
//! 3. The window is `w·s × h·s`, centred on the box centre; if it sticks out left/top it is
//!    shifted right/down, then if it sticks out right/bottom it is shifted left/up (edges at
//!    `W−1`, `H−1`); corners are truncated toward zero; the window includes its right and bottom
//!    pixel. Never padded.
//! 4. The window is resized straight to 80×80 with OpenCV's `INTER_LINEAR` (half-pixel centres,
//!    two taps, no anti-aliasing), aspect ratio not kept.
//! 5. The tensor is BGR, 0–255, CHW.

use image::RgbImage;
use serde::Serialize;

/// Side of the models' input.
pub const PATCH: u32 = 80;

/// The window taken from the image, inclusive corners.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Window {
    pub left: u32,
    pub top: u32,
    pub right: u32,
    pub bottom: u32,
    /// The scale actually used after the cap, ×1000 (for reporting).
    pub scale_milli: u32,
}

/// The window for a face box `[x, y, w, h]` (integers, as the reference detector gives them)
/// at `scale` (2.7 for V2, 4.0 for V1SE) in a `src_w`×`src_h` image.
pub fn window(src_w: u32, src_h: u32, bbox: [i64; 4], scale: f64) -> Window {
    let (x, y) = (bbox[0] as f64, bbox[1] as f64);
    let (bw, bh) = (bbox[2].max(1) as f64, bbox[3].max(1) as f64);
    let (sw, sh) = (src_w as f64, src_h as f64);
    let scale = scale.min((sh - 1.0) / bh).min((sw - 1.0) / bw);
    let (nw, nh) = (bw * scale, bh * scale);
    let (cx, cy) = (bw / 2.0 + x, bh / 2.0 + y);
    let (mut l, mut t) = (cx - nw / 2.0, cy - nh / 2.0);
    let (mut r, mut b) = (cx + nw / 2.0, cy + nh / 2.0);
    if l < 0.0 {
        r -= l;
        l = 0.0;
    }
    if t < 0.0 {
        b -= t;
        t = 0.0;
    }
    if r > sw - 1.0 {
        l -= r - sw + 1.0;
        r = sw - 1.0;
    }
    if b > sh - 1.0 {
        t -= b - sh + 1.0;
        b = sh - 1.0;
    }
    // Python int(): toward zero. Clamp into the image for safety with degenerate boxes.
    let clamp = |v: f64, max: f64| v.trunc().clamp(0.0, max) as u32;
    Window {
        left: clamp(l, sw - 1.0),
        top: clamp(t, sh - 1.0),
        right: clamp(r, sw - 1.0),
        bottom: clamp(b, sh - 1.0),
        scale_milli: (scale * 1000.0).round().max(0.0) as u32,
    }
}

/// OpenCV `resize(..., INTER_LINEAR)` of the inclusive window to `PATCH`×`PATCH`, as a
/// 1×3×80×80 BGR 0–255 tensor (CHW).
pub fn patch(image: &RgbImage, w: &Window) -> Vec<f32> {
    let cw = (w.right.saturating_sub(w.left) + 1) as f32;
    let ch = (w.bottom.saturating_sub(w.top) + 1) as f32;
    let n = PATCH as usize;
    let (sx, sy) = (cw / PATCH as f32, ch / PATCH as f32);
    let mut out = vec![0f32; 3 * n * n];
    let src = |xx: f32, yy: f32| -> [f32; 3] {
        let p = image.get_pixel(w.left + xx as u32, w.top + yy as u32);
        [p[0] as f32, p[1] as f32, p[2] as f32]
    };
    for oy in 0..n {
        let fy = ((oy as f32 + 0.5) * sy - 0.5).max(0.0);
        let y0 = fy.floor().min(ch - 1.0);
        let y1 = (y0 + 1.0).min(ch - 1.0);
        let dy = fy - y0;
        for ox in 0..n {
            let fx = ((ox as f32 + 0.5) * sx - 0.5).max(0.0);
            let x0 = fx.floor().min(cw - 1.0);
            let x1 = (x0 + 1.0).min(cw - 1.0);
            let dx = (fx - x0).min(1.0);
            let (a, b, c, d) = (src(x0, y0), src(x1, y0), src(x0, y1), src(x1, y1));
            for k in 0..3 {
                let top = a[k] * (1.0 - dx) + b[k] * dx;
                let bot = c[k] * (1.0 - dx) + d[k] * dx;
                let v = top * (1.0 - dy) + bot * dy;
                // RGB → BGR planes.
                out[(2 - k) * n * n + oy * n + ox] = v;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_is_centred_scaled_and_inclusive() {
        // 100×100 box in a 1000×1000 image at 2.7: 270×270 around (450, 450).
        let w = window(1000, 1000, [400, 400, 100, 100], 2.7);
        assert_eq!((w.left, w.top, w.right, w.bottom), (315, 315, 585, 585));
        assert_eq!(w.scale_milli, 2700);
    }

    #[test]
    fn scale_is_capped_to_fit_and_window_is_shifted_not_padded() {
        // A 100×100 box in a 200×150 image: scale capped to (150−1)/100 = 1.49.
        let w = window(200, 150, [0, 20, 100, 100], 4.0);
        assert_eq!(w.scale_milli, 1490);
        // Width 149 centred at x = 50 sticks out left by 24.5: shifted to start at 0.
        assert_eq!((w.left, w.right), (0, 149));
        // Height 149 centred at y = 70: top −4.5 → 0, bottom 144.5 + 4.5 = 149 = H − 1.
        assert_eq!((w.top, w.bottom), (0, 149));
    }

    #[test]
    fn right_and_bottom_overflow_shift_left_and_up() {
        let w = window(300, 300, [250, 250, 40, 40], 2.0);
        assert_eq!((w.right, w.bottom), (299, 299));
        assert_eq!((w.left, w.top), (219, 219));
    }

    #[test]
    fn patch_is_bgr_and_bilinear_with_half_pixel_centres() {
        // A 160×160 image: left half red, right half blue. Downscaling by 2 samples between
        // source pixels 2i and 2i+1 (half-pixel centres), so columns stay pure on each side.
        let img = RgbImage::from_fn(160, 160, |x, _| {
            if x < 80 {
                image::Rgb([255, 0, 0])
            } else {
                image::Rgb([0, 0, 255])
            }
        });
        let w = Window { left: 0, top: 0, right: 159, bottom: 159, scale_milli: 1000 };
        let t = patch(&img, &w);
        let n = 80 * 80;
        // Channel 0 is blue, channel 2 is red.
        assert_eq!(t[10], 0.0); // blue at x=10
        assert_eq!(t[2 * n + 10], 255.0); // red at x=10
        assert_eq!(t[70], 255.0); // blue at x=70
        assert_eq!(t[2 * n + 70], 0.0);
        assert_eq!(t.len(), 3 * n);
    }
}
