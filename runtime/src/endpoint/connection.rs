//! One client's connection: TLS when the listener has it, the handshake (user check, `Hello`
//! within the deadline, backoff, token, a slot among the attached), then samples out and
//! control requests in.

use super::admission::Slot;
use super::auth::{Refusal, check_hello, foreign_user};
use super::failures::Refused;
use super::peer::{Peer, escape};
use super::{MAX_CLIENT_FRAME, MAX_PENDING_REPLIES, Settings};
use crate::Runtime;
use crate::publish::control::Controller;
use crate::publish::frames::Encoded;
use crate::publish::observe::{Observation, welcome};
use beamline_wire::{ClientMsg, ControlReply, ControlRequest, Hello, Role, ServerMsg, frame};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::mpsc;

/// Longest client name kept for the logs, in characters.
const MAX_CLIENT_NAME: usize = 64;
/// Longest exit reason an observer may give, in characters.
const MAX_REASON: usize = 1024;

/// Serve one TCP connection: first the TLS handshake when the listener has TLS (a client that
/// speaks plain bytes is refused in clear, in its own protocol), then [`serve`].
pub(super) async fn serve_tcp(
    stream: tokio::net::TcpStream,
    peer: Peer,
    slot: Slot,
    rt: Runtime,
    settings: Arc<Settings>,
) {
    let Some(acceptor) = settings.tls.clone() else {
        return serve(stream, peer, slot, rt, settings).await;
    };
    let deadline = settings.handshake_timeout;
    let refused = |reason: &str| {
        let r = Refused {
            peer: &peer.key,
            label: &peer.label,
            client: None,
            reason,
            guess: false,
        };
        settings.failures.refused(r, tokio::time::Instant::now());
    };
    let opening = noting_silence(super::opening(&stream, deadline), &slot);
    let opening = tokio::select! {
        biased;
        o = opening => o,
        () = slot.evicted() => return,
    };
    match opening {
        super::Opening::Tls => {}
        super::Opening::Nothing => return,
        super::Opening::Plain => {
            let why = super::tls::PLAIN_REFUSED.to_string();
            refused(&why);
            let (mut rd, mut wr) = tokio::io::split(stream);
            refuse(&mut wr, why, settings.write_timeout).await;
            return linger(&mut rd, &mut wr).await;
        }
    }
    let accept = tokio::time::timeout(deadline, noting_silence(acceptor.accept(stream), &slot));
    let accepted = tokio::select! {
        biased;
        a = accept => a,
        () = slot.evicted() => return,
    };
    match accepted {
        Ok(Ok(tls)) => serve(tls, peer, slot, rt, settings).await,
        Ok(Err(e)) => refused(&format!("TLS handshake failed: {e}")),
        Err(_) => refused(&format!("no TLS handshake within {deadline:?}")),
    }
}

/// Serve one connection from accept to close. The slot is given back when this returns.
pub(super) async fn serve<S>(
    stream: S,
    peer: Peer,
    mut slot: Slot,
    rt: Runtime,
    settings: Arc<Settings>,
) where
    S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let (mut rd, mut wr) = tokio::io::split(stream);
    let hello = match handshake(&mut rd, &peer, &mut slot, &settings).await {
        Ok(hello) => hello,
        Err(None) => return,
        Err(Some(why)) => {
            refuse(&mut wr, why, settings.write_timeout).await;
            return linger(&mut rd, &mut wr).await;
        }
    };
    let client = escape(&hello.client, MAX_CLIENT_NAME);
    let role = settings.role;
    tracing::info!(peer = %peer.label, %client, %role, "observer attached");
    let mut greeting = welcome(&rt.publish);
    greeting.role = role;
    // An older client is answered in its own version (see `MIN_CLIENT_VERSION`).
    greeting.version = hello.version;
    if !matches!(
        tokio::time::timeout(
            settings.write_timeout,
            frame::write(&mut wr, &ServerMsg::Welcome(greeting))
        )
        .await,
        Ok(Ok(()))
    ) {
        return;
    }
    let who = Who {
        version: hello.version,
        peer: peer.label,
        client,
        role,
    };
    stream_and_obey(rd, wr, who, rt, &settings).await;
}

/// Who a connection belongs to, for its log lines and its rights.
struct Who {
    /// The protocol version the client speaks.
    version: u16,
    peer: String,
    client: String,
    role: Role,
}

/// The handshake: `Ok` with the client's `Hello` once it holds an attached slot; `Err` with the
/// reason to send back, or `None` if the client left without a word.
async fn handshake<R: AsyncRead + Unpin>(
    rd: &mut R,
    peer: &Peer,
    slot: &mut Slot,
    settings: &Settings,
) -> Result<Hello, Option<String>> {
    let refused = |client: Option<&str>, reason: &str, guess: bool| {
        let r = Refused {
            peer: &peer.key,
            label: &peer.label,
            client,
            reason,
            guess,
        };
        settings.failures.refused(r, tokio::time::Instant::now());
    };
    if let Some(why) = slot
        .busy()
        .map(String::from)
        .or_else(|| foreign_user(peer, settings.owner_uid))
    {
        refused(None, &why, false);
        return Err(Some(why));
    }
    let deadline = settings.handshake_timeout;
    let read = frame::read::<ClientMsg, _>(rd, MAX_CLIENT_FRAME);
    let first = tokio::select! {
        biased;
        first = tokio::time::timeout(deadline, noting_silence(read, slot)) => first,
        () = slot.evicted() => return Err(Some(evicted(settings, &refused))),
    };
    let first = match first {
        Ok(Ok(None)) => return Err(None),
        Ok(Ok(Some(msg))) => Ok(msg),
        Ok(Err(e)) => Err(e),
        Err(_) => {
            let why = format!("no Hello within {deadline:?}");
            refused(None, &why, false);
            return Err(Some(why));
        }
    };
    let client = match &first {
        Ok(ClientMsg::Hello(h)) => Some(escape(&h.client, MAX_CLIENT_NAME)),
        _ => None,
    };
    // A peer that guessed wrong too often waits, right or wrong, before being answered.
    let wait = settings
        .failures
        .wait(&peer.key, tokio::time::Instant::now());
    if !wait.is_zero() {
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = slot.evicted() => return Err(Some(evicted(settings, &refused))),
        }
    }
    let hello = check_hello(first, settings.token.as_deref()).map_err(|refusal| {
        let why = explain(&refusal, settings);
        refused(client.as_deref(), &why, refusal.is_guess());
        Some(why)
    })?;
    slot.attach().map_err(|busy| {
        refused(client.as_deref(), &busy, false);
        Some(busy)
    })?;
    Ok(hello)
}

/// `read`, telling the slot when it finds nothing to read: only then (and after a grace) may
/// the connection be closed to make room.
async fn noting_silence<F: std::future::Future>(read: F, slot: &Slot) -> F::Output {
    let mut read = std::pin::pin!(read);
    std::future::poll_fn(|cx| {
        let polled = read.as_mut().poll(cx);
        if polled.is_pending() {
            slot.quiet();
        }
        polled
    })
    .await
}

fn evicted(settings: &Settings, refused: &impl Fn(Option<&str>, &str, bool)) -> String {
    let why = settings.admission.evicted_reason();
    refused(None, &why, false);
    why
}

/// The refusal's text, with where the token is when the endpoint made its own.
fn explain(refusal: &Refusal, settings: &Settings) -> String {
    match (refusal, &settings.cookie) {
        (Refusal::Token, Some(path)) => format!(
            "{refusal}: this endpoint's token is in {}, readable only by the user running it; `observer --attach` reads it when run as that user",
            path.display()
        ),
        _ => refusal.to_string(),
    }
}

/// After the handshake: samples out, control requests in, until either side ends it.
async fn stream_and_obey<R, W>(rd: R, mut wr: W, who: Who, rt: Runtime, settings: &Settings)
where
    R: AsyncRead + Send + Unpin + 'static,
    W: AsyncWrite + Unpin,
{
    let wt = settings.write_timeout;
    let mut obs = Observation::new(&rt.publish, false);
    obs.set_protocol(who.version);
    if who.version < 3 {
        // A version-2 observer cannot decode `ServerMsg::History`.
        obs.skip_history();
    }
    let peer = who.peer.clone();
    let version = who.version;
    // Requests are read on their own task: a frame read is not cancel safe, so it must not sit
    // in the select below. Replies (or the reason to close) come back through a bounded channel.
    let (tx, mut replies) =
        mpsc::channel::<Result<(u64, ControlReply), String>>(MAX_PENDING_REPLIES);
    let mut reader = tokio::spawn(read_requests(rd, tx, who, obs.controller()));
    loop {
        // Samples come encoded, the same bytes for every connection; replies are encoded here.
        let encoded = tokio::select! {
            m = obs.recv_frame() => match m {
                Some(m) => m,
                None => break,
            },
            r = replies.recv() => match r {
                // In the client's own version (a version-3 client gets no talkers).
                Some(Ok((id, reply))) => beamline_wire::older::encode_reply(id, reply, version)
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
        let bytes: Encoded = match encoded {
            Ok(bytes) => bytes,
            Err(e) => {
                tracing::warn!(%peer, error = %e, "observe endpoint: cannot encode a frame; closing");
                break;
            }
        };
        // In pieces, yielding between them: a snapshot frame is megabytes, and one write call
        // copying it would hold this worker for milliseconds (issue 15). The timeout still
        // covers the whole frame, and a frame cut short by it closes the connection.
        let write = frame::write_encoded_in_pieces(&mut wr, &bytes, frame::WRITE_PIECE);
        match tokio::time::timeout(wt, write).await {
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

/// Read control requests and carry out those the role allows, one at a time; ends with the
/// reason to close (empty when the client just left). Gives the read half back.
async fn read_requests<R: AsyncRead + Unpin>(
    mut rd: R,
    tx: mpsc::Sender<Result<(u64, ControlReply), String>>,
    who: Who,
    controller: Controller,
) -> R {
    loop {
        let next = match frame::read::<ClientMsg, _>(&mut rd, MAX_CLIENT_FRAME).await {
            Ok(Some(ClientMsg::Control { id, request })) => {
                Ok((id, obey(&who, &controller, request).await))
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
}

/// Carry out one request if the connection's role allows it, and log who asked for what.
async fn obey(who: &Who, controller: &Controller, request: ControlRequest) -> ControlReply {
    let request = match request {
        ControlRequest::Kill { pid, reason } => ControlRequest::Kill {
            pid,
            reason: escape(&reason, MAX_REASON),
        },
        other => other,
    };
    let acts = !Role::Observe.allows(&request);
    if !who.role.allows(&request) {
        tracing::warn!(peer = %who.peer, client = %who.client, ?request, "observe endpoint: control request refused: this connection may only observe");
        return ControlReply::Error(format!(
            "refused: this connection has the {} role; kill, restart and interval changes need the {} role (the endpoint is read-only)",
            who.role,
            Role::Operate
        ));
    }
    let reply = controller.control(request.clone()).await;
    if acts {
        tracing::info!(peer = %who.peer, client = %who.client, ?request, ?reply, "observe endpoint: control request");
    } else {
        tracing::debug!(peer = %who.peer, client = %who.client, ?request, "observe endpoint: control request");
    }
    reply
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
