//! Diagnosis findings, most important first; Enter opens the culprit. Alerts that cleared
//! recently follow, dimmed, with how long they lasted.

use super::cells;
use super::chrome::title_block;
use super::fmt;
use crate::model::diagnosis::Severity;
use crate::state::State;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table, Widget, Wrap};

/// Render the Alerts view.
pub fn render(state: &State, area: Rect, buf: &mut Buffer) {
    let t = state.theme();
    let alerts = state.alerts();
    let resolved = &state.model().resolved;
    let title = match resolved.len() {
        0 => format!(" Alerts {} ", alerts.len()),
        n => format!(" Alerts {} ({n} resolved) ", alerts.len()),
    };
    if alerts.is_empty() && resolved.is_empty() {
        Paragraph::new(vec![
            Line::default(),
            Line::styled("  No alerts.", t.good()),
            Line::styled(
                "  Checked every sample: overflow, bottleneck, deadlock, long wait, restart storm, state growth.",
                t.dim(),
            ),
        ])
        .wrap(Wrap { trim: false })
        .block(title_block(state, title))
        .render(area, buf);
        return;
    }
    let m = state.shown();
    let pos = &state.nav().alerts;
    // Watching several nodes, each alert names its culprit's node: `name@node`.
    let fleet = state.model().fleet.as_deref();
    let who = |pids: &[beamline_wire::Pid]| -> String {
        pids.first()
            .map(|pid| {
                let label = m
                    .and_then(|m| m.get(*pid))
                    .map_or_else(|| pid.to_string(), |p| p.label());
                match fleet.and_then(|f| f.name_of(*pid)) {
                    Some(node) => format!("{label}@{node}"),
                    None => label,
                }
            })
            .unwrap_or_default()
    };
    let who_w = (alerts
        .iter()
        .map(|a| who(&a.processes).chars().count())
        .max())
    .unwrap_or(7)
    .clamp(7, (area.width / 4).max(7) as usize) as u16;
    // The selected alert's full text, wrapped, under the list: WHAT is cut on narrow screens.
    let detail_h = if area.height > 8 { 3 } else { 0 };
    let list = Rect {
        height: area.height - detail_h,
        ..area
    };
    let page = crate::layout::list_rows(list);
    let rows: Vec<Row> = alerts
        .iter()
        .chain(resolved.iter())
        .enumerate()
        .skip(pos.offset)
        .take(page)
        .map(|(i, a)| {
            let sev = match a.severity {
                _ if a.resolved_at_ms.is_some() => t.dim(),
                Severity::Critical => t.bad(),
                Severity::Warning => t.warn(),
            };
            let until = a.resolved_at_ms.or(m.map(|m| m.at_ms)).unwrap_or(0);
            let since = until.saturating_sub(a.since_ms);
            let row = Row::new(vec![
                Cell::from(Line::styled(a.severity.as_str(), sev)),
                Cell::from(a.kind.as_str()),
                Cell::from(fmt::clip(&who(&a.processes), who_w as usize)),
                Cell::from(Line::from(fmt::duration_ms(since)).right_aligned()),
                Cell::from(a.message.clone()),
            ]);
            if a.resolved_at_ms.is_some() {
                return row.style(t.dim());
            }
            cells::highlight(row, i == pos.cursor, t)
        })
        .collect();
    let header = Row::new(["SEVERITY", "KIND", "PROCESS", "FOR", "WHAT"]).style(t.heading());
    Table::new(
        rows,
        [
            Constraint::Length(8),
            Constraint::Length(13),
            Constraint::Length(who_w),
            Constraint::Length(6),
            Constraint::Fill(1),
        ],
    )
    .header(header)
    .block(title_block(state, title))
    .render(list, buf);
    if let Some(a) = alerts.get(pos.cursor).filter(|_| detail_h > 0) {
        let r = Rect {
            y: list.bottom(),
            height: detail_h,
            ..area
        };
        Paragraph::new(vec![Line::from(vec![
            Span::styled(format!("{}: ", a.kind.as_str()), t.heading()),
            Span::raw(a.message.clone()),
        ])])
        .wrap(Wrap { trim: true })
        .block(Block::new().borders(Borders::TOP).border_style(t.dim()))
        .render(r, buf);
    }
}
