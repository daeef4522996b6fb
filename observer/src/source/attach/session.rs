//! A connected session after the handshake: forward samples to the observer, send its control
//! requests and match the runtime's replies to them, until either side goes. A snapshot sent
//! as several frames is handed on as one (`coalesce.rs`), so the model builds its table once.

use super::Request;
use super::coalesce::{Coalesce, GATHER_FOR};
use super::link::End;
use crate::source::event::SourceEvent;
use beamline_wire::{ClientMsg, ControlReply, MAX_FRAME_LEN, ServerMsg, frame};
use std::collections::HashMap;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

/// Serve one session; every request still waiting when it ends is answered with an error.
pub(super) async fn serve<R, W>(
    rd: R,
    mut wr: W,
    events: &mpsc::Sender<SourceEvent>,
    requests: &mut mpsc::Receiver<Request>,
) -> End
where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin,
{
    let (_reader, mut inbound) = spawn_reader(rd);
    let mut pending: HashMap<u64, oneshot::Sender<ControlReply>> = HashMap::new();
    let mut next_id = 0u64;
    let mut gather = Coalesce::default();
    let lost = |reason: String| End::Lost {
        reason,
        was_up: true,
    };
    let end = loop {
        tokio::select! {
            msg = inbound.recv() => match msg {
                Some(Ok(ServerMsg::Reply { id, reply })) => {
                    if let Some(tx) = pending.remove(&id) {
                        let _ = tx.send(reply);
                    }
                }
                Some(Ok(ServerMsg::Refused(why))) => break lost(format!("closed by the runtime: {why}")),
                Some(Ok(m)) => {
                    if !forward(events, gather.push(m)).await {
                        break End::ObserverGone;
                    }
                }
                Some(Err(reason)) => break lost(reason),
                None => break lost("reader stopped".into()),
            },
            () = tokio::time::sleep(GATHER_FOR), if gather.gathering() => {
                if !forward(events, gather.flush()).await {
                    break End::ObserverGone;
                }
            }
            req = requests.recv() => match req {
                Some((request, reply)) => {
                    next_id += 1;
                    pending.insert(next_id, reply);
                    let msg = ClientMsg::Control { id: next_id, request };
                    if let Err(e) = frame::write(&mut wr, &msg).await {
                        break lost(e.to_string());
                    }
                }
                None => break End::ObserverGone,
            },
        }
    };
    // A snapshot cut short by the end of the session is still what the runtime said.
    forward(events, gather.flush()).await;
    for (_, tx) in pending {
        let _ = tx.send(ControlReply::Error(
            "connection lost before the reply".into(),
        ));
    }
    end
}

/// Hand `msgs` on to the observer; `false` once it is gone.
async fn forward(
    events: &mpsc::Sender<SourceEvent>,
    msgs: impl IntoIterator<Item = ServerMsg>,
) -> bool {
    for m in msgs {
        if events.send(SourceEvent::Msg(m)).await.is_err() {
            return false;
        }
    }
    true
}

type Inbound = mpsc::Receiver<Result<ServerMsg, String>>;

/// Frame reads are not cancel safe, so they get a task of their own feeding a channel. The task
/// is aborted however the session ends (the guard comes first in the pair), including when the
/// source is dropped mid-session: it holds half of the socket and would otherwise keep it open.
fn spawn_reader<R>(mut rd: R) -> (AbortOnDrop, Inbound)
where
    R: AsyncRead + Unpin + Send + 'static,
{
    let (tx, rx) = mpsc::channel(4);
    let task = tokio::spawn(async move {
        loop {
            let r = match frame::read::<ServerMsg, _>(&mut rd, MAX_FRAME_LEN).await {
                Ok(Some(m)) => Ok(m),
                Ok(None) => Err("the runtime closed the connection".to_string()),
                Err(e) => Err(e.to_string()),
            };
            let stop = r.is_err();
            if tx.send(r).await.is_err() || stop {
                return;
            }
        }
    });
    (AbortOnDrop(task), rx)
}

/// Aborts a task when dropped.
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
