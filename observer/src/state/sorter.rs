//! The rows of the list views, computed off the UI loop.
//!
//! Sorting or filtering 100,000 rows takes tens of milliseconds, longer than a key may wait.
//! So when the interactive loop runs samples on a [`crate::model::worker::Pipeline`], the rows
//! are computed in two places, never on the loop: each sample's frame carries the rows of the
//! newest moment for the last [`Order`] the worker read ([`Wanted::rows_for_frame`]), and a
//! change of sort, filter, folds, view or scrubbed moment is sent to a [`Sorter`] thread of its
//! own (so it is not held up behind a sample being applied). Every order carries a generation;
//! the state shows rows only of its newest generation, so a result computed for a sort that
//! has since changed is never shown, however late or early it lands.

use super::rows::Rows;
use crate::model::Model;
use crate::model::events::Events;
use crate::vocab::{Column, ViewId};
use beamline_wire::{Pid, ProcessTable};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;

/// What decides the rows of a list view.
#[derive(Clone, Debug, PartialEq)]
pub struct Spec {
    /// The view on screen (only the tree and the process table have rows).
    pub view: ViewId,
    /// Folded tree nodes.
    pub collapsed: HashSet<Pid>,
    /// The filter, lower case.
    pub needle: String,
    /// The table's sort column.
    pub sort: Column,
    /// Biggest first.
    pub desc: bool,
    /// The nodes, when watching several (node rows in the tree, the `node:` filter).
    pub fleet: Option<Arc<crate::source::fleet::FleetView>>,
}

impl Spec {
    /// Whether the view has rows at all.
    pub fn lists(&self) -> bool {
        matches!(self.view, ViewId::Tree | ViewId::Processes)
    }

    /// The rows of `m` (`events` gives the tree its start order).
    pub fn rows(&self, m: &ProcessTable, events: &Events) -> Rows {
        match self.view {
            ViewId::Tree => Rows::tree(
                m,
                &self.collapsed,
                &self.needle,
                self.fleet.as_deref(),
                &|p| events.start_order(p),
            ),
            ViewId::Processes => {
                Rows::table(m, self.sort, self.desc, &self.needle, self.fleet.as_deref())
            }
            _ => Rows::default(),
        }
    }
}

/// The rows the state wants, numbered.
#[derive(Clone, Debug, PartialEq)]
pub struct Order {
    /// Increases with every change; only rows of the newest are shown.
    pub generation: u64,
    /// Whether the display follows the newest sample (frames carry rows only then).
    pub live: bool,
    /// What decides them.
    pub spec: Spec,
}

/// Rows computed for one moment and one order.
#[derive(Clone, Debug, PartialEq)]
pub struct Sorted {
    /// The order's generation.
    pub generation: u64,
    /// The moment they index.
    pub table: Arc<ProcessTable>,
    /// The rows.
    pub rows: Rows,
}

/// The newest order, shared between the state (which writes it) and the model worker (which
/// reads it when a frame is built).
#[derive(Clone, Debug, Default)]
pub struct Wanted(Arc<Mutex<Option<Order>>>);

impl Wanted {
    /// Replace the order.
    pub fn set(&self, order: Order) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(order);
    }

    /// The rows of the worker's newest moment for the newest order, when the display is live.
    pub fn rows_for_frame(&self, model: &Model) -> Option<Sorted> {
        let order = self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()?;
        let table = model.latest()?.clone();
        (order.live && order.spec.lists()).then(|| Sorted {
            generation: order.generation,
            rows: order.spec.rows(&table, &model.events),
            table,
        })
    }
}

/// A request for rows: an order for one moment.
#[derive(Clone, Debug)]
pub struct Request {
    /// The order's generation.
    pub generation: u64,
    /// The moment.
    pub table: Arc<ProcessTable>,
    /// Its event log (start order of the tree).
    pub events: Arc<Events>,
    /// What decides the rows.
    pub spec: Spec,
}

impl Request {
    /// Compute the rows here.
    pub fn run(self) -> Sorted {
        Sorted {
            generation: self.generation,
            rows: self.spec.rows(&self.table, &self.events),
            table: self.table,
        }
    }
}

/// A thread computing rows for requests; requests queued behind a newer one are skipped.
pub struct Sorter {
    tx: mpsc::UnboundedSender<Request>,
    rx: mpsc::UnboundedReceiver<Sorted>,
}

impl Sorter {
    /// Start the thread (it ends when the sorter is dropped).
    pub fn spawn() -> std::io::Result<Self> {
        let (tx, mut inbox) = mpsc::unbounded_channel::<Request>();
        let (out, rx) = mpsc::unbounded_channel();
        std::thread::Builder::new()
            .name("observer-rows".into())
            .spawn(move || {
                while let Some(mut req) = inbox.blocking_recv() {
                    // Only the newest request matters.
                    while let Ok(newer) = inbox.try_recv() {
                        req = newer;
                    }
                    if out.send(req.run()).is_err() {
                        return;
                    }
                }
            })?;
        Ok(Sorter { tx, rx })
    }

    /// Ask for rows; a request the thread cannot take (it is gone) is computed here instead.
    pub fn send(&self, req: Request) -> Option<Sorted> {
        self.tx.send(req).err().map(|e| e.0.run())
    }

    /// The next rows computed. Cancel safe (an unbounded channel's `recv`).
    pub async fn recv(&mut self) -> Option<Sorted> {
        self.rx.recv().await
    }
}
