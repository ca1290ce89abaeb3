//! Capture sessions: what a capture link opens. The partner's backend makes one with its key in
//! the header (`POST /v1/capture-sessions`) and sends the user to its `url`; the seed's
//! `GET /verif/?api_key=…` makes one too and redirects at once, so the key leaves the address
//! bar. The link carries an opaque token — tenant, session id and a random secret of which only
//! a hash is stored — that works until `expires_at` and for one submission.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use verity_liveness::Challenge;
use verity_store::time::{format_ms, now_ms};
use verity_store::Resource;

use super::partner;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::ids::key_hash;
use crate::resources::{
    fetch, json_object, list_query, modify, new_resource, page_json, reject_unknown, string_field, Internal,
    Kind,
};
use crate::AppState;

/// The resource type.
pub struct CaptureSession;

impl Kind for CaptureSession {
    const KIND: &'static str = "captureSession";
    const NOUN: &'static str = "capture session";
    const FILTERS: &'static [&'static str] = &["status", "user_identifier"];
    const ID_PREFIX: &'static str = "cs_";

    fn render(r: &Resource) -> Value {
        crate::verification::render_prefixed(Self::ID_PREFIX, r)
    }
}

/// The prompts a session draws from when it names none (those a person does reliably on a
/// phone's front camera).
pub const PROMPT_POOL: [Challenge; 4] =
    [Challenge::TurnLeft, Challenge::TurnRight, Challenge::LookUp, Challenge::Smile];

/// Who is being verified and how (what a session is made from).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Subject {
    pub user_identifier: String,
    pub user_email: Option<String>,
    pub user_phone: Option<String>,
    pub language: Option<String>,
    /// The prompts in order (drawn at random when empty).
    pub challenges: Vec<String>,
    pub success_url: Option<String>,
    pub cancel_url: Option<String>,
    pub ttl_minutes: Option<u64>,
    /// One submission per link (default); `false` lets the user try again until it expires.
    pub single_use: Option<bool>,
    /// A ComplyCube client the submission is filed on (`/v1/flow/sessions`, `/v1/tokens`), with
    /// the check types to run.
    pub client_id: Option<String>,
    pub check_types: Vec<String>,
}

fn invalid(field: &str, message: impl Into<String>) -> ApiError {
    ApiError::invalid("field_invalid", message, Some(field))
}

/// A user identifier as the seed takes it: 1–128 printable characters.
pub fn check_identifier(v: &str) -> ApiResult<()> {
    let ok = !v.trim().is_empty() && v.chars().count() <= 128 && !v.chars().any(char::is_control);
    ok.then_some(()).ok_or_else(|| {
        invalid("user_identifier", "`user_identifier` must have 1 to 128 printable characters")
    })
}

/// Optional contact fields, as the seed records them.
pub fn check_contact(email: Option<&str>, phone: Option<&str>) -> ApiResult<()> {
    if let Some(e) = email {
        let ok = e.len() <= 254 && e.contains('@') && !e.chars().any(|c| c.is_whitespace() || c.is_control());
        if !ok {
            return Err(invalid("user_email", "`user_email` is not an email address"));
        }
    }
    if let Some(p) = phone {
        let ok = (3..=32).contains(&p.len())
            && p.chars().all(|c| c.is_ascii_digit() || " +-().".contains(c))
            && p.chars().any(|c| c.is_ascii_digit());
        if !ok {
            return Err(invalid("user_phone", "`user_phone` is not a phone number"));
        }
    }
    Ok(())
}

/// Random distinct prompts.
fn draw(n: usize) -> Vec<Challenge> {
    let mut pool = PROMPT_POOL.to_vec();
    let mut out = Vec::new();
    while out.len() < n && !pool.is_empty() {
        let i = crate::ids::random_u32() as usize % pool.len();
        out.push(pool.remove(i));
    }
    out
}

/// A new session (stored) and its token.
pub async fn open_new(s: &AppState, tenant: &str, subject: Subject) -> ApiResult<(Resource, String)> {
    let settings = partner::load(s, tenant).await?;
    check_identifier(&subject.user_identifier)?;
    check_contact(subject.user_email.as_deref(), subject.user_phone.as_deref())?;
    let language = match &subject.language {
        Some(l) if settings.languages.contains(l) => l.clone(),
        Some(_) => {
            return Err(invalid("language", format!("`language` must be one of {:?}", settings.languages)));
        }
        None => settings.default_language.clone(),
    };
    let challenges: Vec<Challenge> = if subject.challenges.is_empty() {
        draw(settings.prompts)
    } else {
        let parsed: Option<Vec<Challenge>> = subject.challenges.iter().map(|c| Challenge::parse(c)).collect();
        let parsed = parsed.filter(|p| (1..=4).contains(&p.len())).ok_or_else(|| {
            invalid("challenges", "`challenges` must list 1 to 4 of turn_left, turn_right, look_up, look_down, smile, move_closer")
        })?;
        if parsed.iter().enumerate().any(|(i, c)| parsed[..i].contains(c)) {
            return Err(invalid("challenges", "`challenges` must not repeat a challenge"));
        }
        parsed
    };
    for (field, v) in [("success_url", &subject.success_url), ("cancel_url", &subject.cancel_url)] {
        if let Some(u) = v {
            partner::redirect_url(field, u)?;
        }
    }
    let ttl = subject.ttl_minutes.unwrap_or(settings.session_ttl_minutes);
    if !(1..=10_080).contains(&ttl) {
        return Err(invalid("ttl_minutes", "`ttl_minutes` must be from 1 to 10080 (a week)"));
    }
    let expires = now_ms() + ttl as i64 * 60_000;
    let body = json!({
        "object": "capture_session",
        "status": "created",
        "user_identifier": subject.user_identifier.trim(),
        "user_email": subject.user_email,
        "user_phone": subject.user_phone,
        "language": language,
        "challenges": challenges.iter().map(|c| c.name()).collect::<Vec<_>>(),
        "success_url": subject.success_url.or(settings.success_url),
        "cancel_url": subject.cancel_url.or(settings.cancel_url),
        "single_use": subject.single_use.unwrap_or(true),
        "expires_at": format_ms(expires),
        "expires_at_ms": expires,
        "verification_id": null,
        "client_id": subject.client_id,
        "check_types": subject.check_types,
    });
    let mut r = new_resource::<CaptureSession>(tenant, None, body);
    let secret = hex::encode(crate::ids::random_bytes::<16>());
    Internal { secret: Some(key_hash(&secret)), ..Internal::default() }.store_in(&mut r);
    s.store.insert(&r).await?;
    let token = format!("{}.{}.{secret}", super::tenant_in_url(tenant), r.id);
    Ok((r, token))
}

/// Why a capture link does not open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Closed {
    /// Malformed, unknown or deleted.
    Unknown,
    Expired,
    /// Submitted already (single-use).
    Used,
}

impl Closed {
    pub fn code(self) -> &'static str {
        match self {
            Closed::Unknown => "session_not_found",
            Closed::Expired => "session_expired",
            Closed::Used => "session_used",
        }
    }

    pub fn status(self) -> StatusCode {
        match self {
            Closed::Unknown => StatusCode::NOT_FOUND,
            Closed::Expired | Closed::Used => StatusCode::GONE,
        }
    }
}

/// Whether a session can still take a submission.
pub fn state_of(r: &Resource) -> Result<(), Closed> {
    if r.body["status"] != "created" {
        return Err(Closed::Used);
    }
    if r.body["expires_at_ms"].as_i64().is_none_or(|e| now_ms() > e) {
        return Err(Closed::Expired);
    }
    Ok(())
}

/// The session a token opens (whatever its state).
pub async fn by_token(s: &AppState, token: &str) -> Result<Resource, Closed> {
    let mut parts = token.split('.');
    let (Some(t), Some(id), Some(secret), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Closed::Unknown);
    };
    let tenant = super::tenant_from_url(t).ok_or(Closed::Unknown)?;
    if secret.len() != 32 || !crate::ids::looks_like_id(id) || tenant.len() > 128 {
        return Err(Closed::Unknown);
    }
    let r = s.store.get(&tenant, CaptureSession::KIND, id).await.ok().flatten().ok_or(Closed::Unknown)?;
    // Hashes compared: no early exit on the first differing character of the secret.
    if Internal::of(&r).secret.as_deref() != Some(key_hash(secret).as_str()) {
        return Err(Closed::Unknown);
    }
    Ok(r)
}

/// Marks a session submitted (single use), refusing a closed one. Answers the session.
pub async fn consume(s: &AppState, r: &Resource, verification_id: &str) -> Result<Resource, Closed> {
    let single = r.body["single_use"].as_bool().unwrap_or(true);
    let out = modify::<CaptureSession, _>(s, &r.tenant_id, &r.id, |r| {
        state_of(r).map_err(|c| ApiError::invalid(c.code(), "closed", None))?;
        if single {
            r.body["status"] = json!("submitted");
        }
        r.body["verification_id"] = json!(verification_id);
        Ok(())
    })
    .await;
    match out {
        Ok(r) => Ok(r),
        Err(ApiError::Invalid { code: "session_expired", .. }) => Err(Closed::Expired),
        Err(ApiError::Invalid { code: "session_used", .. }) => Err(Closed::Used),
        Err(_) => Err(Closed::Unknown),
    }
}

/// The public form of a new session: its link (shown once: only a hash of the token's secret
/// is kept).
fn created(s: &AppState, r: &Resource, token: &str) -> Value {
    let mut v = CaptureSession::render(r);
    v["url"] = json!(format!("{}/verif/s/{token}", super::public_url(s)));
    if let Some(m) = v.as_object_mut() {
        m.remove("expires_at_ms");
    }
    v
}

/// `POST /v1/capture-sessions`.
pub async fn create(
    State(s): State<AppState>,
    caller: Caller,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let m = json_object(&body)?;
    reject_unknown(
        &m,
        &[
            "user_identifier",
            "user_email",
            "user_phone",
            "language",
            "challenges",
            "success_url",
            "cancel_url",
            "ttl_minutes",
            "single_use",
        ],
    )?;
    let user_identifier = string_field(&m, "user_identifier", false)?.ok_or_else(|| {
        ApiError::invalid("field_required", "`user_identifier` is required", Some("user_identifier"))
    })?;
    let challenges = match m.get("challenges") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a
            .iter()
            .map(|c| c.as_str().map(str::to_string))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| invalid("challenges", "`challenges` must be a list of names"))?,
        Some(_) => return Err(invalid("challenges", "`challenges` must be a list of names")),
    };
    let ttl_minutes = match m.get("ttl_minutes") {
        None | Some(Value::Null) => None,
        Some(v) => {
            Some(v.as_u64().ok_or_else(|| invalid("ttl_minutes", "`ttl_minutes` must be a whole number"))?)
        }
    };
    let single_use = match m.get("single_use") {
        None | Some(Value::Null) => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(_) => {
            return Err(ApiError::invalid("field_type", "`single_use` must be a boolean", Some("single_use")))
        }
    };
    let subject = Subject {
        user_identifier,
        user_email: string_field(&m, "user_email", false)?,
        user_phone: string_field(&m, "user_phone", false)?,
        language: string_field(&m, "language", false)?,
        challenges,
        success_url: string_field(&m, "success_url", false)?,
        cancel_url: string_field(&m, "cancel_url", false)?,
        ttl_minutes,
        single_use,
        ..Subject::default()
    };
    let (r, token) = open_new(&s, &caller.tenant_id, subject).await?;
    Ok((StatusCode::CREATED, Json(created(&s, &r, &token))))
}

/// `GET /v1/capture-sessions/{id}`.
pub async fn get(
    State(s): State<AppState>,
    caller: Caller,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> ApiResult<Json<Value>> {
    let r = fetch::<CaptureSession>(&s, &caller.tenant_id, &id).await?;
    Ok(Json(public(&r)))
}

/// A stored session as shown: its state now (an open session past its time reads `expired`).
fn public(r: &Resource) -> Value {
    let mut v = CaptureSession::render(r);
    if r.body["status"] == "created" && state_of(r) == Err(Closed::Expired) {
        v["status"] = json!("expired");
    }
    if let Some(m) = v.as_object_mut() {
        m.remove("expires_at_ms");
    }
    v
}

/// `GET /v1/capture-sessions`: paging and `status`, `user_identifier`.
pub async fn list(
    State(s): State<AppState>,
    caller: Caller,
    Query(params): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    let q = list_query(&params, CaptureSession::FILTERS)?;
    let page = s.store.list(&caller.tenant_id, CaptureSession::KIND, &q).await?;
    Ok(Json(page_json(&q, page.total, page.items.iter().map(public).collect())))
}
