//! AAMVA DL/ID card data (the PDF417 barcode on the back of US and Canadian driving licences
//! and identity cards), AAMVA CDS versions 1–10.
//!
//! The payload starts with a header (`@` LF RS CR, `ANSI ` or `AAMVA`, the issuer's 6-digit IIN,
//! the AAMVA version, the jurisdiction version, the number of subfiles and a directory), then
//! subfiles (`DL`, `ID`, jurisdiction-specific `Z?`) of data elements: a 3-letter element id and
//! its value, one per line. The parser is tolerant: it reads the directory when it is right and
//! otherwise finds the subfiles by their type, reads every element, and reports what it could
//! not interpret as warnings rather than failing. Dates are `MMDDCCYY` in US cards and
//! `CCYYMMDD` in Canadian ones (by country element, else the IIN).

use std::collections::BTreeMap;

use serde::Serialize;
use verity_mrz::Date;

/// A version 8 payload in the layout of the AAMVA 2016 standard's example (Virginia), for
/// tests and synthetic documents.
pub const EXAMPLE: &str = "@\n\u{1e}\rANSI 636000080002DL00410278ZV03190008DLDAQT64235789\nDCSSAMPLE\nDDEN\nDACMICHAEL\nDDFN\nDADJOHN\nDDGN\nDCAD\nDCBK\nDCDPH\nDBD06062016\nDBB06061986\nDBA12102024\nDBC1\nDAU068 in\nDAYBRO\nDAG2300 WEST BROAD STREET\nDAIRICHMOND\nDAJVA\nDAK232690000  \nDCF2424244747474786102204\nDCGUSA\nDCK123456789\nDDAF\nDDB06062008\nDDC06062009\nDDD1\rZVZVA01\r";

/// Data read from an AAMVA barcode.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Aamva {
    /// AAMVA CDS version (0 for pre-standard cards).
    pub version: u32,
    /// Issuer identification number (6 digits; 636xxx for North American jurisdictions).
    pub iin: String,
    pub jurisdiction_version: Option<u32>,
    /// `DL` (driving licence) or `ID` (identity card).
    pub document_type: String,
    pub document_number: Option<String>,
    pub family_name: Option<String>,
    pub given_names: Option<String>,
    pub birth_date: Option<Date>,
    pub expiry_date: Option<Date>,
    pub issue_date: Option<Date>,
    /// `M`, `F` or `X` (not specified).
    pub sex: Option<String>,
    pub street: Option<String>,
    pub city: Option<String>,
    /// Jurisdiction code (state or province), e.g. `VA`, `ON`.
    pub jurisdiction: Option<String>,
    pub postal_code: Option<String>,
    /// `USA` or `CAN`.
    pub country: Option<String>,
    /// Names were truncated on the card (DDE/DDF/DDG = `T`).
    pub names_truncated: bool,
    /// Every element as read, by element id.
    pub elements: BTreeMap<String, String>,
    pub warnings: Vec<String>,
}

impl Aamva {
    /// The country as ISO alpha-2 (`US`, `CA`), else as printed.
    pub fn country_iso2(&self) -> Option<&str> {
        self.country.as_deref().map(|c| match c {
            "USA" => "US",
            "CAN" => "CA",
            other => other,
        })
    }
}

/// Why a payload is not AAMVA data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AamvaError {
    #[error("not AAMVA data: {0}")]
    NotAamva(&'static str),
}

/// Parses an AAMVA payload.
pub fn parse(text: &str) -> Result<Aamva, AamvaError> {
    let start = text.find('@').ok_or(AamvaError::NotAamva("no compliance indicator '@'"))?;
    let t = &text[start..];
    let marker = t
        .find("ANSI ")
        .map(|i| i + 5)
        .or_else(|| t.find("AAMVA").map(|i| i + 5))
        .ok_or(AamvaError::NotAamva("no 'ANSI ' or 'AAMVA' file type"))?;
    if marker > 12 {
        return Err(AamvaError::NotAamva("the file type is not at the start"));
    }
    let header = &t[marker..];
    let digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
    let iin =
        header.get(..6).filter(|s| digits(s)).ok_or(AamvaError::NotAamva("no 6-digit IIN"))?.to_string();
    let version = header.get(6..8).filter(|s| digits(s)).and_then(|s| s.parse().ok()).unwrap_or(0);
    let jurisdiction_version = header.get(8..10).filter(|s| digits(s)).and_then(|s| s.parse().ok());
    let mut warnings = Vec::new();

    // Subfiles: the directory entries are "DL" + offset(4) + length(4) after the count (v2+).
    let mut elements = BTreeMap::new();
    let mut document_type = None;
    let body = &t[marker..];
    for kind in ["DL", "ID"] {
        // The subfile's data starts with its type followed by the first element id ("DLDAQ…"),
        // or the type alone on its line.
        let Some(pos) = find_subfile(body, kind) else { continue };
        document_type.get_or_insert_with(|| kind.to_string());
        let data = &body[pos + 2..];
        read_elements(data, &mut elements);
    }
    if elements.is_empty() {
        // Version 1 and some jurisdictions: elements without a recognisable subfile header.
        read_elements(body, &mut elements);
    }
    if !elements.keys().any(|k| k.starts_with('D')) {
        return Err(AamvaError::NotAamva("no data elements"));
    }
    let get = |k: &str| {
        elements.get(k).map(|v| v.trim().to_string()).filter(|v| !v.is_empty() && v != "NONE" && v != "unavl")
    };

    let country = get("DCG").or_else(|| canada_iin(&iin).then(|| "CAN".to_string()));
    let canadian = country.as_deref() == Some("CAN");
    let mut date = |k: &str| -> Option<Date> {
        let v = get(k)?;
        match parse_date(&v, canadian) {
            Some(d) => Some(d),
            None => {
                warnings.push(format!("{k}: {v:?} is not a valid date"));
                None
            }
        }
    };
    let birth_date = date("DBB");
    let expiry_date = date("DBA");
    let issue_date = date("DBD");

    // Names: DCS/DAC/DAD (v2+), DCT (v2: given names), DAB/DAC (v1 family/first), DAA full name.
    let mut family_name = get("DCS").or_else(|| get("DAB"));
    let mut given = match (get("DAC"), get("DAD")) {
        (Some(f), Some(m)) => Some(format!("{f} {m}")),
        (Some(f), None) => Some(f),
        (None, _) => get("DCT").map(|s| s.replace(',', " ")),
    };
    if family_name.is_none() {
        if let Some(full) = get("DAA") {
            // "FAMILY,FIRST,MIDDLE" (or with '$' / spaces in some v1 cards)
            let parts: Vec<&str> = full.split([',', '$']).map(str::trim).filter(|s| !s.is_empty()).collect();
            if let Some((f, rest)) = parts.split_first() {
                family_name = Some(f.to_string());
                if given.is_none() && !rest.is_empty() {
                    given = Some(rest.join(" "));
                }
            }
        }
    }
    let sex = get("DBC").map(|s| match s.as_str() {
        "1" | "M" => "M".to_string(),
        "2" | "F" => "F".to_string(),
        _ => "X".to_string(),
    });
    let names_truncated = ["DDE", "DDF", "DDG"].iter().any(|k| get(k).as_deref() == Some("T"));
    let postal_code = get("DAK").map(|p| {
        // US ZIP+4 padded with zeros or spaces: "223010000" → "22301-0000"? keep 5 digits when the
        // extension is empty.
        let p = p.trim_end_matches(' ').to_string();
        if p.len() == 9 && p.chars().all(|c| c.is_ascii_digit()) {
            if &p[5..] == "0000" {
                p[..5].to_string()
            } else {
                format!("{}-{}", &p[..5], &p[5..])
            }
        } else {
            p
        }
    });
    Ok(Aamva {
        version,
        iin,
        jurisdiction_version,
        document_type: document_type.unwrap_or_else(|| "DL".to_string()),
        document_number: get("DAQ"),
        family_name,
        given_names: given,
        birth_date,
        expiry_date,
        issue_date,
        sex,
        street: get("DAG"),
        city: get("DAI"),
        jurisdiction: get("DAJ"),
        postal_code,
        country,
        names_truncated,
        elements,
        warnings,
    })
}

/// Position of a subfile's type in the body: "DL" or "ID" immediately followed by an element id
/// (`D` + 2 letters) or a line break, after the header.
fn find_subfile(body: &str, kind: &str) -> Option<usize> {
    let b = body.as_bytes();
    let k = kind.as_bytes();
    // Skip the header's fixed part (IIN, versions, count) so the directory's "DL0041…" entry
    // (followed by digits) is not taken for the data.
    (10..b.len().saturating_sub(1)).find(|&i| {
        b[i..].starts_with(k)
            && match b.get(i + 2..i + 5) {
                Some([b'D', x, y]) => x.is_ascii_uppercase() && y.is_ascii_uppercase(),
                Some([b'\n' | b'\r', ..]) => true,
                _ => false,
            }
    })
}

fn read_elements(data: &str, out: &mut BTreeMap<String, String>) {
    for line in data.split(['\n', '\r', '\u{1e}']) {
        let mut line = line.trim_start_matches(['\u{1c}', '\u{1d}']);
        // The first element of a subfile follows its type: "DLDAQ…", "ZVZVA…".
        let b = line.as_bytes();
        if b.len() >= 5
            && (b.starts_with(b"DL") || b.starts_with(b"ID") || (b[0] == b'Z' && b[1].is_ascii_uppercase()))
            && matches!(b[2], b'D' | b'Z')
            && b[3].is_ascii_uppercase()
            && (b[4].is_ascii_uppercase() || b[4].is_ascii_digit())
        {
            line = &line[2..];
        }
        if line.len() < 3 || !line.is_char_boundary(3) {
            continue;
        }
        let (id, value) = line.split_at(3);
        let ok_id = id.as_bytes()[0].is_ascii_uppercase()
            && id.bytes().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
            && (id.starts_with('D') || id.starts_with('Z'));
        if ok_id {
            out.entry(id.to_string()).or_insert_with(|| value.to_string());
        }
    }
}

fn canada_iin(iin: &str) -> bool {
    // AAMVA IINs of the Canadian jurisdictions (AB, BC, MB, NB, NL, NS, ON, PE, QC, SK, YT, NT, NU).
    matches!(
        iin,
        "604432"
            | "636028"
            | "636048"
            | "636017"
            | "636016"
            | "636013"
            | "636012"
            | "604426"
            | "604428"
            | "636044"
            | "604429"
            | "604430"
            | "604433"
    )
}

/// `MMDDCCYY` (US) or `CCYYMMDD` (Canada); the other order is tried when the first is invalid.
fn parse_date(v: &str, canadian: bool) -> Option<Date> {
    let v = v.trim();
    if v.len() != 8 || !v.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let n = |r: std::ops::Range<usize>| v[r].parse::<u32>().ok();
    let us = || Date::new(n(4..8)? as i32, n(0..2)?, n(2..4)?);
    let ca = || Date::new(n(0..4)? as i32, n(4..6)?, n(6..8)?);
    if canadian {
        ca().or_else(us)
    } else {
        us().or_else(ca)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_standard_example_is_read() {
        let a = parse(EXAMPLE).expect("parses");
        assert_eq!((a.version, a.iin.as_str(), a.document_type.as_str()), (8, "636000", "DL"));
        assert_eq!(a.document_number.as_deref(), Some("T64235789"));
        assert_eq!(a.family_name.as_deref(), Some("SAMPLE"));
        assert_eq!(a.given_names.as_deref(), Some("MICHAEL JOHN"));
        assert_eq!(a.birth_date.map(|d| d.iso()), Some("1986-06-06".into()));
        assert_eq!(a.expiry_date.map(|d| d.iso()), Some("2024-12-10".into()));
        assert_eq!(a.issue_date.map(|d| d.iso()), Some("2016-06-06".into()));
        assert_eq!(a.sex.as_deref(), Some("M"));
        assert_eq!(a.street.as_deref(), Some("2300 WEST BROAD STREET"));
        assert_eq!((a.city.as_deref(), a.jurisdiction.as_deref()), (Some("RICHMOND"), Some("VA")));
        assert_eq!(a.postal_code.as_deref(), Some("23269"));
        assert_eq!(a.country.as_deref(), Some("USA"));
        assert!(!a.names_truncated);
        assert_eq!(a.elements.get("ZVA").map(String::as_str), Some("01"));
        assert!(a.warnings.is_empty(), "{:?}", a.warnings);
    }

    #[test]
    fn canadian_dates_and_version_one_names() {
        let ca = "@\n\u{1e}\rANSI 636012030001DL00310190DLDAQ123456789\nDAAPUBLIC,JOHN,Q\nDBB19700131\nDBA20300131\nDBC2\nDAJON\nDCGCAN\r";
        let a = parse(ca).expect("parses");
        assert_eq!(a.family_name.as_deref(), Some("PUBLIC"));
        assert_eq!(a.given_names.as_deref(), Some("JOHN Q"));
        assert_eq!(a.birth_date.map(|d| d.iso()), Some("1970-01-31".into()));
        assert_eq!(a.sex.as_deref(), Some("F"));
        let v1 =
            "@\n\u{1e}\rAAMVA6360000101DL00290192DLDAQ0123456\nDABDOE\nDACJANE\nDBB02291992\nDBA13012030\r";
        let a = parse(v1).expect("v1 parses");
        assert_eq!((a.version, a.family_name.as_deref()), (1, Some("DOE")));
        assert_eq!(a.birth_date.map(|d| d.iso()), Some("1992-02-29".into()));
        // 13/01/2030 is no date in either order.
        assert_eq!(a.expiry_date, None);
        assert_eq!(a.warnings.len(), 1, "{:?}", a.warnings);
    }

    #[test]
    fn garbage_is_refused_without_panic() {
        for t in [
            "",
            "hello",
            "@",
            "@\n\u{1e}\rANSI ",
            "@\n\u{1e}\rANSI 63601",
            "@ANSI 636000080002",
            "@\n\u{1e}\rANSI 636000080002DL\u{e9}\u{e9}",
        ] {
            assert!(parse(t).is_err(), "{t:?}");
        }
    }
}
