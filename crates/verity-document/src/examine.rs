//! Examining a document, one or two sides: the one orchestration the API's `document_check`
//! and `verity document read` share.
//!
//! 1. The MRZ of the front, else of the back (the side with the better read: valid first, then
//!    the most check digits passing; a valid read stops the search).
//! 2. No MRZ: a PDF417 (AAMVA) barcode, the back first (North American cards).
//! 3. When asked: the printed text — the MRZ side around its MRZ, the other side whole (cards
//!    print their data on the front) — and the MRZ's values looked for in it.
//! 4. When asked: forensic signals of every side.
//!
//! The check pipeline (`verity-checks`) turns an examination into a document check.

use verity_imaging::Decoded;
use verity_mrz::Date;

use crate::barcode::{read_pdf417, BarcodeReading};
use crate::forensic::{inspect, Forensics};
use crate::viz::{compare, FieldMatch, VisualZone};
use crate::{DocumentEngine, DocumentError, MrzReading};

/// When to read the printed text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextReading {
    Off,
    /// Only when an MRZ was found (to compare with it).
    WithMrz,
    /// Always (without an MRZ, every side's whole page).
    Always,
}

/// What to examine.
#[derive(Debug, Clone, Copy)]
pub struct ExamineOptions {
    /// Reference date (century inference, expiry).
    pub today: Date,
    pub text: TextReading,
    pub forensic: bool,
    /// Look for the MRZ on the back first (ID cards whose MRZ is printed there: a valid read
    /// on the back spares the search of a front that has none).
    pub back_first: bool,
}

/// One side's MRZ read.
#[derive(Debug, Clone)]
pub struct SideRead {
    pub side: &'static str,
    pub reading: MrzReading,
}

/// The outcome of [`DocumentEngine::examine`].
#[derive(Debug, Clone)]
pub struct Examination {
    /// The sides read for an MRZ, in the order read (the second side is not read when the
    /// first one's MRZ is valid).
    pub reads: Vec<SideRead>,
    /// Index in `reads` of the best reading.
    pub best: usize,
    /// A PDF417 barcode, when no MRZ was found: the side and the reading.
    pub barcode: Option<(&'static str, BarcodeReading)>,
    /// The printed text of the sides and, with an MRZ, its values found or not in it.
    pub visual_zone: Option<(VisualZone, Vec<FieldMatch>)>,
    pub forensics: Vec<(&'static str, Forensics)>,
    pub has_back: bool,
}

impl Examination {
    /// The best MRZ reading, found or not.
    pub fn best_reading(&self) -> &MrzReading {
        &self.reads[self.best].reading
    }

    /// The side and reading of the MRZ, if one was found.
    pub fn mrz(&self) -> Option<(&'static str, &MrzReading)> {
        let b = &self.reads[self.best];
        b.reading.found.then_some((b.side, &b.reading))
    }
}

impl DocumentEngine {
    /// Examines a document's sides (`front`, then `back` if given), already decoded.
    pub fn examine(
        &self,
        front: &Decoded,
        back: Option<&Decoded>,
        opts: &ExamineOptions,
    ) -> Result<Examination, DocumentError> {
        let mut sides: Vec<(&'static str, &Decoded)> = vec![("front", front)];
        if let Some(b) = back {
            sides.push(("back", b));
        }
        let mut order = sides.clone();
        if opts.back_first {
            order.reverse();
        }
        let key =
            |r: &MrzReading| (r.valid, r.mrz.as_ref().map(|m| m.checks.iter().filter(|c| c.valid).count()));
        let mut reads: Vec<SideRead> = Vec::new();
        let mut best = 0;
        for (side, d) in &order {
            let reading = self.read_mrz(&d.image, opts.today)?;
            if reads.is_empty() || key(&reading) > key(&reads[best].reading) {
                best = reads.len();
            }
            reads.push(SideRead { side, reading });
            if reads[best].reading.valid {
                break;
            }
        }
        let found = reads[best].reading.found;
        let barcode = if found {
            None
        } else {
            sides.iter().rev().find_map(|(side, d)| read_pdf417(&d.image).map(|b| (*side, b)))
        };
        let visual_zone = match opts.text {
            TextReading::Off => None,
            TextReading::WithMrz if !found => None,
            _ => {
                let (mrz_side, reading) = (reads[best].side, &reads[best].reading);
                let mut zone = VisualZone::default();
                for (side, d) in &sides {
                    zone = zone.join(if found && *side == mrz_side {
                        self.read_visual_zone(&d.image, reading)?
                    } else {
                        self.read_page_text(&d.image)?
                    });
                }
                let matches =
                    reading.mrz.as_ref().filter(|_| found).map(|m| compare(m, &zone)).unwrap_or_default();
                Some((zone, matches))
            }
        };
        let forensics =
            if opts.forensic { sides.iter().map(|(s, d)| (*s, inspect(d))).collect() } else { Vec::new() };
        Ok(Examination { reads, best, barcode, visual_zone, forensics, has_back: back.is_some() })
    }
}
