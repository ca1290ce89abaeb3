//! Every case of `../shared/data/mrz/mrz_cases.jsonl` (two peer parsers' test suites) and every
//! vector of `check_digit_vectors.jsonl` runs here. Where a source's convention differs from
//! Verity's, the case stays and the decision is recorded in `verity_mrz::peer::DECISIONS` with
//! the reason; the case then checks that Verity behaves as recorded. Agreement per source is
//! printed.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::Value;
use verity_mrz::peer::{evaluate, Outcome};
use verity_mrz::{check_digit, Date};

fn shared() -> PathBuf {
    std::env::var_os("VERITY_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"))
}

fn jsonl(name: &str) -> Vec<Value> {
    let path = shared().join("data/mrz").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines().filter(|l| !l.trim().is_empty()).map(|l| serde_json::from_str(l).expect("json")).collect()
}

#[test]
fn peer_mrz_cases() {
    let cases = jsonl("mrz_cases.jsonl");
    assert!(cases.len() >= 70, "expected the whole peer suite");
    let today = Date { year: 2026, month: 11, day: 22 };
    let mut per_source: BTreeMap<String, (usize, usize, usize)> = BTreeMap::new();
    let mut failures = Vec::new();
    for case in &cases {
        let source = case["source"].as_str().unwrap_or("?").to_string();
        let e = per_source.entry(source).or_default();
        e.0 += 1;
        match evaluate(case, today) {
            Outcome::Agree => e.1 += 1,
            Outcome::Decided { .. } => e.2 += 1,
            Outcome::Disagree { problems } => {
                failures.push(format!("{} ({}): {}", case["id"], case["test"], problems.join("; ")))
            }
        }
    }
    for (source, (n, agree, decided)) in &per_source {
        println!("{source}: {n} cases, {agree} agree, {decided} differ by recorded decision");
    }
    assert!(failures.is_empty(), "{} cases disagree:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn peer_check_digit_vectors() {
    let vectors = jsonl("check_digit_vectors.jsonl");
    assert!(vectors.len() >= 33);
    let mut bad = Vec::new();
    for v in &vectors {
        let input = v["input"].as_str().unwrap_or("");
        let exp = &v["expected"];
        let given = exp["check_digit_given"].as_str().and_then(|s| s.chars().next());
        let computed = check_digit(input);
        if let Some(expected) =
            exp["check_digit"].as_u64().or_else(|| exp["check_digit"].as_str().and_then(|s| s.parse().ok()))
        {
            if computed != Some(expected as u8) {
                bad.push(format!("{input}: expected {expected}, got {computed:?}"));
            }
        }
        if let (Some(g), Some(valid)) = (given, exp["valid"].as_bool()) {
            let ok = computed.is_some_and(|d| g.to_digit(10) == Some(d as u32));
            if ok != valid {
                bad.push(format!("{input} given {g}: expected valid={valid}, got {ok}"));
            }
        }
    }
    println!("check digit vectors: {} run, {} disagree", vectors.len(), bad.len());
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}
