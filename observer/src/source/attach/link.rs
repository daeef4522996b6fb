//! The background task behind an [`super::AttachSource`]: connect, run a session, and after a
//! drop wait out a backoff and connect again, until the runtime refuses us or the observer goes.

use super::Request;
use super::addr::Addr;
use super::backoff::Backoff;
use super::handshake::{self, Credentials};
use super::session;
use crate::source::event::{ConnState, SourceEvent};
use beamline_wire::ControlReply;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::mpsc;

/// How one connection attempt ended.
pub(super) enum End {
    /// The runtime said no, or is not a Beamline endpoint; retrying would not help.
    Refused(String),
    /// Could not connect, or the connection dropped.
    Lost {
        /// In plain words.
        reason: String,
        /// Whether the handshake had succeeded.
        was_up: bool,
    },
    /// The observer dropped its end; stop quietly.
    ObserverGone,
}

impl End {
    /// Lost before the handshake completed.
    pub(super) fn early(reason: impl Into<String>) -> End {
        End::Lost {
            reason: reason.into(),
            was_up: false,
        }
    }
}

/// Connect and reconnect until refused or abandoned.
pub(super) async fn run(
    addr: Addr,
    credentials: Credentials,
    events: mpsc::Sender<SourceEvent>,
    mut requests: mpsc::Receiver<Request>,
) {
    let mut backoff = Backoff::new();
    let mut ever_connected = false;
    if events
        .send(SourceEvent::Conn(ConnState::Connecting))
        .await
        .is_err()
    {
        return;
    }
    loop {
        let reason = match attempt(&addr, &credentials, &events, &mut requests).await {
            End::ObserverGone => return,
            End::Refused(reason) => {
                let _ = events
                    .send(SourceEvent::Conn(ConnState::Failed(reason)))
                    .await;
                return;
            }
            End::Lost { reason, was_up } => {
                if was_up {
                    ever_connected = true;
                    backoff = Backoff::new();
                }
                reason
            }
        };
        let delay = backoff.next_delay();
        let state = ConnState::Retrying {
            reason,
            retry_in_ms: delay.as_millis() as u64,
            ever_connected,
        };
        if events.send(SourceEvent::Conn(state)).await.is_err()
            || !wait_out(delay, &mut requests).await
        {
            return;
        }
    }
}

/// One connection: open the stream, then hand it to [`connected`].
async fn attempt(
    addr: &Addr,
    credentials: &Credentials,
    events: &mpsc::Sender<SourceEvent>,
    requests: &mut mpsc::Receiver<Request>,
) -> End {
    match addr {
        Addr::Tcp(a) => match tokio::net::TcpStream::connect(a).await {
            Ok(s) => {
                let _ = s.set_nodelay(true);
                connected(s, credentials.token(addr), events, requests).await
            }
            Err(e) => End::early(e.to_string()),
        },
        Addr::Tls(a) => {
            let Some(trust) = &credentials.tls else {
                return End::Refused(
                    "tls:// needs --tls-ca FILE, --tls-pin SHA256 or --tls-cert FILE".into(),
                );
            };
            let s = match tokio::net::TcpStream::connect(a).await {
                Ok(s) => s,
                Err(e) => return End::early(e.to_string()),
            };
            let _ = s.set_nodelay(true);
            let host = a.rsplit_once(':').map_or(a.as_str(), |(h, _)| h);
            match trust.connect(host, s).await {
                Ok(s) => connected(s, credentials.token(addr), events, requests).await,
                Err(end) => end,
            }
        }
        #[cfg(unix)]
        Addr::Unix(p) => match tokio::net::UnixStream::connect(p).await {
            Ok(s) => connected(s, credentials.token(addr), events, requests).await,
            Err(e) => End::early(e.to_string()),
        },
        #[cfg(not(unix))]
        Addr::Unix(_) => End::Refused("unix sockets are not supported on this platform".into()),
    }
}

/// Handshake, tell the observer, then serve the session.
async fn connected<S>(
    stream: S,
    token: Option<String>,
    events: &mpsc::Sender<SourceEvent>,
    requests: &mut mpsc::Receiver<Request>,
) -> End
where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    let (mut rd, mut wr) = tokio::io::split(stream);
    let welcome = match handshake::handshake(&mut rd, &mut wr, token).await {
        Ok(w) => w,
        Err(end) => return end,
    };
    if events
        .send(SourceEvent::Conn(ConnState::Connected))
        .await
        .is_err()
        || events
            .send(SourceEvent::Msg(beamline_wire::ServerMsg::Welcome(welcome)))
            .await
            .is_err()
    {
        return End::ObserverGone;
    }
    session::serve(rd, wr, events, requests).await
}

/// Sleep `delay` while answering requests at once (the user should not wait for a reply that
/// cannot come); `false` when the observer went away.
async fn wait_out(delay: Duration, requests: &mut mpsc::Receiver<Request>) -> bool {
    let wait = tokio::time::sleep(delay);
    tokio::pin!(wait);
    loop {
        tokio::select! {
            _ = &mut wait => return true,
            req = requests.recv() => match req {
                Some((_, reply)) => { let _ = reply.send(ControlReply::Error("disconnected".into())); }
                None => return false,
            },
        }
    }
}
