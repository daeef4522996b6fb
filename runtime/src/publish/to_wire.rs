//! From a process's counters to its wire [`ProcessSample`]: a cheap [`Reading`] of the atomics
//! (enough to tell whether anything moved), then, only for processes that changed, the full
//! sample with rates over the interval.
//!
//! The counter rules themselves (mailbox length, peak, dropped) live in `stats.rs`, shared with
//! [`crate::ProcessInfo`]; this file adds the caps that keep one sample small: links and monitors
//! cut at [`MAX_LIST`] entries, exit reasons at [`MAX_TEXT`] bytes.

use super::frames::Rates;
use crate::process::ProcessCell;
use crate::stats::StatusCode;
use beamline_wire::{MsgKind, Pid, ProcessSample, Status, SupervisorInfo, TaskMetrics};
use std::sync::atomic::Ordering::Relaxed;
use tokio_metrics::TaskMonitor;

/// Links and monitors listed per sample, at most.
pub const MAX_LIST: usize = 1024;
/// Exit reasons in a sample's history are cut to this many bytes.
pub const MAX_TEXT: usize = 256;

/// The counters rates are computed from.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Base {
    received: u64,
    sent: u64,
    call: u64,
    cast: u64,
    info: u64,
    busy_ns: u64,
    wait_ns: u64,
    wait_n: u64,
    polls: u64,
    poll_ns: u64,
    scheduled: u64,
    scheduled_ns: u64,
    slow_polls: u64,
}

impl Base {
    /// Messages handled between `old` and `self`.
    pub(crate) fn handled_since(&self, old: &Base) -> u64 {
        (self.call + self.cast + self.info).saturating_sub(old.call + old.cast + old.info)
    }
}

/// One reading of a process's counters.
pub(crate) struct Reading {
    pub base: Base,
    /// Hash of everything else a sample shows; equal hash and base means an unchanged sample.
    pub sig: u64,
    len: u64,
    peak: u64,
    pub max_handle_ns: u64,
}

/// A small mixing hash (FNV-1a over words): enough to tell "same as last tick".
struct Sig(u64);

impl Sig {
    fn new() -> Self {
        Sig(0xcbf2_9ce4_8422_2325)
    }
    fn add(&mut self, v: u64) {
        self.0 = (self.0 ^ v).wrapping_mul(0x0000_0100_0000_01b3);
    }
}

/// Read one process's counters and start its next interval: the mailbox peak and the longest
/// handle time restart from zero (so the sampler is the only caller).
pub(crate) fn take_reading(cell: &ProcessCell, now: u64, monitor: Option<&TaskMonitor>) -> Reading {
    read(cell, now, monitor, true)
}

/// Read one process's counters; `take` starts its next interval (see [`take_reading`]).
fn read(cell: &ProcessCell, now: u64, monitor: Option<&TaskMonitor>, take: bool) -> Reading {
    let s = &cell.stats;
    let len = s.mailbox_len();
    let (peak, max_handle_ns) = if take {
        (s.take_peak(len), s.take_max_handle_ns())
    } else {
        (s.peak(len), s.max_handle_ns.load(Relaxed))
    };
    let mut base = Base {
        received: s.enqueued.load(Relaxed),
        sent: s.sent.load(Relaxed),
        call: s.handled_call.load(Relaxed),
        cast: s.handled_cast.load(Relaxed),
        info: s.handled_info.load(Relaxed),
        busy_ns: s.busy_at(now),
        wait_ns: s.wait_ns.load(Relaxed),
        wait_n: s.wait_samples.load(Relaxed),
        ..Base::default()
    };
    if let Some(m) = monitor {
        let t = m.cumulative();
        base.polls = t.total_poll_count;
        base.poll_ns = t.total_poll_duration.as_nanos() as u64;
        base.scheduled = t.total_scheduled_count;
        base.scheduled_ns = t.total_scheduled_duration.as_nanos() as u64;
        base.slow_polls = t.total_slow_poll_count;
    }
    Reading {
        base,
        sig: signature(cell, len, peak),
        len,
        peak,
        max_handle_ns,
    }
}

/// The sample of a process whose sample the sampler deferred (see `frames.rs`), read now
/// without starting a new interval: everything as it is now, with zero rates, or with rates
/// over its life so far.
pub(crate) fn deferred_sample(
    cell: &ProcessCell,
    now: u64,
    monitor: Option<&TaskMonitor>,
    rates: Rates,
) -> ProcessSample {
    let mut r = read(cell, now, monitor, false);
    match rates {
        Rates::Zero => {
            r.max_handle_ns = 0;
            let base = r.base;
            sample(cell, &r, &base, 1_000_000_000)
        }
        Rates::Lifetime => {
            let dt_ns = now.saturating_sub(cell.meta.spawned_ns).max(1_000_000);
            sample(cell, &r, &Base::default(), dt_ns)
        }
    }
}

/// A generous estimate of the encoded size of a process's sample, for splitting frames
/// without building it (as `frames::approx_size` does for a built one).
pub(crate) fn approx_size(cell: &ProcessCell) -> usize {
    let meta = &cell.meta;
    let (links, monitors) = {
        let rel = cell.relations();
        (
            rel.links.len().min(MAX_LIST),
            rel.monitors.len().min(MAX_LIST),
        )
    };
    let exits = meta.slot().map_or(0, |slot| {
        let exits = slot.exits.lock().unwrap_or_else(|p| p.into_inner());
        exits.iter().map(|e| e.len().min(MAX_TEXT + 4) + 2).sum()
    });
    let exit_reason = if cell.has_exited() { MAX_TEXT + 4 } else { 0 };
    256 + meta.behaviour().len()
        + meta.name().map_or(0, |n| match n {
            crate::registry::Name::Global(n) => n.len(),
            crate::registry::Name::Via { registry, key } => registry.len() + key.len() + 1,
        })
        + meta.child_id().map_or(0, |c| c.len())
        + exits
        + exit_reason
        + 10 * (links + monitors)
}

/// The hash of what a sample shows besides the rate counters.
fn signature(cell: &ProcessCell, len: u64, peak: u64) -> u64 {
    let s = &cell.stats;
    let mut sig = Sig::new();
    sig.add(s.status.load(Relaxed) as u64);
    sig.add(s.status_since_ns.load(Relaxed) / 1_000_000);
    sig.add(s.waiting_on.load(Relaxed));
    sig.add(s.dequeued.load(Relaxed));
    sig.add(s.dropped_all());
    sig.add(s.state_bytes.load(Relaxed));
    sig.add(s.state_deep.load(Relaxed) as u64);
    sig.add(s.hibernations.load(Relaxed));
    sig.add(s.self_calls_refused.load(Relaxed));
    sig.add(cell.trap_exit.load(Relaxed) as u64);
    sig.add(len);
    sig.add(peak);
    if let Some(slot) = cell.meta.slot() {
        sig.add(slot.restarts.load(Relaxed) as u64);
    }
    if let Some(sup) = &cell.supervisor {
        sig.add(sup.restarts_in_window.load(Relaxed) as u64);
        sig.add(sup.children.load(Relaxed) as u64);
        sig.add(sup.restarting.load(Relaxed) as u64);
        sig.add(sup.max_restarts.load(Relaxed) as u64);
        sig.add(sup.period_ms.load(Relaxed));
        sig.add(sup.strategy.get().map_or(0, |s| s.len() as u64));
    }
    {
        let rel = cell.relations();
        sig.add(rel.links.len() as u64);
        sig.add(rel.monitors.len() as u64);
        for c in &rel.links {
            sig.add(c.pid.0);
        }
        for (_, c) in &rel.monitors {
            sig.add(c.pid.0);
        }
    }
    sig.add(cell.has_exited() as u64);
    sig.add(crate::key_registry::shown::signature(&cell.keys));
    sig.0
}

/// Build the full sample of one process from a reading and the previous base.
pub(crate) fn sample(cell: &ProcessCell, r: &Reading, old: &Base, dt_ns: u64) -> ProcessSample {
    let meta = &cell.meta;
    let s = &cell.stats;
    let dt_s = dt_ns as f64 / 1e9;
    let d = |new: u64, old: u64| new.saturating_sub(old);
    let per_s = |new: u64, old: u64| d(new, old) as f64 / dt_s;
    let b = &r.base;
    let busy_ns = d(b.busy_ns, old.busy_ns);
    let (links, monitors) = relations(cell);
    let exit_history = meta.slot().map_or_else(Vec::new, |slot| {
        let exits = slot.exits.lock().unwrap_or_else(|p| p.into_inner());
        exits.iter().map(|e| cut(e, MAX_TEXT)).collect()
    });
    let mut status = status_of(cell);
    if let Status::Exited { reason } = &mut status {
        *reason = cut(reason, MAX_TEXT);
    }
    ProcessSample {
        id: cell.pid,
        name: meta.name().map(|n| n.to_string()),
        parent: meta.parent(),
        child_id: meta.child_id().cloned(),
        kind: cell.kind,
        behaviour: meta.behaviour().to_string(),
        spawned_ms: meta.spawned_ns / 1_000_000,
        status,
        mailbox_len: r.len,
        mailbox_peak: r.peak,
        mailbox_capacity: meta.capacity(),
        in_per_s: per_s(b.received, old.received),
        out_per_s: per_s(b.sent, old.sent),
        call_per_s: per_s(b.call, old.call),
        cast_per_s: per_s(b.cast, old.cast),
        info_per_s: per_s(b.info, old.info),
        received: b.received,
        handled: s.handled(),
        dropped: s.dropped_all(),
        busy: (busy_ns as f64 / dt_ns as f64).clamp(0.0, 1.0),
        mean_handle_us: ratio(busy_ns, b.handled_since(old)) / 1e3,
        max_handle_us: r.max_handle_ns as f64 / 1e3,
        mean_wait_us: ratio(d(b.wait_ns, old.wait_ns), d(b.wait_n, old.wait_n)) / 1e3,
        state_bytes: s.state_bytes.load(Relaxed),
        state_deep: s.state_deep.load(Relaxed),
        restarts: meta.slot().map_or(0, |s| s.restarts.load(Relaxed)),
        exit_history,
        links,
        monitors,
        trap_exit: cell.trap_exit.load(Relaxed),
        inspectable: meta.inspectable(),
        hibernations: s.hibernations.load(Relaxed),
        supervisor: cell.supervisor.as_ref().map(|sup| SupervisorInfo {
            strategy: sup.strategy.get().copied().unwrap_or("unknown").to_string(),
            max_restarts: sup.max_restarts.load(Relaxed),
            period_ms: sup.period_ms.load(Relaxed),
            restarts_in_window: sup.restarts_in_window.load(Relaxed),
            children: sup.children.load(Relaxed),
            restarting: sup.restarting.load(Relaxed),
        }),
        task: task_metrics(b, old),
        keys: crate::key_registry::shown::of(&cell.keys, cell.has_exited()),
        self_calls_refused: s.self_calls_refused.load(Relaxed),
        // Set by the sampler, which remembers the per-type counts between readings.
        hot_type: None,
    }
}

/// Links and monitors, each list cut at [`MAX_LIST`].
fn relations(cell: &ProcessCell) -> (Vec<Pid>, Vec<Pid>) {
    let rel = cell.relations();
    let links = rel.links.iter().take(MAX_LIST).map(|c| c.pid).collect();
    let monitors = rel
        .monitors
        .iter()
        .take(MAX_LIST)
        .map(|(_, c)| c.pid)
        .collect();
    (links, monitors)
}

/// Poll and scheduling figures over the interval, when the process has a task monitor.
fn task_metrics(b: &Base, old: &Base) -> Option<TaskMetrics> {
    (b.polls != 0 || b.scheduled != 0).then(|| {
        let polls = b.polls.saturating_sub(old.polls);
        let scheduled = b.scheduled.saturating_sub(old.scheduled);
        TaskMetrics {
            mean_poll_us: ratio(b.poll_ns.saturating_sub(old.poll_ns), polls) / 1e3,
            mean_scheduled_us: ratio(b.scheduled_ns.saturating_sub(old.scheduled_ns), scheduled)
                / 1e3,
            slow_polls: b.slow_polls.saturating_sub(old.slow_polls),
        }
    })
}

fn ratio(num: u64, den: u64) -> f64 {
    if den == 0 {
        0.0
    } else {
        num as f64 / den as f64
    }
}

/// The wire form of a process's status (also [`crate::ProcessInfo::status`]).
pub(crate) fn status_of(cell: &ProcessCell) -> Status {
    let s = &cell.stats;
    let since_ms = s.status_since_ns.load(Relaxed) / 1_000_000;
    let handling = |kind| Status::Handling { kind, since_ms };
    match s.status() {
        StatusCode::Starting => Status::Starting,
        StatusCode::Idle => Status::Idle,
        StatusCode::HandlingCall => handling(MsgKind::Call),
        StatusCode::HandlingCast => handling(MsgKind::Cast),
        StatusCode::HandlingInfo => handling(MsgKind::Info),
        StatusCode::Waiting => Status::Waiting {
            on: Pid(s.waiting_on.load(Relaxed)),
            since_ms,
        },
        StatusCode::Hibernating => Status::Hibernating,
        StatusCode::Terminating => Status::Terminating,
        StatusCode::Exited => Status::Exited {
            reason: cell
                .exit
                .get()
                .map_or_else(|| "exited".to_string(), |r| r.to_string()),
        },
    }
}

/// `text` cut to at most `max` bytes on a character boundary.
pub(crate) fn cut(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cut_respects_char_boundaries() {
        assert_eq!(cut("abc", 5), "abc");
        assert_eq!(cut("ééé", 3), "é…");
    }
}
