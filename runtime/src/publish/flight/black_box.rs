//! The black box: the runtime writes its flight recorder's history to a file by itself when
//! its root supervisor gives up, or when a condition it was told to watch for appears (any
//! supervisor giving up, a process losing messages, a mailbox deeper than a limit). Opt-in:
//! [`crate::Builder::black_box`], or `BEAMLINE_BLACKBOX=PATH` (see [`BlackBox::from_env`]).
//!
//! The file is a recording (`beamline_wire::record`, the history renumbered by
//! `record::history`) that `observer --replay PATH` plays: the minutes before the trouble, the
//! trouble itself in the last tick. It holds the newest ticks that fit in
//! [`BlackBox::max_bytes`], is written on a blocking thread (never on the sampler's worker),
//! under a temporary name then renamed, so a reader never sees half a file, and is written at
//! most once per [`BlackBox::cooldown`] (a later trigger overwrites it).

use super::Past;
use beamline_wire::record::history::HistoryRecording;
use beamline_wire::record::{HEADER_LEN, RecordWriter, encode_entry};
use beamline_wire::{ProcessKind, ProcessSample, ServerMsg, Status, Welcome};
use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::Duration;

/// Where the black box writes and what makes it write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlackBox {
    /// The file written (replaced by each later write).
    pub path: PathBuf,
    /// Largest file written, bytes (default 64 MiB): the oldest ticks are left out to fit.
    pub max_bytes: u64,
    /// Least time between two writes (default 60 s).
    pub cooldown: Duration,
    /// Write when any supervisor gives up, not only a top-level one (default off).
    pub on_any_escalation: bool,
    /// Write when a process loses messages (default off).
    pub on_drops: bool,
    /// Write when a mailbox is at least this deep (default none).
    pub on_mailbox_over: Option<u64>,
}

impl BlackBox {
    /// Write to `path` when a top-level supervisor (such as [`crate::Runtime::root`]) gives up.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        BlackBox {
            path: path.into(),
            max_bytes: 64 * 1024 * 1024,
            cooldown: Duration::from_secs(60),
            on_any_escalation: false,
            on_drops: false,
            on_mailbox_over: None,
        }
    }

    /// From the environment: `BEAMLINE_BLACKBOX=PATH` turns it on; `BEAMLINE_BLACKBOX_MAX_BYTES`
    /// caps the file; `BEAMLINE_BLACKBOX_ON` adds triggers, comma-separated: `escalation` (any
    /// supervisor), `drops`, `mailbox:N`. `None` when `BEAMLINE_BLACKBOX` is unset; an `Err`
    /// names a value it cannot read.
    pub fn from_env() -> Option<Result<BlackBox, String>> {
        let path = std::env::var_os("BEAMLINE_BLACKBOX")?;
        let max = std::env::var("BEAMLINE_BLACKBOX_MAX_BYTES").ok();
        let on = std::env::var("BEAMLINE_BLACKBOX_ON").ok();
        Some(Self::parse(path.into(), max.as_deref(), on.as_deref()))
    }

    fn parse(path: PathBuf, max: Option<&str>, on: Option<&str>) -> Result<BlackBox, String> {
        let mut b = BlackBox::new(path);
        if let Some(m) = max {
            b.max_bytes = m
                .trim()
                .parse()
                .map_err(|_| format!("BEAMLINE_BLACKBOX_MAX_BYTES: not a number: {m:?}"))?;
        }
        for word in on
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|w| !w.is_empty())
        {
            match word.split_once(':') {
                None if word == "escalation" => b.on_any_escalation = true,
                None if word == "drops" => b.on_drops = true,
                Some(("mailbox", n)) => {
                    b.on_mailbox_over =
                        Some(n.trim().parse().map_err(|_| {
                            format!("BEAMLINE_BLACKBOX_ON: mailbox:{n}: not a number")
                        })?)
                }
                _ => {
                    return Err(format!(
                        "BEAMLINE_BLACKBOX_ON: unknown trigger {word:?} (known: escalation, drops, mailbox:N)"
                    ));
                }
            }
        }
        Ok(b)
    }

    /// Why `p` calls for a write, if it does.
    pub(crate) fn trigger(&self, p: &ProcessSample) -> Option<String> {
        let gave_up = p
            .supervisor
            .as_ref()
            .is_some_and(|s| s.restarts_in_window > s.max_restarts);
        if gave_up
            && p.kind == ProcessKind::Supervisor
            && (p.parent.is_none() || self.on_any_escalation)
        {
            return Some(format!(
                "{} gave up (restart intensity exceeded)",
                p.label()
            ));
        }
        if matches!(p.status, Status::Exited { .. }) {
            return None;
        }
        if self.on_drops
            && p.dropped > 0
            && p.in_per_s > 0.0
            && p.mailbox_capacity.is_some_and(|c| p.mailbox_len >= c)
        {
            return Some(format!(
                "{} is dropping messages ({} lost)",
                p.label(),
                p.dropped
            ));
        }
        match self.on_mailbox_over {
            Some(n) if p.mailbox_len >= n => Some(format!(
                "{}: mailbox {} deep (limit {n})",
                p.label(),
                p.mailbox_len
            )),
            _ => None,
        }
    }
}

/// A black box that may write: its settings, when it last wrote, whether a write is under way.
#[derive(Debug)]
pub(crate) struct Armed {
    pub(crate) config: BlackBox,
    last_ms: std::sync::Mutex<Option<u64>>,
    writing: Arc<AtomicBool>,
}

impl Armed {
    pub(crate) fn new(config: BlackBox) -> Self {
        Armed {
            config,
            last_ms: std::sync::Mutex::new(None),
            writing: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Whether a write may start at `now_ms` (none under way, the cooldown passed); if so it
    /// counts as started.
    pub(crate) fn begin(&self, now_ms: u64) -> bool {
        let mut last = self.last_ms.lock().unwrap_or_else(|p| p.into_inner());
        let cool = self.config.cooldown.as_millis() as u64;
        if self.writing.load(Relaxed) || last.is_some_and(|l| now_ms < l.saturating_add(cool)) {
            return false;
        }
        *last = Some(now_ms);
        self.writing.store(true, Relaxed);
        true
    }

    /// Write `history` to the file on a blocking thread, logging the outcome.
    pub(crate) fn write(&self, welcome: Welcome, history: VecDeque<Arc<Past>>, why: String) {
        let path = self.config.path.clone();
        let max = self.config.max_bytes;
        let writing = self.writing.clone();
        let job = move || {
            match write_file(&path, max, welcome, &history) {
                Ok((ticks, bytes)) => {
                    tracing::warn!(path = %path.display(), ticks, bytes, reason = %why, "black box written: replay it with `observer --replay`")
                }
                Err(e) => {
                    tracing::error!(path = %path.display(), error = %e, reason = %why, "black box could not be written")
                }
            }
            writing.store(false, Relaxed);
        };
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => drop(rt.spawn_blocking(job)),
            Err(_) => job(),
        }
    }
}

/// Write the newest ticks of `history` that fit in `max_bytes` as a recording at `path`
/// (through a temporary file renamed into place). Returns the ticks and bytes written.
pub(crate) fn write_file(
    path: &std::path::Path,
    max_bytes: u64,
    welcome: Welcome,
    history: &VecDeque<Arc<Past>>,
) -> std::io::Result<(usize, u64)> {
    let to_io = |e: beamline_wire::record::RecordError| std::io::Error::other(e.to_string());
    let first = encode_entry(
        &HistoryRecording::new()
            .entry(ServerMsg::Welcome(welcome.clone()))
            .expect("a welcome"),
    )
    .map_err(|e| std::io::Error::other(e.to_string()))?;
    // Newest first until the budget is spent; each tick's size as a delta (its snapshot form,
    // if it comes first, carries the same samples).
    let mut budget = max_bytes.saturating_sub((HEADER_LEN + first.len()) as u64);
    let mut from = history.len();
    for (i, past) in history.iter().enumerate().rev() {
        let size = encode_entry(&beamline_wire::record::RecordEntry {
            offset_ms: 0,
            msg: ServerMsg::History(past.delta()),
        })
        .map_or(u64::MAX, |b| b.len() as u64);
        if size > budget {
            break;
        }
        budget -= size;
        from = i;
    }
    // The estimate above ignores what renumbering adds (clock offsets, the first tick as a
    // snapshot): encode for real and leave out the oldest tick until the whole file fits.
    let (first, entries) = loop {
        let (first, entries) = encode_from(welcome.clone(), history, from)?;
        let total =
            (HEADER_LEN + first.len()) as u64 + entries.iter().map(|e| e.len() as u64).sum::<u64>();
        if total <= max_bytes || from >= history.len() {
            break (first, entries);
        }
        from += 1;
    };
    let tmp = path.with_extension("partial");
    let file = std::fs::File::create(&tmp)?;
    let mut w = RecordWriter::new(std::io::BufWriter::new(file)).map_err(to_io)?;
    let mut bytes = (HEADER_LEN + first.len()) as u64;
    w.append_encoded(&first).map_err(to_io)?;
    for enc in &entries {
        bytes += enc.len() as u64;
        w.append_encoded(enc).map_err(to_io)?;
    }
    w.flush().map_err(to_io)?;
    drop(w);
    std::fs::rename(&tmp, path)?;
    Ok((history.len() - from, bytes))
}

/// The welcome and the ticks of `history` from `from` on, renumbered and encoded as entries.
fn encode_from(
    welcome: Welcome,
    history: &VecDeque<Arc<Past>>,
    from: usize,
) -> std::io::Result<(Vec<u8>, Vec<Vec<u8>>)> {
    let enc = |e: &beamline_wire::record::RecordEntry| {
        encode_entry(e).map_err(|e| std::io::Error::other(e.to_string()))
    };
    let mut rec = HistoryRecording::new();
    let first = enc(&rec.entry(ServerMsg::Welcome(welcome)).expect("a welcome"))?;
    let entries = history
        .iter()
        .skip(from)
        .map(|past| enc(&rec.entry(ServerMsg::History(past.delta())).expect("a tick")))
        .collect::<std::io::Result<Vec<_>>>()?;
    Ok((first, entries))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn triggers_from_the_environment() {
        let b = BlackBox::parse(
            "/tmp/x".into(),
            Some("1000"),
            Some("escalation, drops,mailbox:500"),
        )
        .unwrap();
        assert_eq!(b.max_bytes, 1000);
        assert!(b.on_any_escalation && b.on_drops);
        assert_eq!(b.on_mailbox_over, Some(500));
        let err = BlackBox::parse("/tmp/x".into(), None, Some("boom")).unwrap_err();
        assert!(err.contains("unknown trigger \"boom\""), "{err}");
        assert!(BlackBox::parse("/tmp/x".into(), Some("lots"), None).is_err());
    }

    #[test]
    fn a_top_level_supervisor_giving_up_triggers_and_a_nested_one_only_if_asked() {
        let mut sup = ProcessSample::new(beamline_wire::Pid(1), ProcessKind::Supervisor, "S");
        sup.supervisor = Some(beamline_wire::SupervisorInfo {
            strategy: "one_for_one".into(),
            max_restarts: 3,
            period_ms: 5000,
            restarts_in_window: 4,
            children: 0,
            restarting: 0,
        });
        let b = BlackBox::new("/tmp/x");
        assert!(b.trigger(&sup).is_some());
        sup.parent = Some(beamline_wire::Pid(0));
        assert!(b.trigger(&sup).is_none());
        let any = BlackBox {
            on_any_escalation: true,
            ..b.clone()
        };
        assert!(any.trigger(&sup).is_some());
        let mut deep = ProcessSample::new(beamline_wire::Pid(2), ProcessKind::Server, "W");
        deep.mailbox_len = 600;
        assert!(b.trigger(&deep).is_none());
        let over = BlackBox {
            on_mailbox_over: Some(500),
            ..b
        };
        assert!(over.trigger(&deep).unwrap().contains("mailbox 600 deep"));
    }
}
