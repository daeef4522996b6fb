//! The attach endpoint: lets an observer in another process (`observer --attach ADDR`) watch
//! this runtime over a Unix socket or TCP, speaking the protocol of `beamline_wire::protocol`
//! (described byte by byte in `docs/PROTOCOL.md`). SECURITY.md says what it keeps out.
//!
//! Opt-in, and locked by default:
//!
//! - a Unix socket is created with mode 0600 (bound in a private directory, then moved into
//!   place) and serves only clients running as this process's user (checked with the peer's
//!   credentials);
//! - TCP listens on loopback only, unless [`EndpointConfig::allow_remote`] is set, and always
//!   needs a token: given ([`EndpointConfig::token`], at least [`MIN_REMOTE_TOKEN_LEN`] bytes
//!   off loopback), or on loopback made up and written to a file only this user can read (the
//!   cookie, see `beamline_wire::cookie`), where an observer run by the same user finds it;
//! - connections that have not said a valid `Hello` get their own small budget and a short
//!   deadline, so strangers cannot crowd out observers; a peer that guesses tokens is slowed;
//! - each connection is handled on its own task: a bad handshake, a malformed or oversized frame,
//!   or a client that cannot keep up closes that connection (with [`ServerMsg::Refused`] saying
//!   why, when the socket still takes it) and nothing else;
//! - a connection is granted a [`Role`]: operate (the default) or, with
//!   [`EndpointConfig::read_only`], observe only;
//! - off loopback the connection is encrypted with TLS ([`EndpointConfig::tls`], `tls.rs`),
//!   unless the application opts out with [`EndpointConfig::insecure_plaintext`].
//!
//! Files: `addr` (addresses), `listen` (binding and the accept loop), `admission` (slots),
//! `auth` (the `Hello` check), `failures` (backoff and aggregated logs), `cookie`,
//! `connection` (one client), `peer` (who is connected, and escaping what they send).
//!
//! [`ServerMsg::Refused`]: beamline_wire::ServerMsg::Refused

mod addr;
mod admission;
mod auth;
pub(crate) use auth::same_token;
mod connection;
mod cookie;
mod failures;
mod listen;
mod peer;
mod tls;

pub use addr::{MAX_UNIX_PATH, ObserveAddr};
pub use auth::{MIN_REMOTE_TOKEN_LEN, Refusal, check_hello, handshake};
pub use beamline_wire::Role;
pub use failures::FREE_GUESSES;
pub use peer::escape;
pub use tls::{
    ENV_CERT as ENV_TLS_CERT, ENV_INSECURE, ENV_KEY as ENV_TLS_KEY, TlsConfig, TlsError,
};
pub(crate) use tls::{Opening, opening};

use crate::Runtime;
use admission::Admission;
use failures::Failures;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// The address observers try when given none, and the usual value of `BEAMLINE_OBSERVE`.
pub const DEFAULT_ADDR: &str = "127.0.0.1:7420";
/// Environment variable that enables the endpoint with no code change: `127.0.0.1:7420` or
/// `unix:/path/to.sock`.
pub const ENV_ADDR: &str = "BEAMLINE_OBSERVE";
/// Environment variable holding the shared token (required for a non-loopback address).
pub const ENV_TOKEN: &str = "BEAMLINE_OBSERVE_TOKEN";
/// Environment variable that, set to `1`, grants observers the observe role only.
pub const ENV_READ_ONLY: &str = "BEAMLINE_OBSERVE_READ_ONLY";
/// Largest frame a client may send: clients send only small requests.
pub const MAX_CLIENT_FRAME: usize = 64 * 1024;
/// How long a client has to send its `Hello`, by default (real observers send it at once).
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(2);
/// Control replies waiting to be written to one client, at most (the client's further requests
/// wait meanwhile).
pub const MAX_PENDING_REPLIES: usize = 16;

/// How to serve the endpoint.
#[derive(Clone, Debug)]
pub struct EndpointConfig {
    addr: ObserveAddr,
    token: Option<String>,
    allow_remote: bool,
    max_clients: usize,
    max_pending: usize,
    handshake_timeout: Duration,
    write_timeout: Duration,
    role: Role,
    backoff_cap: Duration,
    cookie_dir: Option<PathBuf>,
    tls: Option<TlsConfig>,
    insecure_plaintext: bool,
}

impl EndpointConfig {
    /// Serve at `addr`: loopback TCP (with a cookie) or a Unix socket, 16 observers, 32
    /// connections waiting to say `Hello` for up to 2 s, 10 s write timeout, operate role.
    pub fn new(addr: ObserveAddr) -> Self {
        EndpointConfig {
            addr,
            token: None,
            allow_remote: false,
            max_clients: 16,
            max_pending: 32,
            handshake_timeout: HANDSHAKE_TIMEOUT,
            write_timeout: Duration::from_secs(10),
            role: Role::Operate,
            backoff_cap: Duration::from_secs(2),
            cookie_dir: None,
            tls: None,
            insecure_plaintext: false,
        }
    }

    /// Parse an address as users write it (`127.0.0.1:7420`, `unix:/tmp/app.sock`).
    pub fn parse(addr: &str) -> Result<Self, ServeError> {
        Ok(EndpointConfig::new(addr.parse()?))
    }

    /// The configuration `BEAMLINE_OBSERVE` asks for, if set (and not empty or `off`). A
    /// non-loopback address there counts as explicitly allowed, but still needs
    /// `BEAMLINE_OBSERVE_TOKEN` and TLS (`BEAMLINE_TLS_CERT` and `BEAMLINE_TLS_KEY`, or
    /// `BEAMLINE_INSECURE_PLAINTEXT=1`); `BEAMLINE_OBSERVE_READ_ONLY=1` makes it read-only.
    pub fn from_env() -> Option<Result<Self, ServeError>> {
        let addr = std::env::var(ENV_ADDR).ok()?;
        let addr = addr.trim();
        if addr.is_empty() || addr == "off" || addr == "0" {
            return None;
        }
        let token = std::env::var(ENV_TOKEN).ok().filter(|t| !t.is_empty());
        let read_only = std::env::var(ENV_READ_ONLY).is_ok_and(|v| v.trim() == "1");
        let tls = match TlsConfig::from_env().transpose() {
            Ok(tls) => tls,
            Err(e) => return Some(Err(ServeError::Tls(e))),
        };
        Some(EndpointConfig::parse(addr).map(|c| {
            let mut c = c
                .allow_remote(true)
                .read_only(read_only)
                .insecure_plaintext(TlsConfig::insecure_from_env());
            c.tls = tls;
            match token {
                Some(t) => c.token(t),
                None => c,
            }
        }))
    }

    /// Require clients to present this token in their `Hello`. Required off loopback (at least
    /// [`MIN_REMOTE_TOKEN_LEN`] bytes); on loopback it replaces the cookie file.
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// Allow a non-loopback TCP address (a strong token is still required).
    pub fn allow_remote(mut self, allow: bool) -> Self {
        self.allow_remote = allow;
        self
    }

    /// Encrypt TCP connections with this certificate and key. Required off loopback (unless
    /// [`EndpointConfig::insecure_plaintext`]); allowed on loopback too. Observers then attach
    /// with `tls://HOST:PORT`. Ignored for a Unix socket.
    pub fn tls(mut self, tls: TlsConfig) -> Self {
        self.tls = Some(tls);
        self
    }

    /// Serve a non-loopback address without TLS: the token and everything observers see then
    /// cross the network in clear. For trusted networks only (default false).
    pub fn insecure_plaintext(mut self, insecure: bool) -> Self {
        self.insecure_plaintext = insecure;
        self
    }

    /// Observers attached at once; further ones are told "busy" with the reason (default 16).
    pub fn max_clients(mut self, n: usize) -> Self {
        self.max_clients = n.max(1);
        self
    }

    /// Connections that have not yet said a valid `Hello`, at most (default 32); a new one
    /// beyond that closes the oldest of the peer holding the most.
    pub fn max_pending(mut self, n: usize) -> Self {
        self.max_pending = n.max(1);
        self
    }

    /// How long a connection may take to say `Hello` (default 2 s).
    pub fn handshake_timeout(mut self, timeout: Duration) -> Self {
        self.handshake_timeout = timeout;
        self
    }

    /// A client whose socket accepts nothing for this long is dropped (default 10 s).
    pub fn write_timeout(mut self, timeout: Duration) -> Self {
        self.write_timeout = timeout;
        self
    }

    /// Grant every connection the observe role only: kill, restart and interval changes are
    /// refused (default: false, observers may operate).
    pub fn read_only(mut self, read_only: bool) -> Self {
        self.role = if read_only {
            Role::Observe
        } else {
            Role::Operate
        };
        self
    }

    /// The longest a peer that sent wrong tokens waits before its next handshake is answered
    /// (default 2 s; zero turns the backoff off, e.g. for a test that sends many on purpose).
    pub fn failed_handshake_backoff(mut self, cap: Duration) -> Self {
        self.backoff_cap = cap;
        self
    }

    /// Write the loopback cookie in this directory instead of the default
    /// (`beamline_wire::cookie::dir`).
    pub fn cookie_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cookie_dir = Some(dir.into());
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
    /// A non-loopback TCP address with a token too short to resist guessing.
    #[error(
        "refusing to listen on {addr} with a {len}-byte token: off loopback a token needs at least {MIN_REMOTE_TOKEN_LEN} (e.g. `openssl rand -hex 16`)"
    )]
    WeakToken {
        /// The address.
        addr: SocketAddr,
        /// The token's length in bytes.
        len: usize,
    },
    /// A non-loopback TCP address without TLS (and without
    /// [`EndpointConfig::insecure_plaintext`]).
    #[error(
        "refusing to listen on {0} without TLS: the token and all that observers see would cross the network in clear; set a certificate and key (EndpointConfig::tls, or BEAMLINE_TLS_CERT and BEAMLINE_TLS_KEY), or opt out explicitly with EndpointConfig::insecure_plaintext (BEAMLINE_INSECURE_PLAINTEXT=1)"
    )]
    TlsRequired(SocketAddr),
    /// The certificate or key could not be used.
    #[error("TLS: {0}")]
    Tls(#[from] TlsError),
    /// A Unix socket path longer than the kernel accepts: no client could connect to it.
    #[error(
        "unix socket path {} is {len} bytes long; the system allows at most {MAX_UNIX_PATH}: choose a shorter path",
        path.display()
    )]
    PathTooLong {
        /// The path.
        path: PathBuf,
        /// Its length in bytes.
        len: usize,
    },
    /// No directory to write a loopback endpoint's cookie to.
    #[error(
        "no directory for the endpoint's cookie: set XDG_RUNTIME_DIR, HOME or BEAMLINE_COOKIE_DIR, or give a token"
    )]
    NoCookieDir,
    /// The cookie could not be written.
    #[error("cannot write the endpoint's cookie {}: {source}", path.display())]
    Cookie {
        /// The file or directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
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
/// socket file or cookie; [`Endpoint::detach`] keeps it serving for the life of the tokio
/// runtime (and leaves them behind; the next endpoint at the same place replaces them).
#[derive(Debug)]
pub struct Endpoint {
    local: Option<SocketAddr>,
    path: Option<PathBuf>,
    token: Option<String>,
    cookie: Option<PathBuf>,
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

    /// The token clients must present: the one configured, or the cookie's secret. For a client
    /// in this same process (tests, embedded tools).
    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    /// The cookie file, when this endpoint made its own token.
    pub fn cookie_path(&self) -> Option<&Path> {
        self.cookie.as_deref()
    }

    /// Keep serving after this handle is dropped.
    pub fn detach(mut self) {
        self.task = None;
    }
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            if let Some(path) = &self.path {
                let _ = std::fs::remove_file(path);
            }
            if let (Some(path), Some(token)) = (&self.cookie, &self.token) {
                cookie::remove(path, token);
            }
        }
    }
}

/// What the accept loop and its connections share.
struct Settings {
    token: Option<String>,
    cookie: Option<PathBuf>,
    role: Role,
    handshake_timeout: Duration,
    write_timeout: Duration,
    owner_uid: u32,
    admission: Admission,
    failures: Failures,
    /// Keeps the flight recorder fed while the endpoint (or one of its connections) lives.
    _flight: Option<crate::publish::flight::keep::Keep>,
    /// TCP only: the handshake every connection goes through first.
    tls: Option<tokio_rustls::TlsAcceptor>,
}

/// Bind and start serving.
pub(crate) fn serve(rt: &Runtime, config: EndpointConfig) -> Result<Endpoint, ServeError> {
    let settings = |token: Option<String>, cookie: Option<PathBuf>, tls| {
        Arc::new(Settings {
            token,
            cookie,
            role: config.role,
            handshake_timeout: config.handshake_timeout,
            write_timeout: config.write_timeout,
            owner_uid: auth::own_uid(),
            admission: Admission::new(config.max_pending, config.max_clients),
            failures: Failures::new(config.backoff_cap),
            _flight: crate::publish::flight::keep::keep(&rt.publish),
            tls,
        })
    };
    match &config.addr {
        ObserveAddr::Tcp(addr) => {
            auth::check_tcp(addr, &config)?;
            let tls = config.tls.as_ref().map(TlsConfig::acceptor).transpose()?;
            let tls_on = tls.is_some();
            let listener = listen::bind_tcp(addr)?;
            let local = listener.local_addr().map_err(|source| ServeError::Io {
                addr: addr.to_string(),
                source,
            })?;
            let (token, cookie) = match &config.token {
                Some(t) => (t.clone(), None),
                None => {
                    let c = cookie::write(config.cookie_dir.as_deref(), local.port())?;
                    (c.token, Some(c.path))
                }
            };
            let s = settings(Some(token.clone()), cookie.clone(), tls);
            let task = listen::spawn(listener, rt.clone(), s);
            match &cookie {
                Some(c) => {
                    tracing::info!(addr = %local, cookie = %c.display(), role = %config.role, tls = tls_on, "observe endpoint listening")
                }
                None => {
                    tracing::info!(addr = %local, role = %config.role, tls = tls_on, "observe endpoint listening")
                }
            }
            Ok(Endpoint {
                local: Some(local),
                path: None,
                token: Some(token),
                cookie,
                task: Some(task),
            })
        }
        ObserveAddr::Unix(path) => {
            addr::check_unix_path(path)?;
            let listener = listen::bind_unix(path)?;
            tracing::info!(path = %path.display(), role = %config.role, "observe endpoint listening");
            let task = listen::spawn(
                listener,
                rt.clone(),
                settings(config.token.clone(), None, None),
            );
            Ok(Endpoint {
                local: None,
                path: Some(path.clone()),
                token: config.token.clone(),
                cookie: None,
                task: Some(task),
            })
        }
    }
}
