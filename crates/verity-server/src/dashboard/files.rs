//! A case's images, decrypted on the fly for a signed-in user of the case's tenant and never
//! cached (the dashboard's `Cache-Control: no-store`).

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use verity_store::Resource;

use super::session::Viewer;
use super::DashError;
use crate::resources::Internal;
use crate::AppState;

/// One image of a case.
#[derive(Debug, Clone)]
pub struct CaseFile {
    /// In the URL: `document_front`, `selfie`, …
    pub name: &'static str,
    pub label: &'static str,
    /// The object-storage key, when the file is still kept.
    pub key: Option<String>,
    /// Kept (false: deleted by retention or a redaction).
    pub available: bool,
}

/// The images of a case: a verification's own files; a check's are those of the live photo
/// and document it used (looked up in the same tenant).
pub async fn of_case(s: &AppState, tenant: &str, r: &Resource) -> Result<Vec<CaseFile>, DashError> {
    let mut out = Vec::new();
    let mut push = |name, label, files: &Internal, file: &str, redacted: bool| {
        let key = files.files.get(file).cloned();
        if key.is_some() || redacted {
            out.push(CaseFile { name, label, available: key.is_some(), key });
        }
    };
    match r.kind.as_str() {
        "verification" => {
            let i = Internal::of(r);
            let redacted = r.body["redacted"] == true;
            push("document_front", "Document front", &i, "document_front", redacted);
            push("document_back", "Document back", &i, "document_back", false);
            push("selfie", "Selfie", &i, "selfie", redacted && r.body["mode"] != "hosted");
            push(
                "best_frame",
                "Selfie video: best frame",
                &i,
                "best_frame",
                redacted && r.body["mode"] == "hosted",
            );
        }
        "check" => {
            let get = |kind: &'static str, field: &str| {
                let id = r.body[field].as_str().map(str::to_string);
                async move {
                    match id {
                        Some(id) if crate::ids::looks_like_id(&id) => s.store.get(tenant, kind, &id).await,
                        _ => Ok(None),
                    }
                }
            };
            if let Some(p) = get("livePhoto", "livePhotoId").await? {
                push("selfie", "Live photo", &Internal::of(&p), "photo", p.body["redacted"] == true);
            }
            if let Some(d) = get("document", "documentId").await? {
                let i = Internal::of(&d);
                push("document_front", "Document front", &i, "front", d.body["redacted"] == true);
                push("document_back", "Document back", &i, "back", false);
            }
        }
        _ => {}
    }
    Ok(out)
}

/// `GET /dashboard/cases/{kind}/{id}/files/{name}`.
pub async fn download(
    State(s): State<AppState>,
    viewer: Viewer,
    Path((kind, id, name)): Path<(String, String, String)>,
) -> Result<Response, DashError> {
    let (_, r) = super::case::load(&s, &viewer, &kind, &id).await?;
    let files = of_case(&s, viewer.tenant(), &r).await?;
    let key =
        files.into_iter().find(|f| f.name == name).and_then(|f| f.key).ok_or(DashError::NotFound("file"))?;
    let bytes = s.files.get(&key).await?;
    let ct = crate::hosted::links::content_type(&bytes);
    Ok(([(header::CONTENT_TYPE, ct), (header::CONTENT_DISPOSITION, "inline")], bytes).into_response())
}
