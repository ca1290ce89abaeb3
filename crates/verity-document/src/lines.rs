//! From the detector's probability map to oriented text-line boxes, and from a box to the
//! recogniser's 48-pixel-high line image.

use image::{Rgb, RgbImage};

use crate::ocr::{ProbMap, REC_HEIGHT};

/// An oriented text line in original-image pixels: centre, unit reading axis `u` (its normal
/// `n = (-u.y, u.x)` points down the page in the reading frame), half length and half height.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct LineBox {
    pub cx: f32,
    pub cy: f32,
    pub ux: f32,
    pub uy: f32,
    pub half_len: f32,
    pub half_h: f32,
    /// Mean detector probability over the line's pixels.
    pub score: f32,
}

impl LineBox {
    pub fn normal(&self) -> (f32, f32) {
        (-self.uy, self.ux)
    }
    pub fn aspect(&self) -> f32 {
        self.half_len / self.half_h.max(0.5)
    }
    /// The same box read the other way (rotated 180°).
    pub fn flipped(&self) -> LineBox {
        LineBox { ux: -self.ux, uy: -self.uy, ..*self }
    }
    /// Angle of the reading axis, degrees, image coordinates (y down).
    pub fn angle_deg(&self) -> f32 {
        self.uy.atan2(self.ux).to_degrees()
    }
    /// Projection of the centre on the box's own normal (position down the page).
    pub fn along_normal(&self, other: &LineBox) -> f32 {
        let (nx, ny) = self.normal();
        other.cx * nx + other.cy * ny
    }
    /// The four corners (top-left, top-right, bottom-right, bottom-left in the reading frame).
    pub fn corners(&self) -> [(f32, f32); 4] {
        let (nx, ny) = self.normal();
        let p = |a: f32, b: f32| (self.cx + self.ux * a + nx * b, self.cy + self.uy * a + ny * b);
        [
            p(-self.half_len, -self.half_h),
            p(self.half_len, -self.half_h),
            p(self.half_len, self.half_h),
            p(-self.half_len, self.half_h),
        ]
    }
}

/// DB post-processing: threshold, connected components, oriented extents from second moments,
/// the shrunk kernel grown back ("unclip"), scaled by `scale` to the original image.
pub fn find_lines(map: &ProbMap, valid_w: usize, valid_h: usize, scale: f32) -> Vec<LineBox> {
    const THRESH: f32 = 0.3;
    const BOX_THRESH: f32 = 0.55;
    const UNCLIP: f32 = 1.5;
    let (w, h) = (map.width, map.height);
    let (vw, vh) = (valid_w.min(w), valid_h.min(h));
    let mut seen = vec![false; w * h];
    let mut out = Vec::new();
    let mut stack = Vec::new();
    let mut pix: Vec<(u32, u32)> = Vec::new();
    for y0 in 0..vh {
        for x0 in 0..vw {
            let i0 = y0 * w + x0;
            if seen[i0] || map.data[i0] <= THRESH {
                continue;
            }
            seen[i0] = true;
            stack.clear();
            pix.clear();
            stack.push((x0 as u32, y0 as u32));
            while let Some((x, y)) = stack.pop() {
                pix.push((x, y));
                let (x, y) = (x as usize, y as usize);
                let mut visit = |nx: usize, ny: usize| {
                    let j = ny * w + nx;
                    if !seen[j] && map.data[j] > THRESH {
                        seen[j] = true;
                        stack.push((nx as u32, ny as u32));
                    }
                };
                if x > 0 {
                    visit(x - 1, y);
                }
                if x + 1 < vw {
                    visit(x + 1, y);
                }
                if y > 0 {
                    visit(x, y - 1);
                }
                if y + 1 < vh {
                    visit(x, y + 1);
                }
            }
            if pix.len() < 12 {
                continue;
            }
            let n = pix.len() as f32;
            let score = pix.iter().map(|&(x, y)| map.data[y as usize * w + x as usize]).sum::<f32>() / n;
            if score < BOX_THRESH {
                continue;
            }
            let (mx, my) = pix.iter().fold((0f32, 0f32), |(a, b), &(x, y)| (a + x as f32, b + y as f32));
            let (mx, my) = (mx / n + 0.5, my / n + 0.5);
            let (mut sxx, mut syy, mut sxy) = (0f32, 0f32, 0f32);
            for &(x, y) in &pix {
                let (dx, dy) = (x as f32 + 0.5 - mx, y as f32 + 0.5 - my);
                sxx += dx * dx;
                syy += dy * dy;
                sxy += dx * dy;
            }
            let theta = 0.5 * (2.0 * sxy).atan2(sxx - syy);
            let (mut ux, mut uy) = (theta.cos(), theta.sin());
            if (ux.abs() < 1e-4 && uy < 0.0) || (ux.abs() >= 1e-4 && ux < 0.0) {
                ux = -ux;
                uy = -uy;
            }
            let (nx, ny) = (-uy, ux);
            let (mut umin, mut umax, mut vmin, mut vmax) = (f32::MAX, f32::MIN, f32::MAX, f32::MIN);
            for &(x, y) in &pix {
                let (dx, dy) = (x as f32 + 0.5 - mx, y as f32 + 0.5 - my);
                let u = dx * ux + dy * uy;
                let v = dx * nx + dy * ny;
                umin = umin.min(u - 0.5);
                umax = umax.max(u + 0.5);
                vmin = vmin.min(v - 0.5);
                vmax = vmax.max(v + 0.5);
            }
            let (bw, bh) = (umax - umin, vmax - vmin);
            let d = bw * bh * UNCLIP / (2.0 * (bw + bh));
            let (cu, cv) = ((umin + umax) / 2.0, (vmin + vmax) / 2.0);
            let cx = mx + cu * ux + cv * nx;
            let cy = my + cu * uy + cv * ny;
            out.push(LineBox {
                cx: cx * scale,
                cy: cy * scale,
                ux,
                uy,
                half_len: (bw / 2.0 + d) * scale,
                half_h: (bh / 2.0 + d) * scale,
                score,
            });
        }
    }
    merge_lines(out)
}

/// Joins pieces of one line (DB splits long lines at wide gaps, e.g. runs of `<`).
pub fn merge_lines(mut lines: Vec<LineBox>) -> Vec<LineBox> {
    loop {
        let mut merged = false;
        'outer: for i in 0..lines.len() {
            for j in (i + 1)..lines.len() {
                if let Some(m) = try_merge(&lines[i], &lines[j]) {
                    lines[i] = m;
                    lines.swap_remove(j);
                    merged = true;
                    break 'outer;
                }
            }
        }
        if !merged {
            return lines;
        }
    }
}

fn try_merge(a: &LineBox, b: &LineBox) -> Option<LineBox> {
    let (big, small) = if a.half_len >= b.half_len { (a, b) } else { (b, a) };
    let cos = (big.ux * small.ux + big.uy * small.uy).abs();
    if cos < 0.995 && small.aspect() > 2.0 {
        return None;
    }
    let (nx, ny) = big.normal();
    let dv = (small.cx - big.cx) * nx + (small.cy - big.cy) * ny;
    let h = big.half_h.max(small.half_h);
    if dv.abs() > 0.5 * h
        || (big.half_h / small.half_h.max(0.5)) > 1.8
        || (small.half_h / big.half_h.max(0.5)) > 1.8
    {
        return None;
    }
    let du = (small.cx - big.cx) * big.ux + (small.cy - big.cy) * big.uy;
    let (a0, a1) = (-big.half_len, big.half_len);
    let (b0, b1) = (du - small.half_len, du + small.half_len);
    let gap = (b0 - a1).max(a0 - b1);
    // Pieces well aligned on one baseline may be far apart (a run of `<` the detector missed).
    let aligned = dv.abs() < 0.3 * h
        && (big.half_h / small.half_h.max(0.5)) < 1.4
        && (small.half_h / big.half_h.max(0.5)) < 1.4;
    if gap > if aligned { 12.0 * h } else { 2.5 * h } {
        return None;
    }
    let (lo, hi) = (a0.min(b0), a1.max(b1));
    let c = (lo + hi) / 2.0;
    let wsum = big.half_len + small.half_len;
    Some(LineBox {
        cx: big.cx + c * big.ux + nx * dv * small.half_len / wsum,
        cy: big.cy + c * big.uy + ny * dv * small.half_len / wsum,
        ux: big.ux,
        uy: big.uy,
        half_len: (hi - lo) / 2.0,
        half_h: h,
        score: (big.score * big.half_len + small.score * small.half_len) / wsum,
    })
}

fn sample(img: &RgbImage, x: f32, y: f32) -> [f32; 3] {
    let (w, h) = (img.width() as i64, img.height() as i64);
    let x = x - 0.5;
    let y = y - 0.5;
    let x0 = x.floor();
    let y0 = y.floor();
    let fx = x - x0;
    let fy = y - y0;
    let px = |xx: i64, yy: i64| -> [f32; 3] {
        let p = img.get_pixel(xx.clamp(0, w - 1) as u32, yy.clamp(0, h - 1) as u32);
        [p[0] as f32, p[1] as f32, p[2] as f32]
    };
    let (x0, y0) = (x0 as i64, y0 as i64);
    let (a, b, c, d) = (px(x0, y0), px(x0 + 1, y0), px(x0, y0 + 1), px(x0 + 1, y0 + 1));
    let mut out = [0f32; 3];
    for k in 0..3 {
        out[k] = (a[k] * (1.0 - fx) + b[k] * fx) * (1.0 - fy) + (c[k] * (1.0 - fx) + d[k] * fx) * fy;
    }
    out
}

/// The line as the recogniser sees it: [`REC_HEIGHT`] pixels high, the width keeping the box's
/// aspect (at most `max_width`), sampled along the box's axes (so tilted and rotated lines come
/// out upright). Downscaling averages a few samples per pixel.
pub fn crop_line(img: &RgbImage, b: &LineBox, max_width: usize) -> RgbImage {
    let hh = REC_HEIGHT as f32;
    let width = ((hh * b.half_len / b.half_h.max(0.5)).round() as usize).clamp(8, max_width);
    let (nx, ny) = b.normal();
    let step_u = 2.0 * b.half_len / width as f32;
    let step_v = 2.0 * b.half_h / hh;
    // Supersampling factor when the source is larger than the output.
    let ss = (step_u.max(step_v).ceil() as usize).clamp(1, 4);
    let mut out = RgbImage::new(width as u32, REC_HEIGHT as u32);
    for oy in 0..REC_HEIGHT {
        for ox in 0..width {
            let mut acc = [0f32; 3];
            for sy in 0..ss {
                for sx in 0..ss {
                    let u = -b.half_len + (ox as f32 + (sx as f32 + 0.5) / ss as f32) * step_u;
                    let v = -b.half_h + (oy as f32 + (sy as f32 + 0.5) / ss as f32) * step_v;
                    let p = sample(img, b.cx + u * b.ux + v * nx, b.cy + u * b.uy + v * ny);
                    for k in 0..3 {
                        acc[k] += p[k];
                    }
                }
            }
            let n = (ss * ss) as f32;
            out.put_pixel(
                ox as u32,
                oy as u32,
                Rgb([(acc[0] / n).round() as u8, (acc[1] / n).round() as u8, (acc[2] / n).round() as u8]),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map_with(rects: &[(usize, usize, usize, usize)], w: usize, h: usize) -> ProbMap {
        let mut data = vec![0f32; w * h];
        for &(x0, y0, x1, y1) in rects {
            for y in y0..y1 {
                for x in x0..x1 {
                    data[y * w + x] = 0.9;
                }
            }
        }
        ProbMap { width: w, height: h, data }
    }

    #[test]
    fn a_line_split_in_pieces_is_one_box() {
        // Two pieces of one line with a small gap, and a separate line below.
        let m = map_with(&[(10, 20, 100, 26), (110, 20, 200, 26), (10, 60, 150, 66)], 256, 128);
        let mut lines = find_lines(&m, 256, 128, 2.0);
        lines.sort_by(|a, b| a.cy.total_cmp(&b.cy));
        assert_eq!(lines.len(), 2, "{lines:?}");
        let top = lines[0];
        assert!((top.cx - 210.0).abs() < 4.0 && (top.cy - 46.0).abs() < 3.0, "{top:?}");
        assert!(top.half_len > 190.0 && top.half_len < 215.0, "{top:?}");
        assert!(top.ux > 0.999, "horizontal: {top:?}");
    }

    #[test]
    fn a_vertical_line_has_a_vertical_axis_and_crops_upright() {
        let m = map_with(&[(40, 10, 46, 120)], 128, 128);
        let lines = find_lines(&m, 128, 128, 1.0);
        assert_eq!(lines.len(), 1);
        assert!(lines[0].uy.abs() > 0.999, "{:?}", lines[0]);
        // Crop of a rotated gradient comes out 48 high and wide.
        let img = RgbImage::from_fn(128, 128, |x, y| Rgb([x as u8, y as u8, 0]));
        let c = crop_line(&img, &lines[0], 800);
        assert_eq!(c.height() as usize, REC_HEIGHT);
        assert!(c.width() > 200, "{}", c.width());
        // Along the reading axis the source y grows (top to bottom), across it x varies.
        let first = c.get_pixel(2, 24)[1];
        let last = c.get_pixel(c.width() - 3, 24)[1];
        assert!(last > first + 80, "{first} → {last}");
    }
}
