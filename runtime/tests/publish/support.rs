//! Test servers and helpers shared by the modules.

use beamline::wire::{Pid, ProcessSample, ServerMsg, table::ProcessTable};
use beamline::{CallReply, Ctx, GenServer, InitError, Next, Observation, Runtime};
use std::time::Duration;

/// A runtime for tests: never enabled from the environment.
pub fn runtime(interval_ms: u64) -> Runtime {
    Runtime::builder()
        .node("test")
        .observe_from_env(false)
        .interval(Duration::from_millis(interval_ms))
        .build()
}

/// Does what its casts say; state not inspectable (the default).
pub struct Worker {
    pub done: u64,
}

pub enum Work {
    /// Sleep on tokio's clock inside the callback (busy time).
    Busy(Duration),
    /// Emit a log line.
    Log(String),
    /// Stop normally.
    Stop,
}

impl GenServer for Worker {
    type Args = ();
    type Call = ();
    type Reply = u64;
    type Cast = Work;
    type Info = ();

    async fn init(_: (), _ctx: &mut Ctx<Self>) -> Result<Self, InitError> {
        Ok(Worker { done: 0 })
    }

    async fn handle_call(&mut self, _: (), _ctx: &mut Ctx<Self>) -> CallReply<u64> {
        CallReply::reply(self.done)
    }

    async fn handle_cast(&mut self, msg: Work, _ctx: &mut Ctx<Self>) -> Next {
        self.done += 1;
        match msg {
            Work::Busy(d) => tokio::time::sleep(d).await,
            Work::Log(line) => tracing::info!(n = self.done, "{line}"),
            Work::Stop => return Next::stop(beamline::ExitReason::Normal),
        }
        Next::noreply()
    }
}

/// A server that opts in to showing its state.
pub struct Open {
    pub secret_free: u64,
}

impl GenServer for Open {
    type Args = u64;
    type Call = ();
    type Reply = ();
    type Cast = ();
    type Info = ();
    const INSPECTABLE: bool = true;

    async fn init(n: u64, _ctx: &mut Ctx<Self>) -> Result<Self, InitError> {
        Ok(Open { secret_free: n })
    }

    fn inspect(&self) -> String {
        format!("Open {{ secret_free: {} }}", self.secret_free)
    }
}

/// Receive until a snapshot or delta arrives (skipping welcome and replies).
pub async fn sample(obs: &mut Observation) -> ServerMsg {
    loop {
        let m = obs.recv().await.expect("stream ended");
        if matches!(m, ServerMsg::Snapshot(_) | ServerMsg::Delta(_)) {
            return m;
        }
    }
}

/// Apply one message to a table; panics on a gap.
pub fn apply(table: &mut ProcessTable, msg: &ServerMsg) {
    match msg {
        ServerMsg::Snapshot(s) => table.apply_snapshot(s),
        ServerMsg::Delta(d) => table.apply_delta(d).expect("delta applies"),
        _ => {}
    }
}

/// The delta's sample for `pid`, if it is in it.
pub fn changed(msg: &ServerMsg, pid: Pid) -> Option<ProcessSample> {
    match msg {
        ServerMsg::Delta(d) => d.changed.iter().find(|p| p.id == pid).cloned(),
        ServerMsg::Snapshot(s) => s.processes.iter().find(|p| p.id == pid).cloned(),
        _ => None,
    }
}

/// A temporary directory for sockets and recordings, removed at drop.
pub struct TempDir(pub std::path::PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let p = std::env::temp_dir().join(format!("beamline-{tag}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
