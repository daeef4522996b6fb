//! Who may attach: the `Hello` check (version and token), the strength a token needs off
//! loopback, and the user check on Unix sockets.

use super::peer::{Peer, PeerKey};
use super::{EndpointConfig, MAX_CLIENT_FRAME, ServeError};
use beamline_wire::{ClientMsg, FrameError, Hello, MIN_CLIENT_VERSION, PROTOCOL_VERSION, frame};
use std::net::SocketAddr;

/// Shortest token accepted on a non-loopback address, in bytes: 16 characters from
/// `openssl rand -hex 16` (which gives 32) leave guessing hopeless even without the backoff.
pub const MIN_REMOTE_TOKEN_LEN: usize = 16;

/// Why a handshake was refused; its text is what the client is sent.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// The client speaks another protocol version.
    #[error(
        "protocol version mismatch: client speaks version {client}, this runtime speaks versions {MIN_CLIENT_VERSION} to {PROTOCOL_VERSION}; use an observer built for this runtime"
    )]
    Version {
        /// The client's version.
        client: u16,
    },
    /// The token is wrong or missing.
    #[error("wrong or missing token")]
    Token,
    /// The first frame was another message.
    #[error("the first frame must be a Hello")]
    NotHello,
    /// The first frame could not be read.
    #[error("bad handshake: {0}")]
    Malformed(FrameError),
}

impl Refusal {
    /// A wrong or missing token: what a guesser produces, and what the backoff counts.
    pub fn is_guess(&self) -> bool {
        matches!(self, Refusal::Token)
    }
}

/// Compare tokens without revealing through timing how much of a guess was right (the attach
/// endpoint's `Hello` and the metrics endpoint's bearer token).
pub(crate) fn same_token(expected: &str, given: Option<&str>) -> bool {
    let Some(given) = given else { return false };
    let (a, b) = (expected.as_bytes(), given.as_bytes());
    let mut diff = a.len() ^ b.len();
    for i in 0..a.len().max(b.len()) {
        diff |= (a.get(i).copied().unwrap_or(0) ^ b.get(i).copied().unwrap_or(0)) as usize;
    }
    diff == 0
}

/// The endpoint's answer to a client's first frame, as read (or not) from the socket: the
/// client's `Hello` if it may attach, or why not. Pure, so the fuzzer
/// (`fuzz/fuzz_targets/handshake.rs`) drives exactly what a connection runs.
pub fn check_hello(
    first: Result<ClientMsg, FrameError>,
    token: Option<&str>,
) -> Result<Hello, Refusal> {
    match first {
        Ok(ClientMsg::Hello(hello)) => {
            if !(MIN_CLIENT_VERSION..=PROTOCOL_VERSION).contains(&hello.version) {
                Err(Refusal::Version {
                    client: hello.version,
                })
            } else if let Some(token) = token
                && !same_token(token, hello.token.as_deref())
            {
                Err(Refusal::Token)
            } else {
                Ok(hello)
            }
        }
        Ok(_) => Err(Refusal::NotHello),
        Err(e) => Err(Refusal::Malformed(e)),
    }
}

/// [`check_hello`] on the bytes a client sent first: `None` while they do not yet hold a whole
/// frame (the endpoint would keep reading, up to its handshake deadline).
pub fn handshake(bytes: &[u8], token: Option<&str>) -> Option<Result<Hello, Refusal>> {
    match frame::decode::<ClientMsg>(bytes, MAX_CLIENT_FRAME) {
        Ok(None) => None,
        Ok(Some((msg, _))) => Some(check_hello(Ok(msg), token)),
        Err(e) => Some(check_hello(Err(e), token)),
    }
}

/// A TCP address off loopback needs an explicit allowance, a strong token and TLS (or an
/// explicit opt-out of TLS).
pub(super) fn check_tcp(addr: &SocketAddr, config: &EndpointConfig) -> Result<(), ServeError> {
    if addr.ip().is_loopback() {
        return Ok(());
    }
    if !config.allow_remote {
        return Err(ServeError::RemoteNotAllowed(*addr));
    }
    match &config.token {
        None => Err(ServeError::TokenRequired(*addr)),
        Some(t) if t.len() < MIN_REMOTE_TOKEN_LEN => Err(ServeError::WeakToken {
            addr: *addr,
            len: t.len(),
        }),
        Some(_) if config.tls.is_none() && !config.insecure_plaintext => {
            Err(ServeError::TlsRequired(*addr))
        }
        Some(_) => Ok(()),
    }
}

/// The effective user id of this process: the one user a Unix socket endpoint serves.
pub(super) fn own_uid() -> u32 {
    // SAFETY: geteuid takes no arguments, touches no memory of ours and cannot fail.
    unsafe { libc::geteuid() }
}

/// Why a Unix socket peer may not even say `Hello`: it is another user (possible only if the
/// socket's mode was loosened, or for root), or the kernel would not say who it is.
pub(super) fn foreign_user(peer: &Peer, owner: u32) -> Option<String> {
    match peer.key {
        PeerKey::Uid(Some(uid)) if uid == owner => None,
        PeerKey::Uid(Some(uid)) => Some(format!(
            "this endpoint serves only its own user (uid {owner}); you are uid {uid}"
        )),
        PeerKey::Uid(None) => Some("cannot tell which user is connecting; refused".into()),
        PeerKey::Ip(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn tokens_compare_exactly() {
        assert!(same_token("abc", Some("abc")));
        assert!(!same_token("abc", Some("abd")));
        assert!(!same_token("abc", Some("abcd")));
        assert!(!same_token("abc", Some("ab")));
        assert!(!same_token("abc", None));
    }

    #[test]
    fn own_uid_is_the_owner_of_the_files_we_create() {
        let p = std::env::temp_dir().join(format!("beamline-uid-{}", std::process::id()));
        std::fs::write(&p, b"").unwrap();
        let uid = std::fs::metadata(&p).unwrap().uid();
        std::fs::remove_file(&p).unwrap();
        assert_eq!(own_uid(), uid);
    }

    #[test]
    fn only_the_owner_passes_the_unix_user_check() {
        let peer = |uid| Peer {
            key: PeerKey::Uid(uid),
            label: String::new(),
        };
        assert_eq!(foreign_user(&peer(Some(1000)), 1000), None);
        let why = foreign_user(&peer(Some(65534)), 1000).unwrap();
        assert!(why.contains("only its own user (uid 1000)"), "{why}");
        assert!(foreign_user(&peer(None), 1000).is_some());
    }
}
