//! The dashboard's page shell and the small pieces pages are made of (badges, score bars,
//! tables of signals). Maud escapes every value it prints.

use axum::http::StatusCode;
use axum::response::Html;
use maud::{html, Markup, DOCTYPE};

use super::session::Viewer;

/// Which part of the dashboard a page belongs to (highlighted in the navigation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Overview,
    Cases,
    Webhooks,
    Audit,
    Settings,
}

fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            meta name="referrer" content="same-origin";
            title { (title) " · Verity" }
            link rel="stylesheet" href="/dashboard/assets/dashboard.css";
        }
    }
}

/// A page of the signed-in dashboard.
pub fn page(viewer: &Viewer, section: Section, title: &str, body: Markup) -> Html<String> {
    let nav = [
        (Section::Overview, "/dashboard/overview", "Overview"),
        (Section::Cases, "/dashboard/cases", "Cases"),
        (Section::Webhooks, "/dashboard/webhooks", "Webhooks"),
        (Section::Audit, "/dashboard/audit", "Audit log"),
        (Section::Settings, "/dashboard/settings", "Settings"),
    ];
    Html(
        html! {
            (DOCTYPE)
            html lang="en" {
                (head(title))
                body {
                    a.skip href="#main" { "Skip to content" }
                    header.top {
                        a.brand href="/dashboard/cases" { "Verity" }
                        nav aria-label="Dashboard" {
                            @for (s, href, label) in nav {
                                @if s == section {
                                    a href=(href) aria-current="page" { (label) }
                                } @else {
                                    a href=(href) { (label) }
                                }
                            }
                        }
                        div.who {
                            span { (viewer.user.email) }
                            span.role { (viewer.role.name()) }
                            form method="post" action="/dashboard/logout" {
                                input type="hidden" name="csrf" value=(viewer.session.csrf);
                                button.link type="submit" { "Sign out" }
                            }
                        }
                    }
                    main #main { (body) }
                }
            }
        }
        .into_string(),
    )
}

/// The login form.
pub fn login(csrf: &str, next: &str, problem: Option<&str>) -> Html<String> {
    Html(
        html! {
            (DOCTYPE)
            html lang="en" {
                (head("Sign in"))
                body.login {
                    main #main {
                        form.card.login method="post" action="/dashboard/login" {
                            h1 { "Verity dashboard" }
                            @if let Some(p) = problem {
                                p.problem role="alert" { (p) }
                            }
                            input type="hidden" name="csrf" value=(csrf);
                            input type="hidden" name="next" value=(next);
                            label for="email" { "Email" }
                            input #email type="email" name="email" autocomplete="username" required autofocus;
                            label for="password" { "Password" }
                            input #password type="password" name="password" autocomplete="current-password" required;
                            button.primary type="submit" { "Sign in" }
                        }
                    }
                }
            }
        }
        .into_string(),
    )
}

/// A page explaining a refusal or a failure.
pub fn error_page(status: StatusCode, code: &str, message: &str) -> Html<String> {
    Html(
        html! {
            (DOCTYPE)
            html lang="en" {
                (head("Error"))
                body.login {
                    main #main.card {
                        h1 { (status.as_u16()) " " (status.canonical_reason().unwrap_or("Error")) }
                        p { (message) }
                        p.muted { "code: " code { (code) } }
                        p { a href="/dashboard/cases" { "Back to the cases" } }
                    }
                }
            }
        }
        .into_string(),
    )
}

/// How a case ended, as the dashboard names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Pending,
    Clear,
    Attention,
    Rejected,
    NotProcessed,
    Failed,
}

impl Outcome {
    pub const ALL: [Outcome; 6] = [
        Outcome::Pending,
        Outcome::Clear,
        Outcome::Attention,
        Outcome::Rejected,
        Outcome::NotProcessed,
        Outcome::Failed,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Outcome::Pending => "pending",
            Outcome::Clear => "clear",
            Outcome::Attention => "attention",
            Outcome::Rejected => "rejected",
            Outcome::NotProcessed => "not_processed",
            Outcome::Failed => "failed",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Outcome::Pending => "Pending",
            Outcome::Clear => "Clear",
            Outcome::Attention => "Needs review",
            Outcome::Rejected => "Rejected",
            Outcome::NotProcessed => "Not processed",
            Outcome::Failed => "Failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.name() == s)
    }
}

pub fn badge(o: Outcome) -> Markup {
    html! { span class={ "badge " (o.name()) } { (o.label()) } }
}

/// A horizontal bar: `value` on a scale from 0 to `max`, with a tick at `threshold` and the
/// side of the threshold that passes.
pub fn score_bar(label: &str, value: f64, max: f64, threshold: Option<f64>, higher_passes: bool) -> Markup {
    let pct = |v: f64| (v / max * 100.0).clamp(0.0, 100.0);
    let passes = threshold.map(|t| if higher_passes { value >= t } else { value < t });
    let class = match passes {
        Some(true) => "bar pass",
        Some(false) => "bar fail",
        None => "bar",
    };
    let fmt = |v: f64| if max > 10.0 { format!("{v:.0}") } else { format!("{v:.3}") };
    html! {
        div.score {
            div.score-label {
                span { (label) }
                span.value {
                    (fmt(value))
                    @if let Some(t) = threshold {
                        span.muted { " (threshold " (fmt(t)) ")" }
                    }
                }
            }
            // SVG geometry, not inline styles: the page's CSP allows no style attributes.
            svg class=(class) viewBox="0 0 100 10" preserveAspectRatio="none" role="img"
                aria-label={ (label) ": " (fmt(value)) } {
                rect.track x="0" y="0" width="100" height="10" {}
                rect.fill x="0" y="0" width=(format!("{:.1}", pct(value))) height="10" {}
                @if let Some(t) = threshold {
                    rect.tick x=(format!("{:.1}", (pct(t) - 0.4).max(0.0))) y="0" width="0.8" height="10" {}
                }
            }
        }
    }
}

/// A timestamp (unix ms) as shown: `2026-12-07 16:32 UTC`.
pub fn when(ms: i64) -> String {
    let s = verity_store::time::format_ms(ms);
    format!("{} {} UTC", &s[..10.min(s.len())], s.get(11..16).unwrap_or(""))
}
