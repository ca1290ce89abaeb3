use super::*;

const TODAY: Date = Date { year: 2026, month: 11, day: 22 };

fn opts() -> Options {
    Options { mode: Mode::Strict, today: TODAY }
}

#[test]
fn icao_td3_specimen() {
    let m = parse(
        &["P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<", "L898902C36UTO7408122F1204159ZE184226B<<<<<10"],
        &opts(),
    )
    .expect("td3");
    assert_eq!(m.format, Format::Td3);
    assert!(m.valid, "{:?}", m.errors);
    assert_eq!(m.document_number, "L898902C3");
    assert_eq!((m.surname.as_str(), m.given_names.as_str()), ("ERIKSSON", "ANNA MARIA"));
    assert_eq!(m.birth_date, Date::new(1974, 8, 12));
    assert_eq!(m.expiry_date, Date::new(2012, 4, 15));
    assert!(m.has_warning("document_expired"));
    assert_eq!(m.sex, Some(Sex::Female));
    assert_eq!(m.optional_data, "ZE184226B");
    let f = m.field("document_number").expect("field");
    assert_eq!((f.line, f.start, f.end, f.raw.as_str()), (1, 0, 9, "L898902C3"));
    assert!(m.checks.iter().all(|c| c.valid));
    assert_eq!(m.nationality.as_ref().map(|c| c.kind), Some("fictional"));
}

#[test]
fn a_wrong_check_digit_is_an_error_with_the_expected_value() {
    let m = parse(
        &["P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<", "L898902C37UTO7408122F1204159ZE184226B<<<<<10"],
        &opts(),
    )
    .expect("td3");
    assert!(!m.valid);
    let c = m.check("document_number").expect("check");
    assert_eq!((c.given, c.computed, c.valid), ('7', Some(6), false));
    assert!(m.has_error("check_digit"));
    // The composite digit covers the document number too.
    assert!(!m.check("composite").expect("composite").valid);
}

#[test]
fn strict_and_tolerant_modes_differ_on_unknown_codes() {
    let lines = ["VBD<<DEDIC<<SIDNAN<<<<<<<<<<<<<<<<<<", "D091740530BOS8201135M9708011<2020711"];
    let strict = parse(&lines, &opts()).expect("mrvb");
    assert!(!strict.valid && strict.has_error("unknown_country"));
    let tolerant = parse(&lines, &Options { mode: Mode::Tolerant, ..opts() }).expect("mrvb");
    assert!(tolerant.valid && tolerant.has_warning("unknown_country"));
    assert_eq!(tolerant.issuing_state.as_ref().map(|c| c.iso_alpha2), Some(Some("DE")));
}

#[test]
fn invalid_dates_and_sex_are_errors() {
    let m = parse(
        &[
            "IDCHEA1234567<6<<<<<<<<<<<<<<<",
            "7513256Q2009018CHE<<<<<<<<<<<8",
            "SMITH<<JOHN<ALBERT<<<<<<<<<<<<",
        ],
        &opts(),
    )
    .expect("td1");
    assert!(m.has_error("invalid_date"), "{:?}", m.errors);
    assert!(m.has_error("invalid_sex"));
    assert!(!m.valid);
}

#[test]
fn century_inference() {
    // Born 2010 (in the past), expiry 2040 (within 50 years); born 1975; expired 1996.
    let m = parse(
        &[
            "I<UTOD23145890<7349<<<<<<<<<<<",
            "1001017F4001012UTO<<<<<<<<<<<0",
            "ERIKSSON<<ANNA<MARIA<<<<<<<<<<",
        ],
        &opts(),
    )
    .expect("td1");
    assert_eq!(m.birth_date.map(|d| d.year), Some(2010));
    assert_eq!(m.expiry_date.map(|d| d.year), Some(2040));
}

#[test]
fn structure_errors() {
    assert_eq!(parse(&["A"; 4], &opts()).unwrap_err().code(), "mrz_line_count");
    assert_eq!(parse::<&str>(&[], &opts()).unwrap_err().code(), "mrz_line_count");
    assert_eq!(parse(&["ABC", "DEF"], &opts()).unwrap_err().code(), "mrz_line_length");
}

#[test]
fn check_digit_rejects_foreign_characters() {
    assert_eq!(check_digit("L898902C3"), Some(6));
    assert_eq!(check_digit("AB?"), None);
    assert_eq!(check_digit(""), Some(0));
}

/// Renders TD3 lines from data (for the round-trip property test).
#[allow(clippy::too_many_arguments)]
fn render_td3(
    surname: &str,
    given: &str,
    number: &str,
    nat: &str,
    birth: &str,
    sex: char,
    expiry: &str,
    personal: &str,
) -> [String; 2] {
    let pad = |s: String, n: usize| format!("{s:<<n$}");
    let name = pad(format!("{}<<{}", surname.replace(' ', "<"), given.replace(' ', "<")), 39);
    let l1 = format!("P<{nat}{}", &name[..39]);
    let num = pad(number.to_string(), 9);
    let pers = pad(personal.to_string(), 14);
    let cd = |s: &str| check_digit(s).map(|d| (b'0' + d) as char).unwrap_or('0');
    let pcd = if personal.is_empty() { '<' } else { cd(&pers) };
    let body = format!("{num}{}{nat}{birth}{}{sex}{expiry}{}{pers}{pcd}", cd(&num), cd(birth), cd(expiry));
    let comp = format!("{}{}{}", &body[0..10], &body[13..20], &body[21..43]);
    [l1, format!("{body}{}", cd(&comp))]
}

proptest::proptest! {
    #[test]
    fn td3_round_trip(
        surname in "[A-Z]{2,12}( [A-Z]{2,8})?",
        given in "[A-Z]{2,10}",
        number in "[A-Z0-9]{6,9}",
        by in 1930i32..2025, bm in 1u32..=12, bd in 1u32..=28,
        ey in 2027i32..2036, em in 1u32..=12, ed in 1u32..=28,
        sex in proptest::sample::select(vec!['M', 'F', '<']),
        personal in "[A-Z0-9]{0,14}",
        nat in proptest::sample::select(vec!["DEU", "FRA", "GBR", "CHE", "UTO", "NLD"]),
    ) {
        let birth = format!("{:02}{bm:02}{bd:02}", by % 100);
        let expiry = format!("{:02}{em:02}{ed:02}", ey % 100);
        let lines = render_td3(&surname, &given, &number, nat, &birth, sex, &expiry, &personal);
        let m = parse(&lines, &opts()).expect("parses");
        proptest::prop_assert!(m.valid, "{:?} {:?}", lines, m.errors);
        proptest::prop_assert_eq!(&m.surname, &surname);
        proptest::prop_assert_eq!(&m.given_names, &given);
        proptest::prop_assert_eq!(&m.document_number, &number);
        proptest::prop_assert_eq!(m.birth_date, Date::new(by, bm, bd));
        proptest::prop_assert_eq!(m.expiry_date, Date::new(ey, em, ed));
        proptest::prop_assert_eq!(&m.optional_data, &personal);
    }

    #[test]
    fn arbitrary_lines_never_panic(a in "[A-Z0-9<?a-z ]{0,50}", b in "[A-Z0-9<]{0,50}", c in "[A-Z0-9<]{0,50}", n in 1usize..4) {
        let all = [a, b, c];
        let _ = parse(&all[..n], &opts());
    }

    #[test]
    fn any_td3_shaped_text_is_parsed_without_panic(a in "[A-Z0-9<]{44}", b in "[A-Z0-9<]{44}") {
        let _ = parse(&[a, b], &opts());
    }
}

proptest::proptest! {
    /// Every format: data → `compose` → parse → the same data.
    #[test]
    fn all_formats_round_trip(
        fmt in proptest::sample::select(vec![Format::Td1, Format::Td2, Format::Td3, Format::MrvA, Format::MrvB]),
        surname in "[A-Z]{2,10}",
        given in "[A-Z]{2,8}( [A-Z]{2,6})?",
        number in "[A-Z0-9]{6,9}",
        by in 1930i32..2024, bm in 1u32..=12, bd in 1u32..=28,
        ey in 2027i32..2036, em in 1u32..=12, ed in 1u32..=28,
        sex in proptest::sample::select(vec!['M', 'F', '<']),
        nat in proptest::sample::select(vec!["DEU", "FRA", "GBR", "CHE", "UTO", "NLD", "D"]),
        optional in "[A-Z0-9]{0,7}",
    ) {
        // (TD2 "IDFRA" is the French national ID card's layout: "I<" keeps it a TD2.)
        let code = match fmt { Format::Td3 => "P", Format::MrvA | Format::MrvB => "V", _ => "I" };
        let data = crate::compose::MrzData {
            document_code: code.into(),
            issuing_state: nat.into(),
            surname: surname.clone(),
            given_names: given.clone(),
            document_number: number.clone(),
            nationality: nat.into(),
            birth_date: Date::new(by, bm, bd).expect("date"),
            sex,
            expiry_date: Date::new(ey, em, ed).expect("date"),
            optional_data: optional.clone(),
            optional_data_2: String::new(),
        };
        let lines = crate::compose::compose(fmt, &data).expect("composes");
        let m = parse(&lines, &opts()).expect("parses");
        proptest::prop_assert_eq!(m.format, fmt);
        proptest::prop_assert!(m.valid, "{:?} {:?}", lines, m.errors);
        proptest::prop_assert_eq!(&m.document_number, &number);
        proptest::prop_assert_eq!(m.birth_date, Some(data.birth_date));
        proptest::prop_assert_eq!(m.expiry_date, Some(data.expiry_date));
        proptest::prop_assert_eq!(&m.surname, &surname);
        // Long given names may be cut to the field: what is there is a prefix.
        proptest::prop_assert!(given.starts_with(&m.given_names) || m.given_names == given, "{} vs {}", m.given_names, given);
        proptest::prop_assert_eq!(&m.optional_data, &optional);
    }
}

#[test]
fn civil_dates_from_unix_days() {
    assert_eq!(Date::from_unix_days(0), Date { year: 1970, month: 1, day: 1 });
    assert_eq!(Date::from_unix_days(-1), Date { year: 1969, month: 12, day: 31 });
    assert_eq!(Date::from_unix_days(19_782), Date { year: 2024, month: 2, day: 29 });
    assert_eq!(Date::from_unix_days(20_414), Date { year: 2025, month: 11, day: 22 });
}

/// Found by `scripts/fuzz` (mrz_parse): text with multi-byte characters in a date or a
/// document-number continuation was sliced by bytes and panicked. Any text is an answer.
#[test]
fn non_ascii_text_is_reported_not_a_panic() {
    let cases = [
        vec![
            "I<UTOD231458907<<<<\0\0\0\0\0\0\0\\<<<",
            "7408122\u{FFFD}\u{FFFD}419189U\u{FFFD}\u{FFFD}<<<\u{FFFD}LT<<<<<6",
            "ERI%SSON<<ANNA<MARIA<<<<<<<<<<",
        ],
        vec![
            "I<UTOD23145890<<é€ü<<<<<<<<<<",
            "7408122F1204159UTO<<<<<<<<<<<6",
            "ERIKSSON<<ANNA<MARIA<<<<<<<<<<",
        ],
        vec!["P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<", "L898902C36UTO74€8122F1204159ZE184226B<<<<<1"],
    ];
    for lines in cases {
        for mode in [Mode::Strict, Mode::Tolerant] {
            if let Ok(m) = parse(&lines, &Options { mode, ..opts() }) {
                assert!(!m.valid, "{lines:?}");
            }
        }
    }
}

/// `s` with its ICAO check digit appended.
fn with_digit(s: &str) -> String {
    format!("{s}{}", check_digit(s).expect("MRZ characters"))
}

#[test]
fn french_id_given_names_separated_by_double_fillers_are_all_kept() {
    // The 1988–2021 French card: `<<` separates given names, `<` joins a compound one.
    let line1 = "IDFRABERTHIER<<<<<<<<<<<<<<<<<<<<<<<";
    for (given, want) in [
        ("MARIE<<CLAIRE", "MARIE CLAIRE"),
        ("JEAN<PIERRE", "JEAN PIERRE"),
        ("CORINNE", "CORINNE"),
        ("ANA<<LI<<EVA", "ANA LI EVA"),
    ] {
        let head = with_digit("940992310285");
        let body = format!("{head}{given:<<14}{}F", with_digit("651206"));
        let line2 = with_digit(&format!("{line1}{body}"))[36..].to_string();
        assert_eq!(line2.len(), 36);
        let m = parse(&[line1, line2.as_str()], &opts()).expect("french id");
        assert_eq!(m.format, Format::FrenchId);
        assert!(m.valid, "{given}: {:?}", m.errors);
        assert_eq!(m.given_names, want, "{given}");
    }
}

#[test]
fn a_long_document_numbers_continuation_is_not_optional_data() {
    // Belgian specimen (TD1): 600001795 continues with 015 and its check digit 2 in the
    // optional data field; nothing else is there.
    let m = parse(
        &[
            "IDBEL600001795<0152<<<<<<<<<<<",
            "1301014F2311207BEL130101987398",
            "SPECIMEN<<SPECIMEN<<<<<<<<<<<<",
        ],
        &opts(),
    )
    .expect("td1");
    assert!(m.valid, "{:?}", m.errors);
    assert_eq!((m.document_number.as_str(), m.optional_data.as_str()), ("600001795015", ""));
    // A continuation followed by real optional data keeps only the latter.
    let number = with_digit("D23145890734");
    let line1 = format!("I<UTOD23145890<{}<ABC123", &number[9..]);
    let line1 = format!("{line1:<<30}");
    let line2 = "7408122F1204159UTO<<<<<<<<<<<6";
    let m = parse(&[line1.as_str(), line2, "ERIKSSON<<ANNA<MARIA<<<<<<<<<<"], &opts()).expect("td1");
    assert_eq!((m.document_number.as_str(), m.optional_data.as_str()), ("D23145890734", "ABC123"));
    assert!(m.check("document_number").is_some_and(|c| c.valid), "{:?}", m.checks);
    // A 9-character number leaves the whole field to the optional data.
    let m = parse(
        &[
            "I<UTOD231458907<<<<<<<<<<<<<<<",
            "7408122F1204159UTO<<<<<<<<<<<6",
            "ERIKSSON<<ANNA<MARIA<<<<<<<<<<",
        ],
        &opts(),
    )
    .expect("td1");
    assert_eq!((m.document_number.as_str(), m.optional_data.as_str()), ("D23145890", ""));
}

#[test]
fn a_letter_in_the_filler_tail_of_a_name_is_a_misread_not_a_valid_name() {
    // The unseen-set failure: a letter read in the filler run at the end of a name line. Names
    // carry no check digit; the structure is what refuses it.
    let line2 = "L898902C36UTO7408122F1204159ZE184226B<<<<<10";
    let good = parse(&["P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<", line2], &opts()).expect("td3");
    assert!(good.valid, "{:?}", good.errors);
    let at = |name: &str, i: usize, c: char| {
        let mut l: Vec<char> = format!("{name:<<44}").chars().collect();
        l[i] = c;
        l.into_iter().collect::<String>()
    };
    for bad in [
        at("P<UTOERIKSSON<<ANNA<MARIA", 40, 'K'),
        at("P<UTOERIKSSON<<ANNA<MARIA", 43, 'E'),
        at("P<UTOERIKSSON", 43, 'X'),
    ] {
        let m = parse(&[bad.as_str(), line2], &opts()).expect("td3");
        assert!(!m.valid, "{bad}");
        assert!(m.has_error("name_filler_interrupted"), "{bad}: {:?}", m.errors);
    }
    // One or two fillers between name parts are the format's own.
    for ok in ["P<UTOERIKSSON<<ANNA<MARIA<LOUISE", "P<UTODE<LA<CRUZ<<ANNA"] {
        let ok = format!("{ok:<<44}");
        let m = parse(&[ok.as_str(), line2], &opts()).expect("td3");
        assert!(!m.has_error("name_filler_interrupted"), "{ok}: {:?}", m.errors);
    }
}
