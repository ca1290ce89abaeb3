//! Each tenant's gallery of earlier verifications (faces, identity keys, image hashes) for the
//! `duplicate` check, held in memory and kept in step with the `fingerprints` table: before a
//! search the rows created since the last read are applied (a few seconds of overlap, so a row
//! committed late by another process is not missed; rows already applied are skipped by id).
//! A deletion is a tombstone row, so every process forgets the verification. One tenant never
//! sees another's gallery.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, RwLock};

use verity_checks::duplicates::{Fingerprint, Gallery};
use verity_store::time::now_ms;
use verity_store::{FingerprintRow, StoreError};

use crate::ids::new_id;
use crate::AppState;

/// How far back each refresh reads again (a row whose transaction committed after a later one).
const OVERLAP_MS: i64 = 5_000;

/// Every tenant's gallery in this process.
#[derive(Default)]
pub struct Galleries {
    tenants: Mutex<HashMap<String, Arc<TenantGallery>>>,
}

/// One tenant's gallery and how far it has read.
#[derive(Default)]
pub struct TenantGallery {
    pub gallery: RwLock<Gallery>,
    cursor: tokio::sync::Mutex<Cursor>,
}

#[derive(Default)]
struct Cursor {
    loaded: bool,
    /// The newest row applied.
    newest: i64,
    /// Rows applied within the overlap window.
    seen: HashSet<String>,
    recent: Vec<(i64, String)>,
}

impl TenantGallery {
    fn apply(&self, cursor: &mut Cursor, row: &FingerprintRow) {
        if !cursor.seen.insert(row.id.clone()) {
            return;
        }
        cursor.recent.push((row.created_at, row.id.clone()));
        cursor.newest = cursor.newest.max(row.created_at);
        let mut g = self.gallery.write().unwrap_or_else(|p| p.into_inner());
        match &row.data {
            None => g.remove(&row.owner_id),
            Some(data) => match serde_json::from_str::<Fingerprint>(data) {
                Ok(f) => g.insert(&row.owner_id, f),
                Err(e) => tracing::error!(row = %row.id, error = %e, "malformed fingerprint"),
            },
        }
    }

    fn prune(cursor: &mut Cursor) {
        let keep_after = cursor.newest - OVERLAP_MS;
        if cursor.recent.first().is_some_and(|(t, _)| *t < keep_after) {
            let (old, recent): (Vec<_>, Vec<_>) = cursor.recent.drain(..).partition(|(t, _)| *t < keep_after);
            for (_, id) in old {
                cursor.seen.remove(&id);
            }
            cursor.recent = recent;
        }
    }
}

impl Galleries {
    fn of(&self, tenant: &str) -> Arc<TenantGallery> {
        let mut t = self.tenants.lock().unwrap_or_else(|p| p.into_inner());
        t.entry(tenant.to_string()).or_default().clone()
    }
}

/// The tenant's gallery, brought up to date with storage.
pub async fn current(s: &AppState, tenant: &str) -> Result<Arc<TenantGallery>, StoreError> {
    let tg = s.galleries.of(tenant);
    {
        let mut cursor = tg.cursor.lock().await;
        let since = if cursor.loaded { cursor.newest - OVERLAP_MS } else { 0 };
        let rows = s.store.fingerprints_since(tenant, since).await?;
        for row in &rows {
            tg.apply(&mut cursor, row);
        }
        cursor.loaded = true;
        TenantGallery::prune(&mut cursor);
    }
    Ok(tg)
}

/// Stores a verification's fingerprint (and adds it to this process's gallery at once).
pub async fn record(s: &AppState, tenant: &str, owner: &str, f: &Fingerprint) -> Result<(), StoreError> {
    let data = serde_json::to_string(f).map_err(|e| StoreError::Malformed(e.to_string()))?;
    let row = FingerprintRow {
        id: new_id(),
        tenant_id: tenant.into(),
        owner_id: owner.into(),
        data: Some(data),
        created_at: now_ms(),
    };
    s.store.insert_fingerprint(&row).await?;
    apply_here(s, &row).await;
    Ok(())
}

/// Forgets a verification's fingerprint everywhere.
pub async fn forget(s: &AppState, tenant: &str, owner: &str) -> Result<(), StoreError> {
    let row = FingerprintRow {
        id: new_id(),
        tenant_id: tenant.into(),
        owner_id: owner.into(),
        data: None,
        created_at: now_ms(),
    };
    s.store.delete_fingerprints(&row).await?;
    apply_here(s, &row).await;
    Ok(())
}

/// Applies a row this process just stored to its gallery at once (a gallery not loaded yet
/// reads it with the rest).
async fn apply_here(s: &AppState, row: &FingerprintRow) {
    let tg = s.galleries.of(&row.tenant_id);
    let mut cursor = tg.cursor.lock().await;
    if cursor.loaded {
        tg.apply(&mut cursor, row);
    }
}

/// Forgets the faces a live photo or a document left in the gallery (by an identity check)
/// when it is deleted or redacted; nothing for other resources.
pub async fn forget_resource(s: &AppState, r: &verity_store::Resource) -> Result<(), StoreError> {
    use crate::resources::kinds::{Document, LivePhoto};
    use crate::resources::Kind;
    let owner = match r.kind.as_str() {
        k if k == LivePhoto::KIND => format!("livePhoto:{}", r.id),
        k if k == Document::KIND => format!("document:{}", r.id),
        _ => return Ok(()),
    };
    forget(s, &r.tenant_id, &owner).await
}
