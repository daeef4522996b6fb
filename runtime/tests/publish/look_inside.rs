//! Looking inside a process (issue 19): messages by type, the queue peek, `format_status`.

use crate::support::*;
use beamline::wire::{ControlReply, ControlRequest, MsgKind, Pid, TypeCount};
use beamline::{CallReply, Ctx, FormatStatus, GenServer, InitError, Message, Next, VariantNames};
use std::time::Duration;

/// Calls named through `MESSAGE_VARIANTS`, casts left numbered.
struct Ledger;

enum Cmd {
    /// Takes 10 ms of the process's time.
    Slow,
    Fast,
}

#[derive(Debug)]
enum Note {
    /// Sleeps this long inside the callback.
    Block(Duration),
    Plain(#[allow(dead_code)] u64),
}

impl GenServer for Ledger {
    type Args = ();
    type Call = Cmd;
    type Reply = ();
    type Cast = Note;
    type Info = ();
    const MESSAGE_VARIANTS: VariantNames = VariantNames {
        call: &["Slow", "Fast"],
        ..VariantNames::NONE
    };

    async fn init(_: (), _: &mut Ctx<Self>) -> Result<Self, InitError> {
        Ok(Ledger)
    }
    async fn handle_call(&mut self, msg: Cmd, _: &mut Ctx<Self>) -> CallReply<()> {
        if let Cmd::Slow = msg {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        CallReply::reply(())
    }
    async fn handle_cast(&mut self, msg: Note, _: &mut Ctx<Self>) -> Next {
        if let Note::Block(d) = msg {
            tokio::time::sleep(d).await;
        }
        Next::noreply()
    }
    fn format_message(msg: Message<'_, Self>) -> Option<String> {
        match msg {
            Message::Cast(n) => Some(format!("{n:?}")),
            _ => None,
        }
    }
}

fn count<'a>(types: &'a [TypeCount], name: &str) -> &'a TypeCount {
    types
        .iter()
        .find(|t| t.name == name)
        .unwrap_or_else(|| panic!("no {name} in {types:?}"))
}

/// Each call is a batch of its own, so each type's time is exact on the paused clock.
#[tokio::test(start_paused = true)]
async fn messages_are_counted_per_type_with_their_handle_time() {
    let rt = runtime(1000);
    let obs = rt.observe();
    let ledger = rt.start::<Ledger>(()).await.unwrap();
    ledger.cast(Note::Plain(1)).await.unwrap();
    // In one batch with the cast: a batch's time is shared by its messages.
    ledger.call(Cmd::Fast).await.unwrap();
    for _ in 0..3 {
        ledger.call(Cmd::Slow).await.unwrap();
    }
    for _ in 0..2 {
        ledger.call(Cmd::Fast).await.unwrap();
    }
    let ask = ControlRequest::MessageTypes {
        pids: vec![ledger.pid(), Pid(999)],
    };
    let ControlReply::MessageTypes(mut all) = obs.control(ask.clone()).await else {
        panic!()
    };
    assert_eq!(all.len(), 1, "an unknown pid is left out");
    let types = all.remove(0).types;
    let slow = count(&types, "Cmd::Slow");
    assert_eq!((slow.kind, slow.count), (MsgKind::Call, 3));
    assert_eq!(slow.busy_ns, 30_000_000);
    assert_eq!(slow.max_ns, 10_000_000);
    let fast = count(&types, "Cmd::Fast");
    assert_eq!((fast.count, fast.busy_ns), (3, 0));
    // One variant of `Note` seen: named by its type alone.
    assert_eq!(count(&types, "Note").count, 1);
    ledger.cast(Note::Block(Duration::ZERO)).await.unwrap();
    ledger.call(Cmd::Fast).await.unwrap();
    let ControlReply::MessageTypes(all) = obs.control(ask).await else {
        panic!()
    };
    let types = &all[0].types;
    assert_eq!(count(types, "Note#1").count, 1, "variants numbered");
    assert_eq!(count(types, "Cmd::Fast").count, 4);
    assert_eq!(count(types, "Note#0").count, 1);
    assert_eq!(types.len(), 4);
}

/// Messages of one type taken in a row are added to the table as a run: interleaved types in
/// one batch, and a run that the next batch continues, still count exactly, and so do the
/// counts by kind.
#[tokio::test(start_paused = true)]
async fn runs_of_one_type_count_exactly_when_types_interleave() {
    let rt = runtime(1000);
    let obs = rt.observe();
    let ledger = rt.start::<Ledger>(()).await.unwrap();
    // Queued before the process runs: one batch of Plain, Plain, Block, Plain, Block, Block.
    for n in [
        Note::Plain(1),
        Note::Plain(2),
        Note::Block(Duration::ZERO),
        Note::Plain(3),
        Note::Block(Duration::ZERO),
        Note::Block(Duration::ZERO),
    ] {
        ledger.try_cast(n).unwrap();
    }
    ledger.call(Cmd::Fast).await.unwrap();
    // A batch of its own, continuing the last run's type.
    ledger.call(Cmd::Fast).await.unwrap();
    let ControlReply::MessageTypes(all) = obs
        .control(ControlRequest::MessageTypes {
            pids: vec![ledger.pid()],
        })
        .await
    else {
        panic!()
    };
    let types = &all[0].types;
    assert_eq!(count(types, "Note#1").count, 3);
    assert_eq!(count(types, "Note#0").count, 3);
    assert_eq!(count(types, "Cmd::Fast").count, 2);
    let info = ledger.info();
    assert_eq!((info.handled_casts, info.handled_calls), (6, 2));
}

/// More types than the table's slots count together as `other`; a non-enum is one type.
#[tokio::test(start_paused = true)]
async fn types_past_the_table_count_as_other() {
    #[derive(Clone, Copy)]
    enum Many {
        V0,
        V1,
        V2,
        V3,
        V4,
        V5,
        V6,
        V7,
        V8,
        V9,
        V10,
        V11,
        V12,
        V13,
        V14,
        V15,
        V16,
        V17,
    }
    struct Wide;
    impl GenServer for Wide {
        type Args = ();
        type Call = ();
        type Reply = ();
        type Cast = Many;
        type Info = u8;
        async fn init(_: (), _: &mut Ctx<Self>) -> Result<Self, InitError> {
            Ok(Wide)
        }
        async fn handle_cast(&mut self, _: Many, _: &mut Ctx<Self>) -> Next {
            Next::noreply()
        }
        async fn handle_info(&mut self, _: beamline::Info<u8>, _: &mut Ctx<Self>) -> Next {
            Next::noreply()
        }
    }
    let rt = runtime(1000);
    let obs = rt.observe();
    let w = rt.start::<Wide>(()).await.unwrap();
    for i in 0..3u8 {
        w.send(i).unwrap();
    }
    for m in [
        Many::V0,
        Many::V1,
        Many::V2,
        Many::V3,
        Many::V4,
        Many::V5,
        Many::V6,
        Many::V7,
        Many::V8,
        Many::V9,
        Many::V10,
        Many::V11,
        Many::V12,
        Many::V13,
        Many::V14,
        Many::V15,
        Many::V16,
        Many::V17,
    ] {
        w.cast(m).await.unwrap();
    }
    w.call(()).await.ok();
    let ControlReply::MessageTypes(all) = obs
        .control(ControlRequest::MessageTypes {
            pids: vec![w.pid()],
        })
        .await
    else {
        panic!()
    };
    let types = &all[0].types;
    assert_eq!(count(types, "u8").count, 3, "whatever the value");
    assert_eq!(count(types, "Many#0").count, 1);
    assert_eq!(count(types, "Many#14").count, 1);
    // 16 slots: u8, Many#0..=14; then Many#15..=17 and the call.
    assert_eq!(count(types, "other").count, 4);
    assert_eq!(types.len(), 17);
}

/// A process blocked in a callback: the peek shows the first messages behind it, oldest first,
/// with exact ages for stamped messages and lower bounds for those ahead of one.
#[tokio::test(start_paused = true)]
async fn peek_returns_the_first_messages_with_their_ages() {
    let rt = runtime(1000);
    let obs = rt.observe();
    let ledger = rt.start::<Ledger>(()).await.unwrap();
    ledger
        .cast(Note::Block(Duration::from_secs(10)))
        .await
        .unwrap();
    tokio::task::yield_now().await; // it takes the blocking message and sleeps
    // Messages 2..=40; about one in 32 is stamped: the 32nd queued overall.
    for i in 2..=40u64 {
        tokio::time::advance(Duration::from_millis(1)).await;
        ledger.cast(Note::Plain(i)).await.unwrap();
    }
    tokio::time::advance(Duration::from_millis(100)).await;
    let peek = |n| {
        obs.control(ControlRequest::PeekQueue {
            pid: ledger.pid(),
            n,
        })
    };
    let ControlReply::Queue(q) = peek(5).await else {
        panic!()
    };
    assert_eq!((q.queued, q.in_batch), (39, 0));
    let texts: Vec<_> = q.messages.iter().map(|m| m.text.clone().unwrap()).collect();
    assert_eq!(
        texts,
        ["Plain(2)", "Plain(3)", "Plain(4)", "Plain(5)", "Plain(6)"]
    );
    assert_eq!(q.messages[0].name, "Note#1");
    assert_eq!(q.messages[0].bytes, std::mem::size_of::<Note>() as u64);
    // Message 32 was sent 8 + 100 ms ago; those ahead of it are at least that old.
    for m in &q.messages {
        assert_eq!((m.age_us, m.age_exact), (Some(108_000), false));
    }
    let ControlReply::Queue(q) = peek(1000).await else {
        panic!()
    };
    assert_eq!(q.messages.len(), 32, "capped at MAX_PEEK");
    let m32 = &q.messages[30];
    assert_eq!(m32.text.as_deref(), Some("Plain(32)"));
    assert_eq!((m32.age_us, m32.age_exact), (Some(108_000), true));
    assert_eq!(q.messages[31].age_us, None, "nothing stamped behind it");
}

/// A vault that shows its state with the password redacted (OTP's `format_status/1`).
struct Vault {
    user: String,
    password: String,
}

impl GenServer for Vault {
    type Args = ();
    type Call = ();
    type Reply = ();
    type Cast = ();
    type Info = ();
    const INSPECTABLE: bool = true;

    async fn init(_: (), _: &mut Ctx<Self>) -> Result<Self, InitError> {
        Ok(Vault {
            user: "alice".into(),
            password: "hunter2".into(),
        })
    }
    fn inspect(&self) -> String {
        format!("user={} password={}", self.user, self.password)
    }
    fn format_status(&self, mut status: FormatStatus) -> FormatStatus {
        status.state = status.state.replace(&self.password, "<redacted>");
        status
    }
}

#[tokio::test(start_paused = true)]
async fn format_status_redacts_the_rendered_state() {
    let rt = runtime(1000);
    let obs = rt.observe();
    let v = rt.start::<Vault>(()).await.unwrap();
    assert_eq!(
        obs.control(ControlRequest::RenderState { pid: v.pid() })
            .await,
        ControlReply::State("user=alice password=<redacted>".into())
    );
}

/// Messages are not rendered unless the process says how (`format_message`).
#[tokio::test(start_paused = true)]
async fn peeked_messages_have_no_text_unless_the_process_renders_them() {
    let rt = runtime(1000);
    let obs = rt.observe();
    let w = rt.start::<Worker>(()).await.unwrap();
    w.cast(Work::Busy(Duration::from_secs(1))).await.unwrap();
    tokio::task::yield_now().await;
    w.cast(Work::Log("secret".into())).await.unwrap();
    let ControlReply::Queue(q) = obs
        .control(ControlRequest::PeekQueue { pid: w.pid(), n: 4 })
        .await
    else {
        panic!()
    };
    assert_eq!(q.messages.len(), 1);
    assert_eq!(q.messages[0].text, None);
    assert_eq!(
        q.messages[0].name, "Work#1",
        "numbered: another variant was seen"
    );
}
