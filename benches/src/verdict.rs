//! The targets of issues 8 and 15 checked against a run. Every ratio target is decided on the
//! median of the per-round ratios ([`crate::stats::paired_ratios`]), and the range is printed
//! beside it so that a verdict resting on a noisy cell can be seen as such. Where callgrind
//! counted the operation, its instruction ratio stands beside the timings and must meet the
//! target too.

use crate::report::{Results, show_ratio};
use std::fmt::Write as _;

/// Whether a target was met, with the figures that decide it.
pub struct Verdict {
    /// The target as the issue states it.
    pub target: String,
    /// The measured figures.
    pub measured: String,
    /// `Some(true)` met, `Some(false)` missed, `None` not measured.
    pub met: Option<bool>,
    /// Where the timings and the instruction counts disagree, which of them missed.
    pub split: Option<&'static str>,
}

/// The key of an attach figure in [`Results::extra`].
pub fn attach_key(via: &str, flavor: &str, n: u64, field: &str) -> String {
    format!("attach/{via}/{flavor}/{n}/{field}")
}

/// Attach configurations the table reports: (via, N).
pub const ATTACH_VIAS: [&str; 3] = ["observe", "endpoint", "kameo-console"];

/// Check a ratio target on `rows`, both flavors: `a / b` per round, median at most `limit`;
/// and, for each callgrind operation in `ir_ops`, `a / b` in instructions at most `limit` too.
/// A target is met only when the timings and the instruction counts both say so: a timed
/// median can flatter (a noisy floor, a scheduler effect), the instruction count cannot.
fn ratio_target(
    r: &Results,
    target: String,
    rows: &[&str],
    (a, b): (&str, &str),
    limit: f64,
    ir_ops: &[&str],
) -> Verdict {
    let mut parts = Vec::new();
    let mut ok = Vec::new();
    for row in rows {
        for fl in ["ct", "mt"] {
            if let Some(s) = r.ratio(row, fl, a, b) {
                parts.push(format!("{row} {fl} {}", show_ratio(&s)));
                ok.push(s.median <= limit);
            }
        }
    }
    let ir = |op: &str, sys: &str| r.ir.get(&(op.to_string(), sys.to_string())).copied();
    let mut ir_ok = Vec::new();
    for op in ir_ops {
        if let (Some(x), Some(y)) = (ir(op, a), ir(op, b))
            && y > 0.0
        {
            parts.push(format!("instructions {op} ct {:.2}×", x / y));
            ir_ok.push(x / y <= limit);
        }
    }
    let all = |v: &[bool]| v.iter().all(|x| *x);
    let split = match (ok.is_empty() || ir_ok.is_empty(), all(&ok), all(&ir_ok)) {
        (false, true, false) => Some("met in time, missed in instructions"),
        (false, false, true) => Some("missed in time, met in instructions"),
        _ => None,
    };
    ok.extend(ir_ok);
    Verdict {
        target,
        measured: parts.join(", "),
        met: (!ok.is_empty()).then(|| ok.iter().all(|x| *x)),
        split,
    }
}

/// Check a limit on figures measured once, selected by name.
fn extra_target(
    r: &Results,
    target: &str,
    figures: &[(String, String)],
    show: impl Fn(f64) -> String,
    ok: impl Fn(f64) -> bool,
) -> Verdict {
    let got: Vec<_> = figures
        .iter()
        .filter_map(|(label, k)| Some((label, r.extra(k)?)))
        .collect();
    Verdict {
        target: target.into(),
        measured: got
            .iter()
            .map(|(l, x)| format!("{l} {}", show(*x)))
            .collect::<Vec<_>>()
            .join(", "),
        met: (!got.is_empty()).then(|| got.iter().all(|(_, x)| ok(*x))),
        split: None,
    }
}

/// Attach figures of Beamline `vias` at every N measured, labelled `via fl N`.
fn attach_figures(vias: &[&str], ns: &[u64], field: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for via in vias {
        for fl in ["ct", "mt"] {
            for &n in ns {
                out.push((
                    format!("{via} {fl} {}", short(n)),
                    attach_key(via, fl, n, field),
                ));
            }
        }
    }
    out
}

/// `100k`, `1M`.
pub fn short(n: u64) -> String {
    if n >= 1_000_000 && n.is_multiple_of(1_000_000) {
        format!("{}M", n / 1_000_000)
    } else {
        format!("{}k", n / 1000)
    }
}

/// Check every target against `r`; `attach_ns` are the N the attach workload ran at.
pub fn verdicts(r: &Results, attach_ns: &[u64]) -> Vec<Verdict> {
    let mut v = vec![
        ratio_target(
            r,
            "cast ≤ 1.3× raw tokio".into(),
            &["cast_1to1", "cast_4to1"],
            ("beamline", "tokio"),
            1.3,
            &["cast"],
        ),
        ratio_target(
            r,
            "cast faster than actix".into(),
            &["cast_1to1", "cast_4to1"],
            ("beamline", "actix"),
            1.0,
            &[],
        ),
        ratio_target(
            r,
            "call ≤ 1.5× raw tokio".into(),
            &["call_seq", "call_100"],
            ("beamline", "tokio"),
            1.5,
            &["call"],
        ),
        ratio_target(
            r,
            "instrumented vs off ≤ 5% on every cast and call row".into(),
            &["cast_1to1", "cast_4to1", "call_seq", "call_100"],
            ("beamline", "beamline-off"),
            1.05,
            &["cast", "call"],
        ),
        ratio_target(
            r,
            "RSS per idle process ≤ 1.25× a raw tokio task".into(),
            &["rss_100k"],
            ("beamline", "tokio"),
            1.25,
            &[],
        ),
        ratio_target(
            r,
            "spawn ≤ 1.3× raw tokio".into(),
            &["spawn_100k", "spawn_1m"],
            ("beamline", "tokio"),
            1.3,
            &["spawn"],
        ),
    ];
    let ms = |x: f64| format!("{:.1} ms", x / 1000.0);
    v.push(extra_target(
        r,
        "attaching never blocks a worker > 1 ms (worst CPU over of a 1 ms sleep while attaching)",
        &attach_figures(&["observe", "endpoint"], attach_ns, "stall_cpu_us"),
        ms,
        |x| x <= 1000.0,
    ));
    let mut first = Vec::new();
    for &n in attach_ns {
        let limit = if n <= 100_000 { 100.0 } else { 1000.0 };
        let v = extra_target(
            r,
            &format!(
                "new observer to complete first snapshot, {} processes: < {limit:.0} ms",
                short(n)
            ),
            &attach_figures(&["endpoint"], &[n], "first_ms"),
            |x| format!("{x:.0} ms"),
            |x| x < limit,
        );
        first.push(v);
    }
    v.extend(first);
    let per_process = |field: &str| -> Vec<(String, String)> {
        attach_figures(&["endpoint"], attach_ns, field)
            .into_iter()
            .map(|(l, k)| (l, k.replace(field, &format!("{field}_per_process"))))
            .collect()
    };
    v.push(extra_target(
        r,
        "transient memory while sending a snapshot < 100 B per process",
        &per_process("rss_growth"),
        |x| format!("{x:.0} B"),
        |x| x < 100.0,
    ));
    v.push(extra_target(
        r,
        "snapshot bytes per process ≤ 113",
        &per_process("bytes"),
        |x| format!("{x:.0} B"),
        |x| x <= 113.0,
    ));
    v.push(extra_target(
        r,
        "sampler ≤ 50 ms per sample at 1,000,000 processes",
        &[("1M".into(), "sampler_us_1000000".into())],
        ms,
        |x| x <= 50_000.0,
    ));
    v.push(extra_target(
        r,
        "observer frame ≤ 16 ms at 100,000 processes",
        &[
            ("processes".into(), "frame_processes_ns".into()),
            ("tree".into(), "frame_tree_ns".into()),
        ],
        |x| format!("{:.2} ms", x / 1e6),
        |x| x <= 16e6,
    ));
    v.push(ratio_target(
        r,
        "being watched (100,000 idle processes + attached observer) costs ≤ 5%".into(),
        &["watched"],
        ("observed", "bare"),
        1.05,
        &[],
    ));
    v
}

/// Render the verdicts.
pub fn verdict_table(vs: &[Verdict]) -> String {
    let mut out = String::from(
        "| target | measured: median [min–max] of per-round ratios (and the instruction ratio where callgrind counts the operation), or figure | met? |\n|---|---|---|\n",
    );
    for v in vs {
        let met = match v.met {
            Some(true) => "met",
            Some(false) => "**missed**",
            None => "not measured",
        };
        match v.split {
            Some(split) => {
                let _ = writeln!(out, "| {} | {} | {met} ({split}) |", v.target, v.measured);
            }
            None => {
                let _ = writeln!(out, "| {} | {} | {met} |", v.target, v.measured);
            }
        }
    }
    out
}
