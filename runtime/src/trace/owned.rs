//! The traces one subscriber (an observer connection, an embedded observer) started: their
//! batches are handed out beside its samples, and they all stop when it goes away, so a
//! disconnected observer never leaves a trace running.

use super::{Trace, TraceBatch, TraceSpec, TraceTarget};
use crate::process::Shared;
use beamline_wire::ControlReply;
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;

/// At most this many traces per subscriber at a time.
pub(crate) const MAX_PER_SUBSCRIBER: usize = 4;

/// A subscriber's traces.
#[derive(Default)]
pub(crate) struct Owned {
    wake: Arc<Notify>,
    traces: Mutex<Vec<Trace>>,
}

impl Owned {
    fn list(&self) -> std::sync::MutexGuard<'_, Vec<Trace>> {
        self.traces.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Start a trace for this subscriber.
    pub(crate) fn start(
        &self,
        shared: &Arc<Shared>,
        target: TraceTarget,
        spec: TraceSpec,
    ) -> ControlReply {
        let mut list = self.list();
        list.retain(|t| !t.session.finished());
        if list.len() >= MAX_PER_SUBSCRIBER {
            return ControlReply::Error(format!(
                "refused: at most {MAX_PER_SUBSCRIBER} traces per observer; stop one first"
            ));
        }
        match super::start(shared, target, spec, self.wake.clone()) {
            Ok(trace) => {
                let reply = ControlReply::TraceStarted {
                    trace: trace.id(),
                    pid: trace.pid(),
                    spec: trace.spec(),
                };
                list.push(trace);
                reply
            }
            Err(why) => ControlReply::Error(why),
        }
    }

    /// Stop one of this subscriber's traces.
    pub(crate) fn stop(&self, id: u64) -> ControlReply {
        match self.list().iter().find(|t| t.id() == id) {
            Some(t) => {
                t.stop();
                ControlReply::Ok
            }
            None => ControlReply::Error(format!("no trace {id} started by this observer")),
        }
    }

    /// A batch from any of the traces, if one has something.
    pub(crate) fn drain(&self) -> Option<TraceBatch> {
        let mut list = self.list();
        let batch = list.iter().find_map(|t| t.try_next());
        list.retain(|t| !t.session.finished());
        batch
    }

    /// Wait until some trace may have something.
    ///
    /// Cancel safety: cancel safe (a missed wake-up is made up by the next `drain`).
    pub(crate) async fn ready(&self) {
        self.wake.notified().await;
    }

    /// Stop every trace (the subscriber is going away).
    pub(crate) fn stop_all(&self) {
        for t in self.list().drain(..) {
            t.stop();
        }
    }

    /// How many traces this subscriber holds.
    pub(crate) fn len(&self) -> usize {
        self.list().len()
    }
}
