//! The SQL implementation over sqlx's `Any` driver (SQLite or PostgreSQL).

use async_trait::async_trait;
use sqlx::any::AnyPoolOptions;
use sqlx::{AnyPool, Row};

mod deliveries;
mod fingerprints;
mod list;
mod rows;
mod users;

use crate::migrations::MIGRATIONS;
use crate::{
    ApiKey, Delivery, Event, FingerprintRow, Job, JobCounts, KindFilter, ListQuery, NewJob, Page, Resource,
    Result, Session, Storage, StoreError, Tenant, User,
};
use rows::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dialect {
    Sqlite,
    Postgres,
}

/// SQLite or PostgreSQL, chosen from the URL once.
pub struct SqlStore {
    pool: AnyPool,
    dialect: Dialect,
}

impl std::fmt::Debug for SqlStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlStore").field("dialect", &self.dialect).finish()
    }
}

impl SqlStore {
    /// Connects (creating a SQLite file if needed) and migrates.
    pub async fn connect(url: &str) -> Result<Self> {
        sqlx::any::install_default_drivers();
        let (dialect, url, max) = if let Some(rest) = url.strip_prefix("sqlite:") {
            let path = rest.trim_start_matches("//");
            let url = if path.contains('?') || path == ":memory:" {
                format!("sqlite://{path}")
            } else {
                format!("sqlite://{path}?mode=rwc")
            };
            // One writer at a time in SQLite; readers go in parallel (WAL).
            (Dialect::Sqlite, url, if path == ":memory:" { 1 } else { 8 })
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            (Dialect::Postgres, url.to_string(), 16)
        } else {
            return Err(StoreError::UnsupportedUrl(url.to_string()));
        };
        let mut opts = AnyPoolOptions::new().max_connections(max);
        if dialect == Dialect::Sqlite {
            opts = opts.after_connect(|conn, _| {
                Box::pin(async move {
                    use sqlx::Executor;
                    conn.execute("PRAGMA busy_timeout = 10000").await?;
                    conn.execute("PRAGMA synchronous = NORMAL").await?;
                    conn.execute("PRAGMA foreign_keys = ON").await?;
                    Ok(())
                })
            });
        }
        let pool = opts.connect(&url).await?;
        if dialect == Dialect::Sqlite {
            sqlx::query("PRAGMA journal_mode = WAL").execute(&pool).await?;
        }
        let store = Self { pool, dialect };
        store.migrate().await?;
        Ok(store)
    }

    fn q(&self, sql: &str) -> String {
        placeholders(sql, self.dialect)
    }

    async fn migrate(&self) -> Result<()> {
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, \
             description TEXT NOT NULL, applied_at BIGINT NOT NULL)",
        )
        .execute(&self.pool)
        .await?;
        for (version, description, statements) in MIGRATIONS {
            let mut tx = self.pool.begin().await?;
            let done = sqlx::query(&self.q("SELECT version FROM schema_migrations WHERE version = ?"))
                .bind(*version)
                .fetch_optional(&mut *tx)
                .await?;
            if done.is_some() {
                continue;
            }
            for s in *statements {
                sqlx::query(s).execute(&mut *tx).await?;
            }
            sqlx::query(
                &self.q("INSERT INTO schema_migrations (version, description, applied_at) VALUES (?, ?, ?)"),
            )
            .bind(*version)
            .bind(*description)
            .bind(crate::time::now_ms())
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
        }
        Ok(())
    }

    fn json_text(&self) -> &'static str {
        match self.dialect {
            Dialect::Sqlite => "CAST(json_extract(body, ?) AS TEXT)",
            Dialect::Postgres => "(CAST(body AS jsonb) #>> string_to_array(?, '.'))",
        }
    }

    fn json_path_arg(&self, dotted: &str) -> String {
        match self.dialect {
            Dialect::Sqlite => format!("$.{dotted}"),
            Dialect::Postgres => dotted.to_string(),
        }
    }
}

#[async_trait]
impl Storage for SqlStore {
    fn backend(&self) -> &'static str {
        match self.dialect {
            Dialect::Sqlite => "sqlite",
            Dialect::Postgres => "postgres",
        }
    }

    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn create_tenant(&self, t: &Tenant) -> Result<()> {
        sqlx::query(&self.q("INSERT INTO tenants (id, name, created_at) VALUES (?, ?, ?)"))
            .bind(&t.id)
            .bind(&t.name)
            .bind(t.created_at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn tenant(&self, id: &str) -> Result<Option<Tenant>> {
        let row = sqlx::query(&self.q("SELECT id, name, created_at FROM tenants WHERE id = ?"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| {
            Ok(Tenant {
                id: r.try_get("id")?,
                name: r.try_get("name")?,
                created_at: r.try_get("created_at")?,
            })
        })
        .transpose()
    }

    async fn create_key(&self, k: &ApiKey) -> Result<()> {
        sqlx::query(
            &self.q("INSERT INTO api_keys (id, tenant_id, name, prefix, key_hash, created_at, revoked_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?)"),
        )
        .bind(&k.id)
        .bind(&k.tenant_id)
        .bind(&k.name)
        .bind(&k.prefix)
        .bind(&k.key_hash)
        .bind(k.created_at)
        .bind(k.revoked_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn key_by_hash(&self, hash: &str) -> Result<Option<ApiKey>> {
        let row = sqlx::query(
            &self.q("SELECT id, tenant_id, name, prefix, key_hash, created_at, revoked_at FROM api_keys \
             WHERE key_hash = ? AND revoked_at IS NULL"),
        )
        .bind(hash)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(key).transpose()
    }

    async fn list_keys(&self) -> Result<Vec<ApiKey>> {
        let rows = sqlx::query(
            "SELECT id, tenant_id, name, prefix, key_hash, created_at, revoked_at FROM api_keys \
             ORDER BY created_at, id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(key).collect()
    }

    async fn revoke_key(&self, id_or_prefix: &str, now: i64) -> Result<u64> {
        let r = sqlx::query(
            &self.q("UPDATE api_keys SET revoked_at = ? WHERE (id = ? OR prefix = ?) AND revoked_at IS NULL"),
        )
        .bind(now)
        .bind(id_or_prefix)
        .bind(id_or_prefix)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected())
    }

    async fn insert(&self, r: &Resource) -> Result<()> {
        sqlx::query(&self.q(
            "INSERT INTO resources (id, tenant_id, kind, client_id, created_at, updated_at, version, body, \
             internal) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        ))
        .bind(&r.id)
        .bind(&r.tenant_id)
        .bind(&r.kind)
        .bind(&r.client_id)
        .bind(r.created_at)
        .bind(r.updated_at)
        .bind(r.version)
        .bind(r.body.to_string())
        .bind(r.internal.to_string())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn get(&self, tenant_id: &str, kind: &str, id: &str) -> Result<Option<Resource>> {
        let row = sqlx::query(&self.q(&format!(
            "SELECT {RESOURCE_COLUMNS} FROM resources WHERE id = ? AND tenant_id = ? AND kind = ?"
        )))
        .bind(id)
        .bind(tenant_id)
        .bind(kind)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(resource).transpose()
    }

    async fn update(&self, r: &Resource) -> Result<bool> {
        let res = sqlx::query(
            &self.q("UPDATE resources SET body = ?, internal = ?, client_id = ?, updated_at = ?, \
             version = version + 1 WHERE id = ? AND tenant_id = ? AND kind = ? AND version = ?"),
        )
        .bind(r.body.to_string())
        .bind(r.internal.to_string())
        .bind(&r.client_id)
        .bind(r.updated_at)
        .bind(&r.id)
        .bind(&r.tenant_id)
        .bind(&r.kind)
        .bind(r.version)
        .execute(&self.pool)
        .await?;
        Ok(res.rows_affected() == 1)
    }

    async fn delete_unchanged(&self, r: &Resource) -> Result<bool> {
        let res = sqlx::query(
            &self.q("DELETE FROM resources WHERE id = ? AND tenant_id = ? AND kind = ? AND version = ?"),
        )
        .bind(&r.id)
        .bind(&r.tenant_id)
        .bind(&r.kind)
        .bind(r.version)
        .execute(&self.pool)
        .await?;
        Ok(res.rows_affected() == 1)
    }

    async fn delete(&self, tenant_id: &str, kind: &str, id: &str) -> Result<bool> {
        let res = sqlx::query(&self.q("DELETE FROM resources WHERE id = ? AND tenant_id = ? AND kind = ?"))
            .bind(id)
            .bind(tenant_id)
            .bind(kind)
            .execute(&self.pool)
            .await?;
        Ok(res.rows_affected() == 1)
    }

    async fn list(&self, tenant_id: &str, kind: &str, q: &ListQuery) -> Result<Page> {
        let only = KindFilter { kind: kind.to_string(), filters: Vec::new() };
        list::list(self, tenant_id, std::slice::from_ref(&only), q).await
    }

    async fn list_across(&self, tenant_id: &str, kinds: &[KindFilter], q: &ListQuery) -> Result<Page> {
        list::list(self, tenant_id, kinds, q).await
    }

    async fn enqueue(&self, j: &NewJob) -> Result<()> {
        let now = crate::time::now_ms();
        sqlx::query(
            &self.q(
                "INSERT INTO jobs (id, kind, payload, state, attempts, max_attempts, run_at, lease_until, \
             last_error, created_at, updated_at) VALUES (?, ?, ?, 'queued', 0, ?, ?, NULL, NULL, ?, ?)",
            ),
        )
        .bind(&j.id)
        .bind(&j.kind)
        .bind(j.payload.to_string())
        .bind(j.max_attempts)
        .bind(j.run_at)
        .bind(now)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn claim(&self, now: i64, lease_ms: i64) -> Result<Option<Job>> {
        let lock = match self.dialect {
            Dialect::Sqlite => "",
            Dialect::Postgres => " FOR UPDATE SKIP LOCKED",
        };
        let sql = self.q(&format!(
            "UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_until = ?, updated_at = ? \
             WHERE id = (SELECT id FROM jobs WHERE (state = 'queued' AND run_at <= ?) \
             OR (state = 'running' AND lease_until < ?) ORDER BY run_at, id LIMIT 1{lock}) \
             AND ((state = 'queued' AND run_at <= ?) OR (state = 'running' AND lease_until < ?)) \
             RETURNING id, kind, payload, state, attempts, max_attempts, run_at, lease_until, last_error"
        ));
        let row = sqlx::query(&sql)
            .bind(now + lease_ms)
            .bind(now)
            .bind(now)
            .bind(now)
            .bind(now)
            .bind(now)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(job).transpose()
    }

    async fn heartbeat(&self, id: &str, attempts: i64, lease_until: i64) -> Result<bool> {
        let r = sqlx::query(
            &self.q("UPDATE jobs SET lease_until = ? WHERE id = ? AND attempts = ? AND state = 'running'"),
        )
        .bind(lease_until)
        .bind(id)
        .bind(attempts)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    async fn finish(&self, id: &str, attempts: i64, now: i64) -> Result<()> {
        sqlx::query(&self.q("UPDATE jobs SET state = 'done', lease_until = NULL, updated_at = ? \
             WHERE id = ? AND attempts = ? AND state = 'running'"))
        .bind(now)
        .bind(id)
        .bind(attempts)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn retry_later(&self, id: &str, attempts: i64, run_at: i64, error: &str) -> Result<()> {
        sqlx::query(&self.q(
            "UPDATE jobs SET state = 'queued', lease_until = NULL, run_at = ?, last_error = ?, updated_at = ? \
             WHERE id = ? AND attempts = ? AND state = 'running'",
        ))
        .bind(run_at)
        .bind(error)
        .bind(crate::time::now_ms())
        .bind(id)
        .bind(attempts)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn give_up(&self, id: &str, attempts: i64, error: &str, now: i64) -> Result<()> {
        sqlx::query(
            &self.q("UPDATE jobs SET state = 'failed', lease_until = NULL, last_error = ?, updated_at = ? \
             WHERE id = ? AND attempts = ? AND state = 'running'"),
        )
        .bind(error)
        .bind(now)
        .bind(id)
        .bind(attempts)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn job(&self, id: &str) -> Result<Option<Job>> {
        let row =
            sqlx::query(&self.q(
                "SELECT id, kind, payload, state, attempts, max_attempts, run_at, lease_until, last_error \
             FROM jobs WHERE id = ?",
            ))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(job).transpose()
    }

    async fn job_counts(&self) -> Result<JobCounts> {
        let rows =
            sqlx::query("SELECT state, COUNT(*) AS n FROM jobs GROUP BY state").fetch_all(&self.pool).await?;
        let mut c = JobCounts::default();
        for r in rows {
            let state: String = r.try_get("state")?;
            let n: i64 = r.try_get("n")?;
            let n = n.max(0) as u64;
            match state.as_str() {
                "queued" => c.queued = n,
                "running" => c.running = n,
                "done" => c.done = n,
                "failed" => c.failed = n,
                _ => {}
            }
        }
        Ok(c)
    }

    async fn insert_event(&self, e: &Event) -> Result<()> {
        sqlx::query(&self.q(
            "INSERT INTO events (id, tenant_id, type, resource_type, payload, created_at) VALUES (?, ?, ?, ?, ?, ?)",
        ))
        .bind(&e.id)
        .bind(&e.tenant_id)
        .bind(&e.event_type)
        .bind(&e.resource_type)
        .bind(e.payload.to_string())
        .bind(e.created_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn event(&self, id: &str) -> Result<Option<Event>> {
        let row = sqlx::query(
            &self
                .q("SELECT id, tenant_id, type, resource_type, payload, created_at FROM events WHERE id = ?"),
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            let payload: String = r.try_get("payload")?;
            Ok(Event {
                id: r.try_get("id")?,
                tenant_id: r.try_get("tenant_id")?,
                event_type: r.try_get("type")?,
                resource_type: r.try_get("resource_type")?,
                payload: serde_json::from_str(&payload).map_err(malformed)?,
                created_at: r.try_get("created_at")?,
            })
        })
        .transpose()
    }

    async fn insert_delivery(&self, tenant_id: &str, d: &Delivery) -> Result<()> {
        deliveries::insert(self, tenant_id, d).await
    }

    async fn deliveries(&self, tenant_id: &str, webhook_id: &str) -> Result<Vec<Delivery>> {
        deliveries::of(self, tenant_id, webhook_id).await
    }

    async fn delivery(&self, tenant_id: &str, id: &str) -> Result<Option<Delivery>> {
        deliveries::one(self, tenant_id, id).await
    }

    async fn insert_fingerprint(&self, f: &FingerprintRow) -> Result<()> {
        fingerprints::insert(self, f).await
    }

    async fn fingerprints_since(&self, tenant_id: &str, since: i64) -> Result<Vec<FingerprintRow>> {
        fingerprints::since(self, tenant_id, since).await
    }

    async fn delete_fingerprints(&self, tombstone: &FingerprintRow) -> Result<()> {
        fingerprints::delete(self, tombstone).await
    }

    async fn create_user(&self, u: &User) -> Result<bool> {
        users::create(self, u).await
    }

    async fn user_by_email(&self, email: &str) -> Result<Option<User>> {
        users::by("email", self, email).await
    }

    async fn user(&self, id: &str) -> Result<Option<User>> {
        users::by("id", self, id).await
    }

    async fn list_users(&self, tenant_id: Option<&str>) -> Result<Vec<User>> {
        users::list(self, tenant_id).await
    }

    async fn login_failed(&self, user_id: &str, lock_after: i64, locked_until: i64) -> Result<()> {
        users::login_failed(self, user_id, lock_after, locked_until).await
    }

    async fn login_succeeded(&self, user_id: &str) -> Result<()> {
        users::login_succeeded(self, user_id).await
    }

    async fn set_user_disabled(&self, user_id: &str, at: Option<i64>) -> Result<bool> {
        users::set_disabled(self, user_id, at).await
    }

    async fn create_session(&self, s: &Session) -> Result<()> {
        users::create_session(self, s).await
    }

    async fn session(&self, id_hash: &str) -> Result<Option<Session>> {
        users::session(self, id_hash).await
    }

    async fn touch_session(&self, id_hash: &str, last_seen_at: i64) -> Result<()> {
        users::touch_session(self, id_hash, last_seen_at).await
    }

    async fn delete_session(&self, id_hash: &str) -> Result<()> {
        users::delete_sessions(self, "id_hash", id_hash).await.map(|_| ())
    }

    async fn delete_user_sessions(&self, user_id: &str) -> Result<u64> {
        users::delete_sessions(self, "user_id", user_id).await
    }

    async fn delete_stale_sessions(&self, now: i64, idle_before: i64) -> Result<u64> {
        users::delete_stale_sessions(self, now, idle_before).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_for_postgres_only() {
        assert_eq!(placeholders("a = ? AND b = ?", Dialect::Postgres), "a = $1 AND b = $2");
        assert_eq!(placeholders("a = ?", Dialect::Sqlite), "a = ?");
        assert!(valid_path("personDetails.firstName"));
        for bad in ["", "a..b", "a.b'); DROP", "x y", ".a"] {
            assert!(!valid_path(bad), "{bad}");
        }
    }
}
