//! Training-free spoof signals on a photo: screen moiré (periodic peaks in the spectrum of the
//! face), the straight border of a screen or a print around the face. Each returns a value that a
//! threshold turns into a status, or says why it could not be assessed.

use image::RgbImage;
use serde::Serialize;

/// Greyscale plane, row-major, 0–255 floats.
#[derive(Debug, Clone)]
pub struct Grey {
    pub w: usize,
    pub h: usize,
    pub px: Vec<f32>,
}

impl Grey {
    pub fn from_rgb(img: &RgbImage) -> Self {
        let (w, h) = (img.width() as usize, img.height() as usize);
        let px =
            img.pixels().map(|p| 0.299 * p[0] as f32 + 0.587 * p[1] as f32 + 0.114 * p[2] as f32).collect();
        Self { w, h, px }
    }

    fn at(&self, x: usize, y: usize) -> f32 {
        self.px[y * self.w + x]
    }
}

/// Box in pixels (x0, y0 inclusive; x1, y1 exclusive), clipped to the image.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Rect {
    pub x0: usize,
    pub y0: usize,
    pub x1: usize,
    pub y1: usize,
}

impl Rect {
    pub fn from_xywh(x: f32, y: f32, w: f32, h: f32, iw: usize, ih: usize) -> Self {
        let c = |v: f32, hi: usize| v.round().clamp(0.0, hi as f32) as usize;
        Self { x0: c(x, iw), y0: c(y, ih), x1: c(x + w, iw), y1: c(y + h, ih) }
    }
    pub fn w(&self) -> usize {
        self.x1.saturating_sub(self.x0)
    }
    pub fn h(&self) -> usize {
        self.y1.saturating_sub(self.y0)
    }
}

// ---------------------------------------------------------------- FFT

/// The twiddle factors of an `n`-point FFT: `exp(-2πi·j/n)` for `j < n/2`, as (cos, sin).
fn twiddles(n: usize) -> Vec<(f32, f32)> {
    let ang = -2.0 * std::f64::consts::PI / n as f64;
    (0..n / 2)
        .map(|j| {
            let (s, c) = (ang * j as f64).sin_cos();
            (c as f32, s as f32)
        })
        .collect()
}

/// In-place iterative radix-2 FFT of (re, im); `n` must be a power of two and `tw` its
/// [`twiddles`].
fn fft(re: &mut [f32], im: &mut [f32], tw: &[(f32, f32)]) {
    let n = re.len();
    let mut j = 0;
    for i in 1..n {
        let mut bit = n >> 1;
        while j & bit != 0 {
            j ^= bit;
            bit >>= 1;
        }
        j |= bit;
        if i < j {
            re.swap(i, j);
            im.swap(i, j);
        }
    }
    let mut len = 2;
    while len <= n {
        // exp(-2πi·k/len) is the n-point twiddle k·(n/len).
        let step = n / len;
        for start in (0..n).step_by(len) {
            for k in 0..len / 2 {
                let (c, s) = tw[k * step];
                let (a, b) = (start + k, start + k + len / 2);
                let tr = re[b] * c - im[b] * s;
                let ti = re[b] * s + im[b] * c;
                re[b] = re[a] - tr;
                im[b] = im[a] - ti;
                re[a] += tr;
                im[a] += ti;
            }
        }
        len <<= 1;
    }
}

/// Power spectrum of an m×m window (mean removed, Hann-windowed), added into `acc`.
fn add_power(g: &Grey, x0: usize, y0: usize, m: usize, tw: &[(f32, f32)], acc: &mut [f64]) {
    let hann: Vec<f32> =
        (0..m).map(|i| 0.5 - 0.5 * (2.0 * std::f32::consts::PI * i as f32 / (m - 1) as f32).cos()).collect();
    let mut mean = 0.0f64;
    for y in 0..m {
        for x in 0..m {
            mean += g.at(x0 + x, y0 + y) as f64;
        }
    }
    let mean = (mean / (m * m) as f64) as f32;
    let mut re = vec![0f32; m * m];
    let mut im = vec![0f32; m * m];
    for y in 0..m {
        for x in 0..m {
            re[y * m + x] = (g.at(x0 + x, y0 + y) - mean) * hann[x] * hann[y];
        }
    }
    for y in 0..m {
        fft(&mut re[y * m..(y + 1) * m], &mut im[y * m..(y + 1) * m], tw);
    }
    let (mut cr, mut ci) = (vec![0f32; m], vec![0f32; m]);
    for x in 0..m {
        for y in 0..m {
            cr[y] = re[y * m + x];
            ci[y] = im[y * m + x];
        }
        fft(&mut cr, &mut ci, tw);
        for y in 0..m {
            acc[y * m + x] += (cr[y] as f64).powi(2) + (ci[y] as f64).powi(2);
        }
    }
}

/// The moiré measurement on a face.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Moire {
    /// Height of the strongest isolated spectral peak above the median of its frequency ring,
    /// decibels (Welch average of 3×3 half-overlapping windows over the face).
    pub peak_db: f32,
    /// Its spatial frequency, cycles per pixel (0.5 = Nyquist).
    pub frequency: f32,
    /// Side of the analysis windows, pixels.
    pub window: usize,
}

/// Smallest face region (pixels per side) the moiré measurement runs on.
pub const MOIRE_MIN_REGION: usize = 64;

/// Measures periodic peaks in the face region. `Err` says why it was not assessed.
pub fn moire(g: &Grey, face: Rect) -> Result<Moire, String> {
    let side = face.w().min(face.h());
    if side < MOIRE_MIN_REGION {
        return Err(format!("face region {side} px, below {MOIRE_MIN_REGION} px"));
    }
    // Region: the largest power of two that fits (≤ 256), centred on the face box.
    let n = (1usize << (usize::BITS - 1 - side.leading_zeros())).min(256);
    let cx = (face.x0 + face.x1) / 2;
    let cy = (face.y0 + face.y1) / 2;
    let rx = cx.saturating_sub(n / 2).min(g.w - n);
    let ry = cy.saturating_sub(n / 2).min(g.h - n);
    let m = n / 2;
    let mut acc = vec![0f64; m * m];
    let tw = twiddles(m);
    for wy in 0..3 {
        for wx in 0..3 {
            add_power(g, rx + wx * m / 2, ry + wy * m / 2, m, &tw, &mut acc);
        }
    }
    // Rings of integer radius; the band from m/8 (below: face shape, lighting) to just below
    // Nyquist (the corners of the square spectrum are excluded).
    let half = m as i64 / 2;
    let freq = |i: usize| -> i64 {
        let i = i as i64;
        if i < half {
            i
        } else {
            i - m as i64
        }
    };
    let lo = (m / 8) as f64;
    let hi = (m / 2 - 1) as f64;
    let mut rings: Vec<Vec<f64>> = vec![Vec::new(); m / 2 + 1];
    for y in 0..m {
        for x in 0..m {
            let r = ((freq(x).pow(2) + freq(y).pow(2)) as f64).sqrt();
            if r >= lo && r <= hi {
                rings[r.round() as usize].push(acc[y * m + x]);
            }
        }
    }
    let medians: Vec<f64> = rings
        .iter_mut()
        .map(|v| {
            if v.is_empty() {
                return 0.0;
            }
            v.sort_by(|a, b| a.total_cmp(b));
            v[v.len() / 2]
        })
        .collect();
    let mut best = (f64::NEG_INFINITY, 0.0);
    for y in 0..m {
        for x in 0..m {
            let r = ((freq(x).pow(2) + freq(y).pow(2)) as f64).sqrt();
            if r < lo || r > hi {
                continue;
            }
            let med = medians[r.round() as usize];
            if med <= 0.0 {
                continue;
            }
            let db = 10.0 * (acc[y * m + x] / med).log10();
            if db > best.0 {
                best = (db, r / m as f64);
            }
        }
    }
    if !best.0.is_finite() {
        return Err("flat region (no texture)".into());
    }
    Ok(Moire { peak_db: best.0 as f32, frequency: best.1 as f32, window: m })
}

// ---------------------------------------------------------------- padding

/// Constant-colour bars at the image's edges (letterboxing or padding added by software), in
/// pixels: left, right, top, bottom. A row or column belongs to a bar when 90 % of its pixels are
/// within ±8 grey levels of its median and that median is the edge line's (JPEG blurs the bar,
/// so 3 more pixels are counted once a bar is found).
pub fn padding(g: &Grey) -> [usize; 4] {
    let flat = |vals: &mut dyn Iterator<Item = f32>| -> Option<f32> {
        let mut v: Vec<f32> = vals.collect();
        v.sort_by(|a, b| a.total_cmp(b));
        let med = v[v.len() / 2];
        let close = v.iter().filter(|p| (*p - med).abs() <= 8.0).count();
        (close * 10 >= v.len() * 9).then_some(med)
    };
    let run = |n: usize, line: &dyn Fn(usize) -> Option<f32>| -> usize {
        let Some(first) = line(0) else { return 0 };
        let k = (0..n / 3).take_while(|&i| line(i).is_some_and(|m| (m - first).abs() <= 8.0)).count();
        if k > 0 {
            (k + 3).min(n / 3)
        } else {
            0
        }
    };
    let col = |x: usize| flat(&mut (0..g.h).map(|y| g.at(x, y)));
    let row = |y: usize| flat(&mut (0..g.w).map(|x| g.at(x, y)));
    [
        run(g.w, &|i| col(i)),
        run(g.w, &|i| col(g.w - 1 - i)),
        run(g.h, &|i| row(i)),
        run(g.h, &|i| row(g.h - 1 - i)),
    ]
}

/// The image without its padding bars, and the offset of the crop.
pub fn crop_padding(g: &Grey, pad: [usize; 4]) -> (Grey, usize, usize) {
    let [l, r, t, b] = pad;
    let w = g.w.saturating_sub(l + r).max(1);
    let h = g.h.saturating_sub(t + b).max(1);
    let mut px = Vec::with_capacity(w * h);
    for y in t..t + h {
        for x in l..l + w {
            px.push(g.at(x.min(g.w - 1), y.min(g.h - 1)));
        }
    }
    (Grey { w, h, px }, l, t)
}

// ---------------------------------------------------------------- borders

/// One side searched for a straight border.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Side {
    /// Fraction of the span along which one straight line has a same-polarity edge (0–1).
    pub continuity: f32,
    /// Whether there was room to search this side.
    pub searched: bool,
}

/// Straight edges around a face: left, right, top, bottom.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Borders {
    pub left: Side,
    pub right: Side,
    pub top: Side,
    pub bottom: Side,
}

impl Borders {
    pub fn sides(&self) -> [&Side; 4] {
        [&self.left, &self.right, &self.top, &self.bottom]
    }
    /// Sides with a line of at least `min_continuity`.
    pub fn found(&self, min_continuity: f32) -> usize {
        self.sides().iter().filter(|s| s.searched && s.continuity >= min_continuity).count()
    }
    pub fn searched(&self) -> usize {
        self.sides().iter().filter(|s| s.searched).count()
    }
}

/// Edge threshold on the Sobel response (0–255 grey; ~a 10-level step).
const EDGE_MIN: f32 = 40.0;

fn sobel(g: &Grey) -> (Vec<f32>, Vec<f32>) {
    let (w, h) = (g.w, g.h);
    let mut gx = vec![0f32; w * h];
    let mut gy = vec![0f32; w * h];
    for y in 1..h.saturating_sub(1) {
        for x in 1..w.saturating_sub(1) {
            let p = |dx: isize, dy: isize| g.at((x as isize + dx) as usize, (y as isize + dy) as usize);
            gx[y * w + x] = p(1, -1) + 2.0 * p(1, 0) + p(1, 1) - p(-1, -1) - 2.0 * p(-1, 0) - p(-1, 1);
            gy[y * w + x] = p(-1, 1) + 2.0 * p(0, 1) + p(1, 1) - p(-1, -1) - 2.0 * p(0, -1) - p(1, -1);
        }
    }
    (gx, gy)
}

/// Strong edges across a line: +1 or −1 (the edge's polarity) where the gradient across is at
/// least [`EDGE_MIN`] and more than twice the gradient along, 0 elsewhere.
fn edge_classes(across: &[f32], along: &[f32]) -> Vec<i8> {
    across
        .iter()
        .zip(along)
        .map(|(&a, &b)| {
            if a.abs() >= EDGE_MIN && a.abs() > 2.0 * b.abs() {
                if a > 0.0 {
                    1
                } else {
                    -1
                }
            } else {
                0
            }
        })
        .collect()
}

/// `v.round()` (halves away from zero) without a libm call, for |v| < 2²³.
fn round_half_away(v: f32) -> i64 {
    let t = v as i64;
    let frac = v - t as f32;
    t + if frac >= 0.5 {
        1
    } else if frac <= -0.5 {
        -1
    } else {
        0
    }
}

/// Best continuity of a near-vertical line (slopes up to ±0.1 px per row) over columns `cols`
/// and rows `rows`, on the [`edge_classes`] of the gradients across and along it (`transpose`:
/// the line is horizontal, `cols` are image rows).
fn best_line(
    w: usize,
    cols: std::ops::Range<usize>,
    rows: std::ops::Range<usize>,
    classes: &[i8],
    transpose: bool,
) -> f32 {
    let span = rows.len();
    if span == 0 || cols.is_empty() {
        return 0.0;
    }
    let mid = (rows.start + rows.end) as f32 / 2.0;
    let ncols = cols.len();
    let (mut pos, mut neg) = (vec![0u32; ncols], vec![0u32; ncols]);
    let mut best = 0.0f32;
    for slope in [-0.1f32, -0.05, 0.0, 0.05, 0.1] {
        pos.iter_mut().for_each(|v| *v = 0);
        neg.iter_mut().for_each(|v| *v = 0);
        // Line `c` passes through column round(c + slope·(r − mid)) of row r. The inner loop
        // walks along image rows: over `cols` for a vertical line, over `rows` for a horizontal one.
        let mut count = |i: usize, c: usize, r: usize, off: f32| {
            let cc = round_half_away(c as f32 + off);
            if cc < cols.start as i64 || cc >= cols.end as i64 {
                return;
            }
            let k = if transpose { cc as usize * w + r } else { r * w + cc as usize };
            match classes[k] {
                1 => pos[i] += 1,
                -1 => neg[i] += 1,
                _ => {}
            }
        };
        if transpose {
            for (i, c) in cols.clone().enumerate() {
                for r in rows.clone() {
                    count(i, c, r, slope * (r as f32 - mid));
                }
            }
        } else {
            for r in rows.clone() {
                let off = slope * (r as f32 - mid);
                for (i, c) in cols.clone().enumerate() {
                    count(i, c, r, off);
                }
            }
        }
        for (p, n) in pos.iter().zip(&neg) {
            best = best.max((*p).max(*n) as f32 / span as f32);
        }
    }
    best
}

/// Searches each side of the face for a straight, continuous edge such as the bezel of a screen
/// or the edge of a print held in front of the camera. `g` should be ≤ ~640 px on its long side.
pub fn borders(g: &Grey, face: Rect) -> Borders {
    let (gx, gy) = sobel(g);
    let (across_vertical, across_horizontal) = (edge_classes(&gx, &gy), edge_classes(&gy, &gx));
    let (fw, fh) = (face.w() as f32, face.h() as f32);
    let clamp = |v: f32, hi: usize| v.round().clamp(1.0, hi.saturating_sub(1) as f32) as usize;
    // Rows spanned by a vertical border: from half a face above to most of a face below.
    let vrows = clamp(face.y0 as f32 - 0.5 * fh, g.h)..clamp(face.y1 as f32 + 0.8 * fh, g.h);
    let hcols = clamp(face.x0 as f32 - 0.5 * fw, g.w)..clamp(face.x1 as f32 + 0.5 * fw, g.w);
    let min_gap = 4usize;
    let side = |cols: std::ops::Range<usize>, rows: std::ops::Range<usize>, vertical: bool| {
        if cols.len() < min_gap || rows.len() < (if vertical { fh } else { fw }) as usize {
            return Side { continuity: 0.0, searched: false };
        }
        let continuity = if vertical {
            best_line(g.w, cols, rows, &across_vertical, false)
        } else {
            best_line(g.w, cols, rows, &across_horizontal, true)
        };
        Side { continuity, searched: true }
    };
    let left = side(
        clamp(face.x0 as f32 - 2.5 * fw, g.w)..clamp(face.x0 as f32 - 0.15 * fw, g.w),
        vrows.clone(),
        true,
    );
    let right =
        side(clamp(face.x1 as f32 + 0.15 * fw, g.w)..clamp(face.x1 as f32 + 2.5 * fw, g.w), vrows, true);
    let top = side(
        clamp(face.y0 as f32 - 1.5 * fh, g.h)..clamp(face.y0 as f32 - 0.15 * fh, g.h),
        hcols.clone(),
        false,
    );
    let bottom =
        side(clamp(face.y1 as f32 + 0.3 * fh, g.h)..clamp(face.y1 as f32 + 2.5 * fh, g.h), hcols, false);
    Borders { left, right, top, bottom }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grey(w: usize, h: usize, f: impl Fn(usize, usize) -> f32) -> Grey {
        let mut px = Vec::with_capacity(w * h);
        for y in 0..h {
            for x in 0..w {
                px.push(f(x, y));
            }
        }
        Grey { w, h, px }
    }

    #[test]
    fn rounding_halves_away_from_zero_like_std() {
        for i in -4000..4000 {
            let v = i as f32 * 0.05 + 0.25 * (i % 3) as f32;
            assert_eq!(round_half_away(v), v.round() as i64, "{v}");
        }
    }

    #[test]
    fn fft_matches_a_direct_dft() {
        let n = 16;
        let xs: Vec<f32> = (0..n).map(|i| ((i * 7) % 5) as f32 - 2.0).collect();
        let (mut re, mut im) = (xs.clone(), vec![0f32; n]);
        fft(&mut re, &mut im, &twiddles(n));
        for k in 0..n {
            let (mut r, mut i) = (0f64, 0f64);
            for (t, &x) in xs.iter().enumerate() {
                let a = -2.0 * std::f64::consts::PI * (k * t) as f64 / n as f64;
                r += x as f64 * a.cos();
                i += x as f64 * a.sin();
            }
            assert!((re[k] as f64 - r).abs() < 1e-3 && (im[k] as f64 - i).abs() < 1e-3, "bin {k}");
        }
    }

    #[test]
    fn a_periodic_pattern_shows_a_peak_and_noise_does_not() {
        let mut seed = 12345u32;
        let mut noise = move || {
            seed = seed.wrapping_mul(1664525).wrapping_add(1013904223);
            (seed >> 8) as f32 / (1u32 << 24) as f32
        };
        let n: Vec<f32> = (0..256 * 256).map(|_| noise() * 40.0).collect();
        let plain = grey(256, 256, |x, y| 120.0 + n[y * 256 + x]);
        let stripes = grey(256, 256, |x, y| {
            120.0
                + n[y * 256 + x]
                + 15.0 * (2.0 * std::f32::consts::PI * (0.23 * x as f32 + 0.11 * y as f32)).sin()
        });
        let face = Rect { x0: 0, y0: 0, x1: 256, y1: 256 };
        let a = moire(&plain, face).expect("assessed");
        let b = moire(&stripes, face).expect("assessed");
        assert!(b.peak_db > a.peak_db + 10.0, "noise {a:?} vs stripes {b:?}");
        assert!((b.frequency - (0.23f32.hypot(0.11))).abs() < 0.02, "{b:?}");
        let small = Rect { x0: 0, y0: 0, x1: 40, y1: 40 };
        assert!(moire(&plain, small).is_err());
    }

    #[test]
    fn letterbox_bars_are_measured() {
        let g =
            grey(100, 80, |x, y| if x < 7 || y >= 70 { 0.0 } else { ((x * 13 + y * 7) % 50) as f32 + 100.0 });
        assert_eq!(padding(&g), [10, 0, 0, 13]);
        let (c, ox, oy) = crop_padding(&g, padding(&g));
        assert_eq!((c.w, c.h, ox, oy), (90, 67, 10, 0));
    }

    #[test]
    fn a_frame_around_the_face_is_found_on_every_side() {
        // A bright "print" (x 100..300, y 60..360) on a dark background, a face box inside.
        let g = grey(
            400,
            420,
            |x, y| if (100..300).contains(&x) && (60..360).contains(&y) { 200.0 } else { 30.0 },
        );
        let face = Rect { x0: 160, y0: 140, x1: 240, y1: 240 };
        let b = borders(&g, face);
        assert_eq!(b.found(0.8), 4, "{b:?}");
        // A plain background has none.
        let flat = grey(400, 420, |_, _| 90.0);
        assert_eq!(borders(&flat, face).found(0.8), 0);
    }
}
