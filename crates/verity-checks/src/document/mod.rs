//! The document check in the shape of ComplyCube's `document_check`: the data extracted from the
//! MRZ, and analyses — `mrz` (found, check digits, verified read), `content` (expiry, minimum
//! age, dates), `format` (document type and issuing country against what was declared),
//! `front_back` (cards need both sides; the MRZ on the expected side) — plus
//! `clientDataValidation` (names with transliteration-aware matching, date of birth) against the
//! client's declared data. Documents without an MRZ but with an AAMVA PDF417 barcode (North
//! American driving licences) are checked on the barcode's data instead, with a
//! `barcodeAnalysis`. `consistency` (the MRZ's values found in the printed visual zone) and
//! `forensic` (editing software, cut-off images, black-and-white copies) run when asked for.
//! Every outcome comes with named signals and reasons.

mod analyses;
pub mod extracted;

use serde::Serialize;
use verity_document::aamva::Aamva;
use verity_document::examine::{Examination, ExamineOptions, TextReading};
use verity_document::forensic::Forensics;
use verity_document::viz::FieldMatch;
use verity_document::MrzReading;
use verity_mrz::Date;

use analyses::Facts;
pub use analyses::{ClientDataValidation, Consistency};
pub use extracted::ExtractedData;

use crate::engines::DocumentReader;
use crate::outcome::Analysis;
use crate::{CheckResult, Outcome};

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
    pub issuing_country: Option<verity_mrz::CountryCode>,
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

impl CheckOptions {
    /// ComplyCube's defaults: Verity's default coverage, 18 years, client data compared.
    pub fn new(today: Date) -> Self {
        Self {
            coverage: DEFAULT_COVERAGE.iter().map(|s| s.to_string()).collect(),
            minimum_age: 18,
            today,
            client_data_validation: true,
        }
    }

    pub fn covers(&self, analysis: &str) -> bool {
        self.coverage.iter().any(|c| c == analysis)
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

impl<'a> Evidence<'a> {
    /// The evidence of an examination.
    pub fn of(ex: &'a Examination) -> Self {
        let mrz = ex.mrz();
        Evidence {
            mrz: mrz.map(|(_, r)| r),
            mrz_side: mrz.map(|(s, _)| s),
            barcode: ex.barcode.as_ref().and_then(|(_, b)| b.aamva.as_ref()),
            // Compared only with an MRZ to compare with.
            visual_zone: ex.visual_zone.as_ref().filter(|_| mrz.is_some()).map(|(_, f)| f.as_slice()),
            forensics: &ex.forensics,
            has_back: ex.has_back,
        }
    }
}

/// `result.breakdown` of a document check: the analyses that ran, and the data read.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DocumentBreakdown {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub barcode_analysis: Option<Analysis>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mrz_analysis: Option<Analysis>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_analysis: Option<Analysis>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format_analysis: Option<Analysis>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub front_back_analysis: Option<Analysis>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consistency_analysis: Option<Consistency>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub forensic_analysis: Option<Analysis>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_data_validation: Option<ClientDataValidation>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extracted_data: Option<ExtractedData>,
}

/// The assessment of a document's evidence.
#[derive(Debug, Clone, Serialize)]
pub struct Assessment {
    pub outcome: Outcome,
    pub reasons: Vec<String>,
    pub breakdown: DocumentBreakdown,
}

/// Runs the analyses asked for on everything read from the document: its MRZ, else its AAMVA
/// barcode.
pub fn assess(ev: &Evidence<'_>, declared: &Declared, opts: &CheckOptions) -> Assessment {
    let mrz = ev.mrz.and_then(|r| r.mrz.as_ref());
    let facts = mrz.map(Facts::from_mrz).or_else(|| ev.barcode.map(Facts::from_aamva));
    let facts = facts.as_ref();
    let mut b = DocumentBreakdown {
        barcode_analysis: ev.barcode.filter(|_| mrz.is_none()).map(analyses::barcode),
        mrz_analysis: (opts.covers("mrz") && (mrz.is_some() || ev.barcode.is_none()))
            .then(|| analyses::mrz(ev)),
        content_analysis: opts.covers("content").then(|| analyses::content(facts, opts)),
        format_analysis: opts.covers("format").then(|| analyses::format(facts, declared)),
        front_back_analysis: opts.covers("front_back").then(|| analyses::front_back(ev, facts, declared)),
        consistency_analysis: opts.covers("consistency").then(|| analyses::consistency(ev)),
        forensic_analysis: opts.covers("forensic").then(|| analyses::forensic(ev)),
        client_data_validation: opts.client_data_validation.then(|| analyses::client_data(facts, declared)),
        extracted_data: None,
    };
    let ran: Vec<&Analysis> = [
        b.barcode_analysis.as_ref(),
        b.mrz_analysis.as_ref(),
        b.content_analysis.as_ref(),
        b.format_analysis.as_ref(),
        b.front_back_analysis.as_ref(),
        b.consistency_analysis.as_ref().map(|c| &c.analysis),
        b.forensic_analysis.as_ref(),
        b.client_data_validation.as_ref().map(|c| &c.analysis),
    ]
    .into_iter()
    .flatten()
    .collect();
    let outcome = Outcome::combine(ran.iter().map(|a| a.result()));
    let reasons = ran.iter().flat_map(|a| a.reasons.iter().cloned()).collect();
    b.extracted_data = match (ev.mrz, ev.barcode) {
        (Some(r), _) if r.mrz.is_some() => Some(extracted::from_mrz(r)),
        (_, Some(bc)) => Some(extracted::from_barcode(bc)),
        (Some(r), None) => Some(extracted::from_mrz(r)),
        (None, None) => None,
    };
    Assessment { outcome, reasons, breakdown: b }
}

/// The rest of a document check's result: the breakdown and what was read, summarised.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DocumentDetails {
    pub breakdown: DocumentBreakdown,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub visual_zone: Option<VisualZoneSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub barcode: Option<BarcodeSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mrz: Option<MrzSummary>,
}

#[derive(Debug, Clone, Serialize)]
pub struct VisualZoneSummary {
    pub lines: Vec<TextLine>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TextLine {
    pub text: String,
    pub confidence: f64,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BarcodeSummary {
    pub side: &'static str,
    pub format: &'static str,
    /// `AAMVA` or `unknown`.
    pub standard: &'static str,
    pub angle_deg: f32,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MrzSummary {
    pub side: &'static str,
    pub lines: Vec<String>,
    pub raw_lines: Vec<String>,
    pub corrections: Vec<verity_document::Correction>,
    pub confidence: f32,
}

pub type DocumentResult = CheckResult<DocumentDetails>;

/// The document check: the MRZ read from the front, else the back, then the analyses asked for.
pub fn document_check(
    reader: &dyn DocumentReader,
    front: &[u8],
    back: Option<&[u8]>,
    declared: &Declared,
    opts: &CheckOptions,
) -> DocumentResult {
    let lim = verity_imaging::Limits::default();
    let decode = |name: &str, bytes: &[u8]| {
        verity_imaging::decode_document(bytes, &lim)
            .map_err(|e| format!("the document's {name} cannot be read: {e}"))
    };
    let front = match decode("front", front) {
        Ok(d) => d,
        Err(why) => return CheckResult::not_processed(why),
    };
    let back = match back.map(|b| decode("back", b)).transpose() {
        Ok(d) => d,
        Err(why) => return CheckResult::not_processed(why),
    };
    let examine = ExamineOptions {
        today: opts.today,
        text: if opts.covers("consistency") { TextReading::WithMrz } else { TextReading::Off },
        forensic: opts.covers("forensic"),
        back_first: false,
    };
    let ex = match reader.examine(&front, back.as_ref(), &examine) {
        Ok(ex) => ex,
        Err(e) => return CheckResult::not_processed(format!("document reading failed: {e}")),
    };
    let a = assess(&Evidence::of(&ex), declared, opts);
    let details = DocumentDetails {
        breakdown: a.breakdown,
        visual_zone: ex.visual_zone.as_ref().map(|(z, _)| VisualZoneSummary {
            lines: z
                .lines
                .iter()
                .map(|l| TextLine {
                    text: l.text.clone(),
                    confidence: (l.confidence as f64 * 1000.0).round() / 1000.0,
                })
                .collect(),
        }),
        barcode: ex.barcode.as_ref().map(|(side, b)| BarcodeSummary {
            side,
            format: b.format,
            standard: if b.aamva.is_some() { "AAMVA" } else { "unknown" },
            angle_deg: b.angle_deg,
        }),
        mrz: ex.mrz().map(|(side, r)| MrzSummary {
            side,
            lines: r.lines.clone(),
            raw_lines: r.raw_lines.clone(),
            corrections: r.corrections.clone(),
            confidence: r.confidence,
        }),
    };
    let evidence = ex.mrz().map(|(side, reading)| {
        Box::new(crate::verify::evidence::Evidence {
            mrz: Some(crate::verify::evidence::MrzMarks::of(side, reading)),
            ..Default::default()
        })
    });
    CheckResult { outcome: a.outcome, reasons: a.reasons, details: Some(details), evidence }
}

#[cfg(test)]
mod tests;
