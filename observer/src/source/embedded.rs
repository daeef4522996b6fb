//! The runtime in the same process: no socket, no handshake, just the runtime's subscription.
//!
//! This file does not depend on the runtime crate: the runtime's subscription is described by
//! [`Feed`], whose methods match `beamline::Runtime::observe()`'s subscription one for one. With
//! the `runtime` feature, `embed.rs` implements `Feed` for it (the observer's one edge into the
//! runtime crate); without it, anything can be a `Feed`, and [`ChannelFeed`] is a ready-made one
//! for code that would rather push messages into a channel.

use super::event::{ConnState, ControlFuture, Source, SourceEvent};
use beamline_wire::{ControlReply, ControlRequest, ServerMsg};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

/// A subscription to the runtime's observation channel.
///
/// It must first yield a `Welcome`, then a `Snapshot`, then `Delta`s, and a fresh `Snapshot`
/// whenever it had to skip updates.
pub trait Feed: Send + 'static {
    /// The next message; `None` when the runtime has shut down.
    ///
    /// Cancel safety: must be cancel safe (as tokio's `mpsc::Receiver::recv` is), because a
    /// control request arriving first drops the pending call.
    fn recv(&mut self) -> impl Future<Output = Option<ServerMsg>> + Send;

    /// Updates dropped because this subscriber was too slow, since it subscribed.
    fn missed(&self) -> u64;

    /// Carry out a control request in the runtime.
    fn control(&self, request: ControlRequest) -> impl Future<Output = ControlReply> + Send;
}

/// A [`Feed`] made of plain parts: a channel of messages and a function that answers control
/// requests. Also how tests drive embedded mode.
pub struct ChannelFeed<C> {
    rx: mpsc::Receiver<ServerMsg>,
    missed: Arc<AtomicU64>,
    control: C,
}

impl<C, F> ChannelFeed<C>
where
    C: Fn(ControlRequest) -> F + Send + Sync + 'static,
    F: Future<Output = ControlReply> + Send,
{
    /// Messages come from `rx`; `missed` is read for the header (the producer bumps it when it
    /// drops an update); `control` answers requests.
    pub fn new(rx: mpsc::Receiver<ServerMsg>, missed: Arc<AtomicU64>, control: C) -> Self {
        ChannelFeed {
            rx,
            missed,
            control,
        }
    }
}

impl<C, F> Feed for ChannelFeed<C>
where
    C: Fn(ControlRequest) -> F + Send + Sync + 'static,
    F: Future<Output = ControlReply> + Send,
{
    async fn recv(&mut self) -> Option<ServerMsg> {
        self.rx.recv().await
    }

    fn missed(&self) -> u64 {
        self.missed.load(Ordering::Relaxed)
    }

    fn control(&self, request: ControlRequest) -> impl Future<Output = ControlReply> + Send {
        (self.control)(request)
    }
}

type Request = (ControlRequest, oneshot::Sender<ControlReply>);

/// Adapts a [`Feed`] to a [`Source`]: one task owns the feed, so receiving and control requests
/// never need to borrow it at the same time.
pub struct EmbeddedSource {
    events: mpsc::Receiver<SourceEvent>,
    requests: mpsc::Sender<Request>,
    missed: Arc<AtomicU64>,
    task: JoinHandle<()>,
}

impl EmbeddedSource {
    /// Start pumping `feed`; must be called inside a tokio runtime.
    pub fn spawn<F: Feed>(mut feed: F) -> Self {
        let (ev_tx, events) = mpsc::channel(16);
        let (requests, mut req_rx) = mpsc::channel::<Request>(16);
        let missed = Arc::new(AtomicU64::new(0));
        let missed_w = missed.clone();
        let task = tokio::spawn(async move {
            if ev_tx
                .send(SourceEvent::Conn(ConnState::Connected))
                .await
                .is_err()
            {
                return;
            }
            loop {
                tokio::select! {
                    msg = feed.recv() => {
                        missed_w.store(feed.missed(), Ordering::Relaxed);
                        let ev = match msg {
                            Some(m) => SourceEvent::Msg(m),
                            None => {
                                let _ = ev_tx.send(SourceEvent::Conn(ConnState::Ended)).await;
                                return;
                            }
                        };
                        if ev_tx.send(ev).await.is_err() {
                            return;
                        }
                    }
                    req = req_rx.recv() => match req {
                        Some((request, reply)) => { let _ = reply.send(feed.control(request).await); }
                        None => return,
                    },
                }
            }
        });
        EmbeddedSource {
            events,
            requests,
            missed,
            task,
        }
    }
}

impl Drop for EmbeddedSource {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Source for EmbeddedSource {
    async fn next(&mut self) -> Option<SourceEvent> {
        self.events.recv().await
    }

    fn missed(&self) -> u64 {
        self.missed.load(Ordering::Relaxed)
    }

    fn control(&self, request: ControlRequest) -> ControlFuture {
        let requests = self.requests.clone();
        Box::pin(async move {
            let (tx, rx) = oneshot::channel();
            if requests.send((request, tx)).await.is_err() {
                return ControlReply::Error("the runtime has shut down".into());
            }
            rx.await
                .unwrap_or_else(|_| ControlReply::Error("the runtime has shut down".into()))
        })
    }

    fn describe(&self) -> String {
        "embedded".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use beamline_wire::Welcome;

    #[tokio::test]
    async fn forwards_messages_missed_counts_and_control() {
        let (tx, rx) = mpsc::channel(4);
        let missed = Arc::new(AtomicU64::new(0));
        let feed = ChannelFeed::new(rx, missed.clone(), |req| async move {
            match req {
                ControlRequest::Logs { .. } => ControlReply::Logs(vec!["hi".into()]),
                _ => ControlReply::Ok,
            }
        });
        let mut src = EmbeddedSource::spawn(feed);
        assert_eq!(
            src.next().await,
            Some(SourceEvent::Conn(ConnState::Connected))
        );
        let w = ServerMsg::Welcome(Welcome {
            version: 1,
            node: "n".into(),
            os_pid: 1,
            incarnation: 9,
            started_unix_ms: 0,
            interval_ms: 1000,
            role: beamline_wire::Role::Operate,
        });
        missed.store(3, Ordering::Relaxed);
        tx.send(w.clone()).await.unwrap();
        assert_eq!(src.next().await, Some(SourceEvent::Msg(w)));
        assert_eq!(src.missed(), 3);
        let reply = src
            .control(ControlRequest::Logs {
                pid: beamline_wire::Pid(1),
            })
            .await;
        assert_eq!(reply, ControlReply::Logs(vec!["hi".into()]));
        drop(tx);
        assert_eq!(src.next().await, Some(SourceEvent::Conn(ConnState::Ended)));
        assert_eq!(src.next().await, None);
    }
}
