//! The storage, audited: every change of an audited resource made while an actor is in scope
//! (see [`super`]) is recorded with its diff, in the same store. Everything else passes through.

use std::sync::Arc;

use async_trait::async_trait;
use verity_store::{
    ApiKey, Delivery, Event, FingerprintRow, Job, JobCounts, KindFilter, ListQuery, NewJob, Page, Resource,
    Result, Session, Storage, Tenant, User,
};

use super::{audited, current, diff, entry};

/// A storage that records its resources' changes in the audit log.
pub struct AuditedStore {
    inner: Arc<dyn Storage>,
}

impl AuditedStore {
    pub fn new(inner: Arc<dyn Storage>) -> Self {
        Self { inner }
    }

    /// The entry of a change is written after the change; a failure to write it is logged (the
    /// change itself stands: refusing it after the fact would lose data).
    async fn record(&self, action: &str, r: &Resource, old: Option<&Resource>) {
        let Some(actor) = current() else { return };
        if !audited(&r.kind) {
            return;
        }
        let empty = serde_json::json!({});
        let before = old.map(|o| &o.body).unwrap_or(&empty);
        let after = if action == "delete" { &empty } else { &r.body };
        let mut changes = diff(before, after);
        let secret = |x: Option<&Resource>| x.map(|x| x.internal.get("secret").cloned());
        if action == "update" && secret(old) != secret(Some(r)) {
            changes.push(serde_json::json!({"action": "edit", "path": ["secret"], "old": "[hidden]", "new": "[hidden]"}));
        }
        let e = entry(&actor, action, r, changes);
        if let Err(err) = self.inner.insert(&e).await {
            tracing::error!(resource = %r.id, error = %err, "cannot write the audit log entry");
        }
    }

    async fn old(&self, tenant: &str, kind: &str, id: &str) -> Result<Option<Resource>> {
        if current().is_some() && audited(kind) {
            self.inner.get(tenant, kind, id).await
        } else {
            Ok(None)
        }
    }
}

#[async_trait]
impl Storage for AuditedStore {
    fn backend(&self) -> &'static str {
        self.inner.backend()
    }
    async fn ping(&self) -> Result<()> {
        self.inner.ping().await
    }
    async fn create_tenant(&self, tenant: &Tenant) -> Result<()> {
        self.inner.create_tenant(tenant).await
    }
    async fn tenant(&self, id: &str) -> Result<Option<Tenant>> {
        self.inner.tenant(id).await
    }
    async fn create_key(&self, key: &ApiKey) -> Result<()> {
        self.inner.create_key(key).await
    }
    async fn key_by_hash(&self, hash: &str) -> Result<Option<ApiKey>> {
        self.inner.key_by_hash(hash).await
    }
    async fn list_keys(&self) -> Result<Vec<ApiKey>> {
        self.inner.list_keys().await
    }
    async fn revoke_key(&self, id_or_prefix: &str, now: i64) -> Result<u64> {
        self.inner.revoke_key(id_or_prefix, now).await
    }

    async fn insert(&self, r: &Resource) -> Result<()> {
        self.inner.insert(r).await?;
        self.record("create", r, None).await;
        Ok(())
    }
    async fn get(&self, tenant_id: &str, kind: &str, id: &str) -> Result<Option<Resource>> {
        self.inner.get(tenant_id, kind, id).await
    }
    async fn update(&self, r: &Resource) -> Result<bool> {
        let old = self.old(&r.tenant_id, &r.kind, &r.id).await?;
        let done = self.inner.update(r).await?;
        if done {
            self.record("update", r, old.as_ref()).await;
        }
        Ok(done)
    }
    async fn delete_unchanged(&self, r: &Resource) -> Result<bool> {
        let done = self.inner.delete_unchanged(r).await?;
        if done {
            self.record("delete", r, Some(r)).await;
        }
        Ok(done)
    }
    async fn delete(&self, tenant_id: &str, kind: &str, id: &str) -> Result<bool> {
        let old = self.old(tenant_id, kind, id).await?;
        let done = self.inner.delete(tenant_id, kind, id).await?;
        if let (true, Some(old)) = (done, &old) {
            self.record("delete", old, Some(old)).await;
        }
        Ok(done)
    }
    async fn list(&self, tenant_id: &str, kind: &str, q: &ListQuery) -> Result<Page> {
        self.inner.list(tenant_id, kind, q).await
    }
    async fn list_across(&self, tenant_id: &str, kinds: &[KindFilter], q: &ListQuery) -> Result<Page> {
        self.inner.list_across(tenant_id, kinds, q).await
    }

    async fn enqueue(&self, job: &NewJob) -> Result<()> {
        self.inner.enqueue(job).await
    }
    async fn claim(&self, now: i64, lease_ms: i64) -> Result<Option<Job>> {
        self.inner.claim(now, lease_ms).await
    }
    async fn heartbeat(&self, id: &str, attempts: i64, lease_until: i64) -> Result<bool> {
        self.inner.heartbeat(id, attempts, lease_until).await
    }
    async fn finish(&self, id: &str, attempts: i64, now: i64) -> Result<()> {
        self.inner.finish(id, attempts, now).await
    }
    async fn retry_later(&self, id: &str, attempts: i64, run_at: i64, error: &str) -> Result<()> {
        self.inner.retry_later(id, attempts, run_at, error).await
    }
    async fn give_up(&self, id: &str, attempts: i64, error: &str, now: i64) -> Result<()> {
        self.inner.give_up(id, attempts, error, now).await
    }
    async fn job(&self, id: &str) -> Result<Option<Job>> {
        self.inner.job(id).await
    }
    async fn job_counts(&self) -> Result<JobCounts> {
        self.inner.job_counts().await
    }

    async fn insert_event(&self, e: &Event) -> Result<()> {
        self.inner.insert_event(e).await
    }
    async fn event(&self, id: &str) -> Result<Option<Event>> {
        self.inner.event(id).await
    }
    async fn insert_delivery(&self, tenant_id: &str, d: &Delivery) -> Result<()> {
        self.inner.insert_delivery(tenant_id, d).await
    }
    async fn deliveries(&self, tenant_id: &str, webhook_id: &str) -> Result<Vec<Delivery>> {
        self.inner.deliveries(tenant_id, webhook_id).await
    }
    async fn delivery(&self, tenant_id: &str, id: &str) -> Result<Option<Delivery>> {
        self.inner.delivery(tenant_id, id).await
    }

    async fn insert_fingerprint(&self, f: &FingerprintRow) -> Result<()> {
        self.inner.insert_fingerprint(f).await
    }
    async fn fingerprints_since(&self, tenant_id: &str, since: i64) -> Result<Vec<FingerprintRow>> {
        self.inner.fingerprints_since(tenant_id, since).await
    }
    async fn delete_fingerprints(&self, tombstone: &FingerprintRow) -> Result<()> {
        self.inner.delete_fingerprints(tombstone).await
    }

    async fn create_user(&self, u: &User) -> Result<bool> {
        self.inner.create_user(u).await
    }
    async fn user_by_email(&self, email: &str) -> Result<Option<User>> {
        self.inner.user_by_email(email).await
    }
    async fn user(&self, id: &str) -> Result<Option<User>> {
        self.inner.user(id).await
    }
    async fn list_users(&self, tenant_id: Option<&str>) -> Result<Vec<User>> {
        self.inner.list_users(tenant_id).await
    }
    async fn login_failed(&self, user_id: &str, lock_after: i64, locked_until: i64) -> Result<()> {
        self.inner.login_failed(user_id, lock_after, locked_until).await
    }
    async fn login_succeeded(&self, user_id: &str) -> Result<()> {
        self.inner.login_succeeded(user_id).await
    }
    async fn set_user_disabled(&self, user_id: &str, at: Option<i64>) -> Result<bool> {
        self.inner.set_user_disabled(user_id, at).await
    }
    async fn create_session(&self, s: &Session) -> Result<()> {
        self.inner.create_session(s).await
    }
    async fn session(&self, id_hash: &str) -> Result<Option<Session>> {
        self.inner.session(id_hash).await
    }
    async fn touch_session(&self, id_hash: &str, last_seen_at: i64) -> Result<()> {
        self.inner.touch_session(id_hash, last_seen_at).await
    }
    async fn delete_session(&self, id_hash: &str) -> Result<()> {
        self.inner.delete_session(id_hash).await
    }
    async fn delete_user_sessions(&self, user_id: &str) -> Result<u64> {
        self.inner.delete_user_sessions(user_id).await
    }
    async fn delete_stale_sessions(&self, now: i64, idle_before: i64) -> Result<u64> {
        self.inner.delete_stale_sessions(now, idle_before).await
    }
}
