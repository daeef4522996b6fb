//! The trace's safety rules, translated from recon_trace's: a count limit, a time limit, a rate
//! limit that says it tripped, one process only (never everything), a bounded buffer; and what
//! an event says. All on tokio's paused clock.

use super::*;
use crate::{CallReply, Ctx, GenServer, InitError, Message, Next, Runtime, ServerRef, SpawnOpts};
use std::time::Duration;

/// A server that opts in to showing its messages, and redacts one.
struct Ledger {
    total: u64,
}

#[derive(Debug)]
enum Cmd {
    Add(u64),
    Login(String),
}

impl GenServer for Ledger {
    type Args = ();
    type Call = u64;
    type Reply = u64;
    type Cast = Cmd;
    type Info = ();

    async fn init(_: (), _: &mut Ctx<Self>) -> Result<Self, InitError> {
        Ok(Ledger { total: 0 })
    }

    async fn handle_call(&mut self, add: u64, _: &mut Ctx<Self>) -> CallReply<u64> {
        self.total += add;
        CallReply::reply(self.total)
    }

    async fn handle_cast(&mut self, cmd: Cmd, _: &mut Ctx<Self>) -> Next {
        match cmd {
            Cmd::Add(n) => self.total += n,
            Cmd::Login(user) => tracing::debug!(%user, "login"),
        }
        Next::noreply()
    }

    fn format_message(msg: Message<'_, Self>) -> Option<String> {
        Some(match msg {
            Message::Cast(Cmd::Login(_)) => "Login(<redacted>)".into(),
            other => format!("{other:?}"),
        })
    }
}

/// A server that forwards each cast to the ledger, and does not opt in to text.
struct Clerk {
    ledger: ServerRef<Ledger>,
}

impl GenServer for Clerk {
    type Args = ServerRef<Ledger>;
    type Call = ();
    type Reply = ();
    type Cast = u64;
    type Info = ();

    async fn init(ledger: ServerRef<Ledger>, _: &mut Ctx<Self>) -> Result<Self, InitError> {
        Ok(Clerk { ledger })
    }

    async fn handle_call(&mut self, _: (), _: &mut Ctx<Self>) -> CallReply<()> {
        CallReply::reply(())
    }

    async fn handle_cast(&mut self, n: u64, _: &mut Ctx<Self>) -> Next {
        let _ = self.ledger.cast(Cmd::Add(n)).await;
        Next::noreply()
    }
}

fn runtime() -> Runtime {
    Runtime::builder().observe_from_env(false).build()
}

fn spec(max_events: u64, max_ms: u64, rate_per_s: u32) -> TraceSpec {
    TraceSpec {
        max_events,
        max_ms,
        rate_per_s,
    }
}

/// Everything the trace holds now: its events and how it ended.
fn drain(trace: &Trace) -> (Vec<TraceEvent>, u64, Option<String>) {
    let (mut events, mut dropped, mut ended) = (Vec::new(), 0, None);
    while let Some(b) = trace.try_next() {
        events.extend(b.events);
        dropped += b.dropped;
        ended = ended.or(b.ended);
    }
    (events, dropped, ended)
}

async fn ledger(rt: &Runtime) -> ServerRef<Ledger> {
    rt.start_with::<Ledger>((), SpawnOpts::new().name("ledger"))
        .await
        .unwrap()
}

/// recon_trace: `calls(Spec, 10)` prints at most 10 traces, then stops tracing.
#[tokio::test(start_paused = true)]
async fn calls_with_a_count_stops_after_n_events() {
    let rt = runtime();
    let l = ledger(&rt).await;
    let trace = rt.trace(TraceTarget::Pid(l.pid()), spec(5, 0, 0)).unwrap();
    for n in 0..10 {
        l.cast(Cmd::Add(n)).await.unwrap();
    }
    l.call(0).await.unwrap();
    let (events, _, ended) = drain(&trace);
    assert_eq!(events.len(), 5);
    assert_eq!(ended.as_deref(), Some("event limit reached"));
    assert!(
        !l.cell.traced.load(Relaxed),
        "the process is no longer traced"
    );
    assert!(rt.trace(TraceTarget::Pid(l.pid()), spec(0, 0, 0)).is_ok());
}

/// recon_trace: `calls(Spec, {Max, Time})` also stops after its time, here with no message at
/// all (the process is idle: nothing on the message path can notice the deadline).
#[tokio::test(start_paused = true)]
async fn a_trace_stops_after_its_time_even_when_idle() {
    let rt = runtime();
    let l = ledger(&rt).await;
    let trace = rt
        .trace(TraceTarget::Pid(l.pid()), spec(0, 1000, 0))
        .unwrap();
    tokio::time::sleep(Duration::from_millis(999)).await;
    assert!(!trace.has_ended());
    tokio::time::sleep(Duration::from_millis(2)).await;
    let batch = trace.next().await.expect("the final batch");
    assert_eq!(batch.ended.as_deref(), Some("time limit reached"));
    assert_eq!(trace.next().await, None);
    assert!(!l.cell.traced.load(Relaxed));
}

/// The default time limit is 30 s.
#[tokio::test(start_paused = true)]
async fn the_default_limits_are_small() {
    let rt = runtime();
    let l = ledger(&rt).await;
    let trace = rt.trace(TraceTarget::Pid(l.pid()), spec(0, 0, 0)).unwrap();
    assert_eq!(trace.spec(), spec(1000, 30_000, 500));
    tokio::time::sleep(Duration::from_secs(30)).await;
    tokio::task::yield_now().await;
    assert!(trace.has_ended());
    let huge = rt
        .trace(
            TraceTarget::Pid(l.pid()),
            spec(u64::MAX, u64::MAX, u32::MAX),
        )
        .unwrap();
    assert_eq!(
        huge.spec(),
        spec(limits::MAX_EVENTS, limits::MAX_MS, limits::MAX_RATE)
    );
}

/// recon_trace: `calls(Spec, {10, 1000})` stops when more than 10 calls come within a second,
/// and says so.
#[tokio::test(start_paused = true)]
async fn the_rate_limit_trips_and_says_so() {
    let rt = runtime();
    let l = ledger(&rt).await;
    let trace = rt.trace(TraceTarget::Pid(l.pid()), spec(0, 0, 10)).unwrap();
    for n in 0..50 {
        l.cast(Cmd::Add(n)).await.unwrap();
    }
    l.call(0).await.unwrap();
    let (events, _, ended) = drain(&trace);
    assert_eq!(events.len(), 10, "one second's worth of tokens");
    let ended = ended.expect("ended");
    assert!(ended.starts_with("rate limit tripped"), "{ended}");
    assert!(!l.cell.traced.load(Relaxed));
}

/// Below the rate, the bucket refills: 8 events/s for 7.5 s never trip a limit of 10/s.
#[tokio::test(start_paused = true)]
async fn the_rate_limit_refills() {
    let rt = runtime();
    let l = ledger(&rt).await;
    let trace = rt.trace(TraceTarget::Pid(l.pid()), spec(0, 0, 10)).unwrap();
    for n in 0..30 {
        l.call(n).await.unwrap();
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let (events, _, ended) = drain(&trace);
    assert_eq!(ended, None);
    assert_eq!(events.len(), 60, "each call in and its reply out");
}

/// recon_trace refuses to trace every module and function (`{'_', '_', '_'}`): so does this.
#[tokio::test(start_paused = true)]
async fn tracing_every_process_is_refused() {
    let rt = runtime();
    let _l = ledger(&rt).await;
    let err = rt.trace(TraceTarget::All, spec(0, 0, 0)).unwrap_err();
    assert!(err.0.starts_with("refused"), "{err}");
    assert!(!rt.shared.traces.active());
    let err = rt
        .trace(TraceTarget::Name("*".into()), spec(0, 0, 0))
        .unwrap_err();
    assert!(err.0.contains("nothing is registered"), "{err}");
}

/// One trace per process at a time; by name works.
#[tokio::test(start_paused = true)]
async fn one_trace_per_process_by_pid_or_name() {
    let rt = runtime();
    let l = ledger(&rt).await;
    let first = rt
        .trace(TraceTarget::Name("ledger".into()), spec(0, 0, 0))
        .unwrap();
    assert_eq!(first.pid(), l.pid());
    let err = rt
        .trace(TraceTarget::Pid(l.pid()), spec(0, 0, 0))
        .unwrap_err();
    assert!(err.0.contains("already traced"), "{err}");
    drop(first);
    assert!(!l.cell.traced.load(Relaxed), "dropping the handle stops it");
    assert!(rt.trace(TraceTarget::Pid(l.pid()), spec(0, 0, 0)).is_ok());
}

/// Each event says direction, kind, type, size, peer, handle time, and text only by consent
/// (redacted by the server's hook).
#[tokio::test(start_paused = true)]
async fn events_say_who_what_and_how_long() {
    let rt = runtime();
    let l = ledger(&rt).await;
    let clerk = rt
        .start_with::<Clerk>(l.clone(), SpawnOpts::new().name("clerk"))
        .await
        .unwrap();
    let on_ledger = rt.trace(TraceTarget::Pid(l.pid()), spec(0, 0, 0)).unwrap();
    let on_clerk = rt
        .trace(TraceTarget::Pid(clerk.pid()), spec(0, 0, 0))
        .unwrap();
    clerk.cast(7).await.unwrap();
    clerk.call(()).await.unwrap();
    l.cast(Cmd::Login("hunter2".into())).await.unwrap();
    assert_eq!(l.call(1).await.unwrap(), 8);

    let (events, dropped, ended) = drain(&on_ledger);
    assert_eq!((dropped, ended), (0, None));
    let add = &events[0];
    assert_eq!(add.direction, Direction::In);
    assert_eq!(add.kind, TraceKind::Cast);
    assert_eq!(add.type_name, "Cmd");
    assert_eq!(add.bytes, std::mem::size_of::<Cmd>() as u64);
    assert_eq!(add.peer, Some(clerk.pid()));
    assert_eq!(add.peer_name.as_deref(), Some("clerk"));
    assert_eq!(add.handle_us, Some(0));
    assert_eq!(add.text.as_deref(), Some("Add(7)"));
    assert_eq!(events[1].text.as_deref(), Some("Login(<redacted>)"));
    assert_eq!(events[1].peer, None, "sent from a plain task");
    let kinds: Vec<_> = events[2..]
        .iter()
        .map(|e| (e.direction, e.kind, e.type_name.as_str(), e.text.as_deref()))
        .collect();
    assert_eq!(
        kinds,
        vec![
            (Direction::Out, TraceKind::Reply, "u64", Some("8")),
            (Direction::In, TraceKind::Call, "u64", Some("1")),
        ]
    );

    let (events, _, _) = drain(&on_clerk);
    let summary: Vec<_> = events
        .iter()
        .map(|e| {
            (
                e.direction,
                e.kind,
                e.type_name.as_str(),
                e.peer_label(),
                e.text.clone(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (
                Direction::Out,
                TraceKind::Cast,
                "Cmd",
                "ledger".to_string(),
                Some("Add(7)".into())
            ),
            (Direction::In, TraceKind::Cast, "u64", "?".to_string(), None),
            (
                Direction::Out,
                TraceKind::Reply,
                "()",
                "?".to_string(),
                None
            ),
            (Direction::In, TraceKind::Call, "()", "?".to_string(), None),
        ],
        "the clerk did not opt in: no text for its own messages"
    );
}

/// Handle time is the callback's, on the paused clock.
#[tokio::test(start_paused = true)]
async fn handle_time_is_measured() {
    struct Slow;
    impl GenServer for Slow {
        type Args = ();
        type Call = ();
        type Reply = ();
        type Cast = ();
        type Info = ();
        async fn init(_: (), _: &mut Ctx<Self>) -> Result<Self, InitError> {
            Ok(Slow)
        }
        async fn handle_call(&mut self, _: (), _: &mut Ctx<Self>) -> CallReply<()> {
            tokio::time::sleep(Duration::from_millis(3)).await;
            CallReply::reply(())
        }
    }
    let rt = runtime();
    let s = rt.start::<Slow>(()).await.unwrap();
    let trace = rt.trace(TraceTarget::Pid(s.pid()), spec(0, 0, 0)).unwrap();
    s.call(()).await.unwrap();
    let (events, _, _) = drain(&trace);
    assert_eq!(events.last().unwrap().handle_us, Some(3000));
}

/// A full buffer drops its oldest events and counts them.
#[tokio::test(start_paused = true)]
async fn the_buffer_is_bounded_and_counts_what_it_dropped() {
    let rt = runtime();
    let l = ledger(&rt).await;
    let trace = rt
        .trace(TraceTarget::Pid(l.pid()), spec(5000, 0, 5000))
        .unwrap();
    for n in 0..1100 {
        l.cast(Cmd::Add(n)).await.unwrap();
    }
    l.call(0).await.unwrap();
    let (events, dropped, _) = drain(&trace);
    assert_eq!(events.len(), limits::RING);
    assert_eq!(dropped, 1102 - limits::RING as u64);
    assert_eq!(events.last().unwrap().kind, TraceKind::Call);
}

/// The traced process exits: the trace ends and says so.
#[tokio::test(start_paused = true)]
async fn an_exit_ends_the_trace() {
    let rt = runtime();
    let l = ledger(&rt).await;
    let trace = rt.trace(TraceTarget::Pid(l.pid()), spec(0, 0, 0)).unwrap();
    l.stop(crate::ExitReason::Normal, None).await.unwrap();
    let (_, _, ended) = drain(&trace);
    assert_eq!(ended.as_deref(), Some("process exited"));
    assert!(!rt.shared.traces.active());
}

#[test]
fn type_labels_keep_the_last_segment() {
    assert_eq!(type_label::<Cmd>(), "Cmd");
    assert_eq!(type_label::<u64>(), "u64");
    assert_eq!(type_label::<Vec<String>>(), "Vec<String>");
    assert_eq!(
        type_label::<Result<Cmd, crate::CallError>>(),
        "Result<Cmd, CallError>"
    );
}

/// 40 ms per call, as the demo's bottleneck ledger.
struct SlowLedger;

impl GenServer for SlowLedger {
    type Args = ();
    type Call = u64;
    type Reply = u64;
    type Cast = ();
    type Info = ();

    async fn init(_: (), _: &mut Ctx<Self>) -> Result<Self, InitError> {
        Ok(SlowLedger)
    }

    async fn handle_call(&mut self, n: u64, _: &mut Ctx<Self>) -> CallReply<u64> {
        tokio::time::sleep(Duration::from_millis(40)).await;
        CallReply::reply(n)
    }
}

/// Makes as many calls to the slow ledger as each cast asks, one after the other.
struct Poster {
    ledger: ServerRef<SlowLedger>,
}

impl GenServer for Poster {
    type Args = ServerRef<SlowLedger>;
    type Call = ();
    type Reply = ();
    type Cast = u64;
    type Info = ();

    async fn init(ledger: ServerRef<SlowLedger>, _: &mut Ctx<Self>) -> Result<Self, InitError> {
        Ok(Poster { ledger })
    }

    async fn handle_cast(&mut self, n: u64, _: &mut Ctx<Self>) -> Next {
        for i in 0..n {
            let _ = self.ledger.call(i).await;
        }
        Next::noreply()
    }
}

/// A trace switched on in the middle of a batch of slow calls (as a user tracing the demo's
/// bottleneck does): every reply names the process it goes to, the caller of the call noted
/// just after it; none shows `?`. It used to note the batch's replies without their calls (the
/// process looked for its trace once per batch), so without a caller. And the trace starts
/// within 8 messages, not at the next batch: here all 30 calls are one batch.
#[tokio::test(start_paused = true)]
async fn a_reply_names_its_caller_when_the_trace_begins_mid_batch() {
    let rt = runtime();
    let l = rt
        .start_with::<SlowLedger>((), SpawnOpts::new().name("slow"))
        .await
        .unwrap();
    let mut posters = Vec::new();
    for i in 0..3 {
        let p = rt
            .start_with::<Poster>(l.clone(), SpawnOpts::new().name(format!("poster-{i}")))
            .await
            .unwrap();
        p.cast(10).await.unwrap();
        posters.push(p);
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let trace = rt.trace(TraceTarget::Pid(l.pid()), spec(0, 0, 0)).unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(l.info().handled_calls, 30, "all done");
    let (events, _, _) = drain(&trace);
    let replies: Vec<usize> = (0..events.len())
        .filter(|&i| events[i].kind == TraceKind::Reply)
        .collect();
    assert!(
        replies.len() >= 10,
        "the trace began within the batch: {} replies",
        replies.len()
    );
    let pids: Vec<_> = posters.iter().map(|p| Some(p.pid())).collect();
    for i in replies {
        let (reply, call) = (&events[i], &events[i + 1]);
        assert!(pids.contains(&reply.peer), "reply {i} to {:?}", reply.peer);
        assert!(reply.peer_name.as_deref().unwrap().starts_with("poster-"));
        assert_eq!(
            (call.kind, call.direction, call.peer),
            (TraceKind::Call, Direction::In, reply.peer),
            "the reply goes to the caller of the call noted after it"
        );
    }
}
