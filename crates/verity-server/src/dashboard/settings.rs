//! Settings in the dashboard: the capture page's look with a preview that follows the form
//! (the real page, framed; no script needed: the form targets the frame), where results go and
//! how long files are kept; API keys (created — shown once —, revoked); the team (admins). Every
//! change is in the audit log.

use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Response};
use axum::Form;
use maud::{html, Markup};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::layout::{self, Section};
use super::session::{CsrfForm, Viewer};
use super::users::{self, Role};
use super::DashError;
use crate::hosted::partner::{self, Settings};
use crate::AppState;

/// `GET /dashboard/settings`.
pub async fn show(State(s): State<AppState>, viewer: Viewer) -> Result<Html<String>, DashError> {
    page(&s, &viewer, None).await
}

/// The page, with a one-time message (a new key or password) when there is one.
async fn page(s: &AppState, viewer: &Viewer, once: Option<Markup>) -> Result<Html<String>, DashError> {
    let st = partner::load(s, viewer.tenant()).await?;
    let keys: Vec<_> =
        s.store.list_keys().await?.into_iter().filter(|k| k.tenant_id == viewer.tenant()).collect();
    let admin = viewer.role >= Role::Admin;
    let team = if admin { s.store.list_users(Some(viewer.tenant())).await? } else { Vec::new() };
    let csrf = viewer.session.csrf.as_str();
    let body = html! {
        h1 { "Settings" }
        @if let Some(m) = once { (m) }
        section aria-labelledby="capture" {
            h2 #capture { "Capture page and results" }
            div.settings {
                (partner_form(&st, csrf, admin))
                figure.preview {
                    iframe name="preview" title="Preview of the capture page" src="/dashboard/settings/preview" {}
                    figcaption { "The capture page as your users see it (press Preview to try changes before saving)." }
                }
            }
        }
        section aria-labelledby="keys" {
            h2 #keys { "API keys" }
            table.keys {
                thead { tr { th scope="col" { "Name" } th scope="col" { "Key" } th scope="col" { "Created" } th scope="col" { "State" } @if admin { th scope="col" { span.sr { "Revoke" } } } } }
                tbody {
                    @for k in &keys {
                        tr {
                            td { (k.name) }
                            td { code { (k.prefix) "…" } }
                            td { (layout::when(k.created_at)) }
                            td { @if let Some(t) = k.revoked_at { span.badge.rejected { "revoked" } " " span.muted { (layout::when(t)) } } @else { span.badge.clear { "active" } } }
                            @if admin {
                                td { @if k.revoked_at.is_none() {
                                    form.inline method="post" action={ "/dashboard/settings/keys/" (k.id) "/revoke" } {
                                        input type="hidden" name="csrf" value=(csrf);
                                        button type="submit" { "Revoke" }
                                    }
                                } }
                            }
                        }
                    }
                }
            }
            @if admin {
                form.row method="post" action="/dashboard/settings/keys" {
                    input type="hidden" name="csrf" value=(csrf);
                    label { "New key's name " input type="text" name="name" required maxlength="80" placeholder="e.g. production"; }
                    button type="submit" { "Create a key" }
                }
            }
        }
        @if admin {
            section aria-labelledby="team" {
                h2 #team { "Team" }
                table.team {
                    thead { tr { th scope="col" { "Email" } th scope="col" { "Role" } th scope="col" { "Since" } th scope="col" { "State" } th scope="col" { span.sr { "Change" } } } }
                    tbody {
                        @for u in &team {
                            tr {
                                td { (u.email) }
                                td { (u.role) }
                                td { (layout::when(u.created_at)) }
                                td { @if u.disabled_at.is_some() { span.badge.rejected { "disabled" } } @else { span.badge.clear { "active" } } }
                                td { @if u.id != viewer.user.id {
                                    form.inline method="post" action={ "/dashboard/settings/users/" (u.id) "/" @if u.disabled_at.is_some() { "enable" } @else { "disable" } } {
                                        input type="hidden" name="csrf" value=(csrf);
                                        button type="submit" { @if u.disabled_at.is_some() { "Enable" } @else { "Disable" } }
                                    }
                                } }
                            }
                        }
                    }
                }
                form.row method="post" action="/dashboard/settings/users" {
                    input type="hidden" name="csrf" value=(csrf);
                    label { "Email " input type="email" name="email" required; }
                    label { "Role "
                        select name="role" {
                            option value="viewer" { "viewer" } option value="reviewer" selected { "reviewer" } option value="admin" { "admin" }
                        }
                    }
                    button type="submit" { "Add a member" }
                }
            }
        }
    };
    Ok(layout::page(viewer, Section::Settings, "Settings", body))
}

fn partner_form(st: &Settings, csrf: &str, admin: bool) -> Markup {
    let t = &st.theme;
    html! {
        form.partner method="post" action="/dashboard/settings/partner" {
            input type="hidden" name="csrf" value=(csrf);
            fieldset disabled[!admin] {
                legend { "Look" }
                label { "Title" input type="text" name="title" value=(t.title) maxlength="80" required; }
                div.colours {
                    label { "Primary" input type="color" name="primary_color" value=(t.primary_color); }
                    label { "Background" input type="color" name="background_color" value=(t.background_color); }
                    label { "Text" input type="color" name="text_color" value=(t.text_color); }
                }
                label { "Introduction (instead of the default text)" textarea name="intro_text" rows="3" maxlength="600" { (t.intro_text.as_deref().unwrap_or("")) } }
                label { "Preview in"
                    select name="lang" { @for l in partner::LANGUAGES { option value=(l) selected[l == st.default_language] { (l) } } }
                }
            }
            fieldset disabled[!admin] {
                legend { "Results and retention" }
                label { "Webhook URL for hosted results" input type="url" name="webhook_url" value=(st.webhook_url.as_deref().unwrap_or("")) placeholder="https://…"; }
                label { "Days a capture's files are kept" input type="number" name="retention_days" min="1" max="365" value=(st.retention_days); }
                label { "Days other files are kept (empty: until deleted)" input type="number" name="resource_retention_days" min="1" max="3650" value=(st.resource_retention_days.map(|d| d.to_string()).unwrap_or_default()); }
                label { "Minutes a capture link works" input type="number" name="session_ttl_minutes" min="5" max="10080" value=(st.session_ttl_minutes); }
                label { "Prompts in the selfie video" input type="number" name="prompts" min="1" max="4" value=(st.prompts); }
            }
            div.buttons {
                button type="submit" formaction="/dashboard/settings/preview" formmethod="get" formtarget="preview" formnovalidate { "Preview" }
                @if admin { button.primary type="submit" { "Save" } }
            }
        }
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct ThemeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    primary_color: Option<String>,
    #[serde(default)]
    background_color: Option<String>,
    #[serde(default)]
    text_color: Option<String>,
    #[serde(default)]
    intro_text: Option<String>,
    #[serde(default)]
    lang: Option<String>,
    #[serde(default)]
    webhook_url: Option<String>,
    #[serde(default)]
    retention_days: Option<String>,
    #[serde(default)]
    resource_retention_days: Option<String>,
    #[serde(default)]
    session_ttl_minutes: Option<String>,
    #[serde(default)]
    prompts: Option<String>,
}

fn blank(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|x| !x.is_empty())
}

impl ThemeForm {
    /// The theme fields as the partner settings' patch (empty fields: back to the default).
    fn theme(&self) -> Value {
        let mut t = Map::new();
        for (k, v) in [
            ("title", &self.title),
            ("primary_color", &self.primary_color),
            ("background_color", &self.background_color),
            ("text_color", &self.text_color),
            ("intro_text", &self.intro_text),
        ] {
            if v.is_some() {
                t.insert(k.into(), blank(v).map(|x| json!(x)).unwrap_or(Value::Null));
            }
        }
        Value::Object(t)
    }

    fn patch(&self) -> Result<Map<String, Value>, DashError> {
        let mut p = Map::new();
        p.insert("theme".into(), self.theme());
        p.insert("webhook_url".into(), blank(&self.webhook_url).map(|x| json!(x)).unwrap_or(Value::Null));
        for (k, v, optional) in [
            ("retention_days", &self.retention_days, false),
            ("resource_retention_days", &self.resource_retention_days, true),
            ("session_ttl_minutes", &self.session_ttl_minutes, false),
            ("prompts", &self.prompts, false),
        ] {
            match blank(v) {
                Some(x) => {
                    let n: u64 =
                        x.parse().map_err(|_| DashError::BadRequest(format!("{k}: a whole number")))?;
                    p.insert(k.into(), json!(n));
                }
                None if optional => {
                    p.insert(k.into(), Value::Null);
                }
                None => {}
            }
        }
        Ok(p)
    }
}

/// `GET /dashboard/settings/preview`: the capture page with the form's (unsaved) theme.
pub async fn preview(
    State(s): State<AppState>,
    viewer: Viewer,
    Query(f): Query<ThemeForm>,
) -> Result<Response, DashError> {
    let mut st = partner::load(&s, viewer.tenant()).await?;
    let mut theme = serde_json::to_value(&st.theme).unwrap_or_default();
    if let (Some(m), Value::Object(p)) = (theme.as_object_mut(), f.theme()) {
        for (k, v) in p {
            if !v.is_null() {
                m.insert(k, v);
            }
        }
    }
    st.theme = serde_json::from_value(theme).map_err(|e| DashError::BadRequest(e.to_string()))?;
    st.theme.check()?;
    let lang = blank(&f.lang)
        .filter(|l| st.languages.iter().any(|x| x == l))
        .unwrap_or(&st.default_language)
        .to_string();
    Ok(crate::hosted::page::preview(&s, &st, &lang))
}

/// `POST /dashboard/settings/partner`.
pub async fn save_partner(
    State(s): State<AppState>,
    viewer: Viewer,
    Form(f): Form<ThemeForm>,
) -> Result<Response, DashError> {
    viewer.check_csrf(&f.csrf)?;
    viewer.require(Role::Admin)?;
    crate::audit::set_trigger("updatePartnerSettings");
    partner::apply(&s, viewer.tenant(), f.patch()?).await?;
    Ok(super::see_other("/dashboard/settings#capture"))
}

#[derive(Debug, Deserialize)]
pub struct KeyForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
}

/// `POST /dashboard/settings/keys`: the new key, shown once.
pub async fn create_key(
    State(s): State<AppState>,
    viewer: Viewer,
    Form(f): Form<KeyForm>,
) -> Result<Response, DashError> {
    viewer.check_csrf(&f.csrf)?;
    viewer.require(Role::Admin)?;
    let name = f.name.trim();
    if name.is_empty() || name.chars().count() > 80 || name.chars().any(char::is_control) {
        return Err(DashError::BadRequest("a key's name has 1 to 80 printable characters".into()));
    }
    crate::audit::set_trigger("createApiKey");
    let (k, secret) = crate::auth::create_key(s.store.as_ref(), viewer.tenant(), name).await?;
    let diff = vec![json!({"action": "add", "path": ["name"], "old": null, "new": name})];
    crate::audit::note(s.store.as_ref(), viewer.tenant(), "apiKey", &k.id, "create", diff).await;
    let once = html! {
        div.once role="alert" {
            p { "The key " strong { (k.name) } " — copy it now, it is not shown again:" }
            pre { code { (secret) } }
        }
    };
    Ok(page(&s, &viewer, Some(once)).await?.into_response())
}

/// `POST /dashboard/settings/keys/{id}/revoke`.
pub async fn revoke_key(
    State(s): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(f): Form<CsrfForm>,
) -> Result<Response, DashError> {
    viewer.check_csrf(&f.csrf)?;
    viewer.require(Role::Admin)?;
    let ours = s.store.list_keys().await?.into_iter().any(|k| k.id == id && k.tenant_id == viewer.tenant());
    if !ours {
        return Err(DashError::NotFound("key"));
    }
    crate::audit::set_trigger("revokeApiKey");
    s.store.revoke_key(&id, verity_store::time::now_ms()).await?;
    let diff = vec![
        json!({"action": "edit", "path": ["revokedAt"], "old": null, "new": verity_store::time::format_ms(verity_store::time::now_ms())}),
    ];
    crate::audit::note(s.store.as_ref(), viewer.tenant(), "apiKey", &id, "update", diff).await;
    Ok(super::see_other("/dashboard/settings#keys"))
}

#[derive(Debug, Deserialize)]
pub struct MemberForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    role: String,
}

/// `POST /dashboard/settings/users`: a new member of the team, their password shown once.
pub async fn add_member(
    State(s): State<AppState>,
    viewer: Viewer,
    Form(f): Form<MemberForm>,
) -> Result<Response, DashError> {
    viewer.check_csrf(&f.csrf)?;
    viewer.require(Role::Admin)?;
    let role = Role::parse(&f.role)
        .ok_or_else(|| DashError::BadRequest("role: viewer, reviewer or admin".into()))?;
    let password = users::generate_password();
    crate::audit::set_trigger("createTeamMember");
    let u = users::create(s.store.as_ref(), &f.email, role, viewer.tenant(), &password).await.map_err(
        |e| match e {
            users::UserError::Store(e) => DashError::from(e),
            other => DashError::BadRequest(other.to_string()),
        },
    )?;
    let diff = vec![
        json!({"action": "add", "path": ["email"], "old": null, "new": u.email}),
        json!({"action": "add", "path": ["role"], "old": null, "new": u.role}),
    ];
    crate::audit::note(s.store.as_ref(), viewer.tenant(), "dashboardUser", &u.id, "create", diff).await;
    let once = html! {
        div.once role="alert" {
            p { strong { (u.email) } " (" (u.role) ") can sign in at " code { "/dashboard/login" } " with this password — give it to them now, it is not shown again:" }
            pre { code { (password) } }
        }
    };
    Ok(page(&s, &viewer, Some(once)).await?.into_response())
}

/// `POST /dashboard/settings/users/{id}/disable|enable`.
pub async fn set_member(
    State(s): State<AppState>,
    viewer: Viewer,
    Path((id, change)): Path<(String, String)>,
    Form(f): Form<CsrfForm>,
) -> Result<Response, DashError> {
    viewer.check_csrf(&f.csrf)?;
    viewer.require(Role::Admin)?;
    let disable = match change.as_str() {
        "disable" => true,
        "enable" => false,
        _ => return Err(DashError::NotFound("action")),
    };
    let u = s
        .store
        .user(&id)
        .await?
        .filter(|u| u.tenant_id == viewer.tenant())
        .ok_or(DashError::NotFound("member"))?;
    if u.id == viewer.user.id {
        return Err(DashError::BadRequest("you cannot disable yourself".into()));
    }
    crate::audit::set_trigger(if disable { "disableTeamMember" } else { "enableTeamMember" });
    let now = verity_store::time::now_ms();
    s.store.set_user_disabled(&u.id, disable.then_some(now)).await?;
    if disable {
        s.store.delete_user_sessions(&u.id).await?;
    }
    let diff = vec![
        json!({"action": "edit", "path": ["disabled"], "old": (!disable).to_string(), "new": disable.to_string()}),
    ];
    crate::audit::note(s.store.as_ref(), viewer.tenant(), "dashboardUser", &u.id, "update", diff).await;
    Ok(super::see_other("/dashboard/settings#team"))
}
