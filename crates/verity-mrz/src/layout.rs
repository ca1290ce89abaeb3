//! Where each field sits in each format, and the field-level checks.

use serde::Serialize;

use crate::{check_digit, countries, Check, Date, Field, Issue, Mode, Mrz, MrzError, Options, Sex};

/// The MRZ formats Verity reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Format {
    #[serde(rename = "TD1")]
    Td1,
    #[serde(rename = "TD2")]
    Td2,
    #[serde(rename = "TD3")]
    Td3,
    #[serde(rename = "MRVA")]
    MrvA,
    #[serde(rename = "MRVB")]
    MrvB,
    #[serde(rename = "FRENCH_ID")]
    FrenchId,
    #[serde(rename = "FRENCH_DRIVING_LICENCE")]
    FrenchDrivingLicence,
    #[serde(rename = "SWISS_DRIVING_LICENCE")]
    SwissDrivingLicence,
}

/// The parts of a name field separated by fillers, joined by single spaces.
fn words(s: &str) -> String {
    s.split('<').filter(|w| !w.is_empty()).collect::<Vec<_>>().join(" ")
}

pub(crate) fn detect(lines: &[String]) -> Result<Format, MrzError> {
    let lens: Vec<usize> = lines.iter().map(|l| l.chars().count()).collect();
    let first = lines.first().map(String::as_str).unwrap_or("");
    match lens.as_slice() {
        [30] => Ok(Format::FrenchDrivingLicence),
        [36, 36] if first.starts_with("IDFRA") => Ok(Format::FrenchId),
        [36, 36] if first.starts_with('V') => Ok(Format::MrvB),
        [36, 36] => Ok(Format::Td2),
        [44, 44] if first.starts_with('V') => Ok(Format::MrvA),
        [44, 44] => Ok(Format::Td3),
        [30, 30, 30] => Ok(Format::Td1),
        [9, 30, 30] => Ok(Format::SwissDrivingLicence),
        l if l.is_empty() || l.len() > 3 => Err(MrzError::LineCount(l.len())),
        l => Err(MrzError::Lengths(l.to_vec())),
    }
}

/// Collects fields, checks and issues while a format's layout is walked.
struct Builder<'a> {
    lines: Vec<Vec<char>>,
    opts: &'a Options,
    fields: Vec<Field>,
    checks: Vec<Check>,
    errors: Vec<Issue>,
    warnings: Vec<Issue>,
}

/// The characters a field may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Letters and fillers.
    Alpha,
    /// Digits and fillers.
    Numeric,
    /// Any MRZ character.
    AlphaNum,
}

impl<'a> Builder<'a> {
    fn text(&self, line: usize, start: usize, end: usize) -> String {
        self.lines[line][start..end].iter().collect()
    }

    fn error(&mut self, code: &'static str, field: Option<&'static str>, message: String) {
        self.errors.push(Issue { code, field, message });
    }

    fn warn(&mut self, code: &'static str, field: Option<&'static str>, message: String) {
        self.warnings.push(Issue { code, field, message });
    }

    /// Records a field; checks its characters against its kind. Returns the raw text.
    /// The field's value (fillers removed), after recording it like [`Builder::field`].
    fn value(&mut self, name: &'static str, line: usize, start: usize, end: usize, kind: Kind) -> String {
        self.field(name, line, start, end, kind);
        self.fields.last().map(|f| f.value.clone()).unwrap_or_default()
    }

    fn field(&mut self, name: &'static str, line: usize, start: usize, end: usize, kind: Kind) -> String {
        let raw = self.text(line, start, end);
        let ok = raw.chars().all(|c| match kind {
            Kind::Alpha => c.is_ascii_uppercase() || c == '<',
            Kind::Numeric => c.is_ascii_digit() || c == '<',
            Kind::AlphaNum => c.is_ascii_uppercase() || c.is_ascii_digit() || c == '<',
        });
        if !ok {
            let what = match kind {
                Kind::Alpha => "letters",
                Kind::Numeric => "digits",
                Kind::AlphaNum => "MRZ characters (A-Z, 0-9, <)",
            };
            self.error("invalid_characters", Some(name), format!("{name} {raw:?} must hold only {what}"));
        }
        // Fillers inside a value separate its parts; at either end they are padding.
        let value = raw.replace('<', " ").trim().to_string();
        self.fields.push(Field { name, raw: raw.clone(), value, line, start, end, kind });
        raw
    }

    /// Records a check digit at (line, pos) over `protected`.
    fn check(&mut self, name: &'static str, protected: &str, line: usize, pos: usize) -> bool {
        let given = self.lines[line][pos];
        let computed = check_digit(protected);
        // An empty optional field may carry '<' instead of 0 (ICAO 9303-4 §4.2.2.1).
        let filler_ok = given == '<' && protected.chars().all(|c| c == '<');
        let valid = filler_ok || computed.is_some_and(|d| given.to_digit(10) == Some(d as u32));
        if !valid {
            let msg = match computed {
                Some(d) => format!("{name} check digit is {given:?}, expected {d}"),
                None => format!("{name} check digit cannot be computed: the field holds non-MRZ characters"),
            };
            self.error("check_digit", Some(name), msg);
        }
        self.checks.push(Check { name, given, computed, valid, line, position: pos });
        valid
    }

    fn country(
        &mut self,
        name: &'static str,
        line: usize,
        start: usize,
        end: usize,
    ) -> Option<countries::Country> {
        let raw = self.field(name, line, start, end, Kind::Alpha);
        match countries::lookup(&raw) {
            Some(c) => Some(c),
            None => {
                let msg = format!("{name} {raw:?} is not an ICAO 9303 code");
                match self.opts.mode {
                    Mode::Strict => self.error("unknown_country", Some(name), msg),
                    Mode::Tolerant => self.warn("unknown_country", Some(name), msg),
                }
                None
            }
        }
    }

    fn sex(&mut self, line: usize, pos: usize) -> Option<Sex> {
        let raw = self.field("sex", line, pos, pos + 1, Kind::AlphaNum);
        match raw.as_str() {
            "M" => Some(Sex::Male),
            "F" => Some(Sex::Female),
            "X" | "<" => Some(Sex::Unspecified),
            _ => {
                self.error("invalid_sex", Some("sex"), format!("sex {raw:?} is not M, F, X or <"));
                None
            }
        }
    }

    /// A YYMMDD date; `birth` picks the century that puts it in the past, otherwise the one that
    /// puts it within 50 years of today.
    fn date(&mut self, name: &'static str, line: usize, start: usize, birth: bool) -> Option<Date> {
        let raw = self.field(name, line, start, start + 6, Kind::Numeric);
        // By characters: a line may hold anything (already reported), even multi-byte text.
        let chars: Vec<char> = raw.chars().collect();
        if raw.contains('<') {
            if birth && chars.iter().take(2).all(|c| c.is_ascii_digit()) {
                self.warn("partial_date", Some(name), format!("{name} {raw:?} is only partly known"));
            } else {
                self.error("invalid_date", Some(name), format!("{name} {raw:?} is not a date"));
            }
            return None;
        }
        let n = |a: usize| chars.get(a..a + 2)?.iter().collect::<String>().parse::<u32>().ok();
        let (Some(yy), Some(mm), Some(dd)) = (n(0), n(2), n(4)) else {
            return None; // invalid characters, already reported
        };
        let today = self.opts.today;
        let mut year = 2000 + yy as i32;
        if birth {
            if Date::new(year, mm, dd).map_or(year > today.year, |d| d > today) {
                year -= 100;
            }
        } else if year > today.year + 50 {
            year -= 100;
        }
        match Date::new(year, mm, dd) {
            Some(d) => Some(d),
            None => {
                self.error("invalid_date", Some(name), format!("{name} {raw:?} is not a calendar date"));
                None
            }
        }
    }

    /// Primary and secondary identifiers from a name field.
    /// A name field ends in fillers: ICAO separates name parts by one or two, so a character after
    /// a run of three or more is a misread (a letter read in the filler tail), never a name.
    /// Name fields have no check digit: this is what keeps such a read from being called valid.
    fn filler_tail(&mut self, name: &'static str, raw: &str) {
        if let Some(run) = raw.find("<<<") {
            if raw[run..].chars().any(|c| c != '<') {
                self.error(
                    "name_filler_interrupted",
                    Some(name),
                    format!("{name}: a character stands among the fillers after the name ({raw:?}): misread"),
                );
            }
        }
    }

    fn names(&mut self, line: usize, start: usize, end: usize) -> (String, String, bool) {
        let raw = self.field("names", line, start, end, Kind::Alpha);
        self.filler_tail("names", &raw);
        let (primary, secondary) = match raw.split_once("<<") {
            Some((p, s)) => (p.to_string(), s.to_string()),
            None => (raw.clone(), String::new()),
        };
        let (surname, given) = (words(&primary), words(&secondary));
        let truncated = !raw.ends_with('<');
        if truncated {
            self.warn(
                "name_truncated",
                Some("names"),
                "the name field is full: the name may be truncated".into(),
            );
        }
        if surname.is_empty() {
            // Real documents of people with one name sometimes leave the primary identifier empty.
            self.warn("missing_surname", Some("names"), "the primary identifier (surname) is empty".into());
        } else if given.is_empty() {
            self.warn("single_identifier", Some("names"), "only one name identifier is present".into());
        }
        (surname, given, truncated)
    }
}

pub(crate) fn parse(format: Format, lines: Vec<String>, opts: &Options) -> Mrz {
    let mut b = Builder {
        lines: lines.iter().map(|l| l.chars().collect()).collect(),
        opts,
        fields: Vec::new(),
        checks: Vec::new(),
        errors: Vec::new(),
        warnings: Vec::new(),
    };
    let mut m = Mrz {
        format,
        lines: lines.clone(),
        valid: false,
        fields: Vec::new(),
        checks: Vec::new(),
        errors: Vec::new(),
        warnings: Vec::new(),
        document_code: String::new(),
        issuing_state: None,
        nationality: None,
        document_number: String::new(),
        surname: String::new(),
        given_names: String::new(),
        names_truncated: false,
        sex: None,
        birth_date: None,
        expiry_date: None,
        optional_data: String::new(),
        optional_data_2: String::new(),
    };
    match format {
        Format::Td1 => td1(&mut b, &mut m),
        Format::Td2 | Format::Td3 | Format::MrvA | Format::MrvB => two_line(&mut b, &mut m, format),
        Format::FrenchId => french_id(&mut b, &mut m),
        Format::FrenchDrivingLicence => french_dl(&mut b, &mut m),
        Format::SwissDrivingLicence => swiss_dl(&mut b, &mut m),
    }
    if let Some(exp) = m.expiry_date {
        if exp < opts.today {
            b.warn("document_expired", Some("expiry_date"), format!("the document expired on {}", exp.iso()));
        } else if exp.year > opts.today.year + 10 {
            b.warn(
                "expiry_far",
                Some("expiry_date"),
                format!("the expiry date {} is more than 10 years away", exp.iso()),
            );
        }
    }
    if let (Some(birth), Some(exp)) = (m.birth_date, m.expiry_date) {
        if exp <= birth {
            b.error(
                "expiry_before_birth",
                Some("expiry_date"),
                "the expiry date is not after the birth date".into(),
            );
        }
    }
    m.fields = b.fields;
    m.checks = b.checks;
    m.valid = b.errors.is_empty();
    m.errors = b.errors;
    m.warnings = b.warnings;
    m
}

/// The document code (first two characters); the second may be a filler.
fn document_code(b: &mut Builder<'_>, m: &mut Mrz, line: usize) {
    m.document_code = b.field("document_code", line, 0, 2, Kind::Alpha).trim_end_matches('<').to_string();
    if m.document_code.is_empty() {
        b.error("missing_document_code", Some("document_code"), "the document code is empty".into());
    }
}

/// A 9-character document number with its check digit at `line[start + 9]`. When that check
/// position holds a filler, the number continues in `continuation` (line, start, end) up to the
/// first filler, whose last character is the check digit (ICAO 9303-5 §4.2.4, note j). Answers
/// where the optional data starts on the continuation's line: after the continued number and
/// its check digit (they belong to the number, not to the optional data), else at its start.
fn document_number(
    b: &mut Builder<'_>,
    m: &mut Mrz,
    line: usize,
    start: usize,
    continuation: Option<(usize, usize, usize)>,
) -> Option<usize> {
    let main = b.field("document_number", line, start, start + 9, Kind::AlphaNum);
    if b.lines[line][start + 9] == '<' {
        if let Some((cl, cs, ce)) = continuation {
            let rest: String = b.text(cl, cs, ce);
            // Characters, not bytes: the line may hold multi-byte text (reported elsewhere).
            let run: Vec<char> = rest.chars().take_while(|&c| c != '<').collect();
            if run.len() >= 2 {
                let more: String = run[..run.len() - 1].iter().collect();
                let (more, digit_pos) = (more.as_str(), cs + run.len() - 1);
                m.document_number = format!("{}{}", main.trim_end_matches('<'), more);
                // ICAO computes the digit over the whole number; some issuers (Belgium) include
                // the filler at position 15. Accept either, and say which.
                let with_filler = format!("{main}<{more}");
                let given = b.lines[cl][digit_pos];
                let filler_variant = check_digit(&format!("{main}{more}")).map(|d| (b'0' + d) as char)
                    != Some(given)
                    && check_digit(&with_filler).map(|d| (b'0' + d) as char) == Some(given);
                if filler_variant {
                    b.check("document_number", &with_filler, cl, digit_pos);
                    b.warn("check_digit_convention", Some("document_number"), "the long document number's check digit includes the filler (issuer convention, not ICAO's)".into());
                } else {
                    b.check("document_number", &format!("{main}{more}"), cl, digit_pos);
                }
                return Some(digit_pos + 1);
            }
        }
    }
    m.document_number = main.trim_end_matches('<').to_string();
    b.check("document_number", &main, line, start + 9);
    continuation.map(|(_, cs, _)| cs)
}

/// The run every ICAO format shares: birth date, its check digit, sex, expiry date, its check
/// digit, starting at `at` on `line`.
fn birth_sex_expiry(b: &mut Builder<'_>, m: &mut Mrz, line: usize, at: usize) {
    m.birth_date = b.date("birth_date", line, at, true);
    let birth = b.text(line, at, at + 6);
    b.check("birth_date", &birth, line, at + 6);
    m.sex = b.sex(line, at + 7);
    m.expiry_date = b.date("expiry_date", line, at + 8, false);
    let exp = b.text(line, at + 8, at + 14);
    b.check("expiry_date", &exp, line, at + 14);
}

fn td1(b: &mut Builder<'_>, m: &mut Mrz) {
    document_code(b, m, 0);
    m.issuing_state = b.country("issuing_state", 0, 2, 5);
    let optional_from = document_number(b, m, 0, 5, Some((0, 15, 30))).unwrap_or(15);
    m.optional_data = b.value("optional_data", 0, optional_from, 30, Kind::AlphaNum);
    birth_sex_expiry(b, m, 1, 0);
    m.nationality = b.country("nationality", 1, 15, 18);
    m.optional_data_2 = b.value("optional_data_2", 1, 18, 29, Kind::AlphaNum);
    let composite =
        format!("{}{}{}{}", b.text(0, 5, 30), b.text(1, 0, 7), b.text(1, 8, 15), b.text(1, 18, 29));
    b.check("composite", &composite, 1, 29);
    let (s, g, t) = b.names(2, 0, 30);
    (m.surname, m.given_names, m.names_truncated) = (s, g, t);
}

/// TD2, TD3, MRV-A and MRV-B share their first line and most of the second.
fn two_line(b: &mut Builder<'_>, m: &mut Mrz, format: Format) {
    let len = b.lines[0].len();
    document_code(b, m, 0);
    m.issuing_state = b.country("issuing_state", 0, 2, 5);
    let (s, g, t) = b.names(0, 5, len);
    (m.surname, m.given_names, m.names_truncated) = (s, g, t);
    let continuation = (format == Format::Td2).then_some((1, 28, 35));
    let optional_from = document_number(b, m, 1, 0, continuation).unwrap_or(28);
    m.nationality = b.country("nationality", 1, 10, 13);
    birth_sex_expiry(b, m, 1, 13);
    match format {
        Format::Td3 => {
            let personal = b.field("optional_data", 1, 28, 42, Kind::AlphaNum);
            m.optional_data = personal.replace('<', " ").trim().to_string();
            b.check("personal_number", &personal, 1, 42);
            let composite = format!("{}{}{}", b.text(1, 0, 10), b.text(1, 13, 20), b.text(1, 21, 43));
            b.check("composite", &composite, 1, 43);
        }
        Format::Td2 => {
            m.optional_data = b.value("optional_data", 1, optional_from, 35, Kind::AlphaNum);
            let composite = format!("{}{}{}", b.text(1, 0, 10), b.text(1, 13, 20), b.text(1, 21, 35));
            b.check("composite", &composite, 1, 35);
        }
        _ => {
            // Visas have no composite check digit; the optional data runs to the end.
            m.optional_data = b.value("optional_data", 1, 28, len, Kind::AlphaNum);
        }
    }
}

/// French national identity card (1988–2021), 2×36.
fn french_id(b: &mut Builder<'_>, m: &mut Mrz) {
    document_code(b, m, 0);
    m.issuing_state = b.country("issuing_state", 0, 2, 5);
    let last = b.field("surname", 0, 5, 30, Kind::Alpha);
    b.filler_tail("surname", &last);
    m.surname = words(&last);
    m.optional_data = b.value("administrative_code", 0, 30, 36, Kind::AlphaNum);
    // Line 2: issue year+month (4), office code (3), sequence (5), check digit.
    let issue = b.field("issue_date", 1, 0, 4, Kind::Numeric);
    let office = b.field("administrative_code_2", 1, 4, 7, Kind::AlphaNum);
    let seq = b.field("document_sequence", 1, 7, 12, Kind::Numeric);
    m.document_number = format!("{issue}{office}{seq}").trim_end_matches('<').to_string();
    let protected = b.text(1, 0, 12);
    b.check("document_number", &protected, 1, 12);
    // `<<` separates given names here (`MARIE<<CLAIRE` is two), `<` joins a compound one.
    let given = b.field("given_names", 1, 13, 27, Kind::Alpha);
    b.filler_tail("given_names", &given);
    m.given_names = given.split("<<").map(words).filter(|w| !w.is_empty()).collect::<Vec<_>>().join(" ");
    m.birth_date = b.date("birth_date", 1, 27, true);
    let birth = b.text(1, 27, 33);
    b.check("birth_date", &birth, 1, 33);
    m.sex = b.sex(1, 34);
    let composite = format!("{}{}", b.text(0, 0, 36), b.text(1, 0, 35));
    b.check("composite", &composite, 1, 35);
    if m.surname.is_empty() {
        b.error("missing_surname", Some("surname"), "the surname is empty".into());
    }
}

/// French driving licence, 1×30.
fn french_dl(b: &mut Builder<'_>, m: &mut Mrz) {
    // The document code is "D1" (a digit), so it is read as alphanumeric here.
    m.document_code = b.value("document_code", 0, 0, 2, Kind::AlphaNum);
    m.issuing_state = b.country("issuing_state", 0, 2, 5);
    let num = b.field("document_number", 0, 5, 14, Kind::AlphaNum);
    m.document_number = num.trim_end_matches('<').to_string();
    // Its check digit covers the code and state too (positions 1–14).
    let protected = b.text(0, 0, 14);
    b.check("document_number", &protected, 0, 14);
    m.expiry_date = b.date("expiry_date", 0, 15, false);
    let last = b.field("surname", 0, 21, 29, Kind::Alpha);
    m.surname = words(&last);
    let composite = b.text(0, 0, 29);
    b.check("composite", &composite, 0, 29);
}

/// Swiss driving licence: 9 + 30 + 30, no check digits.
fn swiss_dl(b: &mut Builder<'_>, m: &mut Mrz) {
    let num = b.field("document_number", 0, 0, 7, Kind::AlphaNum);
    m.document_number = num.trim_end_matches('<').to_string();
    b.field("language_code", 0, 6, 7, Kind::Alpha);
    document_code(b, m, 1);
    m.issuing_state = b.country("issuing_state", 1, 2, 5);
    m.optional_data = b.value("pin_code", 1, 5, 14, Kind::Numeric);
    m.optional_data_2 = b.field("version_number", 1, 14, 17, Kind::Numeric).to_string();
    m.birth_date = b.date("birth_date", 1, 19, true);
    let (s, g, t) = b.names(2, 0, 30);
    (m.surname, m.given_names, m.names_truncated) = (s, g, t);
}
