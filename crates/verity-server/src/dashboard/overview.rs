//! At a glance: the last 30 days of cases — decided per day, outcomes, the median time to a
//! decision, and how often each signal failed — as small SVG charts drawn on the server. Read
//! from the newest cases (at most [`MAX_CASES`]; the page says when it saw fewer than all).

use std::collections::BTreeMap;

use axum::extract::State;
use axum::response::Html;
use maud::{html, Markup};
use verity_store::{KindFilter, ListQuery, Resource};

use super::cases::Summary;
use super::layout::{self, Outcome, Section};
use super::session::Viewer;
use super::DashError;
use crate::AppState;

const DAYS: i64 = 30;
const DAY_MS: i64 = 86_400_000;
pub const MAX_CASES: usize = 5000;

/// What the page shows, computed from the cases.
#[derive(Debug, Default)]
pub struct Glance {
    pub per_day: Vec<(i64, usize)>,
    pub outcomes: BTreeMap<&'static str, usize>,
    pub median_ms: Option<i64>,
    /// (signal, cases it failed in).
    pub failing: Vec<(String, usize)>,
    pub decided: usize,
    pub total: usize,
    pub capped: bool,
}

/// The failing signals of a case: a verification's fraud signals, a check's failed signals.
fn failing_signals(r: &Resource) -> Vec<String> {
    let b = &r.body;
    match r.kind.as_str() {
        "verification" => b["fraud_signals"]
            .as_array()
            .map(|a| a.iter().filter_map(|s| s["code"].as_str().map(str::to_string)).collect())
            .unwrap_or_default(),
        _ => b["result"]["signals"]
            .as_object()
            .map(|m| {
                m.iter()
                    .filter(|(_, s)| matches!(s["status"].as_str(), Some("spoof" | "fail" | "failed")))
                    .map(|(k, _)| k.clone())
                    .collect()
            })
            .unwrap_or_default(),
    }
}

pub fn glance(cases: &[Resource], now: i64, capped: bool) -> Glance {
    let first_day = now.div_euclid(DAY_MS) - (DAYS - 1);
    let mut per_day: BTreeMap<i64, usize> = (first_day..first_day + DAYS).map(|d| (d, 0)).collect();
    let mut g = Glance { total: cases.len(), capped, ..Glance::default() };
    let mut times = Vec::new();
    let mut failing: BTreeMap<String, usize> = BTreeMap::new();
    for r in cases {
        let Some(s) = Summary::of(r) else { continue };
        if let Some(n) = per_day.get_mut(&r.created_at.div_euclid(DAY_MS)) {
            *n += 1;
        }
        *g.outcomes.entry(s.outcome.name()).or_default() += 1;
        if !matches!(s.outcome, Outcome::Pending) {
            g.decided += 1;
            times.push(r.updated_at - r.created_at);
            let mut seen = failing_signals(r);
            seen.sort();
            seen.dedup();
            for code in seen {
                *failing.entry(code).or_default() += 1;
            }
        }
    }
    times.sort_unstable();
    g.median_ms = (!times.is_empty()).then(|| times[times.len() / 2]);
    g.per_day = per_day.into_iter().collect();
    let mut f: Vec<_> = failing.into_iter().collect();
    f.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    f.truncate(12);
    g.failing = f;
    g
}

/// `GET /dashboard/overview`.
pub async fn show(State(s): State<AppState>, viewer: Viewer) -> Result<Html<String>, DashError> {
    let now = verity_store::time::now_ms();
    let since = (now.div_euclid(DAY_MS) - (DAYS - 1)) * DAY_MS;
    let kinds = ["check", "verification"].map(|k| KindFilter { kind: k.into(), filters: Vec::new() });
    let mut cases = Vec::new();
    let mut capped = false;
    for page in 1.. {
        let q = ListQuery { created_after: Some(since), page, page_size: 500, ..ListQuery::default() };
        let p = s.store.list_across(viewer.tenant(), &kinds, &q).await?;
        let n = p.items.len();
        cases.extend(p.items);
        if cases.len() >= MAX_CASES {
            capped = (p.total as usize) > MAX_CASES;
            cases.truncate(MAX_CASES);
            break;
        }
        if n < 500 {
            break;
        }
    }
    let g = glance(&cases, now, capped);
    let body = html! {
        h1 { "Overview" }
        p.muted {
            "The last " (DAYS) " days: " (g.total) " case" @if g.total != 1 { "s" } ", " (g.decided) " decided."
            @if g.capped { " (The newest " (MAX_CASES) " cases are counted.)" }
        }
        div.glance {
            figure.chart {
                figcaption { "Cases per day" }
                (per_day(&g.per_day))
            }
            figure.chart {
                figcaption { "Outcomes" }
                (outcomes(&g.outcomes, g.total))
            }
            figure.chart.number {
                figcaption { "Median time to a decision" }
                p.big { @if let Some(ms) = g.median_ms { (human_ms(ms)) } @else { "—" } }
                p.muted { "From submission to the decision, queue included." }
            }
            figure.chart {
                figcaption { "Failing signals (% of decided cases)" }
                @if g.failing.is_empty() { p.muted { "None failed." } }
                @for (code, n) in &g.failing {
                    (layout::score_bar(code, *n as f64 / g.decided.max(1) as f64 * 100.0, 100.0, None, false))
                }
            }
        }
    };
    Ok(layout::page(&viewer, Section::Overview, "Overview", body))
}

fn human_ms(ms: i64) -> String {
    if ms < 1000 {
        format!("{ms} ms")
    } else if ms < 120_000 {
        format!("{:.1} s", ms as f64 / 1000.0)
    } else {
        format!("{:.1} min", ms as f64 / 60_000.0)
    }
}

/// Bars of cases per day, the days' dates under the first and the last.
fn per_day(days: &[(i64, usize)]) -> Markup {
    let max = days.iter().map(|d| d.1).max().unwrap_or(0).max(1) as f64;
    let w = 600.0 / days.len().max(1) as f64;
    let date = |d: i64| verity_store::time::format_ms(d * DAY_MS)[5..10].to_string();
    html! {
        svg.bars viewBox="0 0 600 150" role="img" aria-label="Cases per day, last 30 days" {
            line.axis x1="0" y1="120" x2="600" y2="120" {}
            @for (i, (day, n)) in days.iter().enumerate() {
                @let h = *n as f64 / max * 110.0;
                rect.bar x=(format!("{:.1}", i as f64 * w + 1.0)) y=(format!("{:.1}", 120.0 - h)) width=(format!("{:.1}", (w - 2.0).max(1.0))) height=(format!("{:.1}", h)) {
                    title { (date(*day)) ": " (n) }
                }
            }
            text.tick x="0" y="140" { (days.first().map(|d| date(d.0)).unwrap_or_default()) }
            text.tick x="600" y="140" text-anchor="end" { (days.last().map(|d| date(d.0)).unwrap_or_default()) }
            text.tick x="2" y="12" { "max " (max as usize) " a day" }
        }
    }
}

/// One stacked bar of the outcomes, with a legend.
fn outcomes(counts: &BTreeMap<&'static str, usize>, total: usize) -> Markup {
    let total = total.max(1) as f64;
    // Each present outcome's segment: (outcome, count, x, width).
    let mut x = 0.0;
    let segments: Vec<(Outcome, usize, f64, f64)> = Outcome::ALL
        .into_iter()
        .filter_map(|o| {
            let n = counts.get(o.name()).copied().filter(|n| *n > 0)?;
            let w = n as f64 / total * 600.0;
            x += w;
            Some((o, n, x - w, w))
        })
        .collect();
    html! {
        svg.stack viewBox="0 0 600 30" preserveAspectRatio="none" role="img" aria-label="Outcomes" {
            @for (o, n, x, w) in &segments {
                rect class={ "o " (o.name()) } x=(format!("{x:.1}")) y="0" width=(format!("{w:.1}")) height="30" { title { (o.label()) ": " (n) } }
            }
        }
        ul.legend {
            @for (o, n, _, _) in &segments {
                li { span class={ "swatch o " (o.name()) } {} (o.label()) ": " (n) " (" (format!("{:.0}", *n as f64 / total * 100.0)) "%)" }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn case(kind: &str, t: i64, took: i64, body: serde_json::Value) -> Resource {
        Resource {
            id: format!("{t:024x}"),
            tenant_id: "t".into(),
            kind: kind.into(),
            client_id: None,
            created_at: t,
            updated_at: t + took,
            version: 0,
            body,
            internal: json!({}),
        }
    }

    #[test]
    fn the_glance_counts_days_outcomes_times_and_failing_signals() {
        let now = 100 * DAY_MS + 1000;
        let cases = vec![
            case("verification", now - 10, 800, json!({"status": "verified", "fraud_signals": []})),
            case(
                "verification",
                now - DAY_MS,
                1200,
                json!({"status": "rejected",
                "fraud_signals": [{"code": "FACE_MISMATCH"}, {"code": "FACE_MISMATCH"}]}),
            ),
            case(
                "check",
                now - 2 * DAY_MS,
                3000,
                json!({"status": "complete", "result": {"outcome": "attention",
                "signals": {"moire": {"status": "spoof"}, "padding": {"status": "pass"}}}}),
            ),
            case("check", now - 3, 0, json!({"status": "pending"})),
            case("verification", now - 40 * DAY_MS, 5, json!({"status": "verified"})),
        ];
        let g = glance(&cases, now, false);
        assert_eq!(g.per_day.len(), DAYS as usize);
        assert_eq!(g.per_day.last(), Some(&(100, 2)));
        assert_eq!(g.per_day[g.per_day.len() - 2], (99, 1));
        assert_eq!((g.total, g.decided), (5, 4));
        assert_eq!(g.outcomes.get("clear"), Some(&2));
        assert_eq!(g.outcomes.get("pending"), Some(&1));
        assert_eq!(g.median_ms, Some(1200));
        assert_eq!(g.failing, vec![("FACE_MISMATCH".into(), 1), ("moire".into(), 1)], "a case counts once");
    }
}
