//! Supervision trees, with OTP's semantics.
//!
//! - [`spec`]: [`ChildSpec`] (id, start function, restart type, shutdown, kind) and
//!   [`SupervisorSpec`] (strategy, restart intensity, children).
//! - [`intensity`]: the restart-intensity window ("at most N restarts in P").
//! - [`child`]: starting a child from its spec and shutting it down by its shutdown policy.
//! - [`static_sup`]: the process behind a [`Supervisor`]: `one_for_one`, `one_for_all`,
//!   `rest_for_one`, and OTP's restart loop; [`sup_handle`]: the [`Supervisor`] handle.
//! - [`listing`]: what both answer: [`ChildInfo`], [`Counts`], [`SupervisorError`].
//! - [`dynamic`]: [`DynamicSupervisor`]: children started at run time; [`dynamic_server`]: its
//!   process.
//!
//! A supervisor is a process like any other (kind `supervisor`), linked to its children and
//! trapping their exits. Restart counts and the last exit reasons belong to the child *slot*, so
//! they survive the process being replaced, and the observer shows them on the new incarnation.
//!
//! ```
//! use beamline::supervisor::{ChildSpec, Strategy, Supervisor, SupervisorSpec};
//! use beamline::{Ctx, GenServer, InitError, Runtime};
//! use std::time::Duration;
//!
//! struct Worker;
//! impl GenServer for Worker {
//!     type Args = ();
//!     type Call = ();
//!     type Reply = ();
//!     type Cast = ();
//!     type Info = ();
//!     async fn init(_: (), _: &mut Ctx<Self>) -> Result<Self, InitError> { Ok(Worker) }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! let rt = Runtime::new();
//! // root -> app (one_for_one) -> [db, cache]
//! let app = SupervisorSpec::new(Strategy::OneForOne)
//!     .intensity(3, Duration::from_secs(5))
//!     .child(ChildSpec::worker::<Worker>("db", ()).name("db"))
//!     .child(ChildSpec::worker::<Worker>("cache", ()));
//! let sup = Supervisor::start(&rt, app).await.unwrap();
//! assert_eq!(sup.count_children().await.unwrap().workers, 2);
//! # }
//! ```

pub mod child;
pub mod dynamic;
pub mod dynamic_server;
pub mod intensity;
pub mod listing;
pub mod spec;
pub mod static_sup;
pub mod sup_handle;

pub use dynamic::{DynamicSupervisor, DynamicSupervisorSpec};
pub use listing::{ChildInfo, Counts, SupervisorError};
pub use spec::{ChildKind, ChildSpec, Restart, Shutdown, Strategy, SupervisorSpec};
pub use sup_handle::Supervisor;

use crate::process::Shared;
use beamline_wire::Pid;

/// Ask the supervisor of `pid` to restart it (terminate its child slot, then start it again).
/// Used by the observer's restart action.
pub(crate) async fn restart_process(shared: &Shared, pid: Pid) -> Result<(), String> {
    let cell = shared
        .table
        .get(pid)
        .ok_or_else(|| format!("no process {pid}"))?;
    let parent = cell
        .meta
        .parent()
        .ok_or_else(|| format!("{pid} has no supervisor"))?;
    let parent_cell = shared
        .table
        .get(parent)
        .ok_or_else(|| format!("the supervisor of {pid} is gone"))?;
    let hook = parent_cell
        .supervisor
        .as_ref()
        .and_then(|s| s.restart_hook.get())
        .ok_or_else(|| {
            format!("{pid} is not supervised (its parent {parent} is not a supervisor)")
        })?;
    let (tx, rx) = tokio::sync::oneshot::channel();
    hook(pid, tx);
    rx.await
        .map_err(|_| format!("the supervisor of {pid} exited"))?
}
