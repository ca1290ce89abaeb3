//! The component schemas of the OpenAPI document and the helpers that build them.

use serde_json::{json, Map, Value};

use crate::config::Config;

pub(super) fn s(t: &str) -> Value {
    json!({"type": t})
}
pub(super) fn desc(t: &str, d: &str) -> Value {
    json!({"type": t, "description": d})
}
pub(super) fn enumeration(values: &[&str]) -> Value {
    json!({"type": "string", "enum": values})
}
pub(super) fn reference(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}
pub(super) fn date() -> Value {
    json!({"type": "string", "format": "date", "description": "YYYY-MM-DD"})
}
pub(super) fn country() -> Value {
    json!({"type": "string", "pattern": "^[A-Z]{2}$", "description": "ISO 3166-1 alpha-2"})
}
pub(super) fn object(props: Vec<(&str, Value)>, required: &[&str]) -> Value {
    let mut m = Map::new();
    for (k, v) in props {
        m.insert(k.to_string(), v);
    }
    let mut o = json!({"type": "object", "properties": m, "additionalProperties": false});
    if !required.is_empty() {
        o["required"] = json!(required);
    }
    o
}
/// A stored resource: `id`, the fields, `createdAt`, `updatedAt`.
pub(super) fn resource(mut body: Value) -> Value {
    let props = body["properties"].as_object_mut().expect("object schema");
    props.insert("id".into(), desc("string", "32 hex characters"));
    props.insert("createdAt".into(), json!({"type": "string", "format": "date-time"}));
    props.insert("updatedAt".into(), json!({"type": "string", "format": "date-time"}));
    body["additionalProperties"] = json!(true);
    body.as_object_mut().map(|o| o.remove("required"));
    body
}
/// The same object with nothing required (updates).
pub(super) fn optional(mut body: Value) -> Value {
    body.as_object_mut().map(|o| o.remove("required"));
    body
}

pub(super) fn person() -> Value {
    let mut p = Vec::new();
    for k in crate::routes::clients::PERSON {
        let v = match *k {
            "dob" => date(),
            "gender" => enumeration(&["male", "female", "other"]),
            "nationality" | "birthCountry" => country(),
            _ => s("string"),
        };
        p.push((*k, v));
    }
    object(p, &["firstName", "lastName"])
}

pub(super) fn company() -> Value {
    let p = crate::routes::clients::COMPANY
        .iter()
        .map(|k| (*k, if *k == "incorporationCountry" { country() } else { s("string") }))
        .collect();
    object(p, &["name"])
}

pub(super) fn client_input() -> Value {
    let mut p = Vec::new();
    for k in crate::routes::clients::TOP {
        let v = match *k {
            "type" => enumeration(&["person", "company"]),
            "email" => json!({"type": "string", "format": "email"}),
            "joinedDate" => date(),
            "personDetails" => reference("PersonDetails"),
            "companyDetails" => reference("CompanyDetails"),
            "metadata" => desc("object", "Your own key-value data"),
            _ => s("string"),
        };
        p.push((*k, v));
    }
    let mut o = object(p, &["type", "email"]);
    o["description"] = json!("`personDetails` for a person, `companyDetails` for a company.");
    o
}

pub(super) fn address_input() -> Value {
    let mut p = vec![("clientId", s("string"))];
    for k in crate::routes::addresses::FIELDS {
        let v = match *k {
            "type" => enumeration(crate::routes::addresses::TYPES),
            "country" => country(),
            "fromDate" | "toDate" => date(),
            _ => s("string"),
        };
        p.push((*k, v));
    }
    object(p, &["clientId", "line", "city", "country"])
}

pub(super) fn check_result() -> Value {
    json!({
        "type": "object",
        "description": "Present when the check is complete. The breakdown depends on the check type; \
    every part is explained by named signals.",
        "properties": {
            "outcome": enumeration(&["clear", "attention", "rejected", "not_processed"]),
            "reasons": {"type": "array", "items": s("string")},
            "breakdown": desc("object", "faceAnalysis, authenticityAnalysis, integrityAnalysis, videoAnalysis (identity checks); extractedData, mrzAnalysis, contentAnalysis, formatAnalysis, frontBackAnalysis, clientDataValidation (document checks) — each analysis {result, breakdown: {signal: clear|attention|not_processed}, reasons}"),
        },
    })
}

/// The component schemas.
pub(super) fn schemas(cfg: &Config) -> Value {
    let max = cfg.limits.image_max_bytes;
    let min = cfg.limits.image_min_bytes;
    let check_types: Vec<&str> = crate::routes::checks::supported();
    let client_input = client_input();
    let address_input = address_input();
    let mut address_update = optional(address_input.clone());
    if let Some(p) = address_update["properties"].as_object_mut() {
        p.remove("clientId");
    }
    let photo_input = object(
        vec![
            ("clientId", s("string")),
            ("data", desc("string", &format!("The image, base64: JPG or PNG, {min}–{max} bytes decoded"))),
            ("fileName", s("string")),
        ],
        &["clientId", "data"],
    );
    let document_input = object(
        vec![
            ("clientId", s("string")),
            ("type", enumeration(crate::routes::documents::DOCUMENT_TYPES)),
            ("classification", enumeration(crate::routes::documents::CLASSIFICATIONS)),
            ("issuingCountry", country()),
        ],
        &["clientId", "type"],
    );
    let mut document_update = optional(document_input.clone());
    if let Some(p) = document_update["properties"].as_object_mut() {
        p.remove("clientId");
    }
    let check_input = object(
        vec![
            ("clientId", s("string")),
            ("type", enumeration(&check_types)),
            ("livePhotoId", desc("string", "identity_check, face_authentication_check")),
            ("documentId", desc("string", "identity_check, document_check, enhanced_identity_check")),
            ("liveVideoId", desc("string", "enhanced_identity_check")),
            (
                "options",
                json!({"type": "object", "properties": {
                    "challenges": {"type": "array", "items": json!({"type": "string", "enum": verity_liveness::Challenge::ALL.iter().map(|c| c.name()).collect::<Vec<_>>()}),
                                   "description": "enhanced_identity_check: the ordered head movements the video must show"},
                    "analysisCoverage": {"type": "array", "items": enumeration(verity_checks::document::KNOWN_COVERAGE),
                                         "description": format!("document_check: the analyses to run (default {})", verity_checks::document::DEFAULT_COVERAGE.join(", "))},
                    "minimumPermittedAge": {"type": "integer", "minimum": 0, "maximum": 130, "description": "document_check: default 18"},
                    "clientDataValidation": {"type": "boolean", "description": "document_check: compare names, date of birth and nationality with the client (default true)"},
                }}),
            ),
            ("enableMonitoring", s("boolean")),
        ],
        &["clientId", "type"],
    );
    let webhook_input = object(
        vec![
            ("url", json!({"type": "string", "format": "uri"})),
            (
                "events",
                json!({"type": "array", "items": {"oneOf": [
                    enumeration(crate::events::EVENT_TYPES),
                    {"const": crate::events::ALL_EVENTS, "description": "every event type"},
                ]}, "minItems": 1}),
            ),
            ("enabled", s("boolean")),
            ("description", s("string")),
        ],
        &["url", "events"],
    );
    let mut webhook = resource(webhook_input.clone());
    webhook["properties"]["disabledReason"] = json!({"type": ["string", "null"]});
    let mut with_secret = webhook.clone();
    with_secret["properties"]["secret"] = desc(
        "string",
        "The signing key of `ComplyCube-Signature` (hex HMAC-SHA256 of the raw body); shown only once",
    );
    let page = json!({
        "type": "object",
        "properties": {
            "page": s("integer"), "pageSize": s("integer"), "totalItems": s("integer"), "pages": s("integer"),
            "items": {"type": "array", "items": {}},
        },
        "required": ["page", "pageSize", "totalItems", "pages", "items"],
    });
    let mut client = resource(client_input.clone());
    client["properties"]["entityName"] = desc("string", "The person's full name or the company's name");
    let mut address = resource(address_input.clone());
    address["required"] = json!(["id", "clientId"]);
    let mut photo = resource(object(vec![("clientId", s("string")), ("fileName", s("string"))], &[]));
    for (k, v) in [
        ("contentType", s("string")),
        ("size", s("integer")),
        ("downloadLink", s("string")),
        ("performLivenessCheck", s("boolean")),
    ] {
        photo["properties"][k] = v;
    }
    let mut video = resource(object(vec![("clientId", s("string"))], &[]));
    for (k, v) in [
        ("contentType", s("string")),
        ("size", s("integer")),
        ("durationSeconds", s("number")),
        ("width", s("integer")),
        ("height", s("integer")),
        ("codec", s("string")),
        ("downloadLink", s("string")),
    ] {
        video["properties"][k] = v;
    }
    let mut document = resource(document_input.clone());
    document["properties"]["images"] = json!({"type": "array", "items": {"type": "object", "properties": {
        "id": s("string"), "documentSide": enumeration(&["front", "back"]), "fileName": s("string"),
        "contentType": s("string"), "size": s("integer"), "downloadLink": s("string"),
        "createdAt": {"type": "string", "format": "date-time"}}}});
    let mut check = resource(check_input.clone());
    check["properties"]["status"] = enumeration(&["pending", "complete", "failed"]);
    check["properties"]["entityName"] = s("string");
    check["properties"]["result"] = check_result();
    check["properties"]["validation"] = json!({"type": "object", "properties": {
        "outcome": enumeration(crate::routes::checks::VALIDATION_OUTCOMES), "validatedAt": {"type": "string", "format": "date-time"}}});
    let mut all = json!({
        "Error": {
            "type": "object",
            "required": ["type", "message"],
            "properties": {
                "type": enumeration(&["invalid_request", "authentication_error", "authorization_error",
                                      "not_found", "rate_limited", "internal_error", "service_unavailable"]),
                "code": desc("string", "A stable machine-readable reason (e.g. field_required, file_too_small)"),
                "message": s("string"),
                "param": desc("string", "The offending field, dotted"),
            },
        },
        "Page": page,
        "PersonDetails": person(),
        "CompanyDetails": company(),
        "ClientInput": client_input,
        "ClientUpdate": optional(client_input),
        "Client": client,
        "AddressInput": address_input,
        "AddressUpdate": address_update,
        "Address": address,
        "LivePhotoInput": photo_input,
        "LivePhoto": photo,
        "LiveVideo": video,
        "DocumentInput": document_input,
        "DocumentUpdate": document_update,
        "DocumentUpload": object(vec![
            ("fileName", s("string")),
            ("data", desc("string", &format!("The image, base64: JPG, PNG or PDF, {min}–{max} bytes decoded"))),
        ], &["fileName", "data"]),
        "Document": document,
        "Download": object(vec![("id", s("string")), ("contentType", s("string")), ("size", s("integer")),
                                ("data", desc("string", "base64")), ("fileName", s("string"))], &["data"]),
        "CheckInput": check_input,
        "CheckUpdate": object(vec![("enableMonitoring", s("boolean"))], &[]),
        "CheckValidation": object(vec![("outcome", enumeration(crate::routes::checks::VALIDATION_OUTCOMES))], &["outcome"]),
        "Check": check,
        "WebhookInput": webhook_input.clone(),
        "WebhookUpdate": optional(webhook_input),
        "Webhook": webhook,
        "WebhookWithSecret": with_secret,
        "WebhookDeliveries": {"type": "object", "required": ["items"], "properties": {"items": {
            "type": "array", "description": "Every attempt, newest first",
            "items": {"type": "object", "properties": {
                "id": s("string"), "eventId": s("string"), "attempt": s("integer"),
                "statusCode": {"type": ["integer", "null"]}, "error": {"type": ["string", "null"]},
                "createdAt": {"type": "string", "format": "date-time"},
                "latencyMs": {"type": ["integer", "null"], "description": "How long the receiver took to answer"},
                "nextRetryAt": {"type": ["string", "null"], "format": "date-time",
                                "description": "When the next attempt is due after this failed one"}}}}}},
        "Redelivery": object(vec![("queued", s("boolean")), ("eventId", s("string")), ("event_id", s("string"))], &["queued"]),
        "AuditLog": {
            "type": "object",
            "description": "One change of a resource by an API key or a dashboard user, with the diff",
            "required": ["id", "resourceType", "resourceId", "trigger", "action", "diff", "createdAt"],
            "properties": {
                "id": s("string"),
                "memberId": {"type": ["string", "null"], "description": "The dashboard user"},
                "memberEmail": {"type": ["string", "null"]},
                "apiKeyId": {"type": ["string", "null"], "description": "The API key"},
                "resourceType": s("string"),
                "resourceId": s("string"),
                "clientId": {"type": ["string", "null"]},
                "trigger": desc("string", "The operation (createClient, validateCheck, reviewVerification, …)"),
                "action": enumeration(&["create", "update", "delete"]),
                "diff": {"type": "array", "items": {"type": "object", "properties": {
                    "action": enumeration(&["add", "edit", "delete"]),
                    "path": {"type": "array", "items": s("string")},
                    "old": {"type": ["string", "null"]}, "new": {"type": ["string", "null"]}}}},
                "createdAt": {"type": "string", "format": "date-time"},
                "updatedAt": {"type": "string", "format": "date-time"},
            },
        },
        "Event": {
            "type": "object",
            "description": "A webhook's body, signed in the ComplyCube-Signature header",
            "required": ["id", "type", "resourceType", "payload", "createdAt"],
            "properties": {"id": s("string"), "type": enumeration(crate::events::EVENT_TYPES),
                           "resourceType": s("string"), "payload": s("object"),
                           "createdAt": {"type": "string", "format": "date-time"}},
        },
    });
    for more in [super::verification::schemas(cfg), super::hosted::schemas(cfg)] {
        if let (Some(m), Value::Object(more)) = (all.as_object_mut(), more) {
            m.extend(more);
        }
    }
    all
}
