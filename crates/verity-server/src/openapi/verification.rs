//! The schemas of one-call verification (`/v1/identity/…`), in the seed's snake_case; the
//! enums come from the pipeline's own lists.

use serde_json::{json, Value};
use verity_checks::verify::{extract, signals, CheckName, DocumentType};

use super::schemas::{desc, enumeration, object, reference, s};
use crate::config::Config;
use crate::events::EventType;

fn nullable(t: &str) -> Value {
    json!({"type": [t, "null"]})
}

fn check(extra: Vec<(&str, Value)>) -> Value {
    let mut props = vec![
        ("status", enumeration(&["pending", "passed", "failed", "not_performed"])),
        ("confidence", desc("number", "0–1")),
        ("reason", desc("string", "Why the check was not performed or failed")),
    ];
    props.extend(extra);
    let mut o = object(props, &["status"]);
    o["additionalProperties"] = json!(true);
    o
}

pub(super) fn schemas(cfg: &Config) -> Value {
    let max = cfg.limits.image_max_bytes;
    let types: Vec<&str> = DocumentType::ALL.iter().map(|t| t.name()).collect();
    let checks: Vec<&str> = CheckName::ALL.iter().map(|c| c.name()).collect();
    let codes: Vec<&str> = signals::CATALOGUE.iter().map(|k| k.code).collect();
    let image = |what: &str| {
        desc(
            "string",
            &format!("{what}, base64 (JPG or PNG; documents also PDF), at most {max} bytes decoded"),
        )
    };
    let input = object(
        vec![
            ("document_front", image("The document's front")),
            ("document_back", image("The document's back (ID cards often carry the MRZ there)")),
            ("selfie", image("A selfie of the holder")),
            ("document_type", enumeration(&types)),
            (
                "country",
                json!({"type": "string", "pattern": "^[A-Za-z]{2}$", "description": "ISO 3166-1 alpha-2 of the issuer (cin: MA, cni: FR)"}),
            ),
            (
                "checks",
                json!({"type": "array", "items": enumeration(&checks), "minItems": 1,
                "description": "Default: every check the inputs allow (face_match and liveness need a selfie)"}),
            ),
            ("mode", json!({"type": "string", "enum": ["sync", "async"], "default": "sync"})),
            (
                "webhook_url",
                json!({"type": "string", "format": "uri", "description": "Receives the finished verification, signed (Verity-Signature)"}),
            ),
            (
                "metadata",
                json!({"type": "object", "description": format!("Echoed back; at most {} bytes as JSON", cfg.verification.metadata_bytes)}),
            ),
        ],
        &["document_front", "document_type", "country"],
    );
    let mut fields: Vec<(&str, Value)> = extract::FIELDS.iter().map(|f| (*f, nullable("string"))).collect();
    fields.push(("mrz", desc("string", "The MRZ lines as printed, newline-separated")));
    fields.push((
        "field_confidences",
        json!({"type": "object", "additionalProperties": {"type": "object", "properties": {
            "confidence": desc("number", "0–1; 0 when not read"),
            "source": {"type": ["string", "null"], "enum": ["mrz", "visual_zone", "barcode", null]}}}}),
    ));
    let extracted = json!({"type": ["object", "null"], "properties": object(fields, &[])["properties"]});
    let signal = object(
        vec![
            ("code", enumeration(&codes)),
            ("severity", enumeration(&["info", "low", "medium", "high", "critical"])),
            ("points", desc("integer", "What the signal adds to risk_score")),
            ("message", s("string")),
            ("evidence", s("object")),
        ],
        &["code", "severity", "message"],
    );
    let verification = json!({
        "type": "object",
        "properties": {
            "id": desc("string", "ver_ and 24 hex characters"),
            "object": {"const": "identity.verification"},
            "created_at": {"type": "string", "format": "date-time"},
            "updated_at": {"type": "string", "format": "date-time"},
            "status": enumeration(&["pending", "verified", "rejected", "review", "expired", "error"]),
            "document_type": enumeration(&types),
            "country": s("string"),
            "mode": enumeration(&["sync", "async"]),
            "webhook_url": nullable("string"),
            "extracted_data": extracted,
            "checks": {"type": "object", "description": "The requested checks", "properties": {
                "ocr": check(vec![]),
                "face_match": check(vec![("similarity_score", nullable("number")), ("threshold", s("number"))]),
                "liveness": check(vec![("is_live", nullable("boolean")), ("spoof_probability", nullable("number"))]),
                "fraud": check(vec![("tampering_detected", s("boolean")), ("signals", json!({"type": "array", "items": enumeration(&codes)}))]),
                "duplicate": check(vec![("matches", json!({"type": "array", "description": "Earlier verifications, live photos and documents of this tenant that matched, most similar first (at most 10)",
                    "items": {"type": "object", "properties": {
                        "id": desc("string", "ver_… for a verification; the live photo's or document's id"),
                        "object": enumeration(&["identity.verification", "live_photo", "document"]),
                        "kind": enumeration(&["face", "document_number", "image"]),
                        "similarity": desc("number", "Cosine similarity, for a face"),
                        "same_identity": desc("boolean", "Both name the same holder: a returning customer, not a duplicate")}}}))]),
            }},
            "risk_score": {"type": ["integer", "null"], "minimum": 0, "maximum": 1000},
            "risk_level": {"type": ["string", "null"], "enum": ["low", "medium", "high", "critical", null]},
            "fraud_signals": {"type": "array", "items": reference("FraudSignal")},
            "retryable": desc("boolean", "Every failing signal is about image quality: ask the user to try again"),
            "error": {"type": "object", "description": "Why a verification in status error could not be made",
                      "properties": {"code": s("string"), "message": s("string")}},
            "metadata": s("object"),
        },
    });
    let policy = object(
        vec![
            ("review_above", json!({"type": "integer", "minimum": 0, "maximum": 1000, "default": 400})),
            ("reject_above", json!({"type": "integer", "minimum": 0, "maximum": 1000, "default": 800})),
            ("minimum_age", json!({"type": "integer", "minimum": 0, "maximum": 120, "default": 18})),
        ],
        &[],
    );
    json!({
        "VerificationInput": input,
        "Verification": verification,
        "FraudSignal": signal,
        "VerificationDeliveries": {"type": "object", "properties": {"object": {"const": "list"}, "data": {
            "type": "array", "items": {"type": "object", "properties": {
                "id": s("string"), "event_id": s("string"), "attempt": s("integer"),
                "status_code": nullable("integer"), "error": nullable("string"),
                "created_at": {"type": "string", "format": "date-time"},
                "latency_ms": nullable("integer"), "next_retry_at": nullable("string")}}}}},
        "VerificationSettings": {"type": "object", "properties": {
            "object": {"const": "identity.settings"}, "policy": policy.clone(),
            "webhook_secret": desc("string", "Signs deliveries to webhook_url: Verity-Signature: t=<unix>,v1=<hex HMAC-SHA256 of \"<t>.<body>\">"),
            "updated_at": {"type": "string", "format": "date-time"}}},
        "VerificationSettingsUpdate": object(
            vec![("policy", policy), ("rotate_webhook_secret", s("boolean"))],
            &[],
        ),
        "VerificationEvent": {
            "type": "object",
            "description": "The body POSTed to webhook_url; Verity-Event-Id repeats `id` (the same on every attempt)",
            "properties": {"id": desc("string", "evt_…"), "object": {"const": "event"},
                "type": enumeration(&[
                    EventType::VERIFICATION_COMPLETED.as_str(),
                    EventType::VERIFICATION_FAILED.as_str(),
                    EventType::VERIFICATION_REVIEWED.as_str(),
                ]),
                "created_at": {"type": "string", "format": "date-time"}, "data": reference("Verification")},
        },
    })
}
