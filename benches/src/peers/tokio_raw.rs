//! The floor: a task owning an unbounded `mpsc` receiver; calls carry a `oneshot` sender.
//! Supervision is a loop that respawns the worker task when its `JoinHandle` reports a panic.

use crate::workload::{Done, Peer};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};

/// Raw tokio.
#[derive(Clone, Copy, Debug, Default)]
pub struct Raw;

/// The server's messages.
pub enum Msg {
    Add(u64),
    Get(oneshot::Sender<u64>),
    Crash,
}

async fn serve(mut rx: mpsc::UnboundedReceiver<Msg>) {
    let mut n = 0u64;
    while let Some(m) = rx.recv().await {
        match m {
            Msg::Add(by) => n = n.wrapping_add(by),
            Msg::Get(reply) => {
                let _ = reply.send(n);
            }
            Msg::Crash => panic!("crash requested"),
        }
    }
}

async fn get(tx: &mpsc::UnboundedSender<Msg>) -> u64 {
    let (reply, rx) = oneshot::channel();
    tx.send(Msg::Get(reply)).expect("server alive");
    rx.await.expect("server replied")
}

impl Peer for Raw {
    type Server = mpsc::UnboundedSender<Msg>;
    type Worker = mpsc::UnboundedSender<()>;

    async fn server(&self) -> Self::Server {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(serve(rx));
        tx
    }

    async fn cast(server: &Self::Server, by: u64) {
        server.send(Msg::Add(by)).expect("server alive");
    }

    async fn call(server: &Self::Server) -> u64 {
        get(server).await
    }

    async fn stop(server: Self::Server) {
        // The task ends once its last sender is gone.
        drop(server);
    }

    async fn worker(&self, done: Arc<Done>) -> Self::Worker {
        let (tx, mut rx) = mpsc::unbounded_channel::<()>();
        tokio::spawn(async move {
            while rx.recv().await.is_some() {
                done.hit();
            }
        });
        tx
    }

    fn poke(worker: &Self::Worker) {
        let _ = worker.send(());
    }
}

/// Crash the worker `n` times; each time, a supervising task sees the panic through the join
/// handle, starts a replacement and hands its sender back; the time runs until the replacement
/// has answered a call.
pub async fn restart(n: u64) -> Duration {
    let (handoff_tx, mut handoff) = mpsc::unbounded_channel();
    let supervisor = tokio::spawn(async move {
        loop {
            let (tx, rx) = mpsc::unbounded_channel();
            let worker = tokio::spawn(serve(rx));
            if handoff_tx.send(tx).is_err() {
                return;
            }
            if worker.await.is_ok() {
                return;
            }
        }
    });
    let mut current = handoff.recv().await.expect("first worker");
    get(&current).await;
    let start = Instant::now();
    for _ in 0..n {
        current.send(Msg::Crash).expect("worker alive");
        current = handoff.recv().await.expect("replacement");
        get(&current).await;
    }
    let elapsed = start.elapsed();
    drop(handoff);
    drop(current);
    supervisor.abort();
    elapsed
}
