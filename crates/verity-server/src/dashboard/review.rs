//! A person's decision on a case: confirm, reject or needs attention, with a comment. On a
//! ComplyCube check it is the API's `validate` (`validation.outcome`, `check.updated`); on a
//! verification it sets the status (`verified`, `rejected`, `review`) and keeps the review
//! (`review`: decision, comment, reviewer, time, the status before), and the verification's
//! webhook is told (`identity.verification.reviewed` to its `webhook_url`; a hosted check's
//! result is delivered again to the partner). The audit log records who did it.

use axum::extract::{Path, State};
use axum::response::Response;
use axum::Form;
use serde::Deserialize;
use serde_json::json;
use verity_store::time::{format_ms, now_ms};

use super::session::Viewer;
use super::users::Role;
use super::{cases::CaseKind, DashError};
use crate::verification::Verification;
use crate::AppState;

/// What a reviewer decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Confirm,
    Reject,
    Attention,
}

impl Decision {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "confirm" => Some(Decision::Confirm),
            "reject" => Some(Decision::Reject),
            "attention" => Some(Decision::Attention),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Decision::Confirm => "confirm",
            Decision::Reject => "reject",
            Decision::Attention => "attention",
        }
    }

    /// ComplyCube's validation outcome.
    fn check_outcome(self) -> &'static str {
        match self {
            Decision::Confirm => "clear",
            Decision::Reject => "rejected",
            Decision::Attention => "attention",
        }
    }

    /// A verification's status.
    fn verification_status(self) -> &'static str {
        match self {
            Decision::Confirm => "verified",
            Decision::Reject => "rejected",
            Decision::Attention => "review",
        }
    }
}

/// The longest comment kept.
pub const MAX_COMMENT: usize = 2000;

#[derive(Debug, Deserialize)]
pub struct ReviewForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    decision: String,
    #[serde(default)]
    comment: String,
}

/// `POST /dashboard/cases/{kind}/{id}/review`.
pub async fn review(
    State(s): State<AppState>,
    viewer: Viewer,
    Path((kind, id)): Path<(String, String)>,
    Form(f): Form<ReviewForm>,
) -> Result<Response, DashError> {
    viewer.check_csrf(&f.csrf)?;
    viewer.require(Role::Reviewer)?;
    let decision = Decision::parse(&f.decision)
        .ok_or_else(|| DashError::BadRequest("choose confirm, reject or needs attention".into()))?;
    let comment = f.comment.trim();
    if comment.is_empty() {
        return Err(DashError::BadRequest("a review needs a comment saying why".into()));
    }
    if comment.chars().count() > MAX_COMMENT {
        return Err(DashError::BadRequest(format!("a comment has at most {MAX_COMMENT} characters")));
    }
    let (kind, r) = super::case::load(&s, &viewer, &kind, &id).await?;
    let review = json!({
        "decision": decision.name(),
        "comment": comment,
        "reviewer": {"id": viewer.user.id, "email": viewer.user.email},
        "reviewedAt": format_ms(now_ms()),
    });
    let tenant = viewer.tenant();
    match kind {
        CaseKind::Check => {
            crate::audit::set_trigger("validateCheck");
            crate::routes::checks::record_validation(
                &s,
                tenant,
                &r.id,
                decision.check_outcome(),
                Some(review),
            )
            .await?;
        }
        CaseKind::Verification => {
            crate::audit::set_trigger("reviewVerification");
            let r = crate::resources::modify::<Verification, _>(&s, tenant, &r.id, |r| {
                let before = r.body["status"].as_str().unwrap_or_default().to_string();
                if before == "pending" {
                    return Err(crate::error::ApiError::invalid(
                        "verification_pending",
                        "a pending verification cannot be reviewed yet",
                        None,
                    ));
                }
                let mut rv = review.clone();
                // The engine's status, kept across later reviews.
                rv["previous_status"] = r.body["review"]["previous_status"].clone();
                if rv["previous_status"].is_null() {
                    rv["previous_status"] = json!(before);
                }
                r.body["review"] = rv;
                r.body["status"] = json!(decision.verification_status());
                Ok(())
            })
            .await?;
            let queued = if r.body["mode"] == "hosted" {
                crate::hosted::webhook::queue(&s, &r).await
            } else {
                crate::verification::webhook::queue_event(
                    &s,
                    &r,
                    crate::events::EventType::VERIFICATION_REVIEWED,
                )
                .await
            };
            queued?;
        }
    }
    let summary = super::cases::Summary::of(&r).ok_or(DashError::NotFound("case"))?;
    Ok(super::see_other(&format!("{}#review", summary.href())))
}
