//! Applying samples off the UI loop.
//!
//! With 100,000 processes all changing, folding one sample into the model costs hundreds of
//! milliseconds: building the table, a history point per process, the event log, the
//! diagnosis. Done inside the interactive loop, keys wait for it. So the loop hands every
//! source event to a [`Pipeline`]: a thread of its own (never a worker of an embedding
//! application's runtime) runs a [`Worker`], which applies it to its own [`Model`] exactly as
//! headless mode does ([`Model::apply`]) and hands back a [`Frame`]: a copy of the model for the
//! screen, ready to swap in, with whatever else the caller computes from it (the rows of the
//! list, see `crate::state`).
//!
//! The copy is cheap because almost everything in it is shared or small (moments are `Arc`
//! tables, events are an `Arc` written copy on write, alerts are at most a hundred), except the
//! per-process history, which the views read for any row the user scrolls to. The worker keeps
//! two histories: the one it writes, and the one on screen. Each frame lends the screen the
//! fresh one; the loop gives the copy it showed before back when it swaps the frame in
//! ([`Pipeline::give_back`]), and the worker catches that copy up on the samples it missed
//! (every history operation since it was lent is logged) before writing the next sample into
//! it. So each sample is recorded twice, on the worker, and nothing large is cloned or dropped
//! on the loop. The worker is at most one frame ahead of the screen: it waits for the copy
//! back before it applies the next sample.
//!
//! Inputs come through a channel the loop fills only while fewer than [`DEPTH`] events are in
//! flight, so a slow observer pushes back on its source (which counts what it drops) rather
//! than queueing samples without end. User notes ([`Input::Note`], a kill the user asked for)
//! skip that limit: they are few and must not be lost.

use super::{Change, Model};
use crate::model::diagnosis::Thresholds;
use crate::model::events::Event;
use crate::source::SourceEvent;
use beamline_wire::ProcessTable;
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::sync::mpsc;

/// Source events in the pipeline at once (queued plus the one being applied).
pub const DEPTH: usize = 2;

/// What the loop hands the worker.
#[derive(Clone, Debug, PartialEq)]
pub enum Input {
    /// An event from the source, applied in order.
    Event(SourceEvent),
    /// An event the observer itself caused (a kill, a restart), already shown by the loop; the
    /// worker records it so later frames keep it. Numbered by [`Frame::notes`].
    Note(Event),
}

/// A model ready to show, built off the loop.
#[derive(Debug)]
pub struct Frame<X> {
    /// The copy to show: swap it in, and give the one shown before back.
    pub model: Model,
    /// What the event changed.
    pub change: Change,
    /// How many [`Input::Note`]s the model includes.
    pub notes: u64,
    /// What the caller computed from the worker's model for this frame.
    pub extra: X,
}

/// A history operation, logged to catch up a copy that was on screen.
#[derive(Debug)]
enum Op {
    Record(Arc<ProcessTable>),
    Clear,
}

/// Applies events to a model and lends the screen copies of it (see the module docs).
#[derive(Debug)]
pub struct Worker {
    model: Model,
    /// Whether `model.history` is the worker's own (not lent out to the screen).
    present: bool,
    /// History operations applied so far.
    ops: u64,
    /// Operations since the oldest copy lent out, each with its number.
    log: VecDeque<(u64, Op)>,
    /// The number of operations in each copy lent out, oldest first (the loop gives them back
    /// in that order).
    lent: VecDeque<u64>,
    notes: u64,
}

impl Worker {
    /// A worker whose screen starts with an empty model (its history is the first one lent).
    pub fn new(thresholds: Thresholds) -> Self {
        Worker {
            model: Model::new(thresholds),
            present: true,
            ops: 0,
            log: VecDeque::new(),
            lent: VecDeque::from([0]),
            notes: 0,
        }
    }

    /// The worker's own model (what a [`Frame`]'s extra is computed from).
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// Whether the worker has a history to write into; if not, [`Self::reclaim`] first.
    pub fn has_history(&self) -> bool {
        self.present
    }

    /// Take back a model the screen showed before (its history, caught up; the rest is dropped
    /// here, off the loop). Returns whether the worker now has a history to write into.
    pub fn reclaim(&mut self, old: Model) -> bool {
        let Some(at) = self.lent.pop_front() else {
            return self.present;
        };
        if !self.present {
            let mut h = old.history;
            for (_, op) in self.log.iter().filter(|(n, _)| *n > at) {
                match op {
                    Op::Record(t) => h.record(t),
                    Op::Clear => h.clear(),
                }
            }
            self.model.history = h;
            self.present = true;
        }
        // Copies still lent out only need the operations after them.
        let oldest = self.lent.front().copied().unwrap_or(self.ops);
        while self.log.front().is_some_and(|(n, _)| *n <= oldest) {
            self.log.pop_front();
        }
        true
    }

    /// Apply one input; `Some` when it changed the model (a frame should follow). Needs the
    /// history back for source events ([`Self::has_history`]).
    pub fn apply(&mut self, input: Input) -> Option<Change> {
        match input {
            Input::Note(ev) => {
                Arc::make_mut(&mut self.model.events).record(ev);
                self.notes += 1;
                None
            }
            Input::Event(ev) => {
                assert!(self.present, "apply before the history was reclaimed");
                let change = self.model.apply(ev);
                let op = match change {
                    Change::Sample | Change::History => {
                        self.model.latest().cloned().map(Op::Record)
                    }
                    Change::Reset => Some(Op::Clear),
                    Change::Nothing | Change::Link => None,
                };
                if let Some(op) = op {
                    self.ops += 1;
                    self.log.push_back((self.ops, op));
                }
                Some(change)
            }
        }
    }

    /// Lend the screen a copy of the model as it is now.
    pub fn frame<X>(&mut self, change: Change, extra: X) -> Frame<X> {
        let history = std::mem::take(&mut self.model.history);
        self.present = false;
        self.lent.push_back(self.ops);
        Frame {
            model: self.model.view_copy(history),
            change,
            notes: self.notes,
            extra,
        }
    }
}

/// A thread running a [`Worker`] over the loop's inputs, in order.
///
/// Dropping the pipeline closes its input; the thread finishes the input in hand and ends.
pub struct Pipeline<X> {
    tx: mpsc::UnboundedSender<Input>,
    rx: mpsc::UnboundedReceiver<Frame<X>>,
    back: std::sync::mpsc::Sender<Model>,
    /// Source events sent and not yet back as frames.
    in_flight: Arc<AtomicUsize>,
}

impl<X: Send + 'static> Pipeline<X> {
    /// A pipeline whose frames carry `extra(worker's model)`.
    pub fn spawn(
        thresholds: Thresholds,
        extra: impl FnMut(&Model) -> X + Send + 'static,
    ) -> std::io::Result<Self> {
        Self::spawn_with(thresholds, |_| {}, extra)
    }

    /// [`Self::spawn`], calling `before` with each input before it is applied (tests hold the
    /// worker there).
    pub fn spawn_with(
        thresholds: Thresholds,
        mut before: impl FnMut(&Input) + Send + 'static,
        mut extra: impl FnMut(&Model) -> X + Send + 'static,
    ) -> std::io::Result<Self> {
        let (tx, mut inbox) = mpsc::unbounded_channel::<Input>();
        let (out, rx) = mpsc::unbounded_channel();
        let (back, returned) = std::sync::mpsc::channel::<Model>();
        let mut worker = Worker::new(thresholds);
        std::thread::Builder::new()
            .name("observer-model".into())
            .spawn(move || {
                while let Some(input) = inbox.blocking_recv() {
                    before(&input);
                    if let Input::Event(_) = input {
                        while !worker.has_history() {
                            // The loop gives a copy back for each frame it swaps in.
                            match returned.recv() {
                                Ok(old) => worker.reclaim(old),
                                Err(_) => return,
                            };
                        }
                    }
                    if let Some(change) = worker.apply(input) {
                        let x = extra(worker.model());
                        if out.send(worker.frame(change, x)).is_err() {
                            return;
                        }
                    }
                }
            })?;
        Ok(Pipeline {
            tx,
            rx,
            back,
            in_flight: Arc::new(AtomicUsize::new(0)),
        })
    }

    /// Whether every source event handed over came back as a frame.
    pub fn idle(&self) -> bool {
        self.in_flight.load(Ordering::Relaxed) == 0
    }

    /// Whether another source event can be handed over now.
    pub fn ready(&self) -> bool {
        self.in_flight.load(Ordering::Relaxed) < DEPTH
    }

    /// Hand `input` over (a source event only when [`Self::ready`]). Returns it back if the
    /// thread is gone (it panicked), so nothing is lost silently.
    pub fn send(&self, input: Input) -> Result<(), Box<Input>> {
        let event = matches!(input, Input::Event(_));
        self.tx.send(input).map_err(|e| Box::new(e.0))?;
        if event {
            self.in_flight.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    }

    /// The next frame, in the order of the events; `None` once the thread is gone.
    ///
    /// Cancel safe (an unbounded channel's `recv`), so the loop can poll it in `select!`.
    pub async fn recv(&mut self) -> Option<Frame<X>> {
        let f = self.rx.recv().await?;
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
        Some(f)
    }

    /// Give back the model shown before a frame was swapped in (one per frame, in order).
    pub fn give_back(&self, old: Model) {
        let _ = self.back.send(old);
    }
}

#[cfg(test)]
mod tests;
