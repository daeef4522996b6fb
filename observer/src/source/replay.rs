//! Replay a recording: at 1x, 4x, 16x or as fast as possible, with pause, step and seek
//! anywhere (also back from the end).
//!
//! Seeking backwards cannot undo deltas, so it restarts from the last full snapshot before the
//! target and tells the model to forget what it saw ([`SourceEvent::Reset`]). A damaged file
//! plays up to the damage, after telling [`Trouble::Damaged`] first.

use super::event::{ConnState, ControlFuture, Playback, Source, SourceEvent, Trouble, unsupported};
use beamline_wire::ServerMsg;
use beamline_wire::record::{self, Damage, RecordEntry, RecordError};
use std::collections::VecDeque;
use std::fmt;
use std::path::Path;
use std::str::FromStr;
use tokio::time::{Duration, Instant};

/// How fast a replay plays, relative to the recorded pace.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Speed {
    /// The recorded pace.
    #[default]
    X1,
    /// Four times as fast.
    X4,
    /// Sixteen times as fast.
    X16,
    /// No waiting at all: as fast as the observer takes entries.
    Max,
}

impl Speed {
    const ALL: [Speed; 4] = [Speed::X1, Speed::X4, Speed::X16, Speed::Max];

    /// Recording milliseconds per real millisecond; `None` for [`Speed::Max`].
    pub fn factor(self) -> Option<u64> {
        match self {
            Speed::X1 => Some(1),
            Speed::X4 => Some(4),
            Speed::X16 => Some(16),
            Speed::Max => None,
        }
    }

    /// The next faster speed, or this one at the top.
    pub fn faster(self) -> Speed {
        let i = Self::ALL.iter().position(|s| *s == self).unwrap_or(0);
        Self::ALL[(i + 1).min(Self::ALL.len() - 1)]
    }

    /// The next slower speed, or this one at the bottom.
    pub fn slower(self) -> Speed {
        let i = Self::ALL.iter().position(|s| *s == self).unwrap_or(0);
        Self::ALL[i.saturating_sub(1)]
    }
}

impl fmt::Display for Speed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.factor() {
            Some(n) => write!(f, "{n}x"),
            None => f.write_str("max"),
        }
    }
}

impl FromStr for Speed {
    type Err = String;

    /// `1`, `4`, `16` (an `x` after the number is allowed) or `max`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "max" {
            return Ok(Speed::Max);
        }
        match s.strip_suffix(['x', 'X']).unwrap_or(s) {
            "1" => Ok(Speed::X1),
            "4" => Ok(Speed::X4),
            "16" => Ok(Speed::X16),
            _ => Err(format!("{s:?} is not a speed: 1, 4, 16 or max")),
        }
    }
}

/// Where playback is in recording time: `at_ms` at the instant `anchor`, moving at `speed`
/// unless paused.
#[derive(Clone, Debug)]
struct Clock {
    at_ms: u64,
    anchor: Instant,
    speed: Speed,
    paused: bool,
}

impl Clock {
    fn now_ms(&self) -> u64 {
        match (self.paused, self.speed.factor()) {
            (false, Some(f)) => {
                let real = Instant::now().saturating_duration_since(self.anchor);
                self.at_ms + real.as_millis() as u64 * f
            }
            _ => self.at_ms,
        }
    }

    /// Move to `ms` now, keeping speed and pause.
    fn set(&mut self, ms: u64) {
        self.at_ms = ms;
        self.anchor = Instant::now();
    }

    /// When an entry at `offset_ms` is due; `None`: now.
    fn due(&self, offset_ms: u64) -> Option<Instant> {
        let f = self.speed.factor()?;
        let ahead = offset_ms.checked_sub(self.at_ms).filter(|a| *a > 0)?;
        Some(self.anchor + Duration::from_millis(ahead.div_ceil(f)))
    }
}

/// A recording being played back.
pub struct ReplaySource {
    label: String,
    entries: Vec<RecordEntry>,
    /// Index of the next entry to deliver.
    next: usize,
    clock: Clock,
    /// A step was asked for while paused.
    step: bool,
    /// Events to hand out before reading further (a seek's catch-up burst).
    queued: VecDeque<SourceEvent>,
    /// `Ended` was told; the source waits for a seek.
    ended: bool,
    damage: Option<Damage>,
}

impl ReplaySource {
    /// Load a recording file: every entry up to the first damage, if any (see
    /// [`ReplaySource::damage`]).
    pub fn open(path: &Path) -> Result<Self, RecordError> {
        let file = std::fs::File::open(path)?;
        let rec = record::read(std::io::BufReader::new(file))?;
        let label = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string());
        let mut src = Self::from_entries(format!("replay {label}"), rec.entries);
        if let Some(d) = rec.damage {
            src.queued
                .push_back(SourceEvent::Trouble(Trouble::Damaged(d.to_string())));
            src.damage = Some(d);
        }
        Ok(src)
    }

    /// Play entries already in memory (tests, and files read elsewhere).
    pub fn from_entries(label: String, entries: Vec<RecordEntry>) -> Self {
        let mut queued = VecDeque::new();
        queued.push_back(SourceEvent::Conn(ConnState::Connected));
        ReplaySource {
            label,
            entries,
            next: 0,
            clock: Clock {
                at_ms: 0,
                anchor: Instant::now(),
                speed: Speed::X1,
                paused: false,
            },
            step: false,
            queued,
            ended: false,
            damage: None,
        }
    }

    /// Where the file is damaged, if it is: playback stops there.
    pub fn damage(&self) -> Option<&Damage> {
        self.damage.as_ref()
    }

    /// Play at `speed` from now on.
    pub fn set_speed(&mut self, speed: Speed) {
        self.clock.set(self.position_ms());
        self.clock.speed = speed;
    }

    /// The speed it plays at.
    pub fn speed(&self) -> Speed {
        self.clock.speed
    }

    /// Recording time of the playback position now (at most the recording's length).
    pub fn position_ms(&self) -> u64 {
        self.clock.now_ms().min(self.length_ms())
    }

    /// Total length of the recording in milliseconds.
    pub fn length_ms(&self) -> u64 {
        self.entries.last().map_or(0, |e| e.offset_ms)
    }

    fn seek_to(&mut self, target: u64) {
        let target = target.min(self.length_ms());
        if self.ended {
            self.ended = false;
            self.queued
                .push_back(SourceEvent::Conn(ConnState::Connected));
        }
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
            let welcome = self.entries[..snap]
                .iter()
                .rposition(|e| matches!(e.msg, ServerMsg::Welcome(_)));
            if let Some(w) = welcome {
                self.queued
                    .push_back(SourceEvent::Msg(self.entries[w].msg.clone()));
            }
            // And the type names that connection sent before the snapshot: its samples' hot
            // types are numbered by them.
            let names = self.entries[welcome.map_or(0, |w| w + 1)..snap]
                .iter()
                .filter(|e| matches!(e.msg, ServerMsg::TypeNames(_)));
            for e in names {
                self.queued.push_back(SourceEvent::Msg(e.msg.clone()));
            }
            snap
        } else {
            self.next
        };
        for e in &self.entries[start..end.max(start)] {
            self.queued.push_back(SourceEvent::Msg(e.msg.clone()));
        }
        self.next = end.max(start);
        self.clock.set(target);
    }
}

impl Source for ReplaySource {
    /// Cancel safety: nothing changes before the only awaits (a sleep, or waiting while paused
    /// or at the end), so a dropped call loses nothing.
    async fn next(&mut self) -> Option<SourceEvent> {
        if let Some(ev) = self.queued.pop_front() {
            return Some(ev);
        }
        if self.next >= self.entries.len() {
            if !self.ended {
                self.ended = true;
                self.clock.set(self.length_ms());
                return Some(SourceEvent::Conn(ConnState::Ended));
            }
            // Until a seek queues something; the loops poll again after every command.
            std::future::pending::<()>().await;
        }
        let offset = self.entries[self.next].offset_ms;
        if self.clock.paused {
            if !self.step {
                std::future::pending::<()>().await;
            }
            self.step = false;
            self.clock.set(offset);
        } else if let Some(when) = self.clock.due(offset) {
            tokio::time::sleep_until(when).await;
        } else if self.clock.speed == Speed::Max {
            self.clock.set(offset);
        }
        self.next += 1;
        Some(SourceEvent::Msg(self.entries[self.next - 1].msg.clone()))
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
                if !self.clock.paused {
                    self.clock.set(self.position_ms());
                    self.clock.paused = true;
                }
            }
            Playback::Resume => {
                if self.clock.paused {
                    self.clock.set(self.clock.at_ms);
                    self.clock.paused = false;
                }
            }
            Playback::Step => self.step = self.clock.paused,
            Playback::Seek(delta) => self.seek_to(self.position_ms().saturating_add_signed(delta)),
            Playback::Faster => self.set_speed(self.speed().faster()),
            Playback::Slower => self.set_speed(self.speed().slower()),
        }
        true
    }

    fn describe(&self) -> String {
        match self.clock.speed {
            Speed::X1 => self.label.clone(),
            s => format!("{} at {s}", self.label),
        }
    }
}

#[cfg(test)]
mod tests;
