//! The state's side of computing off the loop (see [`super::sorter`] and
//! [`crate::model::worker`]): frames swapped in, rows that land late or out of order, the
//! observer's own events handed to the worker.

use super::sorter::{Request, Sorted, Wanted};
use super::{Effect, State};
use crate::model::Model;
use crate::model::events::Event;
use crate::model::worker::{Frame, Input};
use std::sync::Arc;

/// What the state keeps while samples and rows are computed off the loop (see [`super::sorter`]).
#[derive(Debug, Default)]
pub(super) struct Offloop {
    pub(super) wanted: Wanted,
    /// The generation of the newest order.
    pub(super) generation: u64,
    /// Rows to ask the [`super::sorter::Sorter`] for.
    pub(super) request: Option<Request>,
    /// Whether the rows asked for should recenter the list when they land.
    pub(super) recenter: bool,
    /// The generation of the rows on screen.
    pub(super) shown: u64,
    /// The rows of the frame being swapped in.
    pub(super) arrived: Option<Sorted>,
    /// Events of the observer's own, numbered, not yet sent to the worker.
    pub(super) outbox: Vec<Input>,
    /// Those sent and not yet in a frame (shown meanwhile on top of each frame).
    pub(super) unconfirmed: Vec<(u64, Event)>,
    /// Events of the observer's own so far (the worker counts those it has seen).
    pub(super) notes: u64,
}

impl State {
    /// Compute rows off the loop from now on: list changes become requests
    /// ([`Self::take_request`]) whose answers land with [`Self::sorted`], and samples arrive as
    /// frames ([`Self::land`]) carrying rows for the order the returned [`Wanted`] holds.
    pub fn offloop(&mut self) -> Wanted {
        let o = Offloop::default();
        let wanted = o.wanted.clone();
        self.offloop = Some(o);
        self.refresh();
        wanted
    }

    /// Swap in a frame built off the loop; returns the model shown until now (give it back to
    /// the worker, which reuses its history and drops the rest off the loop) and the effects.
    pub fn land(&mut self, frame: Frame<Option<Sorted>>) -> (Model, Vec<Effect>) {
        let mut model = frame.model;
        if let Some(o) = &mut self.offloop {
            o.unconfirmed.retain(|(n, _)| *n > frame.notes);
            for (_, ev) in &o.unconfirmed {
                Arc::make_mut(&mut model.events).record(ev.clone());
            }
            o.arrived = frame.extra;
        }
        if model.trouble.is_some() && model.trouble != self.model.trouble {
            let t = model.trouble.as_ref().map(ToString::to_string);
            self.set_note(t.unwrap_or_default());
        }
        let old = std::mem::replace(&mut self.model, model);
        let fx = self.after(frame.change);
        if let Some(o) = &mut self.offloop {
            o.arrived = None;
        }
        (old, fx)
    }

    /// Rows computed off the loop: shown if they answer the newest order, else dropped.
    pub fn sorted(&mut self, sorted: Sorted) {
        let Some(o) = &mut self.offloop else { return };
        if sorted.generation != o.generation {
            return;
        }
        let recenter = std::mem::take(&mut o.recenter);
        o.shown = o.generation;
        self.show(sorted.table, sorted.rows, recenter);
    }

    /// Whether the rows on screen answer the newest order (always, when computed in place).
    pub fn rows_current(&self) -> bool {
        self.offloop
            .as_ref()
            .is_none_or(|o| o.shown == o.generation && o.request.is_none())
    }

    /// The rows to ask the sorter for, if the list changed since the last call.
    pub fn take_request(&mut self) -> Option<Request> {
        self.offloop.as_mut()?.request.take()
    }

    /// The observer's own events to hand the worker, so later frames keep them.
    pub fn take_notes(&mut self) -> Vec<Input> {
        self.offloop
            .as_mut()
            .map(|o| std::mem::take(&mut o.outbox))
            .unwrap_or_default()
    }
}
