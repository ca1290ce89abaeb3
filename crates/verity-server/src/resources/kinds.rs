//! Every resource type of the API, described once: its stored kind, its noun in messages and
//! the body fields its list filters on. The generic lookups ([`super::fetch`], [`super::modify`])
//! and handlers ([`super::get`], [`super::list`]) take the type, so a new resource (a one-call
//! verification, a capture session) is a new description, not a new copy of the handlers.
//!
//! And the state kept about a resource that the API never shows ([`Internal`]), typed.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use verity_store::Resource;

/// One resource type.
pub trait Kind: Send + Sync + 'static {
    /// Stored kind, also the `resourceType` of its events (`client`, `livePhoto`, …).
    const KIND: &'static str;
    /// What it is called in messages (`client`, `live photo`).
    const NOUN: &'static str;
    /// Body fields (or dotted sub-fields of them) a list may filter on.
    const FILTERS: &'static [&'static str];
    /// What the public id adds in front of the stored one (`ver_`); none for ComplyCube's.
    const ID_PREFIX: &'static str = "";

    /// The public JSON of a stored resource (ComplyCube's camelCase form unless the type says
    /// otherwise).
    fn render(r: &Resource) -> serde_json::Value {
        super::render(r)
    }
}

macro_rules! kind {
    ($(#[$doc:meta])* $name:ident, $kind:literal, $noun:literal, $filters:expr) => {
        $(#[$doc])*
        pub struct $name;
        impl Kind for $name {
            const KIND: &'static str = $kind;
            const NOUN: &'static str = $noun;
            const FILTERS: &'static [&'static str] = $filters;
        }
    };
}

kind!(
    /// A person or a company.
    Client,
    "client",
    "client",
    &["type", "email", "entityName", "externalId", "personDetails", "companyDetails", "mobile", "telephone"]
);
kind!(
    /// A selfie.
    LivePhoto,
    "livePhoto",
    "live photo",
    &["contentType"]
);
kind!(
    /// A selfie video.
    LiveVideo,
    "liveVideo",
    "live video",
    &["contentType", "codec"]
);
kind!(
    /// An identity document and its images.
    Document,
    "document",
    "document",
    &["type", "classification", "issuingCountry"]
);
kind!(
    /// A check and its result.
    Check,
    "check",
    "check",
    crate::openapi::CHECK_FILTERS
);
kind!(
    /// A client's address.
    Address,
    "address",
    "address",
    crate::routes::addresses::FIELDS
);
kind!(
    /// Where events are delivered.
    Webhook,
    "webhook",
    "webhook",
    &["url", "enabled"]
);

/// What the server keeps about a resource and never shows, stored beside the body.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Internal {
    /// Object-storage keys of the resource's files by name (`photo`, `video`, `front`, `back`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub files: BTreeMap<String, String>,
    /// A webhook's signing secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// A check uses this capture or document: it can no longer be deleted or replaced.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub in_use: bool,
    /// What the engines saw, for a reviewer (`verity_checks::verify::evidence::Evidence`):
    /// faces, the MRZ as read, liveness signals. Deleted with the files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<serde_json::Value>,
}

impl Internal {
    /// The internal state of a stored resource (`{}` or missing reads as nothing kept; a
    /// malformed value is logged and read as nothing kept).
    pub fn of(r: &Resource) -> Self {
        if r.internal.is_null() {
            return Self::default();
        }
        serde_json::from_value(r.internal.clone()).unwrap_or_else(|e| {
            tracing::error!(id = %r.id, error = %e, "malformed internal state");
            Self::default()
        })
    }

    /// Writes it into the resource (stored at its next insert or update).
    pub fn store_in(&self, r: &mut Resource) {
        r.internal = serde_json::to_value(self).unwrap_or_else(|_| serde_json::json!({}));
    }

    /// Changes the internal state of a resource in place.
    pub fn update(r: &mut Resource, change: impl FnOnce(&mut Internal)) {
        let mut i = Self::of(r);
        change(&mut i);
        i.store_in(r);
    }
}
