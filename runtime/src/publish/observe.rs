//! The local channel: [`Observation`], one subscription to the sampler's ticks, used in-process
//! (`Runtime::observe`, an embedded observer, recordings) and by each endpoint connection.
//!
//! A subscriber that falls further behind than the hub's ring ([`super::hub::TICK_BACKLOG`]
//! ticks) loses the oldest ticks; it then waits for a fresh snapshot (which the sampler builds on
//! its next tick) and [`Observation::missed`] counts what it lost.

use super::control::Controller;
use super::flight::Past;
use super::frames::{Encoded, Tick};
use super::hub::{Hub, Publish};
use super::stream::{Build, Out};
pub(crate) use super::welcome::welcome;
use crate::trace::owned::Owned;
use beamline_wire::{ControlReply, ControlRequest, ServerMsg, Welcome, frame};
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use tokio::sync::broadcast;

pub use super::control::{OBSERVER_PID, RENDER_TIMEOUT};

/// A live subscription to a runtime's samples: a [`ServerMsg::Welcome`] first, the flight
/// recorder's past ticks as [`ServerMsg::History`] (none on a runtime that was not observed or
/// serving before), then a [`ServerMsg::Snapshot`], then one [`ServerMsg::Delta`] per sampling
/// interval, with
/// [`ServerMsg::Trace`] batches in between for the message traces it started, and
/// [`ServerMsg::TypeNames`] before the first frame whose samples name a type not named before.
///
/// Created by [`crate::Runtime::observe`]. Dropping it unsubscribes; once nobody subscribes the
/// sampler goes idle.
pub struct Observation {
    publish: Arc<Publish>,
    hub: Arc<Hub>,
    rx: broadcast::Receiver<Arc<Tick>>,
    /// This subscription's id in the hub's interval wishes.
    id: u64,
    welcome: Option<Welcome>,
    /// The tick being handed out, message by message.
    pending: Option<Pending>,
    need_snapshot: bool,
    /// Set after a lag: ticks passed over while waiting for the snapshot count as missed.
    skipping: bool,
    missed: u64,
    /// Counted in the hub's `wire_subscribers` (it took an encoded frame).
    on_wire: bool,
    /// The flight recorder's ticks still to send, oldest first, before the first snapshot.
    history: VecDeque<Arc<Past>>,
    /// Message traces this subscription started; their batches come between samples.
    traces: Arc<Owned>,
    /// The protocol version of the client it serves: below 4, no type names and samples
    /// encoded without their hot type.
    protocol: u16,
    /// Type names sent so far (`publish/type_names.rs`).
    names_sent: usize,
}

/// Where a subscription is in a tick: its deltas or its snapshot, the next frame, and that
/// frame's build if one is under way (kept here so that a cancelled `recv` loses nothing).
struct Pending {
    tick: Arc<Tick>,
    snapshot: bool,
    next: usize,
    build: Option<Build>,
}

impl Pending {
    /// Frame `next`, encoded or as a message: the delta frames the sampler encoded for every
    /// connection, or built here a slice at a time (always so for a snapshot, and for a
    /// client of an older protocol, whose bytes differ).
    async fn produce(
        &mut self,
        encoded: bool,
        protocol: u16,
        publish: &Publish,
    ) -> Result<Out, String> {
        if encoded
            && !self.snapshot
            && protocol == beamline_wire::PROTOCOL_VERSION
            && let Some(all) = self.tick.encoded_deltas()
        {
            return all
                .map(|f| Out::Encoded(f[self.next].clone()))
                .map_err(str::to_string);
        }
        if self.build.as_ref().is_none_or(|b| b.encoded() != encoded) {
            let build = Build::new(&self.tick, self.next, self.snapshot, encoded);
            self.build = Some(build.for_protocol(protocol));
        }
        let build = self.build.as_mut().expect("just set");
        build.run(&self.tick, publish).await
    }
}

impl std::fmt::Debug for Observation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Observation")
            .field("missed", &self.missed)
            .finish_non_exhaustive()
    }
}

impl Observation {
    /// Subscribe (starting the sampler if nobody observed yet).
    pub(crate) fn new(publish: &Arc<Publish>, with_welcome: bool) -> Observation {
        let hub = super::sampler::hub(publish);
        let rx = hub.subscribe();
        let id = hub.asks.join();
        hub.request_snapshot();
        Observation {
            publish: publish.clone(),
            welcome: with_welcome.then(|| welcome(publish)),
            hub,
            rx,
            id,
            pending: None,
            need_snapshot: true,
            skipping: false,
            missed: 0,
            on_wire: false,
            history: publish.flight.history(),
            traces: Arc::default(),
            protocol: beamline_wire::PROTOCOL_VERSION,
            names_sent: 0,
        }
    }

    /// Serve a client of protocol `version` (an endpoint connection, after the handshake):
    /// below 4 it gets no [`ServerMsg::TypeNames`] and samples without their hot type.
    pub(crate) fn set_protocol(&mut self, version: u16) {
        self.protocol = version;
    }

    /// The type names not yet sent, if the client knows the message and any are new: sent
    /// before a frame, so every id a frame holds was named first (ids are given before a tick
    /// is published, and never taken back).
    fn new_names(&mut self) -> Option<ServerMsg> {
        let names = &self.publish.type_names;
        if self.protocol < 4 || names.len() <= self.names_sent {
            return None;
        }
        let first = self.names_sent as u32;
        let names = names.since(self.names_sent);
        self.names_sent += names.len();
        Some(ServerMsg::TypeNames(beamline_wire::TypeNames {
            first,
            names,
        }))
    }

    /// Send no history (a client that cannot decode it).
    pub(crate) fn skip_history(&mut self) {
        self.history.clear();
    }

    /// The next tick of the flight recorder's history, if any is left to send.
    fn next_history(&mut self) -> Option<ServerMsg> {
        let past = self.history.pop_front()?;
        Some(ServerMsg::History(past.delta()))
    }

    /// The next message: `Welcome` first, then a `Snapshot`, then `Delta`s (a large snapshot or
    /// delta comes as several frames with consecutive sequence numbers). The stream goes on as
    /// long as the runtime's sampler runs; `None` once it is gone (the tokio runtime it was
    /// started on has shut down).
    ///
    /// Each message is a copy of the one the sampler published; connections use the shared
    /// encoded frame instead (see `recv_frame`). A snapshot is read from the processes as it is
    /// handed out, one frame at a time.
    ///
    /// Cancel safety: cancel safe. Messages already taken from the sampler, and a frame being
    /// built, are kept in the subscription and the next call goes on with them.
    pub async fn recv(&mut self) -> Option<ServerMsg> {
        if let Some(w) = self.welcome.take() {
            return Some(ServerMsg::Welcome(w));
        }
        if let Some(h) = self.next_history() {
            return Some(h);
        }
        match self.next_frame(false).await? {
            Ok(Out::Msg(m)) => Some(m),
            Ok(Out::Encoded(_)) => unreachable!("asked for a message"),
            // Only encoding fails.
            Err(e) => unreachable!("a message cannot fail to build: {e}"),
        }
    }

    /// As [`Observation::recv`], encoded as a frame: the same bytes for every connection, encoded
    /// once per tick whatever the number of connections (a snapshot is encoded for each
    /// subscriber that needs one, a frame at a time as it is sent). An error means the message
    /// could not be encoded (a frame over the wire's limit).
    ///
    /// Cancel safety: as [`Observation::recv`].
    pub(crate) async fn recv_frame(&mut self) -> Option<Result<Encoded, String>> {
        if let Some(w) = self.welcome.take() {
            let encoded = frame::encode(&ServerMsg::Welcome(w));
            return Some(encoded.map(Encoded::from).map_err(|e| e.to_string()));
        }
        if let Some(past) = self.history.front().cloned() {
            // Taken off the list once encoded: a cancelled call starts this tick again.
            let encoded = super::stream::encode_history(&past, self.protocol).await;
            self.history.pop_front();
            return Some(encoded);
        }
        if !self.on_wire {
            self.on_wire = true;
            self.hub.wire_subscribers.fetch_add(1, Relaxed);
        }
        Some(self.next_frame(true).await?.map(|out| match out {
            Out::Encoded(e) => e,
            Out::Msg(_) => unreachable!("asked for bytes"),
        }))
    }

    /// The next frame, waiting for a tick when the pending one is used up. `None` when the
    /// stream has ended.
    async fn next_frame(&mut self, encoded: bool) -> Option<Result<Out, String>> {
        loop {
            if self.pending.as_ref().is_some_and(|p| p.next < p.tick.len())
                && let Some(names) = self.new_names()
            {
                return Some(msg_out(names, encoded));
            }
            if let Some(p) = self.pending.as_mut() {
                if p.next < p.tick.len() {
                    let out = p.produce(encoded, self.protocol, &self.publish).await;
                    p.next += 1;
                    p.build = None;
                    return Some(out);
                }
                self.pending = None;
            }
            if let Some(batch) = self.traces.drain() {
                return Some(trace_out(batch, encoded));
            }
            // A trace's wake-up only loops back to the drain above.
            let tick = tokio::select! {
                biased;
                () = self.traces.ready(), if self.traces.len() > 0 => None,
                tick = self.rx.recv() => Some(tick),
            };
            let Some(tick) = tick else { continue };
            match tick {
                Ok(tick) => self.take(tick),
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    self.lost(n);
                    self.need_snapshot = true;
                    self.skipping = true;
                    self.hub.request_snapshot();
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }

    /// A tick arrived: its deltas, or its snapshot when this subscription needs one (asking for
    /// one if the tick has none).
    fn take(&mut self, tick: Arc<Tick>) {
        if !self.need_snapshot {
            self.pending = Some(Pending {
                tick,
                snapshot: false,
                next: 0,
                build: None,
            });
        } else if tick.snapshot.is_some() {
            self.pending = Some(Pending {
                tick,
                snapshot: true,
                next: 0,
                build: None,
            });
            self.need_snapshot = false;
            self.skipping = false;
        } else {
            if self.skipping {
                self.lost(1);
            }
            self.hub.request_snapshot();
        }
    }

    fn lost(&mut self, n: u64) {
        self.missed += n;
        self.hub.missed_total.fetch_add(n, Relaxed);
    }

    /// Updates (sampler ticks) this subscriber lost because it fell behind; each loss was
    /// followed by a fresh snapshot.
    pub fn missed(&self) -> u64 {
        self.missed
    }

    /// Act on the runtime: kill, restart, render a state, fetch logs, or ask for a sampling
    /// interval (this subscription's wish: see `docs/PUBLISHING.md` for how wishes combine).
    ///
    /// Cancel safety: cancel safe in the sense that dropping the future never leaves the runtime
    /// inconsistent; a kill or interval change already made stays made, and a rendering in
    /// progress is discarded.
    pub async fn control(&self, request: ControlRequest) -> ControlReply {
        self.controller().control(request).await
    }

    /// A handle that makes control requests on behalf of this subscription, for a task of its
    /// own (an endpoint connection reads requests while it sends samples).
    pub(crate) fn controller(&self) -> Controller {
        Controller::new(
            self.publish.clone(),
            self.hub.clone(),
            self.id,
            self.traces.clone(),
        )
    }
}

impl Drop for Observation {
    fn drop(&mut self) {
        // An observer that goes away leaves no trace running.
        self.traces.stop_all();
        self.hub.asks.leave(self.id);
        if self.on_wire {
            self.hub.wire_subscribers.fetch_sub(1, Relaxed);
        }
        // The interval may lengthen, or nobody may be left: let the sampler see.
        self.hub.wake.notify_one();
    }
}

/// A trace batch as the next message, or encoded as a frame.
fn trace_out(batch: beamline_wire::trace::TraceBatch, encoded: bool) -> Result<Out, String> {
    msg_out(ServerMsg::Trace(batch), encoded)
}

/// A message made here (not a tick's frame), as it is or encoded.
fn msg_out(msg: ServerMsg, encoded: bool) -> Result<Out, String> {
    if !encoded {
        return Ok(Out::Msg(msg));
    }
    frame::encode(&msg)
        .map(|bytes| Out::Encoded(bytes.into()))
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use crate::Runtime;
    use beamline_wire::ServerMsg;
    use std::sync::Arc;

    /// N connections cost one encode of each delta: every subscriber gets the very same bytes.
    /// A snapshot is read and encoded for each subscriber as it sends it (so that it is never
    /// held whole); they still say the same.
    #[tokio::test(start_paused = true)]
    async fn every_subscriber_gets_the_same_encoded_bytes() {
        let rt = Runtime::builder().observe_from_env(false).build();
        crate::Agent::start(&rt, 1u64).await.unwrap();
        let mut subs: Vec<_> = (0..4)
            .map(|_| super::Observation::new(&rt.publish, false))
            .collect();
        // All four wait for the same snapshot, then take the same delta.
        for round in 0..2 {
            let mut frames = Vec::new();
            for sub in &mut subs {
                frames.push(sub.recv_frame().await.unwrap().unwrap());
            }
            for f in &frames[1..] {
                assert_eq!(frames[0], *f);
                assert_eq!(
                    Arc::ptr_eq(&frames[0], f),
                    round == 1,
                    "deltas encoded once"
                );
            }
            let msg: ServerMsg = beamline_wire::frame::decode(&frames[0], usize::MAX)
                .unwrap()
                .unwrap()
                .0;
            match (round, msg) {
                (0, ServerMsg::Snapshot(s)) => assert_eq!(s.processes.len(), 1),
                (1, ServerMsg::Delta(_)) => {}
                (_, m) => panic!("{m:?}"),
            }
        }
    }
}
