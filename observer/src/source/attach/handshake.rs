//! The client's half of the handshake: send a `Hello`, read the runtime's first frame, and say
//! in plain words what answered when it is not a Beamline runtime.

use super::link::End;
use super::sniff;
use beamline_wire::{ClientMsg, Hello, MAX_FRAME_LEN, PROTOCOL_VERSION, ServerMsg, Welcome, frame};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};

use super::addr::Addr;

/// How long the runtime has to answer our `Hello` before we call the attempt failed.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);

/// What the observer proves itself with.
#[derive(Clone, Debug, Default)]
pub(super) struct Credentials {
    /// `--token`.
    pub given: Option<String>,
    /// How `tls://` addresses are verified (`--tls-ca`, `--tls-pin`, `--tls-cert`).
    pub tls: Option<super::tls::TlsTrust>,
}

impl Credentials {
    /// The token for one attempt on `addr`. Asked again on every attempt, so a secret that
    /// changes when the runtime restarts can be looked up afresh here.
    pub fn token(&self, addr: &Addr) -> Option<String> {
        self.given.clone().or_else(|| match addr {
            Addr::Tcp(a) | Addr::Tls(a) => loopback_cookie(a),
            #[cfg(unix)]
            Addr::Unix(_) => None,
        })
    }
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

/// Send our `Hello` and read the `Welcome`; any other outcome is how the attempt ended.
pub(super) async fn handshake<R, W>(
    rd: &mut R,
    wr: &mut W,
    token: Option<String>,
) -> Result<Welcome, End>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let hello = ClientMsg::Hello(Hello {
        version: PROTOCOL_VERSION,
        token,
        client: format!("beamline-observer {}", env!("CARGO_PKG_VERSION")),
    });
    if let Err(e) = frame::write(wr, &hello).await {
        return Err(End::early(e.to_string()));
    }
    let first = match tokio::time::timeout(HANDSHAKE_TIMEOUT, first_frame(rd)).await {
        Err(_) => return Err(End::early("no answer to the handshake")),
        Ok(first) => first?,
    };
    let welcome = match first {
        ServerMsg::Refused(why) => return Err(End::Refused(format!("refused: {why}"))),
        ServerMsg::Welcome(w) => w,
        other => {
            return Err(End::Refused(format!(
                "not a Beamline endpoint: expected Welcome, got {}",
                msg_name(&other)
            )));
        }
    };
    if welcome.version != PROTOCOL_VERSION {
        return Err(End::Refused(format!(
            "protocol version mismatch: runtime speaks {}, this observer speaks {PROTOCOL_VERSION}",
            welcome.version
        )));
    }
    Ok(welcome)
}

/// The runtime's first frame. Its first bytes are looked at before they are trusted as a
/// length: an HTTP, TLS or SSH server answers with bytes that would otherwise read as a
/// gigabyte-long frame.
async fn first_frame<R: AsyncRead + Unpin>(rd: &mut R) -> Result<ServerMsg, End> {
    let mut prefix = [0u8; 4];
    match rd.read_exact(&mut prefix).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            return Err(End::early("closed during the handshake"));
        }
        Err(e) => return Err(End::early(e.to_string())),
    }
    let len = u32::from_be_bytes(prefix) as usize;
    if let Some(foreign) = sniff::foreign(&prefix) {
        let more = match foreign.text {
            true => sniff::first_line(rd, &prefix).await,
            false => String::new(),
        };
        let what = foreign.what;
        return Err(End::Refused(format!(
            "not a Beamline endpoint: {what} answered{more}"
        )));
    }
    if len > MAX_FRAME_LEN {
        return Err(End::Refused(format!(
            "not a Beamline endpoint: its first answer announces a frame of {len} bytes, which \
             exceeds the limit of {MAX_FRAME_LEN}"
        )));
    }
    let mut body = vec![0u8; len];
    if let Err(e) = rd.read_exact(&mut body).await {
        return Err(End::early(format!("cut off during the handshake: {e}")));
    }
    frame::decode_body::<ServerMsg>(&body).map_err(|e| {
        End::Refused(format!(
            "not a Beamline endpoint: its first answer does not decode ({e})"
        ))
    })
}

fn msg_name(m: &ServerMsg) -> &'static str {
    match m {
        ServerMsg::Welcome(_) => "Welcome",
        ServerMsg::Refused(_) => "Refused",
        ServerMsg::Snapshot(_) => "Snapshot",
        ServerMsg::Delta(_) => "Delta",
        ServerMsg::Reply { .. } => "Reply",
        ServerMsg::History(_) => "History",
        ServerMsg::Trace(_) => "Trace",
        ServerMsg::TypeNames(_) => "TypeNames",
    }
}
