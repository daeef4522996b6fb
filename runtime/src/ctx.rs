//! What a callback can reach besides its state: itself, the runtime, the reply handle of the
//! call in progress, links, monitors, exit trapping and timers.

use crate::handle::{ReplyTo, ServerRef};
use crate::process::MonitorRef;
use crate::timer::{self, TimerRef};
use crate::{GenServer, ProcessRef, Runtime};
use beamline_wire::Pid;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;
use tokio::sync::oneshot;

/// The context passed to every callback of a [`GenServer`].
pub struct Ctx<S: GenServer> {
    pub(crate) myself: ServerRef<S>,
    pub(crate) rt: Runtime,
    pub(crate) reply: Option<oneshot::Sender<S::Reply>>,
    pub(crate) idle_timeout: Option<Duration>,
}

impl<S: GenServer> Ctx<S> {
    /// A handle to this process, e.g. to give to others or to cast to yourself. (Calling
    /// yourself returns [`crate::CallError::CallingSelf`] at once.)
    pub fn myself(&self) -> &ServerRef<S> {
        &self.myself
    }

    /// This process's pid.
    pub fn pid(&self) -> Pid {
        self.myself.pid()
    }

    /// The runtime this process runs in: start other processes, look up names.
    pub fn runtime(&self) -> &Runtime {
        &self.rt
    }

    /// Take the reply handle of the call being handled, to answer later from any callback
    /// with [`ReplyTo::reply`] (OTP's `GenServer.reply/2`). Return [`crate::CallReply::noreply`].
    ///
    /// # Panics
    /// Outside `handle_call`, or when taken twice for one call.
    pub fn defer_reply(&mut self) -> ReplyTo<S::Reply> {
        ReplyTo {
            tx: self
                .reply
                .take()
                .expect("defer_reply is only available once, inside handle_call"),
        }
    }

    /// Trap exits: linked processes' exits arrive as [`crate::Info::Exit`] instead of ending
    /// this process. The exit of its parent (its supervisor, or the process that started it
    /// linked) still ends it, as in OTP's gen_server, but `handle_info` sees it first and may
    /// stop with a reason of its own (`Next::stop`); a supervisor's shutdown reaches a trapping
    /// child this way.
    pub fn trap_exit(&self, on: bool) {
        self.myself.cell.trap_exit.store(on, Relaxed);
    }

    /// Link to another process: if either exits abnormally, the other receives an exit signal.
    /// Linking to a dead process delivers an exit signal with reason `noproc`.
    pub fn link(&self, other: &ProcessRef) {
        self.myself.cell.link(&other.cell);
    }

    /// Remove a link.
    pub fn unlink(&self, other: &ProcessRef) {
        self.myself.cell.unlink(&other.cell);
    }

    /// Monitor another process: when it exits, [`crate::Info::Down`] arrives with the reason.
    /// Monitoring a dead process delivers a down message with `noproc` at once.
    pub fn monitor(&self, other: &ProcessRef) -> MonitorRef {
        self.myself.cell.monitor(&other.cell)
    }

    /// Stop a monitor; no down message arrives for it afterwards.
    pub fn demonitor(&self, monitor: MonitorRef) {
        self.myself.cell.demonitor(monitor);
    }

    /// Deliver `msg` to this process's `handle_info` after `after`.
    pub fn send_after(&self, msg: S::Info, after: Duration) -> TimerRef {
        timer::send_after(&self.myself, msg, after)
    }

    /// Deliver `make()` to this process's `handle_info` every `every`.
    pub fn send_interval(
        &self,
        make: impl FnMut() -> S::Info + Send + 'static,
        every: Duration,
    ) -> TimerRef {
        timer::send_interval(&self.myself, make, every)
    }

    /// From `init`: ask for an idle timeout before the first message (OTP's
    /// `{:ok, state, timeout}`). Handlers return [`crate::Next::timeout`] instead.
    pub fn set_idle_timeout(&mut self, after: Duration) {
        self.idle_timeout = Some(after);
    }
}
