//! The attach endpoint: lets an observer in another process (`observer --attach ADDR`) watch
//! this runtime over a Unix socket or TCP, speaking the protocol of `beamline_wire::protocol`
//! (described byte by byte in `docs/PROTOCOL.md`).
//!
//! Opt-in, and safe by default:
//!
//! - a Unix socket is created with mode 0600 (bound in a private directory, then moved into
//!   place, so it is never reachable by others even for an instant);
//! - TCP listens on loopback only, unless [`EndpointConfig::allow_remote`] is set, and then only
//!   with a shared token that every client must present;
//! - each connection is handled on its own task: a bad handshake, a malformed or oversized frame,
//!   or a client that cannot keep up closes that connection (with [`ServerMsg::Refused`] saying
//!   why, when the socket still takes it) and nothing else;
//! - a client that falls behind skips ahead to a fresh snapshot; one whose socket stays full
//!   for [`EndpointConfig::write_timeout`] is dropped; at most
//!   [`EndpointConfig::max_clients`] connections are served at once.

use crate::Runtime;
use crate::observe::{Observation, welcome};
use beamline_wire::{
    ClientMsg, ControlReply, FrameError, Hello, PROTOCOL_VERSION, ServerMsg, frame,
};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

/// The address observers try when given none, and the usual value of `BEAMLINE_OBSERVE`.
pub const DEFAULT_ADDR: &str = "127.0.0.1:7420";
/// Environment variable that enables the endpoint with no code change: `127.0.0.1:7420` or
/// `unix:/path/to.sock`.
pub const ENV_ADDR: &str = "BEAMLINE_OBSERVE";
/// Environment variable holding the shared token (required for a non-loopback address).
pub const ENV_TOKEN: &str = "BEAMLINE_OBSERVE_TOKEN";
/// Largest frame a client may send: clients send only small requests.
pub const MAX_CLIENT_FRAME: usize = 64 * 1024;
/// How long a client has to send its `Hello`.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);
/// Control replies waiting to be written to one client, at most (the client's further requests
/// wait meanwhile).
pub const MAX_PENDING_REPLIES: usize = 16;

/// Where the endpoint listens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ObserveAddr {
    /// A TCP address, e.g. `127.0.0.1:7420`.
    Tcp(SocketAddr),
    /// A Unix domain socket path (written `unix:/path/to.sock`).
    Unix(PathBuf),
}

impl std::str::FromStr for ObserveAddr {
    type Err = ServeError;

    /// `unix:/path`, `host:port` with an IP host, or `localhost:port`.
    fn from_str(s: &str) -> Result<Self, ServeError> {
        let s = s.trim();
        if let Some(path) = s.strip_prefix("unix:") {
            if path.is_empty() {
                return Err(ServeError::BadAddress(s.to_string()));
            }
            return Ok(ObserveAddr::Unix(PathBuf::from(path)));
        }
        if let Some(port) = s.strip_prefix("localhost:") {
            let port = port
                .parse()
                .map_err(|_| ServeError::BadAddress(s.to_string()))?;
            return Ok(ObserveAddr::Tcp(SocketAddr::from(([127, 0, 0, 1], port))));
        }
        s.parse()
            .map(ObserveAddr::Tcp)
            .map_err(|_| ServeError::BadAddress(s.to_string()))
    }
}

impl std::fmt::Display for ObserveAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ObserveAddr::Tcp(a) => write!(f, "{a}"),
            ObserveAddr::Unix(p) => write!(f, "unix:{}", p.display()),
        }
    }
}

/// How to serve the endpoint.
#[derive(Clone, Debug)]
pub struct EndpointConfig {
    addr: ObserveAddr,
    token: Option<String>,
    allow_remote: bool,
    max_clients: usize,
    write_timeout: Duration,
}

impl EndpointConfig {
    /// Serve at `addr`: loopback TCP or a Unix socket, no token, 16 clients, 10 s write timeout.
    pub fn new(addr: ObserveAddr) -> Self {
        EndpointConfig {
            addr,
            token: None,
            allow_remote: false,
            max_clients: 16,
            write_timeout: Duration::from_secs(10),
        }
    }

    /// Parse an address as users write it (`127.0.0.1:7420`, `unix:/tmp/app.sock`).
    pub fn parse(addr: &str) -> Result<Self, ServeError> {
        Ok(EndpointConfig::new(addr.parse()?))
    }

    /// The configuration `BEAMLINE_OBSERVE` asks for, if set (and not empty or `off`). A
    /// non-loopback address there counts as explicitly allowed, but still needs
    /// `BEAMLINE_OBSERVE_TOKEN`.
    pub fn from_env() -> Option<Result<Self, ServeError>> {
        let addr = std::env::var(ENV_ADDR).ok()?;
        let addr = addr.trim();
        if addr.is_empty() || addr == "off" || addr == "0" {
            return None;
        }
        let token = std::env::var(ENV_TOKEN).ok().filter(|t| !t.is_empty());
        Some(EndpointConfig::parse(addr).map(|c| {
            let c = c.allow_remote(true);
            match token {
                Some(t) => c.token(t),
                None => c,
            }
        }))
    }

    /// Require clients to present this token in their `Hello` (required for non-loopback TCP).
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// Allow a non-loopback TCP address (a token is still required).
    pub fn allow_remote(mut self, allow: bool) -> Self {
        self.allow_remote = allow;
        self
    }

    /// Connections served at once; further ones are refused with a message (default 16).
    pub fn max_clients(mut self, n: usize) -> Self {
        self.max_clients = n.max(1);
        self
    }

    /// A client whose socket accepts nothing for this long is dropped (default 10 s).
    pub fn write_timeout(mut self, timeout: Duration) -> Self {
        self.write_timeout = timeout;
        self
    }

    /// The configured address.
    pub fn addr(&self) -> &ObserveAddr {
        &self.addr
    }
}

/// Why the endpoint could not be served.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The address could not be understood.
    #[error(
        "not an observe address: {0:?} (expected host:port, e.g. 127.0.0.1:7420, or unix:/path/to.sock)"
    )]
    BadAddress(String),
    /// A non-loopback TCP address without [`EndpointConfig::allow_remote`].
    #[error(
        "refusing to listen on {0}: not a loopback address; allow it explicitly (EndpointConfig::allow_remote, or BEAMLINE_OBSERVE) and set a shared token"
    )]
    RemoteNotAllowed(SocketAddr),
    /// A non-loopback TCP address without a token.
    #[error(
        "refusing to listen on {0} without a shared token: anyone who can reach it could kill processes; set one with EndpointConfig::token or BEAMLINE_OBSERVE_TOKEN"
    )]
    TokenRequired(SocketAddr),
    /// Another live endpoint holds the Unix socket path.
    #[error("{0} is in use by a running endpoint")]
    InUse(PathBuf),
    /// Binding failed.
    #[error("cannot listen on {addr}: {source}")]
    Io {
        /// What we tried.
        addr: String,
        /// Why it failed.
        source: std::io::Error,
    },
}

/// A running endpoint. Dropping it stops accepting, closes its connections and removes its Unix
/// socket file; [`Endpoint::detach`] keeps it serving for the life of the tokio runtime.
#[derive(Debug)]
pub struct Endpoint {
    local: Option<SocketAddr>,
    path: Option<PathBuf>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Endpoint {
    /// The bound TCP address (useful after binding port 0).
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.local
    }

    /// The Unix socket path, for a Unix endpoint.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Keep serving after this handle is dropped.
    pub fn detach(mut self) {
        self.task = None;
        self.path = None;
    }
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            if let Some(path) = self.path.take() {
                let _ = std::fs::remove_file(path);
            }
        }
    }
}

/// Settings shared by the accept loop and its connections.
struct Settings {
    token: Option<String>,
    max_clients: usize,
    write_timeout: Duration,
    active: AtomicUsize,
}

/// Bind and start serving.
pub(crate) fn serve(rt: &Runtime, config: EndpointConfig) -> Result<Endpoint, ServeError> {
    let settings = Arc::new(Settings {
        token: config.token.clone(),
        max_clients: config.max_clients,
        write_timeout: config.write_timeout,
        active: AtomicUsize::new(0),
    });
    let rt = rt.clone();
    match &config.addr {
        ObserveAddr::Tcp(addr) => {
            if !addr.ip().is_loopback() {
                if !config.allow_remote {
                    return Err(ServeError::RemoteNotAllowed(*addr));
                }
                if config.token.is_none() {
                    return Err(ServeError::TokenRequired(*addr));
                }
            }
            let io = |source| ServeError::Io {
                addr: addr.to_string(),
                source,
            };
            let std = std::net::TcpListener::bind(addr).map_err(io)?;
            std.set_nonblocking(true).map_err(io)?;
            let local = std.local_addr().map_err(io)?;
            let listener = tokio::net::TcpListener::from_std(std).map_err(io)?;
            tracing::info!(addr = %local, "observe endpoint listening");
            let task = tokio::spawn(async move {
                let mut conns = JoinSet::new();
                loop {
                    tokio::select! {
                        accepted = listener.accept() => match accepted {
                            Ok((stream, peer)) => {
                                let _ = stream.set_nodelay(true);
                                admit(&mut conns, stream, peer.to_string(), &rt, &settings);
                            }
                            Err(e) => accept_failed(e).await,
                        },
                        Some(_) = conns.join_next(), if !conns.is_empty() => {}
                    }
                }
            });
            Ok(Endpoint {
                local: Some(local),
                path: None,
                task: Some(task),
            })
        }
        ObserveAddr::Unix(path) => {
            let listener = bind_unix(path)?;
            tracing::info!(path = %path.display(), "observe endpoint listening");
            let task = tokio::spawn(async move {
                let mut conns = JoinSet::new();
                loop {
                    tokio::select! {
                        accepted = listener.accept() => match accepted {
                            Ok((stream, _)) => admit(&mut conns, stream, "unix".into(), &rt, &settings),
                            Err(e) => accept_failed(e).await,
                        },
                        Some(_) = conns.join_next(), if !conns.is_empty() => {}
                    }
                }
            });
            Ok(Endpoint {
                local: None,
                path: Some(path.clone()),
                task: Some(task),
            })
        }
    }
}

async fn accept_failed(e: std::io::Error) {
    // Typically out of file descriptors: back off instead of spinning.
    tracing::warn!(error = %e, "observe endpoint: accept failed");
    tokio::time::sleep(Duration::from_millis(100)).await;
}

/// Bind a Unix socket that only this user can use: bound inside a fresh 0700 directory, set to
/// 0600, then renamed into place, so no other user can ever connect.
fn bind_unix(path: &Path) -> Result<tokio::net::UnixListener, ServeError> {
    use std::os::unix::fs::{DirBuilderExt, FileTypeExt, PermissionsExt};
    let io = |source| ServeError::Io {
        addr: format!("unix:{}", path.display()),
        source,
    };
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if !meta.file_type().is_socket() {
            return Err(io(std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                "a file that is not a socket is in the way",
            )));
        }
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            return Err(ServeError::InUse(path.to_path_buf()));
        }
        // A stale socket left by a process that died.
        std::fs::remove_file(path).map_err(io)?;
    }
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty());
    let dir = dir.unwrap_or_else(|| Path::new("."));
    let private = dir.join(format!(
        ".beamline-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos()
    ));
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(&private)
        .map_err(io)?;
    let tmp = private.join("sock");
    let bound = (|| {
        let std = std::os::unix::net::UnixListener::bind(&tmp)?;
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600))?;
        std::fs::rename(&tmp, path)?;
        std.set_nonblocking(true)?;
        tokio::net::UnixListener::from_std(std)
    })();
    let _ = std::fs::remove_file(&tmp);
    let _ = std::fs::remove_dir(&private);
    bound.map_err(io)
}

/// Serve a new connection, or refuse it when too many are open.
fn admit<S>(
    conns: &mut JoinSet<()>,
    stream: S,
    peer: String,
    rt: &Runtime,
    settings: &Arc<Settings>,
) where
    S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let settings = settings.clone();
    if settings.active.fetch_add(1, Relaxed) >= settings.max_clients {
        settings.active.fetch_sub(1, Relaxed);
        tracing::warn!(%peer, max = settings.max_clients, "observe endpoint: connection refused, too many observers");
        conns.spawn(async move {
            let (_, mut wr) = tokio::io::split(stream);
            let why = format!(
                "too many observers connected (at most {})",
                settings.max_clients
            );
            refuse(&mut wr, why, settings.write_timeout).await;
        });
        return;
    }
    let rt = rt.clone();
    conns.spawn(async move {
        connection(stream, &peer, rt, &settings).await;
        settings.active.fetch_sub(1, Relaxed);
    });
}

/// Tell the client why we close, if its socket still takes it.
async fn refuse<W: AsyncWrite + Unpin>(wr: &mut W, why: String, timeout: Duration) {
    let _ = tokio::time::timeout(timeout, frame::write(wr, &ServerMsg::Refused(why))).await;
}

/// Close after a refusal so that the client gets to read it: closing a socket with unread input
/// makes the kernel reset the connection, which can destroy the refusal in flight. So we end our
/// side, then read and discard what the client still sends, briefly and up to a bound.
async fn linger<R, W>(rd: &mut R, wr: &mut W)
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        let _ = wr.shutdown().await;
        let mut buf = vec![0u8; 16 * 1024];
        let mut left = 1024 * 1024usize;
        while left > 0 {
            match rd.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => left = left.saturating_sub(n),
            }
        }
    })
    .await;
}

/// Compare tokens without revealing through timing how much of a guess was right.
fn same_token(expected: &str, given: Option<&str>) -> bool {
    let Some(given) = given else { return false };
    let (a, b) = (expected.as_bytes(), given.as_bytes());
    let mut diff = a.len() ^ b.len();
    for i in 0..a.len().max(b.len()) {
        diff |= (a.get(i).copied().unwrap_or(0) ^ b.get(i).copied().unwrap_or(0)) as usize;
    }
    diff == 0
}

/// The endpoint's answer to a client's first frame, as read (or not) from the socket: the
/// client's `Hello` if it may attach, or the reason sent back in `Refused`. Pure, so the
/// fuzzer (`fuzz/fuzz_targets/handshake.rs`) drives exactly what a connection runs.
pub fn check_hello(
    first: Result<ClientMsg, FrameError>,
    token: Option<&str>,
) -> Result<Hello, String> {
    match first {
        Ok(ClientMsg::Hello(hello)) => {
            if hello.version != PROTOCOL_VERSION {
                Err(format!(
                    "protocol version mismatch: client speaks version {}, this runtime speaks version {PROTOCOL_VERSION}; use an observer built for this runtime",
                    hello.version
                ))
            } else if let Some(token) = token
                && !same_token(token, hello.token.as_deref())
            {
                Err("wrong or missing token".into())
            } else {
                Ok(hello)
            }
        }
        Ok(_) => Err("the first frame must be a Hello".into()),
        Err(e) => Err(format!("bad handshake: {e}")),
    }
}

/// [`check_hello`] on the bytes a client sent first: `None` while they do not yet hold a whole
/// frame (the endpoint would keep reading, up to [`HANDSHAKE_TIMEOUT`]).
pub fn handshake(bytes: &[u8], token: Option<&str>) -> Option<Result<Hello, String>> {
    match frame::decode::<ClientMsg>(bytes, MAX_CLIENT_FRAME) {
        Ok(None) => None,
        Ok(Some((msg, _))) => Some(check_hello(Ok(msg), token)),
        Err(e) => Some(check_hello(Err(e), token)),
    }
}

/// One observer's connection: handshake, then samples out and control requests in.
async fn connection<S>(stream: S, peer: &str, rt: Runtime, settings: &Settings)
where
    S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let (mut rd, mut wr) = tokio::io::split(stream);
    let wt = settings.write_timeout;
    let first = tokio::time::timeout(
        HANDSHAKE_TIMEOUT,
        frame::read::<ClientMsg, _>(&mut rd, MAX_CLIENT_FRAME),
    )
    .await;
    let refusal = match first {
        Ok(Ok(None)) => return,
        Ok(Ok(Some(msg))) => check_hello(Ok(msg), settings.token.as_deref()),
        Ok(Err(e)) => check_hello(Err(e), settings.token.as_deref()),
        Err(_) => Err(format!("no Hello within {} s", HANDSHAKE_TIMEOUT.as_secs())),
    };
    if let Err(why) = &refusal {
        tracing::warn!(%peer, reason = %why, "observe endpoint: handshake refused");
    }
    let hello = match refusal {
        Ok(hello) => hello,
        Err(why) => {
            refuse(&mut wr, why, wt).await;
            return linger(&mut rd, &mut wr).await;
        }
    };
    tracing::info!(%peer, client = %hello.client, "observer attached");
    let welcome = ServerMsg::Welcome(welcome(&rt.publish));
    if !matches!(
        tokio::time::timeout(wt, frame::write(&mut wr, &welcome)).await,
        Ok(Ok(()))
    ) {
        return;
    }
    let mut obs = Observation::new(&rt.publish, false);

    // Requests are read on their own task: a frame read is not cancel safe, so it must not sit
    // in the select below. Replies (or the reason to close) come back through a bounded channel.
    let (tx, mut replies) =
        mpsc::channel::<Result<(u64, ControlReply), String>>(MAX_PENDING_REPLIES);
    let controller = obs.controller();
    let mut reader = tokio::spawn(async move {
        loop {
            let next = match frame::read::<ClientMsg, _>(&mut rd, MAX_CLIENT_FRAME).await {
                Ok(Some(ClientMsg::Control { id, request })) => {
                    Ok((id, controller.control(request).await))
                }
                Ok(Some(ClientMsg::Hello(_))) => Err("protocol error: Hello sent twice".into()),
                Ok(None) => Err(String::new()),
                Err(e) => Err(e.to_string()),
            };
            let stop = next.is_err();
            if tx.send(next).await.is_err() || stop {
                return rd;
            }
        }
    });
    loop {
        // Samples come encoded, the same bytes for every connection; replies are encoded here.
        let encoded = tokio::select! {
            m = obs.recv_frame() => match m {
                Some(m) => m,
                None => break,
            },
            r = replies.recv() => match r {
                Some(Ok((id, reply))) => frame::encode(&ServerMsg::Reply { id, reply })
                    .map(Into::into)
                    .map_err(|e| e.to_string()),
                Some(Err(why)) => {
                    if !why.is_empty() {
                        tracing::warn!(%peer, error = %why, "observe endpoint: closing connection");
                        refuse(&mut wr, why, wt).await;
                        // The reader has stopped after sending this.
                        if let Ok(mut rd) = (&mut reader).await {
                            linger(&mut rd, &mut wr).await;
                        }
                    }
                    break;
                }
                None => break,
            },
        };
        let bytes: crate::publish::frames::Encoded = match encoded {
            Ok(bytes) => bytes,
            Err(e) => {
                tracing::warn!(%peer, error = %e, "observe endpoint: cannot encode a frame; closing");
                break;
            }
        };
        match tokio::time::timeout(wt, frame::write_encoded(&mut wr, &bytes)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::debug!(%peer, error = %e, "observer went away");
                break;
            }
            Err(_) => {
                tracing::warn!(%peer, "observer could not keep up for {wt:?}; dropped");
                break;
            }
        }
    }
    reader.abort();
    tracing::info!(%peer, missed = obs.missed(), "observer detached");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_parse_as_users_type_them() {
        assert_eq!(
            "unix:/tmp/a.sock".parse::<ObserveAddr>().unwrap(),
            ObserveAddr::Unix("/tmp/a.sock".into())
        );
        assert_eq!(
            "localhost:7420".parse::<ObserveAddr>().unwrap(),
            ObserveAddr::Tcp("127.0.0.1:7420".parse().unwrap())
        );
        assert_eq!(
            DEFAULT_ADDR.parse::<ObserveAddr>().unwrap().to_string(),
            DEFAULT_ADDR
        );
        assert!("unix:".parse::<ObserveAddr>().is_err());
        assert!("nowhere".parse::<ObserveAddr>().is_err());
    }

    #[test]
    fn tokens_compare_exactly() {
        assert!(same_token("abc", Some("abc")));
        assert!(!same_token("abc", Some("abd")));
        assert!(!same_token("abc", Some("abcd")));
        assert!(!same_token("abc", None));
    }
}
