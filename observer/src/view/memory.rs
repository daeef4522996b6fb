//! Where memory goes, like Erlang observer's Memory tab and `recon:proc_window(memory, ...)`:
//! runtime-wide state bytes, an estimate of what waiting messages hold, process counts, their
//! history, and the processes holding the most.

use super::chart::{self, Scale, Series};
use super::chrome::title_block;
use super::fmt;
use crate::state::State;
use beamline_wire::{ProcessSample, Status};
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table, Widget};

/// What one waiting message is taken to hold: the runtime does not measure messages, so the
/// mailbox figure is an estimate (an envelope with a small payload) and is labelled so.
pub const MSG_BYTES_ESTIMATE: u64 = 64;

/// A process's estimated footprint: its state plus its waiting messages.
fn footprint(p: &ProcessSample) -> u64 {
    p.state_bytes
        .saturating_add(p.mailbox_len.saturating_mul(MSG_BYTES_ESTIMATE))
}

/// Render the Memory view.
pub fn render(state: &State, area: Rect, buf: &mut Buffer) {
    let block = title_block(state, " Memory ");
    let inner = block.inner(area);
    block.render(area, buf);
    let Some(m) = state.shown() else { return };
    let t = state.theme();
    let (state_b, msgs, exited, deep) =
        m.processes.iter().fold((0u64, 0u64, 0u64, 0u64), |a, p| {
            (
                a.0.saturating_add(p.state_bytes),
                a.1.saturating_add(p.mailbox_len),
                a.2 + u64::from(matches!(p.status, Status::Exited { .. })),
                a.3 + u64::from(p.state_deep),
            )
        });
    let row = |k: &str, v: String| {
        Line::from(vec![
            Span::styled(format!("{k:<16}"), t.heading()),
            Span::raw(v),
        ])
    };
    let facts = vec![
        row(
            "state",
            format!(
                "{} ({} of {} deep)",
                fmt::bytes(state_b),
                fmt::count(deep),
                fmt::count(m.processes.len() as u64)
            ),
        ),
        row(
            "mailboxes",
            format!(
                "≈{} est. ({} msgs)",
                fmt::bytes(msgs.saturating_mul(MSG_BYTES_ESTIMATE)),
                fmt::count(msgs)
            ),
        ),
        row(
            "processes",
            format!(
                "{} live · {} exited kept",
                fmt::count(m.processes.len() as u64 - exited),
                fmt::count(exited)
            ),
        ),
    ];
    let [top, bottom] = Layout::vertical([Constraint::Length(8), Constraint::Fill(1)]).areas(inner);
    let [left, right] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Fill(1)]).areas(top);
    Paragraph::new(facts).render(left, buf);
    let cut = m.at_ms;
    let pts: Vec<_> = (state.model().history.system.iter())
        .filter(|p| p.at_ms <= cut)
        .collect();
    let pts = &pts[pts.len().saturating_sub(right.width as usize)..];
    let bytes = |v: f64| fmt::bytes(v as u64);
    let si = |v: f64| fmt::si(v);
    chart::stacked(
        t,
        right,
        buf,
        &[
            Series {
                name: "state",
                data: pts.iter().map(|p| p.state_bytes as f64).collect(),
                scale: Scale::Range,
                fmt: &bytes,
            },
            Series {
                name: "waiting msgs",
                data: pts.iter().map(|p| p.mailbox_msgs as f64).collect(),
                scale: Scale::Zero,
                fmt: &si,
            },
        ],
    );
    top_processes(state, bottom, buf);
}

/// The processes holding the most, biggest first.
fn top_processes(state: &State, area: Rect, buf: &mut Buffer) {
    let Some(m) = state.shown() else { return };
    let t = state.theme();
    let mut top: Vec<&ProcessSample> = m.processes.iter().map(|p| &**p).collect();
    let n = area.height.saturating_sub(1) as usize;
    top.sort_by(|a, b| footprint(b).cmp(&footprint(a)).then(a.id.cmp(&b.id)));
    top.truncate(n);
    let rows: Vec<Row> = top
        .iter()
        .map(|p| {
            let right = |s: String| Cell::from(Line::from(s).right_aligned());
            Row::new(vec![
                Cell::from(p.id.to_string()),
                Cell::from(p.label()),
                right(fmt::bytes(footprint(p))),
                right(fmt::bytes(p.state_bytes)),
                right(fmt::si(p.mailbox_len as f64)),
            ])
        })
        .collect();
    let header = Row::new(vec![
        Cell::from("PID"),
        Cell::from("TOP BY MEMORY"),
        Cell::from(Line::from("TOTAL").right_aligned()),
        Cell::from(Line::from("STATE").right_aligned()),
        Cell::from(Line::from("MAILBOX").right_aligned()),
    ])
    .style(t.heading());
    Table::new(
        rows,
        [
            Constraint::Length(11),
            Constraint::Fill(1),
            Constraint::Length(7),
            Constraint::Length(7),
            Constraint::Length(7),
        ],
    )
    .header(header)
    .render(area, buf);
}
