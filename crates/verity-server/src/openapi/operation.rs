//! One operation of the OpenAPI document: its parameters, request body and responses.

use serde_json::{json, Map, Value};

use super::schemas::{enumeration, reference, s};
use super::{Input, Op, Output};

fn error_response(d: &str) -> Value {
    json!({"description": d, "content": {"application/json": {"schema": reference("Error")}}})
}

pub(super) fn operation(o: &Op) -> Value {
    let mut params = Vec::new();
    for seg in o.path.split('/') {
        if let Some(name) = seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            let schema = if name == "side" { enumeration(&["front", "back"]) } else { s("string") };
            params.push(json!({"name": name, "in": "path", "required": true, "schema": schema}));
        }
    }
    let mut responses = Map::new();
    match o.output {
        Output::Ok(n) => {
            responses.insert(
                "200".into(),
                json!({"description": "OK", "content": {"application/json": {"schema": reference(n)}}}),
            );
        }
        Output::Accepted(n) => {
            responses.insert(
                "202".into(),
                json!({"description": "Accepted", "content": {"application/json": {"schema": reference(n)}}}),
            );
        }
        Output::Created(n) => {
            responses.insert(
                "201".into(),
                json!({"description": "Created", "content": {"application/json": {"schema": reference(n)}}}),
            );
        }
        Output::Finished(n) => {
            let schema = json!({"application/json": {"schema": reference(n)}});
            responses.insert("200".into(), json!({"description": "Finished (sync mode)", "content": schema}));
            responses.insert(
                "202".into(),
                json!({"description": "Pending: async mode, or sync past its time budget; poll the id or wait for the webhook", "content": schema}),
            );
        }
        Output::List(n) => {
            for (name, d, schema) in [
                ("page", "1-based page", json!({"type": "integer", "minimum": 1, "default": 1})),
                (
                    "page_size",
                    "Items per page",
                    json!({"type": "integer", "minimum": 1, "maximum": 100, "default": 100}),
                ),
                ("created_after", "Date or date-time", s("string")),
                ("created_before", "Date or date-time", s("string")),
            ] {
                params.push(json!({"name": name, "in": "query", "required": false, "description": d, "schema": schema}));
            }
            for f in o.filters {
                params.push(json!({"name": f, "in": "query", "required": false, "description": "Equality filter", "schema": s("string")}));
            }
            let list = json!({"type": "object", "required": ["object", "data", "page", "page_size", "total", "has_more"],
                "properties": {"object": {"const": "list"}, "data": {"type": "array", "items": reference(n)},
                "page": s("integer"), "page_size": s("integer"), "total": s("integer"), "has_more": s("boolean")}});
            responses.insert(
                "200".into(),
                json!({"description": "A page, newest first", "content": {"application/json": {"schema": list}}}),
            );
        }
        Output::NoContent => {
            responses.insert("204".into(), json!({"description": "Deleted; no body"}));
        }
        Output::Page(n) => {
            for (name, d, schema) in [
                ("page", "1-based page", json!({"type": "integer", "minimum": 1, "default": 1})),
                (
                    "pageSize",
                    "Items per page",
                    json!({"type": "integer", "minimum": 1, "maximum": 100, "default": 100}),
                ),
                ("createdAfter", "Date or date-time", s("string")),
                ("createdBefore", "Date or date-time", s("string")),
                ("updatedAfter", "Date or date-time", s("string")),
                ("updatedBefore", "Date or date-time", s("string")),
                ("clientId", "Only this client's", s("string")),
            ] {
                params.push(json!({"name": name, "in": "query", "required": false, "description": d, "schema": schema}));
            }
            if !o.filters.is_empty() {
                params.push(json!({
                    "name": "filters", "in": "query", "required": false, "style": "form", "explode": true,
                    "description": format!("Equality filters on these fields, dotted for nested ones (e.g. `personDetails.firstName=John`): {}", o.filters.join(", ")),
                    "schema": {"type": "object", "additionalProperties": s("string")},
                }));
            }
            let mut page = reference("Page");
            page = json!({"allOf": [page, {"type": "object", "properties": {"items": {"type": "array", "items": reference(n)}}}]});
            responses.insert(
                "200".into(),
                json!({"description": "A page", "content": {"application/json": {"schema": page}}}),
            );
        }
    }
    responses.insert("400".into(), error_response("Malformed request (JSON, query, base64)"));
    responses.insert("401".into(), error_response("Missing or unknown API key"));
    responses.insert("404".into(), error_response("No such resource for this key's tenant"));
    responses.insert("429".into(), error_response("Rate limited (see Retry-After)"));
    let mut v = json!({
        "operationId": o.id,
        "tags": [o.tag],
        "summary": o.summary,
        "parameters": params,
        "responses": responses,
    });
    match o.input {
        Input::None => {}
        Input::Json(n) => {
            v["requestBody"] =
                json!({"required": true, "content": {"application/json": {"schema": reference(n)}}});
            v["responses"]["413"] = error_response("Body too large");
            v["responses"]["422"] = error_response("A field is missing or invalid (see `param` and `code`)");
        }
        Input::Video => {
            if let Some(p) = v["parameters"].as_array_mut() {
                p.push(json!({"name": "clientId", "in": "query", "required": false, "schema": s("string"),
                              "description": "Required unless sent as a form field"}));
            }
            let raw = json!({"schema": {"type": "string", "format": "binary"}});
            v["requestBody"] = json!({"required": true, "content": {
                "video/mp4": raw, "video/webm": raw, "video/quicktime": raw,
                "multipart/form-data": {"schema": {"type": "object", "required": ["video"], "properties": {
                    "clientId": s("string"), "video": {"type": "string", "format": "binary"}}}},
            }});
            v["responses"]["413"] = error_response("Video too large");
            v["responses"]["422"] =
                error_response("Not a readable video, too short or long, no video stream, …");
        }
    }
    v
}
