//! Document checks in the shape of ComplyCube's `document_check`: the data extracted from the
//! MRZ, and analyses — `mrz` (found, check digits, verified read), `content` (expiry, minimum
//! age, dates), `format` (document type and issuing country against what was declared),
//! `front_back` (cards need both sides; the MRZ on the expected side) — plus
//! `clientDataValidation` (names with transliteration-aware matching, date of birth) against the
//! client's declared data. Documents without an MRZ but with an AAMVA PDF417 barcode (North
//! American driving licences) are checked on the barcode's data instead, with a
//! `barcodeAnalysis`. Every outcome comes with named signals and reasons. Analyses this
//! `consistency` (the MRZ's values found in the printed visual zone, see [`crate::viz`]) runs
//! when asked for; `forensic` (a tampering detector) answers `not_processed` with the reason.
//! Neither is in the default coverage.

use serde::Serialize;
use serde_json::{json, Map, Value};
use verity_mrz::translit::compare_names;
use verity_mrz::{Date, Format, Mrz, Sex};

use crate::aamva::Aamva;
use crate::forensic::Forensics;
use crate::viz::FieldMatch;
use crate::MrzReading;

/// The analyses Verity runs by default.
pub const DEFAULT_COVERAGE: &[&str] = &["mrz", "content", "format", "front_back"];
/// Every analysis name accepted in `analysisCoverage`.
pub const KNOWN_COVERAGE: &[&str] = &["mrz", "content", "format", "front_back", "consistency", "forensic"];

/// What was declared about the document and its holder.
#[derive(Debug, Clone, Default)]
pub struct Declared {
    /// ComplyCube document type: passport, driving_license, national_identity_card,
    /// residence_permit, visa, …
    pub document_type: Option<String>,
    /// ISO alpha-2.
    pub issuing_country: Option<String>,
    pub first_name: Option<String>,
    pub middle_name: Option<String>,
    pub last_name: Option<String>,
    pub dob: Option<Date>,
    pub nationality: Option<String>,
}

/// Options of a document check.
#[derive(Debug, Clone)]
pub struct CheckOptions {
    pub coverage: Vec<String>,
    pub minimum_age: i32,
    pub today: Date,
    /// Compare with the client's declared data.
    pub client_data_validation: bool,
}

/// The outcome.
#[derive(Debug, Clone, Serialize)]
pub struct Assessment {
    /// `clear`, `attention` or `not_processed`.
    pub outcome: &'static str,
    pub reasons: Vec<String>,
    pub breakdown: Value,
}

fn combine(parts: &[&str]) -> &'static str {
    if parts.contains(&"attention") {
        "attention"
    } else if parts.iter().all(|p| *p == "not_processed") && !parts.is_empty() {
        "not_processed"
    } else if parts.contains(&"not_processed") {
        "attention"
    } else {
        "clear"
    }
}

/// One analysis: named signals, each `clear` | `attention` | `not_processed`.
struct Analysis {
    signals: Map<String, Value>,
    reasons: Vec<String>,
}

impl Analysis {
    fn new() -> Self {
        Self { signals: Map::new(), reasons: Vec::new() }
    }
    fn signal(&mut self, name: &str, ok: bool, why: impl FnOnce() -> String) {
        self.signals.insert(name.into(), json!(if ok { "clear" } else { "attention" }));
        if !ok {
            self.reasons.push(why());
        }
    }
    fn skipped(&mut self, name: &str, why: &str) {
        self.signals.insert(name.into(), json!("not_processed"));
        self.reasons.push(why.to_string());
    }
    fn result(&self) -> &'static str {
        let v: Vec<&str> = self.signals.values().filter_map(Value::as_str).collect();
        if v.is_empty() {
            return "not_processed";
        }
        combine(&v)
    }
    fn json(&self) -> Value {
        json!({"result": self.result(), "breakdown": self.signals, "reasons": self.reasons})
    }
}

fn date_json(d: Option<Date>) -> Value {
    match d {
        Some(d) => json!({"day": d.day, "month": d.month, "year": d.year}),
        None => Value::Null,
    }
}

fn iso2(c: &Option<verity_mrz::Country>) -> Value {
    c.as_ref().map(|c| json!(c.iso_alpha2.unwrap_or(c.code.as_str()))).unwrap_or(Value::Null)
}

/// The document type an MRZ implies (ComplyCube's names).
fn implied_type(m: &Mrz) -> &'static str {
    match (m.format, m.document_code.chars().next()) {
        (Format::MrvA | Format::MrvB, _) | (_, Some('V')) => "visa",
        (Format::Td3, _) | (_, Some('P')) => "passport",
        (Format::FrenchDrivingLicence | Format::SwissDrivingLicence, _) => "driving_license",
        (_, Some('A' | 'C' | 'I')) => "national_identity_card",
        _ => "other",
    }
}

/// `extractedData` from the MRZ.
pub fn extracted_data(r: &MrzReading) -> Value {
    let Some(m) = &r.mrz else { return json!({}) };
    json!({
        "documentDetails": {
            "documentType": implied_type(m),
            "documentCode": m.document_code,
            "issuingCountry": iso2(&m.issuing_state),
            "issuingState": m.issuing_state.as_ref().map(|c| c.code.clone()),
            "documentNumber": m.document_number,
            "expirationDate": date_json(m.expiry_date),
            "optionalData": m.optional_data,
        },
        "holderDetails": {
            "lastName": m.surname,
            "firstName": m.given_names,
            "namesTruncated": m.names_truncated,
            "dob": date_json(m.birth_date),
            "gender": match m.sex { Some(Sex::Male) => json!("male"), Some(Sex::Female) => json!("female"), Some(Sex::Unspecified) => json!("unspecified"), None => Value::Null },
            "nationality": iso2(&m.nationality),
        },
        "mrzDetails": {
            "format": m.format,
            "lines": r.lines,
            "valid": r.valid,
        },
    })
}

/// What the document says about itself and its holder, from its MRZ or else its AAMVA barcode.
struct Facts {
    /// `mrz` or `barcode`.
    source: &'static str,
    expiry: Option<Date>,
    birth: Option<Date>,
    surname: String,
    given: String,
    truncated: bool,
    /// (code as printed, ISO alpha-2 if known, fictional)
    issuing: Option<(String, Option<String>, bool)>,
    nationality: Option<(String, Option<String>)>,
    implied_type: &'static str,
    /// A card format (two sides expected).
    card: bool,
}

impl Facts {
    fn from_mrz(m: &Mrz) -> Self {
        Facts {
            source: "mrz",
            expiry: m.expiry_date,
            birth: m.birth_date,
            surname: m.surname.clone(),
            given: m.given_names.clone(),
            truncated: m.names_truncated,
            issuing: m
                .issuing_state
                .as_ref()
                .map(|c| (c.code.clone(), c.iso_alpha2.map(str::to_string), c.kind == "fictional")),
            nationality: m.nationality.as_ref().map(|c| (c.code.clone(), c.iso_alpha2.map(str::to_string))),
            implied_type: implied_type(m),
            card: matches!(m.format, Format::Td1 | Format::FrenchId),
        }
    }
    fn from_aamva(a: &Aamva) -> Self {
        Facts {
            source: "barcode",
            expiry: a.expiry_date,
            birth: a.birth_date,
            surname: a.family_name.clone().unwrap_or_default(),
            given: a.given_names.clone().unwrap_or_default(),
            truncated: a.names_truncated,
            issuing: a.country.as_ref().map(|c| {
                let iso = a.country_iso2().filter(|i| i.len() == 2).map(str::to_string);
                (c.clone(), iso, false)
            }),
            nationality: None,
            implied_type: if a.document_type == "ID" { "national_identity_card" } else { "driving_license" },
            card: true,
        }
    }
}

/// What was read from the document's sides.
#[derive(Debug, Clone, Copy, Default)]
pub struct Evidence<'a> {
    /// The MRZ reading of the side that carries it (or the best reading).
    pub mrz: Option<&'a MrzReading>,
    /// `front` or `back`.
    pub mrz_side: Option<&'a str>,
    /// AAMVA data from a PDF417 barcode.
    pub barcode: Option<&'a Aamva>,
    /// The MRZ's values looked for in the printed text (when the visual zone was read).
    pub visual_zone: Option<&'a [FieldMatch]>,
    /// Forensic signals of each side read (`front`, `back`).
    pub forensics: &'a [(&'a str, Forensics)],
    pub has_back: bool,
}

fn field_words(field: &str) -> &'static str {
    match field {
        "documentNumber" => "document number",
        "lastName" => "surname",
        "firstName" => "given name",
        "dob" => "date of birth",
        "expirationDate" => "expiry date",
        _ => "value",
    }
}

/// `extractedData` from an AAMVA barcode.
pub fn extracted_barcode_data(a: &Aamva) -> Value {
    let iso = json!(a.country_iso2());
    json!({
        "documentDetails": {
            "documentType": if a.document_type == "ID" { "national_identity_card" } else { "driving_license" },
            "issuingCountry": iso,
            "issuingState": a.jurisdiction,
            "documentNumber": a.document_number,
            "expirationDate": date_json(a.expiry_date),
            "issuingDate": date_json(a.issue_date),
        },
        "holderDetails": {
            "lastName": a.family_name,
            "firstName": a.given_names,
            "namesTruncated": a.names_truncated,
            "dob": date_json(a.birth_date),
            "gender": match a.sex.as_deref() { Some("M") => json!("male"), Some("F") => json!("female"), Some(_) => json!("unspecified"), None => Value::Null },
            "address": {
                "line": a.street, "city": a.city, "state": a.jurisdiction,
                "postalCode": a.postal_code, "country": iso,
            },
        },
        "barcodeDetails": {
            "format": "pdf417",
            "standard": "AAMVA",
            "version": a.version,
            "iin": a.iin,
        },
    })
}

/// Runs the check on the reading of the side that carries the MRZ (`mrz_side` = "front" |
/// "back"), with the sides uploaded.
pub fn assess(
    reading: Option<&MrzReading>,
    mrz_side: Option<&str>,
    has_back: bool,
    declared: &Declared,
    opts: &CheckOptions,
) -> Assessment {
    assess_evidence(
        &Evidence { mrz: reading, mrz_side, barcode: None, visual_zone: None, forensics: &[], has_back },
        declared,
        opts,
    )
}

/// Runs the check on everything read from the document: its MRZ, else its AAMVA barcode.
pub fn assess_evidence(ev: &Evidence<'_>, declared: &Declared, opts: &CheckOptions) -> Assessment {
    let (reading, mrz_side, has_back) = (ev.mrz, ev.mrz_side, ev.has_back);
    let mut parts: Vec<&'static str> = Vec::new();
    let mut breakdown = Map::new();
    let mut reasons = Vec::new();
    let mrz = reading.and_then(|r| r.mrz.as_ref());
    let facts = mrz.map(Facts::from_mrz).or_else(|| ev.barcode.map(Facts::from_aamva));
    let wants = |n: &str| opts.coverage.iter().any(|c| c == n);

    if let Some(bc) = ev.barcode.filter(|_| mrz.is_none()) {
        let mut a = Analysis::new();
        a.signal("barcodeFound", true, String::new);
        a.signal("barcodeData", bc.warnings.is_empty(), || {
            format!("AAMVA barcode data: {}", bc.warnings.join("; "))
        });
        let missing: Vec<&str> = [
            ("documentNumber", bc.document_number.is_none()),
            ("lastName", bc.family_name.is_none()),
            ("dob", bc.birth_date.is_none()),
            ("expirationDate", bc.expiry_date.is_none()),
        ]
        .iter()
        .filter(|(_, m)| *m)
        .map(|(n, _)| *n)
        .collect();
        a.signal("requiredElements", missing.is_empty(), || {
            format!("the barcode lacks: {}", missing.join(", "))
        });
        parts.push(a.result());
        reasons.extend(a.reasons.iter().cloned());
        breakdown.insert("barcodeAnalysis".into(), a.json());
    }

    if wants("mrz") && (mrz.is_some() || ev.barcode.is_none()) {
        let mut a = Analysis::new();
        match (reading, mrz) {
            (Some(r), Some(m)) => {
                a.signal("mrzFound", true, String::new);
                let bad: Vec<&str> = m.checks.iter().filter(|c| !c.valid).map(|c| c.name).collect();
                a.signal("checkDigits", bad.is_empty(), || {
                    format!("MRZ check digits fail: {}", bad.join(", "))
                });
                let structural: Vec<String> =
                    m.errors.iter().filter(|e| e.code != "check_digit").map(|e| e.message.clone()).collect();
                a.signal("mrzFormat", structural.is_empty(), || {
                    format!("MRZ errors: {}", structural.join("; "))
                });
                a.signal("readConfidence", r.low_confidence_fields.is_empty(), || {
                    format!(
                        "MRZ characters read with low confidence in: {}",
                        r.low_confidence_fields.join(", ")
                    )
                });
            }
            _ => a.signal("mrzFound", false, || "no machine-readable zone was found on the document".into()),
        }
        parts.push(a.result());
        reasons.extend(a.reasons.iter().cloned());
        breakdown.insert("mrzAnalysis".into(), a.json());
    }

    if wants("content") {
        let mut a = Analysis::new();
        match &facts {
            Some(m) => {
                match m.expiry {
                    Some(e) => a.signal("expirationDate", e >= opts.today, || {
                        format!("the document expired on {}", e.iso())
                    }),
                    None => a.skipped("expirationDate", "no expiry date could be read"),
                }
                match m.birth {
                    Some(b) => {
                        let age = b.years_until(&opts.today);
                        a.signal("dateOfBirth", b <= opts.today && age < 130, || {
                            format!("implausible date of birth {}", b.iso())
                        });
                        a.signal("minimumAge", age >= opts.minimum_age, || {
                            format!(
                                "the holder is {age}, under the minimum permitted age of {}",
                                opts.minimum_age
                            )
                        });
                    }
                    None => {
                        a.skipped("dateOfBirth", "no date of birth could be read");
                        a.skipped("minimumAge", "no date of birth could be read");
                    }
                }
            }
            None => a.skipped("content", "no MRZ or barcode to read the document's data from"),
        }
        parts.push(a.result());
        reasons.extend(a.reasons.iter().cloned());
        breakdown.insert("contentAnalysis".into(), a.json());
    }

    if wants("format") {
        let mut a = Analysis::new();
        match &facts {
            Some(f) => {
                let implied = f.implied_type;
                let what = if f.source == "mrz" { "the MRZ" } else { "the barcode" };
                match declared.document_type.as_deref() {
                    Some(t) => {
                        // Residence permits are ID-sized cards (I, A or C codes, or an R code).
                        let ok = t == implied
                            || (t == "residence_permit"
                                && matches!(implied, "national_identity_card" | "other"))
                            || (t == "driving_license" && implied == "other");
                        a.signal("documentType", ok, || format!("declared {t}, {what} says {implied}"));
                    }
                    None => a.skipped("documentType", "no document type was declared"),
                }
                match (&declared.issuing_country, &f.issuing) {
                    (Some(c), Some((code, iso, fictional))) => {
                        let ok = iso.as_deref().is_some_and(|i| i.eq_ignore_ascii_case(c))
                            || (*fictional && c.eq_ignore_ascii_case("UT"));
                        a.signal("issuingCountry", ok, || {
                            format!("declared issuing country {c}, {what} says {code}")
                        });
                    }
                    (None, _) => a.skipped("issuingCountry", "no issuing country was declared"),
                    (_, None) => {
                        a.signal("issuingCountry", false, || format!("{what} names no known issuing country"))
                    }
                }
            }
            None => a.skipped("format", "no MRZ or barcode to tell the document's type and country"),
        }
        parts.push(a.result());
        reasons.extend(a.reasons.iter().cloned());
        breakdown.insert("formatAnalysis".into(), a.json());
    }

    if wants("front_back") {
        let mut a = Analysis::new();
        let card = match &facts {
            Some(f) => f.card,
            None => matches!(
                declared.document_type.as_deref(),
                Some("national_identity_card" | "residence_permit" | "driving_license")
            ),
        };
        if card {
            a.signal("backSide", has_back, || "an identity card has two sides: upload the back".into());
        } else {
            a.signal("backSide", true, String::new);
        }
        if let (Some(m), Some(side)) = (mrz, mrz_side) {
            // TD1 cards carry the MRZ on the back; passports and TD2 on the data page (front).
            let expected = if matches!(m.format, Format::Td1) { "back" } else { "front" };
            a.signal("mrzSide", side == expected || !has_back, || {
                format!("the MRZ was found on the {side}; this format carries it on the {expected}")
            });
        }
        parts.push(a.result());
        reasons.extend(a.reasons.iter().cloned());
        breakdown.insert("frontBackAnalysis".into(), a.json());
    }

    if wants("consistency") {
        let mut a = Analysis::new();
        match (mrz, ev.visual_zone) {
            (Some(_), Some(found)) if !found.is_empty() => {
                for f in found {
                    a.signal(f.field, f.found(), || {
                        format!(
                            "the MRZ's {} {} is not printed in the visual zone (or could not be read there)",
                            field_words(f.field),
                            f.mrz
                        )
                    });
                }
            }
            (Some(_), _) => a.skipped("visualZoneVsMrz", "the visual zone was not read"),
            (None, _) => a.skipped("visualZoneVsMrz", "no MRZ to compare the printed data with"),
        }
        let mut j = a.json();
        if let Some(found) = ev.visual_zone {
            j["comparisons"] = json!(found);
        }
        parts.push(a.result());
        reasons.extend(a.reasons.iter().cloned());
        breakdown.insert("consistencyAnalysis".into(), j);
    }
    if wants("forensic") {
        let mut a = Analysis::new();
        if ev.forensics.is_empty() {
            a.skipped("tampering", "no image was inspected");
        } else {
            let edited: Vec<String> = ev
                .forensics
                .iter()
                .filter_map(|(side, f)| {
                    f.editing_software.as_ref().map(|s| format!("the {side} was saved by {s}"))
                })
                .collect();
            a.signal("editingSoftware", edited.is_empty(), || {
                format!("{}: an image editor", edited.join("; "))
            });
            let cut: Vec<&str> = ev.forensics.iter().filter(|(_, f)| f.truncated).map(|(s, _)| *s).collect();
            a.signal("imageIntegrity", cut.is_empty(), || {
                format!("the image of the {} is cut off (incomplete JPEG)", cut.join(" and "))
            });
            let gray: Vec<String> = ev
                .forensics
                .iter()
                .filter(|(_, f)| f.grayscale)
                .map(|(s, f)| format!("{s} (colourfulness {:.1})", f.colourfulness))
                .collect();
            a.signal("colourImage", gray.is_empty(), || {
                format!(
                    "the document is in black and white — a photocopy or converted image: {}",
                    gray.join(", ")
                )
            });
        }
        parts.push(a.result());
        reasons.extend(a.reasons.iter().cloned());
        breakdown.insert("forensicAnalysis".into(), a.json());
    }

    if opts.client_data_validation {
        let mut a = Analysis::new();
        match &facts {
            Some(m) => {
                let given = [declared.first_name.as_deref(), declared.middle_name.as_deref()]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(" ");
                let mut names = Map::new();
                if let Some(last) = &declared.last_name {
                    let nm = compare_names(last, &m.surname, m.truncated);
                    a.signal("lastName", nm.matched, || {
                        format!("last name {last:?} does not match the document's {:?}", m.surname)
                    });
                    names.insert("lastName".into(), json!(nm));
                }
                if !given.is_empty() {
                    let mut nm = compare_names(&given, &m.given, m.truncated);
                    // A declared first name alone matches the document's first given name.
                    if !nm.matched && declared.middle_name.is_none() {
                        let first_doc = m.given.split(' ').next().unwrap_or_default();
                        let alone = compare_names(&given, first_doc, m.truncated);
                        if alone.matched {
                            nm = alone;
                        }
                    }
                    a.signal("firstName", nm.matched, || {
                        format!("given names {given:?} do not match the document's {:?}", m.given)
                    });
                    names.insert("firstName".into(), json!(nm));
                }
                if let Some(dob) = declared.dob {
                    a.signal("dob", m.birth == Some(dob), || {
                        format!(
                            "declared date of birth {} differs from the document's {}",
                            dob.iso(),
                            m.birth.map(|d| d.iso()).unwrap_or_default()
                        )
                    });
                }
                if let (Some(n), Some((code, iso))) = (&declared.nationality, &m.nationality) {
                    let ok = iso.as_deref().is_some_and(|i| i.eq_ignore_ascii_case(n));
                    a.signal("nationality", ok, || {
                        format!("declared nationality {n}, the document says {code}")
                    });
                }
                let mut j = a.json();
                j["names"] = Value::Object(names);
                parts.push(a.result());
                reasons.extend(a.reasons.iter().cloned());
                breakdown.insert("clientDataValidation".into(), j);
            }
            None => {
                a.skipped("clientData", "no MRZ or barcode to compare the client's data with");
                parts.push(a.result());
                reasons.extend(a.reasons.iter().cloned());
                breakdown.insert("clientDataValidation".into(), a.json());
            }
        }
    }

    match (reading, ev.barcode) {
        (Some(r), _) if r.mrz.is_some() => {
            breakdown.insert("extractedData".into(), extracted_data(r));
        }
        (_, Some(bc)) => {
            breakdown.insert("extractedData".into(), extracted_barcode_data(bc));
        }
        (Some(r), None) => {
            breakdown.insert("extractedData".into(), extracted_data(r));
        }
        (None, None) => {}
    }
    Assessment { outcome: combine(&parts), reasons, breakdown: Value::Object(breakdown) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use verity_mrz::{Mode, Options};

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
            detected_at: crate::read::DET_SIDE,
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
            issuing_country: Some("GB".into()),
            first_name: Some("John".into()),
            middle_name: Some("Peter".into()),
            last_name: Some("Smith".into()),
            dob: Some(Date { year: 1980, month: 1, day: 1 }),
            nationality: Some("GB".into()),
        };
        let a = assess(Some(&r), Some("front"), false, &declared, &opts());
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
            issuing_country: Some("FR".into()),
            first_name: Some("Jane".into()),
            last_name: Some("Smíth".into()),
            dob: Some(Date { year: 1980, month: 2, day: 1 }),
            ..Default::default()
        };
        let mut o = opts();
        o.minimum_age = 60;
        o.today = Date { year: 2032, month: 1, day: 1 };
        let a = assess(Some(&r), Some("front"), false, &declared, &o);
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
        let a = assess(
            None,
            None,
            false,
            &Declared { document_type: Some("passport".into()), ..Default::default() },
            &o,
        );
        assert_eq!(a.outcome, "attention");
        assert_eq!(a.breakdown["mrzAnalysis"]["breakdown"]["mrzFound"], "attention");
        assert_eq!(a.breakdown["consistencyAnalysis"]["result"], "not_processed");
        let only =
            CheckOptions { coverage: vec!["forensic".into()], client_data_validation: false, ..opts() };
        let a = assess(None, None, false, &Declared::default(), &only);
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
        let a = assess(Some(&r), Some("front"), false, &Declared::default(), &opts());
        assert_eq!(a.breakdown["frontBackAnalysis"]["breakdown"]["backSide"], "attention");
        let a = assess(Some(&r), Some("back"), true, &Declared::default(), &opts());
        assert_eq!(a.breakdown["frontBackAnalysis"]["result"], "clear");
    }

    #[test]
    fn a_driving_licence_is_checked_on_its_barcode_data() {
        let bc = crate::aamva::parse(crate::aamva::EXAMPLE).expect("aamva");
        let declared = Declared {
            document_type: Some("driving_license".into()),
            issuing_country: Some("US".into()),
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
        let a = assess_evidence(&ev, &declared, &o);
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
        let a = assess_evidence(&ev, &declared, &opts());
        assert_eq!(a.outcome, "attention");
        assert_eq!(
            a.breakdown["contentAnalysis"]["breakdown"]["expirationDate"], "attention",
            "{}",
            a.breakdown
        );
        assert_eq!(a.breakdown["frontBackAnalysis"]["breakdown"]["backSide"], "attention");
    }
}
