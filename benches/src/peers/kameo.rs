//! kameo: actors with one `Message<T>` impl per message type, `tell` and `ask`, unbounded
//! mailboxes. Built with kameo's `console` feature when this crate's `kameo-console` is on.

use crate::workload::{Done, Peer};
use kameo::actor::{ActorRef, Spawn};
use kameo::error::Infallible;
use kameo::mailbox;
use kameo::message::{Context, Message};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// kameo.
#[derive(Clone, Copy, Debug, Default)]
pub struct Kameo;

/// The counter server.
#[derive(kameo::Actor)]
pub struct Counter(u64);

/// A cast.
pub struct Add(u64);

/// A call.
pub struct Get;

impl Message<Add> for Counter {
    type Reply = ();

    async fn handle(&mut self, Add(by): Add, _: &mut Context<Self, ()>) {
        self.0 = self.0.wrapping_add(by);
    }
}

impl Message<Get> for Counter {
    type Reply = u64;

    async fn handle(&mut self, _: Get, _: &mut Context<Self, u64>) -> u64 {
        self.0
    }
}

/// The idle worker.
#[derive(kameo::Actor)]
pub struct Idle(Arc<Done>);

/// The first message.
pub struct Poke;

impl Message<Poke> for Idle {
    type Reply = ();

    async fn handle(&mut self, _: Poke, _: &mut Context<Self, ()>) {
        self.0.hit();
    }
}

impl Peer for Kameo {
    type Server = ActorRef<Counter>;
    type Worker = ActorRef<Idle>;

    async fn server(&self) -> Self::Server {
        let a = Counter::spawn_with_mailbox(Counter(0), mailbox::unbounded());
        a.wait_for_startup().await;
        a
    }

    async fn cast(server: &Self::Server, by: u64) {
        let _ = server.tell(Add(by)).await;
    }

    async fn call(server: &Self::Server) -> u64 {
        server.ask(Get).await.expect("counter replies")
    }

    async fn stop(server: Self::Server) {
        let _ = server.stop_gracefully().await;
        server.wait_for_shutdown().await;
    }

    async fn worker(&self, done: Arc<Done>) -> Self::Worker {
        Idle::spawn_with_mailbox(Idle(done), mailbox::unbounded())
    }

    fn poke(worker: &Self::Worker) {
        let _ = worker.tell(Poke).try_send();
    }
}

/// The crashing child: announces each incarnation from `on_start`.
struct Fragile;

impl kameo::Actor for Fragile {
    type Args = mpsc::UnboundedSender<()>;
    type Error = Infallible;

    async fn on_start(announce: Self::Args, _: ActorRef<Self>) -> Result<Self, Self::Error> {
        let _ = announce.send(());
        Ok(Fragile)
    }
}

struct Crash;
struct Ping;

impl Message<Crash> for Fragile {
    type Reply = ();

    async fn handle(&mut self, _: Crash, _: &mut Context<Self, ()>) {
        panic!("crash requested")
    }
}

impl Message<Ping> for Fragile {
    type Reply = ();

    async fn handle(&mut self, _: Ping, _: &mut Context<Self, ()>) {}
}

/// The supervisor (one_for_one, kameo's default strategy).
#[derive(kameo::Actor)]
struct Parent;

/// Crash a supervised child `n` times; each time, time until the replacement (same
/// `ActorRef`, new instance) has answered an `ask`.
pub async fn restart(n: u64) -> Duration {
    let parent = Parent::spawn(Parent);
    parent.wait_for_startup().await;
    let (announce, mut incarnations) = mpsc::unbounded_channel();
    let child = Fragile::supervise(&parent, announce)
        .restart_limit(u32::MAX, Duration::from_millis(100))
        .spawn_with_mailbox(mailbox::unbounded())
        .await;
    incarnations.recv().await.expect("first incarnation");
    child.ask(Ping).await.expect("first answers");
    let start = Instant::now();
    for _ in 0..n {
        let _ = child.tell(Crash).await;
        incarnations.recv().await.expect("replacement");
        child.ask(Ping).await.expect("replacement answers");
    }
    let elapsed = start.elapsed();
    let _ = parent.stop_gracefully().await;
    parent.wait_for_shutdown().await;
    elapsed
}
