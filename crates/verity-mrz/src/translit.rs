//! ICAO 9303-3 §6 transliteration of names into the MRZ alphabet, and name comparison that
//! knows about it (for checking a client's declared name against a document).

use serde::Serialize;

/// Characters with more than one recommended MRZ form: (char, ICAO recommended, alternatives).
const MULTI: &[(char, &str, &[&str])] = &[
    ('Ä', "AE", &["A"]),
    ('Ö', "OE", &["O"]),
    ('Ü', "UE", &["U", "UXX"]),
    ('Å', "AA", &["A"]),
    ('Æ', "AE", &[]),
    ('Ø', "OE", &["O"]),
    ('Þ', "TH", &[]),
    ('ß', "SS", &[]),
    ('Œ', "OE", &[]),
    ('Ĳ', "IJ", &[]),
    ('Ñ', "N", &["NXX"]),
    // Cyrillic (ICAO 9303-3 table B): letters that become more than one Latin letter.
    ('Ж', "ZH", &[]),
    ('Х', "KH", &[]),
    ('Ц', "TS", &["C"]), // national practice (Serbia: Милица → MILICA)
    ('Ч', "CH", &[]),
    ('Ш', "SH", &[]),
    ('Щ', "SHCH", &[]),
    ('Ю', "IU", &[]),
    ('Я', "IA", &[]),
    ('Є', "IE", &[]),
    ('Ъ', "IE", &[]),
    ('Ѕ', "DZ", &[]),
    ('Џ', "DZ", &[]),
    ('Љ', "LJ", &[]),
    ('Њ', "NJ", &[]),
];

/// Single-letter folds: each pair of characters is (source, MRZ letter).
const FOLD: &str = "ÀAÁAÂAÃAĀAĂAĄAÇCĆCĈCĊCČCĎDĐDÐDÈEÉEÊEËEĒEĔEĖEĘEĚEĜGĞGĠGĢGĤHĦHÌIÍIÎIÏIĨIĪIĬIĮIİIıIĴJĶKĸKĹLĻLĽLĿLŁLŃNŅNŇNŊNÒOÓOÔOÕOŌOŎOŐOŔRŖRŘRŚSŜSŞSŠSſSŢTŤTŦTÙUÚUÛUŨUŪUŬUŮUŰUŲUŴWÝYŸYŶYŹZŻZŽZ\
АAБBВVГGҐGДDЕEЁEЗZИIІIЇIЙIКKЛLМMНNОOПPРRСSТTУUЎUФFЫYЭEЃGЂDЈJЌKЋC";

fn fold(c: char) -> Option<char> {
    let mut it = FOLD.chars();
    while let (Some(src), Some(dst)) = (it.next(), it.next()) {
        if src == c {
            return Some(dst);
        }
    }
    None
}

/// Transliterates a name into the MRZ alphabet (A–Z and single spaces between parts), with
/// ICAO's recommended forms. Apostrophes are dropped; hyphens, commas and other separators
/// become spaces; the soft sign is dropped; unknown characters are dropped.
pub fn to_mrz(name: &str) -> String {
    variants(name).into_iter().next().unwrap_or_default()
}

/// Every MRZ form of a name allowed by ICAO's alternatives (Ä → AE or A, …), the recommended
/// one first. At most 64 variants.
pub fn variants(name: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let push = |out: &mut Vec<String>, forms: &[&str]| {
        let mut next = Vec::with_capacity(out.len() * forms.len());
        for f in forms {
            for o in out.iter() {
                next.push(format!("{o}{f}"));
                if next.len() >= 64 {
                    break;
                }
            }
        }
        *out = next;
    };
    for c in name.chars().flat_map(char::to_uppercase) {
        if c.is_ascii_uppercase() {
            out.iter_mut().for_each(|o| o.push(c));
        } else if let Some((_, rec, alts)) = MULTI.iter().find(|(m, _, _)| *m == c) {
            let mut forms = vec![*rec];
            forms.extend_from_slice(alts);
            push(&mut out, &forms);
        } else if let Some(f) = fold(c) {
            out.iter_mut().for_each(|o| o.push(f));
        } else if c == '\'' || c == '’' || c == 'Ь' {
            // dropped
        } else if c.is_whitespace() || c == '-' || c == ',' || c == '.' || c == '<' {
            out.iter_mut().for_each(|o| o.push(' '));
        }
    }
    let mut v: Vec<String> =
        out.into_iter().map(|s| s.split_whitespace().collect::<Vec<_>>().join(" ")).collect();
    let mut seen = std::collections::HashSet::new();
    v.retain(|s| seen.insert(s.clone()));
    v
}

/// How a declared name compares with the name on a document.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NameMatch {
    pub matched: bool,
    /// 0–1: 1 for an exact match after transliteration.
    pub score: f64,
    /// `exact`, `transliterated` (equal after an ICAO alternative form), `truncated` (the
    /// document's name is a cut version of the declared one), `fuzzy` (small differences),
    /// `mismatch`.
    pub method: &'static str,
    /// The declared name's MRZ form that was compared.
    pub compared: String,
}

/// Compares a declared name with a document's name (both in any script; the document's is
/// usually already MRZ text). `truncated` says the document's name field was full, so the
/// document may carry only a prefix of the name.
pub fn compare_names(declared: &str, document: &str, truncated: bool) -> NameMatch {
    let doc = to_mrz(document);
    let forms = variants(declared);
    let recommended = forms.first().cloned().unwrap_or_default();
    if doc.is_empty() || recommended.is_empty() {
        return NameMatch { matched: false, score: 0.0, method: "mismatch", compared: recommended };
    }
    for (i, f) in forms.iter().enumerate() {
        if *f == doc {
            let method = if i == 0 { "exact" } else { "transliterated" };
            return NameMatch { matched: true, score: 1.0, method, compared: f.clone() };
        }
    }
    if truncated {
        if let Some(f) = forms.iter().find(|f| f.starts_with(&doc) && doc.len() >= 4) {
            return NameMatch { matched: true, score: 0.95, method: "truncated", compared: f.clone() };
        }
    }
    // Small differences (a missing middle name letter, a typo): normalised edit distance.
    let (best, score) = forms
        .iter()
        .map(|f| (f, similarity(f, &doc)))
        .fold((&recommended, 0.0), |b, (f, s)| if s > b.1 { (f, s) } else { b });
    let matched = score >= 0.85;
    NameMatch { matched, score, method: if matched { "fuzzy" } else { "mismatch" }, compared: best.clone() }
}

/// Levenshtein distance between two strings, in characters.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != cb)).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// 1 − Levenshtein distance / longer length.
fn similarity(a: &str, b: &str) -> f64 {
    let n = a.chars().count().max(b.chars().count());
    if n == 0 {
        return 1.0;
    }
    1.0 - edit_distance(a, b) as f64 / n as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn icao_recommended_forms() {
        assert_eq!(to_mrz("Müller"), "MUELLER");
        assert_eq!(to_mrz("Ångström"), "AANGSTROEM");
        assert_eq!(to_mrz("Øster-Hansen"), "OESTER HANSEN");
        assert_eq!(to_mrz("Straße"), "STRASSE");
        assert_eq!(to_mrz("Þórður"), "THORDUR");
        assert_eq!(to_mrz("O'Brien"), "OBRIEN");
        assert_eq!(to_mrz("Łukasz Żółć"), "LUKASZ ZOLC");
        assert_eq!(to_mrz("España"), "ESPANA");
        assert_eq!(to_mrz("Ткаченко"), "TKACHENKO");
        assert_eq!(to_mrz("Щукин"), "SHCHUKIN");
        assert_eq!(to_mrz("Марьяна"), "MARIANA");
    }

    /// Names from the Arg0s1080/mrz generator cases in `../shared/data/mrz`, with the MRZ text
    /// that library produced for them.
    #[test]
    fn peer_generator_names() {
        assert_eq!(to_mrz("ÊrÎkS'ŝóN"), "ERIKSSON");
        assert_eq!(to_mrz("ÂNNa mARíA"), "ANNA MARIA");
        assert_eq!(to_mrz("ESPAÑOLA ESPAÑOLA"), "ESPANOLA ESPANOLA");
        assert_eq!(to_mrz("ТКАЧЕНКО"), "TKACHENKO");
        assert_eq!(to_mrz("МАР'ЯНА"), "MARIANA");
        assert_eq!(to_mrz("Тест"), "TEST");
        assert!(compare_names("Милица", "MILICA", false).matched);
    }

    #[test]
    fn alternatives_are_offered() {
        let v = variants("Müller");
        assert!(v.contains(&"MUELLER".to_string()) && v.contains(&"MULLER".to_string()));
    }

    #[test]
    fn comparing_declared_names_with_document_names() {
        assert_eq!(compare_names("Anna Maria Eriksson", "ANNA MARIA ERIKSSON", false).method, "exact");
        let m = compare_names("Jürgen Müller", "JURGEN MULLER", false);
        assert!(m.matched && m.method == "transliterated", "{m:?}");
        let t = compare_names("Cacador de Araujo Andre Estevao", "CACADOR DE ARAUJO ANDRE ESTEV", true);
        assert_eq!(t.method, "truncated");
        let f = compare_names("Jon Smith", "JOHN SMITH", false);
        assert!(f.matched && f.method == "fuzzy", "{f:?}");
        let x = compare_names("Peter Stevenson", "ANNA ERIKSSON", false);
        assert!(!x.matched);
        assert!(!compare_names("", "ANNA", false).matched);
    }
}
