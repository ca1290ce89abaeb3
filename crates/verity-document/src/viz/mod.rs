//! The visual inspection zone (VIZ): the printed text around the MRZ, read with the same
//! recogniser over a Latin alphabet (letters with their diacritics, digits, spaces and the usual
//! punctuation), and compared with the MRZ — the `consistency` analysis of a document check.
//!
//! Comparison looks for each MRZ value in the printed text, the way an examiner does: the
//! document number (spaces ignored, one character of OCR slack on numbers of 7+ characters),
//! the surname and the first given name (after ICAO transliteration of the printed text:
//! `MÜLLER` matches `MUELLER` or `MULLER`), the birth and expiry dates in the formats documents
//! print (`12.08.1974`, `12/08/74`, `12 AUG 1974`, `12 AUG/AOÛT 74`, `1974-08-12`, `12 08 1974`).
//! A value the MRZ has but the printed text does not show is `attention`: on a genuine document
//! it means the zone was not readable (or the field is not printed), on an altered one that the
//! two zones disagree — the reason says which field.

use std::time::Instant;

use image::RgbImage;
use serde::Serialize;
use verity_mrz::{Date, Mrz};

use crate::ctc::LineRead;
use crate::lines::{crop_line, LineBox};
use crate::{DocumentEngine, DocumentError, MrzReading};

mod labels;
pub use labels::{labelled_fields, parse_printed_date, LabelledField};

/// The symbols read in the visual zone.
pub const VIZ_SYMBOLS: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,-/'():<ÀÁÂÃÄÅÆÇÈÉÊËÌÍÎÏÐÑÒÓÔÕÖØÙÚÛÜÝÞŸŒŠŽĆČĐĘŁŃŚŹŻĂȘȚŐŰİĞŞĀĒĪŌŪĖĮŲ";

/// At most this many lines are read (the largest), to bound the time.
const MAX_LINES: usize = 28;

/// A printed line.
#[derive(Debug, Clone, Serialize)]
pub struct VizLine {
    pub text: String,
    pub confidence: f32,
    /// Centre in the image.
    pub cx: f32,
    pub cy: f32,
}

/// The visual zone's text.
#[derive(Debug, Clone, Default, Serialize)]
pub struct VisualZone {
    pub lines: Vec<VizLine>,
    pub ms: f64,
}

impl VisualZone {
    /// Both sides' text as one zone (a card prints its data on the front, its MRZ on the back).
    pub fn join(mut self, other: VisualZone) -> VisualZone {
        self.lines.extend(other.lines);
        self.ms += other.ms;
        self
    }
}

/// One MRZ field looked for in the printed text.
#[derive(Debug, Clone, Serialize)]
pub struct FieldMatch {
    pub field: &'static str,
    /// The MRZ's value.
    pub mrz: String,
    /// The printed text it was found in.
    pub printed: Option<String>,
    /// `exact`, `transliterated`, `fuzzy` (one character off), or `not_found`.
    pub how: &'static str,
}

impl FieldMatch {
    pub fn found(&self) -> bool {
        self.printed.is_some()
    }
}

impl DocumentEngine {
    /// Reads the printed lines that are not the MRZ. With an MRZ, lines are read in its reading
    /// direction (the page's orientation); without one, as detected.
    pub fn read_visual_zone(
        &self,
        img: &RgbImage,
        reading: &MrzReading,
    ) -> Result<VisualZone, DocumentError> {
        if reading.detected_at < crate::read::DET_SIDE {
            // Found on the fast pass: the visual zone's smaller print needs the finer map.
            let lines = self.detect_lines(img)?;
            return self.read_text(img, &lines, &reading.mrz_boxes);
        }
        self.read_text(img, &reading.detected, &reading.mrz_boxes)
    }

    /// Reads every printed line of a page with no MRZ (e.g. the front of an ID card whose MRZ
    /// is on the back), lines oriented as detected.
    pub fn read_page_text(&self, img: &RgbImage) -> Result<VisualZone, DocumentError> {
        let t = Instant::now();
        let lines = self.detect_lines(img)?;
        let mut z = self.read_text(img, &lines, &[])?;
        z.ms = t.elapsed().as_secs_f64() * 1e3;
        Ok(z)
    }

    fn read_text(
        &self,
        img: &RgbImage,
        detected: &[LineBox],
        mrz_boxes: &[LineBox],
    ) -> Result<VisualZone, DocumentError> {
        let t = Instant::now();
        let axis = mrz_boxes.first().map(|b| (b.ux, b.uy));
        let in_mrz = |b: &LineBox| {
            mrz_boxes.iter().any(|m| {
                let (dx, dy) = (b.cx - m.cx, b.cy - m.cy);
                let along = dx * m.ux + dy * m.uy;
                let (nx, ny) = m.normal();
                let across = dx * nx + dy * ny;
                along.abs() <= m.half_len + m.half_h && across.abs() <= 1.2 * m.half_h
            })
        };
        let mut boxes: Vec<LineBox> = detected
            .iter()
            .filter(|b| !in_mrz(b) && b.half_h >= 3.0 && b.aspect() >= 1.0)
            .map(|b| match axis {
                Some((ux, uy)) if b.ux * ux + b.uy * uy < 0.0 => b.flipped(),
                None if b.ux < 0.0 => b.flipped(),
                _ => *b,
            })
            .collect();
        boxes.sort_by(|a, b| (b.half_len * b.half_h).total_cmp(&(a.half_len * a.half_h)));
        boxes.truncate(MAX_LINES);
        let reads = self.recognize_text(img, &boxes)?;
        let mut lines: Vec<VizLine> = boxes
            .iter()
            .zip(reads)
            .filter(|(_, r)| !r.text.trim().is_empty())
            .map(|(b, r)| VizLine {
                text: r.text.trim().to_string(),
                confidence: r.confidence,
                cx: b.cx,
                cy: b.cy,
            })
            .collect();
        // Reading order: down the page, then along the line (in the MRZ's frame when known).
        let (ux, uy) = axis.unwrap_or((1.0, 0.0));
        let (nx, ny) = (-uy, ux);
        lines.sort_by(|a, b| {
            let ka = (a.cx * nx + a.cy * ny, a.cx * ux + a.cy * uy);
            let kb = (b.cx * nx + b.cy * ny, b.cx * ux + b.cy * uy);
            (ka.0 / 8.0).round().total_cmp(&(kb.0 / 8.0).round()).then(ka.1.total_cmp(&kb.1))
        });
        Ok(VisualZone { lines, ms: t.elapsed().as_secs_f64() * 1e3 })
    }

    fn recognize_text(&self, img: &RgbImage, boxes: &[LineBox]) -> Result<Vec<LineRead>, DocumentError> {
        let max_w = crate::ocr::REC_WIDTHS[crate::ocr::REC_WIDTHS.len() - 1];
        let one = |b: &LineBox| -> Result<LineRead, DocumentError> {
            let margin = 0.3 * b.half_h;
            let ext = LineBox { half_len: b.half_len + margin, ..*b };
            let crop = crop_line(img, &ext, max_w);
            let out = self.rec.run(&crop)?;
            Ok(self.viz_alphabet.decode(&out.probs, out.steps, out.classes))
        };
        // Two cores: two halves in parallel.
        let mid = boxes.len().div_ceil(2);
        let (a, b) = boxes.split_at(mid);
        std::thread::scope(|scope| {
            let h = scope.spawn(|| b.iter().map(one).collect::<Result<Vec<_>, _>>());
            let mut first = a.iter().map(one).collect::<Result<Vec<_>, _>>()?;
            let second =
                h.join().unwrap_or_else(|_| Err(DocumentError::Inference("recognition panicked".into())))?;
            first.extend(second);
            Ok(first)
        })
    }
}

/// Printed text folded for comparison: ICAO transliteration (`Ü` → `UE`/`U` variants are tried
/// by the caller), upper case, runs of spaces and punctuation kept as single spaces.
fn normalise(s: &str) -> String {
    let t = verity_mrz::translit::to_mrz(s);
    t.replace('<', " ").split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Looks for the MRZ's values in the printed lines.
pub fn compare(m: &Mrz, viz: &VisualZone) -> Vec<FieldMatch> {
    let lines: Vec<&str> = viz.lines.iter().map(|l| l.text.as_str()).collect();
    let mut out = Vec::new();
    let number = m.document_number.replace('<', "");
    if !number.is_empty() {
        out.push(find_number(&number, &lines));
    }
    let surname = m.surname.trim();
    if !surname.is_empty() {
        out.push(find_name("lastName", surname, &lines));
    }
    if let Some(first) = m.given_names.split_whitespace().next() {
        out.push(find_name("firstName", first, &lines));
    }
    if let Some(d) = m.birth_date {
        out.push(find_date("dob", d, &lines));
    }
    if let Some(d) = m.expiry_date {
        out.push(find_date("expirationDate", d, &lines));
    }
    out
}

fn find_number(number: &str, lines: &[&str]) -> FieldMatch {
    let want: Vec<char> = number.chars().collect();
    let mut fuzzy: Option<String> = None;
    for l in lines {
        let compact: String = l.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
        if compact.contains(number) {
            return FieldMatch {
                field: "documentNumber",
                mrz: number.into(),
                printed: Some(l.to_string()),
                how: "exact",
            };
        }
        if want.len() >= 7 && fuzzy.is_none() {
            let c: Vec<char> = compact.chars().collect();
            if c.len() >= want.len()
                && c.windows(want.len()).any(|w| w.iter().zip(&want).filter(|(a, b)| a != b).count() <= 1)
            {
                fuzzy = Some(l.to_string());
            }
        }
    }
    let how = if fuzzy.is_some() { "fuzzy" } else { "not_found" };
    FieldMatch { field: "documentNumber", mrz: number.into(), printed: fuzzy, how }
}

fn find_name(field: &'static str, name: &str, lines: &[&str]) -> FieldMatch {
    let want = name.to_string();
    let words: Vec<&str> = want.split(' ').collect();
    for l in lines {
        // The printed line's words, transliterated; the name must appear as whole words.
        for variant in verity_mrz::translit::variants(l) {
            let norm = normalise(&variant);
            let toks: Vec<&str> = norm.split(' ').collect();
            if toks.windows(words.len()).any(|w| w == words.as_slice()) {
                let how = if l.to_uppercase().contains(name) { "exact" } else { "transliterated" };
                return FieldMatch { field, mrz: name.into(), printed: Some(l.to_string()), how };
            }
        }
    }
    // Glued to the next word by the reader ("ERIKSSON,ANNAMARIA"): the name in the line's
    // letters run together, from four letters.
    let compact_name: String = want.chars().filter(|c| *c != ' ').collect();
    if compact_name.len() >= 4 {
        for l in lines {
            let compact: String = normalise(l).chars().filter(|c| *c != ' ').collect();
            if compact.contains(&compact_name) {
                return FieldMatch { field, mrz: name.into(), printed: Some(l.to_string()), how: "exact" };
            }
        }
    }
    // OCR slack: one wrong, missing or extra letter per six (none under six letters), over
    // the line with spaces and punctuation removed (so "UKITEO-KINGDOM" can match).
    let slack = compact_name.len() / 6;
    if compact_name.len() >= 5 && slack >= 1 {
        for l in lines {
            let compact: String = normalise(l).chars().filter(|c| *c != ' ').collect();
            if within(&compact_name, &compact, slack) {
                return FieldMatch { field, mrz: name.into(), printed: Some(l.to_string()), how: "fuzzy" };
            }
        }
    }
    FieldMatch { field, mrz: name.into(), printed: None, how: "not_found" }
}

/// Month names and abbreviations as documents print them (English, French, German, Spanish,
/// Italian, Portuguese, Dutch), transliterated.
const MONTHS: [&[&str]; 12] = [
    &["JAN", "JANV", "JANVIER", "JANUARY", "JANUAR", "ENE", "ENERO", "GEN", "GENN", "JANEIRO", "JANUARI"],
    &["FEB", "FEV", "FEVR", "FEVRIER", "FEBRUARY", "FEBRUAR", "FEBRERO", "FEBBRAIO", "FEVEREIRO", "FEBRUARI"],
    &["MAR", "MARS", "MARCH", "MAERZ", "MARZ", "MARZO", "MARCO", "MAART", "MRT"],
    &["APR", "AVR", "AVRIL", "APRIL", "ABR", "ABRIL", "APRILE"],
    &["MAY", "MAI", "MAG", "MAGGIO", "MAYO", "MAIO", "MEI"],
    &["JUN", "JUIN", "JUNE", "JUNI", "GIU", "GIUGNO", "JUNIO", "JUNHO"],
    &["JUL", "JUIL", "JUILLET", "JULY", "JULI", "LUG", "LUGLIO", "JULIO", "JULHO"],
    &["AUG", "AOUT", "AUGUST", "AGO", "AGOSTO", "AUGUSTUS"],
    &["SEP", "SEPT", "SEPTEMBRE", "SEPTEMBER", "SET", "SETTEMBRE", "SEPTIEMBRE", "SETEMBRO"],
    &["OCT", "OCTOBRE", "OCTOBER", "OKT", "OKTOBER", "OTT", "OTTOBRE", "OCTUBRE", "OUT", "OUTUBRO"],
    &["NOV", "NOVEMBRE", "NOVEMBER", "NOVIEMBRE", "NOVEMBRO"],
    &["DEC", "DECEMBRE", "DECEMBER", "DEZ", "DEZEMBER", "DIC", "DICEMBRE", "DICIEMBRE", "DEZEMBRO"],
];

/// Upper case ASCII letters and digits, diacritics folded (`Û` → `U`), everything else a space.
fn fold_ascii(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars().flat_map(char::to_uppercase) {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if c.is_alphabetic() {
            out.push_str(&verity_mrz::translit::to_mrz(&c.to_string()));
        } else {
            out.push(' ');
        }
    }
    out
}

fn find_date(field: &'static str, d: Date, lines: &[&str]) -> FieldMatch {
    let mrz = d.iso();
    for l in lines {
        if contains_date(l, d) {
            return FieldMatch { field, mrz, printed: Some(l.to_string()), how: "exact" };
        }
    }
    FieldMatch { field, mrz, printed: None, how: "not_found" }
}

/// Whether `line` prints `d` in one of the usual forms, looked for in the line's letters and
/// digits run together (dates are often glued to the next field by the reader): day month year
/// with numeric or named months (one or more names: `12AUGAOUT74`), year month day, the US
/// month day year; two- or four-digit years. Letters read in a digit's place and the reverse
/// (`O`/`0`, `I`/`1`, `J`/`3`…) are folded per part.
pub fn contains_date(line: &str, d: Date) -> bool {
    let compact: String = fold_ascii(line).chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    let digits: String = compact.chars().map(as_digit).collect();
    let letters: String = compact.chars().map(as_letter).collect();
    let (dd, mm) = (format!("{:02}", d.day), format!("{:02}", d.month));
    let (yyyy, yy) = (format!("{:04}", d.year), format!("{:02}", d.year.rem_euclid(100)));
    for y in [&yyyy, &yy] {
        for form in [format!("{dd}{mm}{y}"), format!("{mm}{dd}{y}")] {
            if digits.contains(&form) {
                return true;
            }
        }
    }
    if digits.contains(&format!("{yyyy}{mm}{dd}")) {
        return true;
    }
    // Day, month name(s), year.
    let names = MONTHS[(d.month as usize).saturating_sub(1).min(11)];
    let years = [yyyy.as_str(), yy.as_str()];
    // After the day: one or more of the month's names, then the year (every way of cutting
    // the names is tried: "JUINJUN1978" must not take "JUNI" from "JUN" + "1978").
    fn rest(letters: &str, digits: &str, at: usize, named: bool, names: &[&str], years: &[&str]) -> bool {
        if named && years.iter().any(|y| digits.get(at..at + y.len()) == Some(*y)) {
            return true;
        }
        names.iter().any(|m| {
            letters.get(at..at + m.len()) == Some(*m)
                && rest(letters, digits, at + m.len(), true, names, years)
        })
    }
    let short_day = d.day.to_string();
    for start in 0..compact.len() {
        for day in [dd.as_str(), short_day.as_str()] {
            if digits.get(start..start + day.len()) != Some(day) {
                continue;
            }
            // A one-digit day must not be the end of a longer number.
            if day.len() == 1 && start > 0 && compact.as_bytes()[start - 1].is_ascii_digit() {
                continue;
            }
            if rest(&letters, &digits, start + day.len(), false, names, &years) {
                return true;
            }
        }
    }
    false
}

fn as_digit(c: char) -> char {
    match c {
        'O' | 'D' | 'Q' => '0',
        'I' | 'L' => '1',
        'Z' => '2',
        'J' => '3',
        'A' => '4',
        'S' => '5',
        'G' => '6',
        'T' => '7',
        'B' => '8',
        c => c,
    }
}

fn as_letter(c: char) -> char {
    match c {
        '0' => 'O',
        '1' => 'I',
        '2' => 'Z',
        '3' => 'J',
        '5' => 'S',
        '6' => 'G',
        '8' => 'B',
        c => c,
    }
}

/// Whether `needle` occurs in `hay` with at most `k` edits (substitutions, insertions,
/// deletions): approximate substring matching (Sellers' algorithm).
fn within(needle: &str, hay: &str, k: usize) -> bool {
    let p: Vec<char> = needle.chars().collect();
    let mut col: Vec<usize> = (0..=p.len()).collect();
    if col[p.len()] <= k {
        return true;
    }
    for c in hay.chars() {
        let mut prev_diag = col[0];
        col[0] = 0; // a match may start anywhere
        for i in 1..=p.len() {
            let cur = col[i];
            let cost = usize::from(p[i - 1] != c);
            col[i] = (prev_diag + cost).min(col[i] + 1).min(col[i - 1] + 1);
            prev_diag = cur;
        }
        if col[p.len()] <= k {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printed_dates_are_found_in_the_usual_formats() {
        let has =
            |line: &str, y: i32, m: u32, d: u32| contains_date(line, Date { year: y, month: m, day: d });
        assert!(has("12 AUG/AOÛT 74", 1974, 8, 12));
        assert!(has("Date of birth 12.08.1974", 1974, 8, 12));
        assert!(has("12/08/74", 1974, 8, 12));
        assert!(has("1974-08-12", 1974, 8, 12));
        assert!(has("12 08 1974", 1974, 8, 12));
        assert!(has("12AUG1974", 1974, 8, 12));
        assert!(has("15 AVR/APR 2012", 2012, 4, 15));
        assert!(has("08/12/1974", 1974, 8, 12)); // US order
        assert!(!has("L898902C3", 1974, 8, 12));
        assert!(!has("", 1974, 8, 12));
        // Glued to the next field or to another date, and misread letters.
        assert!(has("D2314589015APR/AVR12", 2012, 4, 15));
        assert!(has("21.08.200621.08.2011", 2011, 8, 21));
        assert!(has("31 3AN /3AN 18", 2018, 1, 31));
        assert!(!has("13 AUG 74", 1974, 8, 12));
        assert!(has("20 JUIN/JUN 1978", 1978, 6, 20));
        assert!(has("8AOÙT/AUG 2006", 2006, 8, 8));
    }

    fn mrz() -> Mrz {
        verity_mrz::parse(
            &["P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<", "L898902C36UTO7408122F1204159ZE184226B<<<<<10"],
            &verity_mrz::Options {
                mode: verity_mrz::Mode::Tolerant,
                today: Date { year: 2010, month: 1, day: 1 },
            },
        )
        .expect("parse")
    }

    fn zone(lines: &[&str]) -> VisualZone {
        VisualZone {
            lines: lines
                .iter()
                .map(|t| VizLine { text: t.to_string(), confidence: 0.9, cx: 0.0, cy: 0.0 })
                .collect(),
            ms: 0.0,
        }
    }

    #[test]
    fn the_mrz_values_are_found_in_the_printed_text() {
        let viz =
            zone(&["PASSPORT", "L898902C3", "ERIKSSON", "ANNA MARIA", "12 AUG/AOUT 74", "15 APR/AVR 12"]);
        let r = compare(&mrz(), &viz);
        assert!(r.iter().all(FieldMatch::found), "{r:?}");
        // A changed printed name and a misread number character.
        let viz = zone(&["L898 9O2C3", "ERIKSEN", "ANNA MARIA", "12 AUG 74", "15.04.2012"]);
        let r = compare(&mrz(), &viz);
        let get = |f: &str| r.iter().find(|m| m.field == f).expect("field");
        assert_eq!(get("documentNumber").how, "fuzzy");
        assert_eq!(get("lastName").how, "not_found");
        assert_eq!(get("firstName").how, "exact");
        assert!(get("dob").found() && get("expirationDate").found());
    }

    #[test]
    fn fields_the_mrz_lacks_are_read_after_their_labels() {
        let z = zone(&["Place of birth/Lieu de naissance", "ZENITH", "Authority: UTOPIA POLICE"]);
        let f = labelled_fields(&z);
        let get = |n: &str| f.iter().find(|x| x.field == n).map(|x| x.value.clone());
        assert_eq!(get("place_of_birth").as_deref(), Some("ZENITH"));
        assert_eq!(get("authority").as_deref(), Some("UTOPIA POLICE"));
        assert_eq!(get("address"), None);
        // A label misread by a character or two is still a label.
        let z = zone(&["DATE DE DEELIVRANCE / DATE OF ISUE", "26 09 2025", "ADRESE: 8 RUE DES LILAS"]);
        let f = labelled_fields(&z);
        let get = |n: &str| f.iter().find(|x| x.field == n).map(|x| x.value.clone());
        assert_eq!(get("issue_date").as_deref(), Some("26 09 2025"));
        assert_eq!(get("address").as_deref(), Some("8 RUE DES LILAS"));
        // Not any word: "ADDED" is not "ADDRESS".
        assert_eq!(labelled_fields(&zone(&["ADDED VALUE 12"])).len(), 0);
    }

    #[test]
    fn printed_dates_are_parsed_only_when_unambiguous() {
        let d = |y, m, dd| Some(Date { year: y, month: m, day: dd });
        assert_eq!(parse_printed_date("16.08.2022"), d(2022, 8, 16));
        assert_eq!(parse_printed_date("DATE: 16/08/2022"), d(2022, 8, 16));
        assert_eq!(parse_printed_date("0403 2024"), d(2024, 3, 4));
        assert_eq!(parse_printed_date("2022-08-16"), d(2022, 8, 16));
        assert_eq!(parse_printed_date("16 AUG 22"), None);
        assert_eq!(parse_printed_date("31.02.2022"), None);
    }

    #[test]
    fn names_with_diacritics_match_their_transliteration() {
        let m = verity_mrz::parse(
            &["P<D<<MUELLER<<JOERG<<<<<<<<<<<<<<<<<<<<<<<<<", "C01X00T478D<<6408125M2702283<<<<<<<<<<<<<<<4"],
            &verity_mrz::Options {
                mode: verity_mrz::Mode::Tolerant,
                today: Date { year: 2020, month: 1, day: 1 },
            },
        )
        .expect("parse");
        let r = compare(&m, &zone(&["MÜLLER", "JÖRG"]));
        let get = |f: &str| r.iter().find(|x| x.field == f).expect("field");
        assert_eq!(get("lastName").how, "transliterated", "{r:?}");
        assert_eq!(get("firstName").how, "transliterated", "{r:?}");
    }
}
