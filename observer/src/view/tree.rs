//! The supervision tree: one row per process under its supervisor, with its mailbox, rate,
//! busy share, state size and restarts at a glance.

use super::{fmt, title_block};
use crate::model::{History, Moment};
use crate::state::{Rows, State};
use crate::theme::{Level, Theme};
use beamline_wire::{Pid, ProcessSample, Status};
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Row, Table, Widget};
use std::collections::HashSet;

/// Unbounded mailboxes are drawn against this many messages: a queue this deep is already worth
/// looking at in almost any system.
pub const UNBOUNDED_SCALE: u64 = 1000;
/// Width of mailbox bars.
const BAR: usize = 6;
/// Width of rate sparklines.
const SPARK: usize = 8;

/// Render the tree view.
pub fn render(state: &State, area: Rect, buf: &mut Buffer) {
    let Some(m) = state.shown() else { return };
    let t = &state.settings.theme;
    let Rows::Tree(rows) = &state.rows else {
        return;
    };
    let pos = &state.tree;
    let page = super::list_rows(area);
    let culprits = culprits(state);
    let path = path_to(m, &culprits);
    let visible = rows.iter().enumerate().skip(pos.offset).take(page);
    let body: Vec<Row> = visible
        .map(|(i, r)| {
            let p = &m.processes[r.idx as usize];
            let marker = if r.children == 0 {
                "  "
            } else if r.collapsed {
                "▸ "
            } else {
                "▾ "
            };
            let indent = "  ".repeat(r.depth.min(20) as usize);
            let name_style = if culprits.contains(&p.id) {
                t.bad()
            } else if path.contains(&p.id) {
                t.warn()
            } else {
                t.text()
            };
            let flag = if culprits.contains(&p.id) {
                "! "
            } else if path.contains(&p.id) {
                "› "
            } else {
                ""
            };
            let mut name = vec![
                Span::raw(indent),
                Span::raw(marker),
                Span::styled(format!("{flag}{}", p.label()), name_style),
            ];
            if r.collapsed {
                name.push(Span::styled(format!(" +{}", r.children), t.dim()));
            }
            let row = Row::new(vec![
                Cell::from(Line::from(name)),
                Cell::from(status_cell(p, t)),
                Cell::from(mailbox_cell(p, &state.model.history, t)),
                Cell::from(rate_cell(p, &state.model.history, t)),
                Cell::from(Line::from(fmt::percent(p.busy)).right_aligned()),
                Cell::from(Line::from(fmt::bytes(p.state_bytes)).right_aligned()),
                Cell::from(restarts_cell(p, t)),
            ]);
            if i == pos.cursor {
                row.style(t.selected())
            } else {
                row
            }
        })
        .collect();
    let header = Row::new(
        [
            "NAME", "STATUS", "MAILBOX", "MSG/S IN", "BUSY", "STATE", "RST",
        ]
        .map(|h| Cell::from(Line::from(h))),
    )
    .style(t.heading());
    let title = format!(
        " Tree {} processes{} ",
        fmt::count(m.processes.len() as u64),
        if state.filter.text.is_empty() {
            String::new()
        } else {
            format!(" · {} shown", fmt::count(rows.len() as u64))
        }
    );
    Table::new(
        body,
        [
            Constraint::Fill(1),
            Constraint::Length(7),
            Constraint::Length(BAR as u16 + 7),
            Constraint::Length(SPARK as u16 + 6),
            Constraint::Length(4),
            Constraint::Length(6),
            Constraint::Length(3),
        ],
    )
    .header(header)
    .block(title_block(state, title))
    .render(area, buf);
}

/// The processes alerts blame.
pub fn culprits(state: &State) -> HashSet<Pid> {
    state
        .model
        .alerts
        .iter()
        .filter_map(|a| a.processes.first().copied())
        .collect()
}

/// The ancestors of `targets`: the path from the root to each culprit.
pub fn path_to(m: &Moment, targets: &HashSet<Pid>) -> HashSet<Pid> {
    let mut path = HashSet::new();
    for pid in targets {
        let mut at = m.get(*pid).and_then(|p| p.parent);
        let mut steps = 0;
        while let Some(p) = at {
            if !path.insert(p) || steps > 1000 {
                break;
            }
            steps += 1;
            at = m.get(p).and_then(|p| p.parent);
        }
    }
    path
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

/// How full a mailbox is: against its capacity when bounded, else against [`UNBOUNDED_SCALE`].
pub fn fill(p: &ProcessSample) -> f64 {
    let cap = p.mailbox_capacity.unwrap_or(UNBOUNDED_SCALE).max(1);
    p.mailbox_len as f64 / cap as f64
}

/// Whether the mailbox grew over each of the last three samples.
pub fn growing(p: &ProcessSample, history: &History) -> bool {
    let Some(h) = history.process(p.id) else {
        return false;
    };
    let last: Vec<u64> = h.iter().rev().take(3).map(|x| x.mailbox_len).collect();
    last.len() == 3 && last[0] > last[1] && last[1] > last[2]
}

/// The mailbox cell: a bar coloured by fill, the length, and `↑` while it grows.
pub fn mailbox_cell(p: &ProcessSample, history: &History, t: &Theme) -> Line<'static> {
    let f = fill(p);
    let style = t.level(Level::of_ratio(f));
    let mark = if growing(p, history) { "↑" } else { " " };
    Line::from(vec![
        Span::styled(fmt::bar(f, BAR), style),
        Span::styled(format!("{:>5}", fmt::si(p.mailbox_len as f64)), style),
        Span::styled(mark, t.warn()),
    ])
}

/// The rate cell: arrivals per second and their recent sparkline.
pub fn rate_cell(p: &ProcessSample, history: &History, t: &Theme) -> Line<'static> {
    let series: Vec<f32> = history
        .process(p.id)
        .map(|h| {
            h.iter()
                .rev()
                .take(SPARK)
                .rev()
                .map(|x| x.in_per_s)
                .collect()
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

/// The colour of a mailbox figure, by fill.
pub fn mailbox_fill_style(p: &ProcessSample, t: &Theme) -> ratatui::style::Style {
    t.level(Level::of_ratio(fill(p)))
}
