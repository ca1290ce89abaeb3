//! Lists of resources: one kind (the API's lists) or several with filters per kind (the
//! dashboard's cases), newest first, with ComplyCube's paging and date bounds.

use sqlx::Row;

use super::rows::{bind_all, resource, valid_path, Arg, RESOURCE_COLUMNS};
use super::SqlStore;
use crate::{KindFilter, ListQuery, Page, Result, StoreError};

pub(super) async fn list(s: &SqlStore, tenant_id: &str, kinds: &[KindFilter], q: &ListQuery) -> Result<Page> {
    if kinds.is_empty() {
        return Ok(Page { items: Vec::new(), total: 0 });
    }
    let mut wh = String::from("tenant_id = ?");
    let mut args = vec![Arg::S(tenant_id.into())];
    let mut alternatives = Vec::with_capacity(kinds.len());
    for k in kinds {
        let mut alt = String::from("kind = ?");
        args.push(Arg::S(k.kind.clone()));
        filters(s, &k.filters, &mut alt, &mut args)?;
        alternatives.push(format!("({alt})"));
    }
    wh.push_str(&format!(" AND ({})", alternatives.join(" OR ")));
    if let Some(c) = &q.client_id {
        wh.push_str(" AND client_id = ?");
        args.push(Arg::S(c.clone()));
    }
    for (col, op, v) in [
        ("created_at", ">=", q.created_after),
        ("created_at", "<=", q.created_before),
        ("updated_at", ">=", q.updated_after),
        ("updated_at", "<=", q.updated_before),
    ] {
        if let Some(v) = v {
            wh.push_str(&format!(" AND {col} {op} ?"));
            args.push(Arg::I(v));
        }
    }
    filters(s, &q.filters, &mut wh, &mut args)?;
    let count_sql = s.q(&format!("SELECT COUNT(*) AS n FROM resources WHERE {wh}"));
    let total: i64 = bind_all(sqlx::query(&count_sql), &args).fetch_one(&s.pool).await?.try_get("n")?;
    let page = q.page.max(1) as i64;
    let size = q.page_size.max(1) as i64;
    let list_sql = s.q(&format!(
        "SELECT {RESOURCE_COLUMNS} FROM resources WHERE {wh} ORDER BY created_at DESC, id DESC \
         LIMIT ? OFFSET ?"
    ));
    let rows =
        bind_all(sqlx::query(&list_sql), &args).bind(size).bind((page - 1) * size).fetch_all(&s.pool).await?;
    Ok(Page { items: rows.iter().map(resource).collect::<Result<_>>()?, total: total.max(0) as u64 })
}

/// ` AND <body path> = ?` for each filter.
fn filters(s: &SqlStore, filters: &[(String, String)], wh: &mut String, args: &mut Vec<Arg>) -> Result<()> {
    for (path, value) in filters {
        if !valid_path(path) {
            return Err(StoreError::BadFilter(path.clone()));
        }
        wh.push_str(&format!(" AND {} = ?", s.json_text()));
        args.push(Arg::S(s.json_path_arg(path)));
        args.push(Arg::S(value.clone()));
    }
    Ok(())
}
