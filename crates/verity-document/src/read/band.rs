//! Grouping detected lines into MRZ band candidates.

use super::*;

/// How far to extend each line of a band at its reading end, from a first read: the pitch is
/// the box length over the characters read in it, and the format's longest line (30 characters
/// for three lines, 44 for two) gives the length — the detector often misses a line's trailing
/// run of `<`. What is read in the extension is used only if the line needs it.
pub(super) fn tails_for(boxes: &[LineBox], reads: &[LineRead]) -> Option<Vec<f32>> {
    let chars = if boxes.len() >= 3 { 30.0 } else { 44.0 };
    let (tails, pitch) = forced_tails(boxes, reads, chars)?;
    tails.iter().any(|t| *t > 1.5 * pitch).then_some(tails)
}

/// Tails extending every line to `chars` characters at the pitch measured from the first read
/// (the box length over the characters read in it); returns the tails and the pitch.
pub(super) fn forced_tails(boxes: &[LineBox], reads: &[LineRead], chars: f32) -> Option<(Vec<f32>, f32)> {
    let mut pitches: Vec<f32> = boxes
        .iter()
        .zip(reads)
        .filter_map(|(b, r)| {
            let n = r.chars.iter().filter(|c| !c.margin).count();
            (n >= 20).then(|| 2.0 * b.half_len / n as f32)
        })
        .collect();
    if pitches.is_empty() {
        return None;
    }
    pitches.sort_by(f32::total_cmp);
    let pitch = pitches[pitches.len() / 2];
    let tails =
        boxes.iter().map(|b| (chars * pitch * 1.02 - 2.0 * b.half_len).clamp(0.0, b.half_len)).collect();
    Some((tails, pitch))
}

/// The lines of an MRZ are printed the same length, left-aligned: each line of a band gets
/// the band's whole extent along the reading axis (the detector often misses a run of `<` or a
/// character at one line's end).
pub(super) fn same_extent(group: &[LineBox]) -> Vec<LineBox> {
    let Some(a) = group.first() else { return vec![] };
    let (lo, hi) = group.iter().fold((f32::MAX, f32::MIN), |(lo, hi), b| {
        let c = (b.cx - a.cx) * a.ux + (b.cy - a.cy) * a.uy;
        (lo.min(c - b.half_len), hi.max(c + b.half_len))
    });
    group
        .iter()
        .map(|b| {
            let c = (b.cx - a.cx) * a.ux + (b.cy - a.cy) * a.uy;
            let mid = (lo + hi) / 2.0;
            LineBox {
                cx: b.cx + (mid - c) * a.ux,
                cy: b.cy + (mid - c) * a.uy,
                ux: a.ux,
                uy: a.uy,
                half_len: (hi - lo) / 2.0,
                ..*b
            }
        })
        .collect()
}

/// Candidate MRZ bands: parallel lines of similar length stacked closely, in reading order,
/// best first.
pub(super) fn groups(cands: &[LineBox]) -> Vec<Vec<LineBox>> {
    let mut out: Vec<(f32, Vec<LineBox>)> = Vec::new();
    for (i, a) in cands.iter().enumerate() {
        let mut g = vec![*a];
        for (j, b) in cands.iter().enumerate() {
            if i == j {
                continue;
            }
            let ratio = a.half_len.min(b.half_len) / a.half_len.max(b.half_len);
            let (nx, ny) = a.normal();
            let dv = ((b.cx - a.cx) * nx + (b.cy - a.cy) * ny).abs();
            let du = (b.cx - a.cx) * a.ux + (b.cy - a.cy) * a.uy;
            let h = a.half_h.max(b.half_h) * 2.0;
            // MRZ lines are aligned at both ends as printed, but the detector often misses a
            // line's trailing run of `<`: one aligned end is enough.
            let tol = (1.5 * h).max(0.12 * a.half_len.max(b.half_len));
            let start_aligned = ((du - b.half_len) + a.half_len).abs() < tol;
            let end_aligned = ((du + b.half_len) - a.half_len).abs() < tol;
            if alike(a, b) && ratio > 0.25 && dv > 0.6 * h && dv < 3.2 * h && (start_aligned || end_aligned) {
                g.push(*b);
            }
        }
        if g.len() < 2 {
            continue;
        }
        // Reading order down the page.
        g.sort_by(|p, q| a.along_normal(p).total_cmp(&a.along_normal(q)));
        g.dedup_by(|p, q| (p.cx - q.cx).abs() < 1.0 && (p.cy - q.cy).abs() < 1.0);
        // Keep the two or three consecutive lines around `a`.
        let k = g.iter().position(|x| x == a).unwrap_or(0);
        let mut windows: Vec<Vec<LineBox>> = Vec::new();
        for n in [3usize, 2] {
            for st in k.saturating_sub(n - 1)..=k {
                if st + n <= g.len() {
                    windows.push(g[st..st + n].to_vec());
                }
            }
        }
        for w in windows {
            let len: f32 = w.iter().map(|b| b.half_len).sum::<f32>() / w.len() as f32;
            let score: f32 = w.iter().map(|b| b.score).sum::<f32>() / w.len() as f32;
            // An MRZ stands apart: the lines above it (the visual zone) are shorter and nothing
            // like it follows. Lines cut from a longer stack of alike lines at the same spacing
            // (a page of text around the document, a table) rank below an isolated band.
            let apart = if continues(&w, cands) { 0.4 } else { 1.0 };
            // An MRZ line is 30–44 characters about as wide as 0.36–0.73 of its box's height
            // (box aspect 13–28 on the shared real photos): a row much longer for its height is
            // other text (a printed page around the document), however long.
            let aspect = w.iter().map(|b| b.aspect()).fold(0.0, f32::max);
            let shaped = if aspect > 36.0 { 0.3 } else { 1.0 };
            let key = len * score * apart * shaped * if w.len() == 3 { 1.05 } else { 1.0 };
            if !out.iter().any(|(_, o)| o == &w) {
                out.push((key, w));
            }
        }
    }
    out.sort_by(|a, b| b.0.total_cmp(&a.0));
    out.into_iter().map(|(_, g)| g).collect()
}

/// Whether another candidate line continues the stack `w` (in reading order) by one more line of
/// about the same length, height, direction and alignment, at the stack's own spacing.
fn continues(w: &[LineBox], cands: &[LineBox]) -> bool {
    let (Some(top), Some(bottom)) = (w.first(), w.last()) else { return false };
    if w.len() < 2 {
        return false;
    }
    let at = |b: &LineBox| top.along_normal(b) - top.along_normal(top);
    let spacing = at(bottom) / (w.len() - 1) as f32;
    let len = w.iter().map(|b| b.half_len).sum::<f32>() / w.len() as f32;
    cands.iter().filter(|c| !w.contains(c)).any(|c| {
        let ratio = len.min(c.half_len) / len.max(c.half_len);
        let off = at(c);
        let next = (off - at(bottom) - spacing).abs() < 0.35 * spacing.abs();
        let prev = (off + spacing).abs() < 0.35 * spacing.abs();
        alike(top, c) && ratio > 0.85 && (next || prev)
    })
}

/// Whether two lines could be printed in one font, in one direction: the lines of one MRZ are
/// (within 3° and 25 % of height); a page of other text around the document has its own.
fn alike(a: &LineBox, b: &LineBox) -> bool {
    let cos = (a.ux * b.ux + a.uy * b.uy).abs();
    cos > 0.9986 && a.half_h.min(b.half_h) / a.half_h.max(b.half_h) > 0.75
}
