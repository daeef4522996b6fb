//! Attach to a runtime's observe endpoint over TCP (`host:port`) or a Unix socket (`unix:/path`).
//!
//! One background task owns the connection (`link`): it does the `handshake`, runs the
//! `session` (forwards samples, matches control replies to their requests), and on a drop
//! reconnects with capped exponential `backoff`. The UI side only reads a channel, which is
//! what makes [`Source::next`] cancel safe. When something other than Beamline answers, `sniff`
//! says what it was.

mod addr;
mod backoff;
mod coalesce;
mod handshake;
mod link;
mod session;
mod sniff;
mod tls;

pub use addr::{Addr, DEFAULT_ADDR};
pub use backoff::Backoff;
pub use tls::{TlsTrust, Trust, fingerprint, parse_pin};

use super::event::{ControlFuture, Source, SourceEvent};
use beamline_wire::{ControlReply, ControlRequest};
use handshake::Credentials;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

/// A control request and where its reply goes.
type Request = (ControlRequest, oneshot::Sender<ControlReply>);

/// A live runtime reached over the network; reconnects by itself.
pub struct AttachSource {
    addr: Addr,
    events: mpsc::Receiver<SourceEvent>,
    requests: mpsc::Sender<Request>,
    task: JoinHandle<()>,
}

impl AttachSource {
    /// Start connecting in the background; the first events say whether it worked. `token` is
    /// `--token`.
    pub fn spawn(addr: Addr, token: Option<String>) -> Self {
        Self::spawn_tls(addr, token, None)
    }

    /// [`AttachSource::spawn`], verifying `tls://` addresses with `tls` (from
    /// [`TlsTrust::load`]); a `tls://` address without it is refused.
    pub fn spawn_tls(addr: Addr, token: Option<String>, tls: Option<TlsTrust>) -> Self {
        // Small buffer: if the UI falls behind, the reader stops, TCP pushes back, and the
        // runtime resynchronises us with a fresh snapshot instead of queueing without bound.
        let (ev_tx, events) = mpsc::channel(16);
        let (requests, req_rx) = mpsc::channel(16);
        let credentials = Credentials { given: token, tls };
        let task = tokio::spawn(link::run(addr.clone(), credentials, ev_tx, req_rx));
        AttachSource {
            addr,
            events,
            requests,
            task,
        }
    }
}

impl AttachSource {
    /// What [`Source::control`] does, as a handle that outlives a borrow: a fleet keeps one per
    /// node while a task of its own reads the node's events.
    pub fn controller(&self) -> impl Fn(ControlRequest) -> ControlFuture + Send + Sync + 'static {
        let requests = self.requests.clone();
        move |request| send(requests.clone(), request)
    }
}

/// Hand `request` to the connection task and wait for the runtime's reply.
fn send(requests: mpsc::Sender<Request>, request: ControlRequest) -> ControlFuture {
    Box::pin(async move {
        let (tx, rx) = oneshot::channel();
        if requests.send((request, tx)).await.is_err() {
            return ControlReply::Error("not connected".into());
        }
        rx.await
            .unwrap_or_else(|_| ControlReply::Error("connection lost before the reply".into()))
    })
}

impl Drop for AttachSource {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Source for AttachSource {
    async fn next(&mut self) -> Option<SourceEvent> {
        self.events.recv().await
    }

    fn missed(&self) -> u64 {
        // Gaps show up as skipped sequence numbers, which the model counts itself.
        0
    }

    fn control(&self, request: ControlRequest) -> ControlFuture {
        send(self.requests.clone(), request)
    }

    fn describe(&self) -> String {
        self.addr.to_string()
    }
}

#[cfg(test)]
mod tests;
