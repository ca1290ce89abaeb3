//! From recognised lines to an MRZ: fitting lines to the format's length, parsing, and the
//! corrections a failing check digit allows (the recogniser's runner-up characters, field kinds).

use super::*;

/// A line read, aligned with its characters.
#[derive(Debug, Clone)]
pub(super) struct ReadLine {
    pub(super) chars: Vec<CharRead>,
}

impl ReadLine {
    pub(super) fn text(&self) -> String {
        self.chars.iter().map(|c| c.ch).collect()
    }
}

/// The format length for a group of `n` lines of these lengths.
pub(super) fn target_length(n: usize, lens: &[usize]) -> Option<usize> {
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
pub(super) fn fit(
    line: &ReadLine,
    target: usize,
    index: usize,
    fixes: &mut Vec<Correction>,
) -> Option<ReadLine> {
    fit_with(line, target, index, fixes, false)
}

/// As [`fit`]; `trailing_only` adjusts only a trailing run.
pub(super) fn fit_with(
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
            chars.insert(at, CharRead { ch: '<', p: 0.0, alts: vec![], step: 0, margin: false, u: 0.0 });
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

pub(super) fn parse(lines: &[ReadLine], today: Date) -> Option<Mrz> {
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
pub(super) fn unsure_fields(
    m: &Mrz,
    lines: &[ReadLine],
    validated: impl Fn(usize, usize) -> bool,
) -> (Vec<String>, f32) {
    let mut low: Vec<String> = Vec::new();
    let mut unchecked_min_p = 1.0f32;
    for f in &m.fields {
        let is_protected = checked(m, f);
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
                c.p < UNCHECKED_MIN_P
                    || alt.is_some_and(|a| a.1 >= AMBIGUOUS_ALT)
                    || filler_or_letter(&line.chars, p)
            };
        }
        let chars = &line.chars[f.start.min(line.chars.len())..f.end.min(line.chars.len())];
        if f.name.contains("name") {
            ambiguous |= short_tail(chars);
        }
        // A line padded to its length with fillers the recogniser did not read, whose country
        // code is none known: a character was dropped before the padding (`IRL` read `RL<` and
        // the line padded at its filler run), not a filler. Real documents do print unknown
        // codes (`SI<`, `<<<`): read whole, they stay valid.
        let padded = line.chars.iter().any(|c| c.p == 0.0 && c.ch == '<');
        let unknown = m.warnings.iter().any(|w| w.code == "unknown_country" && w.field == Some(f.name));
        ambiguous |= padded && unknown;
        if f.name == "names" {
            ambiguous |= lone_identifier_in_parts(chars);
        }
        if let Some(check) = m.checks.iter().find(|c| c.name == f.name && c.line == f.line) {
            ambiguous |= colliding_pair(f.start..f.end.min(line.chars.len()), check, lines, &validated);
        }
        if ambiguous {
            low.push(f.name.to_string());
        }
    }
    (low, unchecked_min_p)
}

/// Whether a check digit verifies the field. Optional data is verified only where a check
/// digit covers it (TD3's personal number, a composite); a visa's has none.
pub(super) fn checked(m: &Mrz, f: &verity_mrz::Field) -> bool {
    let protected = |name: &str| m.checks.iter().any(|c| c.name == name);
    protected(f.name)
        || ((f.name.starts_with("optional_data") || f.name == "personal_number")
            && (protected("composite") || protected("personal_number")))
}

/// Whether the character at `p`, where no check digit verifies it, might be a filler read as a
/// letter or digit (the recogniser not sure of it and `<` its runner-up), or a word's letter
/// read as a filler (`<` right after a letter, a letter or digit its runner-up). The two look
/// alike on a worn or busy print and nothing else in the format tells them apart. (Synthetic
/// photos read a name's or a visa's optional-data filler as `S` or `0` at 0.73–0.87, `<` the
/// runner-up at 0.08–0.18, and were called valid.)
fn filler_or_letter(line: &[CharRead], p: usize) -> bool {
    let c = &line[p];
    if c.p >= SURE_P {
        return false;
    }
    if c.ch != '<' {
        filler_alt(c).is_some()
    } else {
        p > 0
            && line[p - 1].ch.is_ascii_alphanumeric()
            && c.alts.iter().any(|&(a, pa)| a.is_ascii_alphanumeric() && pa >= FILLER_AT_LEAST)
    }
}

/// Fields no check digit verifies that hold a character moved by fitting a line to its length
/// at a filler run inside the line (every character after the run shifts with it): where it
/// lands is the fit's guess, not a reading. (A stray mark read after a line's end was pulled
/// into a visa's optional data this way and called valid.)
pub(super) fn moved_unchecked(m: &Mrz, lines: &[ReadLine], fixes: &[Correction]) -> Vec<String> {
    let mut moved = Vec::new();
    for (index, line) in lines.iter().enumerate() {
        let fits: Vec<&Correction> =
            fixes.iter().filter(|x| x.line == index && x.reason == "filler_length").collect();
        // Fillers inserted at `at..at+k` shift what follows to `at+k..`; removed ones (their
        // old positions `at-k..at`) shift it to `at-k..`.
        let shifted_from = match fits.first() {
            None => continue,
            Some(x) if x.to == '<' => fits.iter().map(|x| x.position).max().unwrap_or(0) + 1,
            Some(_) => fits.iter().map(|x| x.position).min().unwrap_or(0),
        };
        for f in m.fields.iter().filter(|f| f.line == index && !checked(m, f)) {
            let end = f.end.min(line.chars.len());
            let start = f.start.max(shifted_from);
            if start < end && line.chars[start..end].iter().any(|c| c.ch != '<') {
                moved.push(f.name.to_string());
            }
        }
    }
    moved
}

/// Whether a name field ends in a short word (one or two letters) that touches the field's end,
/// read with any doubt: where the name has ended, the format puts fillers, and a filler run misread
/// as letters looks just like this. (A severe synthetic visa read `…ANGEL<<<` as `…ANGEL<KC`, the
/// letters at 0.75 and 0.70.) A real name cut at the field's end rarely leaves so short a word, and
/// then only its validity is lost, not its reading.
fn short_tail(field: &[crate::ctc::CharRead]) -> bool {
    const SURE: f32 = 0.9;
    let Some(last_filler) = field.iter().rposition(|c| c.ch == '<') else { return false };
    let tail = &field[last_filler + 1..];
    !tail.is_empty() && tail.len() <= 2 && tail.iter().any(|c| c.p < SURE)
}

/// Whether a names field (`SURNAME<<GIVEN<NAMES`) has no `<<` between identifiers yet several
/// parts (`OBRIEN<SYUKI`): a person with one identifier of several parts and no given name is
/// rare, while a `<<` whose second filler was read as a letter looks just like this. Then the
/// reading stands but is not verified. (A synthetic card read `OBRIEN<<YUKI` this way, the letter
/// sure, under a specimen stamp.)
fn lone_identifier_in_parts(field: &[crate::ctc::CharRead]) -> bool {
    let text: String = field.iter().map(|c| c.ch).collect();
    let name = text.trim_end_matches('<');
    !name.contains("<<") && name.contains('<')
}

/// A character's value in a check digit's sum (`None` outside the MRZ set).
fn check_value(c: char) -> Option<i32> {
    match c {
        '0'..='9' => Some(c as i32 - '0' as i32),
        'A'..='Z' => Some(c as i32 - 'A' as i32 + 10),
        '<' => Some(0),
        _ => None,
    }
}

/// Whether two plausible misreads (each a runner-up ≥ [`AMBIGUOUS_SAME_WEIGHT`], or any
/// runner-up of a character read under [`UNCHECKED_MIN_P`]) in a field and its check digit
/// change the weighted sum by amounts that cancel modulo 10: the check digit passes for both
/// readings, so it cannot tell which is printed. (A severe synthetic visa read its number
/// `I011R26I` as `1011R261`, each `1` with `I` as runner-up at 0.19 and 0.34: at weights 7 and 3
/// the two changes cancel.)
fn colliding_pair(
    field: std::ops::Range<usize>,
    check: &verity_mrz::Check,
    lines: &[ReadLine],
    validated: &impl Fn(usize, usize) -> bool,
) -> bool {
    const WEIGHTS: [i32; 3] = [7, 3, 1];
    let Some(line) = lines.get(check.line) else { return false };
    let start = field.start;
    // Each plausible change's effect on (sum − check digit) modulo 10.
    let mut deltas: Vec<(usize, i32)> = Vec::new();
    let positions = field.clone().chain(std::iter::once(check.position));
    for p in positions {
        let Some(c) = line.chars.get(p) else { continue };
        if validated(check.line, p) {
            continue;
        }
        let Some(v) = check_value(c.ch) else { continue };
        let weight = if p == check.position { -1 } else { WEIGHTS[(p - start) % 3] };
        for &(alt, pa) in &c.alts {
            if pa < AMBIGUOUS_SAME_WEIGHT && c.p >= UNCHECKED_MIN_P {
                continue;
            }
            let Some(va) = check_value(alt) else { continue };
            let d = (weight * (va - v)).rem_euclid(10);
            if d != 0 {
                deltas.push((p, d));
            }
        }
    }
    deltas
        .iter()
        .enumerate()
        .any(|(i, a)| deltas[i + 1..].iter().any(|b| b.0 != a.0 && (a.1 + b.1) % 10 == 0))
}

/// Checks that pass, and whether everything passes.
pub(super) fn score(m: &Mrz) -> (usize, bool) {
    (m.checks.iter().filter(|c| c.valid).count(), m.valid)
}

/// Characters of the recogniser's runner-ups worth trying at a position.
pub(super) fn alternatives(c: &CharRead) -> impl Iterator<Item = (char, f32)> + '_ {
    c.alts.iter().copied().filter(move |(_, p)| *p >= 0.05 && c.p < 0.995)
}

/// For each failing check digit (except the composite), the best single or double change of
/// that field's characters (or the digit itself) among the recogniser's alternatives that makes
/// the check pass without breaking another.
pub(super) fn correct(lines: &mut [ReadLine], today: Date, fixes: &mut Vec<Correction>) -> Option<Mrz> {
    let mut m = parse(lines, today)?;
    if fix_kinds(lines, &m, fixes) {
        m = parse(lines, today)?;
    }
    if lone_letters_in_fillers(lines, &m, today, fixes) {
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

pub(super) fn allowed(kind: verity_mrz::Kind, c: char) -> bool {
    match kind {
        verity_mrz::Kind::Alpha => c.is_ascii_uppercase() || c == '<',
        verity_mrz::Kind::Numeric => c.is_ascii_digit() || c == '<',
        verity_mrz::Kind::AlphaNum => true,
    }
}

/// A character the field cannot hold (a digit in a name or country code, a letter in a date or
/// check digit) becomes the recogniser's most probable alternative that it can hold, if the
/// recogniser saw one. Returns whether anything changed.
pub(super) fn fix_kinds(lines: &mut [ReadLine], m: &Mrz, fixes: &mut Vec<Correction>) -> bool {
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
