//! The audit log: who changed what, when, and the diff — for every API and dashboard action
//! that changes a resource. Entries are resources of their own (`auditLog`, ComplyCube's shape:
//! `memberId`, `resourceType`, `resourceId`, `clientId`, `trigger`, `action`, `diff`), served by
//! `GET /v1/auditLogs[/{id}]` and shown in the dashboard; they are never changed or deleted.
//!
//! They are written in one place: [`store::AuditedStore`] wraps the storage and records every
//! insert, update and delete of a resource made while an [`Actor`] is in scope. A request's
//! actor is set by its authentication (an API key, a dashboard user) inside the scope that
//! [`scope`] opens around each request; work done outside a request (the queue's jobs) is the
//! system's own and is not an action of anyone.

pub mod store;

use std::cell::RefCell;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use serde_json::{json, Map, Value};
use verity_store::Resource;

use crate::resources::Kind;

/// Who is acting, and through which operation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Actor {
    /// A dashboard user (ComplyCube's `memberId`).
    pub member_id: Option<String>,
    pub member_email: Option<String>,
    /// An API key.
    pub api_key_id: Option<String>,
    /// The operation (`updateClient`, `validateCheck`, `reviewVerification`, …).
    pub trigger: String,
}

tokio::task_local! {
    static ACTOR: RefCell<Option<Actor>>;
}

/// Runs `f` in a scope where an actor may be set (the trigger known, the actor not yet).
pub async fn in_scope<F: std::future::Future>(trigger: &'static str, f: F) -> F::Output {
    ACTOR.scope(RefCell::new(Some(Actor { trigger: trigger.into(), ..Actor::default() })), f).await
}

/// The middleware around each API operation: opens the scope with the operation's id.
pub async fn scope(trigger: &'static str, req: Request, next: Next) -> Response {
    in_scope(trigger, next.run(req)).await
}

/// Records the API key of the request in scope (authentication calls it).
pub fn set_api_key(key_id: &str) {
    let _ = ACTOR.try_with(|a| {
        if let Some(a) = a.borrow_mut().as_mut() {
            a.api_key_id = Some(key_id.to_string());
        }
    });
}

/// Records the dashboard user of the request in scope, and what they are doing.
pub fn set_member(user_id: &str, email: &str, trigger: &str) {
    let _ = ACTOR.try_with(|a| {
        *a.borrow_mut() = Some(Actor {
            member_id: Some(user_id.to_string()),
            member_email: Some(email.to_string()),
            api_key_id: None,
            trigger: trigger.to_string(),
        });
    });
}

/// Names the operation of the request in scope (a dashboard action).
pub fn set_trigger(trigger: &str) {
    let _ = ACTOR.try_with(|a| {
        if let Some(a) = a.borrow_mut().as_mut() {
            a.trigger = trigger.to_string();
        }
    });
}

/// The actor in scope, once someone is known to act.
pub fn current() -> Option<Actor> {
    ACTOR
        .try_with(|a| a.borrow().clone())
        .ok()
        .flatten()
        .filter(|a| a.member_id.is_some() || a.api_key_id.is_some())
}

/// The resource type.
pub struct AuditLog;

impl Kind for AuditLog {
    const KIND: &'static str = "auditLog";
    const NOUN: &'static str = "audit log";
    const FILTERS: &'static [&'static str] =
        &["resourceType", "resourceId", "action", "trigger", "memberId", "apiKeyId"];
}

/// The kinds whose changes are audited (everything a customer or a partner changes).
const AUDITED: &[&str] = &[
    "client",
    "address",
    "livePhoto",
    "liveVideo",
    "document",
    "check",
    "webhook",
    "verification",
    "verificationSettings",
    "partnerSettings",
    "captureSession",
];

/// The id the API shows for a stored resource.
fn public_id(r: &Resource) -> String {
    match r.kind.as_str() {
        "verification" => format!("ver_{}", r.id),
        "captureSession" => format!("cs_{}", r.id),
        _ => r.id.clone(),
    }
}

/// At most this many changes per entry, each value at most this long.
const MAX_CHANGES: usize = 100;
const MAX_VALUE: usize = 500;

fn text(v: &Value) -> Value {
    let s = match v {
        Value::Null => return Value::Null,
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if s.chars().count() > MAX_VALUE {
        json!(format!("{}…", s.chars().take(MAX_VALUE).collect::<String>()))
    } else {
        json!(s)
    }
}

/// The changes from `old` to `new`, field by field (objects recursed into, arrays and values
/// compared whole): `[{action: add|edit|delete, path, old, new}]`.
pub fn diff(old: &Value, new: &Value) -> Vec<Value> {
    let mut out = Vec::new();
    walk(old, new, &mut Vec::new(), &mut out);
    out
}

fn walk(old: &Value, new: &Value, path: &mut Vec<String>, out: &mut Vec<Value>) {
    if out.len() >= MAX_CHANGES || old == new {
        return;
    }
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => {
            let empty = Map::new();
            let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for k in keys {
                path.push(k.clone());
                let (x, y) = (a.get(k), b.get(k));
                match (x, y) {
                    (Some(x), Some(y)) => walk(x, y, path, out),
                    (None, Some(y)) if y.is_object() => walk(&Value::Object(empty.clone()), y, path, out),
                    // A field added empty is no change worth telling.
                    (None, Some(Value::Null)) => {}
                    (None, Some(y)) => {
                        out.push(json!({"action": "add", "path": path, "old": null, "new": text(y)}))
                    }
                    (Some(x), None) => {
                        out.push(json!({"action": "delete", "path": path, "old": text(x), "new": null}))
                    }
                    (None, None) => {}
                }
                path.pop();
                if out.len() >= MAX_CHANGES {
                    return;
                }
            }
        }
        _ => {
            let action = if old.is_null() {
                "add"
            } else if new.is_null() {
                "delete"
            } else {
                "edit"
            };
            out.push(json!({"action": action, "path": path, "old": text(old), "new": text(new)}));
        }
    }
}

/// The entry of one change of `r` (`action`: create, update, delete) by `actor`.
pub fn entry(actor: &Actor, action: &str, r: &Resource, diff: Vec<Value>) -> Resource {
    entry_about(actor, action, &r.tenant_id, &r.kind, &public_id(r), r.client_id.clone(), diff)
}

fn entry_about(
    actor: &Actor,
    action: &str,
    tenant: &str,
    resource_type: &str,
    resource_id: &str,
    client_id: Option<String>,
    diff: Vec<Value>,
) -> Resource {
    let body = json!({
        "memberId": actor.member_id,
        "memberEmail": actor.member_email,
        "apiKeyId": actor.api_key_id,
        "resourceType": resource_type,
        "resourceId": resource_id,
        "clientId": client_id,
        "trigger": actor.trigger,
        "action": action,
        "diff": diff,
    });
    crate::resources::new_resource::<AuditLog>(tenant, client_id, body)
}

/// Records a change of something that is not a resource (an API key, a dashboard user) by the
/// actor in scope.
pub async fn note(
    store: &dyn verity_store::Storage,
    tenant: &str,
    resource_type: &str,
    resource_id: &str,
    action: &str,
    diff: Vec<Value>,
) {
    let Some(actor) = current() else { return };
    let e = entry_about(&actor, action, tenant, resource_type, resource_id, None, diff);
    if let Err(err) = store.insert(&e).await {
        tracing::error!(resource = %resource_id, error = %err, "cannot write the audit log entry");
    }
}

/// Whether changes of this kind are audited.
pub fn audited(kind: &str) -> bool {
    AUDITED.contains(&kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_diff_names_each_changed_field_by_its_path() {
        let old =
            json!({"email": "a@x.io", "personDetails": {"firstName": "Ann", "dob": "1990-01-01"}, "gone": 1});
        let new = json!({"email": "b@x.io", "personDetails": {"firstName": "Ann", "nationality": "FR"}, "tags": [1]});
        let d = diff(&old, &new);
        assert_eq!(
            d,
            vec![
                json!({"action": "edit", "path": ["email"], "old": "a@x.io", "new": "b@x.io"}),
                json!({"action": "delete", "path": ["gone"], "old": "1", "new": null}),
                json!({"action": "delete", "path": ["personDetails", "dob"], "old": "1990-01-01", "new": null}),
                json!({"action": "add", "path": ["personDetails", "nationality"], "old": null, "new": "FR"}),
                json!({"action": "add", "path": ["tags"], "old": null, "new": "[1]"}),
            ]
        );
        assert!(diff(&new, &new).is_empty());
        let big = json!({"s": "x".repeat(2000)});
        assert!(diff(&json!({}), &big)[0]["new"]
            .as_str()
            .is_some_and(|s| s.chars().count() == MAX_VALUE + 1));
    }
}
