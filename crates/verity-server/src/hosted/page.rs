//! The capture page. `GET /verif/?api_key=…&user_identifier=…` (the seed's link) checks the key,
//! makes a capture session and redirects at once to `/verif/s/<token>`, so the key leaves the
//! address bar, the history and any `Referer`. `GET /verif/s/<token>` serves the page: one HTML
//! document with its style and script inline (no CDN, nothing loaded from elsewhere), themed
//! from the partner settings, in English, French or Arabic (right to left).

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::partner::{self, Settings};
use super::session::{self, Closed, Subject};
use super::{SeedError, SeedResult};
use crate::AppState;

const HTML: &str = include_str!("assets/page.html");
const CSS: &str = include_str!("assets/page.css");
const JS: &str = include_str!("assets/page.js");
const TEXTS: &str = include_str!("assets/texts.json");

/// The names of the page's texts (every language has the same).
pub fn text_keys() -> Vec<String> {
    let t: serde_json::Value = serde_json::from_str(TEXTS).unwrap_or_default();
    t["en"].as_object().map(|m| m.keys().cloned().collect()).unwrap_or_default()
}

/// The page's texts with the partner's own words in place of the defaults.
fn texts_for(settings: &Settings) -> String {
    let mut t: serde_json::Value = serde_json::from_str(TEXTS).unwrap_or_default();
    for (lang, words) in &settings.theme.texts {
        for (k, v) in words {
            if t[lang.as_str()].get(k).is_some() {
                t[lang.as_str()][k.as_str()] = json!(v);
            }
        }
    }
    t.to_string()
}

/// How long the selfie video records (ms).
pub const RECORD_MS: u64 = 8000;

/// `GET /verif/`: the seed's link, exchanged for a capture session.
pub async fn start(
    State(s): State<AppState>,
    req_parts: axum::http::request::Parts,
    Query(q): Query<HashMap<String, String>>,
) -> SeedResult<Response> {
    let get = |k: &str| q.get(k).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
    let key = get("api_key")
        .ok_or_else(|| SeedError::new(StatusCode::BAD_REQUEST, "api_key_required", "API key is required"))?;
    let user = get("user_identifier").or_else(|| get("user_id")).ok_or_else(|| {
        SeedError::new(StatusCode::BAD_REQUEST, "user_identifier_required", "User identifier is required")
    })?;
    let addr = crate::auth::peer_ip(&req_parts, &s).map(|ip| ip.to_string()).unwrap_or_default();
    let caller = crate::auth::authenticate_key(&s, &addr, &key).await?;
    let subject = Subject {
        user_identifier: user,
        user_email: get("user_email"),
        user_phone: get("user_phone"),
        language: get("language").or_else(|| get("lang")),
        ..Subject::default()
    };
    let (_, token) = session::open_new(&s, &caller.tenant_id, subject).await?;
    let mut resp = StatusCode::SEE_OTHER.into_response();
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&format!("/verif/s/{token}")) {
        h.insert(header::LOCATION, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    Ok(resp)
}

/// Escapes text for HTML.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// Relative luminance of `#rrggbb` (WCAG).
fn luminance(hex: &str) -> f64 {
    let c = |i: usize| {
        let v = u8::from_str_radix(hex.get(i..i + 2).unwrap_or("00"), 16).unwrap_or(0) as f64 / 255.0;
        if v <= 0.03928 {
            v / 12.92
        } else {
            ((v + 0.055) / 1.055).powf(2.4)
        }
    };
    0.2126 * c(1) + 0.7152 * c(3) + 0.0722 * c(5)
}

fn contrast(a: &str, b: &str) -> f64 {
    let (x, y) = (luminance(a), luminance(b));
    (x.max(y) + 0.05) / (x.min(y) + 0.05)
}

/// White or near-black, whichever reads better on `bg` (the partner picks the colours; the
/// text on them must stay legible: WCAG's 4.5:1 where either colour reaches it).
fn text_on(bg: &str) -> &'static str {
    if contrast(bg, "#ffffff") >= contrast(bg, "#111111") {
        "#ffffff"
    } else {
        "#111111"
    }
}

/// The security headers of every page.
fn page_headers(resp: &mut Response, nonce: &str) {
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    h.insert("permissions-policy", HeaderValue::from_static("camera=(self), microphone=()"));
    h.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    let csp = format!(
        "default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; img-src 'self' data: blob:; \
         media-src 'self' blob:; connect-src 'self'; form-action 'self'; base-uri 'none'"
    );
    if let Ok(v) = HeaderValue::from_str(&csp) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
}

/// The page's language: `?lang=` when the partner offers it, else the session's.
fn language_of(settings: &Settings, wanted: Option<&String>, session_lang: &str) -> String {
    wanted.filter(|l| settings.languages.contains(l)).cloned().unwrap_or_else(|| session_lang.to_string())
}

/// Fills the template.
fn render(settings: &Settings, lang: &str, config: serde_json::Value) -> (String, String) {
    let nonce = hex::encode(crate::ids::random_bytes::<16>());
    let t = &settings.theme;
    let style = format!(
        ":root{{--primary:{};--on-primary:{};--bg:{};--text:{};}}\n{CSS}",
        t.primary_color,
        text_on(&t.primary_color),
        t.background_color,
        t.text_color
    );
    let logo = t
        .logo
        .as_ref()
        .map(|l| format!("<img class=\"logo\" src=\"{}\" alt=\"\">", esc(l)))
        .unwrap_or_default();
    // Inside <script>, `<` is written as \u003c so no text can close the element.
    let config = config.to_string().replace('<', "\\u003c");
    let texts = texts_for(settings).replace('<', "\\u003c");
    let slots = [
        ("lang", lang),
        ("dir", if lang == "ar" { "rtl" } else { "ltr" }),
        ("title", &esc(&t.title)),
        ("logo", &logo),
        ("nonce", &nonce),
        ("style", &style),
        ("config", &config),
        ("texts", &texts),
        ("script", JS),
    ];
    (fill(HTML, &slots), nonce)
}

/// Fills the `{{name}}` slots of a template in one pass: what is put in is never read again as
/// a slot, whatever a partner's texts say.
fn fill(template: &str, slots: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len() + 64 * 1024);
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find("}}").map(|end| (&after[..end], end)) {
            Some((name, end)) if slots.iter().any(|(k, _)| *k == name) => {
                out.push_str(slots.iter().find(|(k, _)| *k == name).map(|(_, v)| *v).unwrap_or_default());
                rest = &after[end + 2..];
            }
            _ => {
                out.push_str("{{");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// A page that only says why the link does not open (no script).
fn closed_page(c: Closed, lang: &str) -> Response {
    let texts: serde_json::Value = serde_json::from_str(TEXTS).unwrap_or_default();
    let key = match c {
        Closed::Unknown => "closed_unknown",
        Closed::Expired => "closed_expired",
        Closed::Used => "closed_used",
    };
    let lang = if texts[lang].is_object() { lang } else { "en" };
    let msg = texts[lang][key].as_str().unwrap_or("This link is not valid.");
    let title = texts[lang]["title"].as_str().unwrap_or("Identity verification");
    let nonce = hex::encode(crate::ids::random_bytes::<16>());
    let html = format!(
        "<!doctype html><html lang=\"{lang}\" dir=\"{}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>{}</title>\
         <style nonce=\"{nonce}\">body{{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;color:#111827}}</style></head>\
         <body><main><h1>{}</h1><p role=\"alert\" data-code=\"{}\">{}</p></main></body></html>",
        if lang == "ar" { "rtl" } else { "ltr" },
        esc(title),
        esc(title),
        c.code(),
        esc(msg)
    );
    let mut resp = (c.status(), html).into_response();
    page_headers(&mut resp, &nonce);
    resp
}

/// `GET /verif/s/{token}`.
pub async fn page(
    State(s): State<AppState>,
    Path(token): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let wanted = q.get("lang");
    let r = match session::by_token(&s, &token).await {
        Ok(r) => r,
        Err(c) => return closed_page(c, wanted.map(String::as_str).unwrap_or("en")),
    };
    let session_lang = r.body["language"].as_str().unwrap_or("en").to_string();
    if let Err(c) = session::state_of(&r) {
        return closed_page(c, wanted.map(String::as_str).unwrap_or(&session_lang));
    }
    let settings = match partner::load(&s, &r.tenant_id).await {
        Ok(st) => st,
        Err(e) => return SeedError(e).into_response(),
    };
    let lang = language_of(&settings, wanted, &session_lang);
    let session = (&r.body["challenges"], &r.body["success_url"], &r.body["cancel_url"]);
    let config = page_config(&s, &settings, &lang, &token, session);
    let (html, nonce) = render(&settings, &lang, config);
    let mut resp = (StatusCode::OK, html).into_response();
    page_headers(&mut resp, &nonce);
    resp
}

/// What the page's script is told: the session (its token, prompts, success and cancel URLs),
/// the partner's words and the limits.
fn page_config(
    s: &AppState,
    settings: &Settings,
    lang: &str,
    token: &str,
    session: (&serde_json::Value, &serde_json::Value, &serde_json::Value),
) -> serde_json::Value {
    json!({
        "token": token,
        "lang": lang,
        "languages": settings.languages,
        "challenges": session.0,
        "success_url": session.1,
        "cancel_url": session.2,
        "intro_text": settings.theme.intro_text,
        "title": settings.theme.title,
        "retention_days": settings.retention_days,
        "record_ms": RECORD_MS,
        "max_video_bytes": s.config.limits.video_body_bytes,
        "max_photo_bytes": s.config.hosted.photo_bytes,
    })
}

/// The page as `settings` would show it, for the dashboard's preview of a theme: the first
/// screen of a capture that cannot be submitted (no session), framable by the dashboard only.
pub fn preview(s: &AppState, settings: &Settings, lang: &str) -> Response {
    let prompts = json!(["turn_left", "smile"]);
    let null = serde_json::Value::Null;
    let config = page_config(s, settings, lang, "preview", (&prompts, &null, &null));
    let (html, nonce) = render(settings, lang, config);
    let mut resp = (StatusCode::OK, html).into_response();
    page_headers(&mut resp, &nonce);
    if let Some(csp) = resp.headers().get(header::CONTENT_SECURITY_POLICY).and_then(|v| v.to_str().ok()) {
        if let Ok(v) = HeaderValue::from_str(&format!("{csp}; frame-ancestors 'self'")) {
            resp.headers_mut().insert(header::CONTENT_SECURITY_POLICY, v);
        }
    }
    resp.headers_mut().insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("SAMEORIGIN"));
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_on_a_partner_colour_stays_legible() {
        assert_eq!(text_on("#1d4ed8"), "#ffffff");
        assert_eq!(text_on("#fde047"), "#111111");
        assert!(contrast("#1d4ed8", text_on("#1d4ed8")) >= 4.5);
        assert!(contrast("#ffffff", "#111111") > 15.0);
    }

    #[test]
    fn a_partner_title_is_text_not_markup_nor_a_template_slot() {
        let mut st = Settings {
            webhook_url: None,
            theme: partner::Theme { title: "<b>{{script}}</b>".into(), ..partner::Theme::default() },
            languages: vec!["en".into()],
            default_language: "en".into(),
            retention_days: 7,
            resource_retention_days: None,
            session_ttl_minutes: 60,
            prompts: 2,
            success_url: None,
            cancel_url: None,
        };
        let (html, _) = render(&st, "en", json!({}));
        assert!(html.contains("<title>&lt;b&gt;{{script}}&lt;/b&gt;</title>"), "{}", &html[..300]);
        assert_eq!(html.matches("'use strict'").count(), 1, "the script appears once");
        st.theme.title = "Acme".into();
        st.theme
            .texts
            .insert("en".into(), [("start".to_string(), "{{config}} </script>".to_string())].into());
        let (html, _) = render(&st, "en", json!({}));
        assert!(html.contains("<title>Acme</title>"));
        assert!(html.contains(r#""start":"{{config}} \u003c/script>""#), "a partner's text stays text");
        assert_eq!(fill("a{{x}}b{{y}}{{x", &[("x", "{{y}}"), ("y", "2")]), "a{{y}}b2{{x");
    }

    #[test]
    fn every_language_has_every_text() {
        let t: serde_json::Value = serde_json::from_str(TEXTS).expect("texts.json");
        let en = t["en"].as_object().expect("en");
        for lang in partner::LANGUAGES {
            let other = t[lang].as_object().unwrap_or_else(|| panic!("{lang} missing"));
            for k in en.keys() {
                assert!(other.get(k).and_then(|v| v.as_str()).is_some_and(|v| !v.is_empty()), "{lang}: {k}");
            }
            assert_eq!(other.len(), en.len(), "{lang} has texts English lacks");
        }
    }
}
