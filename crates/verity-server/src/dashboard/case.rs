//! One case: its images (served by [`super::files`]), the decision and every signal behind it.

use axum::extract::{Path, State};
use axum::response::Html;
use maud::{html, Markup};
use serde_json::Value;
use verity_store::Resource;

use super::cases::{CaseKind, Summary};
use super::files::{self, CaseFile};
use super::layout::{self, badge, score_bar, Section};
use super::session::Viewer;
use super::DashError;
use crate::AppState;
use verity_checks::verify::evidence::Evidence;

/// The stored case `kind`/`id` of the viewer's tenant (another tenant's is not found).
pub async fn load(
    s: &AppState,
    viewer: &Viewer,
    kind: &str,
    id: &str,
) -> Result<(CaseKind, Resource), DashError> {
    let kind = CaseKind::parse(kind).ok_or(DashError::NotFound("case"))?;
    let id = id.strip_prefix("ver_").unwrap_or(id);
    if !crate::ids::looks_like_id(id) {
        return Err(DashError::NotFound("case"));
    }
    let r = s.store.get(viewer.tenant(), kind.stored(), id).await?.ok_or(DashError::NotFound("case"))?;
    Ok((kind, r))
}

/// `GET /dashboard/cases/{kind}/{id}`.
pub async fn show(
    State(s): State<AppState>,
    viewer: Viewer,
    Path((kind, id)): Path<(String, String)>,
    axum::extract::Query(queued): axum::extract::Query<super::webhooks::Notice>,
) -> Result<Html<String>, DashError> {
    let (kind, r) = load(&s, &viewer, &kind, &id).await?;
    let summary = Summary::of(&r).ok_or(DashError::NotFound("case"))?;
    let images = files::of_case(&s, viewer.tenant(), &r).await?;
    let evidence = super::evidence::of(&r);
    let body = match kind {
        CaseKind::Verification => {
            let policy = crate::verification::settings::current_policy(&s, viewer.tenant()).await?;
            verification(&r, &policy, &evidence)
        }
        CaseKind::Check => check(&r, &evidence),
    };
    let history = super::audit_log::of_resource(&s, viewer.tenant(), &summary.public_id).await?;
    let sent = match kind {
        CaseKind::Verification => {
            let ds = s.store.deliveries(viewer.tenant(), &r.id).await?;
            let id = r.id.clone();
            let action = move |d: &verity_store::Delivery| {
                format!("/dashboard/cases/verification/{id}/deliveries/{}/redeliver", d.id)
            };
            Some(super::webhooks::deliveries(&s, &viewer, &ds, &action).await?)
        }
        CaseKind::Check => None,
    };
    let title = format!("{} {}", summary.surface, summary.public_id);
    let page = html! {
        p.crumbs { a href="/dashboard/cases" { "Cases" } " / " code { (summary.public_id) } }
        div.case-head {
            h1 { (summary.what.replace('_', " ")) " " span.muted { "· " (summary.surface) } }
            (badge(summary.outcome))
        }
        dl.facts {
            dt { "Id" } dd { code { (summary.public_id) } }
            @if let Some(x) = &summary.subject { dt { "Subject" } dd { code { (x) } } }
            dt { "Created" } dd { (layout::when(r.created_at)) }
            dt { "Updated" } dd { (layout::when(r.updated_at)) }
        }
        (gallery(&summary, &images, &evidence))
        (body)
        (review(&viewer, &summary, &r))
        @if let Some(sent) = sent {
            section aria-labelledby="deliveries" {
                h2 #deliveries { "Webhook deliveries" }
                @if queued.queued.is_some() { p.notice role="status" { "Queued: the event will be sent again." } }
                (sent)
            }
        }
        section aria-labelledby="history" {
            h2 #history { "History" }
            (super::audit_log::entries(&history))
        }
    };
    Ok(layout::page(&viewer, Section::Cases, &title, page))
}

/// The review so far, and the form to decide (reviewers and admins, once the case is decided).
fn review(viewer: &Viewer, summary: &Summary, r: &Resource) -> Markup {
    let (done, outcome) = match summary.kind {
        CaseKind::Verification => (&r.body["review"], r.body["status"].as_str()),
        CaseKind::Check => (&r.body["validation"]["review"], r.body["validation"]["outcome"].as_str()),
    };
    let can =
        viewer.role >= super::users::Role::Reviewer && summary.outcome != super::layout::Outcome::Pending;
    html! {
        section aria-labelledby="review" {
            h2 #review { "Review" }
            @if done.is_object() {
                div.reviewed {
                    p {
                        strong { (done["reviewer"]["email"].as_str().unwrap_or("someone")) }
                        " decided " strong { (done["decision"].as_str().unwrap_or("")) }
                        @if let Some(o) = outcome { " (now " code { (o) } ")" }
                        " on " (done["reviewedAt"].as_str().unwrap_or(""))
                        @if let Some(p) = done["previous_status"].as_str() { "; Verity had said " code { (p) } }
                        "."
                    }
                    blockquote { (done["comment"].as_str().unwrap_or("")) }
                }
            } @else if summary.kind == CaseKind::Check && outcome.is_some() {
                p { "Validated through the API: " code { (outcome.unwrap_or_default()) } }
            } @else {
                p.muted { "Nobody has reviewed this case." }
            }
            @if can {
                form.review method="post" action={ (summary.href()) "/review" } {
                    input type="hidden" name="csrf" value=(viewer.session.csrf);
                    fieldset {
                        legend { "Decision" }
                        label { input type="radio" name="decision" value="confirm" required; " Confirm" }
                        label { input type="radio" name="decision" value="attention"; " Needs attention" }
                        label { input type="radio" name="decision" value="reject"; " Reject" }
                    }
                    label for="comment" { "Comment (kept in the audit log)" }
                    textarea #comment name="comment" rows="3" maxlength=(super::review::MAX_COMMENT) required {}
                    button.primary type="submit" { "Record the decision" }
                }
            } @else if summary.outcome == super::layout::Outcome::Pending {
                p.muted { "A pending case can be reviewed once Verity has decided it." }
            }
        }
    }
}

fn gallery(summary: &Summary, images: &[CaseFile], evidence: &Evidence) -> Markup {
    html! {
        section.images aria-label="Images" {
            h2 { "Images" }
            @if images.is_empty() {
                p.muted { "No image was stored with this case." }
            }
            div.gallery {
                @for f in images {
                    figure {
                        @if f.available {
                            @let faces: Vec<_> = evidence.faces.iter().filter(|m| m.file == f.name).collect();
                            (super::evidence::figure(&format!("{}/files/{}", summary.href(), f.name), f, &faces))
                        } @else {
                            div.redacted role="img" aria-label={ (f.label) ": deleted" } { "Deleted (retention or redaction)" }
                        }
                        figcaption { (f.label) }
                    }
                }
            }
        }
    }
}

fn num(v: &Value) -> Option<f64> {
    v.as_f64()
}

pub(super) fn status_badge(status: &str) -> Markup {
    let class = match status {
        "passed" | "clear" | "pass" => "clear",
        "failed" | "spoof" | "attention" | "fail" => "attention",
        "warning" => "warning",
        _ => "pending",
    };
    html! { span class={ "badge " (class) } { (status.replace('_', " ")) } }
}

/// A one-call or hosted verification.
fn verification(r: &Resource, policy: &verity_checks::verify::Policy, evidence: &Evidence) -> Markup {
    let b = &r.body;
    let checks = b["checks"].as_object().cloned().unwrap_or_default();
    let signals = b["fraud_signals"].as_array().cloned().unwrap_or_default();
    html! {
        section aria-labelledby="decision" {
            h2 #decision { "Decision" }
            @if let Some(score) = num(&b["risk_score"]) {
                (score_bar("Risk score (0–1000)", score, 1000.0, Some(f64::from(policy.review_above)), false))
                p.muted {
                    "Review above " (policy.review_above) ", reject above " (policy.reject_above)
                    " (the tenant's current policy). Risk level: " (b["risk_level"].as_str().unwrap_or("—")) "."
                }
            } @else {
                p.muted { "Not decided yet." }
            }
            @if b["retryable"] == true { p { "Only image quality failed: the user may try again." } }
        }
        section aria-labelledby="checks" {
            h2 #checks { "Checks" }
            div.checks {
                @for (name, c) in &checks {
                    div.check {
                        h3 { (name.replace('_', " ")) " " (status_badge(c["status"].as_str().unwrap_or("pending"))) }
                        @if name == "face_match" {
                            @if let (Some(sim), Some(t)) = (num(&c["similarity_score"]), num(&c["threshold"])) {
                                (score_bar("Face similarity", sim, 1.0, Some(t), true))
                            }
                        }
                        @if name == "liveness" {
                            @if let Some(p) = num(&c["spoof_probability"]) {
                                (score_bar("Spoof probability", p, 1.0, None, false))
                            }
                        }
                        @if let Some(conf) = num(&c["confidence"]) {
                            p.muted { "confidence " (format!("{conf:.3}")) }
                        }
                        @if let Some(reason) = c["reason"].as_str() { p { (reason) } }
                    }
                }
            }
        }
        @if let Some(l) = &evidence.liveness {
            section aria-label="Liveness" { (super::evidence::liveness(l)) }
        }
        (fraud_signals(&signals))
        (extracted(&b["extracted_data"], evidence.mrz.as_ref()))
    }
}

/// The fraud signals and what each adds to the risk score.
fn fraud_signals(signals: &[Value]) -> Markup {
    let total: f64 = signals.iter().filter_map(|s| num(&s["points"])).sum();
    html! {
        section aria-labelledby="signals" {
            h2 #signals { "Fraud signals" }
            @if signals.is_empty() {
                p.muted { "None." }
            } @else {
                table.signals {
                    thead { tr {
                        th scope="col" { "Signal" } th scope="col" { "Severity" } th scope="col" { "Points" }
                        th scope="col" { "Share of the score" } th scope="col" { "Why" } th scope="col" { "Evidence" }
                    } }
                    tbody {
                        @for s in signals {
                            @let points = num(&s["points"]).unwrap_or(0.0);
                            tr {
                                td { code { (s["code"].as_str().unwrap_or("")) } }
                                td { span class={ "sev " (s["severity"].as_str().unwrap_or("")) } { (s["severity"].as_str().unwrap_or("")) } }
                                td.num { (points) }
                                td { (score_bar("share", points, total.max(1.0), None, true)) }
                                td { (s["message"].as_str().unwrap_or("")) }
                                td { code.evidence { (s["evidence"].to_string()) } }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The data read from the document, with each field's source and confidence, and the MRZ.
fn extracted(d: &Value, mrz: Option<&verity_checks::verify::evidence::MrzMarks>) -> Markup {
    let Some(fields) = d.as_object() else {
        return html! {};
    };
    let conf = &d["field_confidences"];
    html! {
        section aria-labelledby="extracted" {
            h2 #extracted { "Extracted data" }
            table.fields {
                thead { tr { th scope="col" { "Field" } th scope="col" { "Value" } th scope="col" { "Source" } th scope="col" { "Confidence" } } }
                tbody {
                    @for (k, v) in fields {
                        @if k != "field_confidences" && k != "mrz" {
                            tr {
                                th scope="row" { (k.replace('_', " ")) }
                                td { @if let Some(t) = v.as_str() { (t) } @else if v.is_null() { span.muted { "—" } } @else { (v.to_string()) } }
                                td { (conf[k]["source"].as_str().unwrap_or("—")) }
                                td.num { @if let Some(c) = num(&conf[k]["confidence"]) { (format!("{c:.2}")) } }
                            }
                        }
                    }
                }
            }
            @if let Some(m) = mrz {
                (super::evidence::mrz(m))
            } @else if let Some(mrz) = d["mrz"].as_str() {
                h3 { "Machine-readable zone" }
                pre.mrz { (mrz) }
            }
        }
    }
}

/// A signal's value against its threshold; which side passes is read from its status (a passing
/// value above its threshold means higher passes).
pub(super) fn signal_bar(name: &str, v: f64, t: f64, status: &str) -> Markup {
    let ok = !matches!(status, "spoof" | "fail" | "failed");
    // Probabilities and fractions on their own scale; anything else around its threshold.
    let max =
        if (0.0..=1.0).contains(&v) && (0.0..=1.0).contains(&t) { 1.0 } else { (v.max(t) * 1.25).max(1e-6) };
    score_bar(name, v, max, Some(t), ok == (v >= t))
}

/// A ComplyCube check: its outcome, reasons, breakdown and signals.
fn check(r: &Resource, evidence: &Evidence) -> Markup {
    let b = &r.body;
    let result = &b["result"];
    let reasons = result["reasons"].as_array().cloned().unwrap_or_default();
    let signals = result["signals"].as_object().cloned().unwrap_or_default();
    let similarity = num(&result["breakdown"]["faceAnalysis"]["breakdown"]["facialSimilarityScore"]);
    let liveness = num(&result["breakdown"]["authenticityAnalysis"]["breakdown"]["livenessCheckScore"]);
    html! {
        section aria-labelledby="decision" {
            h2 #decision { "Decision" }
            @if let Some(v) = similarity { (score_bar("Facial similarity score (0–100)", v, 100.0, Some(50.0), true)) }
            @if let Some(v) = liveness { (score_bar("Liveness score (0–100)", v, 100.0, Some(50.0), true)) }
            @if reasons.is_empty() {
                p.muted { "No reason to doubt." }
            } @else {
                ul.reasons { @for x in &reasons { li { (x.as_str().map(str::to_string).unwrap_or_else(|| x.to_string())) } } }
            }
            @if b["validation"].is_object() || result["validation"].is_object() {
                p { "Validated: " code { (b["validation"].to_string()) } }
            }
        }
        @if !signals.is_empty() {
            section aria-labelledby="signals" {
                h2 #signals { "Signals" }
                (super::evidence::signals_table(&signals))
            }
        }
        @if let Some(l) = evidence.liveness.as_ref() {
            @if let Some(d) = l.duration_ms {
                section aria-label="Live video" { h3 { "Live video" } (super::evidence::timeline(l, d)) }
            }
        }
        @if let Some(m) = &evidence.mrz {
            section aria-label="Machine-readable zone" { (super::evidence::mrz(m)) }
        }
        section aria-labelledby="breakdown" {
            h2 #breakdown { "Breakdown" }
            pre.json { (serde_json::to_string_pretty(&result["breakdown"]).unwrap_or_default()) }
        }
    }
}
