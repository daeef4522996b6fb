//! `overflow`: a mailbox over its limit for longer than a spike (`spike_ms`), rising steadily,
//! or dropping messages; held down to `clear_ratio` of the limit. Losing messages is the worst
//! case: the alert says how many per second and in all, and is critical at once. Otherwise
//! severity follows depth, speed and duration: a bounded mailbox that filled within the
//! interval, an unbounded one `critical_depth_ratio` times its limit (or rising fast enough to
//! get there within `critical_after_ms`), or one still rising `critical_after_ms` after it was
//! raised, is critical. Severity reads the interval's peak, not the length at the instant of
//! the sample, so it does not flip with whether one message is being handled just then.

use super::alert::{AlertKind, Severity};
use super::hysteresis::Candidate;
use super::scene::Scene;
use crate::model::history::{Point, Ring, SeriesKey};
use crate::model::pressure::{self, Growth};
use beamline_wire::{ProcessSample, Status};

/// The candidate for `p`, if its mailbox is deep, growing or losing messages.
pub fn detect(scene: &Scene, p: &ProcessSample, found: &mut Vec<Candidate>) {
    let th = scene.th;
    let limit = pressure::limit(p, th);
    let len = p.mailbox_len as f64;
    let held = len >= limit * th.clear_ratio;
    let ring = scene.history.process(p.id);
    let drops = dropping(p, ring);
    // Cheap tests first: no history is read for a small queue that loses nothing.
    if !held && p.mailbox_len < th.trend_min_growth && drops.is_none() {
        return;
    }
    let trend = Growth::of(p, scene.history, th).rising;
    let over = len >= limit;
    if !(over || trend.is_some() || held || drops.is_some()) {
        return;
    }
    let per_s = |step: f64| step * 1000.0 / scene.m.interval_ms.max(1) as f64;
    let rate = trend.map(per_s);
    let over_ms = ring.map_or(0, |r| over_for(r, limit));
    let lasting = over && over_ms >= th.spike_ms;
    let critical = drops.is_some() || deep(p, rate, th);
    found.push(Candidate {
        key: SeriesKey::of(p),
        kind: AlertKind::Overflow,
        severity: if critical {
            Severity::Critical
        } else {
            Severity::Warning
        },
        processes: vec![p.id],
        message: message(p, rate, drops),
        score: len / limit + if drops.is_some() { 1e6 } else { 0.0 },
        raise: lasting || trend.is_some() || drops.is_some(),
        escalate_after_ms: rate.map(|_| th.critical_after_ms),
        // Over the limit since the first of the samples it has stayed over at, or rising
        // since the sample before its rise began, whichever is earlier.
        since_ms: onset(scene.m.at_ms, over.then_some(over_ms), trend.and(ring)),
    });
}

/// When the condition began: `over_ms` before `now` for a level, the start of the rise for a
/// trend (the older of the two when both hold).
fn onset(now: u64, over_ms: Option<u64>, rising: Option<&Ring<Point>>) -> Option<u64> {
    let over = over_ms.map(|ms| now.saturating_sub(ms));
    let rise = rising.and_then(rise_start);
    match (over, rise) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// The time of the last sample before the mailbox's current rise: the fault began after it,
/// within one interval.
fn rise_start(ring: &Ring<Point>) -> Option<u64> {
    let mut pts = ring.iter().rev().peekable();
    let mut start = pts.next()?;
    while let Some(older) =
        pts.next_if(|o| o.restarts == start.restarts && o.mailbox_len < start.mailbox_len)
    {
        start = older;
    }
    Some(start.at_ms)
}

/// Whether the mailbox is deep enough to be critical now: a bounded one full at some point of
/// the interval, an unbounded one `critical_depth_ratio` times its limit or rising at `rate`
/// fast enough to get there within `critical_after_ms`.
fn deep(p: &ProcessSample, rate: Option<f64>, th: &super::Thresholds) -> bool {
    match p.mailbox_capacity {
        Some(c) => p.mailbox_peak.max(p.mailbox_len) >= c,
        None => {
            let worst = th.mailbox_limit as f64 * th.critical_depth_ratio;
            let soon = rate.unwrap_or(0.0) * th.critical_after_ms as f64 / 1000.0;
            p.mailbox_len as f64 + soon >= worst
        }
    }
}

/// Messages lost per second over the last interval, if any, for a live process.
fn dropping(p: &ProcessSample, ring: Option<&Ring<Point>>) -> Option<f64> {
    if matches!(p.status, Status::Exited { .. }) {
        return None;
    }
    let mut last = ring?.iter().rev();
    let (now, before) = (last.next()?, last.next()?);
    let lost = now.dropped.checked_sub(before.dropped)?;
    let ms = now.at_ms.saturating_sub(before.at_ms).max(1);
    (lost > 0 && now.restarts == before.restarts).then(|| lost as f64 * 1000.0 / ms as f64)
}

/// How long, ms, the mailbox has been at or over `limit` at every sample up to now.
fn over_for(ring: &Ring<Point>, limit: f64) -> u64 {
    let Some(now) = ring.last() else { return 0 };
    let first = ring
        .iter()
        .rev()
        .take_while(|x| x.mailbox_len as f64 >= limit)
        .last();
    first.map_or(0, |f| now.at_ms.saturating_sub(f.at_ms))
}

fn message(p: &ProcessSample, rate: Option<f64>, drops: Option<f64>) -> String {
    let mut msg = match p.mailbox_capacity {
        Some(c) => format!("{}: mailbox {}/{}", p.label(), p.mailbox_len, c),
        None => format!("{}: mailbox {} messages", p.label(), p.mailbox_len),
    };
    if let Some(d) = drops {
        msg.push_str(&format!(", dropping {d:.0}/s ({} lost in all)", p.dropped));
        return msg;
    }
    if let Some(r) = rate {
        msg.push_str(&format!(" and growing {r:.0}/s"));
        if let Some(c) = p.mailbox_capacity
            && r > 0.0
        {
            let eta = (c.saturating_sub(p.mailbox_len)) as f64 / r;
            msg.push_str(&format!("; full in about {eta:.0}s"));
        }
    }
    msg
}
