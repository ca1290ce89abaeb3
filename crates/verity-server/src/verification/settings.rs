//! A tenant's verification settings: the decision policy (the risk scores above which a
//! verification goes to review or is rejected, the minimum age) and the secret that signs the
//! deliveries to `webhook_url`. One per tenant, made with the defaults on first use
//! (`GET /v1/identity/settings`), changed with `POST /v1/identity/settings`.

use axum::body::Bytes;
use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use verity_checks::verify::Policy;
use verity_store::Resource;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::resources::{json_object, modify, reject_unknown, Internal, Kind};
use crate::AppState;

/// The resource type (one per tenant, never listed).
pub struct Settings;

impl Kind for Settings {
    const KIND: &'static str = "verificationSettings";
    const NOUN: &'static str = "verification settings";
    const FILTERS: &'static [&'static str] = &[];
}

/// The one id of a tenant's settings (a concurrent first use inserts the same row once).
fn id_of(tenant: &str) -> String {
    hex::encode(&Sha256::digest(format!("verification-settings:{tenant}").as_bytes())[..12])
}

fn policy_json(p: &Policy) -> Value {
    json!({"review_above": p.review_above, "reject_above": p.reject_above, "minimum_age": p.minimum_age})
}

/// The policy a settings resource holds.
pub fn policy_of(r: &Resource) -> Policy {
    let d = Policy::default();
    let p = &r.body["policy"];
    let num = |k: &str, default: i64| p[k].as_i64().unwrap_or(default);
    Policy {
        review_above: num("review_above", d.review_above.into()) as u32,
        reject_above: num("reject_above", d.reject_above.into()) as u32,
        minimum_age: num("minimum_age", d.minimum_age.into()) as i32,
    }
}

/// The tenant's decision policy as it is now, without making settings that do not exist yet
/// (the defaults then): for readers such as the dashboard.
pub async fn current_policy(s: &AppState, tenant: &str) -> ApiResult<Policy> {
    Ok(s.store.get(tenant, Settings::KIND, &id_of(tenant)).await?.map(|r| policy_of(&r)).unwrap_or_default())
}

/// The tenant's settings, made with the defaults and a new secret on first use.
pub async fn load(s: &AppState, tenant: &str) -> ApiResult<Resource> {
    let id = id_of(tenant);
    if let Some(r) = s.store.get(tenant, Settings::KIND, &id).await? {
        return Ok(r);
    }
    let mut r = crate::resources::new_resource::<Settings>(
        tenant,
        None,
        json!({"object": "identity.settings", "policy": policy_json(&Policy::default())}),
    );
    r.id = id.clone();
    Internal { secret: Some(crate::ids::new_webhook_secret()), ..Internal::default() }.store_in(&mut r);
    if let Err(e) = s.store.insert(&r).await {
        // Another request made it first: read theirs.
        return s.store.get(tenant, Settings::KIND, &id).await?.ok_or_else(|| e.into());
    }
    Ok(r)
}

fn render(r: &Resource) -> Value {
    let mut v = r.body.clone();
    v["webhook_secret"] = json!(Internal::of(r).secret);
    v["updated_at"] = json!(verity_store::time::format_ms(r.updated_at));
    v
}

/// `GET /v1/identity/settings`.
pub async fn get(State(s): State<AppState>, caller: Caller) -> ApiResult<Json<Value>> {
    Ok(Json(render(&load(&s, &caller.tenant_id).await?)))
}

/// `POST /v1/identity/settings`: `policy` (any of its three numbers) and
/// `rotate_webhook_secret: true`.
pub async fn update(State(s): State<AppState>, caller: Caller, body: Bytes) -> ApiResult<Json<Value>> {
    let m = json_object(&body)?;
    reject_unknown(&m, &["policy", "rotate_webhook_secret"])?;
    let rotate = match m.get("rotate_webhook_secret") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            return Err(ApiError::invalid(
                "field_type",
                "`rotate_webhook_secret` must be a boolean",
                Some("rotate_webhook_secret"),
            ))
        }
    };
    let tenant = caller.tenant_id.as_str();
    let current = load(&s, tenant).await?;
    let mut policy = policy_of(&current);
    if let Some(p) = m.get("policy").filter(|p| !p.is_null()) {
        let Value::Object(p) = p else {
            return Err(ApiError::invalid("field_type", "`policy` must be an object", Some("policy")));
        };
        reject_unknown(p, &["review_above", "reject_above", "minimum_age"])?;
        let num = |k: &str, max: u64| -> ApiResult<Option<u64>> {
            match p.get(k) {
                None => Ok(None),
                Some(v) => v.as_u64().filter(|n| *n <= max).map(Some).ok_or_else(|| {
                    ApiError::invalid(
                        "field_invalid",
                        format!("`policy.{k}` must be a whole number from 0 to {max}"),
                        Some(k),
                    )
                }),
            }
        };
        if let Some(n) = num("review_above", 1000)? {
            policy.review_above = n as u32;
        }
        if let Some(n) = num("reject_above", 1000)? {
            policy.reject_above = n as u32;
        }
        if let Some(n) = num("minimum_age", 120)? {
            policy.minimum_age = n as i32;
        }
        if policy.review_above > policy.reject_above {
            return Err(ApiError::invalid(
                "policy_invalid",
                "`policy.review_above` must not be above `policy.reject_above`",
                Some("policy"),
            ));
        }
    }
    let r = modify::<Settings, _>(&s, tenant, &current.id, |r| {
        r.body["policy"] = policy_json(&policy);
        if rotate {
            Internal::update(r, |i| i.secret = Some(crate::ids::new_webhook_secret()));
        }
        Ok(())
    })
    .await?;
    Ok(Json(render(&r)))
}
