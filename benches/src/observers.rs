//! The observers [`crate::attach`] measures, each as an attach function for
//! [`crate::attach::measure`], and the reading side of the two that cross a process boundary.
//!
//! - `observe`: an in-process [`beamline::Runtime::observe`] subscription on the runtime itself.
//! - `endpoint`: Beamline's attach endpoint on a Unix socket, read by `bench-scale read beamline`.
//! - `kameo-console`: `kameo::console::serve` on TCP (kameo built with its `console` feature),
//!   read by `bench-scale read kameo`; it sends one snapshot per one-byte request.

use crate::attach::{Attached, ReadReport, Reader};
use beamline::Runtime;
use beamline::endpoint::{EndpointConfig, ObserveAddr};
use beamline::wire::{ClientMsg, Hello, PROTOCOL_VERSION, ServerMsg, frame};
use std::io::{Read, Write};
use std::time::{Duration, Instant};

/// Subscribe in-process and read until a snapshot of at least `n` processes is complete.
pub async fn observe(rt: &Runtime, n: u64) -> Attached {
    let mut obs = rt.observe();
    let mut snap = SnapshotCount::default();
    while !snap.complete(n) {
        let Some(msg) = obs.recv().await else { break };
        snap.add(&msg);
    }
    Attached {
        ms: None,
        bytes: 0,
        processes: snap.processes,
        keep: Box::new(obs),
    }
}

/// Serve the endpoint on a fresh Unix socket, as an application configured with one does from
/// its start; returns the endpoint (it serves while held) and the socket's path.
pub fn serve(rt: &Runtime) -> (beamline::endpoint::Endpoint, String) {
    let dir = std::env::temp_dir().join(format!("beamline-attach-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join("observe.sock");
    let _ = std::fs::remove_file(&path);
    let endpoint = rt
        .serve(EndpointConfig::new(ObserveAddr::Unix(path.clone())))
        .expect("endpoint binds");
    (endpoint, path.to_str().expect("utf-8 path").to_string())
}

/// Have a separate process connect to the endpoint at `path` and read a complete snapshot of
/// at least `n` processes from it.
pub async fn endpoint(path: &str, n: u64) -> Attached {
    Reader::start("beamline", path, n).await.into()
}

/// Serve kameo's console on a local port (from the application's start, as the endpoint is).
#[cfg(feature = "kameo-console")]
pub async fn kameo_console_serve() -> kameo::console::ConsoleHandle {
    kameo::console::serve("127.0.0.1:0")
        .await
        .expect("console binds")
}

/// Have a separate process read one snapshot of `n` actors from kameo's `console`.
#[cfg(feature = "kameo-console")]
pub async fn kameo_console(console: &kameo::console::ConsoleHandle, n: u64) -> Attached {
    Reader::start("kameo", &console.local_addr().to_string(), n)
        .await
        .into()
}

/// Counts the processes of the first snapshot: a `Snapshot` frame and the `Delta` frames of
/// the same tick that continue it.
#[derive(Debug, Default)]
pub struct SnapshotCount {
    at_ms: Option<u64>,
    /// Processes received so far.
    pub processes: u64,
}

impl SnapshotCount {
    /// Account for one message.
    pub fn add(&mut self, msg: &ServerMsg) {
        match msg {
            ServerMsg::Snapshot(s) if self.at_ms.is_none() => {
                self.at_ms = Some(s.at_ms);
                self.processes += s.processes.len() as u64;
            }
            ServerMsg::Delta(d) if self.at_ms == Some(d.at_ms) => {
                self.processes += d.changed.len() as u64;
            }
            _ => {}
        }
    }

    /// Whether at least `n` processes have arrived.
    pub fn complete(&self, n: u64) -> bool {
        self.at_ms.is_some() && self.processes >= n
    }
}

/// `bench-scale read beamline <socket> <n> <hold ms>`: connect, say hello, decode frames until a
/// snapshot of `n` processes is complete, print a [`ReadReport`], then keep reading for `hold`.
pub fn read_beamline(path: &str, n: u64, hold: Duration) -> ReadReport {
    let t = Instant::now();
    let mut sock = std::os::unix::net::UnixStream::connect(path).expect("endpoint accepts");
    let hello = ClientMsg::Hello(Hello {
        version: PROTOCOL_VERSION,
        token: None,
        client: "beamline-benches".into(),
    });
    sock.write_all(&frame::encode(&hello).expect("hello encodes"))
        .expect("hello sent");
    let mut snap = SnapshotCount::default();
    let mut bytes = 0;
    let mut body = Vec::new();
    while !snap.complete(n) {
        let Some(len) = read_len(&mut sock) else {
            break;
        };
        body.resize(len, 0);
        sock.read_exact(&mut body).expect("frame body");
        bytes += 4 + len as u64;
        let msg: ServerMsg = frame::decode_body(&body).expect("frame decodes");
        snap.add(&msg);
    }
    let report = ReadReport {
        ms: t.elapsed().as_secs_f64() * 1e3,
        bytes,
        processes: snap.processes,
    };
    print_report(&report);
    sock.set_read_timeout(Some(Duration::from_millis(50))).ok();
    let until = Instant::now() + hold;
    let mut sink = vec![0; 64 * 1024];
    while Instant::now() < until {
        if let Ok(0) = sock.read(&mut sink) {
            break;
        }
    }
    report
}

/// `bench-scale read kameo <addr> <n> <hold ms>`: request one console snapshot and read it
/// whole (not decoded), print a [`ReadReport`], then request one more per second for `hold`.
pub fn read_kameo(addr: &str, n: u64, hold: Duration) -> ReadReport {
    let t = Instant::now();
    let mut sock = std::net::TcpStream::connect(addr).expect("console accepts");
    let bytes = kameo_snapshot(&mut sock);
    let report = ReadReport {
        ms: t.elapsed().as_secs_f64() * 1e3,
        bytes,
        processes: n,
    };
    print_report(&report);
    let until = Instant::now() + hold;
    while Instant::now() < until {
        std::thread::sleep(Duration::from_secs(1).min(until - Instant::now()));
        kameo_snapshot(&mut sock);
    }
    report
}

fn kameo_snapshot(sock: &mut std::net::TcpStream) -> u64 {
    sock.write_all(&[0]).expect("request sent");
    let len = read_len(sock).expect("snapshot length");
    let mut sink = vec![0; 64 * 1024];
    let mut left = len;
    while left > 0 {
        let k = left.min(sink.len());
        sock.read_exact(&mut sink[..k]).expect("snapshot body");
        left -= k;
    }
    4 + len as u64
}

fn read_len(r: &mut impl Read) -> Option<usize> {
    let mut len = [0u8; 4];
    r.read_exact(&mut len).ok()?;
    Some(u32::from_be_bytes(len) as usize)
}

fn print_report(r: &ReadReport) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{}", serde_json::to_string(r).expect("json"));
    let _ = out.flush();
}
