//! A worker that records its life in a shared log.

use beamline::supervisor::ChildSpec;
use beamline::{CallReply, Ctx, ExitReason, GenServer, InitError, Next};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub type Log = Arc<Mutex<Vec<String>>>;

pub fn log() -> Log {
    Arc::new(Mutex::new(Vec::new()))
}

pub fn take(log: &Log) -> Vec<String> {
    std::mem::take(&mut *log.lock().unwrap())
}

#[derive(Clone)]
pub struct WArgs {
    pub id: String,
    pub log: Log,
    /// While set, init fails.
    pub fail_init: Arc<AtomicBool>,
    /// Init fails this many more times.
    pub fail_times: Arc<AtomicU32>,
    /// While set, init asks to be ignored.
    pub ignore_init: Arc<AtomicBool>,
    /// Init takes this long (on tokio's clock) before it succeeds or fails.
    pub init_delay: Option<Duration>,
    /// Ignore shutdown requests by sleeping in terminate for this long.
    pub slow_terminate: Option<Duration>,
}

pub fn args(id: &str, log: &Log) -> WArgs {
    WArgs {
        id: id.into(),
        log: log.clone(),
        fail_init: Arc::new(AtomicBool::new(false)),
        fail_times: Arc::new(AtomicU32::new(0)),
        ignore_init: Arc::new(AtomicBool::new(false)),
        init_delay: None,
        slow_terminate: None,
    }
}

pub fn worker(id: &str, log: &Log) -> ChildSpec {
    ChildSpec::worker::<Worker>(id, args(id, log))
}

pub struct Worker {
    a: WArgs,
}

#[derive(Debug)]
pub enum Cmd {
    Ping,
    Crash,
    Exit(ExitReason),
}

impl GenServer for Worker {
    type Args = WArgs;
    type Call = Cmd;
    type Reply = String;
    type Cast = Cmd;
    type Info = ();

    async fn init(a: WArgs, _ctx: &mut Ctx<Self>) -> Result<Self, InitError> {
        if let Some(d) = a.init_delay {
            tokio::time::sleep(d).await;
        }
        if a.ignore_init.load(Ordering::SeqCst) {
            a.log.lock().unwrap().push(format!("ignore {}", a.id));
            return Err(InitError::Ignore);
        }
        let fail_once = a
            .fail_times
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if fail_once || a.fail_init.load(Ordering::SeqCst) {
            a.log.lock().unwrap().push(format!("fail {}", a.id));
            return Err(InitError::stop("cannot start"));
        }
        a.log.lock().unwrap().push(format!("start {}", a.id));
        Ok(Worker { a })
    }

    async fn handle_call(&mut self, msg: Cmd, _ctx: &mut Ctx<Self>) -> CallReply<String> {
        match msg {
            Cmd::Ping => CallReply::reply(self.a.id.clone()),
            Cmd::Crash => panic!("{} crashed", self.a.id),
            Cmd::Exit(r) => CallReply::stop(r, Some("bye".into())),
        }
    }

    async fn handle_cast(&mut self, msg: Cmd, _ctx: &mut Ctx<Self>) -> Next {
        match msg {
            Cmd::Crash => panic!("{} crashed", self.a.id),
            Cmd::Exit(r) => Next::stop(r),
            Cmd::Ping => Next::noreply(),
        }
    }

    async fn terminate(&mut self, reason: &ExitReason, _ctx: &mut Ctx<Self>) {
        if let Some(d) = self.a.slow_terminate {
            tokio::time::sleep(d).await;
        }
        self.a
            .log
            .lock()
            .unwrap()
            .push(format!("stop {} {}", self.a.id, reason));
    }
}

/// Let every task run until all wait (the clock is paused; tokio advances it only when idle).
pub async fn settle() {
    tokio::time::sleep(Duration::from_millis(1)).await;
}

/// The running process of child `id`.
pub async fn child_of(sup: &beamline::supervisor::Supervisor, id: &str) -> beamline::ProcessRef {
    sup.which_children()
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.id == id)
        .and_then(|c| c.process)
        .unwrap_or_else(|| panic!("child {id} is not running"))
}

/// Crash child `id` with a panic and wait until its supervisor has reacted.
pub async fn crash(sup: &beamline::supervisor::Supervisor, id: &str) {
    let p = child_of(sup, id).await;
    let w = p.downcast::<Worker>().unwrap();
    w.cast(Cmd::Crash).await.unwrap();
    p.wait().await;
    settle().await;
}

/// What a [`Trapper`] does with its supervisor's shutdown.
#[derive(Clone, Debug)]
pub enum OnExit {
    /// Stop with this reason of its own.
    Stop(ExitReason),
    /// Carry on (the runtime still ends it: its parent's exit).
    Ignore,
    /// Get stuck in the callback: only a kill ends it.
    Hang,
}

/// A child that traps exits and logs the exit messages it gets.
pub struct Trapper {
    id: String,
    log: Log,
    on_exit: OnExit,
}

pub fn trapper(id: &str, log: &Log, on_exit: OnExit) -> ChildSpec {
    ChildSpec::worker::<Trapper>(id, (id.to_string(), log.clone(), on_exit))
}

impl GenServer for Trapper {
    type Args = (String, Log, OnExit);
    type Call = ();
    type Reply = ();
    type Cast = ();
    type Info = ();

    async fn init((id, log, on_exit): Self::Args, ctx: &mut Ctx<Self>) -> Result<Self, InitError> {
        ctx.trap_exit(true);
        Ok(Trapper { id, log, on_exit })
    }

    async fn handle_info(&mut self, msg: beamline::Info<()>, _ctx: &mut Ctx<Self>) -> Next {
        if let beamline::Info::Exit { reason, .. } = msg {
            self.log
                .lock()
                .unwrap()
                .push(format!("exit {} {reason}", self.id));
            match &self.on_exit {
                OnExit::Stop(own) => return Next::stop(own.clone()),
                OnExit::Ignore => {}
                OnExit::Hang => tokio::time::sleep(Duration::from_secs(1 << 30)).await,
            }
        }
        Next::noreply()
    }

    async fn terminate(&mut self, reason: &ExitReason, _ctx: &mut Ctx<Self>) {
        self.log
            .lock()
            .unwrap()
            .push(format!("stop {} {reason}", self.id));
    }
}

/// What supervisor `sup` publishes to observers, from a fresh observation's first snapshot.
pub async fn published(
    rt: &beamline::Runtime,
    sup: beamline::wire::Pid,
) -> beamline::wire::SupervisorInfo {
    let mut obs = rt.observe();
    loop {
        if let beamline::wire::ServerMsg::Snapshot(s) = obs.recv().await.expect("stream ended") {
            let p = s.processes.iter().find(|p| p.id == sup).expect("sampled");
            return p.supervisor.clone().expect("a supervisor");
        }
    }
}
