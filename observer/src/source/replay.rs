//! Replay a recording at the pace it was recorded, with pause, step and seek.
//!
//! Seeking backwards cannot undo deltas, so it restarts from the last full snapshot before the
//! target and tells the model to forget what it saw ([`SourceEvent::Reset`]).

use super::event::{ConnState, ControlFuture, Playback, Source, SourceEvent, unsupported};
use beamline_wire::ServerMsg;
use beamline_wire::record::{self, RecordEntry, RecordError};
use std::collections::VecDeque;
use std::path::Path;
use tokio::time::{Duration, Instant};

/// A recording being played back.
pub struct ReplaySource {
    label: String,
    entries: Vec<RecordEntry>,
    /// Index of the next entry to deliver.
    next: usize,
    /// Recording time 0 corresponds to this instant while playing.
    base: Instant,
    /// Recording time where playback stopped, while paused.
    paused_at: Option<u64>,
    /// A step was asked for while paused.
    step: bool,
    /// Events to hand out before reading further (a seek's catch-up burst).
    queued: VecDeque<SourceEvent>,
    ended: bool,
}

impl ReplaySource {
    /// Load a whole recording file.
    pub fn open(path: &Path) -> Result<Self, RecordError> {
        let file = std::fs::File::open(path)?;
        let entries = record::read_all(std::io::BufReader::new(file))?;
        let label = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string());
        Ok(Self::from_entries(format!("replay {label}"), entries))
    }

    /// Play entries already in memory (tests, and files read elsewhere).
    pub fn from_entries(label: String, entries: Vec<RecordEntry>) -> Self {
        let mut queued = VecDeque::new();
        queued.push_back(SourceEvent::Conn(ConnState::Connected));
        ReplaySource {
            label,
            entries,
            next: 0,
            base: Instant::now(),
            paused_at: None,
            step: false,
            queued,
            ended: false,
        }
    }

    /// Recording time of the playback position now.
    pub fn position_ms(&self) -> u64 {
        match self.paused_at {
            Some(p) => p,
            None => Instant::now()
                .saturating_duration_since(self.base)
                .as_millis() as u64,
        }
    }

    /// Total length of the recording in milliseconds.
    pub fn length_ms(&self) -> u64 {
        self.entries.last().map_or(0, |e| e.offset_ms)
    }

    fn seek_to(&mut self, target: u64) {
        let target = target.min(self.length_ms());
        let delivered_to = self
            .next
            .checked_sub(1)
            .map_or(0, |i| self.entries[i].offset_ms);
        let end = self.entries.partition_point(|e| e.offset_ms <= target);
        let start = if target < delivered_to || self.next == 0 {
            // Back to the last full snapshot at or before the target, with the handshake that
            // preceded it so the incarnation is known.
            let snap = self.entries[..end]
                .iter()
                .rposition(|e| matches!(e.msg, ServerMsg::Snapshot(_)))
                .unwrap_or(0);
            self.queued.push_back(SourceEvent::Reset);
            if let Some(w) = self.entries[..snap]
                .iter()
                .rposition(|e| matches!(e.msg, ServerMsg::Welcome(_)))
            {
                self.queued
                    .push_back(SourceEvent::Msg(self.entries[w].msg.clone()));
            }
            snap
        } else {
            self.next
        };
        for e in &self.entries[start..end.max(start)] {
            self.queued.push_back(SourceEvent::Msg(e.msg.clone()));
        }
        self.next = end.max(start);
        self.ended = false;
        match self.paused_at {
            Some(_) => self.paused_at = Some(target),
            None => self.base = Instant::now() - Duration::from_millis(target),
        }
    }
}

impl Source for ReplaySource {
    async fn next(&mut self) -> Option<SourceEvent> {
        if let Some(ev) = self.queued.pop_front() {
            return Some(ev);
        }
        if self.next >= self.entries.len() {
            if self.ended {
                return None;
            }
            self.ended = true;
            return Some(SourceEvent::Conn(ConnState::Ended));
        }
        let entry = &self.entries[self.next];
        if self.paused_at.is_some() {
            if !self.step {
                std::future::pending::<()>().await;
            }
            self.step = false;
            self.paused_at = Some(entry.offset_ms);
        } else {
            tokio::time::sleep_until(self.base + Duration::from_millis(entry.offset_ms)).await;
        }
        self.next += 1;
        Some(SourceEvent::Msg(entry.msg.clone()))
    }

    fn missed(&self) -> u64 {
        0
    }

    fn control(&self, _request: beamline_wire::ControlRequest) -> ControlFuture {
        unsupported("a replay cannot act on the runtime")
    }

    fn playback(&mut self, command: Playback) -> bool {
        match command {
            Playback::Pause => {
                if self.paused_at.is_none() {
                    self.paused_at = Some(self.position_ms());
                }
            }
            Playback::Resume => {
                if let Some(p) = self.paused_at.take() {
                    self.base = Instant::now() - Duration::from_millis(p);
                }
            }
            Playback::Step => self.step = self.paused_at.is_some(),
            Playback::Seek(delta) => {
                let target = self.position_ms().saturating_add_signed(delta);
                self.seek_to(target);
            }
        }
        true
    }

    fn describe(&self) -> String {
        self.label.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use beamline_wire::{Delta, Snapshot, SystemSample};

    fn snap(seq: u64) -> ServerMsg {
        ServerMsg::Snapshot(Snapshot {
            seq,
            at_ms: seq * 1000,
            interval_ms: 1000,
            system: SystemSample::default(),
            processes: vec![],
        })
    }

    fn delta(seq: u64) -> ServerMsg {
        ServerMsg::Delta(Delta {
            seq,
            at_ms: seq * 1000,
            interval_ms: 1000,
            system: SystemSample::default(),
            changed: vec![],
            removed: vec![],
        })
    }

    fn entries() -> Vec<RecordEntry> {
        let msgs = [snap(0), delta(1), delta(2), snap(3), delta(4)];
        msgs.into_iter()
            .enumerate()
            .map(|(i, msg)| RecordEntry {
                offset_ms: i as u64 * 1000,
                msg,
            })
            .collect()
    }

    fn seq(ev: Option<SourceEvent>) -> u64 {
        match ev {
            Some(SourceEvent::Msg(ServerMsg::Snapshot(s))) => s.seq,
            Some(SourceEvent::Msg(ServerMsg::Delta(d))) => d.seq,
            other => panic!("expected a sample, got {other:?}"),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn plays_at_recorded_pace() {
        let mut r = ReplaySource::from_entries("t".into(), entries());
        let start = Instant::now();
        assert_eq!(
            r.next().await,
            Some(SourceEvent::Conn(ConnState::Connected))
        );
        assert_eq!(seq(r.next().await), 0);
        assert_eq!(seq(r.next().await), 1);
        assert_eq!(Instant::now() - start, Duration::from_millis(1000));
        for want in 2..=4 {
            assert_eq!(seq(r.next().await), want);
        }
        assert_eq!(r.next().await, Some(SourceEvent::Conn(ConnState::Ended)));
        assert_eq!(r.next().await, None);
    }

    #[tokio::test(start_paused = true)]
    async fn pause_blocks_and_step_delivers_one() {
        let mut r = ReplaySource::from_entries("t".into(), entries());
        r.next().await;
        assert_eq!(seq(r.next().await), 0);
        r.playback(Playback::Pause);
        let blocked = tokio::time::timeout(Duration::from_secs(60), r.next()).await;
        assert!(blocked.is_err(), "paused replay delivered a message");
        r.playback(Playback::Step);
        assert_eq!(seq(r.next().await), 1);
        r.playback(Playback::Resume);
        let before = Instant::now();
        assert_eq!(seq(r.next().await), 2);
        assert_eq!(Instant::now() - before, Duration::from_millis(1000));
    }

    #[tokio::test(start_paused = true)]
    async fn seeking_back_resets_to_the_previous_snapshot() {
        let mut r = ReplaySource::from_entries("t".into(), entries());
        r.next().await;
        for _ in 0..5 {
            r.next().await;
        }
        // At 4000 ms; back 2500 ms lands at 1500: the snapshot at 0 then delta 1.
        r.playback(Playback::Seek(-2500));
        assert_eq!(r.next().await, Some(SourceEvent::Reset));
        assert_eq!(seq(r.next().await), 0);
        assert_eq!(seq(r.next().await), 1);
        let before = Instant::now();
        assert_eq!(seq(r.next().await), 2);
        assert_eq!(Instant::now() - before, Duration::from_millis(500));
    }
}
