//! The generic drivers. Each returns the wall time of the measured part only: setup (starting
//! the server) and teardown are outside the clock.

use std::future::Future;
use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// One runtime under test, with the two actors every workload uses:
///
/// - a *server* holding a `u64`: a cast adds to it, a call returns it;
/// - a *worker* that does nothing but hit a shared [`Done`] on its first message.
///
/// Each peer uses its own idiomatic API, with an unbounded mailbox where it offers a choice
/// (Beamline's default; kameo's default is bounded at 64, so kameo is given its unbounded one).
pub trait Peer: Clone + Send + Sync + 'static {
    /// A handle to a running server.
    type Server: Clone + Send + Sync + 'static;
    /// A handle to a running worker; dropping it must not stop the worker before `Done`.
    type Worker: Send + 'static;

    /// Start a server and wait until it accepts messages.
    fn server(&self) -> impl Future<Output = Self::Server> + Send;
    /// Fire and forget.
    fn cast(server: &Self::Server, by: u64) -> impl Future<Output = ()> + Send;
    /// Request and reply.
    fn call(server: &Self::Server) -> impl Future<Output = u64> + Send;
    /// Stop it and wait for it to end.
    fn stop(server: Self::Server) -> impl Future<Output = ()> + Send;
    /// Spawn a worker (as the framework spawns: some wait for a start hook, some do not).
    fn worker(&self, done: Arc<Done>) -> impl Future<Output = Self::Worker> + Send;
    /// Send a worker its first message.
    fn poke(worker: &Self::Worker);
}

/// A countdown that wakes one waiter when it reaches zero.
pub struct Done {
    left: AtomicUsize,
    zero: Notify,
}

impl Done {
    /// Wait for `n` hits.
    pub fn new(n: usize) -> Arc<Done> {
        Arc::new(Done {
            left: AtomicUsize::new(n),
            zero: Notify::new(),
        })
    }

    /// Count one.
    pub fn hit(&self) {
        if self.left.fetch_sub(1, Ordering::AcqRel) == 1 {
            // notify_one keeps a permit, so a waiter that arrives later still wakes.
            self.zero.notify_one();
        }
    }

    /// Resolve once every hit has happened.
    pub async fn wait(&self) {
        if self.left.load(Ordering::Acquire) == 0 {
            return;
        }
        self.zero.notified().await;
    }
}

/// `n` casts from `senders` tasks to one server, then one call, which the server answers only
/// after every cast before it (mailboxes are FIFO per sender). Time per cast is `elapsed / n`.
pub async fn cast<P: Peer>(peer: P, senders: usize, n: u64) -> Duration {
    let server = peer.server().await;
    P::call(&server).await;
    let per = n.div_ceil(senders as u64);
    let start = Instant::now();
    if senders == 1 {
        for i in 0..per {
            P::cast(&server, i).await;
        }
    } else {
        let tasks: Vec<_> = (0..senders)
            .map(|_| {
                let s = server.clone();
                tokio::spawn(async move {
                    for i in 0..per {
                        P::cast(&s, i).await;
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.expect("sender panicked");
        }
    }
    black_box(P::call(&server).await);
    let elapsed = start.elapsed();
    P::stop(server).await;
    scale(elapsed, n, per * senders as u64)
}

/// `n` calls in total from `callers` concurrent tasks, each waiting for its reply before the
/// next. With one caller, time per call is the round trip; with many, it is the server's
/// time per call under contention.
pub async fn call<P: Peer>(peer: P, callers: usize, n: u64) -> Duration {
    let server = peer.server().await;
    P::call(&server).await;
    let per = n.div_ceil(callers as u64);
    let start = Instant::now();
    if callers == 1 {
        for _ in 0..per {
            black_box(P::call(&server).await);
        }
    } else {
        let tasks: Vec<_> = (0..callers)
            .map(|_| {
                let s = server.clone();
                tokio::spawn(async move {
                    for _ in 0..per {
                        black_box(P::call(&s).await);
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.expect("caller panicked");
        }
    }
    let elapsed = start.elapsed();
    P::stop(server).await;
    scale(elapsed, n, per * callers as u64)
}

/// Spawn `n` workers one after another, each sent its first message right after its spawn,
/// and wait until all of them have handled it. Returns the elapsed time and the workers, which
/// are still alive (the caller decides when to drop them, outside the clock).
pub async fn spawn<P: Peer>(peer: P, n: usize) -> (Duration, Vec<P::Worker>) {
    let done = Done::new(n);
    let mut workers = Vec::with_capacity(n);
    let start = Instant::now();
    for _ in 0..n {
        let w = peer.worker(done.clone()).await;
        P::poke(&w);
        workers.push(w);
    }
    done.wait().await;
    (start.elapsed(), workers)
}

fn scale(elapsed: Duration, wanted: u64, did: u64) -> Duration {
    if wanted == did || did == 0 {
        elapsed
    } else {
        elapsed.mul_f64(wanted as f64 / did as f64)
    }
}
