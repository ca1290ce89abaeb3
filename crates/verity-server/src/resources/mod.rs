//! What every resource shares: JSON rendering (id, camelCase body, timestamps; `_`-prefixed
//! internal fields never leave), list queries in ComplyCube's form, lookups that answer 404 for
//! another tenant's ids, JSON body parsing with clear errors.

use std::collections::HashMap;

use axum::body::Bytes;
use serde_json::{json, Map, Value};
use verity_store::time::{format_ms, now_ms, parse};
use verity_store::{ListQuery, Resource};

use crate::error::{ApiError, ApiResult};
use crate::ids::{looks_like_id, new_id};
use crate::AppState;

/// The public JSON of a resource.
pub fn render(r: &Resource) -> Value {
    let mut out = Map::new();
    out.insert("id".into(), json!(r.id));
    if let Value::Object(body) = &r.body {
        for (k, v) in body {
            if !k.starts_with('_') {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    out.insert("createdAt".into(), json!(format_ms(r.created_at)));
    out.insert("updatedAt".into(), json!(format_ms(r.updated_at)));
    Value::Object(out)
}

pub fn new_resource(tenant: &str, kind: &str, client_id: Option<String>, body: Value) -> Resource {
    let now = now_ms();
    Resource {
        id: new_id(),
        tenant_id: tenant.into(),
        kind: kind.into(),
        client_id,
        created_at: now,
        updated_at: now,
        version: 0,
        body,
    }
}

/// Fetches a resource of the caller's tenant, or 404.
pub async fn fetch(
    state: &AppState,
    tenant: &str,
    kind: &'static str,
    what: &'static str,
    id: &str,
) -> ApiResult<Resource> {
    if !looks_like_id(id) {
        return Err(ApiError::NotFound { what });
    }
    state.store.get(tenant, kind, id).await?.ok_or(ApiError::NotFound { what })
}

/// A read-modify-write of one resource that loses no concurrent change: reads the resource,
/// applies `change`, and writes it only if nobody wrote it since (the row's version); otherwise
/// reads it again and re-applies `change`. `change` may refuse (its error is returned, nothing
/// is written). Answers the resource as written, or 404 when it is gone.
pub async fn modify<F>(
    state: &AppState,
    tenant: &str,
    kind: &'static str,
    what: &'static str,
    id: &str,
    mut change: F,
) -> ApiResult<Resource>
where
    F: FnMut(&mut Resource) -> ApiResult<()>,
{
    for attempt in 0..64u32 {
        let mut r = fetch(state, tenant, kind, what, id).await?;
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

/// A list endpoint: parses the query (with the filters `allowed` for this kind), lists, renders.
pub async fn list_of(
    s: &AppState,
    tenant: &str,
    kind: &str,
    params: &HashMap<String, String>,
    allowed: &[&str],
) -> ApiResult<axum::Json<Value>> {
    let q = list_query(params, allowed)?;
    let page = s.store.list(tenant, kind, &q).await?;
    Ok(axum::Json(page_json(&q, page.total, page.items.iter().map(render).collect())))
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
