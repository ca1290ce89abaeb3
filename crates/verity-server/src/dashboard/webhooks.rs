//! Webhooks in the dashboard: the tenant's endpoints (ComplyCube webhooks, the hosted flow's
//! partner webhook; one-call verifications are delivered to their own `webhook_url`, shown on
//! each case), each one's deliveries — time, event, HTTP status, latency, attempt, next retry —
//! endpoints disabled after failures shown as such, and a redeliver button (admins).

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::response::{Html, Response};
use axum::Form;
use maud::{html, Markup};
use serde::Deserialize;
use verity_store::{Delivery, ListQuery};

use super::layout::{self, Section};
use super::session::{CsrfForm, Viewer};
use super::users::Role;
use super::DashError;
use crate::resources::kinds::Webhook;
use crate::resources::Kind;
use crate::AppState;

#[derive(Debug, Default, Deserialize)]
pub struct Notice {
    #[serde(default)]
    pub queued: Option<String>,
}

/// `GET /dashboard/webhooks`.
pub async fn list(State(s): State<AppState>, viewer: Viewer) -> Result<Html<String>, DashError> {
    let q = ListQuery { page: 1, page_size: 100, ..ListQuery::default() };
    let hooks = s.store.list(viewer.tenant(), Webhook::KIND, &q).await?;
    let partner = crate::hosted::partner::load(&s, viewer.tenant()).await?;
    let body = html! {
        h1 { "Webhooks" }
        h2 { "ComplyCube webhooks" }
        @if hooks.items.is_empty() {
            p.empty { "No webhook. Create one with " code { "POST /v1/webhooks" } "." }
        } @else {
            table.webhooks {
                thead { tr { th scope="col" { "Endpoint" } th scope="col" { "Events" } th scope="col" { "State" } th scope="col" { "Created" } } }
                tbody {
                    @for h in &hooks.items {
                        tr {
                            td { a href={ "/dashboard/webhooks/" (h.id) } { code { (h.body["url"].as_str().unwrap_or("")) } } }
                            td { (h.body["events"].as_array().map(|e| e.iter().filter_map(|x| x.as_str()).collect::<Vec<_>>().join(", ")).unwrap_or_default()) }
                            td { (state(&h.body)) }
                            td { (layout::when(h.created_at)) }
                        }
                    }
                }
            }
        }
        h2 { "Hosted flow" }
        p {
            "Results of hosted captures go to "
            @if let Some(u) = &partner.webhook_url { code { (u) } } @else { span.muted { "nowhere (no webhook_url in the partner settings)" } }
            "; each case lists its deliveries."
        }
        h2 { "One-call verifications" }
        p.muted { "Each verification is delivered to the webhook_url it was submitted with; its case lists the deliveries." }
    };
    Ok(layout::page(&viewer, Section::Webhooks, "Webhooks", body))
}

fn state(b: &serde_json::Value) -> Markup {
    html! {
        @if b["enabled"] == true {
            span.badge.clear { "enabled" }
        } @else if let Some(why) = b["disabledReason"].as_str() {
            span.badge.rejected { "disabled after failures" } " " span.muted { (why) }
        } @else {
            span.badge.pending { "disabled" }
        }
    }
}

/// `GET /dashboard/webhooks/{id}`.
pub async fn show(
    State(s): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Query(n): Query<Notice>,
) -> Result<Html<String>, DashError> {
    if !crate::ids::looks_like_id(&id) {
        return Err(DashError::NotFound("webhook"));
    }
    let h = s.store.get(viewer.tenant(), Webhook::KIND, &id).await?.ok_or(DashError::NotFound("webhook"))?;
    let ds = s.store.deliveries(viewer.tenant(), &h.id).await?;
    let action = |d: &Delivery| format!("/dashboard/webhooks/{}/deliveries/{}/redeliver", h.id, d.id);
    let table = deliveries(&s, &viewer, &ds, &action).await?;
    let body = html! {
        p.crumbs { a href="/dashboard/webhooks" { "Webhooks" } " / " code { (h.id) } }
        h1 { "Webhook" }
        dl.facts {
            dt { "Endpoint" } dd { code { (h.body["url"].as_str().unwrap_or("")) } }
            dt { "State" } dd { (state(&h.body)) }
            dt { "Events" } dd { (h.body["events"].to_string()) }
            dt { "Created" } dd { (layout::when(h.created_at)) }
        }
        @if n.queued.is_some() { p.notice role="status" { "Queued: the event will be sent again." } }
        h2 #deliveries { "Deliveries" }
        (table)
    };
    Ok(layout::page(&viewer, Section::Webhooks, "Webhook", body))
}

/// A table of delivery attempts (newest first) with the event of each and, for admins, a
/// button that sends that event again.
pub async fn deliveries(
    s: &AppState,
    viewer: &Viewer,
    ds: &[Delivery],
    action: &(dyn Fn(&Delivery) -> String + Sync),
) -> Result<Markup, DashError> {
    let mut types = BTreeMap::new();
    for d in ds {
        if !types.contains_key(&d.event_id) {
            let t = s.store.event(&d.event_id).await?.map(|e| e.event_type).unwrap_or_default();
            types.insert(d.event_id.clone(), t);
        }
    }
    let admin = viewer.role >= Role::Admin;
    Ok(html! {
        @if ds.is_empty() {
            p.empty { "No delivery yet." }
        } @else {
            table.deliveries {
                thead { tr {
                    th scope="col" { "When" } th scope="col" { "Event" } th scope="col" { "HTTP" }
                    th scope="col" { "Latency" } th scope="col" { "Attempt" } th scope="col" { "Next retry" }
                    @if admin { th scope="col" { span.sr { "Redeliver" } } }
                } }
                tbody {
                    @for d in ds {
                        tr {
                            td { (layout::when(d.created_at)) }
                            td { code { (types.get(&d.event_id).map(String::as_str).unwrap_or("")) } br; span.muted { "evt_" (d.event_id) } }
                            td {
                                @match (d.status_code, &d.error) {
                                    (Some(c), None) => span.badge.clear { (c) },
                                    (Some(c), Some(_)) => span.badge.rejected { (c) },
                                    (None, Some(e)) => { span.badge.rejected { "no answer" } " " span.muted { (e) } },
                                    (None, None) => span.muted { "—" },
                                }
                            }
                            td.num { @if let Some(l) = d.latency_ms { (l) " ms" } @else { "—" } }
                            td.num { (d.attempt) }
                            td { @if let Some(t) = d.next_retry_at { (layout::when(t)) } @else { span.muted { "—" } } }
                            @if admin {
                                td {
                                    form.inline method="post" action=(action(d)) {
                                        input type="hidden" name="csrf" value=(viewer.session.csrf);
                                        button type="submit" { "Redeliver" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    })
}

/// `POST /dashboard/webhooks/{id}/deliveries/{delivery}/redeliver`.
pub async fn redeliver(
    State(s): State<AppState>,
    viewer: Viewer,
    Path((id, delivery)): Path<(String, String)>,
    Form(f): Form<CsrfForm>,
) -> Result<Response, DashError> {
    viewer.check_csrf(&f.csrf)?;
    viewer.require(Role::Admin)?;
    crate::events::redeliver(&s, viewer.tenant(), &id, &delivery).await?;
    Ok(super::see_other(&format!("/dashboard/webhooks/{id}?queued=1#deliveries")))
}

/// `POST /dashboard/cases/verification/{id}/deliveries/{delivery}/redeliver`.
pub async fn redeliver_verification(
    State(s): State<AppState>,
    viewer: Viewer,
    Path((id, delivery)): Path<(String, String)>,
    Form(f): Form<CsrfForm>,
) -> Result<Response, DashError> {
    viewer.check_csrf(&f.csrf)?;
    viewer.require(Role::Admin)?;
    let (_, r) = super::case::load(&s, &viewer, "verification", &id).await?;
    crate::verification::webhook::redeliver(&s, &r, &delivery).await?;
    Ok(super::see_other(&format!("/dashboard/cases/verification/{}?queued=1#deliveries", r.id)))
}
