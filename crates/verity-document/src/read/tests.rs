use super::*;

fn line(text: &str, p: f32) -> ReadLine {
    ReadLine {
        chars: text
            .chars()
            .map(|ch| CharRead { ch, p, alts: vec![], step: 0, margin: false, u: 0.0 })
            .collect(),
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
    let f = fit(&line("L898902C36UTO7408122F1204159ZE184226B<<<<10", 0.9), 44, 1, &mut fixes).expect("fits");
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

#[test]
fn two_runner_ups_whose_changes_cancel_in_the_check_digit_make_the_field_unsure() {
    let l1 = line("P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<", 0.99);
    let l2 = line("L898902C36UTO7408122F1204159ZE184226B<<<<<10", 0.99);
    let m = parse(&[l1.clone(), l2.clone()], today()).expect("parses");
    // Number L898902C3, check digit 6. "8" (weight 3) with runner-up "B" (+3 → +9) and "0"
    // (weight 1) with runner-up "1" (+1): "LB98912C3" passes the same check digit.
    let with = |alt5: char, p: f32| {
        let mut l = l2.clone();
        l.chars[1].p = 0.8;
        l.chars[1].alts = vec![('B', p)];
        l.chars[5].p = 0.7;
        l.chars[5].alts = vec![(alt5, p.max(0.3))];
        l
    };
    assert_eq!(unsure_fields(&m, &[l1.clone(), with('1', 0.2)], |_, _| false).0, vec!["document_number"]);
    // Changes that do not cancel (+9 and +2): the check digit would catch the pair.
    assert!(unsure_fields(&m, &[l1.clone(), with('2', 0.2)], |_, _| false).0.is_empty());
    // A runner-up too unlikely to be what is printed does not count.
    let mut weak = with('1', 0.2);
    weak.chars[1].alts = vec![('B', 0.02)];
    assert!(unsure_fields(&m, &[l1.clone(), weak], |_, _| false).0.is_empty());
    // The check digit itself is one of the two: "0" → "1" (+1) against the check digit 6 with
    // "7" as runner-up (+1 there too).
    let mut digit = l2.clone();
    digit.chars[5].p = 0.7;
    digit.chars[5].alts = vec![('1', 0.3)];
    digit.chars[9].p = 0.75;
    digit.chars[9].alts = vec![('7', 0.25)];
    assert_eq!(unsure_fields(&m, &[l1, digit], |_, _| false).0, vec!["document_number"]);
}

#[test]
fn a_visas_optional_data_has_no_check_digit_and_a_short_tail_of_a_name_is_doubted() {
    // ICAO 9303-7's MRV-A specimen: no check digit covers the optional data.
    let l1 = line("V<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<", 0.99);
    let l2 = line("L8988901C4XXX4009078F96121096ZE184226B<<<<<<", 0.99);
    let m = parse(&[l1.clone(), l2.clone()], today()).expect("parses");
    assert!(m.checks.iter().all(|c| c.valid), "{:?}", m.checks);
    assert!(unsure_fields(&m, &[l1.clone(), l2.clone()], |_, _| false).0.is_empty());
    // "8" of the optional data at 0.66 with "B" at 0.33: nothing would catch it.
    let mut opt = l2.clone();
    opt.chars[32].p = 0.66;
    opt.chars[32].alts = vec![('B', 0.33)];
    assert_eq!(unsure_fields(&m, &[l1.clone(), opt], |_, _| false).0, vec!["optional_data"]);
    // A two-letter word touching the end of the names where fillers belong, read with doubt.
    let mut tail = line("V<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<KC", 0.99);
    tail.chars[42].p = 0.75;
    tail.chars[43].p = 0.7;
    let mt = parse(&[tail.clone(), l2.clone()], today()).expect("parses");
    assert_eq!(unsure_fields(&mt, &[tail, l2.clone()], |_, _| false).0, vec!["names"]);
    // Read with certainty (a name cut at the field's end), or a longer word: not doubted.
    let sure = line("V<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<KC", 0.99);
    let ms = parse(&[sure.clone(), l2.clone()], today()).expect("parses");
    assert!(unsure_fields(&ms, &[sure, l2.clone()], |_, _| false).0.is_empty());
    let mut long = line("V<UTOERIKSSON<<ANNA<MARIA<KATHARINA<CHRISTIN", 0.99);
    long.chars[43].p = 0.8;
    let ml = parse(&[long.clone(), l2.clone()], today()).expect("parses");
    assert!(unsure_fields(&ml, &[long, l2], |_, _| false).0.is_empty());
}

#[test]
fn a_sole_identifier_in_parts_is_read_but_not_verified() {
    // `ERIKSSON<<ANNA` with the second filler read as a letter, surely: `ERIKSSON<SANNA`.
    let l2 = line("L898902C36UTO7408122F1204159ZE184226B<<<<<10", 0.99);
    let misread = line("P<UTOERIKSSON<SANNA<<<<<<<<<<<<<<<<<<<<<<<<<", 0.99);
    let m = parse(&[misread.clone(), l2.clone()], today()).expect("parses");
    assert_eq!(unsure_fields(&m, &[misread, l2.clone()], |_, _| false).0, vec!["names"]);
    // One identifier of one part, or several identifiers: as printed.
    for ok in ["P<UTOERIKSSON<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<", "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<"]
    {
        let l1 = line(ok, 0.99);
        let m = parse(&[l1.clone(), l2.clone()], today()).expect("parses");
        assert!(unsure_fields(&m, &[l1, l2.clone()], |_, _| false).0.is_empty(), "{ok}");
    }
}

#[test]
fn an_unknown_country_on_a_padded_line_is_not_verified() {
    // TD1 line 2 with the nationality `IRL` read as `RL<`: a letter dropped, the line padded with
    // a filler the recogniser did not read (p = 0). Read whole, an unknown code is as printed.
    let l1 = line("IRIRL5D92Y356<5<<<<<<<<<<<<<<<", 0.99);
    let l3 = line("NOWAK<<ISABEL<<<<<<<<<<<<<<<<<", 0.99);
    let mut padded = line("8212096<2910149RL<<<<<<<<<<<<6", 0.99);
    padded.chars[28].p = 0.0;
    let m = parse(&[l1.clone(), padded.clone(), l3.clone()], today()).expect("parses");
    assert_eq!(unsure_fields(&m, &[l1.clone(), padded, l3.clone()], |_, _| false).0, vec!["nationality"]);
    let whole = line("8212096<2910149RL<<<<<<<<<<<<6", 0.99);
    let m = parse(&[l1.clone(), whole.clone(), l3.clone()], today()).expect("parses");
    assert!(unsure_fields(&m, &[l1, whole, l3], |_, _| false).0.is_empty());
}

#[test]
fn an_mrz_band_outranks_longer_rows_of_a_printed_page_around_it() {
    let at = |cx: f32, cy: f32, len: f32, h: f32, deg: f32| {
        let a = deg.to_radians();
        LineBox { cx, cy, ux: a.cos(), uy: a.sin(), half_len: len / 2.0, half_h: h / 2.0, score: 0.97 }
    };
    // The document's two MRZ lines (tilted 4.7°, 36 characters, box aspect ~21) and a page of
    // printed rows around it running the photo's whole width (aspect ~45), as on a busy photo.
    let mrz = [at(600.0, 657.0, 785.0, 36.0, 4.7), at(595.0, 714.0, 788.0, 38.0, 4.8)];
    let rows: Vec<LineBox> = [40.0, 74.0, 102.0, 826.0, 853.0, 891.0]
        .into_iter()
        .map(|y| at(608.0, y, 1190.0, 27.0, 0.1))
        .collect();
    let cands: Vec<LineBox> = rows.iter().chain(&mrz).copied().collect();
    let g = groups(&cands);
    assert_eq!(g.first().map(Vec::as_slice), Some(&mrz[..]), "{g:?}");
    // On its own (a document filling the photo), an MRZ band is found as before.
    assert_eq!(groups(&mrz).first().map(Vec::as_slice), Some(&mrz[..]));
}

#[test]
fn a_filler_read_as_a_letter_where_nothing_checks_it_must_be_sure() {
    // MRV-A: the optional data `ZE184226B<<<<<<` has no check digit.
    let l1 = line("V<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<", 0.99);
    let l2 = line("L8988901C4XXX4009078F96121096ZE184226B<<<S<<", 0.99);
    let m = parse(&[l1.clone(), l2.clone()], today()).expect("parses");
    assert!(m.checks.iter().all(|c| c.valid));
    // `S` read at 0.8 with `<` the runner-up at 0.12: a filler or a letter, nothing tells.
    let mut doubt = l2.clone();
    doubt.chars[41].p = 0.8;
    doubt.chars[41].alts = vec![('<', 0.12)];
    assert_eq!(unsure_fields(&m, &[l1.clone(), doubt], |_, _| false).0, vec!["optional_data"]);
    // A given name's last letter read as a filler, a letter the runner-up: the name may be cut.
    let mut cut = l1.clone();
    cut.chars[19].p = 0.85;
    cut.chars[19].alts = vec![('S', 0.1)];
    let mc =
        parse(&[cut.clone(), line("L8988901C4XXX4009078F96121096ZE184226B<<<<<<", 0.99)], today()).unwrap();
    assert_eq!(
        unsure_fields(&mc, &[cut, line("L8988901C4XXX4009078F96121096ZE184226B<<<<<<", 0.99)], |_, _| false)
            .0,
        vec!["names"]
    );
    // Sure of it, or `<` not a plausible runner-up: as read.
    let mut sure = l2.clone();
    sure.chars[41].p = 0.95;
    sure.chars[41].alts = vec![('<', 0.04)];
    assert!(unsure_fields(&m, &[l1.clone(), sure], |_, _| false).0.is_empty());
    let mut other = l2.clone();
    other.chars[41].p = 0.8;
    other.chars[41].alts = vec![('5', 0.15), ('<', 0.02)];
    assert!(unsure_fields(&m, &[l1, other], |_, _| false).0.is_empty());
}

#[test]
fn a_character_moved_by_fitting_a_run_inside_the_line_is_not_verified() {
    let l1 = line("V<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<", 0.99);
    // A stray mark after the line's end: the line is one too long, its trailing run is not the
    // last thing read, so the inner run shrinks and the `0` lands in the optional data.
    let read = line("L8988901C4XXX4009078F96121096ZE184226B<<<<<<<0", 0.99);
    let mut fixes = Vec::new();
    let fitted = fit(&read, 44, 1, &mut fixes).expect("fits");
    assert_eq!(fitted.text(), "L8988901C4XXX4009078F96121096ZE184226B<<<<<0");
    let m = parse(&[l1.clone(), fitted.clone()], today()).expect("parses");
    assert!(m.valid);
    assert_eq!(moved_unchecked(&m, &[l1.clone(), fitted], &fixes), vec!["optional_data"]);
    // A trailing run fitted moves nothing; on a passport a check digit verifies what moved.
    let mut fixes = Vec::new();
    let fitted =
        fit(&line("L8988901C4XXX4009078F96121096ZE184226B<<<<<<<", 0.99), 44, 1, &mut fixes).unwrap();
    let m = parse(&[l1.clone(), fitted.clone()], today()).expect("parses");
    assert!(moved_unchecked(&m, &[l1, fitted], &fixes).is_empty());
    let p1 = line("P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<", 0.99);
    let mut fixes = Vec::new();
    let fitted = fit(&line("L898902C36UTO7408122F1204159ZE184226B<<<<10", 0.99), 44, 1, &mut fixes).unwrap();
    let m = parse(&[p1.clone(), fitted.clone()], today()).expect("parses");
    assert!(m.valid);
    assert!(moved_unchecked(&m, &[p1, fitted], &fixes).is_empty());
}
