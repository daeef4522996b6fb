//! ractor: `Actor` impls with `cast` and `call!` (an `RpcReplyPort` in the message).

use crate::workload::{Done, Peer};
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort, SupervisionEvent};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// ractor.
#[derive(Clone, Copy, Debug, Default)]
pub struct Ractor;

/// The server's messages.
pub enum Msg {
    Add(u64),
    Get(RpcReplyPort<u64>),
}

/// The counter server (state is the `u64`).
pub struct Counter;

impl Actor for Counter {
    type Msg = Msg;
    type State = u64;
    type Arguments = ();

    async fn pre_start(&self, _: ActorRef<Msg>, _: ()) -> Result<u64, ActorProcessingErr> {
        Ok(0)
    }

    async fn handle(
        &self,
        _: ActorRef<Msg>,
        msg: Msg,
        n: &mut u64,
    ) -> Result<(), ActorProcessingErr> {
        match msg {
            Msg::Add(by) => *n = n.wrapping_add(by),
            Msg::Get(reply) => {
                let _ = reply.send(*n);
            }
        }
        Ok(())
    }
}

/// The idle worker.
pub struct Idle;

impl Actor for Idle {
    type Msg = ();
    type State = Arc<Done>;
    type Arguments = Arc<Done>;

    async fn pre_start(
        &self,
        _: ActorRef<()>,
        done: Arc<Done>,
    ) -> Result<Arc<Done>, ActorProcessingErr> {
        Ok(done)
    }

    async fn handle(
        &self,
        _: ActorRef<()>,
        _: (),
        done: &mut Arc<Done>,
    ) -> Result<(), ActorProcessingErr> {
        done.hit();
        Ok(())
    }
}

impl Peer for Ractor {
    type Server = ActorRef<Msg>;
    type Worker = ActorRef<()>;

    async fn server(&self) -> Self::Server {
        Actor::spawn(None, Counter, ())
            .await
            .expect("counter starts")
            .0
    }

    async fn cast(server: &Self::Server, by: u64) {
        let _ = server.cast(Msg::Add(by));
    }

    async fn call(server: &Self::Server) -> u64 {
        ractor::call!(server, Msg::Get).expect("counter replies")
    }

    async fn stop(server: Self::Server) {
        let _ = server.stop_and_wait(None, None).await;
    }

    async fn worker(&self, done: Arc<Done>) -> Self::Worker {
        Actor::spawn(None, Idle, done)
            .await
            .expect("worker starts")
            .0
    }

    fn poke(worker: &Self::Worker) {
        let _ = worker.cast(());
    }
}

/// Messages of the crashing child.
pub enum FragileMsg {
    Crash,
    Ping(RpcReplyPort<()>),
}

struct Fragile;

impl Actor for Fragile {
    type Msg = FragileMsg;
    type State = ();
    type Arguments = mpsc::UnboundedSender<ActorRef<FragileMsg>>;

    async fn pre_start(
        &self,
        myself: ActorRef<FragileMsg>,
        announce: Self::Arguments,
    ) -> Result<(), ActorProcessingErr> {
        let _ = announce.send(myself);
        Ok(())
    }

    async fn handle(
        &self,
        _: ActorRef<FragileMsg>,
        msg: FragileMsg,
        _: &mut (),
    ) -> Result<(), ActorProcessingErr> {
        match msg {
            FragileMsg::Crash => panic!("crash requested"),
            FragileMsg::Ping(reply) => {
                let _ = reply.send(());
            }
        }
        Ok(())
    }
}

/// A supervisor that spawns a linked `Fragile` at start and again whenever it fails.
struct Parent;

impl Actor for Parent {
    type Msg = ();
    type State = mpsc::UnboundedSender<ActorRef<FragileMsg>>;
    type Arguments = mpsc::UnboundedSender<ActorRef<FragileMsg>>;

    async fn pre_start(
        &self,
        myself: ActorRef<()>,
        announce: Self::Arguments,
    ) -> Result<Self::State, ActorProcessingErr> {
        Actor::spawn_linked(None, Fragile, announce.clone(), myself.get_cell()).await?;
        Ok(announce)
    }

    async fn handle_supervisor_evt(
        &self,
        myself: ActorRef<()>,
        event: SupervisionEvent,
        announce: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        if let SupervisionEvent::ActorFailed(..) = event {
            Actor::spawn_linked(None, Fragile, announce.clone(), myself.get_cell()).await?;
        }
        Ok(())
    }
}

/// Crash a supervised child `n` times; each time, time until the replacement has answered.
pub async fn restart(n: u64) -> Duration {
    let (announce, mut incarnations) = mpsc::unbounded_channel();
    let (parent, handle) = Actor::spawn(None, Parent, announce)
        .await
        .expect("parent starts");
    let mut current = incarnations.recv().await.expect("first incarnation");
    ractor::call!(current, FragileMsg::Ping).expect("first answers");
    let start = Instant::now();
    for _ in 0..n {
        let _ = current.cast(FragileMsg::Crash);
        current = incarnations.recv().await.expect("replacement");
        ractor::call!(current, FragileMsg::Ping).expect("replacement answers");
    }
    let elapsed = start.elapsed();
    parent.stop(None);
    let _ = handle.await;
    elapsed
}
