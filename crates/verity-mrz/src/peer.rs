//! Running peer parsers' test cases (`mrz_cases.jsonl`: lines in, the source's expectations
//! out) against Verity's parser, with Verity's recorded decisions where conventions differ.
//! Used by the peer-suite test and by `verity eval mrz`.

use serde::Serialize;
use serde_json::Value;

use crate::{parse, Mode, Mrz, Options, Sex};

/// Cases where Verity deliberately differs from the source, and why. The value says what Verity
/// does instead: "valid" / "invalid" (its verdict), or "no-autocorrect".
pub const DECISIONS: &[(&str, &str, &str)] = &[
    ("cheminfo-006", "valid", "UTO (Utopia) is ICAO 9303's code for specimens; cheminfo rejects it as not ISO 3166, Verity accepts it as a fictional code (reported as kind=fictional)"),
    ("cheminfo-007", "valid", "UTO accepted (see cheminfo-006); the extended document number itself agrees"),
    ("cheminfo-008", "valid", "UTO accepted (see cheminfo-006); the extended document number itself agrees"),
    ("cheminfo-014", "valid", "UTO accepted (see cheminfo-006)"),
    ("cheminfo-016", "valid", "UTO accepted (see cheminfo-006)"),
    ("cheminfo-010", "no-autocorrect", "OCR-confused input: autocorrect by a confusion table is refused"),
    ("cheminfo-015", "no-autocorrect", "OCR-confused input: autocorrect by a confusion table is refused"),
    ("arg0s-010", "valid", "the source counts an expired document as invalid (check_expiry); Verity's MRZ validity is structural, expiry is a warning here and an outcome of the document check's content analysis"),
    ("arg0s-015", "valid", "expired ICAO MRV-A specimen: expiry is a warning (see arg0s-010)"),
    ("arg0s-031", "valid", "expiry is a warning (see arg0s-010)"),
    ("cheminfo-022", "no-autocorrect", "OCR-confused input: the source fixes characters by field type (0↔O, 1↔I, 8↔B); Verity never corrects by a confusion table (it makes bad reads look valid) and reports the errors instead"),
    ("cheminfo-026", "no-autocorrect", "same: autocorrect by confusion table is refused"),
    ("cheminfo-028", "no-autocorrect", "same: autocorrect by confusion table is refused"),
    ("cheminfo-031", "no-autocorrect", "same: autocorrect by confusion table is refused"),
    ("cheminfo-002", "valid", "a document number longer than 9 characters continues in the optional data; the continuation and its check digit belong to the number (ICAO 9303-5, note j), so Verity does not also report them as optional data (cheminfo does)"),
    ("cheminfo-003", "valid", "the long document number's continuation is not optional data (see cheminfo-002)"),
    ("cheminfo-004", "valid", "the long document number's continuation is not optional data (see cheminfo-002)"),
    ("cheminfo-011", "valid", "the long document number's continuation is not optional data (see cheminfo-002)"),
];

pub fn decision(id: &str) -> Option<&'static str> {
    DECISIONS.iter().find(|(i, _, _)| *i == id).map(|(_, d, _)| *d)
}

fn sex_word(s: Option<Sex>) -> &'static str {
    match s {
        Some(Sex::Male) => "male",
        Some(Sex::Female) => "female",
        Some(Sex::Unspecified) => "nonspecified",
        None => "",
    }
}

/// Verity's value for a field name used by a source, if Verity has that field.
fn ours(m: &Mrz, name: &str) -> Option<String> {
    let f = |n: &str| m.field(n).map(|f| f.value.clone());
    // cheminfo's French ID "documentNumber" field is the 5-digit sequence part.
    if name == "documentNumber" && m.format == crate::Format::FrenchId {
        return f("document_sequence");
    }
    let c = |n: &str| m.check(n).map(|c| c.given.to_string());
    let raw = |n: &str| m.field(n).map(|f| f.raw.clone());
    Some(match name {
        "documentCode" | "document_type" => m.document_code.clone(),
        "issuingState" | "country" => {
            m.issuing_state.as_ref().map(|c| c.code.clone()).or_else(|| f("issuing_state"))?
        }
        "nationality" => m.nationality.as_ref().map(|c| c.code.clone()).or_else(|| f("nationality"))?,
        "documentNumber" | "document_number" => m.document_number.clone(),
        "documentNumberCheckDigit" | "document_number_hash" => c("document_number")?,
        "birthDate" | "birth_date" => raw("birth_date")?,
        "birthDateCheckDigit" | "birth_date_hash" => c("birth_date")?,
        "expirationDate" | "expiry_date" => raw("expiry_date")?,
        "expirationDateCheckDigit" | "expiry_date_hash" => c("expiry_date")?,
        "compositeCheckDigit" | "final_hash" => c("composite")?,
        "personalNumberCheckDigit" | "optional_data_hash" => c("personal_number")?,
        "sex" => match sex_word(m.sex) {
            s if name == "sex" && s.is_empty() => return None,
            s => s.to_string(),
        },
        "lastName" | "surname" => m.surname.clone(),
        "firstName" | "name" => m.given_names.clone(),
        "optional1" | "personalNumber" | "optional_data" => m.optional_data.clone(),
        "optional2" => m.optional_data_2.clone(),
        "administrativeCode" => m.optional_data.clone(),
        "administrativeCode2" => f("administrative_code_2")?,
        "issueDate" => f("issue_date")?,
        "pinCode" => m.optional_data.clone(),
        "versionNumber" => m.optional_data_2.clone(),
        "languageCode" => f("language_code")?,
        _ => return None,
    })
}

/// One value in a comparable form, whatever a parser's conventions, so a new peer suite is
/// added as data: sex as a word (`F`, `female`), dates as the MRZ's YYMMDD (ISO 8601 accepted),
/// fillers as spaces, collapsed and trimmed (`ANNA<MARIA<<` = `ANNA MARIA`), upper case.
fn normalise(name: &str, v: &str) -> String {
    let lower = name.to_ascii_lowercase();
    if lower == "sex" {
        return match v.trim().to_ascii_lowercase().as_str() {
            "m" | "male" => "male",
            "f" | "female" => "female",
            _ => "nonspecified",
        }
        .into();
    }
    let t = v.trim();
    let b = t.as_bytes();
    if lower.contains("date")
        && !lower.contains("check")
        && !lower.contains("hash")
        && b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
    {
        // ISO 8601 as the MRZ writes it (YYMMDD).
        return format!("{}{}{}", &t[2..4], &t[5..7], &t[8..10]);
    }
    // Fillers as spaces, collapsed: `ANNA<MARIA`, `ANNA MARIA` and `ANNA<MARIA<<<` are one name.
    t.replace('<', " ").split_whitespace().collect::<Vec<_>>().join(" ").to_uppercase()
}

/// How one case came out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Outcome {
    /// Every expectation the case states matches.
    Agree,
    /// It differs, as recorded in [`DECISIONS`], and Verity behaves as recorded.
    Decided { decision: &'static str, reason: &'static str },
    /// It differs and nothing records why: a bug or an unrecorded convention.
    Disagree { problems: Vec<String> },
}

/// Evaluates one case of `mrz_cases.jsonl` (parsed in strict mode on `today`).
pub fn evaluate(case: &Value, today: crate::Date) -> Outcome {
    let id = case["id"].as_str().unwrap_or("?");
    let lines: Vec<String> = case["lines"]
        .as_array()
        .map(|a| a.iter().filter_map(|l| l.as_str().map(String::from)).collect())
        .unwrap_or_default();
    let exp = &case["expected"];
    let parsed = parse(&lines, &Options { mode: Mode::Strict, today });
    let mut problems = Vec::new();
    if exp["throws"].as_bool() == Some(true) {
        if parsed.is_ok() {
            problems.push("the source throws, Verity parsed it".to_string());
        }
    } else {
        match &parsed {
            Err(e) => problems.push(format!("Verity refused: {e}")),
            Ok(m) => {
                if let Some(valid) = exp["valid"].as_bool() {
                    if m.valid != valid {
                        let codes: Vec<&str> = m.errors.iter().map(|e| e.code).collect();
                        problems.push(format!("valid: source {valid}, Verity {} {codes:?}", m.valid));
                    }
                }
                if let Some(fields) = exp["fields"].as_object() {
                    for (name, want) in fields {
                        let Some(want) = want.as_str() else { continue };
                        if let Some(got) = ours(m, name) {
                            if normalise(name, &got) != normalise(name, want) {
                                problems.push(format!("{name}: source {want:?}, Verity {got:?}"));
                            }
                        }
                    }
                }
                if let Some(warnings) = exp["warnings"].as_array() {
                    for w in warnings.iter().filter_map(|w| w.as_str()) {
                        let code = match w {
                            "document expired" => "document_expired",
                            "expiry date greater than 10 years" => "expiry_far",
                            "possible truncating" => "name_truncated",
                            "only one identifier" => "single_identifier",
                            _ => continue, // name prefixes/suffixes: not assessed by Verity
                        };
                        if !m.has_warning(code) {
                            problems.push(format!("missing warning {code}"));
                        }
                    }
                }
            }
        }
    }
    let recorded = DECISIONS.iter().find(|(i, _, _)| *i == id);
    match (problems.is_empty(), recorded) {
        (true, None) => Outcome::Agree,
        (true, Some(_)) => Outcome::Disagree {
            problems: vec!["recorded as a difference but Verity agrees: update DECISIONS".into()],
        },
        (false, Some((_, decision, reason))) => {
            let holds = match (*decision, &parsed) {
                ("valid", Ok(m)) => m.valid,
                ("no-autocorrect", Ok(m)) => !m.valid,
                _ => false,
            };
            if holds {
                Outcome::Decided { decision, reason }
            } else {
                problems.push(format!("Verity does not behave as recorded ({decision})"));
                Outcome::Disagree { problems }
            }
        }
        (false, None) => Outcome::Disagree { problems },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn other_parsers_conventions_compare_equal() {
        for (name, a, b) in [
            ("sex", "F", "female"),
            ("sex", "<", "nonspecified"),
            ("birthDate", "1974-08-12", "740812"),
            ("expirationDate", "2012-04-15", "120415"),
            ("firstName", "ANNA<MARIA<<<", "ANNA MARIA"),
            ("optional1", "", "<<<<<<<"),
            ("lastName", "eriksson", "ERIKSSON"),
        ] {
            assert_eq!(normalise(name, a), normalise(name, b), "{name}: {a:?} vs {b:?}");
        }
        assert_ne!(normalise("documentNumber", "L898902C3"), normalise("documentNumber", "L898902C<"));
        assert_ne!(normalise("birthDateCheckDigit", "2"), normalise("birthDateCheckDigit", "3"));
    }
}
