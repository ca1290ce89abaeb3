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
