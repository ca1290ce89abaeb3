//! A tenant's partner settings (`GET /v1/partner/settings`, `POST` with any subset of the
//! fields): where hosted results are delivered, how the capture page looks and speaks, how long
//! a capture link works and how long its files are kept. Unset fields take the server's
//! defaults (`[hosted]` in the config); nothing is stored until the first `POST`.

use axum::body::Bytes;
use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::resources::{json_object, modify, new_resource, reject_unknown, Kind};
use crate::AppState;

/// The languages the capture page speaks.
pub const LANGUAGES: [&str; 3] = ["en", "fr", "ar"];

/// The resource type (one per tenant, never listed).
pub struct PartnerSettings;

impl Kind for PartnerSettings {
    const KIND: &'static str = "partnerSettings";
    const NOUN: &'static str = "partner settings";
    const FILTERS: &'static [&'static str] = &[];
}

/// How the capture page looks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Theme {
    pub title: String,
    /// A `data:image/png|jpeg|webp;base64,…` URI (the page loads nothing from elsewhere).
    pub logo: Option<String>,
    pub primary_color: String,
    pub background_color: String,
    pub text_color: String,
    /// Shown on the first screen instead of the default text (any language).
    pub intro_text: Option<String>,
    /// The page's own words replaced, per language: `{"fr": {"start": "C'est parti"}}` (the keys
    /// of `hosted/assets/texts.json`).
    pub texts: std::collections::BTreeMap<String, std::collections::BTreeMap<String, String>>,
}

impl Default for Theme {
    fn default() -> Self {
        Self {
            title: "Identity verification".into(),
            logo: None,
            primary_color: "#1d4ed8".into(),
            background_color: "#f5f7fa".into(),
            text_color: "#111827".into(),
            intro_text: None,
            texts: Default::default(),
        }
    }
}

impl Theme {
    /// Checks every field (the partner's settings and the server's defaults alike).
    pub fn check(&self) -> ApiResult<()> {
        let t = self;
        if t.title.trim().is_empty() || t.title.chars().count() > 80 {
            return Err(invalid("theme.title", "`theme.title` must have 1 to 80 characters".into()));
        }
        if t.intro_text.as_ref().is_some_and(|x| x.chars().count() > 600) {
            return Err(invalid(
                "theme.intro_text",
                "`theme.intro_text` must have at most 600 characters".into(),
            ));
        }
        for (field, v) in [
            ("theme.primary_color", &t.primary_color),
            ("theme.background_color", &t.background_color),
            ("theme.text_color", &t.text_color),
        ] {
            colour(field, v)?;
        }
        let known = super::page::text_keys();
        for (lang, words) in &t.texts {
            if !LANGUAGES.contains(&lang.as_str()) {
                return Err(invalid(
                    "theme.texts",
                    format!("`theme.texts`: {lang:?} is not one of {LANGUAGES:?}"),
                ));
            }
            for (k, v) in words {
                if !known.contains(k) {
                    return Err(invalid(
                        "theme.texts",
                        format!("`theme.texts.{lang}`: no text is called {k:?}"),
                    ));
                }
                if v.trim().is_empty() || v.chars().count() > 400 || v.chars().any(char::is_control) {
                    return Err(invalid(
                        "theme.texts",
                        format!("`theme.texts.{lang}.{k}` must have 1 to 400 printable characters"),
                    ));
                }
            }
        }
        if let Some(logo) = &t.logo {
            let ok = logo.len() <= 140_000
                && ["data:image/png;base64,", "data:image/jpeg;base64,", "data:image/webp;base64,"]
                    .iter()
                    .any(|p| logo.starts_with(p))
                && logo.split_once(',').is_some_and(|(_, b)| {
                    use base64::Engine as _;
                    base64::engine::general_purpose::STANDARD.decode(b).is_ok()
                });
            if !ok {
                return Err(invalid(
                    "theme.logo",
                    "`theme.logo` must be a base64 PNG, JPEG or WebP data URI of at most 100 KB".into(),
                ));
            }
        }
        Ok(())
    }
}

/// A tenant's partner settings, defaults filled in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    pub webhook_url: Option<String>,
    pub theme: Theme,
    pub languages: Vec<String>,
    pub default_language: String,
    pub retention_days: u64,
    /// Days after which the files and face embeddings of ComplyCube live photos, live videos,
    /// documents and one-call verifications are deleted; `None`: kept until redacted or deleted.
    pub resource_retention_days: Option<u64>,
    pub session_ttl_minutes: u64,
    /// Random prompts in a selfie video (1–4).
    pub prompts: usize,
    /// Where the page sends the user after a finished or cancelled capture (a capture session
    /// may name its own).
    pub success_url: Option<String>,
    pub cancel_url: Option<String>,
}

impl Settings {
    /// The server's defaults.
    pub fn defaults(s: &AppState) -> Self {
        let h = &s.config.hosted;
        Self {
            webhook_url: Some(h.webhook_url.clone()).filter(|u| !u.is_empty()),
            theme: h.theme.clone(),
            languages: LANGUAGES.iter().map(|l| l.to_string()).collect(),
            default_language: "en".into(),
            retention_days: h.retention_days,
            resource_retention_days: None,
            session_ttl_minutes: h.session_ttl_minutes,
            prompts: h.prompts,
            success_url: None,
            cancel_url: None,
        }
    }
}

/// The one id of a tenant's settings.
fn id_of(tenant: &str) -> String {
    hex::encode(&Sha256::digest(format!("partner-settings:{tenant}").as_bytes())[..12])
}

/// A tenant's settings (the defaults until the first change).
pub async fn load(s: &AppState, tenant: &str) -> ApiResult<Settings> {
    let defaults = Settings::defaults(s);
    match s.store.get(tenant, PartnerSettings::KIND, &id_of(tenant)).await? {
        None => Ok(defaults),
        Some(r) => {
            let mut merged = serde_json::to_value(&defaults).unwrap_or_default();
            if let (Some(m), Value::Object(stored)) = (merged.as_object_mut(), r.body) {
                crate::resources::merge_patch(m, stored);
            }
            Ok(serde_json::from_value(merged).unwrap_or(defaults))
        }
    }
}

fn render(st: &Settings) -> Value {
    let mut v = serde_json::to_value(st).unwrap_or_default();
    v["object"] = json!("partner.settings");
    v
}

/// `GET /v1/partner/settings`.
pub async fn get(State(s): State<AppState>, caller: Caller) -> ApiResult<Json<Value>> {
    Ok(Json(render(&load(&s, &caller.tenant_id).await?)))
}

fn invalid(field: &str, message: String) -> ApiError {
    ApiError::invalid("field_invalid", message, Some(field))
}

/// A colour as the page's CSS takes it.
fn colour(field: &str, v: &str) -> ApiResult<()> {
    let ok = v.len() == 7 && v.starts_with('#') && v[1..].chars().all(|c| c.is_ascii_hexdigit());
    ok.then_some(()).ok_or_else(|| invalid(field, format!("`{field}` must be a colour like #1d4ed8")))
}

/// An absolute http(s) URL a browser is sent to.
pub fn redirect_url(field: &str, v: &str) -> ApiResult<()> {
    let ok = v.len() <= 2048
        && (v.starts_with("https://") || v.starts_with("http://"))
        && !v.chars().any(|c| c.is_whitespace() || c.is_control() || c == '"' || c == '<' || c == '>');
    ok.then_some(()).ok_or_else(|| invalid(field, format!("`{field}` must be an http(s) URL")))
}

/// Checks a merged settings object.
fn validate(s: &AppState, st: &Settings) -> ApiResult<()> {
    if let Some(u) = &st.webhook_url {
        crate::outbound::check_url(u, &s.outbound)
            .map_err(|e| invalid("webhook_url", format!("`webhook_url` is not deliverable: {e}")))?;
    }
    st.theme.check()?;
    if st.languages.is_empty() || st.languages.iter().any(|l| !LANGUAGES.contains(&l.as_str())) {
        return Err(invalid("languages", format!("`languages` must be a non-empty subset of {LANGUAGES:?}")));
    }
    if !st.languages.contains(&st.default_language) {
        return Err(invalid("default_language", "`default_language` must be one of `languages`".into()));
    }
    if !(1..=365).contains(&st.retention_days) {
        return Err(invalid("retention_days", "`retention_days` must be from 1 to 365".into()));
    }
    if st.resource_retention_days.is_some_and(|d| !(1..=3650).contains(&d)) {
        return Err(invalid(
            "resource_retention_days",
            "`resource_retention_days` must be from 1 to 3650, or null".into(),
        ));
    }
    if !(5..=10_080).contains(&st.session_ttl_minutes) {
        return Err(invalid(
            "session_ttl_minutes",
            "`session_ttl_minutes` must be from 5 to 10080 (a week)".into(),
        ));
    }
    if !(1..=4).contains(&st.prompts) {
        return Err(invalid("prompts", "`prompts` must be from 1 to 4".into()));
    }
    for (field, v) in [("success_url", &st.success_url), ("cancel_url", &st.cancel_url)] {
        if let Some(u) = v {
            redirect_url(field, u)?;
        }
    }
    Ok(())
}

/// `POST /v1/partner/settings`: any subset of the fields (`theme` merges field by field; `null`
/// puts a field back to its default).
pub async fn update(State(s): State<AppState>, caller: Caller, body: Bytes) -> ApiResult<Json<Value>> {
    let patch = json_object(&body)?;
    Ok(Json(render(&apply(&s, &caller.tenant_id, patch).await?)))
}

/// Checks a partial change of a tenant's settings and stores it (the API's and the dashboard's
/// way); answers the settings as they are now.
pub async fn apply(s: &AppState, tenant: &str, patch: Map<String, Value>) -> ApiResult<Settings> {
    reject_unknown(
        &patch,
        &[
            "webhook_url",
            "theme",
            "languages",
            "default_language",
            "retention_days",
            "resource_retention_days",
            "session_ttl_minutes",
            "prompts",
            "success_url",
            "cancel_url",
        ],
    )?;
    if let Some(Value::Object(t)) = patch.get("theme") {
        reject_unknown(
            t,
            &["title", "logo", "primary_color", "background_color", "text_color", "intro_text", "texts"],
        )?;
    }
    let id = id_of(tenant);
    // The stored patch (only what the tenant set), merged over the defaults to validate.
    let apply = |stored: &mut Map<String, Value>| -> ApiResult<Settings> {
        crate::resources::merge_patch(stored, patch.clone());
        let mut merged = serde_json::to_value(Settings::defaults(s)).unwrap_or_default();
        if let Some(m) = merged.as_object_mut() {
            crate::resources::merge_patch(m, stored.clone());
        }
        let st: Settings = serde_json::from_value(merged)
            .map_err(|e| ApiError::invalid("field_type", format!("partner settings: {e}"), None))?;
        validate(s, &st)?;
        Ok(st)
    };
    if s.store.get(tenant, PartnerSettings::KIND, &id).await?.is_none() {
        let mut stored = Map::new();
        apply(&mut stored)?;
        let mut r = new_resource::<PartnerSettings>(tenant, None, Value::Object(stored));
        r.id = id.clone();
        // A concurrent first write: fall through to the read-modify-write below.
        if s.store.insert(&r).await.is_ok() {
            return load(s, tenant).await;
        }
    }
    modify::<PartnerSettings, _>(s, tenant, &id, |r| {
        let mut stored = r.body.as_object().cloned().unwrap_or_default();
        apply(&mut stored)?;
        r.body = Value::Object(stored);
        Ok(())
    })
    .await?;
    load(s, tenant).await
}
