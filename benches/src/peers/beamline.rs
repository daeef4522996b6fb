//! Beamline: `GenServer`s on a [`beamline::Runtime`], instrumented or not (the runtime decides).

use crate::workload::{Done, Peer};
use beamline::supervisor::{ChildSpec, Strategy, Supervisor, SupervisorSpec};
use beamline::{CallReply, Ctx, ExitReason, GenServer, InitError, Next, Runtime, ServerRef};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// A Beamline runtime under test.
#[derive(Clone, Debug)]
pub struct Beamline {
    /// Where processes are started; its instrumentation setting is what is measured.
    pub rt: Runtime,
}

impl Beamline {
    /// A runtime with instrumentation on or off, never serving an endpoint from the environment.
    /// Call inside a tokio runtime.
    pub fn new(instrument: bool) -> Beamline {
        Beamline {
            rt: runtime(instrument),
        }
    }

    /// The column name.
    pub fn label(&self) -> &'static str {
        label(self.rt.is_instrumented())
    }
}

/// A runtime as the benchmarks build it.
pub fn runtime(instrument: bool) -> Runtime {
    Runtime::builder()
        .node("bench")
        .instrument(instrument)
        .observe_from_env(false)
        .build()
}

/// The column name for an instrumentation setting.
pub fn label(instrument: bool) -> &'static str {
    if instrument {
        "beamline"
    } else {
        "beamline-off"
    }
}

/// The counter server.
pub struct Counter(u64);

impl GenServer for Counter {
    type Args = ();
    type Call = ();
    type Reply = u64;
    type Cast = u64;
    type Info = ();

    async fn init(_: (), _ctx: &mut Ctx<Self>) -> Result<Self, InitError> {
        Ok(Counter(0))
    }

    async fn handle_call(&mut self, _: (), _ctx: &mut Ctx<Self>) -> CallReply<u64> {
        CallReply::reply(self.0)
    }

    async fn handle_cast(&mut self, by: u64, _ctx: &mut Ctx<Self>) -> Next {
        self.0 = self.0.wrapping_add(by);
        Next::noreply()
    }
}

/// The idle worker.
pub struct Idle(Arc<Done>);

impl GenServer for Idle {
    type Args = Arc<Done>;
    type Call = ();
    type Reply = ();
    type Cast = ();
    type Info = ();

    async fn init(done: Arc<Done>, _ctx: &mut Ctx<Self>) -> Result<Self, InitError> {
        Ok(Idle(done))
    }

    async fn handle_cast(&mut self, _: (), _ctx: &mut Ctx<Self>) -> Next {
        self.0.hit();
        Next::noreply()
    }
}

impl Peer for Beamline {
    type Server = ServerRef<Counter>;
    type Worker = ServerRef<Idle>;

    async fn server(&self) -> Self::Server {
        self.rt.start::<Counter>(()).await.expect("counter starts")
    }

    async fn cast(server: &Self::Server, by: u64) {
        let _ = server.cast(by).await;
    }

    async fn call(server: &Self::Server) -> u64 {
        server.call(()).await.expect("counter replies")
    }

    async fn stop(server: Self::Server) {
        let _ = server.stop(ExitReason::Normal, None).await;
    }

    async fn worker(&self, done: Arc<Done>) -> Self::Worker {
        self.rt.start::<Idle>(done).await.expect("worker starts")
    }

    fn poke(worker: &Self::Worker) {
        let _ = worker.try_cast(());
    }
}

/// A supervised worker that announces each incarnation and panics on a cast.
struct Fragile;

impl GenServer for Fragile {
    type Args = mpsc::UnboundedSender<ServerRef<Fragile>>;
    type Call = ();
    type Reply = ();
    type Cast = ();
    type Info = ();

    async fn init(
        announce: mpsc::UnboundedSender<ServerRef<Fragile>>,
        ctx: &mut Ctx<Self>,
    ) -> Result<Self, InitError> {
        let _ = announce.send(ctx.myself().clone());
        Ok(Fragile)
    }

    async fn handle_call(&mut self, _: (), _ctx: &mut Ctx<Self>) -> CallReply<()> {
        CallReply::reply(())
    }

    async fn handle_cast(&mut self, _: (), _ctx: &mut Ctx<Self>) -> Next {
        panic!("crash requested")
    }
}

/// Crash a one_for_one supervisor's only child `n` times; each time, time until the replacement
/// has answered a call.
pub async fn restart(rt: Runtime, n: u64) -> Duration {
    let (announce, mut incarnations) = mpsc::unbounded_channel();
    let spec = SupervisorSpec::new(Strategy::OneForOne)
        .intensity(u32::MAX, Duration::from_millis(100))
        .child(ChildSpec::worker::<Fragile>("fragile", announce));
    let sup = Supervisor::start(&rt, spec)
        .await
        .expect("supervisor starts");
    let mut current = incarnations.recv().await.expect("first incarnation");
    current.call(()).await.expect("first answers");
    let start = Instant::now();
    for _ in 0..n {
        let _ = current.cast(()).await;
        current = incarnations.recv().await.expect("replacement");
        current.call(()).await.expect("replacement answers");
    }
    let elapsed = start.elapsed();
    let _ = sup.stop().await;
    elapsed
}
