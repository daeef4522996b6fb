//! The collector's state: what the sample stream of `Runtime::observe()` said, folded into
//! aggregates by behaviour and slot, plus the few processes with series of their own.
//!
//! Counters never go back: each process's totals are remembered (a few words per process) and
//! only the growth since its previous sample is added to its behaviour, so a process's
//! messages stay counted after it exits. Gauges (processes by status, mailbox sum and max) are
//! computed at scrape time from the same per-process state.

use super::config::{MetricsConfig, PerProcess};
use super::histogram::Weighted;
use super::labels::{Labels, OTHER};
use super::slots::Slots;
use beamline_wire::{Pid, ProcessSample, ServerMsg, Status, SystemSample};
use std::collections::HashMap;

/// The `status` label values of live processes, in [`Status::as_str`] spelling.
pub(crate) const STATUSES: [&str; 8] = [
    "starting",
    "idle",
    "handling_call",
    "handling_cast",
    "handling_info",
    "waiting",
    "hibernating",
    "terminating",
];

/// The `kind` label values of handled messages. `unknown` is used only when a process's
/// messages cannot be attributed (its first sample after the collector lost updates, if its
/// last interval was idle).
pub(crate) const KINDS: [&str; 4] = ["call", "cast", "info", "unknown"];

/// The `family` label values of `beamline_metrics_capped_total`.
pub(crate) const CAPPED: [&str; 3] = ["process", "behaviour", "slot"];

/// Counters of one behaviour.
#[derive(Debug, Default)]
pub(crate) struct Group {
    pub handled: [u64; 4],
    pub dropped: u64,
    pub handle: Weighted,
    pub wait: Weighted,
}

/// What is remembered of one live process.
#[derive(Debug)]
pub(crate) struct Proc {
    pub behaviour: u32,
    pub status: u8,
    pub mailbox: u64,
    handled: u64,
    dropped: u64,
    slot: Option<u32>,
    escalated: bool,
    /// Set by every sample; a resynchronising snapshot drops the processes it did not mark.
    generation: u32,
}

/// A process with series of its own.
#[derive(Debug)]
pub(crate) struct Series {
    pub process: String,
    pub behaviour: u32,
    pub mailbox: u64,
    pub handled: u64,
    pub busy: f64,
}

/// Everything the exposition reads.
#[derive(Debug)]
pub(crate) struct Tracker {
    per_process: PerProcess,
    per_process_cap: usize,
    pub behaviours: Labels<String>,
    pub groups: Vec<Group>,
    pub slots: Slots,
    pub procs: HashMap<Pid, Proc>,
    pub series: HashMap<Pid, Series>,
    /// Label values or processes cut off by a cap, by [`CAPPED`] family.
    pub capped: [u64; 3],
    pub system: SystemSample,
    pub interval_ms: u64,
    /// Sum of the sampler's reported cost per tick, seconds.
    pub sampler_seconds: f64,
    /// Time spent folding samples in here, seconds: the collector's own cost.
    pub collect_seconds: f64,
    /// Ticks lost because the collector fell behind (each followed by a fresh snapshot).
    pub missed_ticks: u64,
    /// Ticks folded in.
    pub ticks: u64,
    generation: u32,
    /// `at_ms` of the tick being received, and whether it carries a snapshot (a resync: no
    /// histogram observations, since its rates do not cover the gap).
    tick_at: Option<u64>,
    resync: bool,
}

impl Tracker {
    pub(crate) fn new(config: &MetricsConfig) -> Self {
        Tracker {
            per_process: config.per_process.clone(),
            per_process_cap: config.per_process_cap,
            behaviours: Labels::new(config.max_behaviours),
            groups: Vec::new(),
            slots: Slots::new(config.max_slots),
            procs: HashMap::new(),
            series: HashMap::new(),
            capped: [0; 3],
            system: SystemSample::default(),
            interval_ms: 0,
            sampler_seconds: 0.0,
            collect_seconds: 0.0,
            missed_ticks: 0,
            ticks: 0,
            generation: 0,
            tick_at: None,
            resync: false,
        }
    }

    /// Fold in one message of the stream.
    pub(crate) fn apply(&mut self, msg: &ServerMsg) {
        match msg {
            ServerMsg::Snapshot(s) => {
                self.start_tick(s.at_ms, true, &s.system, s.interval_ms);
                s.processes.iter().for_each(|p| self.sample(p));
            }
            ServerMsg::Delta(d) => {
                self.start_tick(d.at_ms, false, &d.system, d.interval_ms);
                // Removals first, so a process spawned in the same tick finds their room.
                d.removed.iter().for_each(|&pid| self.gone(pid));
                d.changed.iter().for_each(|p| self.sample(p));
            }
            _ => {}
        }
    }

    /// A message of a new tick (or another frame of the current one).
    fn start_tick(&mut self, at_ms: u64, snapshot: bool, system: &SystemSample, interval: u64) {
        if self.tick_at != Some(at_ms) {
            self.end_resync();
            self.tick_at = Some(at_ms);
            self.ticks += 1;
            self.sampler_seconds += system.sample_cost_us as f64 / 1e6;
        }
        if snapshot {
            self.resync = true;
            self.generation = self.generation.wrapping_add(1);
        }
        self.system = system.clone();
        self.interval_ms = interval;
    }

    /// After a snapshot's tick: processes it did not list exited unseen.
    fn end_resync(&mut self) {
        if !std::mem::take(&mut self.resync) {
            return;
        }
        let generation = self.generation;
        let stale: Vec<Pid> = self
            .procs
            .iter()
            .filter(|(_, p)| p.generation != generation)
            .map(|(&pid, _)| pid)
            .collect();
        stale.into_iter().for_each(|pid| self.gone(pid));
    }

    /// One process's sample.
    fn sample(&mut self, s: &ProcessSample) {
        let (old_handled, old_dropped) = match self.procs.get(&s.id) {
            Some(p) => (p.handled, p.dropped),
            None => {
                self.first_seen(s);
                (0, 0)
            }
        };
        let Some(p) = self.procs.get_mut(&s.id) else {
            return;
        };
        p.generation = self.generation;
        let handled = s.handled.saturating_sub(old_handled);
        let dropped = s.dropped.saturating_sub(old_dropped);
        (p.handled, p.dropped, p.mailbox) = (s.handled, s.dropped, s.mailbox_len);
        p.status = status_index(&s.status);
        let (behaviour, slot, escalated) = (p.behaviour, p.slot, p.escalated);
        let g = &mut self.groups[behaviour as usize];
        for (k, n) in split_by_kind(handled, [s.call_per_s, s.cast_per_s, s.info_per_s])
            .into_iter()
            .enumerate()
        {
            g.handled[k] += n;
        }
        g.dropped += dropped;
        if !self.resync && handled > 0 {
            if s.mean_handle_us > 0.0 {
                g.handle.observe_n(s.mean_handle_us / 1e6, handled);
            }
            if s.mean_wait_us > 0.0 {
                g.wait.observe_n(s.mean_wait_us / 1e6, handled);
            }
        }
        if let Some(slot) = slot {
            self.slots.restarts_seen(s, slot);
        }
        if !escalated && Slots::gave_up(s) {
            if let Some(p) = self.procs.get_mut(&s.id) {
                p.escalated = true;
            }
            self.slots.escalated(s.id);
        }
        if let Some(series) = self.series.get_mut(&s.id) {
            (series.mailbox, series.handled, series.busy) = (s.mailbox_len, s.handled, s.busy);
        }
        if matches!(s.status, Status::Exited { .. }) {
            self.gone(s.id);
        }
    }

    /// A process not seen before: its labels, and its own series if it asks and there is room.
    fn first_seen(&mut self, s: &ProcessSample) {
        let b = self.behaviours.intern(&s.behaviour, || OTHER.to_string());
        if b.capped {
            self.capped[1] += 1;
        }
        if self.groups.len() < self.behaviours.len() {
            self.groups
                .resize_with(self.behaviours.len(), Group::default);
        }
        let (slot, capped) = self.slots.first_seen(s);
        if capped {
            self.capped[2] += 1;
        }
        if self.per_process.wants(s) {
            if self.series.len() < self.per_process_cap {
                let series = Series {
                    process: s.label(),
                    behaviour: b.idx,
                    mailbox: 0,
                    handled: 0,
                    busy: 0.0,
                };
                self.series.insert(s.id, series);
            } else {
                self.capped[0] += 1;
            }
        }
        let p = Proc {
            behaviour: b.idx,
            status: 0,
            mailbox: 0,
            handled: 0,
            dropped: 0,
            slot: slot.map(|s| s.idx),
            escalated: false,
            generation: self.generation,
        };
        self.procs.insert(s.id, p);
    }

    /// Process `pid` exited (its last sample already counted) or is no longer reported.
    fn gone(&mut self, pid: Pid) {
        self.procs.remove(&pid);
        self.series.remove(&pid);
        self.slots.gone(pid);
    }
}

/// The index in [`STATUSES`] of a live process's status (exited ones are not counted).
fn status_index(s: &Status) -> u8 {
    let name = s.as_str();
    STATUSES.iter().position(|&x| x == name).unwrap_or(0) as u8
}

/// Split `n` handled messages between call, cast and info in proportion to the interval's
/// rates, exactly (largest remainder), so that the kinds add up to `n`. Rates all zero (the
/// process's messages predate the interval) put them under `unknown`.
pub(crate) fn split_by_kind(n: u64, rates: [f64; 3]) -> [u64; 4] {
    let total: f64 = rates.iter().filter(|r| r.is_finite() && **r > 0.0).sum();
    if n == 0 {
        return [0; 4];
    }
    if total <= 0.0 {
        return [0, 0, 0, n];
    }
    let mut out = [0u64; 4];
    let mut rest = [0f64; 3];
    for i in 0..3 {
        let r = if rates[i].is_finite() {
            rates[i].max(0.0)
        } else {
            0.0
        };
        let share = n as f64 * r / total;
        out[i] = share.floor() as u64;
        rest[i] = share - share.floor();
    }
    // Three fractions below 1 that add up to a whole number: at most 2 left to hand out.
    let left = n.saturating_sub(out[..3].iter().sum()) as usize;
    let mut order = [0, 1, 2];
    order.sort_by(|&a, &b| rest[b].total_cmp(&rest[a]));
    for i in order.into_iter().cycle().take(left) {
        out[i] += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_by_kind_is_exact_and_proportional() {
        assert_eq!(split_by_kind(10, [10.0, 0.0, 0.0]), [10, 0, 0, 0]);
        assert_eq!(split_by_kind(10, [1.0, 1.0, 0.0]), [5, 5, 0, 0]);
        let s = split_by_kind(10, [1.0, 1.0, 1.0]);
        assert_eq!(s.iter().sum::<u64>(), 10);
        assert!(s[..3].iter().all(|&k| (3..=4).contains(&k)));
        assert_eq!(split_by_kind(7, [0.0, 0.0, 0.0]), [0, 0, 0, 7]);
        assert_eq!(split_by_kind(0, [1.0, 0.0, 0.0]), [0; 4]);
        assert_eq!(split_by_kind(3, [f64::NAN, 2.0, 0.0]), [0, 3, 0, 0]);
    }
}
