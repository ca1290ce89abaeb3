//! An MRZ inside a longer line. On a busy page (a passport lying on printed paper, a visa glued
//! over a printed page) the detector joins an MRZ line with the words printed on the same
//! baseline beside it: the band's box is longer than the MRZ, its crop is squeezed to the
//! recogniser's width (fillers merge, digits turn to look-alike letters) and the read holds
//! words around the MRZ (`DATEOFBIRV<CANDE<LA<CRUZ<<…`). Fitting such a read to a format's length
//! cannot work. Instead, when a band's reading is not valid:
//!
//! 1. find where an MRZ may begin in the band's first line: a document code (`A C I P V`),
//!    a second character that is a letter or `<`, and a known issuing state (`P<UTO`, `IDFRA`,
//!    `V<NLD`); the candidates with the most fillers after them first, two at most. A read
//!    that begins with the code and is no longer than the format is left to the usual fitting,
//!    unless it is a visa (its length is the cut's question) or a line runs on past its
//!    fillers with words rather than check digits (`<<<<<<OBSERVATI`);
//! 2. measure the character pitch there (over runs of distinct neighbours: a squeezed read
//!    places characters only to half a pitch) and cut every line of the band from two pitches
//!    before that point to three past the format's longest length; read the cut boxes again;
//! 3. in that read, find the document code again and measure the pitch finely over every line,
//!    then cut each line to the format's extent exactly and read it once more — a box like any
//!    band's, interpreted the usual way (margins, fillers fitted, check digits, `valid`'s rules).
//!
//! A visa's length (MRV-A 44 or MRV-B 36, no composite digit to tell) is taken from what the
//! first line holds past its 36th character: fillers (counted from two pitches on, the
//! precision of a character's place) make it 44, anything else 36, both leave it read but not
//! valid (`format`). Characters printed right after the format's end, on any
//! line, leave it read but not valid (`extent`): words touching the MRZ could be read as its
//! last characters, where names and a visa's optional data carry no check. A card's band found
//! as two lines (the third, of names, missed) is read with a third box at the same spacing.

use super::*;

/// Document codes an MRZ's first line begins with (ICAO 9303: A, C, I cards, P passports,
/// V visas).
const DOC_CODES: [char; 5] = ['A', 'C', 'I', 'P', 'V'];
/// An interpretation: checks passing, valid, the reading.
type Found = (usize, bool, MrzReading);

/// Start candidates tried per band.
const MAX_STARTS: usize = 2;

/// Where an MRZ may begin in a band's first line.
#[derive(Debug, Clone, Copy)]
struct Start {
    /// Index of the document code in the line's read.
    index: usize,
    /// Its position along the band's axis (image pixels, projected on the first box's axis).
    at: f32,
    /// The character pitch measured around it.
    pitch: f32,
}

/// Position of a character of `b`'s read along `axis`'s reading direction, comparable across
/// the lines of a band.
fn along(axis: &LineBox, b: &LineBox, u: f32) -> f32 {
    b.cx * axis.ux + b.cy * axis.uy + u
}

/// Whether `text[i..]` begins like an MRZ's first line: a document code, a letter or `<`, and a
/// known issuing state.
fn begins_mrz(chars: &[CharRead], i: usize) -> bool {
    if i + 5 > chars.len() || !DOC_CODES.contains(&chars[i].ch) {
        return false;
    }
    let second = chars[i + 1].ch;
    if !(second.is_ascii_uppercase() || second == '<') {
        return false;
    }
    let state: String = chars[i + 2..i + 5].iter().map(|c| c.ch).collect();
    state.chars().all(|c| c.is_ascii_uppercase() || c == '<') && verity_mrz::lookup_country(&state).is_some()
}

/// The character pitch over `chars[from..to]` (see [`run_pitch`]).
fn rough_pitch(chars: &[CharRead], from: usize, to: usize) -> Option<f32> {
    let to = to.min(chars.len());
    run_pitch(&[chars[from.min(to)..to].iter().collect()])
}

/// The character pitch over lines' reads: the span of each run of neighbours read as different
/// characters, fillers left out, over its steps. CTC merges a repeated character and runs of
/// `<`, so the runs stop there; a character's place is quantised to the recogniser's time step
/// (half a pitch in a squeezed crop), which a run's span averages out where the distance
/// between two neighbours would not.
fn run_pitch(lines: &[Vec<&CharRead>]) -> Option<f32> {
    let (mut span, mut count) = (0.0f32, 0usize);
    for chars in lines {
        let mut i = 0;
        while i < chars.len() {
            let mut j = i;
            while j + 1 < chars.len()
                && chars[j + 1].ch != chars[j].ch
                && chars[j].ch != '<'
                && chars[j + 1].ch != '<'
            {
                j += 1;
            }
            if j - i >= 3 {
                span += (chars[j].u - chars[i].u).abs();
                count += j - i;
            }
            i = j + 1;
        }
    }
    (count >= 8).then(|| span / count as f32)
}

/// Whether a read runs on past a run of three or more fillers with something other than one or
/// two digits (the check digits that end TD1, TD2 and TD3 lines): a letter, or three or more
/// characters — words printed beside the MRZ's end, read as part of it.
fn runs_on(read: &LineRead) -> bool {
    let text = read.text.as_bytes();
    let Some(last_filler) = text.iter().rposition(|&c| c == b'<') else { return false };
    let tail = &text[last_filler + 1..];
    let run = text[..=last_filler].iter().rev().take_while(|&&c| c == b'<').count();
    run >= 3 && !tail.is_empty() && (tail.len() > 2 || tail.iter().any(|c| !c.is_ascii_digit()))
}

/// Line lengths an MRZ beginning with `code` can have, with the lines each needs.
fn formats(code: char) -> &'static [(usize, usize)] {
    match code {
        'P' => &[(2, 44)],
        'V' => &[(2, 44), (2, 36)],
        _ => &[(3, 30), (2, 36)],
    }
}

impl DocumentEngine {
    /// Reads an MRZ out of a band whose first line's read holds more than an MRZ line (see the
    /// module's text). Returns the best interpretation found and the lines recognised.
    pub(super) fn read_window(
        &self,
        img: &RgbImage,
        boxes: &[LineBox],
        reads: &[LineRead],
        today: Date,
        cache: &mut ReadCache,
    ) -> Result<(Option<Found>, usize), DocumentError> {
        let mut recognized = 0;
        let mut best: Option<Found> = None;
        let Some(top) = boxes.first() else { return Ok((None, 0)) };
        // The band's first line that reads like an MRZ's first line somewhere inside it.
        for t in 0..boxes.len().saturating_sub(1) {
            let chars = &reads[t].chars;
            let mut starts: Vec<(usize, Start)> = Vec::new();
            for i in 0..chars.len() {
                if !begins_mrz(chars, i) {
                    continue;
                }
                let longest = formats(chars[i].ch).iter().map(|f| f.1).max().unwrap_or(44);
                // A read that already begins there and is no longer than the format: the usual
                // fitting handles it — unless a line of the band runs on past its fillers with
                // more than a check digit or two (words beside the MRZ's end), or it is a
                // visa, whose length only the cut's extent tells.
                if i == 0 && chars.len() <= longest + 1 && chars[i].ch != 'V' && !reads.iter().any(runs_on) {
                    continue;
                }
                let Some(p) = rough_pitch(chars, i, i + longest) else { continue };
                let at = along(top, &boxes[t], chars[i].u);
                if starts.iter().any(|(_, s)| (s.at - at).abs() < 2.0 * p) {
                    continue;
                }
                // Fillers in the window: an MRZ line has many, printed words none.
                let fillers = chars[i..(i + longest).min(chars.len())].iter().filter(|c| c.ch == '<').count();
                starts.push((fillers, Start { index: i, at, pitch: p }));
            }
            starts.sort_by_key(|s| std::cmp::Reverse(s.0));
            for (_, start) in starts.into_iter().take(MAX_STARTS) {
                let code = chars[start.index].ch;
                for n in [3, 2] {
                    let lens: Vec<usize> = formats(code).iter().filter(|f| f.0 == n).map(|f| f.1).collect();
                    if lens.is_empty() {
                        continue;
                    }
                    let (found, k) =
                        self.read_cut(img, &boxes[t..], t, top, start, n, &lens, today, cache)?;
                    recognized += k;
                    for r in found {
                        if best.as_ref().is_none_or(|(bp, bv, br)| rank(r.1, r.0, &r.2) > rank(*bv, *bp, br))
                        {
                            best = Some(r);
                        }
                    }
                    if best.as_ref().is_some_and(|b| b.1) {
                        return Ok((best, recognized));
                    }
                }
            }
            if best.is_some() {
                break;
            }
        }
        Ok((best, recognized))
    }

    /// Cuts `n` lines from `band` (its first line holding the start) around the longest of
    /// `lens` characters from the start and reads them again; measures the pitch and the
    /// document code's place in that read, then cuts each line to the format's extent exactly
    /// and reads it once more, as any band is read (its margins, fillers fitted, checks).
    #[allow(clippy::too_many_arguments)]
    fn read_cut(
        &self,
        img: &RgbImage,
        band: &[LineBox],
        first: usize,
        axis: &LineBox,
        start: Start,
        n: usize,
        lens: &[usize],
        today: Date,
        cache: &mut ReadCache,
    ) -> Result<(Vec<Found>, usize), DocumentError> {
        let len = lens.iter().copied().max().unwrap_or(44);
        let mut lines: Vec<LineBox> = band.iter().take(n).copied().collect();
        // A card's band found as two lines: the third (names) at the same spacing below.
        if lines.len() == 2 && n == 3 {
            let (a, b) = (lines[0], lines[1]);
            lines.push(LineBox { cx: 2.0 * b.cx - a.cx, cy: 2.0 * b.cy - a.cy, ..b });
        }
        if lines.len() < n {
            return Ok((vec![], 0));
        }
        let cut_to = |lo: f32, hi: f32| -> Vec<LineBox> {
            lines
                .iter()
                .map(|b| {
                    let mid = (lo + hi) / 2.0 - along(axis, b, 0.0);
                    LineBox { cx: b.cx + b.ux * mid, cy: b.cy + b.uy * mid, half_len: (hi - lo) / 2.0, ..*b }
                })
                .collect()
        };
        // First cut: from two pitches before the document code to three past the format's end.
        let cut = cut_to(start.at - 2.0 * start.pitch, start.at + (len as f32 * 1.03 + 3.0) * start.pitch);
        let (reads, mut k) = self.recognize(img, &cut, &[], cache)?;
        // The document code again in the new first line, nearest the start.
        let Some(code_at) = reads[0]
            .chars
            .iter()
            .enumerate()
            .filter(|(i, _)| begins_mrz(&reads[0].chars, *i))
            .map(|(i, c)| (i, along(axis, &cut[0], c.u)))
            .min_by(|a, b| (a.1 - start.at).abs().total_cmp(&(b.1 - start.at).abs()))
        else {
            return Ok((vec![], k));
        };
        if (code_at.1 - start.at).abs() > 3.0 * start.pitch {
            return Ok((vec![], k));
        }
        let in_format: Vec<Vec<&CharRead>> = reads
            .iter()
            .zip(&cut)
            .map(|(r, b)| {
                r.chars
                    .iter()
                    .filter(|c| {
                        let x = along(axis, b, c.u) - code_at.1;
                        x > -0.5 * start.pitch && x < (len as f32 - 0.5) * start.pitch
                    })
                    .collect()
            })
            .collect();
        let p = run_pitch(&in_format).unwrap_or(start.pitch);
        // A visa's first line past its 36th character: fillers if it is an MRV-A (44), else
        // whatever is printed beside an MRV-B, or nothing. (MRV-A and MRV-B carry no composite
        // digit, and a 44-character line 2 holds a 36-character one's every checked field.)
        // Fillers count from two pitches past the 36th: a character's place in a read is known
        // to about half a pitch, the pitch to a few per cent, and CTC splits a filler run's
        // last `<` now and then.
        let (past_fillers, past_other) = reads[0]
            .chars
            .iter()
            .map(|c| (along(axis, &cut[0], c.u) - code_at.1, c.ch))
            .filter(|(x, ch)| *x > if *ch == '<' { 37.5 } else { 35.5 } * p && *x < 43.5 * p)
            .fold((0, 0), |(f, o), (_, ch)| if ch == '<' { (f + 1, o) } else { (f, o + 1) });
        let visa = n == 2 && reads[0].chars[code_at.0].ch == 'V';
        if debug() {
            let pos: Vec<String> = reads[0]
                .chars
                .iter()
                .map(|c| format!("{}{:.1}", c.ch, (along(axis, &cut[0], c.u) - code_at.1) / p))
                .collect();
            eprintln!("  [mrz] window first cut {:?} positions {}", reads[0].text, pos.join(" "));
        }
        let mut out = Vec::new();
        for &len in lens {
            if visa && len == 36 && past_fillers > 0 {
                continue;
            }
            if visa && len == 44 && past_fillers == 0 {
                continue;
            }
            // The format's extent exactly: the reader adds its own margins.
            let exact = cut_to(code_at.1 - 0.5 * p, code_at.1 + (len as f32 - 0.5) * p);
            let (reads2, k2) = self.recognize(img, &exact, &[], cache)?;
            k += k2;
            if debug() {
                for r in &reads2 {
                    eprintln!(
                        "  [mrz] window line {first}+ ({n}×{len}, pitch {:.1} → {p:.1}): {:?}",
                        start.pitch, r.text
                    );
                }
            }
            // A visa whose length the first line's end does not settle (fillers and other
            // characters past the 36th) is read, but not called valid.
            let settled = !(visa && past_fillers > 0 && past_other > 0);
            // Something printed right after the format's end, in any line: the MRZ's end is
            // not where its length puts it, or words touch it — the last characters may be
            // theirs (the fields there, names and a visa's optional data, carry no check).
            let crowded = reads.iter().zip(&cut).any(|(r, b)| {
                r.chars.iter().any(|c| {
                    let x = along(axis, b, c.u) - code_at.1;
                    c.ch != '<' && x > (len as f32 - 0.2) * p && x < (len as f32 + 1.2) * p
                })
            });
            let known = (n == 2 && settled).then_some(len);
            if let Some((pass, mut valid, mut reading)) = self.interpret_as(&reads2, &exact, today, known) {
                if !settled {
                    reading.low_confidence_fields.push("format".into());
                }
                if crowded {
                    reading.low_confidence_fields.push("extent".into());
                }
                if !settled || crowded {
                    reading.valid = false;
                    valid = false;
                }
                out.push((pass, valid, reading));
            }
        }
        Ok((out, k))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str, pitch: f32) -> Vec<CharRead> {
        text.chars()
            .enumerate()
            .map(|(i, ch)| CharRead { ch, p: 0.9, alts: vec![], step: i, margin: false, u: i as f32 * pitch })
            .collect()
    }

    #[test]
    fn an_mrz_begins_at_a_document_code_and_a_known_state() {
        let chars = read("DATEOFBIRV<CANDE<LA<CRUZ<<NINA", 10.0);
        let starts: Vec<usize> = (0..chars.len()).filter(|&i| begins_mrz(&chars, i)).collect();
        assert_eq!(starts, vec![9]);
        // `AUTHO…`: `A` then a letter, but `THO` is no state.
        assert!(!begins_mrz(&read("AUTHORITY", 10.0), 0));
        assert!(begins_mrz(&read("IDFRAX", 10.0), 0));
        assert!(begins_mrz(&read("I<D<<X", 10.0), 0));
    }

    #[test]
    fn a_line_runs_on_past_its_fillers_with_words_not_check_digits() {
        let read = |t: &str| LineRead { text: t.into(), chars: vec![], confidence: 1.0 };
        assert!(runs_on(&read("UR88853AD8IRL4607108F3309276<<<<<<<<OBSERVATI")));
        assert!(runs_on(&read("V<IRLPETROVIC<<ISABEL<ANNA<<<<<<<<<<E3")));
        // A TD3's, TD2's and TD1's second lines end in check digits after their fillers.
        assert!(!runs_on(&read("L898902C36UTO7408122F1204159ZE184226B<<<<<10")));
        assert!(!runs_on(&read("7408122F1204159UTO<<<<<<<<<<<6")));
        assert!(!runs_on(&read("P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<")));
    }

    #[test]
    fn the_pitch_is_measured_over_runs_of_distinct_characters() {
        let mut chars = read("L898902C36UTO7408122F1204159ZE184226B", 12.0);
        // A squeezed read: places quantised to half a pitch.
        for c in &mut chars {
            c.u = (c.u / 6.0).floor() * 6.0;
        }
        // A merged pair (CTC) leaves a double gap: the runs stop there.
        chars.remove(20);
        let p = rough_pitch(&chars, 0, chars.len()).unwrap();
        assert!((p - 12.0).abs() < 0.5, "{p}");
        assert_eq!(rough_pitch(&read("P<<<<<<<<<<<<", 12.0), 0, 13), None);
    }
}
