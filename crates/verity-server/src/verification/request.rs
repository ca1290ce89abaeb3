//! The body of `POST /v1/identity/verify`, checked at the edge: every error names its field
//! and has a stable code; images are decoded in full before anything is stored.

use std::borrow::Cow;

use axum::body::Bytes;
use serde_json::{Map, Value};
use verity_checks::verify::{CheckName, DocumentType};
use verity_mrz::CountryCode;

use crate::error::{ApiError, ApiResult};
use crate::resources::{json_object, reject_unknown, string_field};
use crate::routes::intake::{decode_field, FileKind};
use crate::AppState;

/// The fields of the seed.
pub const FIELDS: &[&str] = &[
    "document_front",
    "document_back",
    "selfie",
    "document_type",
    "country",
    "checks",
    "mode",
    "webhook_url",
    "metadata",
];

/// How the caller gets the result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The answer carries the finished verification (or `pending` past the time budget).
    Sync,
    /// The answer is `pending` at once; the result goes to `webhook_url` and is polled.
    Async,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Sync => "sync",
            Mode::Async => "async",
        }
    }
}

/// A checked request.
#[derive(Debug)]
pub struct Submission {
    pub front: Vec<u8>,
    pub back: Option<Vec<u8>>,
    pub selfie: Option<Vec<u8>>,
    pub document_type: DocumentType,
    /// ISO 3166-1 alpha-2, upper case.
    pub country: CountryCode,
    pub checks: Vec<CheckName>,
    pub mode: Mode,
    pub webhook_url: Option<String>,
    pub metadata: Value,
}

/// The body, borrowing the base64 text (three images are up to 16 MB of it).
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Body<'a> {
    #[serde(borrow)]
    document_front: Option<Cow<'a, str>>,
    #[serde(borrow)]
    document_back: Option<Cow<'a, str>>,
    #[serde(borrow)]
    selfie: Option<Cow<'a, str>>,
    document_type: Option<Value>,
    country: Option<Value>,
    checks: Option<Value>,
    mode: Option<Value>,
    webhook_url: Option<Value>,
    metadata: Option<Value>,
}

/// The country a national document type belongs to.
fn country_of(t: DocumentType) -> Option<CountryCode> {
    match t {
        DocumentType::Cin => CountryCode::parse("MA"),
        DocumentType::Cni => CountryCode::parse("FR"),
        _ => None,
    }
}

fn text(v: &Option<Value>, name: &str, required: bool) -> ApiResult<Option<String>> {
    let mut m = Map::new();
    if let Some(v) = v {
        m.insert(name.into(), v.clone());
    }
    string_field(&m, name, required)
}

/// Everything but the images (cheap checks first, so a wrong enum costs no image decode).
fn fields(b: &Body<'_>, s: &AppState) -> ApiResult<(DocumentType, CountryCode, Vec<CheckName>, Mode, Value)> {
    let dt = text(&b.document_type, "document_type", true)?.unwrap_or_default();
    let names: Vec<&str> = DocumentType::ALL.iter().map(|t| t.name()).collect();
    let document_type = DocumentType::parse(&dt).ok_or_else(|| {
        ApiError::invalid(
            "document_type_invalid",
            format!("`document_type` {dt:?} is not one of: {}", names.join(", ")),
            Some("document_type"),
        )
    })?;
    let given = text(&b.country, "country", true)?.unwrap_or_default();
    let country = CountryCode::parse_any_case(&given).ok_or_else(|| {
        ApiError::invalid(
            "country_invalid",
            format!("`country` {given:?} is not an ISO 3166-1 alpha-2 code (\"MA\", \"FR\")"),
            Some("country"),
        )
    })?;
    if let Some(expected) = country_of(document_type).filter(|c| *c != country) {
        return Err(ApiError::invalid(
            "document_country_mismatch",
            format!("a `{}` is issued by {expected}, not {country}", document_type.name()),
            Some("country"),
        ));
    }
    let selfie = b.selfie.is_some();
    let checks = match &b.checks {
        None | Some(Value::Null) => {
            // All that the inputs allow.
            let mut c = vec![CheckName::Ocr, CheckName::Fraud];
            if selfie {
                c.extend([CheckName::FaceMatch, CheckName::Liveness]);
            }
            c.push(CheckName::Duplicate);
            c.sort();
            c
        }
        Some(Value::Array(a)) if !a.is_empty() => {
            let mut c = Vec::new();
            for v in a {
                let name = v.as_str().unwrap_or_default();
                let Some(check) = CheckName::parse(name) else {
                    let all: Vec<&str> = CheckName::ALL.iter().map(|c| c.name()).collect();
                    return Err(ApiError::invalid(
                        "check_unknown",
                        format!("unknown check {v}: the checks are {}", all.join(", ")),
                        Some("checks"),
                    ));
                };
                if check.needs_selfie() && !selfie {
                    return Err(ApiError::invalid(
                        "selfie_required",
                        format!("the `{name}` check needs a `selfie`"),
                        Some("selfie"),
                    ));
                }
                if !c.contains(&check) {
                    c.push(check);
                }
            }
            c.sort();
            c
        }
        Some(_) => {
            return Err(ApiError::invalid(
                "field_type",
                "`checks` must be a non-empty array of check names",
                Some("checks"),
            ))
        }
    };
    let mode = match text(&b.mode, "mode", false)?.as_deref() {
        None | Some("sync") => Mode::Sync,
        Some("async") => Mode::Async,
        Some(other) => {
            return Err(ApiError::invalid(
                "mode_invalid",
                format!("`mode` {other:?} is not one of: sync, async"),
                Some("mode"),
            ))
        }
    };
    let metadata = match &b.metadata {
        None | Some(Value::Null) => Value::Object(Map::new()),
        Some(Value::Object(m)) => {
            let size = Value::Object(m.clone()).to_string().len();
            let max = s.config.verification.metadata_bytes;
            if size > max {
                return Err(ApiError::invalid(
                    "metadata_too_large",
                    format!("`metadata` is {size} bytes as JSON; at most {max} are kept"),
                    Some("metadata"),
                ));
            }
            Value::Object(m.clone())
        }
        Some(_) => {
            return Err(ApiError::invalid("field_type", "`metadata` must be an object", Some("metadata")))
        }
    };
    Ok((document_type, country, checks, mode, metadata))
}

/// Parses and checks the body; decodes every image in full.
pub async fn parse(s: &AppState, body: &Bytes) -> ApiResult<Submission> {
    let b: Body<'_> = match serde_json::from_slice(body) {
        Ok(b) => b,
        Err(e) => {
            // Say which field is at fault.
            let m = json_object(body)?;
            reject_unknown(&m, FIELDS)?;
            for f in ["document_front", "document_back", "selfie"] {
                string_field(&m, f, false)?;
            }
            return Err(ApiError::invalid(
                "field_type",
                format!("the request body is not as expected: {e}"),
                None,
            ));
        }
    };
    let (document_type, country, checks, mode, metadata) = fields(&b, s)?;
    let webhook_url = text(&b.webhook_url, "webhook_url", false)?;
    if let Some(url) = &webhook_url {
        crate::routes::webhooks::check_url(s, url, "webhook_url").await?;
    }
    let images = [FileKind::Jpeg, FileKind::Png];
    let documents = [FileKind::Jpeg, FileKind::Png, FileKind::Pdf];
    let front = decode_field(s, "document_front", b.document_front.as_deref(), &documents).await?.0;
    let back = match b.document_back.as_deref() {
        Some(t) => Some(decode_field(s, "document_back", Some(t), &documents).await?.0),
        None => None,
    };
    let selfie = match b.selfie.as_deref() {
        Some(t) => Some(decode_field(s, "selfie", Some(t), &images).await?.0),
        None => None,
    };
    Ok(Submission { front, back, selfie, document_type, country, checks, mode, webhook_url, metadata })
}
