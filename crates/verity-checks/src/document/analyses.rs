//! The document check's analyses, one function each, on the facts read from the document.

use std::collections::BTreeMap;

use serde::Serialize;
use verity_document::aamva::Aamva;
use verity_document::viz::FieldMatch;
use verity_mrz::translit::{compare_names, NameMatch};
use verity_mrz::{Date, Format, Mrz};

use super::extracted::{barcode_type, implied_type};
use super::{CheckOptions, Declared, Evidence};
use crate::outcome::Analysis;

/// What the document says about itself and its holder, from its MRZ or else its AAMVA barcode.
pub(crate) struct Facts {
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
    pub(crate) fn from_mrz(m: &Mrz) -> Self {
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

    pub(crate) fn from_aamva(a: &Aamva) -> Self {
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
            implied_type: barcode_type(a),
            card: true,
        }
    }
}

/// `barcodeAnalysis`: an AAMVA barcode found, its data clean, the required elements present.
pub(crate) fn barcode(bc: &Aamva) -> Analysis {
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
    a.signal("requiredElements", missing.is_empty(), || format!("the barcode lacks: {}", missing.join(", ")));
    a
}

/// `mrzAnalysis`: found, check digits, structure, read confidence.
pub(crate) fn mrz(ev: &Evidence<'_>) -> Analysis {
    let mut a = Analysis::new();
    match (ev.mrz, ev.mrz.and_then(|r| r.mrz.as_ref())) {
        (Some(r), Some(m)) => {
            a.signal("mrzFound", true, String::new);
            let bad: Vec<&str> = m.checks.iter().filter(|c| !c.valid).map(|c| c.name).collect();
            a.signal("checkDigits", bad.is_empty(), || format!("MRZ check digits fail: {}", bad.join(", ")));
            let structural: Vec<String> =
                m.errors.iter().filter(|e| e.code != "check_digit").map(|e| e.message.clone()).collect();
            a.signal("mrzFormat", structural.is_empty(), || format!("MRZ errors: {}", structural.join("; ")));
            a.signal("readConfidence", r.low_confidence_fields.is_empty(), || {
                format!("MRZ characters read with low confidence in: {}", r.low_confidence_fields.join(", "))
            });
        }
        _ => a.signal("mrzFound", false, || "no machine-readable zone was found on the document".into()),
    }
    a
}

/// `contentAnalysis`: not expired, a plausible date of birth, the minimum age.
pub(crate) fn content(facts: Option<&Facts>, opts: &CheckOptions) -> Analysis {
    let mut a = Analysis::new();
    let Some(m) = facts else {
        a.skipped("content", "no MRZ or barcode to read the document's data from");
        return a;
    };
    match m.expiry {
        Some(e) => {
            a.signal("expirationDate", e >= opts.today, || format!("the document expired on {}", e.iso()))
        }
        None => a.skipped("expirationDate", "no expiry date could be read"),
    }
    match m.birth {
        Some(b) => {
            let age = b.years_until(&opts.today);
            a.signal("dateOfBirth", b <= opts.today && age < 130, || {
                format!("implausible date of birth {}", b.iso())
            });
            a.signal("minimumAge", age >= opts.minimum_age, || {
                format!("the holder is {age}, under the minimum permitted age of {}", opts.minimum_age)
            });
        }
        None => {
            a.skipped("dateOfBirth", "no date of birth could be read");
            a.skipped("minimumAge", "no date of birth could be read");
        }
    }
    a
}

/// `formatAnalysis`: the declared document type and issuing country against the document's.
pub(crate) fn format(facts: Option<&Facts>, declared: &Declared) -> Analysis {
    let mut a = Analysis::new();
    let Some(f) = facts else {
        a.skipped("format", "no MRZ or barcode to tell the document's type and country");
        return a;
    };
    let implied = f.implied_type;
    let what = if f.source == "mrz" { "the MRZ" } else { "the barcode" };
    match declared.document_type.as_deref() {
        Some(t) => {
            // Residence permits are ID-sized cards (I, A or C codes, or an R code).
            let ok = t == implied
                || (t == "residence_permit" && matches!(implied, "national_identity_card" | "other"))
                || (t == "driving_license" && implied == "other");
            a.signal("documentType", ok, || format!("declared {t}, {what} says {implied}"));
        }
        None => a.skipped("documentType", "no document type was declared"),
    }
    match (&declared.issuing_country, &f.issuing) {
        (Some(c), Some((code, iso, fictional))) => {
            // A specimen's fictional state (UTO) is no declarable country: never a match.
            let ok = !*fictional && iso.as_deref() == Some(c.as_str());
            a.signal("issuingCountry", ok, || format!("declared issuing country {c}, {what} says {code}"));
        }
        (None, _) => a.skipped("issuingCountry", "no issuing country was declared"),
        (_, None) => a.signal("issuingCountry", false, || format!("{what} names no known issuing country")),
    }
    a
}

/// `frontBackAnalysis`: cards need both sides; the MRZ on the side its format puts it.
pub(crate) fn front_back(ev: &Evidence<'_>, facts: Option<&Facts>, declared: &Declared) -> Analysis {
    let mut a = Analysis::new();
    let card = match facts {
        Some(f) => f.card,
        None => matches!(
            declared.document_type.as_deref(),
            Some("national_identity_card" | "residence_permit" | "driving_license")
        ),
    };
    if card {
        a.signal("backSide", ev.has_back, || "an identity card has two sides: upload the back".into());
    } else {
        a.signal("backSide", true, String::new);
    }
    if let (Some(m), Some(side)) = (ev.mrz.and_then(|r| r.mrz.as_ref()), ev.mrz_side) {
        // TD1 cards carry the MRZ on the back; passports and TD2 on the data page (front).
        let expected = if matches!(m.format, Format::Td1) { "back" } else { "front" };
        a.signal("mrzSide", side == expected || !ev.has_back, || {
            format!("the MRZ was found on the {side}; this format carries it on the {expected}")
        });
    }
    a
}

/// `consistencyAnalysis`: the MRZ's values found in the printed visual zone.
#[derive(Debug, Clone, Serialize)]
pub struct Consistency {
    #[serde(flatten)]
    pub analysis: Analysis,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comparisons: Option<Vec<FieldMatch>>,
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

pub(crate) fn consistency(ev: &Evidence<'_>) -> Consistency {
    let mut a = Analysis::new();
    let has_mrz = ev.mrz.and_then(|r| r.mrz.as_ref()).is_some();
    match (has_mrz, ev.visual_zone) {
        (true, Some(found)) if !found.is_empty() => {
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
        (true, _) => a.skipped("visualZoneVsMrz", "the visual zone was not read"),
        (false, _) => a.skipped("visualZoneVsMrz", "no MRZ to compare the printed data with"),
    }
    Consistency { analysis: a, comparisons: ev.visual_zone.map(<[FieldMatch]>::to_vec) }
}

/// `forensicAnalysis`: editing software, cut-off images, black-and-white copies, screen
/// recaptures.
pub(crate) fn forensic(ev: &Evidence<'_>) -> Analysis {
    let mut a = Analysis::new();
    if ev.forensics.is_empty() {
        a.skipped("tampering", "no image was inspected");
        return a;
    }
    let edited: Vec<String> = ev
        .forensics
        .iter()
        .filter_map(|(side, f)| f.editing_software.as_ref().map(|s| format!("the {side} was saved by {s}")))
        .collect();
    a.signal("editingSoftware", edited.is_empty(), || format!("{}: an image editor", edited.join("; ")));
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
        format!("the document is in black and white — a photocopy or converted image: {}", gray.join(", "))
    });
    let screens: Vec<String> = ev
        .forensics
        .iter()
        .filter_map(|(s, f)| f.screen_recapture().map(|l| (s, l)))
        .map(|(s, l)| {
            format!(
                "{s} (lattice peak {:.0}× its surroundings, in {:.0} % of the image)",
                l.prominence,
                l.recurrence * 100.0
            )
        })
        .collect();
    a.signal("screenRecapture", screens.is_empty(), || {
        format!(
            "the document was photographed off a screen — its pixel lattice shows: {}",
            screens.join(", ")
        )
    });
    a
}

/// `clientDataValidation`: the client's declared names (transliteration-aware), date of birth
/// and nationality against the document's.
#[derive(Debug, Clone, Serialize)]
pub struct ClientDataValidation {
    #[serde(flatten)]
    pub analysis: Analysis,
    /// How each declared name compared (when the document's data was read).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub names: Option<BTreeMap<&'static str, NameMatch>>,
}

pub(crate) fn client_data(facts: Option<&Facts>, declared: &Declared) -> ClientDataValidation {
    let mut a = Analysis::new();
    let Some(m) = facts else {
        a.skipped("clientData", "no MRZ or barcode to compare the client's data with");
        return ClientDataValidation { analysis: a, names: None };
    };
    let given = [declared.first_name.as_deref(), declared.middle_name.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    let mut names = BTreeMap::new();
    if let Some(last) = &declared.last_name {
        let nm = compare_names(last, &m.surname, m.truncated);
        a.signal("lastName", nm.matched, || {
            format!("last name {last:?} does not match the document's {:?}", m.surname)
        });
        names.insert("lastName", nm);
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
        names.insert("firstName", nm);
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
        a.signal("nationality", ok, || format!("declared nationality {n}, the document says {code}"));
    }
    ClientDataValidation { analysis: a, names: Some(names) }
}
