//! Verity's storage.
//!
//! One trait, [`Storage`], and one SQL implementation, [`SqlStore`], over sqlx's `Any` driver:
//! SQLite by default (`sqlite://path`), PostgreSQL chosen by the URL (`postgres://…`). The few
//! places where the dialects differ (JSON paths, row locking) are chosen once from the URL.
//! Migrations run at connect. Every resource row belongs to a tenant; every query names it.

mod migrations;
mod sql;
pub mod time;

use async_trait::async_trait;
use serde::Serialize;

pub use sql::SqlStore;

/// Errors of the storage layer.
/// The driver's errors are classified here, so callers never depend on the driver.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be reached (pool exhausted or closed, connection lost): a 503 to
    /// clients, a retry to jobs.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("database error: {0}")]
    Db(String),
    #[error("unsupported database URL {0:?}: use sqlite://PATH or postgres://…")]
    UnsupportedUrl(String),
    #[error("stored data is malformed: {0}")]
    Malformed(String),
    #[error("bad filter field {0:?}")]
    BadFilter(String),
}

impl StoreError {
    /// Whether the database could not be reached (see [`StoreError::Unavailable`]).
    pub fn is_unavailable(&self) -> bool {
        matches!(self, StoreError::Unavailable(_))
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
                StoreError::Unavailable(e.to_string())
            }
            e => StoreError::Db(e.to_string()),
        }
    }
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// A tenant: every resource and key belongs to one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Tenant {
    pub id: String,
    pub name: String,
    pub created_at: i64,
}

/// An API key as stored: only the hash of the secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiKey {
    pub id: String,
    pub tenant_id: String,
    pub name: String,
    /// The first characters of the key, to recognise it in lists.
    pub prefix: String,
    #[serde(skip)]
    pub key_hash: String,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

/// A stored resource: the public JSON body, the state kept about it that is never shown, and the
/// columns lists are filtered on.
#[derive(Debug, Clone, PartialEq)]
pub struct Resource {
    pub id: String,
    pub tenant_id: String,
    /// `client`, `livePhoto`, `document`, `check`, `webhook`, `address`, `liveVideo`.
    pub kind: String,
    pub client_id: Option<String>,
    /// Milliseconds since the Unix epoch.
    pub created_at: i64,
    pub updated_at: i64,
    /// Bumped by every update: an update or delete names the version it read and does nothing
    /// when the row has changed since (compare-and-swap; see [`Storage::update`]).
    pub version: i64,
    /// What the API shows (without `id` and the timestamps).
    pub body: serde_json::Value,
    /// What the server keeps about the resource and never shows (file keys, a webhook's signing
    /// secret, flags): a JSON object, `{}` when there is nothing.
    pub internal: serde_json::Value,
}

/// List parameters (ComplyCube's `page`, `pageSize`, date bounds and dotted filters).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListQuery {
    pub client_id: Option<String>,
    pub created_after: Option<i64>,
    pub created_before: Option<i64>,
    pub updated_after: Option<i64>,
    pub updated_before: Option<i64>,
    /// (dotted path in the body, value compared as text).
    pub filters: Vec<(String, String)>,
    /// 1-based.
    pub page: u32,
    pub page_size: u32,
}

/// A page of resources, newest first.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub items: Vec<Resource>,
    pub total: u64,
}

/// A job as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub id: String,
    pub kind: String,
    pub payload: serde_json::Value,
    /// `queued`, `running`, `done`, `failed`.
    pub state: String,
    /// Attempts started so far (including the one that claimed it).
    pub attempts: i64,
    pub max_attempts: i64,
    pub run_at: i64,
    pub lease_until: Option<i64>,
    pub last_error: Option<String>,
}

/// A new job.
#[derive(Debug, Clone, PartialEq)]
pub struct NewJob {
    pub id: String,
    pub kind: String,
    pub payload: serde_json::Value,
    pub max_attempts: i64,
    pub run_at: i64,
}

/// Counts of jobs by state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct JobCounts {
    pub queued: u64,
    pub running: u64,
    pub done: u64,
    pub failed: u64,
}

/// An event (webhook body), stored once with a stable id.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub id: String,
    pub tenant_id: String,
    pub event_type: String,
    pub resource_type: String,
    pub payload: serde_json::Value,
    pub created_at: i64,
}

/// One attempt to deliver an event to a webhook.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Delivery {
    pub id: String,
    pub webhook_id: String,
    pub event_id: String,
    pub attempt: i64,
    pub status_code: Option<i64>,
    pub error: Option<String>,
    pub created_at: i64,
    /// How long the receiver took to answer (none when it could not be reached).
    pub latency_ms: Option<i64>,
    /// When the next attempt is due, when this one failed and another will follow.
    pub next_retry_at: Option<i64>,
}

/// What is kept of a verification for duplicate searches: `data` is the pipeline's fingerprint
/// (JSON: identity key, face embeddings, image hashes); `None` is a tombstone saying the owner's
/// fingerprints were deleted (so every process's in-memory gallery forgets them too).
#[derive(Debug, Clone, PartialEq)]
pub struct FingerprintRow {
    pub id: String,
    pub tenant_id: String,
    pub owner_id: String,
    pub data: Option<String>,
    pub created_at: i64,
}

/// A person who signs in to the dashboard (API keys are for programs). Belongs to one tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    pub id: String,
    pub tenant_id: String,
    /// Lower case; unique across tenants (it is the login name).
    pub email: String,
    /// `admin`, `reviewer` or `viewer`.
    pub role: String,
    /// Argon2id, in the PHC string format.
    #[serde(skip)]
    pub password_hash: String,
    pub created_at: i64,
    pub disabled_at: Option<i64>,
    /// Wrong passwords since the last successful login.
    pub failed_logins: i64,
    /// No login until then (unix ms), after too many wrong passwords.
    pub locked_until: Option<i64>,
}

/// A signed-in dashboard session, found by the hash of its cookie.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id_hash: String,
    pub user_id: String,
    pub tenant_id: String,
    /// The token every form of this session carries (hex).
    pub csrf: String,
    pub created_at: i64,
    pub last_seen_at: i64,
    /// The absolute end, whatever the activity.
    pub expires_at: i64,
}

/// One kind of resource in a list across kinds ([`Storage::list_across`]), with the body
/// filters that apply to that kind alone.
#[derive(Debug, Clone, PartialEq)]
pub struct KindFilter {
    pub kind: String,
    /// (dotted path in the body, value compared as text), all required.
    pub filters: Vec<(String, String)>,
}

/// Everything Verity stores outside object storage.
#[async_trait]
pub trait Storage: Send + Sync {
    /// `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;
    /// A cheap round trip, for `/readyz`.
    async fn ping(&self) -> Result<()>;

    async fn create_tenant(&self, tenant: &Tenant) -> Result<()>;
    async fn tenant(&self, id: &str) -> Result<Option<Tenant>>;
    async fn create_key(&self, key: &ApiKey) -> Result<()>;
    /// A key that has not been revoked, by the hash of its secret.
    async fn key_by_hash(&self, hash: &str) -> Result<Option<ApiKey>>;
    async fn list_keys(&self) -> Result<Vec<ApiKey>>;
    /// Revokes by id or prefix; returns how many keys it revoked.
    async fn revoke_key(&self, id_or_prefix: &str, now: i64) -> Result<u64>;

    async fn insert(&self, r: &Resource) -> Result<()>;
    async fn get(&self, tenant_id: &str, kind: &str, id: &str) -> Result<Option<Resource>>;
    /// Replaces the body (and `client_id`, `updated_at`) if the row is still at `r.version`,
    /// and bumps the version: false when the row does not exist or was changed since it was
    /// read. A read-modify-write re-reads and tries again on false, so no change is lost.
    async fn update(&self, r: &Resource) -> Result<bool>;
    /// Deletes the row if it is still at `r.version` (false otherwise).
    async fn delete_unchanged(&self, r: &Resource) -> Result<bool>;
    async fn delete(&self, tenant_id: &str, kind: &str, id: &str) -> Result<bool>;
    async fn list(&self, tenant_id: &str, kind: &str, q: &ListQuery) -> Result<Page>;
    /// Resources of several kinds in one list, newest first: a row is listed when it is of one
    /// of `kinds` and matches that kind's filters and the common ones in `q`.
    async fn list_across(&self, tenant_id: &str, kinds: &[KindFilter], q: &ListQuery) -> Result<Page>;

    async fn enqueue(&self, job: &NewJob) -> Result<()>;
    /// Claims the next job that is due (queued and `run_at` ≤ now, or running with an expired
    /// lease), marks it running until `now + lease_ms`, counts the attempt.
    async fn claim(&self, now: i64, lease_ms: i64) -> Result<Option<Job>>;
    /// Extends the lease of a running job (false if it is no longer ours to hold).
    async fn heartbeat(&self, id: &str, attempts: i64, lease_until: i64) -> Result<bool>;
    async fn finish(&self, id: &str, attempts: i64, now: i64) -> Result<()>;
    async fn retry_later(&self, id: &str, attempts: i64, run_at: i64, error: &str) -> Result<()>;
    async fn give_up(&self, id: &str, attempts: i64, error: &str, now: i64) -> Result<()>;
    async fn job(&self, id: &str) -> Result<Option<Job>>;
    async fn job_counts(&self) -> Result<JobCounts>;

    async fn insert_event(&self, e: &Event) -> Result<()>;
    async fn event(&self, id: &str) -> Result<Option<Event>>;
    async fn insert_delivery(&self, tenant_id: &str, d: &Delivery) -> Result<()>;
    async fn deliveries(&self, tenant_id: &str, webhook_id: &str) -> Result<Vec<Delivery>>;
    /// One attempt of a tenant's, by id.
    async fn delivery(&self, tenant_id: &str, id: &str) -> Result<Option<Delivery>>;

    async fn insert_fingerprint(&self, f: &FingerprintRow) -> Result<()>;
    /// A tenant's fingerprints and tombstones created at or after `since` (unix ms), oldest
    /// first.
    async fn fingerprints_since(&self, tenant_id: &str, since: i64) -> Result<Vec<FingerprintRow>>;
    /// Deletes the fingerprints of `tombstone.owner_id` and stores the tombstone.
    async fn delete_fingerprints(&self, tombstone: &FingerprintRow) -> Result<()>;

    /// Adds a dashboard user; false when the email is taken.
    async fn create_user(&self, u: &User) -> Result<bool>;
    async fn user_by_email(&self, email: &str) -> Result<Option<User>>;
    async fn user(&self, id: &str) -> Result<Option<User>>;
    /// Every user, or a tenant's, oldest first.
    async fn list_users(&self, tenant_id: Option<&str>) -> Result<Vec<User>>;
    /// Counts a wrong password; from the `lock_after`-th in a row, no login until `locked_until`.
    async fn login_failed(&self, user_id: &str, lock_after: i64, locked_until: i64) -> Result<()>;
    /// A successful login: the count of wrong passwords starts again.
    async fn login_succeeded(&self, user_id: &str) -> Result<()>;
    /// Disables (`Some(now)`) or enables (`None`) a user; false when there is no such user.
    async fn set_user_disabled(&self, user_id: &str, at: Option<i64>) -> Result<bool>;
    async fn create_session(&self, s: &Session) -> Result<()>;
    async fn session(&self, id_hash: &str) -> Result<Option<Session>>;
    async fn touch_session(&self, id_hash: &str, last_seen_at: i64) -> Result<()>;
    async fn delete_session(&self, id_hash: &str) -> Result<()>;
    /// Ends every session of a user (disabled, password changed); returns how many.
    async fn delete_user_sessions(&self, user_id: &str) -> Result<u64>;
    /// Forgets sessions whose absolute end or idle limit (`idle_before`: last seen earlier) passed.
    async fn delete_stale_sessions(&self, now: i64, idle_before: i64) -> Result<u64>;
}

/// Connects to the store named by `url` and runs the migrations.
pub async fn connect(url: &str) -> Result<std::sync::Arc<dyn Storage>> {
    Ok(std::sync::Arc::new(SqlStore::connect(url).await?))
}
