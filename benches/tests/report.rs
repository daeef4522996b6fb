//! The arithmetic and formatting of `bench-table` on synthetic samples: medians, ranges,
//! per-round ratios, the rotation of the order, instruction counts, and the verdicts.

use beamline_benches::callgrind::total_ir;
use beamline_benches::report::{self, Results, Row};
use beamline_benches::stats::{paired_ratios, per_op, rotated, spread};
use beamline_benches::verdict::{attach_key, verdicts};

#[test]
fn rotation_puts_every_system_in_every_position() {
    let systems = ["a", "b", "c", "d", "e", "f", "g"];
    for (pos, _) in systems.iter().enumerate() {
        let mut seen: Vec<&str> = (0..systems.len())
            .map(|r| rotated(&systems, r)[pos])
            .collect();
        seen.sort_unstable();
        assert_eq!(seen, systems, "position {pos}");
    }
    for round in 0..20 {
        let mut order = rotated(&systems, round);
        order.sort_unstable();
        assert_eq!(order, systems, "round {round} measures every system once");
    }
    assert_eq!(rotated(&systems, 1)[0], "b");
    assert_eq!(rotated(&systems, 8), rotated(&systems, 1));
    assert!(rotated::<u8>(&[], 3).is_empty());
}

#[test]
fn spread_is_median_min_max() {
    let s = spread(&[5.0, 1.0, 3.0]).unwrap();
    assert_eq!((s.median, s.min, s.max, s.n), (3.0, 1.0, 5.0, 3));
    let s = spread(&[4.0, 1.0, 3.0, 10.0]).unwrap();
    assert_eq!(s.median, 3.5, "mean of the two middle samples");
    assert_eq!(spread(&[f64::NAN, 2.0]).unwrap().n, 1);
    assert!(spread(&[]).is_none());
}

#[test]
fn ratios_pair_samples_by_round_not_by_position() {
    // The floor was slow in round 1 only; a ratio of medians would hide that pairing.
    let a = [(0, 200.0), (1, 300.0), (2, 220.0)];
    let floor = [(2, 100.0), (0, 100.0), (1, 300.0), (3, 50.0)];
    assert_eq!(paired_ratios(&a, &floor), vec![2.0, 1.0, 2.2]);
    assert!(
        paired_ratios(&a, &[(0, 0.0)]).is_empty(),
        "zero floor skipped"
    );
}

#[test]
fn instruction_counts_subtract_the_baseline() {
    assert_eq!(per_op(1_500, 500, 10), Some(100.0));
    assert_eq!(per_op(400, 500, 10), None);
    assert_eq!(per_op(400, 100, 0), None);
    let out = "version: 1\ncreator: callgrind-3.22.0\nevents: Ir\nsummary: 123456\n\nfl=(1) x\n";
    assert_eq!(total_ir(out), Some(123456));
    assert_eq!(total_ir("totals: 77\n"), Some(77));
    assert_eq!(total_ir("events: Ir\n"), None);
}

fn synthetic() -> Results {
    let mut r = Results::default();
    // tokio 100, 110, 90 ns; beamline exactly 2x tokio in every round, off 1.9x.
    for (round, floor) in [100.0, 110.0, 90.0].into_iter().enumerate() {
        r.add("cast_1to1", "ct", "tokio", round, floor);
        r.add("cast_1to1", "ct", "beamline", round, 2.0 * floor);
        r.add("cast_1to1", "ct", "beamline-off", round, 1.9 * floor);
        r.add("cast_1to1", "ct", "actix", round, 150.0);
    }
    r.ir.insert(("cast".into(), "tokio".into()), 236.0);
    r.ir.insert(("cast".into(), "beamline".into()), 492.0);
    r
}

#[test]
fn tables_show_median_range_and_per_round_ratio() {
    let r = synthetic();
    assert_eq!(r.rounds, 3);
    let rows = [Row::nanos("cast_1to1", "cast")];
    let values = report::value_table(&r, &rows);
    assert!(
        values.contains("| cast | ct | 100 ns [90 ns–110 ns] | 200 ns [180 ns–220 ns] |"),
        "{values}"
    );
    assert!(values.contains("| cast | mt | — | — |"), "{values}");
    assert!(
        values.contains("n/a |\n"),
        "actix has no mt flavor: {values}"
    );
    let ratios = report::ratio_table(&r, &rows);
    assert!(
        ratios.contains("| cast | ct | 2.00× [2.00–2.00] | 1.90× [1.90–1.90] |"),
        "{ratios}"
    );
    assert!(
        ratios.contains("1.05× [1.05–1.05] |\n"),
        "instrumented vs off: {ratios}"
    );
    // actix is 150 against 100/110/90: per-round ratios 1.50, 1.36, 1.67.
    assert!(ratios.contains("1.50× [1.36–1.67]"), "{ratios}");
    let ir = report::ir_table(&r);
    assert!(ir.contains("| 236 | 492 | — | 2.08× | — |"), "{ir}");
}

#[test]
fn verdicts_decide_on_the_median_per_round_ratio() {
    let mut r = synthetic();
    r.extra.insert(
        attach_key("endpoint", "ct", 100_000, "stall_cpu_us"),
        500_000.0,
    );
    r.extra
        .insert(attach_key("endpoint", "ct", 100_000, "first_ms"), 80.0);
    r.extra.insert(
        attach_key("endpoint", "ct", 100_000, "bytes_per_process"),
        138.0,
    );
    let vs = verdicts(&r, &[100_000]);
    let find = |t: &str| vs.iter().find(|v| v.target.starts_with(t)).unwrap();
    assert_eq!(find("cast ≤ 1.3×").met, Some(false));
    assert!(
        find("cast ≤ 1.3×")
            .measured
            .contains("cast_1to1 ct 2.00× [2.00–2.00]")
    );
    assert_eq!(find("cast faster than actix").met, Some(false));
    assert_eq!(find("instrumented vs off").met, Some(false));
    assert_eq!(find("call ≤ 1.5×").met, None, "not measured");
    assert_eq!(find("attaching never blocks").met, Some(false));
    assert!(
        find("attaching never blocks")
            .measured
            .contains("endpoint ct 100k 500.0 ms")
    );
    assert_eq!(
        find("new observer to complete first snapshot, 100k").met,
        Some(true)
    );
    assert_eq!(find("snapshot bytes per process").met, Some(false));
    assert!(
        find("cast ≤ 1.3×")
            .measured
            .contains("instructions cast ct 2.08×"),
        "the instruction counts stand beside the timings"
    );
    let table = beamline_benches::verdict::verdict_table(&vs);
    assert!(table.contains("| **missed** |") && table.contains("| not measured |"));
}

#[test]
fn a_timed_median_within_the_target_is_not_met_when_the_instructions_are_not() {
    let mut r = Results::default();
    // A noisy floor: in time Beamline looks as fast as raw tokio in every round...
    for (round, t) in [100.0, 110.0, 90.0].into_iter().enumerate() {
        r.add("cast_1to1", "ct", "tokio", round, t);
        r.add("cast_1to1", "ct", "beamline", round, t);
    }
    let find = |r: &Results| {
        verdicts(r, &[])
            .into_iter()
            .find(|v| v.target.starts_with("cast ≤ 1.3×"))
            .unwrap()
    };
    assert_eq!(find(&r).met, Some(true), "timings alone say met");
    // ...but it executes 1.6x raw tokio's instructions per cast.
    r.ir.insert(("cast".into(), "tokio".into()), 226.0);
    r.ir.insert(("cast".into(), "beamline".into()), 370.0);
    let v = find(&r);
    assert_eq!(v.met, Some(false), "{}", v.measured);
    assert!(
        v.measured.contains("instructions cast ct 1.64×"),
        "{}",
        v.measured
    );
    assert_eq!(v.split, Some("met in time, missed in instructions"));
    let table = beamline_benches::verdict::verdict_table(&[v]);
    assert!(
        table.contains("| **missed** (met in time, missed in instructions) |"),
        "{table}"
    );
}

#[test]
fn splice_replaces_only_the_generated_part() {
    let doc = format!("intro\n{}\nold\n{}\noutro\n", report::BEGIN, report::END);
    let new = report::splice(&doc, "new\n");
    assert_eq!(
        new,
        format!("intro\n{}\nnew\n{}\noutro\n", report::BEGIN, report::END)
    );
}
