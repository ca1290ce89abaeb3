//! Drawing detections for `verity face detect --draw`.

use image::{Rgb, RgbImage};

use crate::detect::Face;

const CHOSEN: Rgb<u8> = Rgb([40, 220, 60]);
const OTHER: Rgb<u8> = Rgb([250, 180, 0]);
const POINTS: [Rgb<u8>; 5] =
    [Rgb([255, 0, 0]), Rgb([0, 0, 255]), Rgb([0, 255, 255]), Rgb([255, 0, 255]), Rgb([255, 255, 0])];

/// A copy of `image` with every face's box (the chosen one green, others amber) and landmarks
/// (right eye red, left eye blue, nose cyan, mouth corners magenta/yellow).
pub fn draw_faces(image: &RgbImage, faces: &[Face], chosen: Option<usize>) -> RgbImage {
    let mut out = image.clone();
    let thick = ((image.width().max(image.height()) as f32 / 400.0).ceil() as i64).max(1);
    for (i, f) in faces.iter().enumerate() {
        let c = if Some(i) == chosen { CHOSEN } else { OTHER };
        let (x0, y0) = (f.bbox.x as i64, f.bbox.y as i64);
        let (x1, y1) = ((f.bbox.x + f.bbox.w) as i64, (f.bbox.y + f.bbox.h) as i64);
        for t in 0..thick {
            hline(&mut out, x0, x1, y0 + t, c);
            hline(&mut out, x0, x1, y1 - t, c);
            vline(&mut out, x0 + t, y0, y1, c);
            vline(&mut out, x1 - t, y0, y1, c);
        }
        for (p, pc) in f.landmarks.iter().zip(POINTS) {
            let r = thick + 1;
            for dy in -r..=r {
                for dx in -r..=r {
                    put(&mut out, p.x as i64 + dx, p.y as i64 + dy, pc);
                }
            }
        }
    }
    out
}

fn put(img: &mut RgbImage, x: i64, y: i64, c: Rgb<u8>) {
    if x >= 0 && y >= 0 && (x as u32) < img.width() && (y as u32) < img.height() {
        img.put_pixel(x as u32, y as u32, c);
    }
}

fn hline(img: &mut RgbImage, x0: i64, x1: i64, y: i64, c: Rgb<u8>) {
    for x in x0..=x1 {
        put(img, x, y, c);
    }
}

fn vline(img: &mut RgbImage, x: i64, y0: i64, y1: i64, c: Rgb<u8>) {
    for y in y0..=y1 {
        put(img, x, y, c);
    }
}
