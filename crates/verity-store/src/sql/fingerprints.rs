//! The `fingerprints` table: what is kept of each verification for duplicate searches, read
//! incrementally by each process's in-memory gallery; deletions leave a tombstone (no data).

use sqlx::Row;

use super::SqlStore;
use crate::{FingerprintRow, Result};

pub(super) async fn insert(s: &SqlStore, f: &FingerprintRow) -> Result<()> {
    sqlx::query(
        &s.q("INSERT INTO fingerprints (id, tenant_id, owner_id, data, created_at) VALUES (?, ?, ?, ?, ?)"),
    )
    .bind(&f.id)
    .bind(&f.tenant_id)
    .bind(&f.owner_id)
    .bind(&f.data)
    .bind(f.created_at)
    .execute(&s.pool)
    .await?;
    Ok(())
}

pub(super) async fn since(s: &SqlStore, tenant_id: &str, since: i64) -> Result<Vec<FingerprintRow>> {
    let rows = sqlx::query(&s.q("SELECT id, tenant_id, owner_id, data, created_at FROM fingerprints \
         WHERE tenant_id = ? AND created_at >= ? ORDER BY created_at, id"))
    .bind(tenant_id)
    .bind(since)
    .fetch_all(&s.pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(FingerprintRow {
                id: r.try_get("id")?,
                tenant_id: r.try_get("tenant_id")?,
                owner_id: r.try_get("owner_id")?,
                data: r.try_get("data")?,
                created_at: r.try_get("created_at")?,
            })
        })
        .collect()
}

pub(super) async fn delete(s: &SqlStore, tombstone: &FingerprintRow) -> Result<()> {
    let mut tx = s.pool.begin().await?;
    sqlx::query(&s.q("DELETE FROM fingerprints WHERE tenant_id = ? AND owner_id = ? AND data IS NOT NULL"))
        .bind(&tombstone.tenant_id)
        .bind(&tombstone.owner_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        &s.q(
            "INSERT INTO fingerprints (id, tenant_id, owner_id, data, created_at) VALUES (?, ?, ?, NULL, ?)",
        ),
    )
    .bind(&tombstone.id)
    .bind(&tombstone.tenant_id)
    .bind(&tombstone.owner_id)
    .bind(tombstone.created_at)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}
