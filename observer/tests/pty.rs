//! The real binary in a pseudo-terminal against the fake runtime: the tree and its columns
//! appear, and quitting (by `q` or SIGTERM) leaves the terminal as it found it.

use crate::support::{Fake, FakeRuntime, OBSERVER};
use portable_pty::{CommandBuilder, PtySize, native_pty_system};
use std::io::{Read, Write};
use std::sync::mpsc;
use std::time::{Duration, Instant};

struct Session {
    parser: vt100::Parser,
    raw: Vec<u8>,
    bytes: mpsc::Receiver<Vec<u8>>,
    writer: Box<dyn Write + Send>,
    exited: mpsc::Receiver<portable_pty::ExitStatus>,
    pid: u32,
    _master: Box<dyn portable_pty::MasterPty + Send>,
}

impl Session {
    fn start(args: &[&str]) -> Session {
        let pty = native_pty_system();
        let pair = pty
            .openpty(PtySize {
                rows: 24,
                cols: 100,
                pixel_width: 0,
                pixel_height: 0,
            })
            .unwrap();
        let mut cmd = CommandBuilder::new(OBSERVER);
        cmd.args(args);
        cmd.env("TERM", "xterm-256color");
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
        Session {
            parser: vt100::Parser::new(24.try_into().unwrap(), 100.try_into().unwrap(), 0),
            raw: Vec::new(),
            bytes,
            writer,
            exited,
            pid,
            _master: pair.master,
        }
    }

    /// Feed output to the terminal emulator until the screen satisfies `want`.
    fn wait_for(&mut self, what: &str, want: impl Fn(&str) -> bool) {
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

    fn wait_exit(&mut self) -> portable_pty::ExitStatus {
        let status = self
            .exited
            .recv_timeout(Duration::from_secs(30))
            .expect("observer did not exit");
        // Drain what it wrote on the way out.
        while let Ok(b) = self.bytes.recv_timeout(Duration::from_millis(500)) {
            self.parser.process(&b);
            self.raw.extend_from_slice(&b);
        }
        status
    }

    fn assert_restored(&self) {
        let raw = String::from_utf8_lossy(&self.raw);
        let screen = self.parser.screen();
        assert!(!screen.alternate_screen(), "still on the alternate screen");
        assert!(!screen.hide_cursor(), "cursor left hidden");
        let last = |seq: &str| raw.rfind(seq);
        assert!(
            last("\x1b[?1000l") > last("\x1b[?1000h"),
            "mouse capture left on"
        );
    }
}

fn tree_is_up(s: &str) -> bool {
    // Full titles where they fit (MAILBOX, RESTARTS), abbreviations where not.
    ["NAME", "STATUS", "IN/S", "BUSY", "STATE"]
        .iter()
        .all(|c| s.contains(c))
        && (s.contains("MAILBOX") || s.contains("MBOX"))
        && (s.contains("RESTARTS") || s.contains("RST"))
        && s.contains("app_sup")
        && s.contains("stage_3")
        && s.contains("connected")
}

#[test]
fn tree_appears_and_q_quits_cleanly() {
    let rt = FakeRuntime::start(Fake::default());
    let mut s = Session::start(&["--attach", &rt.addr.to_string(), "--no-color"]);
    s.wait_for("the tree", tree_is_up);
    // Sort by mailbox in the table: the slow stage is on top.
    s.writer.write_all(b"2").unwrap();
    s.wait_for("the table", |scr| scr.contains("Processes 11 of 11"));
    let first_row = |scr: &str| scr.lines().nth(5).unwrap_or("").to_string();
    s.wait_for("stage_3 first", |scr| first_row(scr).contains("stage_3"));
    s.writer.write_all(b"\r").unwrap();
    s.wait_for("detail with logs", |scr| {
        scr.contains("Detail <0.9.0>") && scr.contains("fake log line")
    });
    s.writer.write_all(b"q").unwrap();
    let status = s.wait_exit();
    assert!(status.success(), "{status:?}");
    s.assert_restored();
}

#[test]
fn sigterm_restores_the_terminal() {
    let rt = FakeRuntime::start(Fake::default());
    let mut s = Session::start(&["--attach", &rt.addr.to_string()]);
    s.wait_for("the tree", tree_is_up);
    std::process::Command::new("kill")
        .args(["-TERM", &s.pid.to_string()])
        .status()
        .unwrap();
    let status = s.wait_exit();
    assert!(status.success(), "{status:?}");
    s.assert_restored();
}

#[test]
fn unreachable_target_shows_retrying_in_the_tui() {
    let addr = crate::support::closed_port().to_string();
    let mut s = Session::start(&["--attach", &addr]);
    s.wait_for("the retry notice", |scr| {
        scr.contains("disconnected, retrying")
    });
    s.writer.write_all(b"q").unwrap();
    assert!(s.wait_exit().success());
    s.assert_restored();
}

/// Issue 14: the header said "(recording)" while nothing could be written.
#[cfg(target_os = "linux")]
#[test]
fn a_full_disk_shows_recording_failed_and_observing_goes_on() {
    let rt = FakeRuntime::start(Fake::default());
    let addr = rt.addr.to_string();
    let mut s = Session::start(&["--attach", &addr, "--record", "/dev/full", "--no-color"]);
    s.wait_for("the failure in the header", |scr| {
        scr.contains(&format!("{addr} (recording failed)"))
            && scr.contains("recording stopped: No space left on device")
    });
    s.wait_for("the tree still live", tree_is_up);
    s.writer.write_all(b"q").unwrap();
    assert!(
        s.wait_exit().success(),
        "told already, so quitting is clean"
    );
    s.assert_restored();
}

/// Issue 18: a damaged recording showed "waiting for the first sample…"; `[` could not rewind
/// after the end.
#[test]
fn a_damaged_replay_shows_its_good_part_and_rewinds_after_the_end() {
    let dir = crate::support::TempDir::new("pty-damaged");
    let (mut bytes, starts) = crate::sources::recording(4);
    bytes[starts[4] + 12] ^= 0x01;
    let path = dir.file("d.rec");
    std::fs::write(&path, &bytes).unwrap();
    let mut s = Session::start(&["--replay", &path, "--no-color"]);
    s.wait_for("the good part and the damage", |scr| {
        tree_is_up(scr) && scr.contains("damaged recording: entry 5 at byte")
    });
    s.wait_for("the end", |scr| scr.contains("■ ended"));
    s.writer.write_all(b"[").unwrap();
    s.wait_for("playing again", |scr| scr.contains("● connected"));
    s.writer.write_all(b"q").unwrap();
    assert!(s.wait_exit().success());
    s.assert_restored();
}
