//! The engines' view of a verification, drawn: faces boxed on their images with landmarks, the
//! MRZ with each character's confidence and every correction, the liveness score and signals
//! against their thresholds, a selfie video's challenges on a timeline. From the evidence the
//! pipeline kept (`verity_checks::verify::evidence`). SVG only: the CSP allows no script and no
//! inline style.

use maud::{html, Markup};
use verity_checks::verify::evidence::{Evidence, FaceMark, LivenessMarks, MrzMarks};
use verity_store::Resource;

use super::files::CaseFile;
use super::layout::score_bar;
use crate::resources::Internal;

/// The evidence kept with a case (none for cases decided before it was kept, or redacted).
pub fn of(r: &Resource) -> Evidence {
    Internal::of(r).evidence.and_then(|v| serde_json::from_value(v).ok()).unwrap_or_default()
}

/// An image with the faces found on it.
pub fn figure(src: &str, file: &CaseFile, faces: &[&FaceMark]) -> Markup {
    let Some(size) = faces.first().map(|f| f.size).filter(|s| s[0] > 0 && s[1] > 0) else {
        return html! { img src=(src) alt=(file.label); };
    };
    let (w, h) = (size[0] as f32, size[1] as f32);
    let stroke = (w.max(h) / 250.0).max(1.5);
    html! {
        svg.marked viewBox={ "0 0 " (w) " " (h) } preserveAspectRatio="xMidYMid meet" role="img"
            aria-label={ (file.label) ", " (faces.len()) " face(s) found" } {
            image href=(src) x="0" y="0" width=(w) height=(h) {}
            @for f in faces {
                rect class={ "face" @if f.subject { " subject" } } x=(f.bbox[0]) y=(f.bbox[1]) width=(f.bbox[2]) height=(f.bbox[3])
                    stroke-width=(stroke) {}
                @for p in &f.landmarks {
                    circle.landmark cx=(p[0]) cy=(p[1]) r=(stroke * 1.4) {}
                }
                text.face-score x=(f.bbox[0]) y=((f.bbox[1] - stroke * 2.0).max(stroke * 8.0)) font-size=(stroke * 8.0) {
                    @if f.subject { "subject " } (format!("{:.2}", f.score))
                }
            }
        }
    }
}

/// The MRZ as read: low-confidence characters and corrections marked, each with its reason.
pub fn mrz(m: &MrzMarks) -> Markup {
    html! {
        h3 { "Machine-readable zone, as read on the " (m.side) }
        pre.mrz.marked {
            @for (i, line) in m.lines.iter().enumerate() {
                @for (j, c) in line.chars().enumerate() {
                    @let p = m.confidences.get(i).and_then(|l| l.get(j)).copied();
                    @let fix = m.corrections.iter().find(|x| x.line == i && x.position == j);
                    @if let Some(x) = fix {
                        span.fixed title={ "read " (x.from) ", corrected to " (x.to) " (" (x.reason) ")" } { (c) }
                    } @else if p.is_some_and(|p| p < m.low_below) {
                        span.low title={ "probability " (format!("{:.2}", p.unwrap_or_default())) } { (c) }
                    } @else {
                        (c)
                    }
                }
                "\n"
            }
        }
        p.legend {
            span.fixed { "X" } " corrected (a check digit or the format says so) · "
            span.low { "X" } " read with probability under " (m.low_below) " · "
            @if m.valid { "every check digit passes: the read is valid" }
            @else { "the read is not valid" @if !m.low_confidence_fields.is_empty() { " (unsure: " (m.low_confidence_fields.join(", ")) ")" } }
        }
        @if !m.corrections.is_empty() {
            ul.corrections {
                @for x in &m.corrections {
                    li { "line " (x.line + 1) ", position " (x.position + 1) ": " code { (x.from) } " → " code { (x.to) } " — " (x.reason) }
                }
            }
        }
    }
}

/// The liveness engine's score and signals, and a video's challenges.
pub fn liveness(l: &LivenessMarks) -> Markup {
    let signals = l.signals.as_object().cloned().unwrap_or_default();
    html! {
        h3 { "Liveness" }
        (score_bar("Liveness score (0–100)", f64::from(l.score), 100.0, Some(50.0), true))
        @if let Some(d) = l.duration_ms { (timeline(l, d)) }
        (signals_table(&signals))
    }
}

/// Each signal with its status, its value against its threshold (a bar) and the reason.
pub fn signals_table(signals: &serde_json::Map<String, serde_json::Value>) -> Markup {
    html! {
        table.signals {
            thead { tr { th scope="col" { "Signal" } th scope="col" { "Status" } th scope="col" { "Value against threshold" } th scope="col" { "Why" } } }
            tbody {
                @for (name, s) in signals {
                    tr {
                        td { code { (name) } }
                        td { (super::case::status_badge(s["status"].as_str().unwrap_or(""))) }
                        td {
                            @match (s["value"].as_f64(), s["threshold"].as_f64()) {
                                (Some(v), Some(t)) => (super::case::signal_bar(name, v, t, s["status"].as_str().unwrap_or(""))),
                                (Some(v), None) => (format!("{v:.3}")),
                                _ => span.muted { "—" },
                            }
                        }
                        td { (s["reason"].as_str().unwrap_or("")) }
                    }
                }
            }
        }
    }
}

/// A selfie video's timeline: when each challenge was prompted and met, and the best frame.
pub fn timeline(l: &LivenessMarks, duration_ms: u64) -> Markup {
    let d = duration_ms.max(1) as f64;
    let x = |ms: u64| 20.0 + 960.0 * (ms as f64 / d).min(1.0);
    html! {
        figure.timeline {
            svg viewBox="0 0 1000 90" role="img" aria-label="Challenge timeline" {
                line.axis x1="20" y1="60" x2="980" y2="60" {}
                text.tick x="20" y="82" { "0 s" }
                text.tick x="980" y="82" text-anchor="end" { (format!("{:.1} s", d / 1000.0)) }
                @if let Some(b) = l.best_frame_at_ms {
                    line.best x1=(x(b)) y1="40" x2=(x(b)) y2="70" {}
                    text.tick x=(x(b)) y="82" text-anchor="middle" { "best frame" }
                }
                @for (i, c) in l.challenges.iter().enumerate() {
                    @let row = 18.0 + 14.0 * (i % 2) as f64;
                    @if let Some(p) = c.prompted_at_ms {
                        line.prompt x1=(x(p)) y1=(row) x2=(x(p)) y2="60" {}
                    }
                    @if let Some(m) = c.met_at_ms {
                        circle class={ "met" @if !c.passed { " missed" } } cx=(x(m)) cy="60" r="7" {}
                        text.label x=(x(m)) y=(row) text-anchor="middle" { (c.name.replace('_', " ")) }
                    } @else {
                        text.label.missed x=(x(c.prompted_at_ms.unwrap_or(0))) y=(row) { (c.name.replace('_', " ")) " — not met" }
                    }
                }
            }
            figcaption {
                @for c in &l.challenges {
                    span class={ "badge " @if c.passed { "clear" } @else { "rejected" } } { (c.name.replace('_', " ")) }
                    " prompted at " (c.prompted_at_ms.map(|p| format!("{:.1} s", p as f64 / 1000.0)).unwrap_or_else(|| "—".into()))
                    ", met at " (c.met_at_ms.map(|p| format!("{:.1} s", p as f64 / 1000.0)).unwrap_or_else(|| "—".into()))
                    ". "
                }
            }
        }
    }
}
