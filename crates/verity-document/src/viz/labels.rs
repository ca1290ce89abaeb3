//! Fields the MRZ lacks (place of birth, issue date, address, …) read from the printed text by
//! their labels, in the languages documents print them.

use super::*;

/// A field read from the printed text by its label.
#[derive(Debug, Clone, Serialize)]
pub struct LabelledField {
    pub field: &'static str,
    pub value: String,
    pub confidence: f32,
}

/// Labels of fields the MRZ lacks, in the languages documents print them (transliterated).
const LABELS: &[(&str, &[&str])] = &[
    (
        "place_of_birth",
        &[
            "PLACE OF BIRTH",
            "LIEU DE NAISSANCE",
            "GEBURTSORT",
            "LUGAR DE NACIMIENTO",
            "LUOGO DI NASCITA",
            "LOCAL DE NASCIMENTO",
            "GEBOORTEPLAATS",
            "MIEJSCE URODZENIA",
        ],
    ),
    (
        "address",
        &[
            "ADDRESS",
            "ADRESSE",
            "DOMICILE",
            "ANSCHRIFT",
            "WOHNORT",
            "DOMICILIO",
            "INDIRIZZO",
            "MORADA",
            "ADRES",
        ],
    ),
    ("authority", &["AUTHORITY", "AUTORITE", "BEHOERDE", "AUTORIDAD", "AUTORITA", "AUTORIDADE"]),
    (
        "issue_date",
        &[
            "DATE OF ISSUE",
            "DATE DE DELIVRANCE",
            "DELIVREE LE",
            "AUSSTELLUNGSDATUM",
            "FECHA DE EXPEDICION",
            "DATA DI RILASCIO",
            "DATA DE EMISSAO",
            "DATUM VAN AFGIFTE",
        ],
    ),
];

/// Where `label` ends in the line: an exact occurrence, else a run of as many words at most
/// one edit in eight characters away (a recogniser's slip: `DEELIVRANCE`, `ISUE`).
fn find_label(norm: &str, label: &str) -> Option<usize> {
    if let Some(pos) = norm.find(label) {
        return Some(pos + label.len());
    }
    let k = label.split(' ').count();
    let words: Vec<(usize, &str)> = norm
        .split(' ')
        .scan(0usize, |at, w| {
            let start = *at;
            *at += w.len() + 1;
            Some((start, w))
        })
        .collect();
    let allowed = (label.len() / 8).max(1);
    words.windows(k).find_map(|win| {
        let (start, last) = (win[0].0, win[k - 1]);
        let end = last.0 + last.1.len();
        let text = norm.get(start..end)?;
        (verity_mrz::translit::edit_distance(text, label) <= allowed).then_some(end)
    })
}

/// A date as documents print it with digits: `16.08.2022`, `16/08/2022`, `16 08 2022`,
/// `1608 2022` (spaces lost), `2022-08-16`. Two-digit years and month names are not taken (the
/// century and the language would be guesses).
pub fn parse_printed_date(text: &str) -> Option<Date> {
    let groups: Vec<&str> = text.split(|c: char| !c.is_ascii_digit()).filter(|g| !g.is_empty()).collect();
    let num = |g: &str| g.parse::<u32>().ok();
    let (d, m, y) = match groups.as_slice() {
        [y, m, d] if y.len() == 4 => (num(d)?, num(m)?, num(y)?),
        [d, m, y] if y.len() == 4 && d.len() <= 2 && m.len() <= 2 => (num(d)?, num(m)?, num(y)?),
        [dm, y] if dm.len() == 4 && y.len() == 4 => (num(&dm[..2])?, num(&dm[2..])?, num(y)?),
        [all] if all.len() == 8 => (num(&all[..2])?, num(&all[2..4])?, num(&all[4..])?),
        _ => return None,
    };
    Date::new(y as i32, m, d)
}

/// Fields found after their label: the rest of the label's line if it holds more than the
/// label, else the next line. The confidence is the recogniser's for that line.
pub fn labelled_fields(viz: &VisualZone) -> Vec<LabelledField> {
    let mut out = Vec::new();
    for (field, labels) in LABELS {
        'lines: for (i, l) in viz.lines.iter().enumerate() {
            let norm = fold_ascii(&l.text).split_whitespace().collect::<Vec<_>>().join(" ");
            for label in *labels {
                if let Some(end) = find_label(&norm, label) {
                    // Bilingual labels ("Place of birth / Lieu de naissance"): skip other labels
                    // and separators after it.
                    let rest = norm[end..].trim_matches(|c: char| !c.is_ascii_alphanumeric());
                    // A date's value holds digits: text after a date label that has none is the
                    // label's other language, misread ("DATE OF ISUE").
                    let plausible = |v: &str| {
                        field != &"issue_date" || v.chars().filter(char::is_ascii_digit).count() >= 4
                    };
                    let rest_is_label =
                        labels.iter().any(|o| rest.starts_with(o)) || rest.len() < 2 || !plausible(rest);
                    let (value, confidence) = if !rest_is_label {
                        (rest.to_string(), l.confidence)
                    } else if let Some(next) = viz.lines.get(i + 1) {
                        (next.text.clone(), next.confidence)
                    } else {
                        continue;
                    };
                    if !value.trim().is_empty() {
                        out.push(LabelledField { field, value: value.trim().to_string(), confidence });
                        break 'lines;
                    }
                }
            }
        }
    }
    out
}
