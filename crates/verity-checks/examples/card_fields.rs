//! How well one-call verification reads two-sided national ID cards: N synthetic CNIE-like and
//! CNI-like cards (`verity_document::synth::national`, seeds from 1000 — none used by the tests)
//! photographed at a severity, each verified with `ocr` and `fraud` (front and back); every
//! extracted field compared with what the card prints. Prints the exact-read rate per field,
//! how many cards raised `MRZ_VISUAL_ZONE_MISMATCH` (false: the cards are genuine), and the
//! time per verification.
//!
//!   cargo run --release -p verity-checks --example card_fields -- [N] [SEVERITY]

use std::collections::BTreeMap;
use std::time::Instant;

use verity_checks::verify::{verify, CheckName, DocumentType, Policy, Request};
use verity_checks::Engines;
use verity_document::synth::national::{self, Card, Fonts};
use verity_document::synth::{self, Rng, Severity};
use verity_models::ModelDir;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: usize = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(40);
    let severity = std::env::args().nth(2).unwrap_or_else(|| "mild".into());
    let sev = Severity::parse(&severity).ok_or("severity: clean, mild, moderate or severe")?;
    let load = |p: &str| synth::load_font(std::path::Path::new(p));
    let (ocrb, latin, arabic) =
        (load(synth::OCRB_PATH)?, load(national::DEJAVU_PATH)?, load(national::AMIRI_PATH)?);
    let (o, l, a) = (synth::font(&ocrb)?, synth::font(&latin)?, synth::font(&arabic)?);
    let fonts = Fonts { ocrb: &o, latin: &l, arabic: &a };
    let engines = Engines::load(ModelDir::from_env_or_default().path(), 1);
    let faces = engines.face.as_ref().map(|f| f.as_ref()).map_err(Clone::clone);
    let reader = engines.document.as_ref().map(|d| d.as_ref()).map_err(Clone::clone);
    let today = verity_mrz::Date { year: 2026, month: 12, day: 7 };
    let mut right: BTreeMap<&str, usize> = BTreeMap::new();
    let (mut mismatch, mut verified, mut ms) = (0, 0, Vec::new());
    for i in 0..n {
        let card = if i % 2 == 0 { Card::Cnie } else { Card::Cni };
        let c = national::generate_card(&mut Rng::new(1000 + i as u64), &fonts, card, sev, None);
        let (t, country) =
            if card == Card::Cnie { (DocumentType::Cin, "MA") } else { (DocumentType::Cni, "FR") };
        let req = Request {
            front: &c.front,
            back: Some(&c.back),
            selfie: None,
            document_type: t,
            country: verity_mrz::CountryCode::parse(country),
            checks: if std::env::var_os("NO_OCR").is_some() {
                vec![CheckName::Fraud]
            } else {
                vec![CheckName::Ocr, CheckName::Fraud]
            },
            today,
            policy: Policy::default(),
            gallery: None,
        };
        let started = Instant::now();
        let v = verify(faces.clone(), reader.clone(), &req)?;
        ms.push(started.elapsed().as_secs_f64() * 1000.0);
        let h = &c.holder;
        let x = &v.extracted_data;
        let given_first = h.given_names.split(' ').next().unwrap_or("");
        let checks: [(&str, Option<&str>, String); 8] = [
            ("document_number", x.document_number.as_deref(), h.number.clone()),
            ("last_name", x.last_name.as_deref(), h.surname.clone()),
            (
                "first_name",
                x.first_name.as_deref().map(|f| f.split(' ').next().unwrap_or("")),
                given_first.into(),
            ),
            ("date_of_birth", x.date_of_birth.as_deref(), h.birth_date.iso()),
            ("expiry_date", x.expiry_date.as_deref(), h.expiry_date.iso()),
            ("place_of_birth", x.place_of_birth.as_deref(), h.birth_place.clone()),
            ("address", x.address.as_deref(), h.address.clone()),
            ("issue_date", x.issue_date.as_deref(), h.issue_date.iso()),
        ];
        for (field, got, want) in checks {
            let ok = got == Some(want.as_str());
            *right.entry(field).or_default() += usize::from(ok);
            if !ok {
                eprintln!("card {i} ({card:?}) {field}: read {got:?}, printed {want:?}");
            }
        }
        let squeeze = |t: &str| t.chars().filter(|c| !c.is_whitespace()).collect::<String>();
        *right.entry("address (spaces ignored)").or_default() +=
            usize::from(x.address.as_deref().map(squeeze) == Some(squeeze(&h.address)));
        mismatch += usize::from(v.fraud_signals.iter().any(|s| s.code == "MRZ_VISUAL_ZONE_MISMATCH"));
        verified += usize::from(v.status == verity_checks::verify::Decision::Verified);
    }
    ms.sort_by(f64::total_cmp);
    println!("{n} synthetic national ID cards (half CNIE-like, half CNI-like), severity {severity}:");
    for (field, ok) in &right {
        println!("  {field:<16} {:>5.1} % read exactly", 100.0 * *ok as f64 / n as f64);
    }
    println!(
        "  verified {verified}/{n}; MRZ_VISUAL_ZONE_MISMATCH on {mismatch} genuine cards; {:.0} ms p50, {:.0} ms p90 per verification (ocr + fraud, both sides)",
        ms[ms.len() / 2],
        ms[(ms.len() * 9 / 10).min(ms.len() - 1)]
    );
    Ok(())
}
