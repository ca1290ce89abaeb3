//! The `webhook_deliveries` log: one row per attempt to deliver an event, under its owner (a
//! webhook, or a verification delivered to its `webhook_url`).

use sqlx::any::AnyRow;
use sqlx::Row;

use super::SqlStore;
use crate::{Delivery, Result};

const COLUMNS: &str =
    "id, webhook_id, event_id, attempt, status_code, error, created_at, latency_ms, next_retry_at";

fn row(r: &AnyRow) -> Result<Delivery> {
    Ok(Delivery {
        id: r.try_get("id")?,
        webhook_id: r.try_get("webhook_id")?,
        event_id: r.try_get("event_id")?,
        attempt: r.try_get("attempt")?,
        status_code: r.try_get("status_code")?,
        error: r.try_get("error")?,
        created_at: r.try_get("created_at")?,
        latency_ms: r.try_get("latency_ms")?,
        next_retry_at: r.try_get("next_retry_at")?,
    })
}

pub(super) async fn insert(s: &SqlStore, tenant_id: &str, d: &Delivery) -> Result<()> {
    sqlx::query(&s.q(&format!(
        "INSERT INTO webhook_deliveries (tenant_id, {COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    )))
    .bind(tenant_id)
    .bind(&d.id)
    .bind(&d.webhook_id)
    .bind(&d.event_id)
    .bind(d.attempt)
    .bind(d.status_code)
    .bind(&d.error)
    .bind(d.created_at)
    .bind(d.latency_ms)
    .bind(d.next_retry_at)
    .execute(&s.pool)
    .await?;
    Ok(())
}

/// The last 100 attempts of an owner, newest first.
pub(super) async fn of(s: &SqlStore, tenant_id: &str, owner: &str) -> Result<Vec<Delivery>> {
    let rows = sqlx::query(&s.q(&format!(
        "SELECT {COLUMNS} FROM webhook_deliveries WHERE tenant_id = ? AND webhook_id = ? \
         ORDER BY created_at DESC, id DESC LIMIT 100"
    )))
    .bind(tenant_id)
    .bind(owner)
    .fetch_all(&s.pool)
    .await?;
    rows.iter().map(row).collect()
}

pub(super) async fn one(s: &SqlStore, tenant_id: &str, id: &str) -> Result<Option<Delivery>> {
    let r = sqlx::query(
        &s.q(&format!("SELECT {COLUMNS} FROM webhook_deliveries WHERE tenant_id = ? AND id = ?")),
    )
    .bind(tenant_id)
    .bind(id)
    .fetch_optional(&s.pool)
    .await?;
    r.as_ref().map(row).transpose()
}
