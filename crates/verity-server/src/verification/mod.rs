//! One-call verification (`/v1/identity/verify`), the seed's second API surface: a
//! verification is a resource like the others (stored, tenant-scoped, listed), in the seed's
//! snake_case form with a `ver_` id. Its decision is made by the same pipeline as the
//! ComplyCube checks (`verity_checks::verify`), in [`run`]; the edge checks are in
//! [`request`], the signed delivery to `webhook_url` in [`webhook`], the tenant's decision
//! policy and signing secret in [`settings`].

pub mod gallery;
pub mod request;
pub mod run;
pub mod settings;
pub mod webhook;

use serde_json::{json, Map, Value};
use verity_store::time::format_ms;
use verity_store::Resource;

use crate::resources::{new_resource, Id, Internal, Kind};
use request::Submission;

/// The resource type.
pub struct Verification;

impl Kind for Verification {
    const KIND: &'static str = "verification";
    const NOUN: &'static str = "verification";
    const FILTERS: &'static [&'static str] = &["status", "document_type", "country", "risk_level", "mode"];
    const ID_PREFIX: &'static str = "ver_";

    /// The seed's `identity.verification` object.
    fn render(r: &Resource) -> Value {
        render_prefixed(Self::ID_PREFIX, r)
    }
}

/// The snake_case form of the seed's resources: the prefixed id, the body, the timestamps.
pub fn render_prefixed(prefix: &str, r: &Resource) -> Value {
    let mut out = Map::new();
    out.insert("id".into(), json!(format!("{prefix}{}", r.id)));
    if let Value::Object(body) = &r.body {
        for (k, v) in body {
            out.insert(k.clone(), v.clone());
        }
    }
    out.insert("created_at".into(), json!(format_ms(r.created_at)));
    out.insert("updated_at".into(), json!(format_ms(r.updated_at)));
    Value::Object(out)
}

/// The names of a verification's stored files.
pub const FILES: [&str; 3] = ["document_front", "document_back", "selfie"];

/// A new verification, `pending`: each requested check is `pending` too, the results empty.
pub fn pending(tenant: &str, sub: &Submission) -> Resource {
    let mut body = pending_body(&sub.checks, sub.document_type, Some(sub.country), sub.mode.name());
    body["webhook_url"] = json!(sub.webhook_url);
    body["metadata"] = sub.metadata.clone();
    new_resource::<Verification>(tenant, None, body)
}

/// The body of a pending verification of any surface (`mode`: `sync`, `async`, `hosted`).
pub fn pending_body(
    checks: &[verity_checks::verify::CheckName],
    document_type: verity_checks::verify::DocumentType,
    country: Option<verity_mrz::CountryCode>,
    mode: &str,
) -> Value {
    let checks: Map<String, Value> =
        checks.iter().map(|c| (c.name().to_string(), json!({"status": "pending"}))).collect();
    json!({
        "object": "identity.verification",
        "status": "pending",
        "document_type": document_type.name(),
        "country": country,
        "mode": mode,
        "webhook_url": null,
        "extracted_data": null,
        "checks": checks,
        "risk_score": null,
        "risk_level": null,
        "fraud_signals": [],
        "retryable": false,
        "metadata": {},
    })
}

/// Stores the submission's images (encrypted) and the pending verification.
pub async fn store(s: &crate::AppState, r: &mut Resource, sub: &Submission) -> crate::error::ApiResult<()> {
    let mut internal = Internal::default();
    let images = [Some(&sub.front), sub.back.as_ref(), sub.selfie.as_ref()];
    for (name, bytes) in FILES.iter().zip(images) {
        if let Some(b) = bytes {
            let key = crate::files::key(&r.tenant_id, Verification::KIND, &r.id, name);
            s.files.put(&key, b).await?;
            internal.files.insert(name.to_string(), key);
        }
    }
    internal.store_in(r);
    s.store.insert(r).await?;
    Ok(())
}

/// Deletes a verification's files and fingerprint (the resource itself is deleted by the
/// caller).
pub async fn delete_files(s: &crate::AppState, r: &Resource) -> crate::error::ApiResult<()> {
    for key in Internal::of(r).files.values() {
        s.files.delete(key).await?;
    }
    gallery::forget(s, &r.tenant_id, &Id::<Verification>::of(r).public()).await?;
    Ok(())
}
