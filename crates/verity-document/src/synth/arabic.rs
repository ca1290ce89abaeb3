//! Arabic text for the synthetic cards, shaped without a shaping engine: each letter takes its
//! contextual form (isolated, final, initial, medial) from Unicode's Arabic Presentation
//! Forms-B, lām-alif becomes its ligature, and the line is reversed into visual order (the
//! renderer draws left to right). Enough for names, places and addresses; no vowel marks.

/// Letters U+0621–U+063A and U+0641–U+064A in code-point order, each with how many forms it
/// has in Presentation Forms-B (from U+FE80, in the same order): 4 joins on both sides, 2 joins
/// only the letter before it, 1 joins nothing.
const FORMS: &[(char, u8)] = &[
    ('\u{621}', 1),
    ('\u{622}', 2),
    ('\u{623}', 2),
    ('\u{624}', 2),
    ('\u{625}', 2),
    ('\u{626}', 4),
    ('\u{627}', 2),
    ('\u{628}', 4),
    ('\u{629}', 2),
    ('\u{62A}', 4),
    ('\u{62B}', 4),
    ('\u{62C}', 4),
    ('\u{62D}', 4),
    ('\u{62E}', 4),
    ('\u{62F}', 2),
    ('\u{630}', 2),
    ('\u{631}', 2),
    ('\u{632}', 2),
    ('\u{633}', 4),
    ('\u{634}', 4),
    ('\u{635}', 4),
    ('\u{636}', 4),
    ('\u{637}', 4),
    ('\u{638}', 4),
    ('\u{639}', 4),
    ('\u{63A}', 4),
    ('\u{641}', 4),
    ('\u{642}', 4),
    ('\u{643}', 4),
    ('\u{644}', 4),
    ('\u{645}', 4),
    ('\u{646}', 4),
    ('\u{647}', 4),
    ('\u{648}', 2),
    ('\u{649}', 2),
    ('\u{64A}', 4),
];

/// The letter's first presentation form and its form count.
fn forms(c: char) -> Option<(u32, u8)> {
    let mut base = 0xFE80u32;
    for (l, n) in FORMS {
        if *l == c {
            return Some((base, *n));
        }
        base += u32::from(*n);
    }
    None
}

/// The line in visual order with contextual forms.
pub fn shape(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out: Vec<char> = Vec::with_capacity(chars.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let Some((base, n)) = forms(c) else {
            out.push(c);
            i += 1;
            continue;
        };
        // Joined to the letter before when that one joins forward (a dual-joining letter).
        let after_joiner = i > 0 && forms(chars[i - 1]).is_some_and(|(_, m)| m == 4) && !out.is_empty();
        let next_letter = chars.get(i + 1).is_some_and(|d| forms(*d).is_some());
        // Lām followed by alif: one ligature (isolated U+FEFB, final U+FEFC).
        if c == '\u{644}' && chars.get(i + 1) == Some(&'\u{627}') {
            out.push(char::from_u32(if after_joiner { 0xFEFC } else { 0xFEFB }).unwrap_or(c));
            i += 2;
            continue;
        }
        let form = match (n, after_joiner, next_letter) {
            (1, _, _) => 0,
            (2, true, _) => 1,
            (2, false, _) => 0,
            (_, false, false) => 0,
            (_, true, false) => 1,
            (_, false, true) => 2,
            (_, true, true) => 3,
        };
        out.push(char::from_u32(base + form).unwrap_or(c));
        i += 1;
    }
    out.reverse();
    // Digits and Latin runs read left to right inside the reversed line.
    let mut fixed = String::with_capacity(out.len());
    let mut run = String::new();
    for c in out {
        if c.is_ascii_alphanumeric() {
            run.push(c);
        } else {
            fixed.extend(run.chars().rev());
            run.clear();
            fixed.push(c);
        }
    }
    fixed.extend(run.chars().rev());
    fixed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letters_take_their_contextual_forms_in_visual_order() {
        // محمد: mīm initial, ḥā' medial, mīm medial, dāl final — reversed for drawing.
        assert_eq!(shape("محمد"), "\u{FEAA}\u{FEE4}\u{FEA4}\u{FEE3}");
        // A right-joining letter (alif) breaks the word: أحمد = alif isolated, ḥā' initial, …
        assert_eq!(shape("أحمد"), "\u{FEAA}\u{FEE4}\u{FEA3}\u{FE83}");
        // lām-alif ligature, and digits keep their order.
        assert_eq!(shape("لا 12"), "12 \u{FEFB}");
    }
}
