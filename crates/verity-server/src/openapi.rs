//! The API's one list of operations, from which both the router ([`crate::app`]) and the
//! OpenAPI 3.1 document at `/openapi.json` are built: a route cannot exist undocumented, and a
//! documented operation cannot lack its handler (the router panics at construction, which every
//! test does). Field lists, enums and limits in the schemas come from the constants the
//! validators use.

use serde_json::{json, Map, Value};

use crate::config::Config;

mod hosted;
mod operation;
mod schemas;
mod verification;
use operation::operation;
use schemas::schemas;

/// What an operation accepts.
#[derive(Debug, Clone, Copy)]
pub enum Input {
    None,
    /// A JSON object of this component schema.
    Json(&'static str),
    /// A video: raw body or a multipart form.
    Video,
}

/// What an operation answers on success.
#[derive(Debug, Clone, Copy)]
pub enum Output {
    /// 200 with this schema.
    Ok(&'static str),
    /// 201 with this schema.
    Created(&'static str),
    /// 202 with this schema (queued).
    Accepted(&'static str),
    /// 200 with a page of this schema.
    Page(&'static str),
    /// 204, no body.
    NoContent,
    /// 200 with this schema when finished, 202 with it while pending.
    Finished(&'static str),
    /// 200 with a snake_case page (`{object: "list", data, …}`) of this schema.
    List(&'static str),
}

/// One operation of `/v1`.
#[derive(Debug, Clone, Copy)]
pub struct Op {
    pub method: &'static str,
    /// Relative to `/v1`, axum and OpenAPI syntax alike (`/clients/{id}`).
    pub path: &'static str,
    pub id: &'static str,
    pub tag: &'static str,
    pub summary: &'static str,
    pub input: Input,
    pub output: Output,
    /// List filters accepted besides the common ones (dotted paths into these fields).
    pub filters: &'static [&'static str],
}

const fn op(
    method: &'static str,
    path: &'static str,
    id: &'static str,
    tag: &'static str,
    summary: &'static str,
    input: Input,
    output: Output,
) -> Op {
    Op { method, path, id, tag, summary, input, output, filters: &[] }
}

const fn list(
    path: &'static str,
    id: &'static str,
    tag: &'static str,
    item: &'static str,
    filters: &'static [&'static str],
) -> Op {
    Op {
        method: "get",
        path,
        id,
        tag,
        summary: "List, newest first",
        input: Input::None,
        output: Output::Page(item),
        filters,
    }
}

use crate::resources::kinds::{self, Kind};
use Input::{Json as In, None as NoInput};
use Output::{Created, NoContent, Ok};

/// The fields a list of checks filters on (the `Check` kind's description names them).
pub const CHECK_FILTERS: &[&str] = &["type", "status", "livePhotoId", "documentId", "liveVideoId", "result"];
const CLIENT_FILTERS: &[&str] = <kinds::Client as Kind>::FILTERS;
const PHOTO_FILTERS: &[&str] = <kinds::LivePhoto as Kind>::FILTERS;
const VIDEO_FILTERS: &[&str] = <kinds::LiveVideo as Kind>::FILTERS;
const DOCUMENT_FILTERS: &[&str] = <kinds::Document as Kind>::FILTERS;
const WEBHOOK_FILTERS: &[&str] = <kinds::Webhook as Kind>::FILTERS;

/// Every operation under `/v1`.
pub const OPS: &[Op] = &[
    op(
        "post",
        "/clients",
        "createClient",
        "Clients",
        "Create a client (person or company)",
        In("ClientInput"),
        Created("Client"),
    ),
    list("/clients", "listClients", "Clients", "Client", CLIENT_FILTERS),
    op("get", "/clients/{id}", "getClient", "Clients", "Get a client", NoInput, Ok("Client")),
    op(
        "post",
        "/clients/{id}",
        "updateClient",
        "Clients",
        "Update a client (objects merge, null removes)",
        In("ClientUpdate"),
        Ok("Client"),
    ),
    op(
        "delete",
        "/clients/{id}",
        "deleteClient",
        "Clients",
        "Delete a client and everything recorded for it",
        NoInput,
        NoContent,
    ),
    op(
        "post",
        "/addresses",
        "createAddress",
        "Addresses",
        "Create an address for a client",
        In("AddressInput"),
        Created("Address"),
    ),
    list("/addresses", "listAddresses", "Addresses", "Address", crate::routes::addresses::FIELDS),
    op("get", "/addresses/{id}", "getAddress", "Addresses", "Get an address", NoInput, Ok("Address")),
    op(
        "post",
        "/addresses/{id}",
        "updateAddress",
        "Addresses",
        "Update an address",
        In("AddressUpdate"),
        Ok("Address"),
    ),
    op("delete", "/addresses/{id}", "deleteAddress", "Addresses", "Delete an address", NoInput, NoContent),
    op(
        "post",
        "/livePhotos",
        "createLivePhoto",
        "Live photos",
        "Upload a live photo (JPG or PNG, base64)",
        In("LivePhotoInput"),
        Created("LivePhoto"),
    ),
    list("/livePhotos", "listLivePhotos", "Live photos", "LivePhoto", PHOTO_FILTERS),
    op(
        "get",
        "/livePhotos/{id}",
        "getLivePhoto",
        "Live photos",
        "Get a live photo",
        NoInput,
        Ok("LivePhoto"),
    ),
    op(
        "delete",
        "/livePhotos/{id}",
        "deleteLivePhoto",
        "Live photos",
        "Delete a live photo no check used",
        NoInput,
        NoContent,
    ),
    op(
        "get",
        "/livePhotos/{id}/download",
        "downloadLivePhoto",
        "Live photos",
        "Download the photo (base64)",
        NoInput,
        Ok("Download"),
    ),
    op(
        "post",
        "/livePhotos/{id}/redact",
        "redactLivePhoto",
        "Live photos",
        "Erase the photo, keep the record (redacted: true); irreversible",
        NoInput,
        Ok("LivePhoto"),
    ),
    op(
        "post",
        "/liveVideos",
        "createLiveVideo",
        "Live videos",
        "Upload a selfie video (MP4, WebM or MOV)",
        Input::Video,
        Created("LiveVideo"),
    ),
    list("/liveVideos", "listLiveVideos", "Live videos", "LiveVideo", VIDEO_FILTERS),
    op(
        "get",
        "/liveVideos/{id}",
        "getLiveVideo",
        "Live videos",
        "Get a live video",
        NoInput,
        Ok("LiveVideo"),
    ),
    op(
        "delete",
        "/liveVideos/{id}",
        "deleteLiveVideo",
        "Live videos",
        "Delete a live video no check used",
        NoInput,
        NoContent,
    ),
    op(
        "get",
        "/liveVideos/{id}/download",
        "downloadLiveVideo",
        "Live videos",
        "Download the video (base64)",
        NoInput,
        Ok("Download"),
    ),
    op(
        "post",
        "/liveVideos/{id}/redact",
        "redactLiveVideo",
        "Live videos",
        "Erase the video, keep the record (redacted: true); irreversible",
        NoInput,
        Ok("LiveVideo"),
    ),
    op(
        "post",
        "/documents",
        "createDocument",
        "Documents",
        "Create a document (then upload its sides)",
        In("DocumentInput"),
        Created("Document"),
    ),
    list("/documents", "listDocuments", "Documents", "Document", DOCUMENT_FILTERS),
    op("get", "/documents/{id}", "getDocument", "Documents", "Get a document", NoInput, Ok("Document")),
    op(
        "post",
        "/documents/{id}",
        "updateDocument",
        "Documents",
        "Update a document",
        In("DocumentUpdate"),
        Ok("Document"),
    ),
    op(
        "delete",
        "/documents/{id}",
        "deleteDocument",
        "Documents",
        "Delete a document no check used",
        NoInput,
        NoContent,
    ),
    op(
        "post",
        "/documents/{id}/upload/{side}",
        "uploadDocumentSide",
        "Documents",
        "Upload a side (JPG, PNG or PDF, base64)",
        In("DocumentUpload"),
        Ok("Document"),
    ),
    op(
        "get",
        "/documents/{id}/download/{side}",
        "downloadDocumentSide",
        "Documents",
        "Download a side (base64)",
        NoInput,
        Ok("Download"),
    ),
    op(
        "delete",
        "/documents/{id}/{side}",
        "deleteDocumentSide",
        "Documents",
        "Delete a side's image",
        NoInput,
        NoContent,
    ),
    op(
        "post",
        "/documents/{id}/redact",
        "redactDocument",
        "Documents",
        "Erase every image, keep the record (redacted: true); irreversible",
        NoInput,
        Ok("Document"),
    ),
    op(
        "post",
        "/checks",
        "createCheck",
        "Checks",
        "Create a check (runs on the job queue)",
        In("CheckInput"),
        Created("Check"),
    ),
    list("/checks", "listChecks", "Checks", "Check", CHECK_FILTERS),
    op(
        "get",
        "/checks/{id}",
        "getCheck",
        "Checks",
        "Get a check and, when complete, its result",
        NoInput,
        Ok("Check"),
    ),
    op(
        "post",
        "/checks/{id}",
        "updateCheck",
        "Checks",
        "Update a check (enableMonitoring only)",
        In("CheckUpdate"),
        Ok("Check"),
    ),
    op(
        "post",
        "/checks/{id}/validate",
        "validateCheck",
        "Checks",
        "Record a reviewer's outcome for a complete check",
        In("CheckValidation"),
        Ok("Check"),
    ),
    op(
        "post",
        "/webhooks",
        "createWebhook",
        "Webhooks",
        "Create a webhook (the secret is shown only here)",
        In("WebhookInput"),
        Created("WebhookWithSecret"),
    ),
    list("/webhooks", "listWebhooks", "Webhooks", "Webhook", WEBHOOK_FILTERS),
    op("get", "/webhooks/{id}", "getWebhook", "Webhooks", "Get a webhook", NoInput, Ok("Webhook")),
    op(
        "post",
        "/webhooks/{id}",
        "updateWebhook",
        "Webhooks",
        "Update a webhook (enabling it again resets its failures)",
        In("WebhookUpdate"),
        Ok("Webhook"),
    ),
    op("delete", "/webhooks/{id}", "deleteWebhook", "Webhooks", "Delete a webhook", NoInput, NoContent),
    op(
        "post",
        "/webhooks/{id}/deliveries/{deliveryId}/redeliver",
        "redeliverWebhookDelivery",
        "Webhooks",
        "Send a delivery's event again (202; a disabled webhook is refused: enable it first)",
        NoInput,
        Output::Accepted("Redelivery"),
    ),
    list("/auditLogs", "listAuditLogs", "Audit logs", "AuditLog", <crate::audit::AuditLog as Kind>::FILTERS),
    op(
        "get",
        "/auditLogs/{id}",
        "getAuditLog",
        "Audit logs",
        "Get an audit log entry",
        NoInput,
        Ok("AuditLog"),
    ),
    Op {
        method: "get",
        path: "/webhooks/{id}/deliveries",
        id: "listWebhookDeliveries",
        tag: "Webhooks",
        summary: "The delivery log, newest first",
        input: NoInput,
        output: Output::Ok("WebhookDeliveries"),
        filters: &[],
    },
    op(
        "post",
        "/identity/verify",
        "createVerification",
        "Identity verification",
        "Verify a document and a selfie in one call (sync, or async with a signed webhook)",
        In("VerificationInput"),
        Output::Finished("Verification"),
    ),
    Op {
        method: "get",
        path: "/identity/verify",
        id: "listVerifications",
        tag: "Identity verification",
        summary: "List verifications, newest first",
        input: NoInput,
        output: Output::List("Verification"),
        filters: <crate::verification::Verification as Kind>::FILTERS,
    },
    op(
        "get",
        "/identity/verify/{id}",
        "getVerification",
        "Identity verification",
        "Get a verification (`ver_…`)",
        NoInput,
        Ok("Verification"),
    ),
    op(
        "delete",
        "/identity/verify/{id}",
        "deleteVerification",
        "Identity verification",
        "Delete a verification, its images and what was kept of its faces",
        NoInput,
        NoContent,
    ),
    op(
        "get",
        "/identity/verify/{id}/deliveries",
        "listVerificationDeliveries",
        "Identity verification",
        "The attempts to deliver the verification to its webhook_url, newest first",
        NoInput,
        Ok("VerificationDeliveries"),
    ),
    op(
        "post",
        "/identity/verify/{id}/deliveries/{deliveryId}/redeliver",
        "redeliverVerificationDelivery",
        "Identity verification",
        "Send a delivery's event again (202)",
        NoInput,
        Output::Accepted("Redelivery"),
    ),
    op(
        "get",
        "/identity/settings",
        "getVerificationSettings",
        "Identity verification",
        "The decision policy and the secret that signs webhook_url deliveries",
        NoInput,
        Ok("VerificationSettings"),
    ),
    op(
        "post",
        "/identity/settings",
        "updateVerificationSettings",
        "Identity verification",
        "Change the decision policy or rotate the signing secret",
        In("VerificationSettingsUpdate"),
        Ok("VerificationSettings"),
    ),
    op(
        "post",
        "/capture-sessions",
        "createCaptureSession",
        "Hosted capture",
        "Make a capture link for a user (the hosted page records a selfie video and an ID photo)",
        In("CaptureSessionInput"),
        Created("CaptureSession"),
    ),
    list(
        "/capture-sessions",
        "listCaptureSessions",
        "Hosted capture",
        "CaptureSession",
        <crate::hosted::session::CaptureSession as Kind>::FILTERS,
    ),
    op(
        "get",
        "/capture-sessions/{id}",
        "getCaptureSession",
        "Hosted capture",
        "Get a capture session (`cs_…`) and the verification it led to",
        NoInput,
        Ok("CaptureSession"),
    ),
    op(
        "get",
        "/partner/settings",
        "getPartnerSettings",
        "Hosted capture",
        "The partner settings: webhook, theme, languages, retention, link lifetime",
        NoInput,
        Ok("PartnerSettings"),
    ),
    op(
        "post",
        "/partner/settings",
        "updatePartnerSettings",
        "Hosted capture",
        "Change any of the partner settings (theme merges field by field; null restores a default)",
        In("PartnerSettingsUpdate"),
        Ok("PartnerSettings"),
    ),
    op(
        "post",
        "/flow/sessions",
        "createFlowSession",
        "Hosted capture",
        "ComplyCube's hosted flow: a capture link for a client; the submission is filed on it as checks",
        In("FlowSessionInput"),
        Ok("FlowSession"),
    ),
    op(
        "post",
        "/tokens",
        "createToken",
        "Hosted capture",
        "ComplyCube's SDK token: here the token of a capture link for a client (`/verif/s/<token>`)",
        In("TokenInput"),
        Ok("Token"),
    ),
];

/// The OpenAPI 3.1 document.
pub fn document(cfg: &Config) -> Value {
    let mut paths = Map::new();
    for o in OPS {
        let entry = paths.entry(format!("/v1{}", o.path)).or_insert_with(|| json!({}));
        entry[o.method] = operation(o);
    }
    let mut tags: Vec<&str> = Vec::new();
    for o in OPS {
        if !tags.contains(&o.tag) {
            tags.push(o.tag);
        }
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Verity",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Self-hosted identity verification with a ComplyCube-compatible API: clients, \
    addresses, live photos and videos, documents, checks run on a durable job queue, signed webhooks. \
    Authenticate with `Authorization: <key>` (`verity keys create`). Errors are JSON \
    `{type, code, message, param}`; lists are `{page, pageSize, totalItems, pages, items}`, newest first.",
            "license": {"name": env!("CARGO_PKG_LICENSE"), "identifier": env!("CARGO_PKG_LICENSE")},
        },
        "servers": [{"url": "/"}],
        "security": [{"apiKey": []}],
        "tags": tags.iter().map(|t| json!({"name": t})).collect::<Vec<_>>(),
        "paths": paths,
        "components": {
            "securitySchemes": {"apiKey": {"type": "apiKey", "in": "header", "name": "Authorization"}},
            "schemas": schemas(cfg),
        },
    })
}

/// The offline API reference page (no CDN, no build-time download): it renders
/// `/openapi.json` with a few lines of script.
pub const DOCS_HTML: &str = include_str!("docs.html");
