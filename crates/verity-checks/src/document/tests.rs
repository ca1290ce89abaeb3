//! The document analyses on MRZ and barcode data made here (no model).

use serde_json::Value;
use verity_document::MrzReading;
use verity_mrz::{Date, Mode, Options};

use super::*;

/// The assessment, as the API shows it.
struct Shown {
    outcome: &'static str,
    reasons: Vec<String>,
    breakdown: Value,
}

fn shown(a: Assessment) -> Shown {
    Shown {
        outcome: a.outcome.as_str(),
        reasons: a.reasons,
        breakdown: serde_json::to_value(&a.breakdown).expect("json"),
    }
}

fn assess_mrz(
    reading: Option<&MrzReading>,
    side: Option<&str>,
    has_back: bool,
    declared: &Declared,
    opts: &CheckOptions,
) -> Shown {
    shown(assess(&Evidence { mrz: reading, mrz_side: side, has_back, ..Default::default() }, declared, opts))
}

const TODAY: Date = Date { year: 2026, month: 11, day: 22 };

fn reading(lines: &[&str]) -> MrzReading {
    let m = verity_mrz::parse(lines, &Options { mode: Mode::Tolerant, today: TODAY }).expect("parse");
    MrzReading {
        found: true,
        valid: m.valid,
        low_confidence_fields: vec![],
        unchecked_min_p: 1.0,
        lines: lines.iter().map(|s| s.to_string()).collect(),
        raw_lines: lines.iter().map(|s| s.to_string()).collect(),
        corrections: vec![],
        char_confidences: vec![],
        confidence: 1.0,
        mrz: Some(m),
        boxes: vec![],
        angle_deg: 0.0,
        mrz_boxes: vec![],
        detected: vec![],
        detected_at: verity_document::read::DET_SIDE,
        lines_detected: 2,
        lines_recognized: 2,
        passes: 1,
        timings_ms: Default::default(),
    }
}

fn opts() -> CheckOptions {
    CheckOptions {
        coverage: DEFAULT_COVERAGE.iter().map(|s| s.to_string()).collect(),
        minimum_age: 18,
        today: TODAY,
        client_data_validation: true,
    }
}

// A valid, unexpired TD3 (expiry 2031-04-15).
const TD3: [&str; 2] =
    ["P<GBRSMITH<<JOHN<PETER<<<<<<<<<<<<<<<<<<<<<<", "1234567897GBR8001014M3104150<<<<<<<<<<<<<<00"];

fn fixed(lines: [&str; 2]) -> [String; 2] {
    // Recompute the composite digit so the test data stays valid.
    let l2 = lines[1];
    let composite: String = format!("{}{}{}", &l2[0..10], &l2[13..20], &l2[21..43]);
    let d = verity_mrz::check_digit(&composite).expect("digit");
    [lines[0].to_string(), format!("{}{}", &l2[..43], d)]
}

#[test]
fn a_valid_passport_matching_the_client_is_clear() {
    let l = fixed(TD3);
    let r = reading(&[&l[0], &l[1]]);
    assert!(r.valid, "{:?}", r.mrz.as_ref().map(|m| &m.errors));
    let declared = Declared {
        document_type: Some("passport".into()),
        issuing_country: verity_mrz::CountryCode::parse("GB"),
        first_name: Some("John".into()),
        middle_name: Some("Peter".into()),
        last_name: Some("Smith".into()),
        dob: Some(Date { year: 1980, month: 1, day: 1 }),
        nationality: Some("GB".into()),
    };
    let a = assess_mrz(Some(&r), Some("front"), false, &declared, &opts());
    assert_eq!(a.outcome, "clear", "{:?}", a.reasons);
    assert_eq!(a.breakdown["extractedData"]["documentDetails"]["documentNumber"], "123456789");
    assert_eq!(a.breakdown["extractedData"]["holderDetails"]["dob"]["year"], 1980);
    assert_eq!(a.breakdown["clientDataValidation"]["breakdown"]["lastName"], "clear");
}

#[test]
fn every_problem_is_named() {
    let l = fixed(TD3);
    let r = reading(&[&l[0], &l[1]]);
    let declared = Declared {
        document_type: Some("national_identity_card".into()),
        issuing_country: verity_mrz::CountryCode::parse("FR"),
        first_name: Some("Jane".into()),
        last_name: Some("Smíth".into()),
        dob: Some(Date { year: 1980, month: 2, day: 1 }),
        ..Default::default()
    };
    let mut o = opts();
    o.minimum_age = 60;
    o.today = Date { year: 2032, month: 1, day: 1 };
    let a = assess_mrz(Some(&r), Some("front"), false, &declared, &o);
    assert_eq!(a.outcome, "attention");
    let b = &a.breakdown;
    assert_eq!(b["contentAnalysis"]["breakdown"]["expirationDate"], "attention");
    assert_eq!(b["contentAnalysis"]["breakdown"]["minimumAge"], "attention");
    assert_eq!(b["formatAnalysis"]["breakdown"]["documentType"], "attention");
    assert_eq!(b["formatAnalysis"]["breakdown"]["issuingCountry"], "attention");
    assert_eq!(b["clientDataValidation"]["breakdown"]["firstName"], "attention");
    assert_eq!(b["clientDataValidation"]["breakdown"]["dob"], "attention");
    // "Smíth" is SMITH in the MRZ's transliteration.
    assert_eq!(b["clientDataValidation"]["breakdown"]["lastName"], "clear");
    assert!(a.reasons.iter().any(|r| r.contains("expired")), "{:?}", a.reasons);
}

#[test]
fn no_mrz_and_unsupported_analyses_are_not_made_up() {
    let mut o = opts();
    o.coverage.push("consistency".into());
    let a = assess_mrz(
        None,
        None,
        false,
        &Declared { document_type: Some("passport".into()), ..Default::default() },
        &o,
    );
    assert_eq!(a.outcome, "attention");
    assert_eq!(a.breakdown["mrzAnalysis"]["breakdown"]["mrzFound"], "attention");
    assert_eq!(a.breakdown["consistencyAnalysis"]["result"], "not_processed");
    let only = CheckOptions { coverage: vec!["forensic".into()], client_data_validation: false, ..opts() };
    let a = assess_mrz(None, None, false, &Declared::default(), &only);
    assert_eq!(a.outcome, "not_processed");
}

#[test]
fn cards_need_their_back() {
    let td1 = [
        "I<UTOD231458907<<<<<<<<<<<<<<<",
        "7408122F1204159UTO<<<<<<<<<<<6",
        "ERIKSSON<<ANNA<MARIA<<<<<<<<<<",
    ];
    let r = reading(&td1);
    let a = assess_mrz(Some(&r), Some("front"), false, &Declared::default(), &opts());
    assert_eq!(a.breakdown["frontBackAnalysis"]["breakdown"]["backSide"], "attention");
    let a = assess_mrz(Some(&r), Some("back"), true, &Declared::default(), &opts());
    assert_eq!(a.breakdown["frontBackAnalysis"]["result"], "clear");
}

#[test]
fn a_driving_licence_is_checked_on_its_barcode_data() {
    let bc = verity_document::aamva::parse(verity_document::aamva::EXAMPLE).expect("aamva");
    let declared = Declared {
        document_type: Some("driving_license".into()),
        issuing_country: verity_mrz::CountryCode::parse("US"),
        first_name: Some("Michael".into()),
        last_name: Some("Sample".into()),
        dob: Date::new(1986, 6, 6),
        ..Default::default()
    };
    let ev = Evidence {
        mrz: None,
        mrz_side: None,
        barcode: Some(&bc),
        visual_zone: None,
        forensics: &[],
        has_back: true,
    };
    let o = CheckOptions { today: Date { year: 2024, month: 1, day: 1 }, ..opts() };
    let a = shown(assess(&ev, &declared, &o));
    let b = &a.breakdown;
    assert_eq!(a.outcome, "clear", "{b}");
    assert_eq!(b["barcodeAnalysis"]["result"], "clear", "{b}");
    assert!(b.get("mrzAnalysis").is_none(), "{b}");
    assert_eq!(b["formatAnalysis"]["result"], "clear", "{b}");
    assert_eq!(b["clientDataValidation"]["result"], "clear", "{b}");
    assert_eq!(b["extractedData"]["documentDetails"]["documentNumber"], "T64235789");
    assert_eq!(b["extractedData"]["holderDetails"]["address"]["city"], "RICHMOND");
    // Expired at the end of 2024; the back is required for a card.
    let ev = Evidence { has_back: false, ..ev };
    let a = shown(assess(&ev, &declared, &opts()));
    assert_eq!(a.outcome, "attention");
    assert_eq!(a.breakdown["contentAnalysis"]["breakdown"]["expirationDate"], "attention", "{}", a.breakdown);
    assert_eq!(a.breakdown["frontBackAnalysis"]["breakdown"]["backSide"], "attention");
}
