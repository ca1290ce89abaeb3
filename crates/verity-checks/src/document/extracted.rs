//! `extractedData`: what the document says about itself and its holder, from its MRZ or its
//! AAMVA barcode, in ComplyCube's field names.

use serde::Serialize;
use verity_document::aamva::Aamva;
use verity_document::MrzReading;
use verity_mrz::{Date, Format, Mrz, Sex};

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExtractedData {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub document_details: Option<DocumentDetails>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub holder_details: Option<HolderDetails>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mrz_details: Option<MrzDetails>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub barcode_details: Option<BarcodeDetails>,
}

/// A date as ComplyCube writes it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DateParts {
    pub day: u32,
    pub month: u32,
    pub year: i32,
}

impl From<Date> for DateParts {
    fn from(d: Date) -> Self {
        Self { day: d.day, month: d.month, year: d.year }
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DocumentDetails {
    pub document_type: &'static str,
    /// The MRZ's document code (`P`, `ID`, `I<`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub document_code: Option<String>,
    /// ISO alpha-2 when known, else the code as printed.
    pub issuing_country: Option<String>,
    pub issuing_state: Option<String>,
    pub document_number: Option<String>,
    pub expiration_date: Option<DateParts>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub optional_data: Option<String>,
    /// Barcodes carry the issue date (`null` when they do not say).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuing_date: Option<Option<DateParts>>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HolderDetails {
    pub last_name: Option<String>,
    pub first_name: Option<String>,
    /// The document's name field was full: the names may be cut short.
    pub names_truncated: bool,
    pub dob: Option<DateParts>,
    /// `male` | `female` | `unspecified`.
    pub gender: Option<&'static str>,
    /// MRZs carry the nationality (`null` when unknown).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nationality: Option<Option<String>>,
    /// Barcodes carry the address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<Address>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Address {
    pub line: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub postal_code: Option<String>,
    pub country: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct MrzDetails {
    pub format: Format,
    pub lines: Vec<String>,
    pub valid: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct BarcodeDetails {
    pub format: &'static str,
    pub standard: &'static str,
    pub version: u32,
    pub iin: String,
}

/// The document type an MRZ implies (ComplyCube's names).
pub fn implied_type(m: &Mrz) -> &'static str {
    match (m.format, m.document_code.chars().next()) {
        (Format::MrvA | Format::MrvB, _) | (_, Some('V')) => "visa",
        (Format::Td3, _) | (_, Some('P')) => "passport",
        (Format::FrenchDrivingLicence | Format::SwissDrivingLicence, _) => "driving_license",
        (_, Some('A' | 'C' | 'I')) => "national_identity_card",
        _ => "other",
    }
}

/// The document type an AAMVA barcode implies.
pub fn barcode_type(a: &Aamva) -> &'static str {
    if a.document_type == "ID" {
        "national_identity_card"
    } else {
        "driving_license"
    }
}

fn iso2(c: &Option<verity_mrz::Country>) -> Option<String> {
    c.as_ref().map(|c| c.iso_alpha2.unwrap_or(c.code.as_str()).to_string())
}

/// `extractedData` from an MRZ reading (empty when no MRZ was read).
pub fn from_mrz(r: &MrzReading) -> ExtractedData {
    let Some(m) = &r.mrz else { return ExtractedData::default() };
    ExtractedData {
        document_details: Some(DocumentDetails {
            document_type: implied_type(m),
            document_code: Some(m.document_code.clone()),
            issuing_country: iso2(&m.issuing_state),
            issuing_state: m.issuing_state.as_ref().map(|c| c.code.clone()),
            document_number: Some(m.document_number.clone()),
            expiration_date: m.expiry_date.map(DateParts::from),
            optional_data: Some(m.optional_data.clone()),
            issuing_date: None,
        }),
        holder_details: Some(HolderDetails {
            last_name: Some(m.surname.clone()),
            first_name: Some(m.given_names.clone()),
            names_truncated: m.names_truncated,
            dob: m.birth_date.map(DateParts::from),
            gender: m.sex.map(|s| match s {
                Sex::Male => "male",
                Sex::Female => "female",
                Sex::Unspecified => "unspecified",
            }),
            nationality: Some(iso2(&m.nationality)),
            address: None,
        }),
        mrz_details: Some(MrzDetails { format: m.format, lines: r.lines.clone(), valid: r.valid }),
        barcode_details: None,
    }
}

/// `extractedData` from an AAMVA barcode.
pub fn from_barcode(a: &Aamva) -> ExtractedData {
    let iso = a.country_iso2().map(str::to_string);
    ExtractedData {
        document_details: Some(DocumentDetails {
            document_type: barcode_type(a),
            document_code: None,
            issuing_country: iso.clone(),
            issuing_state: a.jurisdiction.clone(),
            document_number: a.document_number.clone(),
            expiration_date: a.expiry_date.map(DateParts::from),
            optional_data: None,
            issuing_date: Some(a.issue_date.map(DateParts::from)),
        }),
        holder_details: Some(HolderDetails {
            last_name: a.family_name.clone(),
            first_name: a.given_names.clone(),
            names_truncated: a.names_truncated,
            dob: a.birth_date.map(DateParts::from),
            gender: a.sex.as_deref().map(|s| match s {
                "M" => "male",
                "F" => "female",
                _ => "unspecified",
            }),
            nationality: None,
            address: Some(Address {
                line: a.street.clone(),
                city: a.city.clone(),
                state: a.jurisdiction.clone(),
                postal_code: a.postal_code.clone(),
                country: iso,
            }),
        }),
        mrz_details: None,
        barcode_details: Some(BarcodeDetails {
            format: "pdf417",
            standard: "AAMVA",
            version: a.version,
            iin: a.iin.clone(),
        }),
    }
}
