//! Reading the MRZ from a photo.
//!
//! 1. Detect text on the image fitted to 480 px (one compiled plan per bucketed shape); steps
//!    2–4 on the best band only. Unless that gives a valid MRZ (or one whose every character
//!    was read surely), detect again at 640 px and go through every step (the second pass).
//! 2. Keep long, thin lines; group parallel lines of similar length stacked closely (the MRZ
//!    band), longest groups first.
//! 3. Recognise only a group's lines (upright crops sampled along each line's own axes, so tilt
//!    and 90° rotations need no extra pass), the two or three lines in parallel, decoding only the
//!    37 MRZ symbols.
//! 4. Choose lines by content (lengths 30/36/44 and the MRZ alphabet), fit filler runs to the
//!    format's length, parse; when a check digit fails, try the recogniser's own runner-up
//!    characters at that field's positions — the change is kept only if it makes the check pass,
//!    and it is flagged with both probabilities. The raw read is kept.
//! 5. Stop at the first valid MRZ; else try the group read the other way (180°), then the next
//!    group.

use std::time::Instant;

use image::RgbImage;
use serde::Serialize;
use verity_mrz::{Date, Mode, Mrz, Options};

use crate::ctc::{CharRead, LineRead};
use crate::lines::{crop_line, find_lines, LineBox};
use crate::ocr::{Recognizer, DET_SHAPES, DET_SHAPES_FAST, REC_WIDTHS};
use crate::{DocumentEngine, DocumentError};

/// The detector's input long side.
pub const DET_SIDE: usize = 640;
/// The detector's input long side on the first, faster pass.
pub const DET_SIDE_FAST: usize = 480;
/// A first-pass read whose every character is this probable is not read again (what fails is
/// in the document as printed: a second pass read the same text, 1 line in 10 more work).
pub const SURE_P: f32 = 0.9;
/// Lowest character probability accepted where no check digit protects the character.
pub const UNCHECKED_MIN_P: f32 = 0.5;
/// A runner-up this probable makes a character ambiguous where no check digit protects it.
pub const AMBIGUOUS_ALT: f32 = 0.25;
/// A runner-up of the same check-digit weight (G/6, O/Q/0…) this probable makes a character
/// ambiguous in a field a check digit protects: the check passes either way. (A severe
/// synthetic photo read `6` at 0.82 for a printed `G`, runner-up `G` at 0.18.)
pub const AMBIGUOUS_SAME_WEIGHT: f32 = 0.1;

/// The check-digit weight of an MRZ character modulo 10: substitutions between characters of
/// the same weight (`<` 0 A K U, 1 B L V, …) pass every check digit.
fn same_weight(a: char, b: char) -> bool {
    let w = |c: char| match c {
        '0'..='9' => Some(c as u32 - '0' as u32),
        'A'..='Z' => Some((c as u32 - 'A' as u32 + 10) % 10),
        '<' => Some(0),
        _ => None,
    };
    w(a).is_some() && w(a) == w(b)
}
/// Groups of candidate lines tried before giving up.
const MAX_GROUPS: usize = 4;

/// One character changed from the raw read.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Correction {
    pub line: usize,
    pub position: usize,
    pub from: char,
    pub to: char,
    /// The recogniser's probability of the character read, and of the one chosen instead.
    pub p_from: f32,
    pub p_to: f32,
    /// Why: `check_digit:<name>` (the change makes that check digit pass) or `filler_length`
    /// (a run of `<` fitted to the format's line length).
    pub reason: String,
}

/// Milliseconds spent per stage.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Timings {
    pub detect: f64,
    pub recognize: f64,
    pub total: f64,
}

/// The outcome of reading an MRZ.
#[derive(Debug, Clone, Serialize)]
pub struct MrzReading {
    pub found: bool,
    /// The MRZ parses with no error *and* every character of the fields no check digit
    /// protects (names, nationality, issuing state, sex, document code) was read with
    /// probability ≥ [`UNCHECKED_MIN_P`]: a read that is merely plausible is not called valid.
    pub valid: bool,
    /// Unprotected fields with a character below [`UNCHECKED_MIN_P`].
    pub low_confidence_fields: Vec<String>,
    /// The lowest character probability in those fields.
    pub unchecked_min_p: f32,
    /// The MRZ lines after corrections (what was parsed).
    pub lines: Vec<String>,
    /// The lines exactly as recognised.
    pub raw_lines: Vec<String>,
    pub corrections: Vec<Correction>,
    /// Per line, per character: the recogniser's probability.
    pub char_confidences: Vec<Vec<f32>>,
    /// Mean character probability.
    pub confidence: f32,
    /// The parsed MRZ (fields, checks, errors, warnings) when lines were found.
    #[serde(skip)]
    pub mrz: Option<Mrz>,
    /// Corners of the MRZ lines in the image (reading order).
    pub boxes: Vec<[(f32, f32); 4]>,
    /// Angle of the MRZ's reading direction in the image, degrees (0 upright, 90 rotated
    /// clockwise, ±180 upside down).
    pub angle_deg: f32,
    /// The MRZ's line boxes (reading order, oriented as read).
    #[serde(skip)]
    pub mrz_boxes: Vec<LineBox>,
    /// Every text line the detector found (for the visual zone).
    #[serde(skip)]
    pub detected: Vec<LineBox>,
    /// The detector's input long side `detected` was found at.
    #[serde(skip)]
    pub detected_at: usize,
    pub lines_detected: usize,
    pub lines_recognized: usize,
    /// Detection passes run (1: the fast pass sufficed; 2: the image was detected again at
    /// [`DET_SIDE`]).
    pub passes: usize,
    pub timings_ms: Timings,
}

fn debug() -> bool {
    std::env::var_os("VERITY_DEBUG_MRZ").is_some()
}

fn ms(t: Instant) -> f64 {
    (t.elapsed().as_secs_f64() * 1e5).round() / 100.0
}

/// A line read, aligned with its characters.
#[derive(Debug, Clone)]
struct ReadLine {
    chars: Vec<CharRead>,
}

impl ReadLine {
    fn text(&self) -> String {
        self.chars.iter().map(|c| c.ch).collect()
    }
}

/// The format length for a group of `n` lines of these lengths.
fn target_length(n: usize, lens: &[usize]) -> Option<usize> {
    let mean = lens.iter().sum::<usize>() as f32 / lens.len().max(1) as f32;
    let longest = lens.iter().copied().max().unwrap_or(0);
    match n {
        3 if (26.0..=34.0).contains(&mean) => Some(30),
        // A line loses characters (merged fillers) far more often than it gains them: one
        // line read 41–48 long makes it a 44-character format even if the other fell short.
        2 if (41..=48).contains(&longest) && mean >= 34.0 => Some(44),
        2 if (32.0..=40.0).contains(&mean) => Some(36),
        2 if (40.0..=48.0).contains(&mean) => Some(44),
        _ => None,
    }
}

/// Fits a line to `target` characters by growing or shrinking a run of `<` (CTC can merge or
/// split fillers): the trailing run, else the line's longest run of at least three (when it is
/// the only one that long). `None` if it cannot be fitted that way.
fn fit(line: &ReadLine, target: usize, index: usize, fixes: &mut Vec<Correction>) -> Option<ReadLine> {
    fit_with(line, target, index, fixes, false)
}

/// As [`fit`]; `trailing_only` adjusts only a trailing run.
fn fit_with(
    line: &ReadLine,
    target: usize,
    index: usize,
    fixes: &mut Vec<Correction>,
    trailing_only: bool,
) -> Option<ReadLine> {
    let n = line.chars.len();
    if n == target {
        return Some(line.clone());
    }
    // Runs of '<': (start, length).
    let mut runs: Vec<(usize, usize)> = Vec::new();
    let mut i = 0;
    while i < n {
        if line.chars[i].ch == '<' {
            let s = i;
            while i < n && line.chars[i].ch == '<' {
                i += 1;
            }
            runs.push((s, i - s));
        } else {
            i += 1;
        }
    }
    let run = match runs.last() {
        Some(&(s, l)) if s + l == n => (s, l),
        _ if trailing_only => return None,
        _ => {
            let longest = runs.iter().map(|r| r.1).max().unwrap_or(0);
            let mut of_len = runs.iter().filter(|r| r.1 == longest);
            match (of_len.next(), of_len.next()) {
                (Some(&r), None) if longest >= 3 => r,
                _ => return None,
            }
        }
    };
    let mut chars = line.chars.clone();
    let at = run.0 + run.1;
    if n < target {
        for k in 0..(target - n) {
            chars.insert(at, CharRead { ch: '<', p: 0.0, alts: vec![], step: 0, margin: false });
            fixes.push(Correction {
                line: index,
                position: at + k,
                from: ' ',
                to: '<',
                p_from: 0.0,
                p_to: 0.0,
                reason: "filler_length".into(),
            });
        }
    } else {
        let excess = n - target;
        if run.1 < excess + usize::from(at < n) {
            return None;
        }
        for k in 0..excess {
            let c = chars.remove(at - 1 - k);
            fixes.push(Correction {
                line: index,
                position: at - 1 - k,
                from: c.ch,
                to: ' ',
                p_from: c.p,
                p_to: 0.0,
                reason: "filler_length".into(),
            });
        }
    }
    Some(ReadLine { chars })
}

fn parse(lines: &[ReadLine], today: Date) -> Option<Mrz> {
    let texts: Vec<String> = lines.iter().map(ReadLine::text).collect();
    verity_mrz::parse(&texts, &Options { mode: Mode::Tolerant, today }).ok()
}

/// Fields with a character whose other reading nothing would catch, and the lowest character
/// probability where no check digit protects. A character is ambiguous where no check digit
/// protects its field when the recogniser was unsure of it (p < [`UNCHECKED_MIN_P`], or a
/// runner-up ≥ [`AMBIGUOUS_ALT`]); where one does, when its runner-up weighs the same modulo
/// 10 (`<` 0 A K U, 6 G Q …: the check digit passes either way) and is ≥
/// [`AMBIGUOUS_SAME_WEIGHT`] or the character < [`UNCHECKED_MIN_P`]. `validated(line, pos)`:
/// positions validated otherwise (corrected into a known country code).
fn unsure_fields(
    m: &Mrz,
    lines: &[ReadLine],
    validated: impl Fn(usize, usize) -> bool,
) -> (Vec<String>, f32) {
    let protected: Vec<&str> = m.checks.iter().map(|c| c.name).collect();
    let mut low: Vec<String> = Vec::new();
    let mut unchecked_min_p = 1.0f32;
    for f in &m.fields {
        let is_protected =
            protected.contains(&f.name) || f.name.starts_with("optional_data") || f.name == "personal_number";
        let Some(line) = lines.get(f.line) else { continue };
        let mut ambiguous = false;
        for p in f.start..f.end.min(line.chars.len()) {
            if validated(f.line, p) {
                continue;
            }
            let c = &line.chars[p];
            if !is_protected {
                unchecked_min_p = unchecked_min_p.min(c.p);
            }
            let alt = c.alts.first();
            ambiguous |= if is_protected {
                alt.is_some_and(|a| {
                    same_weight(a.0, c.ch) && (a.1 >= AMBIGUOUS_SAME_WEIGHT || c.p < UNCHECKED_MIN_P)
                })
            } else {
                c.p < UNCHECKED_MIN_P || alt.is_some_and(|a| a.1 >= AMBIGUOUS_ALT)
            };
        }
        if ambiguous {
            low.push(f.name.to_string());
        }
    }
    (low, unchecked_min_p)
}

/// Checks that pass, and whether everything passes.
fn score(m: &Mrz) -> (usize, bool) {
    (m.checks.iter().filter(|c| c.valid).count(), m.valid)
}

/// Characters of the recogniser's runner-ups worth trying at a position.
fn alternatives(c: &CharRead) -> impl Iterator<Item = (char, f32)> + '_ {
    c.alts.iter().copied().filter(move |(_, p)| *p >= 0.05 && c.p < 0.995)
}

/// For each failing check digit (except the composite), the best single or double change of
/// that field's characters (or the digit itself) among the recogniser's alternatives that makes
/// the check pass without breaking another.
fn correct(lines: &mut [ReadLine], today: Date, fixes: &mut Vec<Correction>) -> Option<Mrz> {
    let mut m = parse(lines, today)?;
    if fix_kinds(lines, &m, fixes) {
        m = parse(lines, today)?;
    }
    for _round in 0..4 {
        let failing: Vec<verity_mrz::Check> =
            m.checks.iter().filter(|c| !c.valid && c.name != "composite").cloned().collect();
        let Some(check) = failing.first() else { break };
        let mut positions: Vec<(usize, usize)> = vec![(check.line, check.position)];
        for f in m.fields.iter().filter(|f| {
            f.name == check.name || (check.name == "personal_number" && f.name == "optional_data")
        }) {
            positions.extend((f.start..f.end).map(|p| (f.line, p)));
        }
        let (base_pass, _) = score(&m);
        type Change = (usize, usize, char, f32, f32);
        let mut best: Option<(f32, Vec<Change>, Mrz)> = None;
        let consider = |lines: &mut [ReadLine],
                        changes: Vec<Change>,
                        best: &mut Option<(f32, Vec<Change>, Mrz)>| {
            let saved: Vec<char> = changes.iter().map(|&(l, p, ..)| lines[l].chars[p].ch).collect();
            for &(l, p, to, ..) in &changes {
                lines[l].chars[p].ch = to;
            }
            if let Some(m2) = parse(lines, today) {
                let fixed = m2.checks.iter().any(|c| c.name == check.name && c.line == check.line && c.valid);
                let (pass, _) = score(&m2);
                if fixed && pass > base_pass {
                    let s: f32 = changes.iter().map(|&(.., pf, pt)| (pt / pf.max(1e-3)).ln()).sum();
                    if best.as_ref().is_none_or(|b| s > b.0) {
                        *best = Some((s, changes.clone(), m2));
                    }
                }
            }
            for (&(l, p, ..), ch) in changes.iter().zip(saved) {
                lines[l].chars[p].ch = ch;
            }
        };
        let cands: Vec<(usize, usize, char, f32, f32)> = positions
            .iter()
            .filter(|&&(l, p)| l < lines.len() && p < lines[l].chars.len())
            .flat_map(|&(l, p)| {
                let c = lines[l].chars[p].clone();
                alternatives(&c).map(move |(a, pa)| (l, p, a, c.p, pa)).collect::<Vec<_>>()
            })
            .collect();
        for c in &cands {
            consider(lines, vec![*c], &mut best);
        }
        if best.is_none() {
            // Two changes only between strong runner-ups.
            let strong: Vec<_> = cands.iter().copied().filter(|c| c.4 >= 0.15).collect();
            let cands = strong;
            for i in 0..cands.len() {
                for j in (i + 1)..cands.len() {
                    if (cands[i].0, cands[i].1) != (cands[j].0, cands[j].1) {
                        consider(lines, vec![cands[i], cands[j]], &mut best);
                    }
                }
            }
        }
        let Some((_, changes, m2)) = best else { break };
        for (l, p, to, pf, pt) in changes {
            let from = lines[l].chars[p].ch;
            lines[l].chars[p].ch = to;
            lines[l].chars[p].p = pt;
            fixes.push(Correction {
                line: l,
                position: p,
                from,
                to,
                p_from: pf,
                p_to: pt,
                reason: format!("check_digit:{}", check.name),
            });
        }
        m = m2;
    }
    Some(m)
}

fn allowed(kind: verity_mrz::Kind, c: char) -> bool {
    match kind {
        verity_mrz::Kind::Alpha => c.is_ascii_uppercase() || c == '<',
        verity_mrz::Kind::Numeric => c.is_ascii_digit() || c == '<',
        verity_mrz::Kind::AlphaNum => true,
    }
}

/// A character the field cannot hold (a digit in a name or country code, a letter in a date or
/// check digit) becomes the recogniser's most probable alternative that it can hold, if the
/// recogniser saw one. Returns whether anything changed.
fn fix_kinds(lines: &mut [ReadLine], m: &Mrz, fixes: &mut Vec<Correction>) -> bool {
    let mut spans: Vec<(usize, usize, usize, verity_mrz::Kind, String)> =
        m.fields.iter().map(|f| (f.line, f.start, f.end, f.kind, f.name.to_string())).collect();
    spans.extend(m.checks.iter().map(|c| {
        (c.line, c.position, c.position + 1, verity_mrz::Kind::Numeric, format!("{}_check", c.name))
    }));
    let mut changed = false;
    let mut lines_text: Vec<String> = lines.iter().map(ReadLine::text).collect();
    for (line, start, end, kind, name) in spans {
        for p in start..end {
            let Some(c) = lines.get_mut(line).and_then(|l| l.chars.get_mut(p)) else { continue };
            if allowed(kind, c.ch) {
                continue;
            }
            let is_country = matches!(name.as_str(), "issuing_state" | "nationality");
            let field_text = |ch: char| -> String {
                let l = &lines_text[line];
                l.chars()
                    .enumerate()
                    .filter(|(i, _)| (start..end).contains(i))
                    .map(|(i, x)| if i == p { ch } else { x })
                    .collect()
            };
            // Country codes: prefer an alternative that makes a known code.
            // (Some states print their ISO alpha-2 code followed by a filler, e.g. "SI<".)
            let known = |a: char| {
                let code = field_text(a);
                let code = code.trim_end_matches('<');
                is_country
                    && (verity_mrz::lookup_country(code).is_some()
                        || (code.len() == 2 && verity_mrz::iso_alpha2_name(code).is_some()))
            };
            // Real documents print digits in some places ICAO wants letters (Romania's "132"
            // nationality, the US "C1" document code): countries change only into a known
            // code, the document code only in its first character.
            let choice = if is_country {
                c.alts.iter().find(|(a, _)| allowed(kind, *a) && known(*a))
            } else if name == "document_code" && p != start {
                None
            } else {
                c.alts.iter().find(|(a, _)| allowed(kind, *a))
            };
            if let Some(&(to, pt)) = choice {
                fixes.push(Correction {
                    line,
                    position: p,
                    from: c.ch,
                    to,
                    p_from: c.p,
                    p_to: pt,
                    reason: format!("field_kind:{name}"),
                });
                c.ch = to;
                c.p = pt;
                changed = true;
                lines_text[line] = lines[line].text();
            }
        }
    }
    // Names: one `<<` separates surname and given names; letters after a later run of fillers
    // are stray marks when the recogniser also saw `<` there.
    for f in m.fields.iter().filter(|f| matches!(f.name, "names" | "surname" | "given_names")) {
        let Some(l) = lines.get_mut(f.line) else { continue };
        let end = f.end.min(l.chars.len());
        let text: Vec<char> = l.chars[f.start..end].iter().map(|c| c.ch).collect();
        let first_sep = text.windows(2).position(|w| w == ['<', '<']);
        let Some(first_sep) = first_sep else { continue };
        // Past the given names: the end of the first name part after the separator.
        let mut i = first_sep + 2;
        while i < text.len() && !(text[i] == '<' && text.get(i + 1) == Some(&'<')) {
            i += 1;
        }
        for k in i..text.len() {
            let c = &mut l.chars[f.start + k];
            if c.ch == '<' {
                continue;
            }
            if let Some(&(_, pt)) = c.alts.iter().find(|(a, _)| *a == '<') {
                fixes.push(Correction {
                    line: f.line,
                    position: f.start + k,
                    from: c.ch,
                    to: '<',
                    p_from: c.p,
                    p_to: pt,
                    reason: format!("name_structure:{}", f.name),
                });
                c.ch = '<';
                c.p = pt;
                changed = true;
            }
        }
    }
    changed
}

/// How far to extend each line of a band at its reading end, from a first read: the pitch is
/// the box length over the characters read in it, and the format's longest line (30 characters
/// for three lines, 44 for two) gives the length — the detector often misses a line's trailing
/// run of `<`. What is read in the extension is used only if the line needs it.
fn tails_for(boxes: &[LineBox], reads: &[LineRead]) -> Option<Vec<f32>> {
    let chars = if boxes.len() >= 3 { 30.0 } else { 44.0 };
    let (tails, pitch) = forced_tails(boxes, reads, chars)?;
    tails.iter().any(|t| *t > 1.5 * pitch).then_some(tails)
}

/// Tails extending every line to `chars` characters at the pitch measured from the first read
/// (the box length over the characters read in it); returns the tails and the pitch.
fn forced_tails(boxes: &[LineBox], reads: &[LineRead], chars: f32) -> Option<(Vec<f32>, f32)> {
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
fn same_extent(group: &[LineBox]) -> Vec<LineBox> {
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
fn groups(cands: &[LineBox]) -> Vec<Vec<LineBox>> {
    let mut out: Vec<(f32, Vec<LineBox>)> = Vec::new();
    for (i, a) in cands.iter().enumerate() {
        let mut g = vec![*a];
        for (j, b) in cands.iter().enumerate() {
            if i == j {
                continue;
            }
            let cos = (a.ux * b.ux + a.uy * b.uy).abs();
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
            if cos > 0.985 && ratio > 0.25 && dv > 0.6 * h && dv < 3.2 * h && (start_aligned || end_aligned) {
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
            let key = len * score * if w.len() == 3 { 1.05 } else { 1.0 };
            if !out.iter().any(|(_, o)| o == &w) {
                out.push((key, w));
            }
        }
    }
    out.sort_by(|a, b| b.0.total_cmp(&a.0));
    out.into_iter().map(|(_, g)| g).collect()
}

impl DocumentEngine {
    /// Detects text lines on `img` fitted to [`DET_SIDE`]; returns them in original-image pixels.
    pub fn detect_lines(&self, img: &RgbImage) -> Result<Vec<LineBox>, DocumentError> {
        self.detect_lines_at(img, DET_SIDE)
    }

    /// Detects text lines on `img` fitted to `side` pixels.
    pub fn detect_lines_at(&self, img: &RgbImage, side: usize) -> Result<Vec<LineBox>, DocumentError> {
        let (w, h) = (img.width() as usize, img.height() as usize);
        let s = side as f32 / w.max(h) as f32;
        let (rw, rh) = (((w as f32 * s).round() as usize).max(1), ((h as f32 * s).round() as usize).max(1));
        // The smallest of the usual shapes that holds the image (also on ONNX Runtime, which
        // would take any: the padding below and right of a 4:3 photo helps the detector find
        // lines near the edge — 98 % vs 82 % exact on moderate synthetic photos without it).
        let shapes: &[(usize, usize)] = if side < DET_SIDE { &DET_SHAPES_FAST } else { &DET_SHAPES };
        let (bw, bh) = shapes
            .iter()
            .copied()
            .filter(|&(bw, bh)| bw >= rw && bh >= rh)
            .min_by_key(|&(bw, bh)| bw * bh)
            .unwrap_or((rw.div_ceil(32) * 32, rh.div_ceil(32) * 32));
        let t = Instant::now();
        let small = verity_imaging::resize(img, rw as u32, rh as u32);
        let t_resize = ms(t);
        let t = Instant::now();
        let map = self.det.run(&small, bw, bh)?;
        let t_det = ms(t);
        let t = Instant::now();
        let out = find_lines(&map, rw, rh, 1.0 / s);
        if debug() {
            eprintln!(
                "  [mrz] detect {w}x{h} -> {bw}x{bh}: resize {t_resize:.1} det {t_det:.1} lines {:.1}",
                ms(t)
            );
        }
        Ok(out)
    }

    /// Recognises lines; `tails[i]` extends line `i` at its reading end (pixels). Characters
    /// read outside the detected box are marked `margin`. A line already read in `cache` at the
    /// same place (the first pass's box, found again by the second) is not read again. Returns
    /// the reads and how many lines were recognised.
    fn recognize(
        &self,
        img: &RgbImage,
        boxes: &[LineBox],
        tails: &[f32],
        cache: &mut ReadCache,
    ) -> Result<(Vec<LineRead>, usize), DocumentError> {
        // At most 800 columns (100 time steps, ~18 px per character of a 44-character line):
        // wider crops are squeezed, which the recogniser reads as well and faster.
        let max_w = REC_WIDTHS[REC_WIDTHS.len() - 1];
        let one = |(b, tail): (&LineBox, f32)| -> Result<LineRead, DocumentError> {
            // A little room at both ends: characters at a line's ends are often cut short.
            let margin = 0.4 * b.half_h;
            let half = b.half_len + margin + tail / 2.0;
            let ext =
                LineBox { half_len: half, cx: b.cx + b.ux * tail / 2.0, cy: b.cy + b.uy * tail / 2.0, ..*b };
            let t = Instant::now();
            let crop = crop_line(img, &ext, max_w);
            let t_crop = ms(t);
            let t = Instant::now();
            let out = self.rec.run(&crop)?;
            let t_rec = ms(t);
            let t = Instant::now();
            let mut read = self.mrz_alphabet.decode(&out.probs, out.steps, out.classes);
            if debug() {
                eprintln!(
                    "  [mrz] recognise {}: crop {t_crop:.1} rec {t_rec:.1} decode {:.1}",
                    crop.width(),
                    ms(t)
                );
            }
            // Which characters were read outside the box (their step's centre).
            let w = crop.width() as f32;
            let (lo, hi) = (w * margin / (2.0 * half), w - w * (margin + tail) / (2.0 * half));
            for c in &mut read.chars {
                let x = (c.step as f32 + 0.5) * crate::ocr::REC_STRIDE as f32;
                c.margin = x < lo || x > hi;
            }
            Ok(read)
        };
        let boxes: Vec<(&LineBox, f32)> =
            boxes.iter().zip(tails.iter().copied().chain(std::iter::repeat(0.0))).collect();
        let mut reads: Vec<Option<LineRead>> = boxes
            .iter()
            .map(|&(b, t)| {
                cache.iter().find(|(cb, ct, _)| same_place(b, t, cb, *ct)).map(|(.., r)| r.clone())
            })
            .collect();
        let todo: Vec<(&LineBox, f32)> =
            boxes.iter().zip(&reads).filter(|(_, r)| r.is_none()).map(|(b, _)| *b).collect();
        let fresh: Vec<LineRead> = if todo.len() == 1 {
            vec![one(todo[0])?]
        } else {
            // Two cores: the lines in parallel.
            std::thread::scope(|scope| {
                let handles: Vec<_> = todo.iter().map(|&b| scope.spawn(move || one(b))).collect();
                handles
                    .into_iter()
                    .map(|h| {
                        h.join()
                            .unwrap_or_else(|_| Err(DocumentError::Inference("recognition panicked".into())))
                    })
                    .collect::<Result<Vec<_>, _>>()
            })?
        };
        let n = fresh.len();
        cache.extend(todo.iter().zip(&fresh).map(|(&(b, t), r)| (*b, t, r.clone())));
        for (slot, r) in reads.iter_mut().filter(|r| r.is_none()).zip(fresh) {
            *slot = Some(r);
        }
        Ok((reads.into_iter().flatten().collect(), n))
    }

    /// Reads the MRZ of a document photo: first with text detected on the image fitted to
    /// [`DET_SIDE_FAST`] px, the best band only; then, unless that read a valid MRZ, one whose
    /// every check passes with every line confident, or one whose every character is sure
    /// ([`SURE_P`]), at [`DET_SIDE`] trying every band. The better reading is kept; counts and
    /// timings are both passes'. (Measured on the real set: the fast pass alone reads 35 of the
    /// 44 MRZs; on 1200×900 synthetic photos it cuts a read's work by a fifth.)
    pub fn read_mrz(&self, img: &RgbImage, today: Date) -> Result<MrzReading, DocumentError> {
        let mut cache = ReadCache::new();
        let first = self.read_pass(img, today, DET_SIDE_FAST, false, &mut cache)?;
        if first.valid || settled(&first) || sure(&first) {
            return Ok(first);
        }
        let mut second = self.read_pass(img, today, DET_SIDE, true, &mut cache)?;
        second.lines_recognized += first.lines_recognized;
        second.passes = 2;
        second.timings_ms.detect += first.timings_ms.detect;
        second.timings_ms.recognize += first.timings_ms.recognize;
        second.timings_ms.total += first.timings_ms.total;
        if rank_of(&first) > rank_of(&second) {
            let mut first = first;
            first.lines_recognized = second.lines_recognized;
            first.passes = 2;
            first.timings_ms = second.timings_ms;
            return Ok(first);
        }
        Ok(second)
    }

    /// Reads the MRZ with text detected on the image fitted to `side` pixels; `thorough` tries
    /// up to [`MAX_GROUPS`] bands and split placements of joined lines, else the best band only.
    pub fn read_mrz_at(
        &self,
        img: &RgbImage,
        today: Date,
        side: usize,
        thorough: bool,
    ) -> Result<MrzReading, DocumentError> {
        self.read_pass(img, today, side, thorough, &mut ReadCache::new())
    }

    fn read_pass(
        &self,
        img: &RgbImage,
        today: Date,
        side: usize,
        thorough: bool,
        cache: &mut ReadCache,
    ) -> Result<MrzReading, DocumentError> {
        let t0 = Instant::now();
        let lines = self.detect_lines_at(img, side)?;
        let detect = ms(t0);
        let long_side = img.width().max(img.height()) as f32;
        let mut cands: Vec<LineBox> = lines
            .iter()
            .copied()
            .filter(|b| b.aspect() >= 6.0 && 2.0 * b.half_len >= 0.22 * long_side)
            .collect();
        cands.sort_by(|a, b| b.half_len.total_cmp(&a.half_len));
        cands.truncate(14);
        if debug() {
            eprintln!(
                "  [mrz] {} lines, {} candidates, {} groups",
                lines.len(),
                cands.len(),
                groups(&cands).len()
            );
            for b in &lines {
                eprintln!(
                    "  [mrz] line c=({:.0},{:.0}) len={:.0} h={:.0} ang={:.1} score={:.2}",
                    b.cx,
                    b.cy,
                    2.0 * b.half_len,
                    2.0 * b.half_h,
                    b.angle_deg(),
                    b.score
                );
            }
        }
        let t1 = Instant::now();
        let mut recognized = 0usize;
        let mut best: Option<(usize, bool, MrzReading)> = None;
        let mut tries: Vec<Vec<LineBox>> = groups(&cands)
            .into_iter()
            .take(if thorough { MAX_GROUPS } else { 1 })
            .map(|g| same_extent(&g))
            .collect();
        // A long box as tall as two or three lines: the detector joined lines printed close
        // together (small or tilted photos). Try it split.
        for b in cands
            .iter()
            .filter(|b| 2.0 * b.half_len >= 0.4 * long_side && b.aspect() < 16.0)
            .take(if thorough { 2 } else { 0 })
        {
            // Two lines: also shifted by half a line up and down (the box may hold one line and
            // part of the other, as on a phone photo tilted 20°).
            for (n, shift) in [(2usize, 0.0f32), (2, -1.0), (2, -2.0), (2, 1.0), (3, 0.0)] {
                let (nx, ny) = b.normal();
                let h = b.half_h / n as f32;
                tries.push(
                    (0..n)
                        .map(|i| {
                            let off = -b.half_h + h * ((2 * i + 1) as f32 + shift);
                            LineBox { cx: b.cx + nx * off, cy: b.cy + ny * off, half_h: h * 1.15, ..*b }
                        })
                        .collect(),
                );
            }
        }
        // Groups tried after an MRZ-shaped read (some check digit passing) was found.
        let mut after_found = 0usize;
        let mut after_limit = 1usize;
        let mut pool: Vec<(LineBox, LineRead)> = Vec::new();
        'groups: for group in tries {
            if best.as_ref().is_some_and(|(pass, ..)| *pass > 0) {
                after_found += 1;
                if after_found > after_limit {
                    break;
                }
            }
            for flip in [false, true] {
                let boxes: Vec<LineBox> =
                    if flip { group.iter().rev().map(LineBox::flipped).collect() } else { group.clone() };
                let (mut reads, n) = self.recognize(img, &boxes, &[], cache)?;
                recognized += n;
                // Two lines that may be 36 or 44 long (trailing fillers unread, no composite digit
                // to tell): look past the box — fillers printed there are read, a blank is not.
                let mut known: Option<usize> = None;
                let ambiguous = self
                    .interpret(&reads, &boxes, today)
                    .is_some_and(|(.., r)| r.low_confidence_fields.iter().any(|f| f == "format"));
                if ambiguous {
                    if let Some((tails, _)) = forced_tails(&boxes, &reads, 44.0) {
                        let (longer, n) = self.recognize(img, &boxes, &tails, cache)?;
                        recognized += n;
                        let most = longer.iter().map(|r| r.chars.len()).max().unwrap_or(0);
                        if most >= 41 {
                            known = Some(44);
                            reads = longer;
                        } else if most <= 38 {
                            known = Some(36);
                        }
                    }
                }
                // Lines that may continue past their box (unread fillers): read again, longer —
                // if the read looks like MRZ text (a filler somewhere; text read the wrong way
                // up is digits and look-alikes, with no `<`).
                let first_ok = self.interpret(&reads, &boxes, today).is_some_and(|(_, valid, _)| valid);
                let mrz_like = reads.iter().any(|r| r.text.contains('<'));
                if !first_ok && mrz_like {
                    if let Some(tails) = tails_for(&boxes, &reads) {
                        let (longer, n) = self.recognize(img, &boxes, &tails, cache)?;
                        recognized += n;
                        let better = match (
                            self.interpret(&longer, &boxes, today),
                            self.interpret(&reads, &boxes, today),
                        ) {
                            (Some((p2, v2, _)), Some((p1, v1, _))) => (v2, p2) > (v1, p1),
                            (Some(_), None) => true,
                            _ => false,
                        };
                        if better {
                            reads = longer;
                        }
                    }
                }
                if debug() {
                    for (b, r) in boxes.iter().zip(&reads) {
                        eprintln!(
                            "  [mrz] flip={flip} box c=({:.0},{:.0}) len={:.0} h={:.0} ang={:.1} score={:.2}: {:?} conf {:.3}",
                            b.cx, b.cy, 2.0 * b.half_len, 2.0 * b.half_h, b.angle_deg(), b.score, r.text, r.confidence
                        );
                    }
                }
                if !flip {
                    // Confident, MRZ-long single-line reads, for pairing across placements.
                    for (b, r) in boxes.iter().zip(&reads) {
                        if r.confidence >= 0.9
                            && r.chars.len() >= 28
                            && !pool.iter().any(|(_, x)| x.text == r.text)
                        {
                            pool.push((*b, r.clone()));
                        }
                    }
                }
                if let Some((pass, valid, reading)) = self.interpret_as(&reads, &boxes, today, known) {
                    let better = best
                        .as_ref()
                        .is_none_or(|(bp, bv, br)| rank(valid, pass, &reading) > rank(*bv, *bp, br));
                    if better {
                        best = Some((pass, valid, reading));
                    }
                    // Valid, or every check digit passes (the other errors are in the document
                    // as printed, e.g. a non-ICAO nationality) with every line read confidently:
                    // no other band will do better.
                    let all_checks = best
                        .as_ref()
                        .and_then(|(.., r)| r.mrz.as_ref())
                        .is_some_and(|m| m.checks.len() >= 2 && m.checks.iter().all(|c| c.valid));
                    let confident = best.as_ref().is_some_and(|(.., r)| weakest_line(r) >= 0.9);
                    if valid || (all_checks && confident) {
                        break 'groups;
                    }
                    if all_checks {
                        // A line without check digits (the names) read poorly: a few more
                        // placements of the band (split variants) may read it.
                        after_limit = 3;
                    }
                    // An MRZ read this way round, or a long line read confidently (upright text):
                    // no need to try it upside down.
                    let upright = !flip && reads.iter().any(|r| r.confidence >= 0.95 && r.chars.len() >= 28);
                    if pass > 0 || upright {
                        break;
                    }
                } else {
                    let mean = reads.iter().map(|r| r.confidence).sum::<f32>() / reads.len().max(1) as f32;
                    if mean > 0.9 && !flip {
                        // Confident text that is not an MRZ: not worth reading upside down.
                        break;
                    }
                }
            }
        }
        // Not valid: the lines may have been read well in different placements of the band (a
        // box holding one line and part of the other). Pair the confident line reads, in page
        // order, and keep a better interpretation. No new recognition.
        if !best.as_ref().is_some_and(|(_, v, _)| *v) && pool.len() >= 2 {
            for i in 0..pool.len() {
                for j in 0..pool.len() {
                    let (a, b) = (&pool[i], &pool[j]);
                    let gap = a.0.along_normal(&b.0) - a.0.along_normal(&a.0);
                    if i == j || gap < 1.2 * a.0.half_h {
                        continue;
                    }
                    let reads = [a.1.clone(), b.1.clone()];
                    let boxes = [a.0, b.0];
                    if let Some((pass, valid, reading)) = self.interpret_as(&reads, &boxes, today, None) {
                        if best
                            .as_ref()
                            .is_none_or(|(bp, bv, br)| rank(valid, pass, &reading) > rank(*bv, *bp, br))
                        {
                            best = Some((pass, valid, reading));
                        }
                    }
                }
            }
        }
        let recognize = ms(t1);
        let mut reading = match best {
            Some((.., r)) => r,
            None => MrzReading {
                found: false,
                valid: false,
                low_confidence_fields: vec![],
                unchecked_min_p: 0.0,
                lines: vec![],
                raw_lines: vec![],
                corrections: vec![],
                char_confidences: vec![],
                confidence: 0.0,
                mrz: None,
                boxes: vec![],
                angle_deg: 0.0,
                mrz_boxes: vec![],
                detected: vec![],
                detected_at: side,
                lines_detected: 0,
                lines_recognized: 0,
                passes: 1,
                timings_ms: Timings::default(),
            },
        };
        reading.lines_detected = lines.len();
        reading.detected = lines;
        reading.detected_at = side;
        reading.lines_recognized = recognized;
        reading.timings_ms = Timings { detect, recognize, total: ms(t0) };
        Ok(reading)
    }

    /// Turns a group's reads into an MRZ reading, if the text has an MRZ's shape.
    fn interpret(
        &self,
        reads: &[LineRead],
        boxes: &[LineBox],
        today: Date,
    ) -> Option<(usize, bool, MrzReading)> {
        self.interpret_as(reads, boxes, today, None)
    }

    /// As [`DocumentEngine::interpret`]; `known` fixes the length of two-line MRZs (36 or 44)
    /// when a longer read has settled it.
    fn interpret_as(
        &self,
        reads: &[LineRead],
        boxes: &[LineBox],
        today: Date,
        known: Option<usize>,
    ) -> Option<(usize, bool, MrzReading)> {
        let raw: Vec<ReadLine> = reads.iter().map(|r| ReadLine { chars: r.chars.clone() }).collect();
        let mrz_like = |r: &ReadLine| r.chars.len() >= 24;
        // The group may hold a line above the MRZ: try the 3- and 2-line windows that look right.
        let mut options: Vec<(usize, usize)> = Vec::new();
        for n in [3usize, 2] {
            for s in 0..raw.len().saturating_sub(n - 1) {
                if raw[s..s + n].iter().all(mrz_like) && raw[s..s + n].iter().any(|l| l.text().contains("<<"))
                {
                    options.push((s, n));
                }
            }
        }
        let mut best: Option<(usize, bool, MrzReading)> = None;
        for (s, n) in options {
            let window = &raw[s..s + n];
            let lens: Vec<usize> = window.iter().map(|l| l.chars.len()).collect();
            let Some(target) = (if n == 2 { known } else { None }).or_else(|| target_length(n, &lens)) else {
                continue;
            };
            // Characters read in the margins beyond a box are kept only when the line needs
            // them to reach the format's length.
            let fit_window = |target: usize, fixes: &mut Vec<Correction>| -> Option<Vec<ReadLine>> {
                window
                    .iter()
                    .enumerate()
                    .map(|(i, l)| {
                        let core =
                            ReadLine { chars: l.chars.iter().filter(|c| !c.margin).cloned().collect() };
                        let mut f1 = Vec::new();
                        if let Some(x) = fit(&core, target, i, &mut f1) {
                            fixes.extend(f1);
                            return Some(x);
                        }
                        fit(l, target, i, fixes)
                    })
                    .collect()
            };
            let mut fixes = Vec::new();
            let Some(mut fitted) = fit_window(target, &mut fixes) else { continue };
            // Two lines whose trailing fillers went unread may be 36 or 44 long (MRV-B or
            // MRV-A carry no composite digit to tell): if the other length parses as well, the
            // format is not certain.
            let other_fits = n == 2 && known.is_none() && {
                let other = if target == 36 { 44 } else { 36 };
                let f: Option<Vec<ReadLine>> = fitted
                    .iter()
                    .enumerate()
                    .map(|(i, l)| {
                        // From the fitted line, without its padding: only unread trailing fillers.
                        let core = ReadLine {
                            chars: l.chars.iter().filter(|c| c.p > 0.0 || c.ch != '<').cloned().collect(),
                        };
                        fit_with(&core, other, i, &mut Vec::new(), true)
                    })
                    .collect();
                f.and_then(|f| parse(&f, today)).is_some_and(|m| m.valid)
            };
            let Some(m) = correct(&mut fitted, today, &mut fixes) else { continue };
            let (pass, valid) = score(&m);
            let conf: Vec<Vec<f32>> = fitted.iter().map(|l| l.chars.iter().map(|c| c.p).collect()).collect();
            let all: Vec<f32> = conf.iter().flatten().copied().collect();
            let b0 = &boxes[s];
            // Positions validated otherwise: corrected into a known country code.
            let validated = |line: usize, p: usize| {
                fixes.iter().any(|x| {
                    x.line == line
                        && x.position == p
                        && (x.reason == "field_kind:issuing_state" || x.reason == "field_kind:nationality")
                })
            };
            let (mut low, unchecked_min_p) = unsure_fields(&m, &fitted, validated);
            if other_fits {
                low.push("format".into());
            }
            let reading = MrzReading {
                found: true,
                valid: m.valid && low.is_empty(),
                low_confidence_fields: low,
                unchecked_min_p,
                lines: fitted.iter().map(ReadLine::text).collect(),
                raw_lines: window.iter().map(ReadLine::text).collect(),
                corrections: fixes,
                confidence: all.iter().sum::<f32>() / all.len().max(1) as f32,
                char_confidences: conf,
                mrz: Some(m),
                boxes: boxes[s..s + n].iter().map(LineBox::corners).collect(),
                angle_deg: b0.angle_deg(),
                mrz_boxes: boxes[s..s + n].to_vec(),
                detected: vec![],
                detected_at: 0,
                lines_detected: 0,
                lines_recognized: 0,
                passes: 1,
                timings_ms: Timings::default(),
            };
            if best.as_ref().is_none_or(|(bp, bv, _)| (valid, pass) > (*bv, *bp)) {
                best = Some((pass, valid, reading));
            }
        }
        best
    }
}

/// How readings compare: valid first, then check digits passing, then every line read
/// confidently.
/// Every check digit passes and every line was read confidently (the other errors are in the
/// document as printed): another pass will not do better.
fn settled(r: &MrzReading) -> bool {
    r.mrz.as_ref().is_some_and(|m| m.checks.len() >= 2 && m.checks.iter().all(|c| c.valid))
        && weakest_line(r) >= 0.9
}

/// Lines read so far for one image: box, tail, read.
type ReadCache = Vec<(LineBox, f32, LineRead)>;

/// Two placements of a line whose crops would be all but the same: centres and tails within a
/// quarter of the line's half-height, lengths within 2 % (+1 px), heights within 10 %, same
/// direction within ~1°.
fn same_place(a: &LineBox, ta: f32, b: &LineBox, tb: f32) -> bool {
    let tol = 0.25 * a.half_h.min(b.half_h);
    (a.cx - b.cx).abs() <= tol
        && (a.cy - b.cy).abs() <= tol
        && (ta - tb).abs() <= tol
        && (a.half_len - b.half_len).abs() <= 0.02 * a.half_len.max(b.half_len) + 1.0
        && (a.half_h - b.half_h).abs() <= 0.1 * a.half_h.max(b.half_h)
        && a.ux * b.ux + a.uy * b.uy >= 0.99985
}

/// Every character read with high probability: reading the band again, placed differently,
/// gives the same text (what fails is in the document as printed).
fn sure(r: &MrzReading) -> bool {
    r.found
        && r.mrz.is_some()
        && !r.char_confidences.is_empty()
        && r.char_confidences.iter().flatten().all(|&p| p >= SURE_P)
        && r.corrections.is_empty()
}

/// [`rank`] of a finished reading.
fn rank_of(r: &MrzReading) -> (bool, usize, bool) {
    let pass = r.mrz.as_ref().map_or(0, |m| score(m).0);
    rank(r.valid, pass, r)
}

fn rank(valid: bool, pass: usize, r: &MrzReading) -> (bool, usize, bool) {
    (valid, pass, weakest_line(r) >= 0.9)
}

/// The lowest mean character probability over a reading's lines.
fn weakest_line(r: &MrzReading) -> f32 {
    r.char_confidences.iter().map(|l| l.iter().sum::<f32>() / l.len().max(1) as f32).fold(1.0, f32::min)
}

/// Recogniser widths, for callers that precompile.
pub fn rec_bucket(width: usize) -> usize {
    Recognizer::bucket(width)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(text: &str, p: f32) -> ReadLine {
        ReadLine {
            chars: text.chars().map(|ch| CharRead { ch, p, alts: vec![], step: 0, margin: false }).collect(),
        }
    }

    fn today() -> Date {
        Date { year: 2026, month: 11, day: 22 }
    }

    #[test]
    fn a_line_found_again_in_the_same_place_is_not_read_again() {
        let a = LineBox { cx: 137.0, cy: 130.0, ux: 1.0, uy: 0.0, half_len: 129.0, half_h: 8.0, score: 0.97 };
        // The second pass's box: a pixel off, half a pixel shorter.
        let b = LineBox { cx: 137.5, cy: 131.0, half_h: 7.5, ..a };
        assert!(same_place(&a, 0.0, &b, 0.0));
        // Not: another line, a taller box (different crop), upside down, a longer tail.
        assert!(!same_place(&a, 0.0, &LineBox { cy: 144.0, ..a }, 0.0));
        assert!(!same_place(&a, 0.0, &LineBox { half_h: 9.5, ..a }, 0.0));
        assert!(!same_place(&a, 0.0, &a.flipped(), 0.0));
        assert!(!same_place(&a, 0.0, &a, 40.0));
    }

    #[test]
    fn the_format_length_follows_the_longest_line() {
        assert_eq!(target_length(3, &[30, 29, 30]), Some(30));
        assert_eq!(target_length(2, &[36, 36]), Some(36));
        assert_eq!(target_length(2, &[44, 43]), Some(44));
        // Eight trailing fillers merged on the first line (a tilted passport photo).
        assert_eq!(target_length(2, &[36, 43]), Some(44));
        assert_eq!(target_length(2, &[20, 25]), None);
    }

    #[test]
    fn fillers_are_fitted_to_the_format_and_flagged() {
        let mut fixes = Vec::new();
        let l = line("P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<<", 0.99);
        let f = fit(&l, 44, 0, &mut fixes).expect("fits");
        assert_eq!(f.chars.len(), 44);
        assert_eq!(fixes.len(), l.chars.len() - 44);
        let short = line("P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<", 0.99);
        assert_eq!(fit(&short, 44, 0, &mut fixes).map(|f| f.text().len()), Some(44));
        // No run of fillers to adjust: not fitted.
        assert!(fit(&line("L898902C36UTO7408122F1204159ZE184226B1", 0.9), 44, 1, &mut fixes).is_none());
        // An internal run (the only long one) grows.
        let f =
            fit(&line("L898902C36UTO7408122F1204159ZE184226B<<<<10", 0.9), 44, 1, &mut fixes).expect("fits");
        assert_eq!(f.text(), "L898902C36UTO7408122F1204159ZE184226B<<<<<10");
    }

    #[test]
    fn a_failing_check_digit_is_corrected_only_from_the_recognisers_alternatives() {
        let l1 = line("P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<", 0.99);
        // Document number L898902C3: the recogniser read "8" as "B" (with 8 as runner-up).
        let mut l2 = line("L89B902C36UTO7408122F1204159ZE184226B<<<<<10", 0.99);
        l2.chars[3].p = 0.55;
        l2.chars[3].alts = vec![('8', 0.44), ('E', 0.01)];
        let mut lines = vec![l1.clone(), l2.clone()];
        let mut fixes = Vec::new();
        let m = correct(&mut lines, today(), &mut fixes).expect("parses");
        assert!(m.valid, "{:?}", m.errors);
        assert_eq!(lines[1].text(), "L898902C36UTO7408122F1204159ZE184226B<<<<<10");
        assert_eq!(fixes.len(), 1);
        assert_eq!((fixes[0].from, fixes[0].to, fixes[0].position), ('B', '8', 3));
        assert!(fixes[0].reason.starts_with("check_digit:"));
        // Without a runner-up from the recogniser nothing changes: no confusion table.
        let mut lines = vec![l1, line("L89B902C36UTO7408122F1204159ZE184226B<<<<<10", 0.99)];
        let mut fixes = Vec::new();
        let m = correct(&mut lines, today(), &mut fixes).expect("parses");
        assert!(!m.valid);
        assert!(fixes.is_empty());
    }

    #[test]
    fn a_runner_up_the_check_digit_cannot_tell_apart_makes_the_field_unsure() {
        let l1 = line("P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<", 0.99);
        let l2 = line("L898902C36UTO7408122F1204159ZE184226B<<<<<10", 0.99);
        let m = parse(&[l1.clone(), l2.clone()], today()).expect("parses");
        assert!(m.valid);
        assert_eq!(unsure_fields(&m, &[l1.clone(), l2.clone()], |_, _| false).0, Vec::<String>::new());
        // "C" of the document number read at 0.82 with "M" (same weight: 12 and 22) at 0.18:
        // the check digit passes either way.
        let mut same = l2.clone();
        same.chars[7].p = 0.82;
        same.chars[7].alts = vec![('M', 0.18)];
        assert_eq!(unsure_fields(&m, &[l1.clone(), same], |_, _| false).0, vec!["document_number"]);
        // A runner-up of another weight would fail the check: not unsure.
        let mut other = l2.clone();
        other.chars[7].p = 0.6;
        other.chars[7].alts = vec![('G', 0.4)];
        assert!(unsure_fields(&m, &[l1.clone(), other], |_, _| false).0.is_empty());
        // Names carry no check digit: a runner-up at 0.25 is enough.
        let mut name = l1.clone();
        name.chars[6].alts = vec![('F', 0.3)];
        let (low, min_p) = unsure_fields(&m, &[name, l2.clone()], |_, _| false);
        assert!(low.iter().any(|f| f.contains("name")), "{low:?}");
        assert!((min_p - 0.99).abs() < 1e-6);
    }
}
