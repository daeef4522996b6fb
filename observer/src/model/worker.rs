//! Building each sample's table off the UI loop.
//!
//! A delta of 100,000 changed processes costs tens of milliseconds to turn into the next
//! [`ProcessTable`] (every changed sample moved behind an `Arc`, sorted and merged with the
//! previous table). Done inside the interactive loop, keys wait for it. So the loop hands every
//! source event to a [`Pipeline`]: a dedicated thread runs a [`Preparer`] over them in order and
//! hands back [`Prepared`] events, the tables already built, which [`super::Model::commit`]
//! folds in. The thread is the observer's own (never a worker of an embedding application's
//! runtime), and it is fed through a bounded channel, so a slow observer pushes back on its
//! source (which counts what it drops) rather than queueing samples without end.
//!
//! Headless mode and tests call [`super::Model::apply`], which prepares in place: same code,
//! no thread.

use beamline_wire::{ProcessTable, ServerMsg};
use std::sync::Arc;
use tokio::sync::mpsc;

use crate::source::SourceEvent;

/// Events in the pipeline at once (queued plus the one being prepared).
pub const DEPTH: usize = 2;

/// A source event with the expensive part done.
#[derive(Clone, Debug, PartialEq)]
pub enum Prepared {
    /// Needs no preparation (link changes, handshake, replies, trouble, resets).
    Event(SourceEvent),
    /// A snapshot or delta turned into the next moment; `owned` samples are new (the rest shared
    /// with the moment before).
    Table {
        /// The next moment.
        table: Arc<ProcessTable>,
        /// Samples this moment owns outright.
        owned: usize,
        /// A tick of the runtime's history (`ServerMsg::History`), from before the attach.
        past: bool,
    },
    /// A delta that could not be applied: no snapshot yet, or one went missing.
    Gap,
}

/// Follows the newest table so each delta can be applied to it; mirrors what the model forgets
/// (a reset, a new incarnation) so both agree on what the next delta applies to.
#[derive(Clone, Debug, Default)]
pub struct Preparer {
    latest: Option<Arc<ProcessTable>>,
    incarnation: Option<u64>,
    /// The newest table was built from history (the next history tick applies to it).
    in_history: bool,
}

impl Preparer {
    /// Do the expensive part of `ev`: build the table a snapshot or delta describes.
    pub fn prepare(&mut self, ev: SourceEvent) -> Prepared {
        match ev {
            SourceEvent::Msg(ServerMsg::Snapshot(s)) => {
                let owned = s.processes.len();
                self.in_history = false;
                self.keep(ProcessTable::from_snapshot(s), owned)
            }
            SourceEvent::Msg(ServerMsg::History(d)) => self.past(d),
            SourceEvent::Msg(ServerMsg::Delta(d)) => {
                let owned = d.changed.len();
                match self.latest.as_ref().map(|l| l.successor(d)) {
                    Some(Ok(t)) => self.keep(t, owned),
                    None | Some(Err(_)) => Prepared::Gap,
                }
            }
            SourceEvent::Reset => {
                self.latest = None;
                Prepared::Event(ev)
            }
            SourceEvent::Msg(ServerMsg::Welcome(ref w)) => {
                if self.incarnation.is_some_and(|i| i != w.incarnation) {
                    self.latest = None;
                }
                self.incarnation = Some(w.incarnation);
                Prepared::Event(ev)
            }
            other => Prepared::Event(other),
        }
    }

    fn keep(&mut self, table: ProcessTable, owned: usize) -> Prepared {
        let table = Arc::new(table);
        self.latest = Some(table.clone());
        Prepared::Table {
            table,
            owned,
            past: self.in_history,
        }
    }

    /// A tick of the runtime's history: applied to the previous history tick's table (the
    /// first to an empty one) whatever its sequence number, since older ticks are thinned and
    /// ticks where nothing changed are not kept. Its processes are those that changed within
    /// the history; the snapshot that follows brings the rest.
    fn past(&mut self, mut d: beamline_wire::Delta) -> Prepared {
        let base = match &self.latest {
            Some(t) if self.in_history && t.seq < Some(d.seq) => ProcessTable::clone(t),
            _ => ProcessTable::default(),
        };
        let owned = d.changed.len();
        // Only the sequence check is in the way: the base is the state just before `d`.
        d.seq = d.seq.max(1);
        let base = ProcessTable {
            seq: Some(d.seq - 1),
            ..base
        };
        match base.successor(d) {
            Ok(t) => {
                self.in_history = true;
                self.keep(t, owned)
            }
            Err(_) => Prepared::Gap,
        }
    }
}

/// A thread preparing source events in order, fed through a bounded channel.
///
/// Dropping the pipeline closes its input; the thread finishes the event in hand and ends.
pub struct Pipeline {
    tx: mpsc::Sender<SourceEvent>,
    rx: mpsc::UnboundedReceiver<Prepared>,
}

impl Pipeline {
    /// A pipeline running [`Preparer::prepare`].
    pub fn spawn() -> std::io::Result<Self> {
        let mut p = Preparer::default();
        Self::spawn_with(move |ev| p.prepare(ev))
    }

    /// A pipeline running `prepare` on its own thread (tests wrap the preparer in a gate).
    pub fn spawn_with(
        mut prepare: impl FnMut(SourceEvent) -> Prepared + Send + 'static,
    ) -> std::io::Result<Self> {
        // One slot is the event being prepared, the rest wait in the channel.
        let (tx, mut inbox) = mpsc::channel::<SourceEvent>(DEPTH.max(2) - 1);
        let (out, rx) = mpsc::unbounded_channel();
        std::thread::Builder::new()
            .name("observer-model".into())
            .spawn(move || {
                while let Some(ev) = inbox.blocking_recv() {
                    if out.send(prepare(ev)).is_err() {
                        break;
                    }
                }
            })?;
        Ok(Pipeline { tx, rx })
    }

    /// Whether another event can be handed over now without waiting.
    pub fn ready(&self) -> bool {
        self.tx.capacity() > 0
    }

    /// Hand `ev` over; only call when [`Self::ready`]. Returns `ev` back if the thread is gone
    /// (it panicked) or the pipeline is full, so nothing is lost silently.
    pub fn send(&self, ev: SourceEvent) -> Result<(), Box<SourceEvent>> {
        self.tx.try_send(ev).map_err(|e| Box::new(e.into_inner()))
    }

    /// The next prepared event, in the order they were sent; `None` once the thread is gone.
    ///
    /// Cancel safe (an unbounded channel's `recv`), so the loop can poll it in `select!`.
    pub async fn recv(&mut self) -> Option<Prepared> {
        self.rx.recv().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture;
    use crate::model::{Change, Model};
    use beamline_wire::table::diff;

    fn events() -> Vec<SourceEvent> {
        let d = |a, b| {
            SourceEvent::Msg(ServerMsg::Delta(diff(
                &fixture::small(a),
                &fixture::small(b),
            )))
        };
        vec![
            SourceEvent::Msg(ServerMsg::Welcome(fixture::welcome(1))),
            SourceEvent::Msg(ServerMsg::Snapshot(fixture::small(0))),
            d(0, 1),
            SourceEvent::Reset,
            d(1, 2), // applies to nothing: the reset forgot the table
            SourceEvent::Msg(ServerMsg::Snapshot(fixture::small(3))),
            d(3, 4),
            SourceEvent::Msg(ServerMsg::Welcome(fixture::welcome(2))),
            d(4, 5), // applies to nothing: a new incarnation forgot the table
            SourceEvent::Msg(ServerMsg::Snapshot(fixture::small(5))),
            d(5, 6),
            d(7, 8), // a gap
        ]
    }

    #[test]
    fn prepared_in_a_pipeline_the_model_ends_as_when_applied_in_place() {
        let mut inline = Model::new(Default::default());
        let changes: Vec<Change> = events().into_iter().map(|e| inline.apply(e)).collect();
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let mut piped = Model::new(Default::default());
        let mut pipe = Pipeline::spawn().unwrap();
        let mut got = Vec::new();
        rt.block_on(async {
            for e in events() {
                while !pipe.ready() {
                    tokio::task::yield_now().await;
                }
                pipe.send(e).unwrap();
                got.push(piped.commit(pipe.recv().await.unwrap()));
            }
        });
        assert_eq!(got, changes);
        assert_eq!(piped.gaps, inline.gaps);
        assert_eq!(piped.kept(), inline.kept());
        assert_eq!(piped.latest(), inline.latest());
        assert_eq!(piped.alerts, inline.alerts);
        assert_eq!(
            inline.gaps, 2,
            "one before and one after the new incarnation"
        );
        assert_eq!(changes.iter().filter(|c| **c == Change::Sample).count(), 6);
    }
}
