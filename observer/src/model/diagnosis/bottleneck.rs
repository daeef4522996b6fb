//! `bottleneck`: busy most of the interval with a standing queue or processes blocked on it,
//! ranked by the waiting it causes. Waits are followed along their chains (see
//! [`super::waits`]): when clients call `api` which calls a slow `db`, `db` is the busy end of
//! every chain, all their waiting is charged to it, and the clients' long waits are folded into
//! its alert (see [`fold`]). The stages starving behind it are idle, so they are not named; a
//! process in a deadlock is reported as that instead.

use super::alert::{AlertKind, Severity};
use super::hysteresis::Candidate;
use super::scene::Scene;
use crate::model::history::SeriesKey;
use crate::model::pressure::Growth;
use beamline_wire::{Pid, ProcessSample};

/// Held down to this fraction of the raise levels.
const HOLD: f64 = 0.8;

/// Whether `p` is busy enough to hold a bottleneck alert: the processes whose waits end at
/// it are then accounted for by that alert.
fn busy_enough(scene: &Scene, p: &ProcessSample) -> bool {
    p.busy >= scene.th.busy_ratio * HOLD && !scene.waits.in_cycle.contains(&p.id)
}

/// The candidate for `p`, if it is busy with work waiting.
pub fn detect(scene: &Scene, p: &ProcessSample, found: &mut Vec<Candidate>) {
    let (th, m) = (scene.th, scene.m);
    let upstream = scene.waits.upstream_of(p.id);
    if !busy_enough(scene, p)
        || (p.mailbox_len < th.bottleneck_min_queue / 2 && upstream.is_empty())
    {
        return;
    }
    // A queue that stood at the previous sample too and has not shrunk since: a burst being
    // worked off is not a bottleneck.
    let standing = Growth::of(p, scene.history, th).standing;
    let before = scene
        .history
        .process(p.id)
        .and_then(|r| r.iter().rev().nth(1))
        .map_or(0, |x| x.mailbox_len);
    let queue =
        p.mailbox_len >= th.bottleneck_min_queue && before >= th.bottleneck_min_queue && standing;
    let raise = p.busy >= th.busy_ratio && (queue || upstream.len() >= 2);
    let wait_s = if p.mean_wait_us > 0.0 {
        p.mean_wait_us / 1e6
    } else {
        m.interval_ms as f64 / 1000.0
    };
    let blocked: f64 = upstream.iter().map(|(_, w)| *w as f64 / 1000.0).sum();
    let direct = scene.waits.callers_of(p.id);
    let mut procs = vec![p.id];
    procs.extend(direct.iter().map(|(c, _)| *c));
    let further: Vec<Pid> = upstream
        .iter()
        .map(|(c, _)| *c)
        .filter(|c| !procs.contains(c))
        .collect();
    procs.extend(further);
    procs.truncate(9);
    found.push(Candidate {
        key: SeriesKey::of(p),
        kind: AlertKind::Bottleneck,
        severity: Severity::Critical,
        processes: procs,
        message: message(scene, p, direct, upstream),
        score: p.mailbox_len as f64 * wait_s + blocked,
        raise,
        // Holding people up since the longest wait still in progress began.
        since_ms: upstream.first().map(|(_, w)| m.at_ms.saturating_sub(*w)),
        ..Candidate::default()
    });
}

fn message(scene: &Scene, p: &ProcessSample, direct: &[(Pid, u64)], up: &[(Pid, u64)]) -> String {
    let mut msg = format!(
        "{} is busy {:.0}% with {} queued",
        p.label(),
        p.busy * 100.0,
        p.mailbox_len
    );
    if let Some((_, longest)) = up.first() {
        msg.push_str(&format!(
            "; {} wait on it (longest {:.1}s)",
            plural(up.len(), "process", "processes"),
            *longest as f64 / 1000.0
        ));
        if up.len() > direct.len() {
            let via: Vec<String> = direct.iter().take(3).map(|(c, _)| scene.name(*c)).collect();
            msg.push_str(&format!(", through {}", via.join(", ")));
        }
    }
    msg
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Long waits already told by a bottleneck alert: the waiter's chain ends at a process in
/// `alerted`. Their waiting is charged there, and they are dropped from `found`.
pub fn fold(scene: &Scene, alerted: &[Pid], found: &mut Vec<Candidate>) {
    found.retain(|c| {
        c.kind != AlertKind::LongWait
            || !scene
                .waits
                .end
                .get(&c.processes[0])
                .is_some_and(|e| alerted.contains(e))
    });
}
