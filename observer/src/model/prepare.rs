//! Building each sample's table: the expensive part of folding a snapshot or delta into the
//! model (every changed sample moved behind an `Arc`, sorted and merged with the previous
//! table), separate from the rest so it can be measured and run apart ([`super::Model::prepare`]
//! then [`super::Model::commit`] is [`super::Model::apply`]).

use beamline_wire::{ProcessTable, ServerMsg};
use std::sync::Arc;

use crate::source::SourceEvent;
use crate::type_names::TypeIds;

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
    /// The connection's hot type ids in the observer's numbering (`type_names.rs`).
    types: TypeIds,
}

impl Preparer {
    /// Do the expensive part of `ev`: build the table a snapshot or delta describes.
    pub fn prepare(&mut self, ev: SourceEvent) -> Prepared {
        match ev {
            SourceEvent::Msg(ServerMsg::Snapshot(mut s)) => {
                s.processes.iter_mut().for_each(|p| self.types.translate(p));
                let owned = s.processes.len();
                self.in_history = false;
                self.keep(ProcessTable::from_snapshot(s), owned)
            }
            SourceEvent::Msg(ServerMsg::History(mut d)) => {
                d.changed.iter_mut().for_each(|p| self.types.translate(p));
                self.past(d)
            }
            SourceEvent::Msg(ServerMsg::Delta(mut d)) => {
                d.changed.iter_mut().for_each(|p| self.types.translate(p));
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
            SourceEvent::Msg(ServerMsg::TypeNames(ref t)) => {
                self.types.learn(t);
                Prepared::Event(ev)
            }
            SourceEvent::Msg(ServerMsg::Welcome(ref w)) => {
                // A new connection numbers its types from 0 again.
                self.types.clear();
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
