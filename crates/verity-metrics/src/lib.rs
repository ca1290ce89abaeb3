//! Evaluation metrics for biometric verification and presentation-attack detection.
//!
//! Conventions: a *score* is higher for "genuine" (same person, or live). A sample is accepted
//! when `score >= threshold`.

use serde::Serialize;

/// One scored, labelled sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scored {
    pub score: f64,
    /// true = genuine pair (or bona fide presentation).
    pub genuine: bool,
}

/// A point of the ROC curve.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RocPoint {
    pub threshold: f64,
    /// False accept rate: impostors accepted / impostors.
    pub far: f64,
    /// True accept rate: genuine accepted / genuine.
    pub tar: f64,
}

/// Counts at a threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
pub struct Confusion {
    pub true_accept: usize,
    pub false_reject: usize,
    pub true_reject: usize,
    pub false_accept: usize,
}

impl Confusion {
    pub fn at(samples: &[Scored], threshold: f64) -> Self {
        let mut c = Confusion::default();
        for s in samples {
            match (s.genuine, s.score >= threshold) {
                (true, true) => c.true_accept += 1,
                (true, false) => c.false_reject += 1,
                (false, false) => c.true_reject += 1,
                (false, true) => c.false_accept += 1,
            }
        }
        c
    }
    pub fn total(&self) -> usize {
        self.true_accept + self.false_reject + self.true_reject + self.false_accept
    }
    pub fn accuracy(&self) -> f64 {
        ratio(self.true_accept + self.true_reject, self.total())
    }
    /// False accept rate (for PAD: APCER, attacks accepted as live).
    pub fn far(&self) -> f64 {
        ratio(self.false_accept, self.false_accept + self.true_reject)
    }
    /// False reject rate (for PAD: BPCER, live rejected).
    pub fn frr(&self) -> f64 {
        ratio(self.false_reject, self.false_reject + self.true_accept)
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

/// Area under the ROC curve: the probability that a genuine sample scores above an impostor
/// (ties count one half). 0.5 when a class is empty.
pub fn auc(samples: &[Scored]) -> f64 {
    let mut v: Vec<&Scored> = samples.iter().collect();
    v.sort_by(|a, b| a.score.total_cmp(&b.score));
    let n_pos = v.iter().filter(|s| s.genuine).count() as f64;
    let n_neg = v.len() as f64 - n_pos;
    if n_pos == 0.0 || n_neg == 0.0 {
        return 0.5;
    }
    // Rank-sum with average ranks for ties.
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < v.len() {
        let mut j = i;
        while j + 1 < v.len() && v[j + 1].score == v[i].score {
            j += 1;
        }
        let avg_rank = (i + j) as f64 / 2.0 + 1.0;
        rank_sum += avg_rank * v[i..=j].iter().filter(|s| s.genuine).count() as f64;
        i = j + 1;
    }
    (rank_sum - n_pos * (n_pos + 1.0) / 2.0) / (n_pos * n_neg)
}

/// The ROC curve, one point per distinct score (threshold = that score), from the strictest
/// threshold to the loosest, starting at (far 0, tar 0).
pub fn roc(samples: &[Scored]) -> Vec<RocPoint> {
    let mut v: Vec<Scored> = samples.to_vec();
    v.sort_by(|a, b| b.score.total_cmp(&a.score));
    let n_pos = v.iter().filter(|s| s.genuine).count();
    let n_neg = v.len() - n_pos;
    let mut pts = vec![RocPoint { threshold: f64::INFINITY, far: 0.0, tar: 0.0 }];
    let (mut tp, mut fp) = (0usize, 0usize);
    let mut i = 0;
    while i < v.len() {
        let t = v[i].score;
        while i < v.len() && v[i].score == t {
            if v[i].genuine {
                tp += 1
            } else {
                fp += 1
            }
            i += 1;
        }
        pts.push(RocPoint { threshold: t, far: ratio(fp, n_neg), tar: ratio(tp, n_pos) });
    }
    pts
}

/// Highest TAR with FAR ≤ `far`, and the threshold that gives it.
pub fn tar_at_far(samples: &[Scored], far: f64) -> (f64, f64) {
    roc(samples)
        .into_iter()
        .filter(|p| p.far <= far + 1e-12)
        .map(|p| (p.tar, p.threshold))
        .fold((0.0, f64::INFINITY), |best, cur| if cur.0 > best.0 { cur } else { best })
}

/// Equal error rate (where FAR = FRR), linearly interpolated between ROC points, and the
/// threshold nearest to it.
pub fn eer(samples: &[Scored]) -> (f64, f64) {
    let pts = roc(samples);
    let mut prev = pts[0];
    for p in pts.iter().skip(1) {
        let frr_prev = 1.0 - prev.tar;
        let frr = 1.0 - p.tar;
        // d = FAR - FRR goes from negative (strict) to positive (loose).
        let d_prev = prev.far - frr_prev;
        let d = p.far - frr;
        if d >= 0.0 {
            let w = if (d - d_prev).abs() < 1e-15 { 0.0 } else { -d_prev / (d - d_prev) };
            let e = prev.far + w * (p.far - prev.far);
            return (e, p.threshold);
        }
        prev = *p;
    }
    (0.5, f64::NAN)
}

/// The threshold that maximises accuracy on `samples` (midway between neighbouring scores), and
/// that accuracy.
pub fn best_threshold(samples: &[Scored]) -> (f64, f64) {
    let mut scores: Vec<f64> = samples.iter().map(|s| s.score).collect();
    scores.sort_by(f64::total_cmp);
    scores.dedup();
    let mut cands = Vec::with_capacity(scores.len() + 1);
    if let Some(first) = scores.first() {
        cands.push(first - 1e-6);
    }
    for w in scores.windows(2) {
        cands.push((w[0] + w[1]) / 2.0);
    }
    if let Some(last) = scores.last() {
        cands.push(last + 1e-6);
    }
    // Sweep: count accepted genuine / impostors above each candidate.
    let mut sorted: Vec<Scored> = samples.to_vec();
    sorted.sort_by(|a, b| a.score.total_cmp(&b.score));
    let n = sorted.len();
    let n_pos = sorted.iter().filter(|s| s.genuine).count();
    let mut best = (f64::NAN, -1.0);
    let (mut idx, mut pos_below, mut neg_below) = (0usize, 0usize, 0usize);
    for t in cands {
        while idx < n && sorted[idx].score < t {
            if sorted[idx].genuine {
                pos_below += 1
            } else {
                neg_below += 1
            }
            idx += 1;
        }
        let correct = (n_pos - pos_below) + neg_below;
        let acc = ratio(correct, n);
        if acc > best.1 {
            best = (t, acc);
        }
    }
    best
}

/// k-fold cross-validated accuracy: for each fold, the threshold is chosen on the other folds
/// and applied to it (samples are assigned to folds in order, as LFW's protocol does).
/// Returns (mean accuracy, standard deviation across folds).
pub fn cross_validated_accuracy(samples: &[Scored], k: usize) -> (f64, f64) {
    let k = k.clamp(2, samples.len().max(2));
    let fold_of = |i: usize| i * k / samples.len().max(1);
    let mut accs = Vec::with_capacity(k);
    for f in 0..k {
        let train: Vec<Scored> =
            samples.iter().enumerate().filter(|(i, _)| fold_of(*i) != f).map(|(_, s)| *s).collect();
        let test: Vec<Scored> =
            samples.iter().enumerate().filter(|(i, _)| fold_of(*i) == f).map(|(_, s)| *s).collect();
        if test.is_empty() {
            continue;
        }
        let (t, _) = best_threshold(&train);
        accs.push(Confusion::at(&test, t).accuracy());
    }
    let n = accs.len().max(1) as f64;
    let mean = accs.iter().sum::<f64>() / n;
    let var = accs.iter().map(|a| (a - mean).powi(2)).sum::<f64>() / n;
    (mean, var.sqrt())
}

/// An SVG drawing of the ROC curve (FAR on a log axis from 1e-3 to 1, TAR linear).
pub fn roc_svg(samples: &[Scored], title: &str, marker_threshold: Option<f64>) -> String {
    let pts = roc(samples);
    let (w, h, m) = (520.0, 420.0, 50.0);
    let x_of = |far: f64| {
        let lf = far.max(1e-3).log10(); // -3..0
        m + (lf + 3.0) / 3.0 * (w - 2.0 * m)
    };
    let y_of = |tar: f64| h - m - tar * (h - 2.0 * m);
    let mut path = String::new();
    for (i, p) in pts.iter().enumerate() {
        let cmd = if i == 0 { 'M' } else { 'L' };
        path.push_str(&format!("{cmd}{:.1},{:.1} ", x_of(p.far), y_of(p.tar)));
    }
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" font-family=\"sans-serif\" font-size=\"12\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"{}\" y=\"20\" text-anchor=\"middle\" font-size=\"14\">{}</text>\n",
        w / 2.0,
        xml_escape(title)
    );
    for (far, label) in [(1e-3, "0.001"), (1e-2, "0.01"), (1e-1, "0.1"), (1.0, "1")] {
        let x = x_of(far);
        s.push_str(&format!(
            "<line x1=\"{x:.1}\" y1=\"{m}\" x2=\"{x:.1}\" y2=\"{}\" stroke=\"#ddd\"/><text x=\"{x:.1}\" y=\"{}\" text-anchor=\"middle\">{label}</text>\n",
            h - m,
            h - m + 16.0
        ));
    }
    for i in 0..=5 {
        let tar = i as f64 / 5.0;
        let y = y_of(tar);
        s.push_str(&format!(
            "<line x1=\"{m}\" y1=\"{y:.1}\" x2=\"{}\" y2=\"{y:.1}\" stroke=\"#ddd\"/><text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{tar:.1}</text>\n",
            w - m,
            m - 6.0,
            y + 4.0
        ));
    }
    s.push_str(&format!(
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">false accept rate (log)</text>\n\
         <text x=\"14\" y=\"{}\" text-anchor=\"middle\" transform=\"rotate(-90 14 {})\">true accept rate</text>\n\
         <path d=\"{path}\" fill=\"none\" stroke=\"#1f5fbf\" stroke-width=\"2\"/>\n",
        w / 2.0,
        h - 12.0,
        h / 2.0,
        h / 2.0
    ));
    if let Some(t) = marker_threshold {
        let c = Confusion::at(samples, t);
        s.push_str(&format!(
            "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"5\" fill=\"#d33\"/><text x=\"{:.1}\" y=\"{:.1}\">threshold {t:.3}</text>\n",
            x_of(c.far()),
            y_of(1.0 - c.frr()),
            x_of(c.far()) + 8.0,
            y_of(1.0 - c.frr()) + 16.0
        ));
    }
    s.push_str("</svg>\n");
    s
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// Percentile (nearest rank, p in 0..=100) of a list of values.
pub fn percentile(values: &[f64], p: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * v.len() as f64).ceil().max(1.0) as usize;
    v[rank.min(v.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(score: f64, genuine: bool) -> Scored {
        Scored { score, genuine }
    }

    #[test]
    fn perfect_separation() {
        let v = vec![s(0.9, true), s(0.8, true), s(0.2, false), s(0.1, false)];
        assert_eq!(auc(&v), 1.0);
        assert_eq!(eer(&v).0, 0.0);
        let (t, acc) = best_threshold(&v);
        assert_eq!(acc, 1.0);
        assert!(t > 0.2 && t < 0.8);
        assert_eq!(tar_at_far(&v, 0.0).0, 1.0);
    }

    #[test]
    fn known_auc_with_ties_and_overlap() {
        // Pairs (pos, neg): 0.8>0.5, 0.8>0.3, 0.5=0.5 (1/2), 0.5>0.3 → 3.5/4.
        let v = vec![s(0.8, true), s(0.5, true), s(0.5, false), s(0.3, false)];
        assert!((auc(&v) - 0.875).abs() < 1e-12);
        let c = Confusion::at(&v, 0.5);
        assert_eq!(c, Confusion { true_accept: 2, false_reject: 0, true_reject: 1, false_accept: 1 });
        assert_eq!(c.far(), 0.5);
    }

    #[test]
    fn eer_is_where_far_meets_frr() {
        // Genuine at 1..=10, impostors at −3.5..=5.5: at threshold 3.5, FRR = 3/10 (1, 2, 3)
        // and FAR = 3/10 (3.5, 4.5, 5.5).
        let mut v = Vec::new();
        for i in 1..=10 {
            v.push(s(i as f64, true));
            v.push(s(i as f64 - 4.5, false));
        }
        let (e, t) = eer(&v);
        assert!((e - 0.3).abs() < 1e-9, "eer {e}");
        let c = Confusion::at(&v, t);
        assert!((c.far() - 0.3).abs() < 0.11 && (c.frr() - 0.3).abs() < 0.11, "{c:?} at {t}");
    }

    #[test]
    fn cross_validation_on_separable_data_is_perfect() {
        let v: Vec<Scored> = (0..100).map(|i| s(if i % 2 == 0 { 0.9 } else { 0.1 }, i % 2 == 0)).collect();
        assert_eq!(cross_validated_accuracy(&v, 10).0, 1.0);
    }

    #[test]
    fn svg_is_well_formed_enough() {
        let v = vec![s(0.9, true), s(0.2, false)];
        let svg = roc_svg(&v, "a < b", Some(0.5));
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert!(svg.contains("a &lt; b"));
    }

    proptest::proptest! {
        #[test]
        fn auc_is_a_probability(scores in proptest::collection::vec((0.0f64..1.0, proptest::bool::ANY), 1..200)) {
            let v: Vec<Scored> = scores.iter().map(|&(a, g)| s(a, g)).collect();
            let a = auc(&v);
            proptest::prop_assert!((0.0..=1.0).contains(&a));
            let (_, acc) = best_threshold(&v);
            proptest::prop_assert!((0.0..=1.0).contains(&acc));
            let (e, _) = eer(&v);
            proptest::prop_assert!((0.0..=1.0).contains(&e));
        }
    }
}
