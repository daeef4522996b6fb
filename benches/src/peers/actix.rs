//! actix: actors on actix's own single-threaded system (`Addr::do_send` for casts, `send` for
//! calls). It has no multi-thread flavor of one actor system, so only "ct" is measured.
//!
//! actix does not catch panics in handlers (a panic takes the arbiter down), so its restart
//! workload "crashes" by stopping the actor; its `Supervisor` then restarts the same actor value
//! in place (`restarting`, then `started` again) behind the same `Addr`.

use crate::workload::{Done, Peer};
use actix::{Actor, ActorContext, Addr, Context, Handler, Message, Supervised};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// actix.
#[derive(Clone, Copy, Debug, Default)]
pub struct Actix;

/// The counter server.
pub struct Counter(u64);

impl Actor for Counter {
    type Context = Context<Self>;
}

/// A cast.
pub struct Add(u64);

impl Message for Add {
    type Result = ();
}

/// A call.
pub struct Get;

impl Message for Get {
    type Result = u64;
}

/// Ask an actor to stop.
pub struct Stop;

impl Message for Stop {
    type Result = ();
}

impl Handler<Add> for Counter {
    type Result = ();

    fn handle(&mut self, Add(by): Add, _: &mut Context<Self>) {
        self.0 = self.0.wrapping_add(by);
    }
}

impl Handler<Get> for Counter {
    type Result = u64;

    fn handle(&mut self, _: Get, _: &mut Context<Self>) -> u64 {
        self.0
    }
}

impl Handler<Stop> for Counter {
    type Result = ();

    fn handle(&mut self, _: Stop, ctx: &mut Context<Self>) {
        ctx.stop();
    }
}

/// The idle worker.
pub struct Idle(Arc<Done>);

impl Actor for Idle {
    type Context = Context<Self>;
}

/// The first message.
pub struct Poke;

impl Message for Poke {
    type Result = ();
}

impl Handler<Poke> for Idle {
    type Result = ();

    fn handle(&mut self, _: Poke, _: &mut Context<Self>) {
        self.0.hit();
    }
}

impl Peer for Actix {
    type Server = Addr<Counter>;
    type Worker = Addr<Idle>;

    async fn server(&self) -> Self::Server {
        Counter(0).start()
    }

    async fn cast(server: &Self::Server, by: u64) {
        server.do_send(Add(by));
    }

    async fn call(server: &Self::Server) -> u64 {
        server.send(Get).await.expect("counter replies")
    }

    async fn stop(server: Self::Server) {
        let _ = server.send(Stop).await;
    }

    async fn worker(&self, done: Arc<Done>) -> Self::Worker {
        Idle(done).start()
    }

    fn poke(worker: &Self::Worker) {
        worker.do_send(Poke);
    }
}

/// The supervised child: announces each (re)start from `started`.
struct Fragile(mpsc::UnboundedSender<()>);

impl Actor for Fragile {
    type Context = Context<Self>;

    fn started(&mut self, _: &mut Context<Self>) {
        let _ = self.0.send(());
    }
}

impl Supervised for Fragile {}

impl Handler<Stop> for Fragile {
    type Result = ();

    fn handle(&mut self, _: Stop, ctx: &mut Context<Self>) {
        ctx.stop();
    }
}

impl Handler<Get> for Fragile {
    type Result = u64;

    fn handle(&mut self, _: Get, _: &mut Context<Self>) -> u64 {
        0
    }
}

/// Stop a supervised child `n` times; each time, time until the restarted actor has answered.
/// Must run on an actix system.
pub async fn restart(n: u64) -> Duration {
    let (announce, mut incarnations) = mpsc::unbounded_channel();
    let child = actix::Supervisor::start(move |_| Fragile(announce));
    incarnations.recv().await.expect("first start");
    child.send(Get).await.expect("first answers");
    let start = Instant::now();
    for _ in 0..n {
        child.do_send(Stop);
        incarnations.recv().await.expect("restart");
        child.send(Get).await.expect("restarted answers");
    }
    start.elapsed()
}
