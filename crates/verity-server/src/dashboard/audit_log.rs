//! The audit log in the dashboard: every change of the tenant's resources by an API key or a
//! person, with the diff; filtered by resource, action and operation.

use axum::extract::{Query, State};
use axum::response::Html;
use maud::{html, Markup};
use serde::Deserialize;
use serde_json::Value;
use verity_store::{ListQuery, Resource};

use super::layout::{self, Section};
use super::session::Viewer;
use super::DashError;
use crate::audit::AuditLog;
use crate::resources::Kind;
use crate::AppState;

const PAGE_SIZE: u32 = 50;

#[derive(Debug, Default, Deserialize)]
pub struct Filters {
    #[serde(default)]
    resource: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    page: Option<u32>,
}

/// The entries about one resource (its public id), newest first.
pub async fn of_resource(s: &AppState, tenant: &str, public_id: &str) -> Result<Vec<Resource>, DashError> {
    let q = ListQuery {
        filters: vec![("resourceId".into(), public_id.to_string())],
        page: 1,
        page_size: 100,
        ..ListQuery::default()
    };
    Ok(s.store.list(tenant, AuditLog::KIND, &q).await?.items)
}

/// `GET /dashboard/audit`.
pub async fn list(
    State(s): State<AppState>,
    viewer: Viewer,
    Query(f): Query<Filters>,
) -> Result<Html<String>, DashError> {
    let mut filters = Vec::new();
    let resource = f.resource.trim();
    if !resource.is_empty() {
        filters.push(("resourceId".to_string(), resource.to_string()));
    }
    if !f.action.is_empty() {
        if !["create", "update", "delete"].contains(&f.action.as_str()) {
            return Err(DashError::BadRequest("unknown action".into()));
        }
        filters.push(("action".to_string(), f.action.clone()));
    }
    let page = f.page.unwrap_or(1).clamp(1, 100_000);
    let q = ListQuery { filters, page, page_size: PAGE_SIZE, ..ListQuery::default() };
    let found = s.store.list(viewer.tenant(), AuditLog::KIND, &q).await?;
    let pages = found.total.div_ceil(u64::from(PAGE_SIZE)).max(1) as u32;
    let body = html! {
        h1 { "Audit log" }
        form.filters method="get" action="/dashboard/audit" {
            label { "Resource id" input type="search" name="resource" value=(f.resource) placeholder="id"; }
            label { "Action"
                select name="action" {
                    option value="" { "Any" }
                    @for a in ["create", "update", "delete"] { option value=(a) selected[f.action == a] { (a) } }
                }
            }
            button type="submit" { "Filter" }
            a href="/dashboard/audit" { "Clear" }
        }
        p.muted { (found.total) " entr" @if found.total == 1 { "y" } @else { "ies" } }
        (entries(&found.items))
        @if pages > 1 {
            nav.pager aria-label="Pages" {
                @if page > 1 { a rel="prev" href={ "/dashboard/audit?page=" (page - 1) "&resource=" (super::percent_encode(resource)) "&action=" (f.action) } { "← Newer" } }
                span { "Page " (page) " of " (pages) }
                @if page < pages { a rel="next" href={ "/dashboard/audit?page=" (page + 1) "&resource=" (super::percent_encode(resource)) "&action=" (f.action) } { "Older →" } }
            }
        }
    };
    Ok(layout::page(&viewer, Section::Audit, "Audit log", body))
}

/// Who acted: the person, else the API key.
fn who(b: &Value) -> Markup {
    html! {
        @if let Some(e) = b["memberEmail"].as_str() { (e) }
        @else if let Some(k) = b["apiKeyId"].as_str() { "API key " code { (k) } }
        @else { span.muted { "—" } }
    }
}

/// A link to the case a resource id names, when it is one.
fn resource_link(b: &Value) -> Markup {
    let id = b["resourceId"].as_str().unwrap_or_default();
    let case = match b["resourceType"].as_str() {
        Some("check") => Some(format!("/dashboard/cases/check/{id}")),
        Some("verification") => {
            Some(format!("/dashboard/cases/verification/{}", id.trim_start_matches("ver_")))
        }
        _ => None,
    };
    html! {
        span.muted { (b["resourceType"].as_str().unwrap_or("")) " " }
        @if let Some(href) = case { a href=(href) { code { (id) } } } @else { code { (id) } }
    }
}

/// A table of entries with their diffs.
pub fn entries(items: &[Resource]) -> Markup {
    html! {
        @if items.is_empty() {
            p.empty { "Nothing recorded." }
        } @else {
            table.audit {
                thead { tr {
                    th scope="col" { "When" } th scope="col" { "Who" } th scope="col" { "Operation" }
                    th scope="col" { "Resource" } th scope="col" { "Changes" }
                } }
                tbody {
                    @for e in items {
                        @let b = &e.body;
                        tr {
                            td { (layout::when(e.created_at)) }
                            td { (who(b)) }
                            td { code { (b["trigger"].as_str().unwrap_or("")) } " " span.muted { (b["action"].as_str().unwrap_or("")) } }
                            td { (resource_link(b)) }
                            td { (diff(&b["diff"])) }
                        }
                    }
                }
            }
        }
    }
}

fn diff(d: &Value) -> Markup {
    let changes = d.as_array().cloned().unwrap_or_default();
    let shown = 12;
    html! {
        @if changes.is_empty() { span.muted { "—" } }
        @else {
            ul.diff {
                @for c in changes.iter().take(shown) {
                    @let path = c["path"].as_array().map(|p| p.iter().filter_map(|x| x.as_str().map(str::to_string).or_else(|| Some(x.to_string()))).collect::<Vec<_>>().join(".")).unwrap_or_default();
                    li {
                        code { (path) } ": "
                        @if let Some(o) = c["old"].as_str() { del { (clip(o)) } " " }
                        @if let Some(n) = c["new"].as_str() { ins { (clip(n)) } }
                    }
                }
                @if changes.len() > shown { li.muted { "… and " (changes.len() - shown) " more" } }
            }
        }
    }
}

fn clip(s: &str) -> String {
    if s.chars().count() > 80 {
        format!("{}…", s.chars().take(80).collect::<String>())
    } else {
        s.to_string()
    }
}
