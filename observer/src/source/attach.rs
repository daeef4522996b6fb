//! Attach to a runtime's observe endpoint over TCP (`host:port`) or a Unix socket (`unix:/path`).
//!
//! One background task owns the connection: it does the handshake, forwards samples, matches
//! control replies to their requests, and on a drop reconnects with capped exponential backoff.
//! The UI side only reads a channel, which is what makes [`Source::next`] cancel safe.

use super::event::{ConnState, ControlFuture, Source, SourceEvent};
use beamline_wire::{
    ClientMsg, ControlReply, ControlRequest, Hello, MAX_FRAME_LEN, PROTOCOL_VERSION, ServerMsg,
    frame,
};
use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

/// Where the runtime listens; the same default as the runtime's `BEAMLINE_OBSERVE`.
pub const DEFAULT_ADDR: &str = "127.0.0.1:7420";

/// How long the runtime has to answer our `Hello` before we call the attempt failed.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);

/// An endpoint address as users type it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Addr {
    /// `host:port`.
    Tcp(String),
    /// `unix:/path/to/socket`.
    Unix(PathBuf),
}

impl FromStr for Addr {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Some(path) = s.strip_prefix("unix:") {
            if path.is_empty() {
                return Err("unix: needs a socket path, e.g. unix:/tmp/beamline.sock".into());
            }
            return Ok(Addr::Unix(PathBuf::from(path)));
        }
        match s.rsplit_once(':') {
            Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => {
                Ok(Addr::Tcp(s.to_string()))
            }
            _ => Err(format!(
                "not an address: {s:?} (expected host:port or unix:/path)"
            )),
        }
    }
}

impl fmt::Display for Addr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Addr::Tcp(a) => f.write_str(a),
            Addr::Unix(p) => write!(f, "unix:{}", p.display()),
        }
    }
}

/// Reconnect delays: quick at first so a restarting runtime is picked up fast, capped so a dead
/// target does not get hammered.
#[derive(Clone, Debug)]
pub struct Backoff {
    next_ms: u64,
}

impl Backoff {
    const FIRST_MS: u64 = 250;
    const MAX_MS: u64 = 5_000;

    /// A fresh backoff starting at the shortest delay.
    pub fn new() -> Self {
        Backoff {
            next_ms: Self::FIRST_MS,
        }
    }

    /// The delay before the next attempt; each call doubles the following one up to the cap.
    pub fn next_delay(&mut self) -> Duration {
        let d = self.next_ms;
        self.next_ms = (self.next_ms * 2).min(Self::MAX_MS);
        Duration::from_millis(d)
    }
}

impl Default for Backoff {
    fn default() -> Self {
        Self::new()
    }
}

type Request = (ControlRequest, oneshot::Sender<ControlReply>);

/// A live runtime reached over the network; reconnects by itself.
pub struct AttachSource {
    addr: Addr,
    events: mpsc::Receiver<SourceEvent>,
    requests: mpsc::Sender<Request>,
    task: JoinHandle<()>,
}

impl AttachSource {
    /// Start connecting in the background; the first events say whether it worked.
    pub fn spawn(addr: Addr, token: Option<String>) -> Self {
        // Small buffer: if the UI falls behind, the reader stops, TCP pushes back, and the
        // runtime resynchronises us with a fresh snapshot instead of queueing without bound.
        let (ev_tx, events) = mpsc::channel(16);
        let (requests, req_rx) = mpsc::channel(16);
        let task = tokio::spawn(run(addr.clone(), token, ev_tx, req_rx));
        AttachSource {
            addr,
            events,
            requests,
            task,
        }
    }
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
        let requests = self.requests.clone();
        Box::pin(async move {
            let (tx, rx) = oneshot::channel();
            if requests.send((request, tx)).await.is_err() {
                return ControlReply::Error("not connected".into());
            }
            rx.await
                .unwrap_or_else(|_| ControlReply::Error("connection lost before the reply".into()))
        })
    }

    fn describe(&self) -> String {
        self.addr.to_string()
    }
}

/// How one connection attempt ended.
enum End {
    /// The runtime said no; retrying would not help.
    Refused(String),
    /// Could not connect, or the connection dropped.
    Lost { reason: String, was_up: bool },
    /// The observer dropped its end; stop quietly.
    ObserverGone,
}

async fn run(
    addr: Addr,
    token: Option<String>,
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
        let end = match &addr {
            Addr::Tcp(a) => match tokio::net::TcpStream::connect(a).await {
                Ok(s) => {
                    let _ = s.set_nodelay(true);
                    // Read at each attempt: a restarted runtime writes a new cookie.
                    let token = token.clone().or_else(|| loopback_cookie(a));
                    session(s, &token, &events, &mut requests).await
                }
                Err(e) => End::Lost {
                    reason: e.to_string(),
                    was_up: false,
                },
            },
            #[cfg(unix)]
            Addr::Unix(p) => match tokio::net::UnixStream::connect(p).await {
                Ok(s) => session(s, &token, &events, &mut requests).await,
                Err(e) => End::Lost {
                    reason: e.to_string(),
                    was_up: false,
                },
            },
            #[cfg(not(unix))]
            Addr::Unix(_) => End::Refused("unix sockets are not supported on this platform".into()),
        };
        let reason = match end {
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
        if events.send(SourceEvent::Conn(state)).await.is_err() {
            return;
        }
        // While down, answer requests at once rather than leaving the user waiting.
        let wait = tokio::time::sleep(delay);
        tokio::pin!(wait);
        loop {
            tokio::select! {
                _ = &mut wait => break,
                req = requests.recv() => match req {
                    Some((_, reply)) => { let _ = reply.send(ControlReply::Error("disconnected".into())); }
                    None => return,
                },
            }
        }
    }
}

async fn session<S>(
    stream: S,
    token: &Option<String>,
    events: &mpsc::Sender<SourceEvent>,
    requests: &mut mpsc::Receiver<Request>,
) -> End
where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    let (mut rd, mut wr) = tokio::io::split(stream);
    let lost = |reason: String| End::Lost {
        reason,
        was_up: false,
    };
    let hello = ClientMsg::Hello(Hello {
        version: PROTOCOL_VERSION,
        token: token.clone(),
        client: format!("beamline-observer {}", env!("CARGO_PKG_VERSION")),
    });
    if let Err(e) = frame::write(&mut wr, &hello).await {
        return lost(e.to_string());
    }
    let first = tokio::time::timeout(
        HANDSHAKE_TIMEOUT,
        frame::read::<ServerMsg, _>(&mut rd, MAX_FRAME_LEN),
    )
    .await;
    let welcome = match first {
        Err(_) => return lost("no answer to the handshake".into()),
        Ok(Err(e)) => return lost(e.to_string()),
        Ok(Ok(None)) => return lost("closed during the handshake".into()),
        Ok(Ok(Some(ServerMsg::Refused(why)))) => return End::Refused(format!("refused: {why}")),
        Ok(Ok(Some(ServerMsg::Welcome(w)))) => w,
        Ok(Ok(Some(other))) => {
            return End::Refused(format!(
                "not a Beamline endpoint: expected Welcome, got {}",
                msg_name(&other)
            ));
        }
    };
    if welcome.version != PROTOCOL_VERSION {
        return End::Refused(format!(
            "protocol version mismatch: runtime speaks {}, this observer speaks {PROTOCOL_VERSION}",
            welcome.version
        ));
    }
    if events
        .send(SourceEvent::Conn(ConnState::Connected))
        .await
        .is_err()
        || events
            .send(SourceEvent::Msg(ServerMsg::Welcome(welcome)))
            .await
            .is_err()
    {
        return End::ObserverGone;
    }

    // Frame reads are not cancel safe, so they get a task of their own feeding a channel.
    let (in_tx, mut inbound) = mpsc::channel::<Result<ServerMsg, String>>(4);
    // Aborted however the session ends, including when the source is dropped mid-session:
    // the reader holds half of the socket and would otherwise keep it open.
    let _reader = AbortOnDrop(tokio::spawn(async move {
        loop {
            let r = match frame::read::<ServerMsg, _>(&mut rd, MAX_FRAME_LEN).await {
                Ok(Some(m)) => Ok(m),
                Ok(None) => Err("the runtime closed the connection".to_string()),
                Err(e) => Err(e.to_string()),
            };
            let stop = r.is_err();
            if in_tx.send(r).await.is_err() || stop {
                return;
            }
        }
    }));
    let mut pending: HashMap<u64, oneshot::Sender<ControlReply>> = HashMap::new();
    let mut next_id = 0u64;
    let end = loop {
        tokio::select! {
            msg = inbound.recv() => match msg {
                Some(Ok(ServerMsg::Reply { id, reply })) => {
                    if let Some(tx) = pending.remove(&id) {
                        let _ = tx.send(reply);
                    }
                }
                Some(Ok(ServerMsg::Refused(why))) => break End::Lost { reason: format!("closed by the runtime: {why}"), was_up: true },
                Some(Ok(m)) => {
                    if events.send(SourceEvent::Msg(m)).await.is_err() {
                        break End::ObserverGone;
                    }
                }
                Some(Err(reason)) => break End::Lost { reason, was_up: true },
                None => break End::Lost { reason: "reader stopped".into(), was_up: true },
            },
            req = requests.recv() => match req {
                Some((request, reply)) => {
                    next_id += 1;
                    pending.insert(next_id, reply);
                    let msg = ClientMsg::Control { id: next_id, request };
                    if let Err(e) = frame::write(&mut wr, &msg).await {
                        break End::Lost { reason: e.to_string(), was_up: true };
                    }
                }
                None => break End::ObserverGone,
            },
        }
    };
    for (_, tx) in pending {
        let _ = tx.send(ControlReply::Error(
            "connection lost before the reply".into(),
        ));
    }
    end
}

/// The secret a loopback endpoint wrote for its user (see `beamline_wire::cookie`): sent only
/// to a loopback address, and found only when this observer runs as the runtime's user.
fn loopback_cookie(addr: &str) -> Option<String> {
    let (host, port) = addr.rsplit_once(':')?;
    if !beamline_wire::cookie::is_loopback_host(host) {
        return None;
    }
    beamline_wire::cookie::read(port.parse().ok()?)
}

/// Aborts a task when dropped.
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn msg_name(m: &ServerMsg) -> &'static str {
    match m {
        ServerMsg::Welcome(_) => "Welcome",
        ServerMsg::Refused(_) => "Refused",
        ServerMsg::Snapshot(_) => "Snapshot",
        ServerMsg::Delta(_) => "Delta",
        ServerMsg::Reply { .. } => "Reply",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use beamline_wire::Welcome;
    use tokio::net::{TcpListener, TcpStream};

    fn welcome(version: u16, incarnation: u64) -> ServerMsg {
        ServerMsg::Welcome(Welcome {
            version,
            node: "n".into(),
            os_pid: 1,
            incarnation,
            started_unix_ms: 0,
            interval_ms: 1000,
            role: beamline_wire::Role::Operate,
        })
    }

    async fn handshake(listener: &TcpListener, reply: ServerMsg) -> TcpStream {
        let (mut s, _) = listener.accept().await.unwrap();
        let hello: Option<ClientMsg> = frame::read(&mut s, MAX_FRAME_LEN).await.unwrap();
        assert!(
            matches!(&hello, Some(ClientMsg::Hello(h)) if h.version == PROTOCOL_VERSION && h.token.as_deref() == Some("t")),
            "{hello:?}"
        );
        frame::write(&mut s, &reply).await.unwrap();
        s
    }

    #[tokio::test]
    async fn reconnects_after_a_drop_and_reports_the_new_incarnation() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let server = tokio::spawn(async move {
            drop(handshake(&listener, welcome(PROTOCOL_VERSION, 1)).await);
            let mut s = handshake(&listener, welcome(PROTOCOL_VERSION, 2)).await;
            let req: Option<ClientMsg> = frame::read(&mut s, MAX_FRAME_LEN).await.unwrap();
            let Some(ClientMsg::Control { id, request }) = req else {
                panic!("{req:?}")
            };
            assert_eq!(request, ControlRequest::SetInterval { ms: 500 });
            frame::write(
                &mut s,
                &ServerMsg::Reply {
                    id,
                    reply: ControlReply::Ok,
                },
            )
            .await
            .unwrap();
            // Stay up until the client goes.
            let _ = frame::read::<ClientMsg, _>(&mut s, MAX_FRAME_LEN).await;
        });
        let mut src = AttachSource::spawn(Addr::Tcp(addr), Some("t".into()));
        let conn = |c| Some(SourceEvent::Conn(c));
        assert_eq!(src.next().await, conn(ConnState::Connecting));
        assert_eq!(src.next().await, conn(ConnState::Connected));
        assert_eq!(
            src.next().await,
            Some(SourceEvent::Msg(welcome(PROTOCOL_VERSION, 1)))
        );
        match src.next().await {
            Some(SourceEvent::Conn(ConnState::Retrying {
                ever_connected,
                retry_in_ms,
                ..
            })) => {
                assert!(ever_connected);
                assert_eq!(retry_in_ms, 250);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(src.next().await, conn(ConnState::Connected));
        assert_eq!(
            src.next().await,
            Some(SourceEvent::Msg(welcome(PROTOCOL_VERSION, 2)))
        );
        let reply = src.control(ControlRequest::SetInterval { ms: 500 }).await;
        assert_eq!(reply, ControlReply::Ok);
        drop(src);
        server.await.unwrap();
    }

    #[tokio::test]
    async fn a_version_mismatch_fails_without_retrying() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        tokio::spawn(async move {
            let _s = handshake(&listener, welcome(PROTOCOL_VERSION + 1, 1)).await;
            std::future::pending::<()>().await;
        });
        let mut src = AttachSource::spawn(Addr::Tcp(addr), Some("t".into()));
        assert_eq!(
            src.next().await,
            Some(SourceEvent::Conn(ConnState::Connecting))
        );
        match src.next().await {
            Some(SourceEvent::Conn(ConnState::Failed(why))) => {
                assert!(why.contains("protocol version mismatch"), "{why}")
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(src.next().await, None, "no retry after a refusal");
    }

    #[test]
    fn parses_tcp_and_unix_addresses() {
        assert_eq!(
            "127.0.0.1:7420".parse::<Addr>(),
            Ok(Addr::Tcp("127.0.0.1:7420".into()))
        );
        assert_eq!(
            "unix:/tmp/b.sock".parse::<Addr>(),
            Ok(Addr::Unix("/tmp/b.sock".into()))
        );
        assert_eq!(
            "unix:/tmp/b.sock".parse::<Addr>().unwrap().to_string(),
            "unix:/tmp/b.sock"
        );
        assert!("localhost".parse::<Addr>().is_err());
        assert!("host:notaport".parse::<Addr>().is_err());
        assert!("unix:".parse::<Addr>().is_err());
    }

    #[test]
    fn backoff_doubles_up_to_a_cap() {
        let mut b = Backoff::new();
        let ms: Vec<u128> = (0..7).map(|_| b.next_delay().as_millis()).collect();
        assert_eq!(ms, [250, 500, 1000, 2000, 4000, 5000, 5000]);
    }
}
