use crate::support::*;
use beamline::{CastError, Mailbox, Overflow, Runtime, SpawnOpts};
use std::time::Duration;

async fn probe(rt: &Runtime, mailbox: Mailbox, l: &Log) -> beamline::ServerRef<Probe> {
    rt.start_with::<Probe>(Args::new(l), SpawnOpts::new().mailbox(mailbox))
        .await
        .unwrap()
}

async fn busy_probe(rt: &Runtime, mailbox: Mailbox, l: &Log) -> beamline::ServerRef<Probe> {
    let p = probe(rt, mailbox, l).await;
    // Occupy it for 10 s so that what follows queues up.
    p.cast(Cast::Sleep(Duration::from_secs(10))).await.unwrap();
    settle().await;
    p
}

#[tokio::test(start_paused = true)]
async fn reject_hands_the_message_back() {
    let rt = Runtime::new();
    let l = log();
    let p = busy_probe(&rt, Mailbox::bounded(2, Overflow::Reject), &l).await;
    p.cast(Cast::Push("a".into())).await.unwrap();
    p.cast(Cast::Push("b".into())).await.unwrap();
    match p.cast(Cast::Push("c".into())).await {
        Err(CastError::Full(Cast::Push(m))) => assert_eq!(m, "c"),
        _ => panic!("expected the message back"),
    }
    assert_eq!(p.info().mailbox_len, 2);
}

#[tokio::test(start_paused = true)]
async fn drop_newest_and_drop_oldest_count_their_drops() {
    let rt = Runtime::new();
    let l = log();
    let p = busy_probe(&rt, Mailbox::bounded(2, Overflow::DropNewest), &l).await;
    for m in ["a", "b", "c", "d"] {
        p.cast(Cast::Push(m.into())).await.unwrap();
    }
    assert_eq!(p.info().dropped, 2);
    p.call_timeout(Call::Echo(0), Duration::from_secs(30))
        .await
        .ok();

    let l2 = log();
    let q = busy_probe(&rt, Mailbox::bounded(2, Overflow::DropOldest), &l2).await;
    for m in ["a", "b", "c", "d"] {
        q.cast(Cast::Push(m.into())).await.unwrap();
    }
    assert_eq!(q.info().dropped, 2);
    assert_eq!(q.info().mailbox_len, 2);
    tokio::time::sleep(Duration::from_secs(11)).await;
    q.call(Call::Echo(0)).await.unwrap();
    assert_eq!(seen(&l2), vec!["init", "cast c", "cast d"]);
    // For drop_newest the first two survived.
    assert_eq!(seen(&l), vec!["init", "cast a", "cast b"]);
}

/// Regression (issue 14): overflow drops and evictions were counted only when instrumented, so
/// with instrumentation off most of a flood went unaccounted. The counts are a promise
/// (handled + dropped + dead letters == sent), not a statistic.
#[tokio::test(start_paused = true)]
async fn overflow_drops_are_counted_with_instrumentation_off() {
    let rt = Runtime::builder().instrument(false).build();
    for overflow in [Overflow::DropNewest, Overflow::DropOldest] {
        let p = busy_probe(&rt, Mailbox::bounded(2, overflow), &log()).await;
        for m in ["a", "b", "c", "d", "e"] {
            p.cast(Cast::Push(m.into())).await.unwrap();
        }
    }
    assert_eq!(rt.dropped_total(), 6, "three per mailbox");
}

#[tokio::test(start_paused = true)]
async fn wait_applies_backpressure_to_the_sender() {
    let rt = Runtime::new();
    let l = log();
    let p = busy_probe(&rt, Mailbox::bounded(1, Overflow::Wait), &l).await;
    p.cast(Cast::Push("a".into())).await.unwrap();
    assert!(matches!(
        p.try_cast(Cast::Push("x".into())),
        Err(CastError::Full(_))
    ));
    let start = tokio::time::Instant::now();
    p.cast(Cast::Push("b".into())).await.unwrap();
    assert!(
        start.elapsed() >= Duration::from_secs(9),
        "the cast waited for the sleeping server to make room"
    );
    p.call(Call::Echo(0)).await.unwrap();
    assert_eq!(seen(&l), vec!["init", "cast a", "cast b"]);
}

#[tokio::test(start_paused = true)]
async fn messages_queued_at_a_crash_are_counted_as_dropped() {
    let rt = Runtime::new();
    let l = log();
    let p = busy_probe(&rt, Mailbox::Unbounded, &l).await;
    p.cast(Cast::Panic).await.unwrap();
    for i in 0..5 {
        p.cast(Cast::Push(i.to_string())).await.unwrap();
    }
    p.process().wait().await;
    let info = p.process().info();
    assert_eq!(info.dropped, 5);
    assert_eq!(info.received, info.handled_casts + info.dropped);
}

/// A flooded process hands the thread back after each batch, so on a current-thread runtime
/// another process still answers long before the flood is drained. Without the yield, the
/// mailbox never returns `Pending` and the flood would be handled in one poll.
#[tokio::test(start_paused = true)]
async fn a_flooded_process_does_not_starve_the_others() {
    let rt = Runtime::new();
    let flooded = rt.start::<Probe>(Args::new(&log())).await.unwrap();
    let other = rt.start::<Probe>(Args::new(&log())).await.unwrap();
    for _ in 0..10_000 {
        flooded.try_cast(Cast::Push(String::new())).unwrap();
    }
    other.call(Call::Echo(1)).await.unwrap();
    let handled = flooded.info().handled_casts;
    assert!(
        handled < 10_000,
        "{handled} handled before the other answered"
    );
    flooded.call(Call::Echo(2)).await.unwrap();
    assert_eq!(flooded.info().handled_casts, 10_000);
}

/// The capacity counts every message not yet handled, also those behind the one in progress:
/// with a slow message in progress and one queued, a capacity of 2 takes one more, not two.
#[tokio::test(start_paused = true)]
async fn capacity_counts_messages_behind_the_one_in_progress() {
    let rt = Runtime::new();
    let l = log();
    let p = probe(&rt, Mailbox::bounded(2, Overflow::Reject), &l).await;
    // Both queued before the process first runs, so it finds them together.
    p.try_cast(Cast::Sleep(Duration::from_secs(10))).unwrap();
    p.try_cast(Cast::Push("a".into())).unwrap();
    settle().await;
    p.try_cast(Cast::Push("b".into())).unwrap();
    assert!(matches!(
        p.try_cast(Cast::Push("c".into())),
        Err(CastError::Full(_))
    ));
    assert_eq!(p.info().mailbox_len, 2);
}

/// `DropOldest` evicts the oldest message not yet handled, even when the process has already
/// looked past it.
#[tokio::test(start_paused = true)]
async fn drop_oldest_evicts_the_oldest_unhandled_message() {
    let rt = Runtime::new();
    let l = log();
    let p = probe(&rt, Mailbox::bounded(2, Overflow::DropOldest), &l).await;
    // Both queued before the process first runs, so it finds them together.
    p.try_cast(Cast::Sleep(Duration::from_secs(10))).unwrap();
    p.try_cast(Cast::Push("a".into())).unwrap();
    settle().await;
    for m in ["b", "c", "d"] {
        p.try_cast(Cast::Push(m.into())).unwrap();
    }
    tokio::time::sleep(Duration::from_secs(11)).await;
    p.call(Call::Echo(0)).await.unwrap();
    assert_eq!(seen(&l), vec!["init", "cast c", "cast d"]);
}

/// The yield counts messages across batches: handlers that end every batch early (an idle
/// timeout, hibernation) must not let a flooded process keep its thread.
#[tokio::test(start_paused = true)]
async fn a_flooded_process_yields_even_when_every_batch_ends_early() {
    let rt = Runtime::new();
    let flooded = rt.start::<Probe>(Args::new(&log())).await.unwrap();
    let other = rt.start::<Probe>(Args::new(&log())).await.unwrap();
    for _ in 0..10_000 {
        flooded.try_cast(Cast::Hibernate).unwrap();
    }
    other.call(Call::Echo(1)).await.unwrap();
    let handled = flooded.info().handled_casts;
    assert!(
        handled < 10_000,
        "{handled} handled before the other answered"
    );
}

/// Run `body` on its own paused current-thread runtime in its own thread, and fail (rather than
/// hang the suite) if it has not finished within `limit` of real time: the guard for tests of
/// code that used to spin.
fn within<F>(limit: Duration, body: impl FnOnce() -> F + Send + 'static) -> F::Output
where
    F: std::future::Future + 'static,
    F::Output: Send + 'static,
{
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
            .unwrap();
        let _ = done_tx.send(rt.block_on(body()));
    });
    done_rx
        .recv_timeout(limit)
        .expect("the runtime hung (or the test panicked)")
}

/// Regression (issue 14): a `Wait` process that frees room for a blocked sender and exits before
/// that sender runs again used to spin in its exit, waiting for a send that could only happen on
/// the thread it was spinning on. Now the exit refuses the waiting sender: its cast is a dead
/// letter, and nothing is lost uncounted.
#[test]
fn a_wait_process_exiting_while_a_sender_is_woken_for_room_does_not_hang() {
    let (dead, dropped, late) = within(Duration::from_secs(20), || async {
        let rt = Runtime::new();
        let l = log();
        let p = busy_probe(&rt, Mailbox::bounded(1, Overflow::Wait), &l).await;
        p.cast(Cast::Panic).await.unwrap();
        let sender = {
            let p = p.clone();
            tokio::spawn(async move { p.cast(Cast::Push("late".into())).await })
        };
        settle().await;
        assert!(!sender.is_finished(), "the sender waits for room");
        // After its 10 s sleep the process takes the panic (which wakes the sender: there is
        // room now) and dies in the same poll, before the sender runs.
        p.process().wait().await;
        let late = sender.await.unwrap().is_ok();
        (rt.dead_letters(), rt.dropped_total(), late)
    });
    assert!(late, "a cast to a dead process is not an error");
    assert_eq!((dead, dropped), (1, 0), "the late cast is a dead letter");
}

/// Every sender blocked on a full `Wait` mailbox is refused when its process is killed: the
/// queued message is dropped, the waiting ones are dead letters, and every sender carries on.
#[test]
fn every_sender_blocked_on_a_wait_mailbox_is_refused_when_it_is_killed() {
    let (handled, dropped, dead) = within(Duration::from_secs(20), || async {
        let rt = Runtime::new();
        let l = log();
        let p = busy_probe(&rt, Mailbox::bounded(1, Overflow::Wait), &l).await;
        let senders: Vec<_> = (0..16)
            .map(|i| {
                let p = p.clone();
                tokio::spawn(async move { p.cast(Cast::Push(i.to_string())).await })
            })
            .collect();
        settle().await;
        let waiting = senders.iter().filter(|s| !s.is_finished()).count();
        assert_eq!(waiting, 15, "one queued, fifteen waiting");
        p.process().exit(beamline::ExitReason::Killed);
        p.process().wait().await;
        for s in senders {
            s.await.unwrap().unwrap();
        }
        let handled = seen(&l).len() as u64 - 1;
        (handled, rt.dropped_total(), rt.dead_letters())
    });
    assert_eq!((handled, dropped, dead), (0, 1, 15));
}
