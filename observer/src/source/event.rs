//! What every source yields and accepts: the [`Source`] trait, its events and the link state.
//! The files beside this one implement it; the rest of the observer sees only these types.

use beamline_wire::{ControlReply, ControlRequest, ServerMsg};
use std::future::Future;
use std::pin::Pin;

/// A control request in flight: `'static` so the UI loop can spawn it and keep drawing while the
/// runtime answers.
pub type ControlFuture = Pin<Box<dyn Future<Output = ControlReply> + Send + 'static>>;

/// The state of the link to the runtime, shown in the header so users know whether what they see
/// is live.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConnState {
    /// Trying to reach the runtime for the first time.
    Connecting,
    /// Handshake done; samples are flowing.
    Connected,
    /// The link dropped (or was never made); the source is retrying with backoff.
    Retrying {
        /// Why the last attempt failed, in plain words.
        reason: String,
        /// Milliseconds until the next attempt.
        retry_in_ms: u64,
        /// Whether any attempt ever succeeded: headless modes give up on a target never reached.
        ever_connected: bool,
    },
    /// The runtime refused us (wrong token, other protocol version); retrying would not help.
    Failed(String),
    /// A replay reached the end of its recording, or the embedded runtime shut down.
    Ended,
}

/// What a source hands to the observer.
#[derive(Clone, Debug, PartialEq)]
pub enum SourceEvent {
    /// A message from the runtime: `Welcome`, then a `Snapshot`, then `Delta`s.
    Msg(ServerMsg),
    /// The link changed state.
    Conn(ConnState),
    /// Everything before this is void (a replay seeked backwards): forget all history.
    Reset,
    /// Something the user must hear about that does not stop observing.
    Trouble(Trouble),
    /// A fleet's nodes as they stand, sent before each merged sample (only a
    /// [`crate::source::FleetSource`] sends it; see [`crate::source::fleet`]).
    Nodes(std::sync::Arc<crate::source::fleet::status::FleetView>),
}

/// Trouble on the observer's side, told once: the TUI keeps it on screen, headless modes end
/// with exit code 1 (see `headless`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Trouble {
    /// `--record` stopped: a write failed (a full disk) or the disk fell too far behind.
    /// Observing goes on; the recording holds what was written before.
    #[error("{0}")]
    RecordingFailed(String),
    /// The replayed recording is damaged: what came before the damage plays, nothing after.
    #[error("{0}")]
    Damaged(String),
}

/// Commands only a replay understands; live sources ignore them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Playback {
    /// Stop delivering messages.
    Pause,
    /// Continue at recorded speed from where it stopped.
    Resume,
    /// While paused, deliver the next message now.
    Step,
    /// Jump by this many milliseconds of recording time (negative: back); the replay stops at
    /// its first and last entry, so `i64::MIN` and `i64::MAX` reach them.
    Seek(i64),
    /// Play faster: 1x, 4x, 16x, then as fast as possible.
    Faster,
    /// Play slower.
    Slower,
}

/// Something that yields runtime messages and accepts control requests.
///
/// Implementations: `AttachSource` (TCP or Unix socket, with reconnect), `ReplaySource`
/// (a recording), `EmbeddedSource` (the runtime in the same process), and the `Recorded`
/// wrapper that saves whatever another source yields.
pub trait Source: Send {
    /// The next event, or `None` once the source will never yield again. (A replay at its end
    /// says [`ConnState::Ended`] and then waits: a seek can make it yield again.)
    ///
    /// Cancel safety: must be cancel safe; the UI loop polls it inside `tokio::select!` and drops
    /// the future whenever a key arrives first. Nothing may be lost when that happens.
    fn next(&mut self) -> impl Future<Output = Option<SourceEvent>> + Send;

    /// Updates this source had to drop because the observer fell behind (shown in the header).
    fn missed(&self) -> u64;

    /// Send a control request; the future resolves to the runtime's reply (or an
    /// [`ControlReply::Error`] saying why it could not be delivered).
    fn control(&self, request: ControlRequest) -> ControlFuture;

    /// Steer a replay; returns `false` for live sources, which cannot be paused or seeked.
    fn playback(&mut self, _command: Playback) -> bool {
        false
    }

    /// What the header calls this source: an address, a file name, or "embedded".
    fn describe(&self) -> String;

    /// Finish before the observer exits: a recording writes out what it holds. The loops call it
    /// once, after their last `next`; most sources have nothing to finish. Returns the trouble
    /// met while finishing, or met earlier and not yet told by `next` (a recording that could
    /// not be written out).
    ///
    /// Cancel safety: dropping the future leaves the rest to the source's own drop (a recording's
    /// writer thread still writes what it holds, if the process lives long enough).
    fn close(&mut self) -> impl Future<Output = Option<Trouble>> + Send {
        async { None }
    }
}

/// A reply for requests that cannot be delivered, e.g. to a replay.
pub(crate) fn unsupported(why: &str) -> ControlFuture {
    let why = why.to_string();
    Box::pin(async move { ControlReply::Error(why) })
}
