//! The arithmetic of alternating rounds: which order the systems run in each round, and how a
//! cell's samples (one per round) and its ratios to the floor (paired by round) are summarised.
//!
//! A single measurement on a shared machine moves by 10–30% between runs, so no figure in the
//! table comes from one: every system is measured once per round, the order rotates so that no
//! system always runs first (or right after the same neighbour), and a ratio is taken within
//! each round (both sides measured minutes apart at most) before it is summarised.

/// `items` rotated left by `round`: over `items.len()` consecutive rounds every item runs in
/// every position once.
pub fn rotated<T: Clone>(items: &[T], round: usize) -> Vec<T> {
    if items.is_empty() {
        return Vec::new();
    }
    let k = round % items.len();
    items[k..].iter().chain(&items[..k]).cloned().collect()
}

/// Median and range of a set of samples.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Spread {
    /// The middle sample (the mean of the two middle ones for an even count).
    pub median: f64,
    /// The smallest sample.
    pub min: f64,
    /// The largest sample.
    pub max: f64,
    /// How many samples.
    pub n: usize,
}

/// Summarise `xs`; `None` when there are none. NaNs are ignored.
pub fn spread(xs: &[f64]) -> Option<Spread> {
    let mut v: Vec<f64> = xs.iter().copied().filter(|x| !x.is_nan()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let median = if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    };
    Some(Spread {
        median,
        min: v[0],
        max: v[n - 1],
        n,
    })
}

/// `a / b` for every round in which both were measured (samples are `(round, value)`), in
/// round order. Rounds where `b` is zero are skipped.
pub fn paired_ratios(a: &[(usize, f64)], b: &[(usize, f64)]) -> Vec<f64> {
    let mut out: Vec<(usize, f64)> = a
        .iter()
        .filter_map(|&(round, x)| {
            let &(_, y) = b.iter().find(|(r, _)| *r == round)?;
            (y != 0.0).then_some((round, x / y))
        })
        .collect();
    out.sort_by_key(|(r, _)| *r);
    out.into_iter().map(|(_, x)| x).collect()
}

/// Instructions per operation from two callgrind totals: a run with `ops` operations and a
/// baseline run of the same program with none, so startup and teardown cancel out.
pub fn per_op(total_ir: u64, baseline_ir: u64, ops: u64) -> Option<f64> {
    (ops > 0 && total_ir >= baseline_ir).then(|| (total_ir - baseline_ir) as f64 / ops as f64)
}
