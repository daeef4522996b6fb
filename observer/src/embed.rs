//! Embedding in an application built on the `beamline` runtime (feature `runtime`).
//!
//! ```no_run
//! # async fn app(rt: beamline::Runtime) -> std::io::Result<()> {
//! // ... start your processes on `rt`, then, in the same terminal:
//! beamline_observer::watch(&rt, beamline_observer::Options::default()).await
//! # }
//! ```

use crate::app::{Options, run_embedded};
use crate::source::Feed;
use beamline::Observation;
use beamline_wire::{ControlReply, ControlRequest, ServerMsg};

/// The runtime's subscription is a [`Feed`] as it is.
impl Feed for Observation {
    fn recv(&mut self) -> impl Future<Output = Option<ServerMsg>> + Send {
        Observation::recv(self)
    }

    fn missed(&self) -> u64 {
        Observation::missed(self)
    }

    fn control(&self, request: ControlRequest) -> impl Future<Output = ControlReply> + Send {
        Observation::control(self, request)
    }
}

/// Run the observer in this terminal over `runtime` until the user quits (`q`), ctrl-c or
/// SIGTERM. Panics inside the runtime's processes (which end only that process) leave the
/// screen alone; any other panic restores the terminal.
///
/// Cancel safety: dropping the future stops the observer and restores the terminal; the runtime
/// and its processes carry on.
pub async fn watch(runtime: &beamline::Runtime, mut opts: Options) -> std::io::Result<()> {
    opts.ignore_panic = Some(|| beamline::self_pid().is_some());
    run_embedded(runtime.observe(), opts).await
}
