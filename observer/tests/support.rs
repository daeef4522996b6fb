//! A fake runtime endpoint speaking the real protocol (beamline-wire), serving the observer's
//! synthetic fixture, and helpers to run the `observer` binary.

use beamline_observer::fixture;
use beamline_wire::table::diff;
use beamline_wire::{ClientMsg, ControlReply, ControlRequest, MAX_FRAME_LEN, ServerMsg, frame};
use std::net::SocketAddr;
use std::process::{Command, Output};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

/// The compiled binary under test.
pub const OBSERVER: &str = env!("CARGO_BIN_EXE_observer");

/// How the fake endpoint behaves.
#[derive(Clone)]
pub struct Fake {
    /// Refuse clients whose token differs.
    pub token: Option<String>,
    /// Time between deltas.
    pub period: Duration,
    /// Close each connection after this many deltas (the runtime going away).
    pub close_after: Option<u64>,
    /// The type names it sends (ids in this order); `stage_3`'s hot type is `Batch::Append`.
    pub type_names: Vec<String>,
}

impl Default for Fake {
    fn default() -> Self {
        Fake {
            token: None,
            period: Duration::from_millis(100),
            close_after: None,
            type_names: vec!["Batch::Append".into(), "Batch::Flush".into()],
        }
    }
}

/// A running fake endpoint; lives on its own thread and runtime until the test ends.
pub struct FakeRuntime {
    /// Where it listens.
    pub addr: SocketAddr,
}

impl FakeRuntime {
    /// Start listening on 127.0.0.1, port chosen by the OS.
    pub fn start(cfg: Fake) -> Self {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
                tx.send(listener.local_addr().unwrap()).unwrap();
                loop {
                    let (sock, _) = listener.accept().await.unwrap();
                    tokio::spawn(serve(sock, cfg.clone()));
                }
            });
        });
        FakeRuntime {
            addr: rx.recv().unwrap(),
        }
    }
}

async fn serve(sock: tokio::net::TcpStream, cfg: Fake) {
    let (mut rd, mut wr) = sock.into_split();
    let Ok(Some(ClientMsg::Hello(hello))) =
        frame::read::<ClientMsg, _>(&mut rd, MAX_FRAME_LEN).await
    else {
        return;
    };
    if cfg.token.is_some() && hello.token != cfg.token {
        let _ = frame::write(&mut wr, &ServerMsg::Refused("bad token".into())).await;
        return;
    }
    let (ctl_tx, mut ctl_rx) = mpsc::channel::<(u64, ControlRequest)>(8);
    tokio::spawn(async move {
        while let Ok(Some(ClientMsg::Control { id, request })) =
            frame::read::<ClientMsg, _>(&mut rd, MAX_FRAME_LEN).await
        {
            if ctl_tx.send((id, request)).await.is_err() {
                return;
            }
        }
    });
    let w = ServerMsg::Welcome(fixture::welcome(7));
    if frame::write(&mut wr, &w).await.is_err() {
        return;
    }
    // Protocol 4: the names before the snapshot whose `stage_3` (pid 9) refers to one.
    let names = ServerMsg::TypeNames(beamline_wire::TypeNames {
        first: 0,
        names: cfg.type_names.clone(),
    });
    if frame::write(&mut wr, &names).await.is_err() {
        return;
    }
    let hot = cfg.type_names.iter().position(|n| n == "Batch::Append");
    let mut snap = fixture::small(0);
    for p in snap.processes.iter_mut().filter(|p| p.id.0 == 9) {
        p.hot_type = hot.map(|i| i as u32);
    }
    if frame::write(&mut wr, &ServerMsg::Snapshot(snap))
        .await
        .is_err()
    {
        return;
    }
    let mut tick = tokio::time::interval(cfg.period);
    tick.tick().await;
    let mut seq = 0;
    loop {
        if cfg.close_after.is_some_and(|n| seq >= n) {
            return;
        }
        let msg = tokio::select! {
            _ = tick.tick() => {
                seq += 1;
                ServerMsg::Delta(diff(&fixture::small(seq - 1), &fixture::small(seq)))
            }
            Some((id, req)) = ctl_rx.recv() => ServerMsg::Reply {
                id,
                reply: match req {
                    ControlRequest::Logs { .. } => ControlReply::Logs(vec!["fake log line".into()]),
                    ControlRequest::MessageTypes { pids } => ControlReply::MessageTypes(types(&pids)),
                    _ => ControlReply::Ok,
                },
            },
        };
        if frame::write(&mut wr, &msg).await.is_err() {
            return;
        }
    }
}

/// A loopback port with nothing listening on it.
pub fn closed_port() -> SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap()
}

/// The observer started with `args`, its stdout and stderr piped.
pub fn spawn_observer(args: &[&str]) -> std::process::Child {
    Command::new(OBSERVER)
        .args(args)
        .env_remove("NO_COLOR")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

/// A fresh directory under the system's temp dir, removed when dropped.
pub struct TempDir(pub std::path::PathBuf);

impl TempDir {
    /// `observer-<what>-<pid>`.
    pub fn new(what: &str) -> Self {
        let p = std::env::temp_dir().join(format!("observer-{what}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }

    /// A path inside, as a string for arguments.
    pub fn file(&self, name: &str) -> String {
        self.0.join(name).to_str().unwrap().to_string()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Run the observer to completion with `args`, failing the test if it takes over 30 s.
pub fn observer(args: &[&str]) -> Output {
    let child = spawn_observer(args);
    let id = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    let waiter = std::thread::spawn(move || {
        let out = child.wait_with_output();
        let _ = tx.send(());
        out
    });
    if rx.recv_timeout(Duration::from_secs(30)).is_err() {
        let _ = Command::new("kill").arg(id.to_string()).status();
        panic!("observer {args:?} did not finish within 30 s");
    }
    waiter.join().unwrap().unwrap()
}

/// Per-type counters the fake runtime reports: `stage_3` (pid 9) has handled casts of two
/// variants, mostly from pid 8 and some from outside any process, and sent to pid 10 (8 s
/// window, one in 32 sampled); other processes nothing (no entry).
fn types(pids: &[beamline_wire::Pid]) -> Vec<beamline_wire::TypeCounts> {
    use beamline_wire::{MsgKind, Pid, Talker, TypeCount, TypeCounts};
    let talker = |pid: Option<u64>, sampled, share| Talker {
        pid: pid.map(Pid),
        sampled,
        share,
    };
    let t = |name: &str, count, busy_ns| TypeCount {
        name: name.into(),
        kind: MsgKind::Cast,
        count,
        busy_ns,
        max_ns: 3_000,
    };
    (pids.iter().filter(|p| p.0 == 9))
        .map(|p| TypeCounts {
            pid: *p,
            at_ms: 1_000,
            types: vec![
                t("Batch::Append", 400, 800_000),
                t("Batch::Flush", 4, 4_000),
            ],
            senders: vec![talker(Some(8), 30, 0.75), talker(None, 10, 0.25)],
            receivers: vec![talker(Some(10), 40, 1.0)],
            talk_window_ms: 8_000,
            talk_every: 32,
        })
        .collect()
}
