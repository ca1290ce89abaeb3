//! What every resource shares: JSON rendering (id, camelCase body, timestamps; the internal
//! state is stored apart and never rendered), list queries in ComplyCube's form, lookups that
//! answer 404 for another tenant's ids, JSON body parsing with clear errors, and the generic
//! `get` and `list` handlers over a resource type's description ([`Kind`]).

mod id;
pub mod kinds;

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use serde_json::{json, Map, Value};
use verity_store::time::{format_ms, now_ms, parse};
use verity_store::{ListQuery, Resource};

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::ids::new_id;
use crate::AppState;
pub use id::Id;
pub use kinds::{Internal, Kind};

/// The public JSON of a resource: its id, its body, its timestamps.
pub fn render(r: &Resource) -> Value {
    let mut out = Map::new();
    out.insert("id".into(), json!(r.id));
    if let Value::Object(body) = &r.body {
        for (k, v) in body {
            out.insert(k.clone(), v.clone());
        }
    }
    out.insert("createdAt".into(), json!(format_ms(r.created_at)));
    out.insert("updatedAt".into(), json!(format_ms(r.updated_at)));
    Value::Object(out)
}

/// A new resource of type `K` (not stored yet), with nothing kept internally.
pub fn new_resource<K: Kind>(tenant: &str, client_id: Option<String>, body: Value) -> Resource {
    let now = now_ms();
    Resource {
        id: new_id(),
        tenant_id: tenant.into(),
        kind: K::KIND.into(),
        client_id,
        created_at: now,
        updated_at: now,
        version: 0,
        body,
        internal: json!({}),
    }
}

/// Fetches a resource of type `K` of the caller's tenant, or 404 (an id of another tenant, of
/// another type, or not shaped like an id at all).
pub async fn fetch<K: Kind>(state: &AppState, tenant: &str, id: &str) -> ApiResult<Resource> {
    let what = K::NOUN;
    let id = Id::<K>::parse(id).ok_or(ApiError::NotFound { what })?;
    state.store.get(tenant, K::KIND, id.stored()).await?.ok_or(ApiError::NotFound { what })
}

/// `GET /v1/{resources}/{id}` for any resource type.
pub async fn get<K: Kind>(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Value>> {
    Ok(axum::Json(K::render(&fetch::<K>(&s, &caller.tenant_id, &id).await?)))
}

/// `GET /v1/{resources}` for any resource type: ComplyCube's paging, date bounds, `clientId` and
/// the type's filters.
pub async fn list<K: Kind>(
    State(s): State<AppState>,
    caller: Caller,
    Query(params): Query<HashMap<String, String>>,
) -> ApiResult<axum::Json<Value>> {
    let q = list_query(&params, K::FILTERS)?;
    let page = s.store.list(&caller.tenant_id, K::KIND, &q).await?;
    Ok(axum::Json(page_json(&q, page.total, page.items.iter().map(K::render).collect())))
}

/// A read-modify-write of one resource that loses no concurrent change: reads the resource,
/// applies `change`, and writes it only if nobody wrote it since (the row's version); otherwise
/// reads it again and re-applies `change`. `change` may refuse (its error is returned, nothing
/// is written). Answers the resource as written, or 404 when it is gone.
pub async fn modify<K: Kind, F>(
    state: &AppState,
    tenant: &str,
    id: &str,
    mut change: F,
) -> ApiResult<Resource>
where
    F: FnMut(&mut Resource) -> ApiResult<()>,
{
    let what = K::NOUN;
    for attempt in 0..64u32 {
        let mut r = fetch::<K>(state, tenant, id).await?;
        change(&mut r)?;
        r.updated_at = now_ms().max(r.updated_at);
        if state.store.update(&r).await? {
            r.version += 1;
            return Ok(r);
        }
        // Someone wrote it first: back off a little (jittered) and apply the change again.
        let jitter = u64::from(crate::ids::random_u32() % 4 + 1) * u64::from(attempt.min(8) + 1);
        tokio::time::sleep(std::time::Duration::from_millis(jitter)).await;
    }
    Err(ApiError::Conflict(format!("the {what} is being changed by other requests: try again")))
}

/// The one update rule of every resource: a JSON merge patch (RFC 7396) — objects merge field by
/// field, `null` removes, anything else replaces — except `metadata`, the caller's free-form
/// object, which a patch replaces whole. Each resource validates its whole body after the merge.
pub fn merge_patch(base: &mut Map<String, Value>, patch: Map<String, Value>) {
    for (k, v) in patch {
        match (base.get_mut(&k), v) {
            (Some(Value::Object(b)), Value::Object(p)) if k != "metadata" => merge_patch(b, p),
            (_, Value::Null) => {
                base.remove(&k);
            }
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}

/// Parses a JSON object body.
pub fn json_object(body: &Bytes) -> ApiResult<Map<String, Value>> {
    if body.is_empty() {
        return Err(ApiError::bad("body_empty", "the request body is empty: send a JSON object", None));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(ApiError::bad("body_not_object", "the request body must be a JSON object", None)),
        Err(e) => {
            Err(ApiError::bad("body_invalid_json", format!("the request body is not valid JSON: {e}"), None))
        }
    }
}

/// A string field.
pub fn string_field(m: &Map<String, Value>, name: &str, required: bool) -> ApiResult<Option<String>> {
    match m.get(name) {
        None | Some(Value::Null) if required => {
            Err(ApiError::invalid("field_required", format!("`{name}` is required"), Some(name)))
        }
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() && required => {
            Err(ApiError::invalid("field_required", format!("`{name}` must not be empty"), Some(name)))
        }
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(ApiError::invalid("field_type", format!("`{name}` must be a string"), Some(name))),
    }
}

const RESERVED: &[&str] =
    &["page", "pageSize", "createdAfter", "createdBefore", "updatedAfter", "updatedBefore", "clientId"];

/// `page`, `pageSize` (≤ 100, default 100), date bounds, `clientId`, and any other
/// `field` or `dotted.field` as an equality filter on the body.
pub fn list_query(params: &HashMap<String, String>, allowed_filters: &[&str]) -> ApiResult<ListQuery> {
    let int = |name: &str, default: u32, max: u32| -> ApiResult<u32> {
        match params.get(name) {
            None => Ok(default),
            Some(v) => match v.parse::<u32>() {
                Ok(n) if n >= 1 && n <= max => Ok(n),
                _ => Err(ApiError::bad(
                    "bad_query",
                    format!("`{name}` must be a whole number from 1 to {max}"),
                    Some(name),
                )),
            },
        }
    };
    let date = |name: &str| -> ApiResult<Option<i64>> {
        params
            .get(name)
            .map(|v| {
                parse(v).ok_or_else(|| {
                    ApiError::bad(
                        "bad_query",
                        format!("`{name}` must be a date (YYYY-MM-DD or ISO 8601)"),
                        Some(name),
                    )
                })
            })
            .transpose()
    };
    let mut filters = Vec::new();
    for (k, v) in params {
        if RESERVED.contains(&k.as_str()) {
            continue;
        }
        let root = k.split('.').next().unwrap_or("");
        if !allowed_filters.contains(&root) {
            return Err(ApiError::bad("bad_query", format!("unknown query parameter `{k}`"), Some(k)));
        }
        filters.push((k.clone(), v.clone()));
    }
    filters.sort();
    Ok(ListQuery {
        client_id: params.get("clientId").cloned(),
        created_after: date("createdAfter")?,
        created_before: date("createdBefore")?,
        updated_after: date("updatedAfter")?,
        updated_before: date("updatedBefore")?,
        filters,
        page: int("page", 1, 1_000_000)?,
        page_size: int("pageSize", 100, 100)?,
    })
}

/// Refuses a body with a field outside `allowed`, naming it.
pub fn reject_unknown(m: &Map<String, Value>, allowed: &[&str]) -> ApiResult<()> {
    match m.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(ApiError::invalid("field_unknown", format!("unknown field `{k}`"), Some(k))),
        None => Ok(()),
    }
}

/// ComplyCube's list envelope.
pub fn page_json(q: &ListQuery, total: u64, items: Vec<Value>) -> Value {
    let size = q.page_size.max(1) as u64;
    json!({
        "page": q.page,
        "pageSize": q.page_size,
        "totalItems": total,
        "pages": total.div_ceil(size),
        "items": items,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patches_merge_objects_remove_nulls_and_replace_metadata_whole() {
        let obj = |v: Value| v.as_object().cloned().unwrap_or_default();
        let mut base = obj(json!({"personDetails": {"firstName": "John", "lastName": "Doe"}, "mobile": "1",
            "metadata": {"a": 1, "b": 2}, "events": ["x", "y"]}));
        merge_patch(
            &mut base,
            obj(
                json!({"personDetails": {"lastName": "Smith"}, "mobile": null, "metadata": {"c": 3}, "events": ["z"]}),
            ),
        );
        assert_eq!(
            Value::Object(base),
            json!({"personDetails": {"firstName": "John", "lastName": "Smith"}, "metadata": {"c": 3}, "events": ["z"]})
        );
    }

    #[test]
    fn list_queries_are_parsed_and_checked() {
        let p = |pairs: &[(&str, &str)]| {
            pairs.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect::<HashMap<_, _>>()
        };
        let q = list_query(
            &p(&[("page", "2"), ("pageSize", "10"), ("personDetails.firstName", "John")]),
            &["personDetails"],
        )
        .expect("ok");
        assert_eq!((q.page, q.page_size), (2, 10));
        assert_eq!(q.filters, vec![("personDetails.firstName".to_string(), "John".to_string())]);
        assert!(list_query(&p(&[("pageSize", "1000")]), &[]).is_err());
        assert!(list_query(&p(&[("page", "0")]), &[]).is_err());
        assert!(list_query(&p(&[("createdAfter", "yesterday")]), &[]).is_err());
        assert!(list_query(&p(&[("password", "x")]), &["email"]).is_err());
        let env = page_json(&q, 21, vec![]);
        assert_eq!(env["pages"], 3);
    }
}
