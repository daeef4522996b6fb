//! `observer --attach ADDR --dump FILE`: the runtime's history, as a recording.
//!
//! Attaches, takes what a new subscriber is sent before live data (the `Welcome`, the flight
//! recorder's past ticks, the first snapshot), writes it as a recording that `--replay`
//! plays (`beamline_wire::record::history` numbers and times it), and detaches. Nothing is
//! written unless the whole history arrived: a failed dump leaves no half file behind.

use super::{ConnState, Source, SourceEvent};
use beamline_wire::ServerMsg;
use beamline_wire::record::RecordWriter;
use beamline_wire::record::history::HistoryRecording;
use std::path::Path;

/// What a dump wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dumped {
    /// Past ticks the runtime sent (0 when it kept no history: its endpoint had only just
    /// started, or its flight recorder is off).
    pub past_ticks: u64,
    /// How far back they go, milliseconds before the snapshot.
    pub span_ms: u64,
}

/// Dump `src`'s history to `path`; `Err` is the one line to print.
pub async fn dump<S: Source>(mut src: S, path: &Path) -> Result<Dumped, String> {
    let target = src.describe();
    let mut rec = HistoryRecording::new();
    let mut entries = Vec::new();
    let mut past_ticks = 0;
    let mut first_at = None;
    let snapshot_at = loop {
        let Some(ev) = src.next().await else {
            return Err(format!("{target}: the stream ended before a snapshot"));
        };
        let msg = match ev {
            SourceEvent::Msg(m) => m,
            SourceEvent::Conn(ConnState::Failed(why)) => return Err(format!("{target}: {why}")),
            SourceEvent::Conn(ConnState::Retrying { reason, .. }) => {
                return Err(format!("{target}: {reason}"));
            }
            SourceEvent::Conn(ConnState::Ended) => {
                return Err(format!("{target}: the stream ended before a snapshot"));
            }
            _ => continue,
        };
        let snapshot = match &msg {
            ServerMsg::History(d) => {
                past_ticks += 1;
                first_at.get_or_insert(d.at_ms);
                None
            }
            ServerMsg::Snapshot(s) => Some(s.at_ms),
            _ => None,
        };
        entries.extend(rec.entry(msg));
        if let Some(at) = snapshot {
            break at;
        }
    };
    let _ = src.close().await;
    write(path, &entries).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(Dumped {
        past_ticks,
        span_ms: first_at.map_or(0, |f| snapshot_at.saturating_sub(f)),
    })
}

fn write(path: &Path, entries: &[beamline_wire::record::RecordEntry]) -> std::io::Result<()> {
    let file = std::fs::File::create(path)?;
    let to_io = |e: beamline_wire::record::RecordError| std::io::Error::other(e.to_string());
    let mut w = RecordWriter::new(std::io::BufWriter::new(file)).map_err(to_io)?;
    for e in entries {
        w.append(e).map_err(to_io)?;
    }
    w.flush().map_err(to_io)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::ControlFuture;
    use beamline_wire::{
        ControlRequest, Delta, Pid, ProcessKind, ProcessSample, Snapshot, SystemSample,
    };
    use std::collections::VecDeque;

    /// Yields its events, then ends.
    struct Scripted(VecDeque<SourceEvent>);

    impl Source for Scripted {
        async fn next(&mut self) -> Option<SourceEvent> {
            self.0.pop_front()
        }
        fn missed(&self) -> u64 {
            0
        }
        fn control(&self, _: ControlRequest) -> ControlFuture {
            crate::source::event::unsupported("scripted")
        }
        fn describe(&self) -> String {
            "scripted".into()
        }
    }

    fn tick(seq: u64, len: u64) -> Delta {
        let mut p = ProcessSample::new(Pid(1), ProcessKind::Server, "T");
        p.mailbox_len = len;
        Delta {
            seq,
            at_ms: seq * 1000,
            interval_ms: 1000,
            system: SystemSample::default(),
            changed: vec![p],
            removed: vec![],
        }
    }

    #[tokio::test]
    async fn a_stream_that_ends_before_its_snapshot_writes_nothing() {
        let src = Scripted(VecDeque::from([SourceEvent::Msg(ServerMsg::History(
            tick(2, 1),
        ))]));
        let path = std::env::temp_dir().join(format!("beamline-nodump-{}", std::process::id()));
        let err = dump(src, &path).await.unwrap_err();
        assert!(err.contains("ended before a snapshot"), "{err}");
        assert!(!path.exists());
    }

    /// The dump replays as the runtime lived it: the past ticks as samples, then the snapshot.
    #[tokio::test]
    async fn a_dump_replays_the_history_then_the_snapshot() {
        let mut events = VecDeque::from([SourceEvent::Conn(ConnState::Connected)]);
        for seq in [2, 3, 5, 8] {
            events.push_back(SourceEvent::Msg(ServerMsg::History(tick(seq, seq * 100))));
        }
        events.push_back(SourceEvent::Msg(ServerMsg::Snapshot(Snapshot {
            seq: 9,
            at_ms: 9000,
            interval_ms: 1000,
            system: SystemSample::default(),
            processes: vec![],
        })));
        let src = Scripted(events);
        let dir = std::env::temp_dir().join(format!("beamline-dump-{}", std::process::id()));
        let path = dir.with_extension("rec");
        let done = dump(src, &path).await.unwrap();
        assert_eq!(
            done,
            Dumped {
                past_ticks: 4,
                span_ms: 7000
            }
        );
        let rec = beamline_wire::record::read(std::fs::File::open(&path).unwrap()).unwrap();
        let _ = std::fs::remove_file(&path);
        let mut table = beamline_wire::ProcessTable::default();
        let mut lens = Vec::new();
        for e in &rec.entries {
            match &e.msg {
                ServerMsg::Snapshot(s) => table.apply_snapshot(s),
                ServerMsg::Delta(d) => table.apply_delta(d).unwrap(),
                other => panic!("{other:?}"),
            }
            lens.push((e.offset_ms, table.get(Pid(1)).map(|p| p.mailbox_len)));
        }
        assert_eq!(
            lens,
            [
                (0, Some(200)),
                (1000, Some(300)),
                (3000, Some(500)),
                (6000, Some(800)),
                (7000, None)
            ]
        );
    }
}
