//! Dashboard users and their sessions (`dashboard_users`, `dashboard_sessions`).

use sqlx::any::AnyRow;
use sqlx::Row;

use super::SqlStore;
use crate::{Result, Session, User};

const USER_COLUMNS: &str =
    "id, tenant_id, email, role, password_hash, created_at, disabled_at, failed_logins, locked_until";

fn user(r: &AnyRow) -> Result<User> {
    Ok(User {
        id: r.try_get("id")?,
        tenant_id: r.try_get("tenant_id")?,
        email: r.try_get("email")?,
        role: r.try_get("role")?,
        password_hash: r.try_get("password_hash")?,
        created_at: r.try_get("created_at")?,
        disabled_at: r.try_get("disabled_at")?,
        failed_logins: r.try_get("failed_logins")?,
        locked_until: r.try_get("locked_until")?,
    })
}

pub(super) async fn create(s: &SqlStore, u: &User) -> Result<bool> {
    if by("email", s, &u.email).await?.is_some() {
        return Ok(false);
    }
    sqlx::query(
        &s.q(&format!("INSERT INTO dashboard_users ({USER_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")),
    )
    .bind(&u.id)
    .bind(&u.tenant_id)
    .bind(&u.email)
    .bind(&u.role)
    .bind(&u.password_hash)
    .bind(u.created_at)
    .bind(u.disabled_at)
    .bind(u.failed_logins)
    .bind(u.locked_until)
    .execute(&s.pool)
    .await?;
    Ok(true)
}

/// The user whose `column` (`id` or `email`) is `value`.
pub(super) async fn by(column: &'static str, s: &SqlStore, value: &str) -> Result<Option<User>> {
    let row = sqlx::query(&s.q(&format!("SELECT {USER_COLUMNS} FROM dashboard_users WHERE {column} = ?")))
        .bind(value)
        .fetch_optional(&s.pool)
        .await?;
    row.as_ref().map(user).transpose()
}

pub(super) async fn list(s: &SqlStore, tenant_id: Option<&str>) -> Result<Vec<User>> {
    let rows = match tenant_id {
        Some(t) => {
            sqlx::query(&s.q(&format!(
                "SELECT {USER_COLUMNS} FROM dashboard_users WHERE tenant_id = ? ORDER BY created_at, id"
            )))
            .bind(t)
            .fetch_all(&s.pool)
            .await?
        }
        None => {
            sqlx::query(&format!("SELECT {USER_COLUMNS} FROM dashboard_users ORDER BY created_at, id"))
                .fetch_all(&s.pool)
                .await?
        }
    };
    rows.iter().map(user).collect()
}

pub(super) async fn login_failed(s: &SqlStore, id: &str, lock_after: i64, locked_until: i64) -> Result<()> {
    // One statement: two processes counting the same user's failures never lose one.
    sqlx::query(&s.q("UPDATE dashboard_users SET failed_logins = failed_logins + 1, \
         locked_until = CASE WHEN failed_logins + 1 >= ? THEN ? ELSE locked_until END WHERE id = ?"))
    .bind(lock_after)
    .bind(locked_until)
    .bind(id)
    .execute(&s.pool)
    .await?;
    Ok(())
}

pub(super) async fn login_succeeded(s: &SqlStore, id: &str) -> Result<()> {
    sqlx::query(&s.q("UPDATE dashboard_users SET failed_logins = 0, locked_until = NULL WHERE id = ?"))
        .bind(id)
        .execute(&s.pool)
        .await?;
    Ok(())
}

pub(super) async fn set_disabled(s: &SqlStore, id: &str, at: Option<i64>) -> Result<bool> {
    let r = sqlx::query(&s.q("UPDATE dashboard_users SET disabled_at = ? WHERE id = ?"))
        .bind(at)
        .bind(id)
        .execute(&s.pool)
        .await?;
    Ok(r.rows_affected() == 1)
}

pub(super) async fn create_session(s: &SqlStore, x: &Session) -> Result<()> {
    sqlx::query(&s.q("INSERT INTO dashboard_sessions (id_hash, user_id, tenant_id, csrf, created_at, \
         last_seen_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)"))
    .bind(&x.id_hash)
    .bind(&x.user_id)
    .bind(&x.tenant_id)
    .bind(&x.csrf)
    .bind(x.created_at)
    .bind(x.last_seen_at)
    .bind(x.expires_at)
    .execute(&s.pool)
    .await?;
    Ok(())
}

pub(super) async fn session(s: &SqlStore, id_hash: &str) -> Result<Option<Session>> {
    let row = sqlx::query(&s.q("SELECT id_hash, user_id, tenant_id, csrf, created_at, last_seen_at, \
         expires_at FROM dashboard_sessions WHERE id_hash = ?"))
    .bind(id_hash)
    .fetch_optional(&s.pool)
    .await?;
    row.map(|r| {
        Ok(Session {
            id_hash: r.try_get("id_hash")?,
            user_id: r.try_get("user_id")?,
            tenant_id: r.try_get("tenant_id")?,
            csrf: r.try_get("csrf")?,
            created_at: r.try_get("created_at")?,
            last_seen_at: r.try_get("last_seen_at")?,
            expires_at: r.try_get("expires_at")?,
        })
    })
    .transpose()
}

pub(super) async fn touch_session(s: &SqlStore, id_hash: &str, at: i64) -> Result<()> {
    sqlx::query(
        &s.q("UPDATE dashboard_sessions SET last_seen_at = ? WHERE id_hash = ? AND last_seen_at < ?"),
    )
    .bind(at)
    .bind(id_hash)
    .bind(at)
    .execute(&s.pool)
    .await?;
    Ok(())
}

/// Deletes the sessions whose `column` (`id_hash` or `user_id`) is `value`.
pub(super) async fn delete_sessions(s: &SqlStore, column: &'static str, value: &str) -> Result<u64> {
    let r = sqlx::query(&s.q(&format!("DELETE FROM dashboard_sessions WHERE {column} = ?")))
        .bind(value)
        .execute(&s.pool)
        .await?;
    Ok(r.rows_affected())
}

pub(super) async fn delete_stale_sessions(s: &SqlStore, now: i64, idle_before: i64) -> Result<u64> {
    let r = sqlx::query(&s.q("DELETE FROM dashboard_sessions WHERE expires_at <= ? OR last_seen_at < ?"))
        .bind(now)
        .bind(idle_before)
        .execute(&s.pool)
        .await?;
    Ok(r.rows_affected())
}
