//! Outcomes and the one rule that combines them.
//!
//! Every signal, analysis and check ends `clear`, `attention` or `not_processed` (ComplyCube's
//! words). A check is made of parts; [`Outcome::combine`] is how parts become a whole, for every
//! check type and every API surface:
//!
//! 1. any part needs attention → **attention**;
//! 2. no part was processed (or there are none) → **not_processed**: nothing was verified;
//! 3. some parts were processed and others were not → **attention**: a partial verification is
//!    never reported as clear, and a person must look at what could not be assessed;
//! 4. every part clear → **clear**.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The outcome of a signal, an analysis or a check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Clear,
    Attention,
    NotProcessed,
}

impl Outcome {
    /// `clear` when `ok`, else `attention`.
    pub fn of(ok: bool) -> Self {
        if ok {
            Outcome::Clear
        } else {
            Outcome::Attention
        }
    }

    /// The combination rule (see the module documentation).
    pub fn combine(parts: impl IntoIterator<Item = Outcome>) -> Self {
        let (mut any, mut attention, mut processed, mut skipped) = (false, false, false, false);
        for p in parts {
            any = true;
            match p {
                Outcome::Attention => attention = true,
                Outcome::Clear => processed = true,
                Outcome::NotProcessed => skipped = true,
            }
        }
        if attention || (processed && skipped) {
            Outcome::Attention
        } else if !any || !processed {
            Outcome::NotProcessed
        } else {
            Outcome::Clear
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Clear => "clear",
            Outcome::Attention => "attention",
            Outcome::NotProcessed => "not_processed",
        }
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One analysis: named signals, each with its outcome, and the reasons for anything not clear.
/// Serialises as `{result, breakdown: {signal: outcome}, reasons}`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Analysis {
    pub signals: BTreeMap<&'static str, Outcome>,
    pub reasons: Vec<String>,
}

impl Analysis {
    pub fn new() -> Self {
        Self::default()
    }

    /// A signal that passed (`ok`) or needs attention, with the reason built only when needed.
    pub fn signal(&mut self, name: &'static str, ok: bool, why: impl FnOnce() -> String) {
        self.signals.insert(name, Outcome::of(ok));
        if !ok {
            self.reasons.push(why());
        }
    }

    /// A signal that could not be assessed, and why.
    pub fn skipped(&mut self, name: &'static str, why: &str) {
        self.signals.insert(name, Outcome::NotProcessed);
        self.reasons.push(why.to_string());
    }

    /// The analysis's outcome: its signals combined.
    pub fn result(&self) -> Outcome {
        Outcome::combine(self.signals.values().copied())
    }
}

impl Serialize for Analysis {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Analysis", 3)?;
        st.serialize_field("result", &self.result())?;
        st.serialize_field("breakdown", &self.signals)?;
        st.serialize_field("reasons", &self.reasons)?;
        st.end()
    }
}

#[cfg(test)]
mod tests {
    use super::Outcome::{self, *};

    #[test]
    fn the_combination_rule() {
        assert_eq!(Outcome::combine([]), NotProcessed);
        assert_eq!(Outcome::combine([Clear, Clear]), Clear);
        assert_eq!(Outcome::combine([Clear, Attention, NotProcessed]), Attention);
        assert_eq!(Outcome::combine([NotProcessed, NotProcessed]), NotProcessed);
        // Partly verified is not clear.
        assert_eq!(Outcome::combine([Clear, NotProcessed]), Attention);
        assert_eq!(serde_json::to_value(NotProcessed).ok(), Some(serde_json::json!("not_processed")));
    }
}
