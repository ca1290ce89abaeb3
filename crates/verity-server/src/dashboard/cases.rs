//! The list of cases: everything Verity decided for the tenant — ComplyCube checks and
//! verifications (one-call and hosted) — newest first, filtered and paged.

use axum::extract::{Query, State};
use axum::response::Html;
use maud::{html, Markup};
use serde::Deserialize;
use serde_json::Value;
use verity_store::{KindFilter, ListQuery, Resource};

use super::layout::{self, badge, Outcome, Section};
use super::session::Viewer;
use super::DashError;
use crate::AppState;

pub const PAGE_SIZE: u32 = 25;

/// Which kind of stored resource a case is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseKind {
    Check,
    Verification,
}

impl CaseKind {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "check" => Some(CaseKind::Check),
            "verification" => Some(CaseKind::Verification),
            _ => None,
        }
    }

    pub fn stored(self) -> &'static str {
        match self {
            CaseKind::Check => "check",
            CaseKind::Verification => "verification",
        }
    }
}

/// A case as a row of the list (and the head of its page).
#[derive(Debug, Clone)]
pub struct Summary {
    pub kind: CaseKind,
    pub id: String,
    /// The id the API shows (`ver_…` for verifications).
    pub public_id: String,
    /// `ComplyCube`, `One-call` or `Hosted`.
    pub surface: &'static str,
    /// `identity_check`, `passport`, …
    pub what: String,
    pub outcome: Outcome,
    /// The client id or the partner's user identifier.
    pub subject: Option<String>,
    pub risk: Option<(u64, String)>,
    pub created_at: i64,
}

impl Summary {
    pub fn of(r: &Resource) -> Option<Self> {
        let b = &r.body;
        let text = |v: &Value| v.as_str().map(str::to_string);
        match r.kind.as_str() {
            "check" => Some(Summary {
                kind: CaseKind::Check,
                id: r.id.clone(),
                public_id: r.id.clone(),
                surface: "ComplyCube",
                what: text(&b["type"]).unwrap_or_default(),
                outcome: match (b["status"].as_str(), b["result"]["outcome"].as_str()) {
                    (Some("pending"), _) => Outcome::Pending,
                    (Some("failed"), _) => Outcome::Failed,
                    (_, Some("clear")) => Outcome::Clear,
                    (_, Some("attention")) => Outcome::Attention,
                    (_, Some("rejected")) => Outcome::Rejected,
                    (_, Some("not_processed")) => Outcome::NotProcessed,
                    _ => Outcome::Pending,
                },
                subject: text(&b["clientId"]),
                risk: None,
                created_at: r.created_at,
            }),
            "verification" => Some(Summary {
                kind: CaseKind::Verification,
                id: r.id.clone(),
                public_id: format!("ver_{}", r.id),
                surface: if b["mode"] == "hosted" { "Hosted" } else { "One-call" },
                what: text(&b["document_type"])
                    .filter(|t| t != "any")
                    .unwrap_or_else(|| "identity verification".into()),
                outcome: match b["status"].as_str() {
                    Some("verified") => Outcome::Clear,
                    Some("review") => Outcome::Attention,
                    Some("rejected") => Outcome::Rejected,
                    Some("failed") => Outcome::Failed,
                    _ => Outcome::Pending,
                },
                subject: text(&b["user_identifier"])
                    .or_else(|| text(&b["metadata"]["user_id"]))
                    .or_else(|| text(&b["metadata"]["user"])),
                risk: b["risk_score"].as_u64().map(|s| (s, text(&b["risk_level"]).unwrap_or_default())),
                created_at: r.created_at,
            }),
            _ => None,
        }
    }

    pub fn href(&self) -> String {
        format!("/dashboard/cases/{}/{}", self.kind.stored(), self.id)
    }
}

/// The list's filters, as the form sends them.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct Filters {
    #[serde(default)]
    outcome: String,
    /// `hosted`, `one-call`, or a ComplyCube check type.
    #[serde(default, rename = "type")]
    kind: String,
    /// `YYYY-MM-DD`, inclusive.
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    /// A client id or a user identifier.
    #[serde(default)]
    subject: String,
    #[serde(default)]
    risk: String,
    #[serde(default)]
    page: Option<u32>,
}

const CHECK_TYPES: [&str; 5] = [
    "identity_check",
    "document_check",
    "enhanced_identity_check",
    "face_authentication_check",
    "extensive_screening_check",
];

impl Filters {
    /// The store query: each kind with the filters that mean the same thing for it; a filter a
    /// kind cannot match drops the kind.
    fn query(&self) -> Result<(Vec<KindFilter>, ListQuery), DashError> {
        let mut check = Some(Vec::new());
        let mut verification = Some(Vec::new());
        let add = |k: &mut Option<Vec<(String, String)>>, path: &str, v: &str| {
            if let Some(f) = k {
                f.push((path.to_string(), v.to_string()));
            }
        };
        if !self.outcome.is_empty() {
            let o = Outcome::parse(&self.outcome)
                .ok_or_else(|| DashError::BadRequest("unknown outcome".into()))?;
            match o {
                Outcome::Pending => {
                    add(&mut check, "status", "pending");
                    add(&mut verification, "status", "pending");
                }
                Outcome::Failed => {
                    add(&mut check, "status", "failed");
                    add(&mut verification, "status", "failed");
                }
                Outcome::Clear | Outcome::Attention | Outcome::NotProcessed | Outcome::Rejected => {
                    add(&mut check, "result.outcome", o.name());
                    match o {
                        Outcome::Clear => add(&mut verification, "status", "verified"),
                        Outcome::Attention => add(&mut verification, "status", "review"),
                        Outcome::Rejected => add(&mut verification, "status", "rejected"),
                        _ => verification = None,
                    }
                }
            }
        }
        match self.kind.as_str() {
            "" => {}
            "hosted" => {
                check = None;
                add(&mut verification, "mode", "hosted");
            }
            "one-call" => {
                // sync and async (two alternatives below).
                check = None;
            }
            t if CHECK_TYPES.contains(&t) => {
                verification = None;
                add(&mut check, "type", t);
            }
            _ => return Err(DashError::BadRequest("unknown case type".into())),
        }
        let subject = self.subject.trim();
        if !subject.is_empty() {
            add(&mut check, "clientId", subject);
        }
        if !self.risk.is_empty() {
            if !["low", "medium", "high", "critical"].contains(&self.risk.as_str()) {
                return Err(DashError::BadRequest("unknown risk level".into()));
            }
            check = None;
            add(&mut verification, "risk_level", &self.risk);
        }
        let day = |d: &str, end: bool| -> Result<Option<i64>, DashError> {
            if d.is_empty() {
                return Ok(None);
            }
            let t = if end { "23:59:59.999Z" } else { "00:00:00.000Z" };
            verity_store::time::parse(&format!("{d}T{t}"))
                .map(Some)
                .ok_or_else(|| DashError::BadRequest(format!("{d:?} is not a date (YYYY-MM-DD)")))
        };
        let mut kinds = Vec::new();
        if let Some(f) = check {
            kinds.push(KindFilter { kind: "check".into(), filters: f });
        }
        if let Some(f) = verification {
            // Alternatives: one-call is `sync` or `async`; the subject is the hosted flow's user
            // identifier or the partner's `metadata.user_id`.
            let mut alts = vec![f];
            // Each alternative once with each of `either` (path, value) added.
            let expand = |alts: Vec<Vec<(String, String)>>, either: &[(&str, &str)]| -> Vec<_> {
                alts.iter()
                    .flat_map(|a| {
                        either.iter().map(move |(path, v)| {
                            let mut a = a.clone();
                            a.push((path.to_string(), v.to_string()));
                            a
                        })
                    })
                    .collect()
            };
            if self.kind == "one-call" {
                alts = expand(alts, &[("mode", "sync"), ("mode", "async")]);
            }
            if !subject.is_empty() {
                alts = expand(alts, &[("user_identifier", subject), ("metadata.user_id", subject)]);
            }
            kinds.extend(alts.into_iter().map(|filters| KindFilter { kind: "verification".into(), filters }));
        }
        let q = ListQuery {
            created_after: day(&self.from, false)?,
            created_before: day(&self.to, true)?,
            page: self.page.unwrap_or(1).clamp(1, 100_000),
            page_size: PAGE_SIZE,
            ..ListQuery::default()
        };
        Ok((kinds, q))
    }

    /// The query string of these filters on another page.
    fn with_page(&self, page: u32) -> String {
        let mut parts = vec![format!("page={page}")];
        for (k, v) in [
            ("outcome", &self.outcome),
            ("type", &self.kind),
            ("from", &self.from),
            ("to", &self.to),
            ("subject", &self.subject),
            ("risk", &self.risk),
        ] {
            if !v.is_empty() {
                parts.push(format!("{k}={}", super::percent_encode(v)));
            }
        }
        parts.join("&")
    }
}

/// `GET /dashboard/cases`.
pub async fn list(
    State(s): State<AppState>,
    viewer: Viewer,
    Query(f): Query<Filters>,
) -> Result<Html<String>, DashError> {
    let (kinds, q) = f.query()?;
    let page = s.store.list_across(viewer.tenant(), &kinds, &q).await?;
    let rows: Vec<Summary> = page.items.iter().filter_map(Summary::of).collect();
    let pages = page.total.div_ceil(u64::from(PAGE_SIZE)).max(1) as u32;
    let body = html! {
        h1 { "Cases" }
        (filter_form(&f))
        p.muted { (page.total) " case" @if page.total != 1 { "s" } }
        @if rows.is_empty() {
            p.empty { "No case matches." }
        } @else {
            table.cases {
                thead { tr {
                    th scope="col" { "Case" } th scope="col" { "Surface" } th scope="col" { "Type" }
                    th scope="col" { "Subject" } th scope="col" { "Outcome" } th scope="col" { "Risk" }
                    th scope="col" { "Created" }
                } }
                tbody {
                    @for c in &rows {
                        tr {
                            td { a href=(c.href()) { code { (c.public_id) } } }
                            td { (c.surface) }
                            td { (c.what) }
                            td { @if let Some(x) = &c.subject { code { (x) } } @else { span.muted { "—" } } }
                            td { (badge(c.outcome)) }
                            td { @if let Some((score, level)) = &c.risk { (score) " " span.muted { (level) } } @else { span.muted { "—" } } }
                            td { (layout::when(c.created_at)) }
                        }
                    }
                }
            }
        }
        (pager(&f, q.page, pages))
    };
    Ok(layout::page(&viewer, Section::Cases, "Cases", body))
}

fn filter_form(f: &Filters) -> Markup {
    let types: Vec<(&str, &str)> = [("hosted", "Hosted capture"), ("one-call", "One-call verification")]
        .into_iter()
        .chain(CHECK_TYPES.iter().map(|t| (*t, *t)))
        .collect();
    html! {
        form.filters method="get" action="/dashboard/cases" {
            label { "Outcome"
                select name="outcome" {
                    option value="" { "Any" }
                    @for o in Outcome::ALL {
                        option value=(o.name()) selected[f.outcome == o.name()] { (o.label()) }
                    }
                }
            }
            label { "Type"
                select name="type" {
                    option value="" { "Any" }
                    @for (v, l) in &types {
                        option value=(v) selected[f.kind == *v] { (l) }
                    }
                }
            }
            label { "From" input type="date" name="from" value=(f.from); }
            label { "To" input type="date" name="to" value=(f.to); }
            label { "Client or user" input type="search" name="subject" value=(f.subject) placeholder="id"; }
            label { "Risk"
                select name="risk" {
                    option value="" { "Any" }
                    @for r in ["low", "medium", "high", "critical"] {
                        option value=(r) selected[f.risk == r] { (r) }
                    }
                }
            }
            button type="submit" { "Filter" }
            a href="/dashboard/cases" { "Clear" }
        }
    }
}

fn pager(f: &Filters, page: u32, pages: u32) -> Markup {
    html! {
        @if pages > 1 {
            nav.pager aria-label="Pages" {
                @if page > 1 { a rel="prev" href={ "/dashboard/cases?" (f.with_page(page - 1)) } { "← Newer" } }
                span { "Page " (page) " of " (pages) }
                @if page < pages { a rel="next" href={ "/dashboard/cases?" (f.with_page(page + 1)) } { "Older →" } }
            }
        }
    }
}
