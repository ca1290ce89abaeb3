//! CTC decoding restricted to an alphabet (the 37 MRZ symbols): the recogniser's classes that
//! look like a symbol (full-width forms, lower case, `〈` for `<`) are folded into it, spaces
//! count as blank, everything else is ignored. Each character keeps its probability and its
//! alternatives at the same time step, so corrections can come from the recogniser itself.

use serde::Serialize;

/// The MRZ alphabet.
pub const MRZ_SYMBOLS: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789<";

/// A character read, with its probability and the alternatives the recogniser saw at the same
/// step (probabilities among the alphabet's symbols, descending).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CharRead {
    pub ch: char,
    pub p: f32,
    pub alts: Vec<(char, f32)>,
    /// The time step it was read at (8 input columns each).
    #[serde(skip)]
    pub step: usize,
    /// Read outside the detected box (in the margin added at the line's ends).
    #[serde(skip)]
    pub margin: bool,
    /// Where it was read along the line: image pixels from the read box's centre, along its
    /// reading axis (set by the reader, which knows the crop's geometry).
    #[serde(skip)]
    pub u: f32,
}

/// A decoded line.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LineRead {
    pub text: String,
    pub chars: Vec<CharRead>,
    /// Mean character probability.
    pub confidence: f32,
}

/// Which recogniser classes fold into which symbol.
#[derive(Debug, Clone)]
pub struct Alphabet {
    pub symbols: Vec<char>,
    /// (class, symbol index); blank-like classes have index `usize::MAX`.
    folds: Vec<(usize, usize)>,
}

fn fold(c: char) -> Option<char> {
    let c = match c {
        'Ａ'..='Ｚ' => char::from_u32(c as u32 - 'Ａ' as u32 + 'A' as u32)?,
        'ａ'..='ｚ' => char::from_u32(c as u32 - 'ａ' as u32 + 'A' as u32)?,
        '０'..='９' => char::from_u32(c as u32 - '０' as u32 + '0' as u32)?,
        'a'..='z' => c.to_ascii_uppercase(),
        // Accented lower case to upper case (visual-zone text); never into ASCII, so that
        // look-alikes such as dotless `ı` or long `ſ` do not count as `I` or `S` in an MRZ.
        c if c.is_lowercase() => {
            let mut up = c.to_uppercase();
            match (up.next(), up.next()) {
                (Some(u), None) if !u.is_ascii() => u,
                _ => c,
            }
        }
        '〈' | '＜' | '‹' | '«' | 'く' => '<',
        c => c,
    };
    Some(c)
}

impl Alphabet {
    /// The alphabet `symbols` over the recogniser's `keys` (index 0 = blank).
    pub fn new(keys: &[String], symbols: &str) -> Self {
        let symbols: Vec<char> = symbols.chars().collect();
        let mut folds = Vec::new();
        for (k, key) in keys.iter().enumerate().skip(1) {
            let mut it = key.chars();
            let (Some(c), None) = (it.next(), it.next()) else { continue };
            if c == ' ' || c == '\u{3000}' {
                // A space is a symbol where the alphabet has one (visual-zone text), else blank.
                folds.push((k, symbols.iter().position(|s| *s == ' ').unwrap_or(usize::MAX)));
                continue;
            }
            if let Some(f) = fold(c) {
                if let Some(i) = symbols.iter().position(|s| *s == f) {
                    folds.push((k, i));
                }
            }
        }
        Self { symbols, folds }
    }

    /// The recogniser classes this alphabet reads (blank-like ones included).
    pub fn classes(&self) -> impl Iterator<Item = usize> + '_ {
        self.folds.iter().map(|&(k, _)| k)
    }

    /// Greedy CTC over the alphabet. `probs` is `steps × classes`.
    pub fn decode(&self, probs: &[f32], steps: usize, classes: usize) -> LineRead {
        let n = self.symbols.len();
        let mut chars: Vec<CharRead> = Vec::new();
        let mut prev: Option<usize> = None;
        let mut sym = vec![0f32; n];
        for t in 0..steps {
            let row = &probs[t * classes..(t + 1) * classes];
            sym.iter_mut().for_each(|v| *v = 0.0);
            let mut blank = row[0];
            for &(k, i) in &self.folds {
                if i == usize::MAX {
                    blank += row[k];
                } else {
                    sym[i] += row[k];
                }
            }
            let (best, pbest) =
                sym.iter().enumerate().fold((0, f32::MIN), |a, (i, &v)| if v > a.1 { (i, v) } else { a });
            if pbest <= blank {
                prev = None;
                continue;
            }
            let total: f32 = sym.iter().sum::<f32>().max(1e-12);
            let p = pbest / total;
            if prev == Some(best) {
                // The same character continues: keep its most confident step.
                if let Some(last) = chars.last_mut() {
                    if p > last.p {
                        last.p = p;
                        last.alts = alternatives(&self.symbols, &sym, total, best);
                    }
                }
                continue;
            }
            prev = Some(best);
            chars.push(CharRead {
                ch: self.symbols[best],
                p,
                alts: alternatives(&self.symbols, &sym, total, best),
                step: t,
                margin: false,
                u: 0.0,
            });
        }
        let text: String = chars.iter().map(|c| c.ch).collect();
        let confidence =
            if chars.is_empty() { 0.0 } else { chars.iter().map(|c| c.p).sum::<f32>() / chars.len() as f32 };
        LineRead { text, chars, confidence }
    }
}

fn alternatives(symbols: &[char], sym: &[f32], total: f32, best: usize) -> Vec<(char, f32)> {
    let mut v: Vec<(char, f32)> = sym
        .iter()
        .enumerate()
        .filter(|(i, p)| *i != best && **p / total >= 1e-6)
        .map(|(i, p)| (symbols[i], p / total))
        .collect();
    v.sort_by(|a, b| b.1.total_cmp(&a.1));
    v.truncate(5);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folded_classes_decode_to_mrz_symbols_with_alternatives() {
        let keys: Vec<String> =
            ["blank", "A", "Ａ", "0", "O", "<", "〈", " ", "中", "b"].iter().map(|s| s.to_string()).collect();
        let a = Alphabet::new(&keys, MRZ_SYMBOLS);
        let c = keys.len();
        let mut probs = Vec::new();
        let mut step = |v: &[(usize, f32)]| {
            let mut row = vec![0f32; c];
            for &(k, p) in v {
                row[k] = p;
            }
            probs.extend(row);
        };
        step(&[(1, 0.3), (2, 0.5), (0, 0.2)]); // A (half-width + full-width)
        step(&[(0, 0.9), (1, 0.1)]); // blank
        step(&[(4, 0.55), (3, 0.45)]); // O, 0 close behind
        step(&[(7, 0.8), (4, 0.2)]); // space = blank
        step(&[(5, 0.4), (6, 0.4), (8, 0.2)]); // < (both forms), a Chinese character ignored
        step(&[(6, 0.9)]); // still <: same character continues
        step(&[(0, 0.9)]);
        step(&[(6, 0.9)]); // after a blank: a new <
        step(&[(9, 0.9)]); // b folds to B
        let r = a.decode(&probs, 9, c);
        assert_eq!(r.text, "AO<<B");
        assert!((r.chars[1].p - 0.55).abs() < 1e-5);
        assert_eq!(r.chars[1].alts[0].0, '0');
        assert!((r.chars[1].alts[0].1 - 0.45).abs() < 1e-5);
    }
}
