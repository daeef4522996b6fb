//! Attaching to a big runtime (issue 15): the snapshot is built and sent in slices, so the
//! application's other tasks keep running while a subscriber attaches.

use crate::support::{Worker, runtime};
use beamline::wire::ServerMsg;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

const PROCESSES: usize = 100_000;

/// A task that counts how often the scheduler gets to it.
fn ticker() -> Arc<AtomicU64> {
    let count = Arc::new(AtomicU64::new(0));
    let c = count.clone();
    tokio::spawn(async move {
        loop {
            c.fetch_add(1, Relaxed);
            tokio::task::yield_now().await;
        }
    });
    count
}

/// With 100,000 processes on a current-thread runtime, a ticker task keeps running while a
/// subscriber attaches: the sampler's full scan and the building of every snapshot frame give
/// the thread back many times (not timed: counted in scheduler turns). Before, the whole scan
/// and every sample of the snapshot were made in one poll of the sampler, and the ticker got
/// a handful of turns.
#[tokio::test(start_paused = true)]
async fn a_ticker_keeps_running_while_a_subscriber_attaches() {
    let rt = runtime(1000);
    let mut workers = Vec::with_capacity(PROCESSES);
    for _ in 0..PROCESSES {
        workers.push(rt.start::<Worker>(()).await.unwrap());
    }
    let count = ticker();
    let mut obs = rt.observe();
    assert!(matches!(obs.recv().await, Some(ServerMsg::Welcome(_))));
    let start = count.load(Relaxed);
    let mut turns = Vec::new();
    let (mut seen, mut at) = (0, None);
    while seen < PROCESSES {
        let before = count.load(Relaxed);
        match obs.recv().await.expect("stream goes on") {
            ServerMsg::Snapshot(s) => {
                at = Some(s.at_ms);
                seen += s.processes.len();
            }
            ServerMsg::Delta(d) if at == Some(d.at_ms) => seen += d.changed.len(),
            m => panic!("the snapshot's frames come first: {m:?}"),
        }
        turns.push(count.load(Relaxed) - before);
    }
    assert_eq!(seen, PROCESSES, "every process is in the snapshot");
    let total = count.load(Relaxed) - start;
    // A slice is at most 1,024 processes: the scan alone gives ~100 turns, and each frame of
    // 16,384 samples ~16.
    assert!(total >= 100, "the ticker ran {total} times while attaching");
    assert!(turns.len() >= 2, "100,000 processes come in several frames");
    for (i, t) in turns.iter().enumerate().skip(1) {
        assert!(
            *t >= 8,
            "frame {i}: the ticker ran only {t} times while it was built"
        );
    }
}

/// A subscriber that leaves in the middle of its snapshot (some frames taken, one being built)
/// costs nothing: the runtime's other tasks keep running, every process is still there and
/// answers, and the next subscriber gets a whole snapshot. Before frames were built for each
/// subscriber as it sends them, a half-sent snapshot was a whole one held in memory; now it
/// is a frame, dropped with the subscription.
#[tokio::test(start_paused = true)]
async fn detaching_in_the_middle_of_a_snapshot_loses_nothing() {
    const N: usize = 40_000;
    let rt = runtime(1000);
    let mut workers = Vec::with_capacity(N);
    for _ in 0..N {
        workers.push(rt.start::<Worker>(()).await.unwrap());
    }
    let count = ticker();
    let mut obs = rt.observe();
    assert!(matches!(obs.recv().await, Some(ServerMsg::Welcome(_))));
    let Some(ServerMsg::Snapshot(first)) = obs.recv().await else {
        panic!("a snapshot comes first")
    };
    assert!(
        first.processes.len() < N,
        "the snapshot spans several frames"
    );
    // Start building the next frame, then leave while it is under way.
    let mut next = Box::pin(obs.recv());
    assert!(
        futures_poll_once(next.as_mut()).await.is_none(),
        "it takes several slices"
    );
    drop(next);
    drop(obs);
    let before = count.load(Relaxed);
    for w in workers.iter().step_by(997) {
        assert_eq!(w.call(()).await.unwrap(), 0, "the process still answers");
    }
    assert!(count.load(Relaxed) > before, "the ticker carries on");
    assert_eq!(rt.processes().len(), N, "no process lost");
    let mut again = rt.observe();
    assert!(matches!(again.recv().await, Some(ServerMsg::Welcome(_))));
    let (mut seen, mut at) = (0, None);
    while seen < N {
        match again.recv().await.expect("stream goes on") {
            ServerMsg::Snapshot(s) => {
                at = Some(s.at_ms);
                seen += s.processes.len();
            }
            ServerMsg::Delta(d) if at == Some(d.at_ms) => seen += d.changed.len(),
            m => panic!("the snapshot's frames come first: {m:?}"),
        }
    }
    assert_eq!(seen, N, "the next subscriber gets every process");
}

/// Poll `f` once: `Some` with its output if it was ready.
async fn futures_poll_once<F: std::future::Future + Unpin>(f: F) -> Option<F::Output> {
    let mut f = f;
    std::future::poll_fn(|cx| {
        std::task::Poll::Ready(match std::pin::Pin::new(&mut f).poll(cx) {
            std::task::Poll::Ready(v) => Some(v),
            std::task::Poll::Pending => None,
        })
    })
    .await
}
