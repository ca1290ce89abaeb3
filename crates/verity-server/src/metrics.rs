//! Prometheus metrics, in the text exposition format at `/metrics`.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

use crate::jobs::Outcome;

type HttpKey = (String, String, u16);

#[derive(Default)]
pub struct Metrics {
    /// (method, route, status) → (count, total seconds).
    http: Mutex<BTreeMap<HttpKey, (u64, f64)>>,
    /// (kind, outcome) → (count, total ms).
    jobs: Mutex<BTreeMap<(String, String), (u64, u64)>>,
    /// (check type, outcome) → (count, total ms).
    checks: Mutex<BTreeMap<(String, String), (u64, u64)>>,
}

fn esc(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

impl Metrics {
    pub fn request(&self, method: &str, route: &str, status: u16, secs: f64) {
        let mut m = self.http.lock().unwrap_or_else(|p| p.into_inner());
        let e = m.entry((method.to_string(), route.to_string(), status)).or_default();
        e.0 += 1;
        e.1 += secs;
    }

    pub fn job_done(&self, kind: &str, outcome: &Outcome, ms: u64) {
        let o = match outcome {
            Outcome::Done => "done",
            Outcome::Retry { .. } => "retry",
            Outcome::GiveUp(_) => "give_up",
        };
        let mut m = self.jobs.lock().unwrap_or_else(|p| p.into_inner());
        let e = m.entry((kind.to_string(), o.to_string())).or_default();
        e.0 += 1;
        e.1 += ms;
    }

    pub fn check_done(&self, kind: &str, outcome: &str, ms: u64) {
        let mut m = self.checks.lock().unwrap_or_else(|p| p.into_inner());
        let e = m.entry((kind.to_string(), outcome.to_string())).or_default();
        e.0 += 1;
        e.1 += ms;
    }

    pub fn render(&self, queue: &verity_store::JobCounts) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "# HELP verity_http_requests_total HTTP requests by method, route and status.");
        let _ = writeln!(out, "# TYPE verity_http_requests_total counter");
        let http = self.http.lock().unwrap_or_else(|p| p.into_inner()).clone();
        for ((m, r, s), (n, _)) in &http {
            let _ = writeln!(
                out,
                "verity_http_requests_total{{method=\"{}\",route=\"{}\",status=\"{s}\"}} {n}",
                esc(m),
                esc(r)
            );
        }
        let _ = writeln!(out, "# HELP verity_http_request_seconds_sum Time spent answering, by route.");
        let _ = writeln!(out, "# TYPE verity_http_request_seconds_sum counter");
        for ((m, r, s), (_, t)) in &http {
            let _ = writeln!(
                out,
                "verity_http_request_seconds_sum{{method=\"{}\",route=\"{}\",status=\"{s}\"}} {t:.6}",
                esc(m),
                esc(r)
            );
        }
        let _ = writeln!(out, "# HELP verity_jobs_total Jobs run, by kind and outcome.");
        let _ = writeln!(out, "# TYPE verity_jobs_total counter");
        for ((k, o), (n, _)) in self.jobs.lock().unwrap_or_else(|p| p.into_inner()).iter() {
            let _ = writeln!(out, "verity_jobs_total{{kind=\"{}\",outcome=\"{}\"}} {n}", esc(k), esc(o));
        }
        let _ = writeln!(out, "# HELP verity_checks_total Checks completed, by type and outcome.");
        let _ = writeln!(out, "# TYPE verity_checks_total counter");
        let _ = writeln!(out, "# HELP verity_check_milliseconds_sum Time spent running checks.");
        let _ = writeln!(out, "# TYPE verity_check_milliseconds_sum counter");
        for ((k, o), (n, ms)) in self.checks.lock().unwrap_or_else(|p| p.into_inner()).iter() {
            let _ = writeln!(out, "verity_checks_total{{type=\"{}\",outcome=\"{}\"}} {n}", esc(k), esc(o));
            let _ = writeln!(
                out,
                "verity_check_milliseconds_sum{{type=\"{}\",outcome=\"{}\"}} {ms}",
                esc(k),
                esc(o)
            );
        }
        let _ = writeln!(out, "# HELP verity_jobs Jobs in the queue by state.");
        let _ = writeln!(out, "# TYPE verity_jobs gauge");
        for (state, n) in [
            ("queued", queue.queued),
            ("running", queue.running),
            ("done", queue.done),
            ("failed", queue.failed),
        ] {
            let _ = writeln!(out, "verity_jobs{{state=\"{state}\"}} {n}");
        }
        out
    }
}
