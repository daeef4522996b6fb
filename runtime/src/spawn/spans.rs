//! Per-message spans (feature `otlp`, on with `Builder::message_spans`): each message a
//! process handles runs in a root span `beamline.message` of its own that *follows from* the
//! process's `beamline.process` span. A child-of-the-process design would put every message
//! of a long-lived process in one trace that grows without end (kameo learned this in its
//! issue #381); as siblings with a link, each trace is one message, and the span tree's depth
//! stays bounded (the message span, plus what the callback opens itself).
//!
//! Only messages from the mailbox get spans; system messages (exit signals, downs) and idle
//! timeouts do not. The choice is made once per process at spawn (a loop with this
//! [`Spanned`] handler, or the plain one): with the switch off the message path is the plain
//! loop, unchanged; without the feature this file is not compiled.

use super::core::Core;
use super::dispatch::{Event, Flow, handle as dispatch};
use super::process_loop::Handler;
use crate::handle::Envelope;
use crate::server::GenServer;
use tracing::Instrument;

/// The loop's [`Handler`] for runtimes built with `message_spans(true)`.
pub(super) struct Spanned;

impl Handler for Spanned {
    // Every message, casts included, runs inside its span.
    const DIRECT_CASTS: bool = false;

    async fn handle<S: GenServer>(core: &mut Core<S>, event: Event<S>) -> Flow {
        match message_span(core, &event) {
            Some(span) => dispatch(core, event).instrument(span).await,
            None => dispatch(core, event).await,
        }
    }
}

/// The span of a message from the mailbox, following from its process's span; `None` for
/// system messages and timeouts.
fn message_span<S: GenServer>(core: &Core<S>, event: &Event<S>) -> Option<tracing::Span> {
    let kind = match event {
        Event::Msg(Envelope::Call(..)) => "call",
        Event::Msg(Envelope::Cast(..)) => "cast",
        Event::Msg(Envelope::Info(..)) => "info",
        _ => return None,
    };
    let cell = &core.cell;
    let behaviour = std::any::type_name::<S>();
    let span = tracing::info_span!(
        parent: None,
        "beamline.message",
        pid = %cell.pid,
        behaviour,
        kind,
    );
    let process = cell.span.get_or_init(|| {
        Box::new(tracing::info_span!(
            parent: None,
            "beamline.process",
            pid = %cell.pid,
            behaviour,
        ))
    });
    span.follows_from(process);
    Some(span)
}
