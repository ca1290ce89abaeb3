//! One reading pass: text detection at one size, the MRZ band's lines recognised, interpreted
//! and corrected (see the steps in `read/mod.rs`).

use super::*;

impl DocumentEngine {
    /// Detects text lines on `img` fitted to [`DET_SIDE`]; returns them in original-image pixels.
    pub fn detect_lines(&self, img: &RgbImage) -> Result<Vec<LineBox>, DocumentError> {
        self.detect_lines_at(img, DET_SIDE)
    }

    /// Detects text lines on `img` fitted to `side` pixels.
    pub fn detect_lines_at(&self, img: &RgbImage, side: usize) -> Result<Vec<LineBox>, DocumentError> {
        let (w, h) = (img.width() as usize, img.height() as usize);
        let s = side as f32 / w.max(h) as f32;
        let (rw, rh) = (((w as f32 * s).round() as usize).max(1), ((h as f32 * s).round() as usize).max(1));
        // The smallest of the usual shapes that holds the image (also on ONNX Runtime, which
        // would take any: the padding below and right of a 4:3 photo helps the detector find
        // lines near the edge — 98 % vs 82 % exact on moderate synthetic photos without it).
        let shapes: &[(usize, usize)] = if side < DET_SIDE { &DET_SHAPES_FAST } else { &DET_SHAPES };
        let (bw, bh) = shapes
            .iter()
            .copied()
            .filter(|&(bw, bh)| bw >= rw && bh >= rh)
            .min_by_key(|&(bw, bh)| bw * bh)
            .unwrap_or((rw.div_ceil(32) * 32, rh.div_ceil(32) * 32));
        let t = Instant::now();
        let small = verity_imaging::resize(img, rw as u32, rh as u32);
        let t_resize = ms(t);
        let t = Instant::now();
        let map = self.det.run(&small, bw, bh)?;
        let t_det = ms(t);
        let t = Instant::now();
        let out = find_lines(&map, rw, rh, 1.0 / s);
        if debug() {
            eprintln!(
                "  [mrz] detect {w}x{h} -> {bw}x{bh}: resize {t_resize:.1} det {t_det:.1} lines {:.1}",
                ms(t)
            );
        }
        Ok(out)
    }

    /// Recognises lines; `tails[i]` extends line `i` at its reading end (pixels). Characters
    /// read outside the detected box are marked `margin`. A line already read in `cache` at the
    /// same place (the first pass's box, found again by the second) is not read again. Returns
    /// the reads and how many lines were recognised.
    pub(super) fn recognize(
        &self,
        img: &RgbImage,
        boxes: &[LineBox],
        tails: &[f32],
        cache: &mut ReadCache,
    ) -> Result<(Vec<LineRead>, usize), DocumentError> {
        // At most 800 columns (100 time steps, ~18 px per character of a 44-character line):
        // wider crops are squeezed, which the recogniser reads as well and faster.
        let max_w = REC_WIDTHS[REC_WIDTHS.len() - 1];
        let one = |(b, tail): (&LineBox, f32)| -> Result<LineRead, DocumentError> {
            // A little room at both ends: characters at a line's ends are often cut short.
            let margin = 0.4 * b.half_h;
            let half = b.half_len + margin + tail / 2.0;
            let ext =
                LineBox { half_len: half, cx: b.cx + b.ux * tail / 2.0, cy: b.cy + b.uy * tail / 2.0, ..*b };
            let t = Instant::now();
            let crop = crop_line(img, &ext, max_w);
            let t_crop = ms(t);
            let t = Instant::now();
            let out = self.rec.run(&crop)?;
            let t_rec = ms(t);
            let t = Instant::now();
            let mut read = self.mrz_alphabet.decode(&out.probs, out.steps, out.classes);
            if debug() {
                eprintln!(
                    "  [mrz] recognise {}: crop {t_crop:.1} rec {t_rec:.1} decode {:.1}",
                    crop.width(),
                    ms(t)
                );
            }
            // Which characters were read outside the box (their step's centre), and where.
            let w = crop.width() as f32;
            let (lo, hi) = (w * margin / (2.0 * half), w - w * (margin + tail) / (2.0 * half));
            for c in &mut read.chars {
                let x = (c.step as f32 + 0.5) * crate::ocr::REC_STRIDE as f32;
                c.margin = x < lo || x > hi;
                c.u = -half + x * 2.0 * half / w + tail / 2.0;
            }
            Ok(read)
        };
        let boxes: Vec<(&LineBox, f32)> =
            boxes.iter().zip(tails.iter().copied().chain(std::iter::repeat(0.0))).collect();
        let mut reads: Vec<Option<LineRead>> = boxes
            .iter()
            .map(|&(b, t)| {
                cache.iter().find(|(cb, ct, _)| same_place(b, t, cb, *ct)).map(|(.., r)| r.clone())
            })
            .collect();
        let todo: Vec<(&LineBox, f32)> =
            boxes.iter().zip(&reads).filter(|(_, r)| r.is_none()).map(|(b, _)| *b).collect();
        let fresh: Vec<LineRead> = if todo.len() == 1 {
            vec![one(todo[0])?]
        } else {
            // Two cores: the lines in parallel.
            std::thread::scope(|scope| {
                let handles: Vec<_> = todo.iter().map(|&b| scope.spawn(move || one(b))).collect();
                handles
                    .into_iter()
                    .map(|h| {
                        h.join()
                            .unwrap_or_else(|_| Err(DocumentError::Inference("recognition panicked".into())))
                    })
                    .collect::<Result<Vec<_>, _>>()
            })?
        };
        let n = fresh.len();
        cache.extend(todo.iter().zip(&fresh).map(|(&(b, t), r)| (*b, t, r.clone())));
        for (slot, r) in reads.iter_mut().filter(|r| r.is_none()).zip(fresh) {
            *slot = Some(r);
        }
        Ok((reads.into_iter().flatten().collect(), n))
    }

    pub(super) fn read_pass(
        &self,
        img: &RgbImage,
        today: Date,
        side: usize,
        thorough: bool,
        cache: &mut ReadCache,
    ) -> Result<MrzReading, DocumentError> {
        let t0 = Instant::now();
        let lines = self.detect_lines_at(img, side)?;
        let detect = ms(t0);
        let long_side = img.width().max(img.height()) as f32;
        let mut cands: Vec<LineBox> = lines
            .iter()
            .copied()
            .filter(|b| b.aspect() >= 6.0 && 2.0 * b.half_len >= 0.22 * long_side)
            .collect();
        cands.sort_by(|a, b| b.half_len.total_cmp(&a.half_len));
        // Enough that an MRZ is among them on a page of longer printed rows (grouping is cheap;
        // the groups tried are bounded).
        cands.truncate(32);
        if debug() {
            eprintln!(
                "  [mrz] {} lines, {} candidates, {} groups",
                lines.len(),
                cands.len(),
                groups(&cands).len()
            );
            for b in &lines {
                eprintln!(
                    "  [mrz] line c=({:.0},{:.0}) len={:.0} h={:.0} ang={:.1} score={:.2}",
                    b.cx,
                    b.cy,
                    2.0 * b.half_len,
                    2.0 * b.half_h,
                    b.angle_deg(),
                    b.score
                );
            }
        }
        let t1 = Instant::now();
        let mut recognized = 0usize;
        let mut best: Option<(usize, bool, MrzReading)> = None;
        let mut tries: Vec<Vec<LineBox>> = groups(&cands)
            .into_iter()
            .take(if thorough { MAX_GROUPS } else { 1 })
            .map(|g| same_extent(&g))
            .collect();
        // A long box as tall as two or three lines: the detector joined lines printed close
        // together (small or tilted photos). Try it split.
        for b in cands
            .iter()
            .filter(|b| 2.0 * b.half_len >= 0.4 * long_side && b.aspect() < 16.0)
            .take(if thorough { 2 } else { 0 })
        {
            // Two lines: also shifted by half a line up and down (the box may hold one line and
            // part of the other, as on a phone photo tilted 20°).
            for (n, shift) in [(2usize, 0.0f32), (2, -1.0), (2, -2.0), (2, 1.0), (3, 0.0)] {
                let (nx, ny) = b.normal();
                let h = b.half_h / n as f32;
                tries.push(
                    (0..n)
                        .map(|i| {
                            let off = -b.half_h + h * ((2 * i + 1) as f32 + shift);
                            LineBox { cx: b.cx + nx * off, cy: b.cy + ny * off, half_h: h * 1.15, ..*b }
                        })
                        .collect(),
                );
            }
        }
        // Groups tried after an MRZ-shaped read (some check digit passing) was found.
        let mut after_found = 0usize;
        let mut after_limit = 1usize;
        let mut pool: Vec<(LineBox, LineRead)> = Vec::new();
        'groups: for group in tries {
            if best.as_ref().is_some_and(|(pass, ..)| *pass > 0) {
                after_found += 1;
                if after_found > after_limit {
                    break;
                }
            }
            for flip in [false, true] {
                let boxes: Vec<LineBox> =
                    if flip { group.iter().rev().map(LineBox::flipped).collect() } else { group.clone() };
                let (mut reads, n) = self.recognize(img, &boxes, &[], cache)?;
                recognized += n;
                // Two lines that may be 36 or 44 long (trailing fillers unread, no composite digit
                // to tell): look past the box — fillers printed there are read, a blank is not.
                let mut known: Option<usize> = None;
                let ambiguous = self
                    .interpret(&reads, &boxes, today)
                    .is_some_and(|(.., r)| r.low_confidence_fields.iter().any(|f| f == "format"));
                if ambiguous {
                    if let Some((tails, _)) = forced_tails(&boxes, &reads, 44.0) {
                        let (longer, n) = self.recognize(img, &boxes, &tails, cache)?;
                        recognized += n;
                        let most = longer.iter().map(|r| r.chars.len()).max().unwrap_or(0);
                        if most >= 41 {
                            known = Some(44);
                            reads = longer;
                        } else if most <= 38 {
                            known = Some(36);
                        }
                    }
                }
                // Lines that may continue past their box (unread fillers): read again, longer —
                // if the read looks like MRZ text (a filler somewhere; text read the wrong way
                // up is digits and look-alikes, with no `<`).
                let first_ok = self.interpret(&reads, &boxes, today).is_some_and(|(_, valid, _)| valid);
                let mrz_like = reads.iter().any(|r| r.text.contains('<'));
                if !first_ok && mrz_like {
                    if let Some(tails) = tails_for(&boxes, &reads) {
                        let (longer, n) = self.recognize(img, &boxes, &tails, cache)?;
                        recognized += n;
                        let better = match (
                            self.interpret(&longer, &boxes, today),
                            self.interpret(&reads, &boxes, today),
                        ) {
                            (Some((p2, v2, _)), Some((p1, v1, _))) => (v2, p2) > (v1, p1),
                            (Some(_), None) => true,
                            _ => false,
                        };
                        if better {
                            reads = longer;
                        }
                    }
                }
                if debug() {
                    for (b, r) in boxes.iter().zip(&reads) {
                        eprintln!(
                            "  [mrz] flip={flip} box c=({:.0},{:.0}) len={:.0} h={:.0} ang={:.1} score={:.2}: {:?} conf {:.3}",
                            b.cx, b.cy, 2.0 * b.half_len, 2.0 * b.half_h, b.angle_deg(), b.score, r.text, r.confidence
                        );
                        let unsure: Vec<String> = r
                            .chars
                            .iter()
                            .enumerate()
                            .filter(|(_, c)| c.p < 0.98)
                            .map(|(i, c)| match c.alts.first() {
                                Some(a) => format!("{i}:{}{:.2}/{}{:.2}", c.ch, c.p, a.0, a.1),
                                None => format!("{i}:{}{:.2}", c.ch, c.p),
                            })
                            .collect();
                        eprintln!("  [mrz]   unsure {}", unsure.join(" "));
                    }
                }
                if !flip {
                    // Confident, MRZ-long single-line reads, for pairing across placements.
                    for (b, r) in boxes.iter().zip(&reads) {
                        if r.confidence >= 0.9
                            && r.chars.len() >= 28
                            && !pool.iter().any(|(_, x)| x.text == r.text)
                        {
                            pool.push((*b, r.clone()));
                        }
                    }
                }
                let mut interpreted = self.interpret_as(&reads, &boxes, today, known);
                // Not verified, MRZ-like: the MRZ may sit inside a longer line (words printed on
                // its baseline joined to it, read in place of its last fillers — the parser may
                // find nothing wrong with that). A verified window read wins.
                if mrz_like && !interpreted.as_ref().is_some_and(|r| r.2.valid) {
                    let (window, n) = self.read_window(img, &boxes, &reads, today, cache)?;
                    recognized += n;
                    if let Some(w) = window {
                        if interpreted.as_ref().is_none_or(|r| rank_of(&w.2) > rank_of(&r.2)) {
                            interpreted = Some(w);
                        }
                    }
                }
                if let Some((pass, valid, reading)) = interpreted {
                    let better = best
                        .as_ref()
                        .is_none_or(|(bp, bv, br)| rank(valid, pass, &reading) > rank(*bv, *bp, br));
                    if better {
                        best = Some((pass, valid, reading));
                    }
                    // Valid, or every check digit passes (the other errors are in the document
                    // as printed, e.g. a non-ICAO nationality) with every line read confidently:
                    // no other band will do better.
                    let all_checks = best
                        .as_ref()
                        .and_then(|(.., r)| r.mrz.as_ref())
                        .is_some_and(|m| m.checks.len() >= 2 && m.checks.iter().all(|c| c.valid));
                    let confident = best.as_ref().is_some_and(|(.., r)| weakest_line(r) >= 0.9);
                    if valid || (all_checks && confident) {
                        break 'groups;
                    }
                    if all_checks {
                        // A line without check digits (the names) read poorly: a few more
                        // placements of the band (split variants) may read it.
                        after_limit = 3;
                    }
                    // An MRZ read this way round, or a long line read confidently (upright text):
                    // no need to try it upside down.
                    let upright = !flip && reads.iter().any(|r| r.confidence >= 0.95 && r.chars.len() >= 28);
                    if pass > 0 || upright {
                        break;
                    }
                } else {
                    let mean = reads.iter().map(|r| r.confidence).sum::<f32>() / reads.len().max(1) as f32;
                    if mean > 0.9 && !flip {
                        // Confident text that is not an MRZ: not worth reading upside down.
                        break;
                    }
                }
            }
        }
        // Not valid: the lines may have been read well in different placements of the band (a
        // box holding one line and part of the other). Pair the confident line reads, in page
        // order, and keep a better interpretation. No new recognition.
        if !best.as_ref().is_some_and(|(_, v, _)| *v) && pool.len() >= 2 {
            for i in 0..pool.len() {
                for j in 0..pool.len() {
                    let (a, b) = (&pool[i], &pool[j]);
                    let gap = a.0.along_normal(&b.0) - a.0.along_normal(&a.0);
                    if i == j || gap < 1.2 * a.0.half_h {
                        continue;
                    }
                    let reads = [a.1.clone(), b.1.clone()];
                    let boxes = [a.0, b.0];
                    if let Some((pass, valid, reading)) = self.interpret_as(&reads, &boxes, today, None) {
                        if best
                            .as_ref()
                            .is_none_or(|(bp, bv, br)| rank(valid, pass, &reading) > rank(*bv, *bp, br))
                        {
                            best = Some((pass, valid, reading));
                        }
                    }
                }
            }
        }
        let recognize = ms(t1);
        let mut reading = match best {
            Some((.., r)) => r,
            None => MrzReading {
                found: false,
                valid: false,
                low_confidence_fields: vec![],
                unchecked_min_p: 0.0,
                lines: vec![],
                raw_lines: vec![],
                corrections: vec![],
                char_confidences: vec![],
                confidence: 0.0,
                mrz: None,
                boxes: vec![],
                angle_deg: 0.0,
                mrz_boxes: vec![],
                detected: vec![],
                detected_at: side,
                lines_detected: 0,
                lines_recognized: 0,
                passes: 1,
                timings_ms: Timings::default(),
            },
        };
        reading.lines_detected = lines.len();
        reading.detected = lines;
        reading.detected_at = side;
        reading.lines_recognized = recognized;
        reading.timings_ms = Timings { detect, recognize, total: ms(t0) };
        Ok(reading)
    }

    /// Turns a group's reads into an MRZ reading, if the text has an MRZ's shape.
    pub(super) fn interpret(
        &self,
        reads: &[LineRead],
        boxes: &[LineBox],
        today: Date,
    ) -> Option<(usize, bool, MrzReading)> {
        self.interpret_as(reads, boxes, today, None)
    }

    /// As [`DocumentEngine::interpret`]; `known` fixes the length of two-line MRZs (36 or 44)
    /// when a longer read has settled it.
    pub(super) fn interpret_as(
        &self,
        reads: &[LineRead],
        boxes: &[LineBox],
        today: Date,
        known: Option<usize>,
    ) -> Option<(usize, bool, MrzReading)> {
        let raw: Vec<ReadLine> = reads.iter().map(|r| ReadLine { chars: r.chars.clone() }).collect();
        let mrz_like = |r: &ReadLine| r.chars.len() >= 24;
        // The group may hold a line above the MRZ: try the 3- and 2-line windows that look right.
        let mut options: Vec<(usize, usize)> = Vec::new();
        for n in [3usize, 2] {
            for s in 0..raw.len().saturating_sub(n - 1) {
                if raw[s..s + n].iter().all(mrz_like) && raw[s..s + n].iter().any(|l| l.text().contains("<<"))
                {
                    options.push((s, n));
                }
            }
        }
        let mut best: Option<(usize, bool, MrzReading)> = None;
        for (s, n) in options {
            let window = &raw[s..s + n];
            let lens: Vec<usize> = window.iter().map(|l| l.chars.len()).collect();
            let Some(target) = (if n == 2 { known } else { None }).or_else(|| target_length(n, &lens)) else {
                continue;
            };
            // Characters read in the margins beyond a box are kept only when the line needs
            // them to reach the format's length.
            let fit_window = |target: usize, fixes: &mut Vec<Correction>| -> Option<Vec<ReadLine>> {
                window
                    .iter()
                    .enumerate()
                    .map(|(i, l)| {
                        let core =
                            ReadLine { chars: l.chars.iter().filter(|c| !c.margin).cloned().collect() };
                        let mut f1 = Vec::new();
                        if let Some(x) = fit(&core, target, i, &mut f1) {
                            fixes.extend(f1);
                            return Some(x);
                        }
                        fit(l, target, i, fixes)
                    })
                    .collect()
            };
            let mut fixes = Vec::new();
            let Some(mut fitted) = fit_window(target, &mut fixes) else { continue };
            // Two lines whose trailing fillers went unread may be 36 or 44 long (MRV-B or
            // MRV-A carry no composite digit to tell): if the other length parses as well, the
            // format is not certain.
            let other_fits = n == 2 && known.is_none() && {
                let other = if target == 36 { 44 } else { 36 };
                let f: Option<Vec<ReadLine>> = fitted
                    .iter()
                    .enumerate()
                    .map(|(i, l)| {
                        // From the fitted line, without its padding: only unread trailing fillers.
                        let core = ReadLine {
                            chars: l.chars.iter().filter(|c| c.p > 0.0 || c.ch != '<').cloned().collect(),
                        };
                        fit_with(&core, other, i, &mut Vec::new(), true)
                    })
                    .collect();
                f.and_then(|f| parse(&f, today)).is_some_and(|m| m.valid)
            };
            let Some(m) = correct(&mut fitted, today, &mut fixes) else { continue };
            let (pass, valid) = score(&m);
            let conf: Vec<Vec<f32>> = fitted.iter().map(|l| l.chars.iter().map(|c| c.p).collect()).collect();
            let all: Vec<f32> = conf.iter().flatten().copied().collect();
            let b0 = &boxes[s];
            // Positions validated otherwise: corrected into a known country code.
            let validated = |line: usize, p: usize| {
                fixes.iter().any(|x| {
                    x.line == line
                        && x.position == p
                        && (x.reason == "field_kind:issuing_state" || x.reason == "field_kind:nationality")
                })
            };
            let (mut low, unchecked_min_p) = unsure_fields(&m, &fitted, validated);
            for name in moved_unchecked(&m, &fitted, &fixes) {
                if !low.contains(&name) {
                    low.push(name);
                }
            }
            if other_fits {
                low.push("format".into());
            }
            let reading = MrzReading {
                found: true,
                valid: m.valid && low.is_empty(),
                low_confidence_fields: low,
                unchecked_min_p,
                lines: fitted.iter().map(ReadLine::text).collect(),
                raw_lines: window.iter().map(ReadLine::text).collect(),
                corrections: fixes,
                confidence: all.iter().sum::<f32>() / all.len().max(1) as f32,
                char_confidences: conf,
                mrz: Some(m),
                boxes: boxes[s..s + n].iter().map(LineBox::corners).collect(),
                angle_deg: b0.angle_deg(),
                mrz_boxes: boxes[s..s + n].to_vec(),
                detected: vec![],
                detected_at: 0,
                lines_detected: 0,
                lines_recognized: 0,
                passes: 1,
                timings_ms: Timings::default(),
            };
            if best.as_ref().is_none_or(|(bp, bv, _)| (valid, pass) > (*bv, *bp)) {
                best = Some((pass, valid, reading));
            }
        }
        best
    }
}
