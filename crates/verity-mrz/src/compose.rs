//! Writing MRZ lines from data (the inverse of parsing): for test generators and synthetic
//! documents. Names are transliterated to MRZ characters and cut to the field; every check digit
//! and the composite are computed.

use crate::{check_digit, translit, Date, Format};

/// The data an MRZ carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MrzData {
    /// `P`, `I`, `ID`, `V`, … (completed with `<` to two characters).
    pub document_code: String,
    pub issuing_state: String,
    pub surname: String,
    pub given_names: String,
    pub document_number: String,
    pub nationality: String,
    pub birth_date: Date,
    /// `M`, `F` or `<`.
    pub sex: char,
    pub expiry_date: Date,
    /// Personal number / optional data (line 2 of TD3, line 1 of TD1).
    pub optional_data: String,
    /// TD1's second optional field.
    pub optional_data_2: String,
}

fn pad(s: &str, n: usize) -> String {
    let mut out: String = s.chars().take(n).collect();
    while out.chars().count() < n {
        out.push('<');
    }
    out
}

fn field(s: &str) -> String {
    s.to_ascii_uppercase().chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '<' }).collect()
}

fn yymmdd(d: Date) -> String {
    format!("{:02}{:02}{:02}", d.year.rem_euclid(100), d.month, d.day)
}

fn digit(s: &str) -> char {
    check_digit(s).map(|d| char::from(b'0' + d)).unwrap_or('<')
}

fn names(data: &MrzData, n: usize) -> String {
    let clean = |s: &str| -> String {
        translit::to_mrz(s).chars().map(|c| if c.is_ascii_uppercase() { c } else { '<' }).collect()
    };
    let sur = clean(&data.surname);
    let given = clean(&data.given_names);
    let joined = if given.is_empty() { sur } else { format!("{sur}<<{given}") };
    pad(&joined, n)
}

/// The MRZ lines of `format` for `data` (TD1, TD2, TD3, MRV-A, MRV-B).
pub fn compose(format: Format, data: &MrzData) -> Option<Vec<String>> {
    let code = pad(&field(&data.document_code), 2);
    let state = pad(&field(&data.issuing_state), 3);
    let nat = pad(&field(&data.nationality), 3);
    let num = pad(&field(&data.document_number), 9);
    let num_cd = digit(&num);
    let dob = yymmdd(data.birth_date);
    let dob_cd = digit(&dob);
    let exp = yymmdd(data.expiry_date);
    let exp_cd = digit(&exp);
    let sex = data.sex;
    Some(match format {
        Format::Td3 => {
            let l1 = format!("{code}{state}{}", names(data, 39));
            let pn = pad(&field(&data.optional_data), 14);
            let pn_cd = if pn.chars().all(|c| c == '<') { '<' } else { digit(&pn) };
            let head = format!("{num}{num_cd}{nat}{dob}{dob_cd}{sex}{exp}{exp_cd}{pn}{pn_cd}");
            let comp = format!("{}{}{}", &head[0..10], &head[13..20], &head[21..43]);
            vec![l1, format!("{head}{}", digit(&comp))]
        }
        Format::Td2 => {
            let l1 = format!("{code}{state}{}", names(data, 31));
            let opt = pad(&field(&data.optional_data), 7);
            let head = format!("{num}{num_cd}{nat}{dob}{dob_cd}{sex}{exp}{exp_cd}{opt}");
            let comp = format!("{}{}{}", &head[0..10], &head[13..20], &head[21..35]);
            vec![l1, format!("{head}{}", digit(&comp))]
        }
        Format::Td1 => {
            let opt = pad(&field(&data.optional_data), 15);
            let l1 = format!("{code}{state}{num}{num_cd}{opt}");
            let opt2 = pad(&field(&data.optional_data_2), 11);
            let head = format!("{dob}{dob_cd}{sex}{exp}{exp_cd}{nat}{opt2}");
            let comp = format!("{}{}{}{}", &l1[5..30], &head[0..7], &head[8..15], &head[18..29]);
            vec![l1, format!("{head}{}", digit(&comp)), names(data, 30)]
        }
        Format::MrvA => {
            let l1 = format!("{code}{state}{}", names(data, 39));
            let opt = pad(&field(&data.optional_data), 16);
            vec![l1, format!("{num}{num_cd}{nat}{dob}{dob_cd}{sex}{exp}{exp_cd}{opt}")]
        }
        Format::MrvB => {
            let l1 = format!("{code}{state}{}", names(data, 31));
            let opt = pad(&field(&data.optional_data), 8);
            vec![l1, format!("{num}{num_cd}{nat}{dob}{dob_cd}{sex}{exp}{exp_cd}{opt}")]
        }
        _ => return None,
    })
}
