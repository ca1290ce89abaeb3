//! ICAO 9303 issuing-state and nationality codes, mapped to ISO 3166 where one exists.

use serde::Serialize;

use crate::countries_iso::ISO_COUNTRIES;

/// A code read from an MRZ, resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Country {
    /// The code as printed, fillers removed (`D`, `GBR`, `XXA`, …).
    pub code: String,
    /// ISO 3166-1 alpha-2 / alpha-3 when the code designates a country.
    pub iso_alpha2: Option<&'static str>,
    pub iso_alpha3: Option<&'static str>,
    pub name: &'static str,
    /// What kind of code it is: `iso` (an ISO 3166 country), `icao` (an ICAO special code), or
    /// `fictional` (UTO, used on specimens).
    pub kind: &'static str,
}

/// ICAO 9303-3 codes that are not ISO 3166-1 alpha-3 codes: (code, ISO alpha-3 it belongs to,
/// name).
const ICAO_SPECIAL: &[(&str, Option<&str>, &str)] = &[
    ("D", Some("DEU"), "Germany"),
    ("GBD", Some("GBR"), "British Overseas Territories Citizen"),
    ("GBN", Some("GBR"), "British National (Overseas)"),
    ("GBO", Some("GBR"), "British Overseas Citizen"),
    ("GBP", Some("GBR"), "British Protected Person"),
    ("GBS", Some("GBR"), "British Subject"),
    ("UNO", None, "United Nations Organization (official)"),
    ("UNA", None, "United Nations specialized agency (official)"),
    ("UNK", None, "Resident of Kosovo (UNMIK)"),
    ("RKS", None, "Kosovo"),
    ("XXA", None, "Stateless person (1954 Convention)"),
    ("XXB", None, "Refugee (1951 Convention)"),
    ("XXC", None, "Refugee (other)"),
    ("XXX", None, "Unspecified nationality"),
    ("EUE", None, "European Union"),
    ("XOM", None, "Sovereign Military Order of Malta"),
    ("XPO", None, "Interpol"),
    ("XCC", None, "Caribbean Community"),
    ("XCE", None, "Council of Europe"),
    ("XEC", None, "Economic Community of West African States"),
    ("XBA", None, "African Development Bank"),
    ("XIM", None, "African Export-Import Bank"),
    ("XDC", None, "Southern African Development Community"),
    ("XES", None, "Organisation of Eastern Caribbean States"),
    ("XMP", None, "International Committee of the Red Cross"),
    ("ZIM", Some("ZWE"), "Zimbabwe (former code)"),
];

/// The name of an ISO 3166-1 alpha-2 code (upper case), if it is one.
pub fn iso_alpha2_name(code: &str) -> Option<&'static str> {
    CountryCode::parse(code).map(|c| c.name())
}

/// An ISO 3166-1 alpha-2 country code that exists (`FR`, `MA`): what an API field naming a
/// country is parsed into at the edge, so code past it never sees an unchecked string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CountryCode {
    alpha2: &'static str,
    name: &'static str,
}

impl CountryCode {
    /// The code, upper case as ISO writes it; `None` for anything else (`fr`, `FRA`, `XX`).
    pub fn parse(code: &str) -> Option<Self> {
        ISO_COUNTRIES.iter().find(|(_, a2, _)| *a2 == code).map(|&(_, alpha2, name)| Self { alpha2, name })
    }

    /// Like [`CountryCode::parse`], in any letter case (`fr` → `FR`).
    pub fn parse_any_case(code: &str) -> Option<Self> {
        Self::parse(&code.to_ascii_uppercase())
    }

    pub fn as_str(&self) -> &'static str {
        self.alpha2
    }

    /// The country's English short name.
    pub fn name(&self) -> &'static str {
        self.name
    }
}

impl std::fmt::Display for CountryCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.alpha2)
    }
}

impl Serialize for CountryCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.alpha2)
    }
}

/// Resolves an MRZ country field (fillers allowed at the end: `D<<`).
pub fn lookup(raw: &str) -> Option<Country> {
    let code = raw.trim_end_matches('<');
    if code.is_empty() {
        return None;
    }
    if code == "UTO" {
        return Some(Country {
            code: code.into(),
            iso_alpha2: None,
            iso_alpha3: None,
            name: "Utopia",
            kind: "fictional",
        });
    }
    if let Ok(i) = ISO_COUNTRIES.binary_search_by(|(a3, _, _)| (*a3).cmp(code)) {
        let (a3, a2, name) = ISO_COUNTRIES[i];
        return Some(Country {
            code: code.into(),
            iso_alpha2: Some(a2),
            iso_alpha3: Some(a3),
            name,
            kind: "iso",
        });
    }
    ICAO_SPECIAL.iter().find(|(c, _, _)| *c == code).map(|(c, iso3, name)| {
        let iso = iso3.and_then(|a3| ISO_COUNTRIES.iter().find(|(x, _, _)| *x == a3));
        Country {
            code: (*c).into(),
            iso_alpha2: iso.map(|t| t.1),
            iso_alpha3: iso.map(|t| t.0),
            name,
            kind: "icao",
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn country_codes_are_parsed_not_trusted() {
        let fr = CountryCode::parse("FR").expect("FR");
        assert_eq!((fr.as_str(), fr.name(), fr.to_string()), ("FR", "France", "FR".to_string()));
        assert_eq!(serde_json::to_value(fr).unwrap(), serde_json::json!("FR"));
        for bad in ["fr", "FRA", "XX", "", "F", "F\u{0}"] {
            assert!(CountryCode::parse(bad).is_none(), "{bad:?}");
        }
        assert_eq!(CountryCode::parse_any_case("ma"), CountryCode::parse("MA"));
    }

    #[test]
    fn iso_special_and_fictional_codes() {
        let de = lookup("D<<").expect("D");
        assert_eq!((de.iso_alpha2, de.kind), (Some("DE"), "icao"));
        assert_eq!(lookup("CHE").expect("CHE").iso_alpha2, Some("CH"));
        assert_eq!(lookup("XXA").expect("XXA").kind, "icao");
        assert_eq!(lookup("UTO").expect("UTO").kind, "fictional");
        assert_eq!(lookup("GBN").expect("GBN").iso_alpha3, Some("GBR"));
        assert!(lookup("BOS").is_none());
        assert!(lookup("<<<").is_none());
        assert!(ISO_COUNTRIES.windows(2).all(|w| w[0].0 < w[1].0), "sorted for binary search");
    }
}
