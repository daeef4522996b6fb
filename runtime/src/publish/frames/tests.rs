//! Planning a tick's frames and encoding them sample by sample.

use super::*;
use beamline_wire::ProcessKind;

pub(crate) fn sample(id: u64) -> ProcessSample {
    let mut p = ProcessSample::new(Pid(id), ProcessKind::Server, "T");
    p.links = (0..id % 3).map(Pid).collect();
    p
}

#[tokio::test]
async fn frames_split_by_count_and_by_size_and_an_empty_tick_has_one() {
    let s = &mut Slicer::new();
    assert_eq!(plan(&[], &[], s).await, [Content::default()]);
    let r = plan(&[10; 3], &vec![10; CHUNK_PROCESSES * 2 - 2], s).await;
    assert_eq!(r.len(), 3);
    assert_eq!(
        (r[0].built.clone(), r[0].deferred.clone()),
        (0..3, 0..CHUNK_PROCESSES - 3)
    );
    assert_eq!(
        r[2].deferred,
        CHUNK_PROCESSES * 2 - 3..CHUNK_PROCESSES * 2 - 2
    );
    assert!(r[2].built.is_empty());
    let r = plan(&[], &[CHUNK_BYTES as u32 / 10; 100], s).await;
    assert!(r.len() >= 10, "the byte budget splits first");
    assert!(r.iter().all(|c| c.len() <= 10));
}

fn header() -> Header {
    Header {
        first_seq: 7,
        at_ms: 1,
        interval_ms: 100,
        system: SystemSample::default(),
    }
}

#[tokio::test]
async fn a_split_tick_numbers_its_frames_and_pads_the_shorter_list() {
    let found = Found {
        built: vec![sample(1)],
        removed: vec![Pid(99)],
        deferred: Vec::new(),
        deferred_sizes: Vec::new(),
        snapshot: Some((
            Deferred {
                cells: Vec::new(),
                rates: Rates::Zero,
            },
            vec![300; CHUNK_PROCESSES],
        )),
    };
    let (tick, used) = tick(header(), found).await;
    assert_eq!(used, 2);
    assert_eq!(tick.deltas.frames[0].built, 0..1);
    assert_eq!(tick.deltas.frames[1].len(), 0);
    let s = &tick.snapshot.as_ref().unwrap().frames;
    assert_eq!(
        (s[0].built.clone(), s[0].deferred.clone()),
        (0..1, 0..CHUNK_PROCESSES - 1)
    );
    assert_eq!(s[1].deferred, CHUNK_PROCESSES - 1..CHUNK_PROCESSES);
    let ServerMsg::Delta(first) = tick.message(0, false, Vec::new()) else {
        panic!()
    };
    assert_eq!((first.seq, first.removed), (7, vec![Pid(99)]));
    let ServerMsg::Delta(second) = tick.message(1, false, Vec::new()) else {
        panic!()
    };
    assert_eq!(second.seq, 8);
    assert!(second.removed.is_empty());
    assert!(matches!(
        tick.message(0, true, Vec::new()),
        ServerMsg::Snapshot(_)
    ));
    assert!(matches!(
        tick.message(1, true, Vec::new()),
        ServerMsg::Delta(_)
    ));
}

/// A frame encoded sample by sample is byte for byte what `frame::encode` makes of the
/// whole message, for snapshots and for deltas with removals.
#[tokio::test]
async fn a_frame_encoded_sample_by_sample_equals_the_whole_encoding() {
    let found = Found {
        built: Vec::new(),
        removed: vec![Pid(3), Pid(300_000)],
        deferred: Vec::new(),
        deferred_sizes: Vec::new(),
        snapshot: None,
    };
    let (tick, _) = tick(header(), found).await;
    for (i, snapshot) in [(0, true), (1, true), (0, false), (1, false)] {
        for n in [0, 1, 200] {
            let samples: Vec<_> = (0..n).map(sample).collect();
            let (head, tail) = tick.frame_bounds(i, snapshot, samples.len());
            let mut out = head;
            for s in &samples {
                out = postcard::to_extend(s, out).unwrap();
            }
            out.extend_from_slice(&tail);
            let len = (out.len() - 4) as u32;
            out[..4].copy_from_slice(&len.to_be_bytes());
            let whole = frame::encode(&tick.message(i, snapshot, samples)).unwrap();
            assert_eq!(out, whole, "frame {i} snapshot {snapshot} with {n} samples");
        }
    }
}

/// Planning a million-sample snapshot gives the worker back: another task on the same
/// current-thread runtime gets a turn at least once per slice (issue 15).
#[tokio::test(flavor = "current_thread")]
async fn planning_a_big_tick_lets_a_ticker_run() {
    const N: usize = 1_000_000;
    let turns = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let ticker = tokio::spawn({
        let turns = turns.clone();
        async move {
            loop {
                turns.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                tokio::task::yield_now().await;
            }
        }
    });
    tokio::task::yield_now().await;
    let before = turns.load(std::sync::atomic::Ordering::Relaxed);
    let found = Found {
        built: (0..2048).map(sample).collect(),
        removed: Vec::new(),
        deferred: Vec::new(),
        deferred_sizes: vec![300; N],
        snapshot: Some((
            Deferred {
                cells: Vec::new(),
                rates: Rates::Zero,
            },
            vec![300; N],
        )),
    };
    let (tick, used) = tick(header(), found).await;
    let ran = turns.load(std::sync::atomic::Ordering::Relaxed) - before;
    ticker.abort();
    assert_eq!(used as usize, (N + 2048).div_ceil(CHUNK_PROCESSES));
    assert_eq!(tick.deltas.frames.len(), used as usize);
    let slices = (2 * N + 3 * 2048) / super::super::slice::MAX_ITEMS as usize;
    assert!(
        ran >= slices,
        "the ticker ran {ran} times, expected one per slice ({slices})"
    );
}
