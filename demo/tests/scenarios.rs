//! Each scenario alone, headless, for a few virtual seconds: its signature in `rt.processes()`.

use crate::support::{advance, named, waiting_on};
use beamline::{CallError, Runtime};
use demo::Scenario;
use demo::scenarios::{bottleneck, crash, deadlock, leak, overflow, self_call};
use demo::workload::start_scenario;
use std::time::Duration;

async fn run(s: Scenario) -> Runtime {
    let rt = Runtime::builder().observe_from_env(false).build();
    start_scenario(&rt, s).await.unwrap();
    rt
}

#[tokio::test(start_paused = true)]
async fn overflow_the_consumer_has_the_deepest_growing_mailbox() {
    let rt = run(Scenario::Overflow).await;
    let mut lens = Vec::new();
    for _ in 0..6 {
        advance(Duration::from_secs(1)).await;
        lens.push(named(&rt, overflow::CONSUMER).mailbox_len);
    }
    assert!(
        lens.windows(2).all(|w| w[1] > w[0]),
        "the consumer's mailbox grows every second: {lens:?}"
    );
    // 100/s in, 40/s out.
    assert!(*lens.last().unwrap() >= 300, "{lens:?}");
    let deepest = rt
        .processes()
        .into_iter()
        .max_by_key(|p| p.mailbox_len)
        .unwrap();
    assert_eq!(deepest.name.unwrap().to_string(), overflow::CONSUMER);
    assert_eq!(named(&rt, overflow::PRODUCER).mailbox_len, 0);
    rt.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn bottleneck_the_ledger_is_saturated_and_the_clerks_wait_on_it() {
    let rt = run(Scenario::Bottleneck).await;
    advance(Duration::from_secs(3)).await;
    let before = named(&rt, bottleneck::LEDGER).busy;
    advance(Duration::from_secs(2)).await;
    let ledger = named(&rt, bottleneck::LEDGER);
    let busy = (ledger.busy - before).as_secs_f64() / 2.0;
    assert!(busy > 0.95, "ledger busy {busy:.2} of the time");
    assert!(ledger.mailbox_len >= 10, "queue {}", ledger.mailbox_len);
    let waiting = rt
        .processes()
        .iter()
        .filter(|p| waiting_on(p) == Some(ledger.pid))
        .count();
    assert!(
        waiting >= bottleneck::CLERKS - 1,
        "{waiting} clerks wait on the ledger"
    );
    rt.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn crash_restarts_count_up_on_the_slot_then_the_supervisor_escalates() {
    let rt = run(Scenario::Crash).await;
    let first_sup = named(&rt, crash::SUPERVISOR).pid;
    let mut restarts = Vec::new();
    let mut escalated_at = None;
    for tick in 0..40 {
        advance(Duration::from_millis(500)).await;
        let sup = named(&rt, crash::SUPERVISOR);
        if sup.pid != first_sup {
            escalated_at = Some(tick);
            // The escalation is counted on the slot of `crash/sup` in `scenario/crash`.
            assert_eq!(sup.restarts, 1);
            assert_eq!(named(&rt, crash::WORKER).restarts, 0, "a fresh slot");
            break;
        }
        let r = named(&rt, crash::WORKER).restarts;
        if restarts.last() != Some(&r) {
            restarts.push(r);
        }
    }
    assert_eq!(restarts, [0, 1, 2, 3], "restarts seen on the worker's slot");
    let at = escalated_at.expect("crash/sup escalated");
    // Three periodic crashes (4 s apart), then one within a second.
    assert!(
        (24..=28).contains(&at),
        "escalated after {} s",
        at as f64 / 2.0
    );
    rt.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn deadlock_two_wait_for_edges_point_at_each_other_until_the_timeout() {
    let rt = run(Scenario::Deadlock).await;
    advance(deadlock::FIRST + Duration::from_millis(500)).await;
    let alice = named(&rt, deadlock::ALICE);
    let bob = named(&rt, deadlock::BOB);
    assert_eq!(waiting_on(&alice), Some(bob.pid));
    assert_eq!(waiting_on(&bob), Some(alice.pid));
    // Still knotted just before the timeout...
    advance(deadlock::CALL_TIMEOUT - Duration::from_secs(1)).await;
    assert_eq!(waiting_on(&named(&rt, deadlock::ALICE)), Some(bob.pid));
    // ...and free after it: the timeout broke the cycle, nobody crashed.
    advance(Duration::from_secs(2)).await;
    let (a, b) = (named(&rt, deadlock::ALICE), named(&rt, deadlock::BOB));
    assert_eq!((waiting_on(&a), waiting_on(&b)), (None, None));
    assert_eq!((a.pid, b.pid), (alice.pid, bob.pid));
    rt.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn self_call_the_error_comes_back_at_once_and_nothing_hangs() {
    let rt = run(Scenario::SelfCall).await;
    let server = rt
        .whereis::<self_call::SelfCaller>(self_call::NAME)
        .unwrap();
    let t0 = tokio::time::Instant::now();
    let reply = server.call(self_call::SelfCall::Refresh).await.unwrap();
    assert_eq!(
        reply,
        self_call::SelfReply::Outcome(Err(CallError::CallingSelf))
    );
    assert_eq!(t0.elapsed(), Duration::ZERO, "no virtual time passed");
    // Its own timer makes the mistake too, and it stays responsive throughout.
    for _ in 0..4 {
        advance(self_call::EVERY).await;
        let p = named(&rt, self_call::NAME);
        assert_eq!(waiting_on(&p), None);
        assert_eq!(p.restarts, 0);
        assert!(matches!(
            server.call(self_call::SelfCall::Get).await,
            Ok(self_call::SelfReply::Value(_))
        ));
    }
    rt.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn leak_the_hoarders_own_footprint_grows_every_second() {
    let rt = run(Scenario::Leak).await;
    let hoarder = rt.whereis::<leak::Hoarder>(leak::NAME).unwrap();
    let mut sizes = Vec::new();
    for _ in 0..8 {
        advance(Duration::from_secs(1)).await;
        sizes.push(hoarder.call(leak::Footprint).await.unwrap().bytes);
    }
    assert!(
        sizes.windows(2).all(|w| w[1] > w[0]),
        "state bytes grow monotonically: {sizes:?}"
    );
    assert!(sizes[7] > 16 * 1024, "{sizes:?}");
    rt.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn leak_the_state_grows_every_second() {
    let rt = run(Scenario::Leak).await;
    // State sizes are measured when the sampler asks, so keep an observation open.
    let _observing = rt.observe();
    let mut sizes = Vec::new();
    for _ in 0..8 {
        advance(Duration::from_secs(1)).await;
        sizes.push(named(&rt, leak::NAME).state_bytes);
    }
    assert!(
        sizes.windows(2).all(|w| w[1] > w[0]),
        "state bytes grow monotonically: {sizes:?}"
    );
    assert!(sizes[7] > 16 * 1024, "{sizes:?}");
    rt.shutdown().await;
}
