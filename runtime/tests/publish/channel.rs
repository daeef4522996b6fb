//! The local channel: a stalled subscriber does not block and is told what it missed.

use crate::support::*;
use beamline::wire::{ServerMsg, table::ProcessTable};
use std::time::Duration;

#[tokio::test(start_paused = true)]
async fn a_stalled_subscriber_never_blocks_and_skips_ahead_with_a_count() {
    let rt = runtime(100);
    let w = rt.start::<Worker>(()).await.unwrap();
    let mut stalled = rt.observe();
    let mut live = rt.observe();
    let mut table = ProcessTable::default();
    // The live subscriber sees 40 ticks while the other is never polled.
    for _ in 0..40 {
        w.cast(Work::Busy(Duration::from_millis(1))).await.unwrap();
        apply(&mut table, &sample(&mut live).await);
    }
    assert_eq!(stalled.missed(), 0);
    assert!(matches!(stalled.recv().await, Some(ServerMsg::Welcome(_))));
    // It resumes with a fresh snapshot, not a delta it cannot apply.
    let m = sample(&mut stalled).await;
    assert!(matches!(m, ServerMsg::Snapshot(_)), "{m:?}");
    assert!(
        stalled.missed() >= 40 - beamline::sampler::TICK_BACKLOG as u64,
        "{}",
        stalled.missed()
    );
    // And the loss shows up in the system sample.
    let ServerMsg::Delta(d) = sample(&mut live).await else {
        panic!()
    };
    let _ = d;
    let ServerMsg::Delta(d) = sample(&mut live).await else {
        panic!()
    };
    assert!(
        d.system.missed_updates >= stalled.missed(),
        "{:?}",
        d.system
    );
}

#[tokio::test(start_paused = true)]
async fn welcome_then_snapshot_then_consecutive_deltas() {
    let rt = runtime(1000);
    let mut obs = rt.observe();
    let Some(ServerMsg::Welcome(w)) = obs.recv().await else {
        panic!()
    };
    assert_eq!(w.node, "test");
    assert_eq!(w.version, beamline::wire::PROTOCOL_VERSION);
    assert_eq!(w.interval_ms, 1000);
    let ServerMsg::Snapshot(s) = sample(&mut obs).await else {
        panic!()
    };
    let ServerMsg::Delta(d1) = sample(&mut obs).await else {
        panic!()
    };
    let ServerMsg::Delta(d2) = sample(&mut obs).await else {
        panic!()
    };
    assert_eq!((d1.seq, d2.seq), (s.seq + 1, s.seq + 2));
    assert_eq!(d2.at_ms - d1.at_ms, 1000);
}

#[tokio::test(start_paused = true)]
async fn an_unobserved_runtime_runs_no_sampler() {
    let rt = runtime(100);
    rt.start::<Worker>(()).await.unwrap();
    tokio::time::sleep(Duration::from_secs(5)).await;
    // Peaks are only reset by a sampler: with none, the first sample still has the
    // lifetime figures, and no tick happened before the subscription.
    let mut obs = rt.observe();
    let ServerMsg::Snapshot(s) = sample(&mut obs).await else {
        panic!()
    };
    assert_eq!(s.seq, 1);
}

/// `recv` says the stream ends once the sampler is gone: here the tokio runtime the sampler was
/// started on shuts down while the subscription lives on another.
#[test]
fn the_stream_ends_when_the_samplers_tokio_runtime_shuts_down() {
    let app = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (_rt, mut obs) = app.block_on(async {
        let rt = runtime(100);
        let obs = rt.observe();
        (rt, obs)
    });
    drop(app);
    let other = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    other.block_on(async {
        assert!(matches!(obs.recv().await, Some(ServerMsg::Welcome(_))));
        let end = tokio::time::timeout(Duration::from_secs(10), obs.recv()).await;
        assert_eq!(end, Ok(None), "the stream must end, not hang");
    });
}
