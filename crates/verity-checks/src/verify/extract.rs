//! `extracted_data` of a one-call verification: what the document prints, each field with its
//! confidence and where it was read. A field the document does not carry, or that Verity cannot
//! read, is `null` with confidence 0 — never guessed.

use std::collections::BTreeMap;

use serde::Serialize;
use verity_document::MrzReading;
use verity_mrz::{Date, Mrz, Sex};

/// Where a field was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Mrz,
    VisualZone,
    Barcode,
}

/// A field's confidence (0–1) and source (`null` when not read).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldConfidence {
    pub confidence: f64,
    pub source: Option<Source>,
}

/// The seed's `extracted_data`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ExtractedData {
    pub document_number: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// Not read: no recogniser of Arabic script whose accuracy was measured runs in-process
    /// (see `docs/verify.md`).
    pub first_name_arabic: Option<String>,
    pub last_name_arabic: Option<String>,
    /// `YYYY-MM-DD`.
    pub date_of_birth: Option<String>,
    /// `M`, `F`, or `X` (unspecified).
    pub gender: Option<String>,
    /// As printed in the MRZ (ICAO code, e.g. `MAR`).
    pub nationality: Option<String>,
    /// Not in an MRZ: read from the visual zone of national ID cards, after its label.
    pub issue_date: Option<String>,
    pub expiry_date: Option<String>,
    pub address: Option<String>,
    pub place_of_birth: Option<String>,
    /// The MRZ lines as printed (after the check-digit-guided corrections), newline-separated.
    pub mrz: Option<String>,
    /// Every field above (except `mrz`) with its confidence and source.
    pub field_confidences: BTreeMap<&'static str, FieldConfidence>,
}

/// The fields of [`ExtractedData`] that carry a confidence.
pub const FIELDS: &[&str] = &[
    "document_number",
    "first_name",
    "last_name",
    "first_name_arabic",
    "last_name_arabic",
    "date_of_birth",
    "gender",
    "nationality",
    "issue_date",
    "expiry_date",
    "address",
    "place_of_birth",
];

fn iso(d: &Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year, d.month, d.day)
}

/// The confidence of an MRZ field: the lowest probability the recogniser gave one of its
/// characters; when a check digit that passes protects it, a misread would also have to keep the
/// check digit right (about one error in ten does), so the doubt is divided by ten.
fn mrz_confidence(reading: &MrzReading, mrz: &Mrz, field: &str, check: Option<&str>) -> f64 {
    let Some(f) = mrz.field(field) else { return 0.0 };
    let p = reading
        .char_confidences
        .get(f.line)
        .map(|line| {
            line.iter().skip(f.start).take(f.end.saturating_sub(f.start)).copied().fold(1.0f32, f32::min)
        })
        .unwrap_or(0.0);
    let checked = check.and_then(|c| mrz.check(c)).is_some_and(|c| c.valid);
    let c = f64::from(if checked { 1.0 - (1.0 - p) / 10.0 } else { p });
    (c * 1000.0).round() / 1000.0
}

impl ExtractedData {
    /// Nothing read: every field `null` with confidence 0.
    pub fn empty() -> Self {
        let mut d = Self::default();
        for f in FIELDS {
            d.field_confidences.insert(f, FieldConfidence { confidence: 0.0, source: None });
        }
        d
    }

    /// The fields an MRZ carries.
    pub fn from_mrz(reading: &MrzReading) -> Self {
        let mut d = Self::empty();
        let Some(m) = reading.mrz.as_ref() else { return d };
        let mut set = |name: &'static str, value: Option<String>, field: &str, check: Option<&str>| {
            let value = value.filter(|v| !v.trim().is_empty());
            if value.is_some() {
                d.field_confidences.insert(
                    name,
                    FieldConfidence {
                        confidence: mrz_confidence(reading, m, field, check),
                        source: Some(Source::Mrz),
                    },
                );
            }
            value
        };
        let number = set(
            "document_number",
            Some(m.document_number.clone()),
            "document_number",
            Some("document_number"),
        );
        let (first_field, last_field) =
            if m.field("given_names").is_some() { ("given_names", "surname") } else { ("names", "names") };
        let first = set("first_name", Some(m.given_names.clone()), first_field, None);
        let last = set("last_name", Some(m.surname.clone()), last_field, None);
        let dob = set("date_of_birth", m.birth_date.as_ref().map(iso), "birth_date", Some("birth_date"));
        let sex = m.sex.map(|s| match s {
            Sex::Male => "M",
            Sex::Female => "F",
            Sex::Unspecified => "X",
        });
        let gender = set("gender", sex.map(str::to_string), "sex", None);
        let nationality =
            set("nationality", m.nationality.as_ref().map(|c| c.code.clone()), "nationality", None);
        let expiry = set("expiry_date", m.expiry_date.as_ref().map(iso), "expiry_date", Some("expiry_date"));
        d.document_number = number;
        d.first_name = first;
        d.last_name = last;
        d.date_of_birth = dob;
        d.gender = gender;
        d.nationality = nationality;
        d.expiry_date = expiry;
        d.mrz = Some(reading.lines.join("\n"));
        d
    }
}

impl ExtractedData {
    /// The fields the MRZ lacks, read after their labels in the printed text (`visual_zone`,
    /// with the recogniser's confidence for the line): place of birth, address, issue date (a
    /// date printed with digits only; anything else stays `null`).
    pub fn add_visual_zone(&mut self, zone: &verity_document::viz::VisualZone) {
        for f in verity_document::viz::labelled_fields(zone) {
            let (slot, value) = match f.field {
                "place_of_birth" => (&mut self.place_of_birth, Some(f.value.clone())),
                "address" => (&mut self.address, Some(f.value.clone())),
                "issue_date" => (
                    &mut self.issue_date,
                    verity_document::viz::parse_printed_date(&f.value).map(|d| iso(&d)),
                ),
                _ => continue,
            };
            if slot.is_none() {
                if let Some(v) = value {
                    *slot = Some(v);
                    let c = (f64::from(f.confidence) * 1000.0).round() / 1000.0;
                    self.field_confidences
                        .insert(f.field, FieldConfidence { confidence: c, source: Some(Source::VisualZone) });
                }
            }
        }
    }
}
