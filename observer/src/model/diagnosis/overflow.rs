//! `overflow`: a mailbox above its limit (raised there, held down to `clear_ratio` of it), or
//! rising steadily; a bounded one also gets an estimate of when it is full.

use super::alert::{AlertKind, Severity};
use super::hysteresis::Candidate;
use super::scene::Scene;
use crate::model::pressure::{self, Growth};
use beamline_wire::ProcessSample;

/// The candidate for `p`, if its mailbox is deep or growing.
pub fn detect(scene: &Scene, p: &ProcessSample, found: &mut Vec<Candidate>) {
    let th = scene.th;
    let limit = pressure::limit(p, th);
    let len = p.mailbox_len as f64;
    let held = len >= limit * th.clear_ratio;
    // Cheap tests first: no history is read for a small queue.
    if !held && p.mailbox_len < th.trend_min_growth {
        return;
    }
    let trend = Growth::of(p, scene.history, th).rising;
    let over = len >= limit;
    if !(over || trend.is_some() || held) {
        return;
    }
    let mut msg = match p.mailbox_capacity {
        Some(c) => format!("{}: mailbox {}/{}", p.label(), p.mailbox_len, c),
        None => format!("{}: mailbox {} messages", p.label(), p.mailbox_len),
    };
    if let Some(step) = trend {
        let r = step * 1000.0 / scene.m.interval_ms.max(1) as f64;
        msg.push_str(&format!(" and growing {r:.0}/s"));
        if let Some(c) = p.mailbox_capacity
            && r > 0.0
        {
            let eta = (c.saturating_sub(p.mailbox_len)) as f64 / r;
            msg.push_str(&format!("; full in about {eta:.0}s"));
        }
    }
    let full = p.mailbox_capacity.is_some_and(|c| p.mailbox_len >= c);
    found.push(Candidate {
        key: p.id,
        kind: AlertKind::Overflow,
        severity: if full {
            Severity::Critical
        } else {
            Severity::Warning
        },
        processes: vec![p.id],
        message: msg,
        score: len / limit,
        raise: over || trend.is_some(),
    });
}
