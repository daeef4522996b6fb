//! Cells the tree and the process table share: status, mailbox (bar, figure and `↑`, judged by
//! [`crate::model::pressure`]), rate, restarts, and which processes alerts blame.

use super::fmt;
use crate::model::History;
use crate::model::diagnosis::{AlertKind, Thresholds};
use crate::model::pressure::{self, Growth};
use crate::state::State;
use crate::theme::Theme;
use beamline_wire::{Pid, ProcessSample, Status};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Row;
use std::collections::HashSet;

/// Width of mailbox bars.
pub const BAR: usize = 6;
/// Width of rate sparklines.
pub const SPARK: usize = 8;

/// The processes alerts blame: each alert's first process, and every member of a deadlock
/// cycle (none of them is more to blame than the others).
pub fn culprits(state: &State) -> HashSet<Pid> {
    let mut out = HashSet::new();
    for a in state.alerts() {
        if a.kind == AlertKind::Deadlock {
            out.extend(a.processes.iter().copied());
        } else if let Some(p) = a.processes.first() {
            out.insert(*p);
        }
    }
    out
}

/// Processes whose state keeps growing (a state growth alert names them).
pub fn leaking(state: &State) -> HashSet<Pid> {
    (state.alerts().iter())
        .filter(|a| a.kind == AlertKind::StateGrowth)
        .flat_map(|a| a.processes.iter().copied())
        .collect()
}

/// The state size cell, marked when it keeps growing.
pub fn state_cell(p: &ProcessSample, leaking: bool, t: &Theme) -> Line<'static> {
    let text = if leaking {
        format!("↑{}", fmt::bytes(p.state_bytes))
    } else {
        fmt::bytes(p.state_bytes)
    };
    let style = if leaking { t.bad() } else { t.text() };
    Line::styled(text, style).right_aligned()
}

/// A few letters for a status, so the column stays narrow.
pub fn status_word(s: &Status) -> &'static str {
    match s {
        Status::Starting => "start",
        Status::Idle => "idle",
        Status::Handling { kind, .. } => kind.as_str(),
        Status::Waiting { .. } => "wait",
        Status::Hibernating => "hibern",
        Status::Terminating => "term",
        Status::Exited { .. } => "exited",
    }
}

/// The status cell.
pub fn status_cell(p: &ProcessSample, t: &Theme) -> Line<'static> {
    let style = match p.status {
        Status::Waiting { .. } => t.warn(),
        Status::Exited { .. } | Status::Terminating => t.bad(),
        Status::Idle | Status::Hibernating => t.dim(),
        _ => t.text(),
    };
    Line::styled(status_word(&p.status), style)
}

/// The colour of a mailbox figure: its pressure level.
pub fn mailbox_style(p: &ProcessSample, th: &Thresholds, t: &Theme) -> Style {
    t.level(pressure::level(p, th))
}

/// The mailbox cell: a bar filled to its pressure, coloured by its level, the length, and `↑`
/// while it rises in the history up to `until_ms` (the shown moment, so a paused display
/// holds still).
pub fn mailbox_cell(
    p: &ProcessSample,
    history: &History,
    until_ms: u64,
    th: &Thresholds,
    t: &Theme,
) -> Line<'static> {
    let style = mailbox_style(p, th, t);
    let mark = if Growth::until(p, history, th, until_ms).rising.is_some() {
        "↑"
    } else {
        " "
    };
    Line::from(vec![
        Span::styled(fmt::bar(pressure::fill(p, th), BAR), style),
        Span::styled(format!("{:>5}", fmt::si(p.mailbox_len as f64)), style),
        Span::styled(mark, t.warn()),
    ])
}

/// The rate cell: arrivals per second and their recent sparkline.
///
/// The sparkline ends at `until_ms` (the shown moment), so a paused display holds still.
pub fn rate_cell(p: &ProcessSample, history: &History, until_ms: u64, t: &Theme) -> Line<'static> {
    let series: Vec<f32> = history
        .process(p.id)
        .map(|h| {
            let mut v: Vec<f32> = (h.iter().rev())
                .filter(|x| x.at_ms <= until_ms)
                .take(SPARK)
                .map(|x| x.in_per_s)
                .collect();
            v.reverse();
            v
        })
        .unwrap_or_default();
    Line::from(vec![
        Span::raw(format!("{:>5} ", fmt::si(p.in_per_s))),
        Span::styled(fmt::spark(&series, SPARK), t.chart()),
    ])
}

/// Restarts, red when any.
pub fn restarts_cell(p: &ProcessSample, t: &Theme) -> Line<'static> {
    let style = if p.restarts > 0 { t.bad() } else { t.dim() };
    Line::styled(p.restarts.to_string(), style).right_aligned()
}

/// A list row, drawn as selected when it is under the cursor.
pub fn highlight(row: Row<'static>, selected: bool, t: &Theme) -> Row<'static> {
    if selected {
        row.style(t.selected())
    } else {
        row
    }
}
