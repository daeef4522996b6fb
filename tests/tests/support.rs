//! Helpers: the real binaries, temporary directories, a runtime for tests, a demo serving on
//! loopback, and the observer in a pseudo-terminal.

#![allow(dead_code)]

use portable_pty::{CommandBuilder, PtySize, native_pty_system};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// `observer`, built from `observer/src/main.rs`.
pub const OBSERVER: &str = env!("CARGO_BIN_EXE_e2e-observer");
/// `demo`, built from `demo/src/main.rs`.
pub const DEMO: &str = env!("CARGO_BIN_EXE_e2e-demo");
/// The soak and throughput binary (`tests/src/bin/soak.rs`).
pub const SOAK: &str = env!("CARGO_BIN_EXE_soak");

/// A runtime for tests: never enabled from the environment, quick sampling.
pub fn runtime(interval_ms: u64) -> beamline::Runtime {
    beamline::Runtime::builder()
        .node("e2e")
        .observe_from_env(false)
        .interval(Duration::from_millis(interval_ms))
        .build()
}

/// A directory only this user can enter (mode 0700), removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        use std::os::unix::fs::DirBuilderExt;
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("beamline-e2e-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::DirBuilder::new().mode(0o700).create(&dir).unwrap();
        TempDir(dir)
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Run a binary to completion, failing the test if it takes longer than `limit`.
pub fn run(bin: &str, args: &[&str], limit: Duration) -> Output {
    let child = Command::new(bin)
        .args(args)
        .env_remove("BEAMLINE_OBSERVE")
        .env_remove("BEAMLINE_OBSERVE_TOKEN")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let id = child.id();
    let (tx, rx) = mpsc::channel();
    let waiter = std::thread::spawn(move || {
        let out = child.wait_with_output();
        let _ = tx.send(());
        out
    });
    if rx.recv_timeout(limit).is_err() {
        let _ = Command::new("kill")
            .args(["-KILL", &id.to_string()])
            .status();
        panic!("{bin} {args:?} did not finish within {limit:?}");
    }
    waiter.join().unwrap().unwrap()
}

/// stderr as lines.
pub fn stderr_lines(out: &Output) -> Vec<String> {
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .map(String::from)
        .collect()
}

/// The demo serving headless, killed when dropped.
pub struct Demo {
    pub child: Child,
    /// The address it printed (`host:port` or `unix:/path`).
    pub addr: String,
}

impl Demo {
    /// Start `demo --serve ADDR` plus `extra`, and wait (up to 60 s) for the line giving the
    /// address to attach to.
    pub fn serve(addr: &str, extra: &[&str]) -> Demo {
        let mut child = Command::new(DEMO)
            .arg("--serve")
            .arg(addr)
            .args(extra)
            .env_remove("BEAMLINE_OBSERVE")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                if let Some((_, at)) = line.split_once("observer --attach ") {
                    let _ = tx.send(at.trim().to_string());
                }
            }
        });
        let addr = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(a) => a,
            Err(_) => {
                let _ = child.kill();
                panic!("demo --serve {addr} never said where it listens");
            }
        };
        Demo { child, addr }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A loopback port with nothing listening on it.
pub fn closed_port() -> std::net::SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// Send a signal with the system's `kill`.
pub fn signal(pid: u32, sig: &str) {
    let ok = Command::new("kill")
        .args([&format!("-{sig}"), &pid.to_string()])
        .status()
        .unwrap();
    assert!(ok.success(), "kill -{sig} {pid}");
}

/// A binary running in a pseudo-terminal, its output fed to a terminal emulator.
pub struct Pty {
    pub parser: vt100::Parser,
    pub raw: Vec<u8>,
    bytes: mpsc::Receiver<Vec<u8>>,
    pub writer: Box<dyn Write + Send>,
    exited: mpsc::Receiver<portable_pty::ExitStatus>,
    pub pid: u32,
    /// When [`Pty::wait_exit`] saw the process end.
    pub exited_at: Option<Instant>,
    _master: Box<dyn portable_pty::MasterPty + Send>,
}

impl Pty {
    pub fn start(bin: &str, args: &[&str], env: &[(&str, &str)]) -> Pty {
        let pair = native_pty_system()
            .openpty(PtySize {
                rows: 24,
                cols: 100,
                pixel_width: 0,
                pixel_height: 0,
            })
            .unwrap();
        let mut cmd = CommandBuilder::new(bin);
        cmd.args(args);
        cmd.env("TERM", "xterm-256color");
        cmd.env_remove("BEAMLINE_OBSERVE");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = pair.slave.spawn_command(cmd).unwrap();
        drop(pair.slave);
        let pid = child.process_id().unwrap();
        let mut reader = pair.master.try_clone_reader().unwrap();
        let writer = pair.master.take_writer().unwrap();
        let (tx, bytes) = mpsc::channel();
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                    break;
                }
            }
        });
        let (etx, exited) = mpsc::channel();
        std::thread::spawn(move || {
            if let Ok(s) = child.wait() {
                let _ = etx.send(s);
            }
        });
        Pty {
            parser: vt100::Parser::new(24.try_into().unwrap(), 100.try_into().unwrap(), 0),
            raw: Vec::new(),
            bytes,
            writer,
            exited,
            pid,
            exited_at: None,
            _master: pair.master,
        }
    }

    /// Feed output to the emulator until the screen satisfies `want` (30 s at most).
    pub fn wait_for(&mut self, what: &str, want: impl Fn(&str) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let screen = self.parser.screen().contents();
            if want(&screen) {
                return;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.bytes.recv_timeout(left) {
                Ok(b) => {
                    self.parser.process(&b);
                    self.raw.extend_from_slice(&b);
                }
                Err(_) => panic!("timed out waiting for {what}; screen:\n{screen}"),
            }
        }
    }

    pub fn wait_exit(&mut self) -> portable_pty::ExitStatus {
        let status = self
            .exited
            .recv_timeout(Duration::from_secs(30))
            .expect("did not exit");
        self.exited_at = Some(Instant::now());
        while let Ok(b) = self.bytes.recv_timeout(Duration::from_millis(300)) {
            self.parser.process(&b);
            self.raw.extend_from_slice(&b);
        }
        status
    }

    /// Normal screen, cursor shown, mouse capture off, raw mode left (the emulator cannot see
    /// termios, but ratatui leaves raw mode in the same restore as the alternate screen).
    pub fn assert_restored(&self) {
        let raw = String::from_utf8_lossy(&self.raw);
        let screen = self.parser.screen();
        assert!(!screen.alternate_screen(), "still on the alternate screen");
        assert!(!screen.hide_cursor(), "cursor left hidden");
        let last = |seq: &str| raw.rfind(seq);
        assert!(
            last("\x1b[?1049l") > last("\x1b[?1049h"),
            "alternate screen never left"
        );
        assert!(
            last("\x1b[?1000l") > last("\x1b[?1000h"),
            "mouse capture left on"
        );
    }
}

/// A counter: casts add, calls read. Used to show the runtime keeps serving processes.
pub struct Counter(pub u64);

impl beamline::GenServer for Counter {
    type Args = ();
    type Call = ();
    type Reply = u64;
    type Cast = u64;
    type Info = ();

    async fn init(_: (), _ctx: &mut beamline::Ctx<Self>) -> Result<Self, beamline::InitError> {
        Ok(Counter(0))
    }
    async fn handle_call(
        &mut self,
        _: (),
        _ctx: &mut beamline::Ctx<Self>,
    ) -> beamline::CallReply<u64> {
        beamline::CallReply::reply(self.0)
    }
    async fn handle_cast(&mut self, n: u64, _ctx: &mut beamline::Ctx<Self>) -> beamline::Next {
        self.0 += n;
        beamline::Next::noreply()
    }
}

/// Log lines captured from `tracing`, for tests that check what the endpoint logs. Install with
/// [`LogCapture::install`] on a current-thread runtime so every task logs to it.
#[derive(Clone, Default)]
pub struct LogCapture {
    lines: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    changed: std::sync::Arc<tokio::sync::Notify>,
}

impl LogCapture {
    /// Capture this thread's events (level, message and fields on one line) until the guard
    /// is dropped.
    pub fn install() -> (LogCapture, tracing::subscriber::DefaultGuard) {
        use tracing_subscriber::prelude::*;
        let cap = LogCapture::default();
        let guard =
            tracing::subscriber::set_default(tracing_subscriber::registry().with(cap.clone()));
        (cap, guard)
    }

    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }

    /// Wait (up to `limit`) for a line containing every one of `words`.
    pub async fn wait_for(&self, words: &[&str], limit: Duration) -> String {
        let found = || {
            self.lines()
                .into_iter()
                .find(|l| words.iter().all(|w| l.contains(w)))
        };
        let wait = async {
            loop {
                let notified = self.changed.notified();
                if let Some(l) = found() {
                    return l;
                }
                notified.await;
            }
        };
        match tokio::time::timeout(limit, wait).await {
            Ok(l) => l,
            Err(_) => panic!(
                "no log line with {words:?} within {limit:?}; got:\n{:#?}",
                self.lines()
            ),
        }
    }
}

struct Fields(String);

impl tracing::field::Visit for Fields {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        use std::fmt::Write;
        let _ = write!(self.0, " {}={:?}", field.name(), value);
    }
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for LogCapture {
    fn on_event(
        &self,
        event: &tracing::Event<'_>,
        _ctx: tracing_subscriber::layer::Context<'_, S>,
    ) {
        let mut f = Fields(format!("{}", event.metadata().level()));
        event.record(&mut f);
        self.lines.lock().unwrap().push(f.0);
        self.changed.notify_waiters();
    }
}
