//! Who talks to whom, on tokio's paused clock: sampled counts and shares, outside senders, a
//! bounded table under many senders, and fading after a quiet window.

use super::table::{GENERATION_NS, SLOTS};
use super::*;
use crate::{CallReply, Ctx, GenServer, InitError, Next, Runtime, ServerRef};
use beamline_wire::Pid;
use std::time::Duration;

/// Receives casts and does nothing with them.
struct Sink;

impl GenServer for Sink {
    type Args = ();
    type Call = ();
    type Reply = ();
    type Cast = u64;
    type Info = ();

    async fn init(_: (), _: &mut Ctx<Self>) -> Result<Self, InitError> {
        Ok(Sink)
    }

    async fn handle_call(&mut self, _: (), _: &mut Ctx<Self>) -> CallReply<()> {
        CallReply::reply(())
    }

    async fn handle_cast(&mut self, _: u64, _: &mut Ctx<Self>) -> Next {
        Next::noreply()
    }
}

/// On a call with `n`, sends `n` casts to its sink, then replies.
struct Sender {
    sink: ServerRef<Sink>,
}

impl GenServer for Sender {
    type Args = ServerRef<Sink>;
    type Call = u64;
    type Reply = ();
    type Cast = ();
    type Info = ();

    async fn init(sink: ServerRef<Sink>, _: &mut Ctx<Self>) -> Result<Self, InitError> {
        Ok(Sender { sink })
    }

    async fn handle_call(&mut self, n: u64, _: &mut Ctx<Self>) -> CallReply<()> {
        for i in 0..n {
            self.sink.cast(i).await.unwrap();
        }
        CallReply::reply(())
    }
}

fn runtime() -> Runtime {
    Runtime::builder().observe_from_env(false).build()
}

const EVERY: u64 = WAIT_SAMPLE_EVERY;

fn pids(talkers: &[Talker]) -> Vec<Option<Pid>> {
    talkers.iter().map(|t| t.pid).collect()
}

#[tokio::test(start_paused = true)]
async fn top_senders_come_in_order_with_their_shares() {
    let rt = runtime();
    let c = rt.start::<Sink>(()).await.unwrap();
    let a = rt.start::<Sender>(c.clone()).await.unwrap();
    let b = rt.start::<Sender>(c.clone()).await.unwrap();
    a.call(64 * EVERY).await.unwrap();
    b.call(32 * EVERY).await.unwrap();

    let (senders, receivers, window_ms, every) = read(&c.cell);
    assert_eq!(pids(&senders), [Some(a.pid()), Some(b.pid())]);
    assert_eq!(
        senders.iter().map(|t| t.sampled).collect::<Vec<_>>(),
        [64, 32],
        "one message in {EVERY} noted"
    );
    assert!((senders[0].share - 2.0 / 3.0).abs() < 1e-6);
    assert!((senders[1].share - 1.0 / 3.0).abs() < 1e-6);
    assert!(receivers.is_empty(), "the sink sent nothing");
    assert_eq!(every as u64, EVERY);
    assert!(window_ms < 10_000);

    let (a_senders, a_receivers, _, _) = read(&a.cell);
    assert!(
        a_senders.is_empty(),
        "a call from the test is one message, not sampled"
    );
    assert_eq!(pids(&a_receivers), [Some(c.pid())]);
    assert_eq!(a_receivers[0].sampled, 64);
    assert_eq!(a_receivers[0].share, 1.0);
}

#[tokio::test(start_paused = true)]
async fn messages_from_outside_any_process_count_as_outside() {
    let rt = runtime();
    let c = rt.start::<Sink>(()).await.unwrap();
    for i in 0..4 * EVERY {
        c.cast(i).await.unwrap();
    }
    let (senders, _, _, _) = read(&c.cell);
    assert_eq!(pids(&senders), [None]);
    assert_eq!(senders[0].sampled, 4);
}

#[tokio::test(start_paused = true)]
async fn many_senders_stay_within_the_table_and_the_heavy_one_on_top() {
    let rt = runtime();
    let c = rt.start::<Sink>(()).await.unwrap();
    let heavy = rt.start::<Sender>(c.clone()).await.unwrap();
    heavy.call(20 * EVERY).await.unwrap();
    for _ in 0..3 * SLOTS {
        let s = rt.start::<Sender>(c.clone()).await.unwrap();
        s.call(EVERY).await.unwrap();
    }
    let (senders, _, _, _) = read(&c.cell);
    assert_eq!(senders.len(), SLOTS);
    assert_eq!(senders[0].pid, Some(heavy.pid()));
    assert_eq!(senders[0].sampled, 20);
    let total = (20 + 3 * SLOTS) as f32;
    assert!(
        (senders[0].share - 20.0 / total).abs() < 1e-6,
        "the share is of everything noted, the senders that fell out included"
    );
}

#[tokio::test(start_paused = true)]
async fn talkers_fade_after_two_quiet_generations() {
    let rt = runtime();
    let c = rt.start::<Sink>(()).await.unwrap();
    let a = rt.start::<Sender>(c.clone()).await.unwrap();
    a.call(8 * EVERY).await.unwrap();
    let generation = Duration::from_nanos(GENERATION_NS);

    tokio::time::advance(generation).await;
    let (senders, _, window_ms, _) = read(&c.cell);
    assert_eq!(pids(&senders), [Some(a.pid())], "still in the window");
    assert!(window_ms >= GENERATION_NS / 1_000_000);

    tokio::time::advance(generation).await;
    let (senders, _, _, _) = read(&c.cell);
    assert!(senders.is_empty(), "faded: {senders:?}");
    let (_, receivers, _, _) = read(&a.cell);
    assert!(receivers.is_empty(), "the sender's side fades too");
}

#[tokio::test(start_paused = true)]
async fn an_idle_process_has_no_table() {
    let rt = runtime();
    let c = rt.start::<Sink>(()).await.unwrap();
    for i in 0..EVERY - 1 {
        c.cast(i).await.unwrap();
    }
    assert!(
        c.cell.talkers.get().is_none(),
        "allocated on the first sampled message only"
    );
    assert_eq!(read(&c.cell).0, []);
}

#[test]
fn a_full_table_keeps_its_counts_space_saving() {
    let mut t = Table::default();
    for pid in 1..=SLOTS as u64 {
        t.note(pid, 1);
    }
    t.note(1, 1);
    t.note(99, 1);
    let (top, _) = t.read(1);
    assert_eq!(top.len(), SLOTS);
    assert_eq!((top[0].pid, top[0].sampled), (Some(Pid(1)), 2));
    assert!(
        top.iter().any(|t| t.pid == Some(Pid(99)) && t.sampled == 2),
        "the newcomer took a smallest entry's place and count plus one: {top:?}"
    );
}
