//! `/v1/addresses`: a client's residential or business addresses, in ComplyCube's shape
//! (`type` main | alternative | other, `line`, `city`, `country` required, ISO alpha-2 country,
//! `fromDate` ≤ `toDate`).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Map, Value};

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::resources::kinds::Address;
use crate::resources::{fetch, json_object, merge_patch, modify, new_resource, reject_unknown, render, Kind};
use crate::routes::clients::{check_keys, country, date, text};
use crate::routes::media::client_of;
use crate::{events, AppState};

/// The fields of an address body (besides `clientId`).
pub const FIELDS: &[&str] = &[
    "type",
    "propertyNumber",
    "buildingName",
    "line",
    "city",
    "state",
    "postalCode",
    "country",
    "fromDate",
    "toDate",
];

pub const TYPES: &[&str] = &["main", "alternative", "other"];

/// Validates a whole address body (after a merge for updates).
fn validate(m: &Map<String, Value>) -> ApiResult<()> {
    check_keys(m, FIELDS, "")?;
    let kind = text(m, "type", "", true, 16)?.unwrap_or_default();
    if !TYPES.contains(&kind.as_str()) {
        return Err(ApiError::invalid(
            "field_invalid",
            format!("`type` must be main, alternative or other, not {kind:?}"),
            Some("type"),
        ));
    }
    text(m, "line", "", true, 255)?;
    text(m, "city", "", true, 100)?;
    for k in ["propertyNumber", "buildingName", "state", "postalCode"] {
        text(m, k, "", false, 100)?;
    }
    if text(m, "country", "", true, 2)?.is_some() {
        country(m, "country", "")?;
    }
    date(m, "fromDate", "")?;
    date(m, "toDate", "")?;
    if let (Some(Value::String(from)), Some(Value::String(to))) = (m.get("fromDate"), m.get("toDate")) {
        if from > to {
            return Err(ApiError::invalid(
                "field_invalid",
                "`fromDate` must not be after `toDate`",
                Some("fromDate"),
            ));
        }
    }
    Ok(())
}

fn trimmed(m: Map<String, Value>) -> Map<String, Value> {
    m.into_iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| match v {
            Value::String(s) => (k, Value::String(s.trim().to_string())),
            v => (k, v),
        })
        .collect()
}

pub async fn create(
    State(s): State<AppState>,
    caller: Caller,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let m = json_object(&body)?;
    let client = client_of(&s, &caller.tenant_id, &m).await?;
    let mut fields = trimmed(m);
    fields.remove("clientId");
    fields.entry("type").or_insert_with(|| json!("main"));
    validate(&fields)?;
    let mut out = Map::new();
    out.insert("clientId".into(), json!(client.id));
    out.extend(fields);
    let r = new_resource::<Address>(&caller.tenant_id, Some(client.id), Value::Object(out));
    s.store.insert(&r).await?;
    let rendered = render(&r);
    events::emit::<Address>(&s, &caller.tenant_id, "created", rendered.clone()).await?;
    Ok((StatusCode::CREATED, Json(rendered)))
}

pub async fn update(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let patch = json_object(&body)?;
    let mut allowed = FIELDS.to_vec();
    allowed.push("clientId");
    reject_unknown(&patch, &allowed)?;
    let r = modify::<Address, _>(&s, &caller.tenant_id, &id, |r| {
        let Value::Object(mut current) = r.body.clone() else {
            return Err(ApiError::Internal("address body".into()));
        };
        let client_id = current.remove("clientId").unwrap_or(Value::Null);
        if patch.get("clientId").is_some_and(|c| *c != client_id) {
            return Err(ApiError::invalid(
                "field_immutable",
                "an address cannot move to another client",
                Some("clientId"),
            ));
        }
        // Strings trimmed; `null` stays in the patch: it removes the field.
        let changes = patch
            .iter()
            .filter(|(k, _)| k.as_str() != "clientId")
            .map(|(k, v)| match v {
                Value::String(s) => (k.clone(), Value::String(s.trim().to_string())),
                v => (k.clone(), v.clone()),
            })
            .collect();
        merge_patch(&mut current, changes);
        validate(&current)?;
        let mut out = Map::new();
        out.insert("clientId".into(), client_id);
        out.extend(current);
        r.body = Value::Object(out);
        Ok(())
    })
    .await?;
    let rendered = render(&r);
    events::emit::<Address>(&s, &caller.tenant_id, "updated", rendered.clone()).await?;
    Ok(Json(rendered))
}

pub async fn delete(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let r = fetch::<Address>(&s, &caller.tenant_id, &id).await?;
    s.store.delete(&caller.tenant_id, Address::KIND, &id).await?;
    events::emit::<Address>(&s, &caller.tenant_id, "deleted", json!({"id": r.id})).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn addresses_are_validated() {
        let ok = json!({"type": "main", "line": "1 Main St", "city": "London", "country": "GB", "postalCode": "N1 9GU", "fromDate": "2019-01-01", "toDate": "2020-02-01"});
        validate(&obj(ok)).expect("valid");
        for (bad, param) in [
            (json!({"type": "home", "line": "x", "city": "y", "country": "GB"}), "type"),
            (json!({"type": "main", "city": "y", "country": "GB"}), "line"),
            (json!({"type": "main", "line": "x", "country": "GB"}), "city"),
            (json!({"type": "main", "line": "x", "city": "y"}), "country"),
            (json!({"type": "main", "line": "x", "city": "y", "country": "GBR"}), "country"),
            (json!({"type": "main", "line": "x", "city": "y", "country": "ZZ"}), "country"),
            (
                json!({"type": "main", "line": "x", "city": "y", "country": "GB", "fromDate": "2021-01-01", "toDate": "2020-01-01"}),
                "fromDate",
            ),
            (
                json!({"type": "main", "line": "x", "city": "y", "country": "GB", "toDate": "2999-01-01"}),
                "toDate",
            ),
            (json!({"type": "main", "line": "x", "city": "y", "country": "GB", "floor": 3}), "floor"),
        ] {
            match validate(&obj(bad)) {
                Err(ApiError::Invalid { param: Some(p), .. }) => assert_eq!(p, param),
                other => panic!("expected an error on {param}, got {other:?}"),
            }
        }
    }
}
