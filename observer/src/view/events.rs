//! The event log: exits with their reasons, restarts with the old and new pid, escalations,
//! drops and the observer's own kills, newest first, filtered by `/`; Enter opens the process.

use super::cells;
use super::chrome::title_block;
use super::fmt;
use crate::model::events::EventKind;
use crate::state::State;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Cell, Paragraph, Row, Table, Widget};

/// Render the Events view.
pub fn render(state: &State, area: Rect, buf: &mut Buffer) {
    let t = state.theme();
    let events = state.events();
    let filter = &state.query().filter.text;
    let mut title = format!(" Events {} ", fmt::count(events.len() as u64));
    if !filter.is_empty() {
        title.push_str(&format!("· filter \"{filter}\" "));
    }
    if events.is_empty() {
        Paragraph::new(vec![
            Line::default(),
            Line::styled(
                "  Nothing yet: exits, restarts, escalations, drops and kills appear here.",
                t.dim(),
            ),
        ])
        .block(title_block(state, title))
        .render(area, buf);
        return;
    }
    let pos = &state.nav().events;
    let page = crate::layout::list_rows(area);
    let who_w = (events.iter().map(|e| e.who.chars().count()).max())
        .unwrap_or(8)
        .clamp(7, (area.width / 4).max(7) as usize) as u16;
    let rows: Vec<Row> = (events.iter().enumerate().skip(pos.offset).take(page))
        .map(|(i, e)| {
            let style = match e.kind {
                EventKind::Escalation => t.bad(),
                EventKind::Exit if !e.text.ends_with("normal") => t.warn(),
                EventKind::Restart | EventKind::Drop | EventKind::Observer => t.warn(),
                _ => t.text(),
            };
            let row = Row::new(vec![
                Cell::from(Line::styled(fmt::uptime(e.at_ms), t.dim())),
                Cell::from(Line::styled(e.kind.as_str(), style)),
                Cell::from(fmt::clip(&e.who, who_w as usize)),
                Cell::from(e.text.clone()),
            ]);
            cells::highlight(row, i == pos.cursor, t)
        })
        .collect();
    let header = Row::new(["TIME", "KIND", "PROCESS", "WHAT"]).style(t.heading());
    Table::new(
        rows,
        [
            Constraint::Length(8),
            Constraint::Length(8),
            Constraint::Length(who_w),
            Constraint::Fill(1),
        ],
    )
    .header(header)
    .block(title_block(state, title))
    .render(area, buf);
}
