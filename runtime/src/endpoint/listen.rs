//! Binding the listening socket, and the one accept loop both transports share.

use super::addr::MAX_UNIX_PATH;
use super::admission::Slot;
use super::failures::LOG_WINDOW;
use super::peer::Peer;
use super::{ServeError, Settings, connection};
use crate::Runtime;
use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::task::JoinSet;

/// A listening socket of either transport: what the accept loop needs from it.
pub(super) trait Accept: Send + Sync + 'static {
    /// A connection's stream.
    type Stream: AsyncRead + AsyncWrite + Send + Unpin + 'static;
    /// The next connection, and who is on the other end.
    fn next(&self) -> impl Future<Output = std::io::Result<(Self::Stream, Peer)>> + Send;
    /// Serve one connection on its own task (TCP adds TLS when configured).
    fn serve(
        stream: Self::Stream,
        peer: Peer,
        slot: Slot,
        rt: Runtime,
        settings: Arc<Settings>,
    ) -> impl Future<Output = ()> + Send + 'static;
}

impl Accept for tokio::net::TcpListener {
    type Stream = tokio::net::TcpStream;

    async fn next(&self) -> std::io::Result<(Self::Stream, Peer)> {
        let (stream, addr) = self.accept().await?;
        let _ = stream.set_nodelay(true);
        Ok((stream, Peer::tcp(addr)))
    }

    fn serve(
        stream: Self::Stream,
        peer: Peer,
        slot: Slot,
        rt: Runtime,
        settings: Arc<Settings>,
    ) -> impl Future<Output = ()> + Send + 'static {
        connection::serve_tcp(stream, peer, slot, rt, settings)
    }
}

impl Accept for tokio::net::UnixListener {
    type Stream = tokio::net::UnixStream;

    async fn next(&self) -> std::io::Result<(Self::Stream, Peer)> {
        let (stream, _) = self.accept().await?;
        let peer = Peer::unix(stream.peer_cred().ok());
        Ok((stream, peer))
    }

    fn serve(
        stream: Self::Stream,
        peer: Peer,
        slot: Slot,
        rt: Runtime,
        settings: Arc<Settings>,
    ) -> impl Future<Output = ()> + Send + 'static {
        connection::serve(stream, peer, slot, rt, settings)
    }
}

/// Accept connections until aborted: each gets a pending slot and a task of its own; the
/// counts of refused handshakes are logged once a minute.
pub(super) fn spawn<L: Accept>(
    listener: L,
    rt: Runtime,
    settings: Arc<Settings>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut conns = JoinSet::new();
        let mut minute = tokio::time::interval(LOG_WINDOW);
        loop {
            tokio::select! {
                accepted = listener.next() => match accepted {
                    Ok((stream, peer)) => {
                        let slot = settings.admission.enter(peer.key.clone());
                        let (rt, settings) = (rt.clone(), settings.clone());
                        conns.spawn(L::serve(stream, peer, slot, rt, settings));
                    }
                    Err(e) => accept_failed(e).await,
                },
                Some(_) = conns.join_next(), if !conns.is_empty() => {}
                _ = minute.tick() => settings.failures.flush(tokio::time::Instant::now()),
            }
        }
    })
}

async fn accept_failed(e: std::io::Error) {
    // Typically out of file descriptors: back off instead of spinning.
    tracing::warn!(error = %e, "observe endpoint: accept failed");
    tokio::time::sleep(Duration::from_millis(100)).await;
}

/// Bind a TCP listener.
pub(super) fn bind_tcp(addr: &SocketAddr) -> Result<tokio::net::TcpListener, ServeError> {
    let io = |source| ServeError::Io {
        addr: addr.to_string(),
        source,
    };
    let std = std::net::TcpListener::bind(addr).map_err(io)?;
    std.set_nonblocking(true).map_err(io)?;
    tokio::net::TcpListener::from_std(std).map_err(io)
}

/// Bind a Unix socket that only this user can use: bound inside a fresh 0700 directory, set to
/// 0600, then renamed into place, so no other user can ever connect. `path` must fit in
/// `sun_path` (checked before); the staging path is kept short enough whatever the directory.
pub(super) fn bind_unix(path: &Path) -> Result<tokio::net::UnixListener, ServeError> {
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
        match std::os::unix::net::UnixStream::connect(path) {
            Ok(_) => return Err(ServeError::InUse(path.to_path_buf())),
            // A stale socket left by a process that died: nobody listens.
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                std::fs::remove_file(path).map_err(io)?
            }
            // Anything else (not ours to connect to, ...): never remove what we cannot judge.
            Err(e) => return Err(io(e)),
        }
    }
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty());
    let dir = dir.unwrap_or_else(|| Path::new("."));
    let mut tag = [0u8; 6];
    getrandom::fill(&mut tag).map_err(|e| io(std::io::Error::other(e.to_string())))?;
    let tag: String = tag.iter().map(|b| format!("{b:02x}")).collect();
    let private = dir.join(format!(".beamline-{tag}"));
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(&private)
        .map_err(io)?;
    let tmp = private.join("s");
    let bound = (|| {
        let std = bind_short(&private, &tmp)?;
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600))?;
        std::fs::rename(&tmp, path)?;
        std.set_nonblocking(true)?;
        tokio::net::UnixListener::from_std(std)
    })();
    let _ = std::fs::remove_file(&tmp);
    let _ = std::fs::remove_dir(&private);
    bound.map_err(io)
}

/// Bind `tmp` (the socket `s` in `private`). When its path is too long for `sun_path`, bind it
/// through `/proc/self/fd/N/s`, N an open handle on `private`, which is short whatever the
/// directory (Linux).
fn bind_short(private: &Path, tmp: &Path) -> std::io::Result<std::os::unix::net::UnixListener> {
    if tmp.as_os_str().len() <= MAX_UNIX_PATH {
        return std::os::unix::net::UnixListener::bind(tmp);
    }
    use std::os::fd::AsRawFd;
    let handle = std::fs::File::open(private)?;
    let short = PathBuf::from(format!("/proc/self/fd/{}/s", handle.as_raw_fd()));
    std::os::unix::net::UnixListener::bind(short)
}
