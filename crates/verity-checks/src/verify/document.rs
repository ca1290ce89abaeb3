//! The document's side of a verification: the OCR check, the extracted data and the signals
//! the examination gives (forensics, MRZ check digits, expiry, age, declared type and country).

use serde_json::json;
use verity_document::examine::Examination;

use super::{round3, signals, CheckName, CheckStatus, Checks, ExtractedData, FraudSignal, OcrCheck, Request};

/// The document's signals, the OCR check and the extracted data.
pub(super) fn document_signals(
    ex: &Result<Examination, String>,
    req: &Request<'_>,
    out: &mut Vec<FraudSignal>,
    checks: &mut Checks,
    extracted: &mut ExtractedData,
) {
    let ocr = &mut checks.ocr;
    let wants_ocr = req.checks.contains(&CheckName::Ocr);
    let ex = match ex {
        Ok(ex) => ex,
        Err(e) => {
            if wants_ocr {
                *ocr = Some(OcrCheck {
                    status: CheckStatus::NotPerformed,
                    confidence: 0.0,
                    reason: Some(e.clone()),
                });
            }
            return;
        }
    };
    for (side, f) in &ex.forensics {
        if let Some(sw) = &f.editing_software {
            out.push(signals::EDITING_SOFTWARE.signal(
                format!("the {side} image was edited with {sw}"),
                json!({"side": side, "software": sw}),
            ));
        }
        if f.truncated {
            out.push(
                signals::IMAGE_CUT_OFF.signal(
                    format!("the {side} image is cut off (an incomplete file)"),
                    json!({"side": side}),
                ),
            );
        }
        if f.grayscale {
            out.push(signals::BLACK_AND_WHITE_COPY.signal(
                format!("the {side} image has no colour: a black-and-white copy"),
                json!({"side": side, "colourfulness": round3(f.colourfulness)}),
            ));
        }
        if let Some(lattice) = f.screen_recapture() {
            out.push(signals::SCREEN_OR_PRINT_REPLAY.signal(
                format!("the {side} image was photographed off a screen: its pixel lattice shows"),
                json!({
                    "side": side,
                    "subject": "document",
                    "prominence": round3(lattice.prominence),
                    "ellipticity": round3(lattice.ellipticity),
                    "recurrence": round3(lattice.recurrence),
                }),
            ));
        }
    }
    let Some((side, reading)) = ex.mrz() else {
        if req.document_type.is_card() && req.back.is_none() {
            out.push(signals::BACK_SIDE_MISSING.signal(
                "no machine-readable zone on the front, and no back was sent (cards often carry it there)",
                json!({}),
            ));
        }
        out.push(signals::MRZ_NOT_FOUND.signal(
            "no machine-readable zone was found on the document",
            json!({"sides_read": ex.reads.len()}),
        ));
        if wants_ocr {
            *ocr = Some(OcrCheck {
                status: CheckStatus::Failed,
                confidence: 0.0,
                reason: Some("no machine-readable zone found".into()),
            });
        }
        return;
    };
    *extracted = ExtractedData::from_mrz(reading);
    if let Some((zone, matches)) = &ex.visual_zone {
        extracted.add_visual_zone(zone);
        // The MRZ's strongest values not printed on the document: an edited visual zone, or one
        // read badly (so medium, not high).
        let missing: Vec<&str> = matches
            .iter()
            .filter(|m| !m.found() && matches!(m.field, "documentNumber" | "lastName" | "dob"))
            .map(|m| m.field)
            .collect();
        if !missing.is_empty() && !zone.lines.is_empty() {
            out.push(signals::MRZ_VISUAL_ZONE_MISMATCH.signal(
                format!("not found in the printed text: {}", missing.join(", ")),
                json!({"fields": missing}),
            ));
        }
    }
    if wants_ocr {
        *ocr = Some(OcrCheck {
            status: if reading.valid { CheckStatus::Passed } else { CheckStatus::Failed },
            confidence: round3(reading.confidence),
            reason: (!reading.valid).then(|| "the machine-readable zone does not verify".into()),
        });
    }
    let Some(m) = reading.mrz.as_ref() else { return };
    let failed: Vec<&str> = m.checks.iter().filter(|c| !c.valid).map(|c| c.name).collect();
    if !failed.is_empty() {
        out.push(signals::MRZ_CHECK_DIGIT_FAILED.signal(
            format!("check digits fail: {}", failed.join(", ")),
            json!({"side": side, "failed": failed}),
        ));
    }
    if !reading.low_confidence_fields.is_empty() {
        out.push(signals::MRZ_LOW_CONFIDENCE.signal(
            format!("read with low confidence: {}", reading.low_confidence_fields.join(", ")),
            json!({"fields": reading.low_confidence_fields, "min_probability": round3(reading.unchecked_min_p)}),
        ));
    }
    if let Some(exp) = &m.expiry_date {
        if (exp.year, exp.month, exp.day) < (req.today.year, req.today.month, req.today.day) {
            out.push(signals::DOCUMENT_EXPIRED.signal(
                "the document has expired",
                json!({"expiry_date": extracted.expiry_date, "today": format!("{:04}-{:02}-{:02}", req.today.year, req.today.month, req.today.day)}),
            ));
        }
    }
    if let Some(dob) = &m.birth_date {
        let age = dob.years_until(&req.today);
        if age < req.policy.minimum_age {
            out.push(signals::UNDERAGE.signal(
                format!("the holder is {age}, under {}", req.policy.minimum_age),
                json!({"age": age, "minimum_age": req.policy.minimum_age}),
            ));
        }
    }
    if !req.document_type.fits_code(&m.document_code) {
        out.push(signals::DOCUMENT_TYPE_MISMATCH.signal(
            format!("declared {}, but the document code is {}", req.document_type.name(), m.document_code),
            json!({"declared": req.document_type.name(), "document_code": m.document_code}),
        ));
    }
    let issuer = m.issuing_state.as_ref().and_then(|c| c.iso_alpha2);
    if let (Some(iso), Some(declared)) = (issuer, req.country.filter(|c| issuer != Some(c.as_str()))) {
        out.push(signals::COUNTRY_MISMATCH.signal(
            format!("declared {declared}, but the document was issued by {iso}"),
            json!({"declared": declared, "issuing_country": iso}),
        ));
    }
}
