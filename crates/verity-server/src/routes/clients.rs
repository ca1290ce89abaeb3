//! `/v1/clients`: persons and companies, in ComplyCube's shape.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Map, Value};
use verity_store::time::now_ms;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::resources::kinds::{self, Client};
use crate::resources::{fetch, json_object, merge_patch, modify, new_resource, reject_unknown, render, Kind};
use crate::{events, AppState};

pub(crate) const TOP: &[&str] = &[
    "type",
    "email",
    "mobile",
    "telephone",
    "joinedDate",
    "personDetails",
    "companyDetails",
    "externalId",
    "metadata",
];
pub(crate) const PERSON: &[&str] = &[
    "firstName",
    "middleName",
    "lastName",
    "dob",
    "gender",
    "nationality",
    "birthCountry",
    "ssn",
    "socialInsuranceNumber",
    "nationalIdentityNumber",
    "taxIdentificationNumber",
];
pub(crate) const COMPANY: &[&str] =
    &["name", "website", "registrationNumber", "incorporationCountry", "incorporationType"];

pub(crate) fn check_keys(m: &Map<String, Value>, allowed: &[&str], prefix: &str) -> ApiResult<()> {
    for k in m.keys() {
        if !allowed.contains(&k.as_str()) {
            let p = format!("{prefix}{k}");
            return Err(ApiError::invalid("field_unknown", format!("unknown field `{p}`"), Some(&p)));
        }
    }
    Ok(())
}

pub(crate) fn text(
    m: &Map<String, Value>,
    k: &str,
    prefix: &str,
    required: bool,
    max: usize,
) -> ApiResult<Option<String>> {
    let p = format!("{prefix}{k}");
    match m.get(k) {
        None | Some(Value::Null) => {
            if required {
                Err(ApiError::invalid("field_required", format!("`{p}` is required"), Some(&p)))
            } else {
                Ok(None)
            }
        }
        Some(Value::String(s)) => {
            let s = s.trim();
            if s.is_empty() && required {
                return Err(ApiError::invalid(
                    "field_required",
                    format!("`{p}` must not be empty"),
                    Some(&p),
                ));
            }
            if s.chars().count() > max {
                return Err(ApiError::invalid(
                    "field_too_long",
                    format!("`{p}` is longer than {max} characters"),
                    Some(&p),
                ));
            }
            Ok(Some(s.to_string()))
        }
        Some(_) => Err(ApiError::invalid("field_type", format!("`{p}` must be a string"), Some(&p))),
    }
}

pub(crate) fn date(m: &Map<String, Value>, k: &str, prefix: &str) -> ApiResult<()> {
    if let Some(s) = text(m, k, prefix, false, 10)? {
        let p = format!("{prefix}{k}");
        let ok = s.len() == 10 && verity_store::time::parse(&s).is_some_and(|t| t <= now_ms());
        if !ok {
            return Err(ApiError::invalid(
                "field_invalid",
                format!("`{p}` must be a past date, YYYY-MM-DD"),
                Some(&p),
            ));
        }
    }
    Ok(())
}

pub(crate) fn country(m: &Map<String, Value>, k: &str, prefix: &str) -> ApiResult<()> {
    if let Some(s) = text(m, k, prefix, false, 2)? {
        if verity_mrz::CountryCode::parse(&s).is_none() {
            let p = format!("{prefix}{k}");
            return Err(ApiError::invalid(
                "field_invalid",
                format!("`{p}` must be an ISO 3166-1 alpha-2 country code"),
                Some(&p),
            ));
        }
    }
    Ok(())
}

/// Validates a whole client body (after a merge for updates); returns the entity name.
fn validate(m: &Map<String, Value>) -> ApiResult<String> {
    check_keys(m, TOP, "")?;
    let kind = text(m, "type", "", true, 16)?.unwrap_or_default();
    let email = text(m, "email", "", true, 254)?.unwrap_or_default();
    let at = email.find('@');
    if !at.is_some_and(|i| i > 0 && email[i + 1..].contains('.') && !email.contains(' ')) {
        return Err(ApiError::invalid("field_invalid", "`email` is not an email address", Some("email")));
    }
    text(m, "mobile", "", false, 32)?;
    text(m, "telephone", "", false, 32)?;
    text(m, "externalId", "", false, 128)?;
    date(m, "joinedDate", "")?;
    if m.get("metadata").is_some_and(|v| !v.is_object() && !v.is_null()) {
        return Err(ApiError::invalid("field_type", "`metadata` must be an object", Some("metadata")));
    }
    let obj = |k: &str| -> ApiResult<Option<&Map<String, Value>>> {
        match m.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Object(o)) => Ok(Some(o)),
            Some(_) => Err(ApiError::invalid("field_type", format!("`{k}` must be an object"), Some(k))),
        }
    };
    match kind.as_str() {
        "person" => {
            if obj("companyDetails")?.is_some() {
                return Err(ApiError::invalid(
                    "field_mismatch",
                    "a person has `personDetails`, not `companyDetails`",
                    Some("companyDetails"),
                ));
            }
            let pd = obj("personDetails")?.ok_or_else(|| {
                ApiError::invalid(
                    "field_required",
                    "`personDetails` is required for a person",
                    Some("personDetails"),
                )
            })?;
            let pre = "personDetails.";
            check_keys(pd, PERSON, pre)?;
            let first = text(pd, "firstName", pre, true, 100)?.unwrap_or_default();
            let middle = text(pd, "middleName", pre, false, 100)?;
            let last = text(pd, "lastName", pre, true, 100)?.unwrap_or_default();
            date(pd, "dob", pre)?;
            if let Some(g) = text(pd, "gender", pre, false, 10)? {
                if !matches!(g.as_str(), "male" | "female" | "other") {
                    return Err(ApiError::invalid(
                        "field_invalid",
                        "`personDetails.gender` must be male, female or other",
                        Some("personDetails.gender"),
                    ));
                }
            }
            country(pd, "nationality", pre)?;
            country(pd, "birthCountry", pre)?;
            for k in ["ssn", "socialInsuranceNumber", "nationalIdentityNumber", "taxIdentificationNumber"] {
                text(pd, k, pre, false, 64)?;
            }
            Ok([Some(first), middle, Some(last)].into_iter().flatten().collect::<Vec<_>>().join(" "))
        }
        "company" => {
            if obj("personDetails")?.is_some() {
                return Err(ApiError::invalid(
                    "field_mismatch",
                    "a company has `companyDetails`, not `personDetails`",
                    Some("personDetails"),
                ));
            }
            let cd = obj("companyDetails")?.ok_or_else(|| {
                ApiError::invalid(
                    "field_required",
                    "`companyDetails` is required for a company",
                    Some("companyDetails"),
                )
            })?;
            let pre = "companyDetails.";
            check_keys(cd, COMPANY, pre)?;
            let name = text(cd, "name", pre, true, 200)?.unwrap_or_default();
            text(cd, "website", pre, false, 200)?;
            text(cd, "registrationNumber", pre, false, 64)?;
            text(cd, "incorporationType", pre, false, 64)?;
            country(cd, "incorporationCountry", pre)?;
            Ok(name)
        }
        other => Err(ApiError::invalid(
            "field_invalid",
            format!("`type` must be person or company, not {other:?}"),
            Some("type"),
        )),
    }
}

pub async fn create(
    State(s): State<AppState>,
    caller: Caller,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let mut m = json_object(&body)?;
    m.retain(|_, v| !v.is_null());
    let entity = validate(&m)?;
    m.insert("entityName".into(), json!(entity));
    let r = new_resource::<Client>(&caller.tenant_id, None, Value::Object(m));
    s.store.insert(&r).await?;
    let out = render(&r);
    events::emit::<Client>(&s, &caller.tenant_id, "created", out.clone()).await?;
    Ok((StatusCode::CREATED, Json(out)))
}

pub async fn update(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let patch = json_object(&body)?;
    reject_unknown(&patch, TOP)?;
    let r = modify::<Client, _>(&s, &caller.tenant_id, &id, |r| {
        let Value::Object(mut body) = r.body.clone() else {
            return Err(ApiError::Internal("client body".into()));
        };
        body.remove("entityName");
        merge_patch(&mut body, patch.clone());
        let entity = validate(&body)?;
        body.insert("entityName".into(), json!(entity));
        r.body = Value::Object(body);
        Ok(())
    })
    .await?;
    let out = render(&r);
    events::emit::<Client>(&s, &caller.tenant_id, "updated", out.clone()).await?;
    Ok(Json(out))
}

/// Deletes the client and everything recorded for it (photos, documents and their files,
/// checks, addresses).
pub async fn delete(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let r = fetch::<Client>(&s, &caller.tenant_id, &id).await?;
    for kind in [
        kinds::LivePhoto::KIND,
        kinds::LiveVideo::KIND,
        kinds::Document::KIND,
        kinds::Check::KIND,
        kinds::Address::KIND,
    ] {
        loop {
            let q = verity_store::ListQuery {
                client_id: Some(id.clone()),
                page: 1,
                page_size: 100,
                ..Default::default()
            };
            let page = s.store.list(&caller.tenant_id, kind, &q).await?;
            if page.items.is_empty() {
                break;
            }
            for item in page.items {
                crate::routes::media::delete_files_of(&s, &item).await?;
                s.store.delete(&caller.tenant_id, kind, &item.id).await?;
            }
        }
    }
    s.store.delete(&caller.tenant_id, Client::KIND, &id).await?;
    events::emit::<Client>(&s, &caller.tenant_id, "deleted", json!({"id": r.id})).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn details_must_match_the_type() {
        let ok = obj(
            json!({"type": "person", "email": "j@x.io", "personDetails": {"firstName": "John", "lastName": "Doe", "dob": "1990-01-01"}}),
        );
        assert_eq!(validate(&ok).expect("valid"), "John Doe");
        let co = obj(
            json!({"type": "company", "email": "a@b.co", "companyDetails": {"name": "Acme", "incorporationCountry": "GB"}}),
        );
        assert_eq!(validate(&co).expect("valid"), "Acme");
        for (bad, param) in [
            (json!({"type": "person", "email": "j@x.io", "companyDetails": {"name": "A"}}), "companyDetails"),
            (
                json!({"type": "company", "email": "j@x.io", "personDetails": {"firstName": "A", "lastName": "B"}}),
                "personDetails",
            ),
            (json!({"type": "person", "email": "j@x.io"}), "personDetails"),
            (json!({"type": "robot", "email": "j@x.io"}), "type"),
            (
                json!({"type": "person", "email": "nope", "personDetails": {"firstName": "A", "lastName": "B"}}),
                "email",
            ),
            (
                json!({"type": "person", "email": "j@x.io", "personDetails": {"firstName": "A", "lastName": "B", "dob": "1990-02-30"}}),
                "personDetails.dob",
            ),
            (
                json!({"type": "person", "email": "j@x.io", "personDetails": {"firstName": "A", "lastName": "B", "nationality": "XX"}}),
                "personDetails.nationality",
            ),
            (
                json!({"type": "person", "email": "j@x.io", "personDetails": {"firstName": "A", "lastName": "B", "shoeSize": 9}}),
                "personDetails.shoeSize",
            ),
        ] {
            match validate(&obj(bad)) {
                Err(ApiError::Invalid { param: Some(p), .. }) => assert_eq!(p, param),
                other => panic!("expected an error on {param}, got {other:?}"),
            }
        }
    }
}
