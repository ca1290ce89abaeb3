//! ICAO 9303 machine-readable zone parser, with no I/O.
//!
//! Formats: TD1 (3×30), TD2 (2×36), TD3 (2×44), MRV-A (2×44), MRV-B (2×36), the French national
//! identity card (2×36, before 2021), the French driving licence (1×30) and the Swiss driving
//! licence (9 + 30 + 30). [`parse`] returns every field with its position and raw text, every
//! check digit with the value it should have, errors (the MRZ is not valid) separate from
//! warnings (it is valid but something deserves a look), and typed values: names, dates with
//! century inference, sex, countries resolved against the ICAO code list.
//!
//! The parser never "corrects" characters: a confusion table (O→0, B→8 …) turns bad reads into
//! valid-looking wrong ones. Correction belongs to the reader, from its own per-position
//! probabilities, and is reported there.

pub mod compose;
mod countries;
mod countries_iso;
mod layout;
pub mod peer;
pub mod translit;

use serde::Serialize;

pub use countries::{iso_alpha2_name, lookup as lookup_country, Country, CountryCode};
pub use layout::{Format, Kind};

/// ICAO 7-3-1 check digit of `s`, or `None` if `s` holds a character outside `0-9A-Z<`.
pub fn check_digit(s: &str) -> Option<u8> {
    let mut sum = 0u32;
    for (i, c) in s.chars().enumerate() {
        let v = match c {
            '0'..='9' => c as u32 - '0' as u32,
            'A'..='Z' => c as u32 - 'A' as u32 + 10,
            '<' => 0,
            _ => return None,
        };
        sum += v * [7, 3, 1][i % 3];
    }
    Some((sum % 10) as u8)
}

/// A calendar date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Date {
    pub year: i32,
    pub month: u32,
    pub day: u32,
}

impl Date {
    pub fn new(year: i32, month: u32, day: u32) -> Option<Date> {
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
        let days = match month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if leap => 29,
            2 => 28,
            _ => return None,
        };
        (1..=days).contains(&day).then_some(Date { year, month, day })
    }
    /// ISO 8601 `YYYY-MM-DD`.
    pub fn iso(&self) -> String {
        format!("{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
    /// The civil (UTC) date `days` days after 1970-01-01 (Howard Hinnant's algorithm).
    pub fn from_unix_days(days: i64) -> Date {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = (yoe + era * 400 + if month <= 2 { 1 } else { 0 }) as i32;
        Date { year, month, day }
    }
    /// Whole years from `self` to `later`.
    pub fn years_until(&self, later: &Date) -> i32 {
        let mut y = later.year - self.year;
        if (later.month, later.day) < (self.month, self.day) {
            y -= 1;
        }
        y
    }
}

/// How strict the parser is about codes that real documents get wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Unknown country codes are errors.
    Strict,
    /// Unknown country codes are warnings (real documents carry non-ICAO codes).
    Tolerant,
}

/// Parsing options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    pub mode: Mode,
    /// The reference date for century inference and expiry.
    pub today: Date,
}

/// One field: where it is and what it says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Field {
    pub name: &'static str,
    /// Characters exactly as in the MRZ.
    pub raw: String,
    /// The value with fillers removed (names: `<` → space).
    pub value: String,
    /// Line index (0-based) and character range `[start, end)`.
    pub line: usize,
    pub start: usize,
    pub end: usize,
    /// The characters the field may hold.
    pub kind: Kind,
}

/// A check digit and what it should be.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// What it protects: `document_number`, `birth_date`, `expiry_date`, `personal_number`,
    /// `composite`.
    pub name: &'static str,
    pub given: char,
    /// `None` when the protected text holds characters outside the MRZ set.
    pub computed: Option<u8>,
    pub valid: bool,
    pub line: usize,
    pub position: usize,
}

/// An error or a warning, with a stable code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Issue {
    pub code: &'static str,
    pub field: Option<&'static str>,
    pub message: String,
}

/// Sex as printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Sex {
    Male,
    Female,
    /// `X` or `<`.
    Unspecified,
}

/// A parsed MRZ.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Mrz {
    pub format: Format,
    pub lines: Vec<String>,
    /// No errors (warnings allowed).
    pub valid: bool,
    pub fields: Vec<Field>,
    pub checks: Vec<Check>,
    pub errors: Vec<Issue>,
    pub warnings: Vec<Issue>,
    pub document_code: String,
    pub issuing_state: Option<Country>,
    pub nationality: Option<Country>,
    /// The whole document number (TD1/TD2 numbers longer than 9 continue in the optional data).
    pub document_number: String,
    pub surname: String,
    pub given_names: String,
    /// The name field is full: the name may have been cut.
    pub names_truncated: bool,
    pub sex: Option<Sex>,
    pub birth_date: Option<Date>,
    pub expiry_date: Option<Date>,
    /// Optional / personal data, fillers removed.
    pub optional_data: String,
    pub optional_data_2: String,
}

impl Mrz {
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }
    pub fn check(&self, name: &str) -> Option<&Check> {
        self.checks.iter().find(|c| c.name == name)
    }
    pub fn has_error(&self, code: &str) -> bool {
        self.errors.iter().any(|i| i.code == code)
    }
    pub fn has_warning(&self, code: &str) -> bool {
        self.warnings.iter().any(|i| i.code == code)
    }
}

/// Structural problems: the text is not an MRZ of any known format.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MrzError {
    #[error("an MRZ has 1, 2 or 3 lines; found {0}")]
    LineCount(usize),
    #[error("unrecognised MRZ format: line lengths {0:?} (TD1 3×30, TD2 2×36, TD3 2×44, MRV-A 2×44, MRV-B 2×36, French ID 2×36, French driving licence 1×30, Swiss driving licence 9+30+30)")]
    Lengths(Vec<usize>),
}

impl MrzError {
    pub fn code(&self) -> &'static str {
        match self {
            MrzError::LineCount(_) => "mrz_line_count",
            MrzError::Lengths(_) => "mrz_line_length",
        }
    }
}

/// Parses MRZ lines (surrounding whitespace ignored).
pub fn parse<S: AsRef<str>>(lines: &[S], opts: &Options) -> Result<Mrz, MrzError> {
    let lines: Vec<String> = lines.iter().map(|l| l.as_ref().trim().to_string()).collect();
    let format = layout::detect(&lines)?;
    Ok(layout::parse(format, lines, opts))
}

#[cfg(test)]
mod tests;
