//! Issue 20, OpenTelemetry: per-message spans (feature `otlp`, `Builder::message_spans`).
//! Each message is a root span `beamline.message` that follows from its process's
//! `beamline.process` span, so the messages of one long-lived process are siblings, never a
//! chain or one ever-growing trace (kameo's issue #381); off by default. Recorded with a
//! `tracing` layer installed for this thread (the processes run on this current-thread runtime).

use std::sync::{Arc, Mutex};
use tracing::Instrument;
use tracing::span::{Attributes, Id};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::prelude::*;
use tracing_subscriber::registry::LookupSpan;

/// A span as opened: its name, its parent, and how many spans enclose it.
#[derive(Clone, Debug)]
struct Opened {
    id: u64,
    name: &'static str,
    parent: Option<u64>,
    depth: usize,
}

#[derive(Clone, Default)]
struct Recorder {
    opened: Arc<Mutex<Vec<Opened>>>,
    follows: Arc<Mutex<Vec<(u64, u64)>>>,
}

impl<S: tracing::Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Recorder {
    fn on_new_span(&self, _: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let span = ctx.span(id).unwrap();
        self.opened.lock().unwrap().push(Opened {
            id: id.into_u64(),
            name: span.name(),
            parent: span.parent().map(|p| p.id().into_u64()),
            depth: span.scope().skip(1).count(),
        });
    }

    fn on_follows_from(&self, span: &Id, follows: &Id, _: Context<'_, S>) {
        self.follows
            .lock()
            .unwrap()
            .push((span.into_u64(), follows.into_u64()));
    }
}

/// Opens a span of its own in each cast, as application code does.
struct Traced;

impl beamline::GenServer for Traced {
    type Args = ();
    type Call = ();
    type Reply = ();
    type Cast = ();
    type Info = ();

    async fn init(_: (), _: &mut beamline::Ctx<Self>) -> Result<Self, beamline::InitError> {
        Ok(Traced)
    }
    async fn handle_call(&mut self, _: (), _: &mut beamline::Ctx<Self>) -> beamline::CallReply<()> {
        beamline::CallReply::reply(())
    }
    async fn handle_cast(&mut self, _: (), _: &mut beamline::Ctx<Self>) -> beamline::Next {
        tracing::info_span!("app.work").in_scope(|| {});
        beamline::Next::noreply()
    }
}

fn runtime(spans: bool) -> beamline::Runtime {
    beamline::Runtime::builder()
        .node("spans")
        .observe_from_env(false)
        .metrics_from_env(false)
        .message_spans(spans)
        .build()
}

#[tokio::test]
async fn each_message_is_a_root_span_following_from_its_process() {
    let rec = Recorder::default();
    let _guard = tracing_subscriber::registry()
        .with(rec.clone())
        .set_default();
    let rt = runtime(true);
    let p = rt.start::<Traced>(()).await.unwrap();
    // An outer span in the sender must not become the messages' parent either.
    let outer = tracing::info_span!("sender");
    async {
        for _ in 0..50 {
            p.cast(()).await.unwrap();
        }
        p.call(()).await.unwrap();
    }
    .instrument(outer)
    .await;

    let opened = rec.opened.lock().unwrap().clone();
    let messages: Vec<_> = opened
        .iter()
        .filter(|s| s.name == "beamline.message")
        .collect();
    assert_eq!(messages.len(), 51, "one span per message: {opened:?}");
    assert!(
        messages.iter().all(|m| m.parent.is_none() && m.depth == 0),
        "message spans are roots, siblings of each other: {messages:?}"
    );
    let process: Vec<_> = opened
        .iter()
        .filter(|s| s.name == "beamline.process")
        .collect();
    assert_eq!(process.len(), 1, "{opened:?}");
    let follows = rec.follows.lock().unwrap().clone();
    for m in &messages {
        assert!(
            follows.contains(&(m.id, process[0].id)),
            "{m:?} is linked to its process"
        );
    }
    // What the callback opens is a child of its message, one level down: depth stays bounded
    // however many messages the process has handled.
    let work: Vec<_> = opened.iter().filter(|s| s.name == "app.work").collect();
    assert_eq!(work.len(), 50);
    for w in work {
        assert_eq!(w.depth, 1, "{w:?}");
        let parent = w.parent.unwrap();
        assert!(messages.iter().any(|m| m.id == parent), "{w:?}");
    }
}

#[tokio::test]
async fn message_spans_are_off_by_default() {
    let rec = Recorder::default();
    let _guard = tracing_subscriber::registry()
        .with(rec.clone())
        .set_default();
    let rt = runtime(false);
    let p = rt.start::<Traced>(()).await.unwrap();
    p.cast(()).await.unwrap();
    p.call(()).await.unwrap();
    let opened = rec.opened.lock().unwrap().clone();
    assert!(
        opened.iter().all(|s| !s.name.starts_with("beamline.")),
        "{opened:?}"
    );
    assert_eq!(opened.iter().filter(|s| s.name == "app.work").count(), 1);
}
