//! The schemas of the hosted capture flow's `/v1` side: capture sessions and partner settings
//! (`/verif/` itself is the seed's and is described in `docs/hosted.md`).

use serde_json::{json, Value};
use verity_liveness::Challenge;

use super::schemas::{desc, enumeration, object, s};
use crate::config::Config;
use crate::hosted::partner::LANGUAGES;

fn nullable(t: &str) -> Value {
    json!({"type": [t, "null"]})
}

pub(super) fn schemas(cfg: &Config) -> Value {
    let challenges: Vec<&str> = Challenge::ALL.iter().map(|c| c.name()).collect();
    let url = |d: &str| json!({"type": "string", "format": "uri", "description": d});
    let session_input = object(
        vec![
            ("user_identifier", desc("string", "Your identifier of the user (1–128 characters)")),
            ("user_email", s("string")),
            ("user_phone", s("string")),
            ("language", enumeration(&LANGUAGES)),
            (
                "challenges",
                json!({"type": "array", "items": enumeration(&challenges), "minItems": 1, "maxItems": 4,
                       "description": "The prompts, in order; default: `prompts` drawn at random"}),
            ),
            (
                "success_url",
                url("Where the page sends the user after the result (check_id and status added)"),
            ),
            ("cancel_url", url("Where the page's Cancel link goes")),
            (
                "ttl_minutes",
                json!({"type": "integer", "minimum": 1, "maximum": 10080,
                       "description": format!("How long the link works (default: the partner settings', {} min)", cfg.hosted.session_ttl_minutes)}),
            ),
            ("single_use", json!({"type": "boolean", "default": true})),
        ],
        &["user_identifier"],
    );
    let mut session = session_input.clone();
    session["required"] = json!(["id", "status", "user_identifier", "expires_at"]);
    if let Some(p) = session["properties"].as_object_mut() {
        p.insert("id".into(), desc("string", "cs_…"));
        p.insert("object".into(), json!({"const": "capture_session"}));
        p.insert("status".into(), enumeration(&["created", "submitted", "expired"]));
        p.insert(
            "url".into(),
            desc("string", "The capture link to send the user to (only in the creation's answer: a hash of its secret is kept)"),
        );
        p.insert("expires_at".into(), json!({"type": "string", "format": "date-time"}));
        p.insert(
            "verification_id".into(),
            json!({"type": ["string", "null"], "description": "ver_… of the submission"}),
        );
        p.insert("created_at".into(), json!({"type": "string", "format": "date-time"}));
    }
    let colour = json!({"type": "string", "pattern": "^#[0-9a-fA-F]{6}$"});
    let theme = object(
        vec![
            ("title", json!({"type": "string", "minLength": 1, "maxLength": 80})),
            (
                "logo",
                json!({"type": ["string", "null"], "description": "data:image/png|jpeg|webp;base64,… (≤ 100 KB)"}),
            ),
            ("primary_color", colour.clone()),
            ("background_color", colour.clone()),
            ("text_color", colour),
            ("intro_text", json!({"type": ["string", "null"], "maxLength": 600})),
            (
                "texts",
                json!({"type": "object", "description": "The page's own words replaced, per language: {\"fr\": {\"start\": \"C'est parti\"}} (keys of hosted/assets/texts.json; ≤ 400 characters each)",
                       "additionalProperties": {"type": "object", "additionalProperties": {"type": "string", "maxLength": 400}}}),
            ),
        ],
        &[],
    );
    let settings = object(
        vec![
            (
                "webhook_url",
                json!({"type": ["string", "null"], "format": "uri",
                "description": "Receives each hosted result (the seed's payload, User-Agent IdentityVerification/1.0, Verity-Signature)"}),
            ),
            ("theme", theme),
            ("languages", json!({"type": "array", "items": enumeration(&LANGUAGES), "minItems": 1})),
            ("default_language", enumeration(&LANGUAGES)),
            (
                "retention_days",
                json!({"type": "integer", "minimum": 1, "maximum": 365, "default": cfg.hosted.retention_days}),
            ),
            (
                "session_ttl_minutes",
                json!({"type": "integer", "minimum": 5, "maximum": 10080, "default": cfg.hosted.session_ttl_minutes}),
            ),
            (
                "prompts",
                json!({"type": "integer", "minimum": 1, "maximum": 4, "default": cfg.hosted.prompts}),
            ),
            ("success_url", nullable("string")),
            ("cancel_url", nullable("string")),
        ],
        &[],
    );
    let flow_checks = crate::hosted::complycube::FLOW_CHECKS;
    let flow_input = object(
        vec![
            ("clientId", s("string")),
            ("checkTypes", json!({"type": "array", "items": enumeration(&flow_checks), "minItems": 1})),
            ("successUrl", url("Where the page sends the user after the result")),
            ("cancelUrl", url("Where the page's Cancel link goes")),
            ("language", enumeration(&LANGUAGES)),
            (
                "theme",
                json!({"type": "string", "enum": ["light", "dark"], "description": "Accepted; the partner settings' theme applies"}),
            ),
            ("enableMonitoring", s("boolean")),
        ],
        &["clientId", "checkTypes"],
    );
    let token_input = object(
        vec![("clientId", s("string")), ("referrer", s("string")), ("appId", s("string"))],
        &["clientId"],
    );
    json!({
        "FlowSessionInput": flow_input,
        "FlowSession": object(vec![("redirectUrl", url("The capture link"))], &["redirectUrl"]),
        "TokenInput": token_input,
        "Token": object(vec![("token", desc("string", "A capture link's token: the page is /verif/s/<token>"))], &["token"]),
        "CaptureSessionInput": session_input,
        "CaptureSession": session,
        "CaptureSessions": {"type": "object", "description": "ComplyCube's page shape", "properties": {
            "items": {"type": "array", "items": {"$ref": "#/components/schemas/CaptureSession"}}}},
        "PartnerSettings": settings.clone(),
        "PartnerSettingsUpdate": settings,
    })
}
