//! A letter alone in a run of fillers: where the format puts fillers (the end of the names,
//! unused optional data), fine background print (guilloche, a stamp's edge) makes a thin `<`
//! look like `S`, `K` or `C`. The recogniser then reads the letter, usually unsure, with `<` its
//! runner-up.

use super::*;

/// How sure the recogniser may be of the letter for the filler to be chosen instead.
const LETTER_BELOW: f32 = SURE_P;
/// How plausible `<` (or, for a `<`, a letter) must be among a character's alternatives for
/// the other reading to count.
pub(super) const FILLER_AT_LEAST: f32 = 0.05;

/// In the names and optional data, a run of one or two characters between fillers, each read
/// with `<` a plausible runner-up and none sure, becomes fillers (`filler_run:<field>`), unless
/// that breaks a check digit that passed. The corrected character keeps the letter as its
/// runner-up, so the field is judged on the doubt that was there: the read comes closer to what
/// is printed, and is no more verified than before. Returns whether anything changed.
pub(super) fn lone_letters_in_fillers(
    lines: &mut [ReadLine],
    m: &Mrz,
    today: Date,
    fixes: &mut Vec<Correction>,
) -> bool {
    let passing = |m: &Mrz| m.checks.iter().filter(|c| c.valid).count();
    let before = passing(m);
    let mut changed = false;
    for f in m.fields.iter().filter(|f| holds_fillers(f.name)) {
        let Some(line) = lines.get(f.line) else { continue };
        let end = f.end.min(line.chars.len());
        for (start, len) in short_runs(&line.chars.clone(), f.start, end) {
            let saved: Vec<CharRead> = lines[f.line].chars[start..start + len].to_vec();
            if !saved.iter().all(|c| c.p < LETTER_BELOW && filler_alt(c).is_some()) {
                continue;
            }
            for c in &mut lines[f.line].chars[start..start + len] {
                let pf = filler_alt(c).unwrap_or(0.0);
                let mut alts: Vec<(char, f32)> = vec![(c.ch, c.p)];
                alts.extend(c.alts.iter().copied().filter(|a| a.0 != '<'));
                *c = CharRead { ch: '<', p: pf, alts, ..c.clone() };
            }
            if parse(lines, today).is_some_and(|m2| passing(&m2) >= before) {
                for (k, s) in saved.iter().enumerate() {
                    fixes.push(Correction {
                        line: f.line,
                        position: start + k,
                        from: s.ch,
                        to: '<',
                        p_from: s.p,
                        p_to: filler_alt(s).unwrap_or(0.0),
                        reason: format!("filler_run:{}", f.name),
                    });
                }
                changed = true;
            } else {
                lines[f.line].chars[start..start + len].clone_from_slice(&saved);
            }
        }
    }
    changed
}

/// Fields where fillers pad what is unused.
fn holds_fillers(name: &str) -> bool {
    name.contains("name") || name.starts_with("optional_data") || name == "personal_number"
}

/// The probability of `<` among the character's plausible alternatives.
pub(super) fn filler_alt(c: &CharRead) -> Option<f32> {
    c.alts.iter().find(|a| a.0 == '<' && a.1 >= FILLER_AT_LEAST).map(|a| a.1)
}

/// Runs of one or two characters other than `<` inside `[start, end)` with a filler on both
/// sides (the field's end counts as a filler side only when the line goes on with one).
fn short_runs(chars: &[CharRead], start: usize, end: usize) -> Vec<(usize, usize)> {
    let filler = |i: usize| chars.get(i).is_some_and(|c| c.ch == '<');
    let mut runs = Vec::new();
    let mut i = start;
    while i < end {
        if chars[i].ch == '<' {
            i += 1;
            continue;
        }
        let s = i;
        while i < end && chars[i].ch != '<' {
            i += 1;
        }
        let len = i - s;
        // The right side: a filler after the run, or the line's end (a filler run to the end).
        let right = filler(i) || (i == chars.len() && i > s);
        if len <= 2 && s > 0 && filler(s - 1) && right {
            runs.push((s, len));
        }
    }
    runs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> ReadLine {
        ReadLine {
            chars: text
                .chars()
                .map(|ch| CharRead { ch, p: 0.99, alts: vec![], step: 0, margin: false, u: 0.0 })
                .collect(),
        }
    }

    fn unsure(l: &mut ReadLine, at: usize, p: f32, alts: &[(char, f32)]) {
        l.chars[at].p = p;
        l.chars[at].alts = alts.to_vec();
    }

    fn today() -> Date {
        Date { year: 2026, month: 11, day: 22 }
    }

    #[test]
    fn a_letter_alone_among_fillers_with_a_filler_runner_up_becomes_a_filler() {
        // TD2 with a filler of the name tail read `S` (0.56, `<` 0.36).
        let mut l1 = read("I<UTOERIKSSON<<ANNA<<<<<S<<<<<<<<<<<");
        let l2 = read("D231458907UTO7408122F1204159<<<<<<<6");
        unsure(&mut l1, 24, 0.56, &[('<', 0.36)]);
        let mut lines = vec![l1, l2];
        let m = parse(&lines, today()).expect("parses");
        let mut fixes = Vec::new();
        assert!(lone_letters_in_fillers(&mut lines, &m, today(), &mut fixes));
        assert_eq!(lines[0].text(), "I<UTOERIKSSON<<ANNA<<<<<<<<<<<<<<<<<");
        assert_eq!((fixes[0].from, fixes[0].to, fixes[0].reason.as_str()), ('S', '<', "filler_run:names"));
        // The letter stays the runner-up: the field is no more verified than before.
        assert_eq!(lines[0].chars[24].alts[0], ('S', 0.56));
        let m = parse(&lines, today()).unwrap();
        assert!(unsure_fields(&m, &lines, |_, _| false).0.contains(&"names".to_string()));
    }

    #[test]
    fn sure_letters_words_and_country_codes_stay_as_read() {
        let l2 = read("D231458907UTO7408122F1204159<<<<<<<6");
        // A sure initial; an unsure one without `<` among its alternatives; a longer word.
        for (text, at, p, alts) in [
            ("I<UTOERIKSSON<<ANNA<S<<<<<<<<<<<<<<<", 20, 0.95, vec![('<', 0.04)]),
            ("I<UTOERIKSSON<<ANNA<S<<<<<<<<<<<<<<<", 20, 0.6, vec![('5', 0.3)]),
            ("I<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<", 21, 0.6, vec![('<', 0.3)]),
        ] {
            let mut l1 = read(text);
            unsure(&mut l1, at, p, &alts);
            let mut lines = vec![l1, l2.clone()];
            let m = parse(&lines, today()).expect("parses");
            assert!(!lone_letters_in_fillers(&mut lines, &m, today(), &mut Vec::new()), "{text}");
            assert_eq!(lines[0].text(), text);
        }
        // Germany's `D<<` is a country code, not a name: never touched.
        let mut l1 = read("P<D<<MUSTERMANN<<ERIKA<<<<<<<<<<<<<<<<<<<<<<");
        unsure(&mut l1, 2, 0.6, &[('<', 0.3)]);
        let mut lines = vec![l1, read("C01X00T478D<<6408125F2702283<<<<<<<<<<<<<<<4")];
        let m = parse(&lines, today()).expect("parses");
        lone_letters_in_fillers(&mut lines, &m, today(), &mut Vec::new());
        assert!(lines[0].text().starts_with("P<D<<"));
    }

    #[test]
    fn a_filler_that_would_break_a_passing_check_digit_is_not_chosen() {
        // TD1 optional data is covered by the composite digit (7 with the `7`, 6 without it).
        let l1 = read("I<UTOD231458907<<<7<<<<<<<<<<<");
        let mut lines =
            vec![l1, read("7408122F1204159UTO<<<<<<<<<<<7"), read("ERIKSSON<<ANNA<MARIA<<<<<<<<<<")];
        let m = parse(&lines, today()).expect("parses");
        assert!(m.valid, "{:?}", m.errors);
        unsure(&mut lines[0], 18, 0.6, &[('<', 0.3)]);
        assert!(!lone_letters_in_fillers(&mut lines, &m, today(), &mut Vec::new()));
        assert_eq!(lines[0].text(), "I<UTOD231458907<<<7<<<<<<<<<<<");
        // With the composite read as 6, the filler makes it pass: chosen.
        lines[1] = read("7408122F1204159UTO<<<<<<<<<<<6");
        let m = parse(&lines, today()).expect("parses");
        assert!(lone_letters_in_fillers(&mut lines, &m, today(), &mut Vec::new()));
        assert!(parse(&lines, today()).unwrap().valid);
    }
}
