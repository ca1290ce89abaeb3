//! Rows to values and back: placeholders per dialect, row mapping (with the split of legacy
//! internal state), run-time bind arguments, filter path validation.

use sqlx::any::AnyRow;
use sqlx::Row;

use super::Dialect;
use crate::{ApiKey, Job, Resource, Result, StoreError};

/// Rewrites `?` placeholders as `$1, $2, …` for PostgreSQL (queries here never contain a
/// literal `?`).
pub(super) fn placeholders(sql: &str, d: Dialect) -> String {
    if d == Dialect::Sqlite {
        return sql.to_string();
    }
    let mut out = String::with_capacity(sql.len() + 8);
    let mut n = 0;
    for c in sql.chars() {
        if c == '?' {
            n += 1;
            out.push('$');
            out.push_str(&n.to_string());
        } else {
            out.push(c);
        }
    }
    out
}

pub(super) fn malformed(e: serde_json::Error) -> StoreError {
    StoreError::Malformed(e.to_string())
}

/// The columns of a resource row, in the order [`resource`] reads them.
pub(super) const RESOURCE_COLUMNS: &str =
    "id, tenant_id, kind, client_id, created_at, updated_at, version, body, internal";

pub(super) fn resource(row: &AnyRow) -> Result<Resource> {
    let body: String = row.try_get("body")?;
    let internal: String = row.try_get("internal")?;
    let mut r = Resource {
        id: row.try_get("id")?,
        tenant_id: row.try_get("tenant_id")?,
        kind: row.try_get("kind")?,
        client_id: row.try_get("client_id")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        version: row.try_get("version")?,
        body: serde_json::from_str(&body).map_err(malformed)?,
        internal: serde_json::from_str(&internal).map_err(malformed)?,
    };
    split_legacy_internal(&mut r);
    Ok(r)
}

/// Rows written before migration 3 kept their internal state in the body under `_`-prefixed
/// keys (`_files`, `_secret`, `_inUse`): they move to `internal`, without the underscore, when
/// read (and stay there at the next write).
pub(super) fn split_legacy_internal(r: &mut Resource) {
    let serde_json::Value::Object(body) = &mut r.body else { return };
    let legacy: Vec<String> = body.keys().filter(|k| k.starts_with('_')).cloned().collect();
    if legacy.is_empty() {
        return;
    }
    if !r.internal.is_object() {
        r.internal = serde_json::json!({});
    }
    for k in legacy {
        if let (Some(v), Some(internal)) = (body.remove(&k), r.internal.as_object_mut()) {
            internal.entry(k.trim_start_matches('_').to_string()).or_insert(v);
        }
    }
}

pub(super) fn key(row: &AnyRow) -> Result<ApiKey> {
    Ok(ApiKey {
        id: row.try_get("id")?,
        tenant_id: row.try_get("tenant_id")?,
        name: row.try_get("name")?,
        prefix: row.try_get("prefix")?,
        key_hash: row.try_get("key_hash")?,
        created_at: row.try_get("created_at")?,
        revoked_at: row.try_get("revoked_at")?,
    })
}

pub(super) fn job(row: &AnyRow) -> Result<Job> {
    let payload: String = row.try_get("payload")?;
    Ok(Job {
        id: row.try_get("id")?,
        kind: row.try_get("kind")?,
        payload: serde_json::from_str(&payload).map_err(malformed)?,
        state: row.try_get("state")?,
        attempts: row.try_get("attempts")?,
        max_attempts: row.try_get("max_attempts")?,
        run_at: row.try_get("run_at")?,
        lease_until: row.try_get("lease_until")?,
        last_error: row.try_get("last_error")?,
    })
}

/// A bind argument of a query built at run time.
pub(super) enum Arg {
    S(String),
    I(i64),
}

pub(super) type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

pub(super) fn bind_all<'q>(mut q: AnyQuery<'q>, args: &[Arg]) -> AnyQuery<'q> {
    for a in args {
        q = match a {
            Arg::S(s) => q.bind(s.clone()),
            Arg::I(i) => q.bind(*i),
        };
    }
    q
}

/// A dotted path of plain field names (`personDetails.firstName`).
pub(super) fn valid_path(p: &str) -> bool {
    !p.is_empty()
        && p.len() <= 128
        && p.split('.').all(|s| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
}
