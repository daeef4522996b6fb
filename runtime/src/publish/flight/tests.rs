use super::*;
use beamline_wire::{ProcessKind, Status};

fn sample(pid: u64, len: u64) -> ProcessSample {
    let mut p = ProcessSample::new(Pid(pid), ProcessKind::Server, "T");
    p.mailbox_len = len;
    p
}

fn record(f: &FlightRecorder, seq: u64, changed: &[ProcessSample], removed: &[Pid]) {
    f.record(
        (seq, seq * 1000, 1000, &SystemSample::default()),
        changed,
        removed,
    );
}

impl FlightRecorder {
    fn plain(config: FlightConfig) -> Self {
        FlightRecorder::new(config, None)
    }
}

fn config(window_s: u64, max_points: usize) -> FlightConfig {
    FlightConfig {
        enabled: true,
        window: Duration::from_secs(window_s),
        max_points,
    }
}

#[test]
fn history_gives_back_each_tick_as_a_delta() {
    let f = FlightRecorder::plain(FlightConfig::default());
    record(&f, 1, &[sample(1, 5), sample(2, 0)], &[]);
    record(&f, 2, &[sample(1, 9)], &[Pid(2)]);
    let h: Vec<Delta> = f.history().iter().map(|p| p.delta()).collect();
    assert_eq!(h.len(), 2);
    assert_eq!(h[0].seq, 1);
    assert_eq!(h[0].changed, vec![sample(1, 5), sample(2, 0)]);
    assert_eq!(h[1].changed, vec![sample(1, 9)]);
    assert_eq!(h[1].removed, vec![Pid(2)]);
    assert_eq!(h[1].at_ms, 2000);
}

#[test]
fn an_off_recorder_keeps_nothing() {
    let f = FlightRecorder::plain(FlightConfig::off());
    record(&f, 1, &[sample(1, 5)], &[]);
    assert!(f.history().is_empty());
}

#[test]
fn ticks_older_than_the_window_are_dropped() {
    let f = FlightRecorder::plain(config(10, 1000));
    for seq in 1..=30 {
        record(&f, seq, &[sample(1, seq)], &[]);
    }
    let h = f.history();
    assert_eq!(h.front().unwrap().at_ms, 20_000, "10 s back from 30 s");
    assert_eq!(f.held().0, 11);
}

/// Over the budget the older half is merged pairwise: fewer points, the newer value of each
/// process kept, and the newest ticks untouched.
#[test]
fn older_ticks_are_thinned_within_the_point_budget() {
    let f = FlightRecorder::plain(config(600, 100));
    for seq in 1..=200 {
        record(&f, seq, &[sample(1, seq), sample(2, 0)], &[]);
    }
    let (points, ticks, metas) = f.held();
    assert!(points <= 100, "{points} points");
    assert_eq!(metas, 2);
    let h = f.history();
    assert_eq!(h.back().unwrap().seq, 200);
    assert_eq!(
        h[h.len() - 2].seq,
        199,
        "the newest ticks keep full resolution"
    );
    let gaps = h
        .iter()
        .zip(h.iter().skip(1))
        .filter(|(a, b)| b.seq - a.seq > 1)
        .count();
    assert!(gaps > 0, "older ticks were merged: {ticks} ticks");
    for past in &h {
        let d = past.delta();
        let p1 = d.changed.iter().find(|p| p.id == Pid(1)).unwrap();
        assert_eq!(p1.mailbox_len, d.seq, "a merged tick keeps the newer point");
    }
}

/// A merge keeps a removal: the process is not revived by its older point.
#[test]
fn a_merged_tick_keeps_removals() {
    let a = Past {
        seq: 1,
        at_ms: 1000,
        interval_ms: 1000,
        system: SystemSample::default(),
        changed: vec![Point::of(&sample(3, 1), &mut Metas::default())],
        removed: vec![],
    };
    let b = Past {
        seq: 2,
        at_ms: 2000,
        interval_ms: 1000,
        system: SystemSample::default(),
        changed: vec![],
        removed: vec![Pid(3)],
    };
    let m = a.merge(&b).delta();
    assert!(m.changed.is_empty());
    assert_eq!(m.removed, vec![Pid(3)]);
    assert_eq!(m.seq, 2);
}

/// A tick with more changes than its share keeps the weightiest: the exited and the deep.
#[test]
fn a_crowded_tick_keeps_the_weightiest_points() {
    let f = FlightRecorder::plain(config(600, 8 * 3));
    let mut changed: Vec<_> = (0..100).map(|i| sample(i, 1)).collect();
    changed[40].mailbox_len = 5000;
    changed[70].status = Status::Exited {
        reason: "boom".into(),
    };
    changed[90].dropped = 12;
    record(&f, 1, &changed, &[]);
    let d = f.history()[0].delta();
    let mut kept: Vec<u64> = d.changed.iter().map(|p| p.id.0).collect();
    kept.sort();
    assert_eq!(kept, [40, 70, 90]);
    assert_eq!(f.held().2, 3, "only the kept processes' strings are held");
}

/// Found measuring a million processes: a crowded tick kept the strings of every process it
/// named, kept or not (a million of them, for 31,250 points).
#[test]
fn processes_no_kept_point_names_are_forgotten() {
    let f = FlightRecorder::plain(config(600, 8 * 10));
    for seq in 1..=3u64 {
        let changed: Vec<_> = (0..100).map(|i| sample(seq * 1000 + i, 1)).collect();
        record(&f, seq, &changed, &[]);
    }
    let (points, _, named) = f.held();
    assert_eq!(points, 30);
    assert_eq!(named, 30, "only the processes kept points name");
}
