//! `verity mrz parse` and `verity eval mrz`.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{json, Value};
use verity_mrz::peer::{evaluate, Outcome};
use verity_mrz::{Date, Mode, Options};

use crate::CliError;

/// Today's date (UTC) from the system clock.
pub(crate) fn today() -> Date {
    let days = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() / 86_400)
        .unwrap_or(0) as i64;
    Date::from_unix_days(days)
}

pub(crate) fn parse_date(s: &str) -> Result<Date, CliError> {
    let bad = || CliError::input("bad_date", format!("{s:?} is not a date (YYYY-MM-DD)"));
    let mut it = s.split('-').map(|p| p.parse::<i64>().map_err(|_| bad()));
    let (y, m, d) = (it.next().ok_or_else(bad)??, it.next().ok_or_else(bad)??, it.next().ok_or_else(bad)??);
    Date::new(y as i32, m as u32, d as u32).ok_or_else(bad)
}

/// `verity mrz parse LINE...`
pub fn parse_lines(lines: &[String], tolerant: bool, today: Option<&str>) -> Result<Value, CliError> {
    let today = match today {
        Some(s) => parse_date(s)?,
        None => self::today(),
    };
    let mode = if tolerant { Mode::Tolerant } else { Mode::Strict };
    let m = verity_mrz::parse(lines, &Options { mode, today })
        .map_err(|e| CliError::input(e.code(), e.to_string()))?;
    serde_json::to_value(&m).map_err(|e| CliError::other("internal", e.to_string()))
}

/// `verity eval mrz --cases CASES.jsonl`: agreement with the peer parsers' expectations, per
/// source.
pub fn eval_mrz(cases: &Path, today: Option<&str>) -> Result<Value, CliError> {
    let text = std::fs::read_to_string(cases)
        .map_err(|e| CliError::input("file_unreadable", format!("cannot read {}: {e}", cases.display())))?;
    let today = match today {
        Some(s) => parse_date(s)?,
        None => self::today(),
    };
    let mut per_source: BTreeMap<String, [usize; 4]> = BTreeMap::new(); // cases, agree, decided, disagree
    let mut disagreements = Vec::new();
    let mut decided = Vec::new();
    for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let case: Value = serde_json::from_str(line)
            .map_err(|e| CliError::input("cases_bad_json", format!("line {}: {e}", n + 1)))?;
        let source = case["source"].as_str().unwrap_or("unknown").to_string();
        let e = per_source.entry(source).or_default();
        e[0] += 1;
        let id = case["id"].as_str().unwrap_or("?").to_string();
        match evaluate(&case, today) {
            Outcome::Agree => e[1] += 1,
            Outcome::Decided { decision, reason } => {
                e[2] += 1;
                decided.push(json!({"id": id, "decision": decision, "reason": reason}));
            }
            Outcome::Disagree { problems } => {
                e[3] += 1;
                disagreements.push(json!({"id": id, "problems": problems}));
            }
        }
    }
    for (source, [n, a, d, x]) in &per_source {
        eprintln!("{source}: {n} cases, {a} agree, {d} differ by recorded decision, {x} disagree");
    }
    let total: [usize; 4] =
        per_source.values().fold([0; 4], |t, v| [t[0] + v[0], t[1] + v[1], t[2] + v[2], t[3] + v[3]]);
    Ok(json!({
        "cases": total[0],
        "agree": total[1],
        "decided": total[2],
        "disagree": total[3],
        "agreement_rate": if total[0] > 0 { (total[1] + total[2]) as f64 / total[0] as f64 } else { 0.0 },
        "per_source": per_source.iter().map(|(s, v)| (s.clone(), json!({"cases": v[0], "agree": v[1], "decided": v[2], "disagree": v[3]}))).collect::<serde_json::Map<_, _>>(),
        "decisions": decided,
        "disagreements": disagreements,
        "today": today.iso(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_date_and_parse() {
        let t = today();
        assert!(t.year >= 2024 && (1..=12).contains(&t.month));
        assert_eq!(parse_date("2026-02-28").ok(), Date::new(2026, 2, 28));
        assert!(parse_date("2026-02-30").is_err());
        assert!(parse_date("yesterday").is_err());
    }
}
