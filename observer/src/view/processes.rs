//! The flat process table: sortable by any column (keys underlined in the header), filtered by
//! `/`, with counts in the title.

use super::tree::{culprits, mailbox_fill_style, status_cell};
use super::{fmt, sort_title, title_block};
use crate::state::{Column, Rows, State};
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Cell, Row, Table, Widget};

/// Render the Processes view.
pub fn render(state: &State, area: Rect, buf: &mut Buffer) {
    let Some(m) = state.shown() else { return };
    let t = &state.settings.theme;
    let Rows::Table(rows) = &state.rows else {
        return;
    };
    let pos = &state.table;
    let page = super::list_rows(area);
    let culprits = culprits(state);
    let right = |s: String| Cell::from(Line::from(s).right_aligned());
    let body: Vec<Row> = rows
        .iter()
        .enumerate()
        .skip(pos.offset)
        .take(page)
        .map(|(i, idx)| {
            let p = &m.processes[*idx as usize];
            let name_style = if culprits.contains(&p.id) {
                t.bad()
            } else {
                t.text()
            };
            let row = Row::new(vec![
                Cell::from(p.id.to_string()),
                Cell::from(Line::styled(
                    p.name.clone().unwrap_or_else(|| p.behaviour.clone()),
                    if p.name.is_some() {
                        name_style
                    } else {
                        t.dim()
                    },
                )),
                Cell::from(status_cell(p, t)),
                Cell::from(
                    Line::styled(fmt::si(p.mailbox_len as f64), mailbox_fill_style(p, t))
                        .right_aligned(),
                ),
                right(fmt::si(p.mailbox_peak as f64)),
                right(fmt::si(p.in_per_s)),
                right(fmt::si(p.out_per_s)),
                right(fmt::percent(p.busy)),
                right(fmt::bytes(p.state_bytes)),
                Cell::from(super::tree::restarts_cell(p, t)),
            ]);
            if i == pos.cursor {
                row.style(t.selected())
            } else {
                row
            }
        })
        .collect();
    let desc = !matches!(state.sort, Column::Pid | Column::Name | Column::Status) != state.reverse;
    let header = Row::new(Column::ALL.map(|c| {
        let sorted = (c == state.sort).then_some(desc);
        let line = sort_title(c.title(), c.key(), sorted, t.heading());
        if matches!(c, Column::Pid | Column::Name | Column::Status) {
            Cell::from(line)
        } else {
            Cell::from(line.right_aligned())
        }
    }));
    let mut title = format!(
        " Processes {} of {} ",
        fmt::count(rows.len() as u64),
        fmt::count(m.processes.len() as u64)
    );
    if !state.filter.text.is_empty() {
        title.push_str(&format!("· filter \"{}\" ", state.filter.text));
    }
    Table::new(
        body,
        [
            Constraint::Length(11),
            Constraint::Fill(1),
            Constraint::Length(7),
            Constraint::Length(6),
            Constraint::Length(6),
            Constraint::Length(6),
            Constraint::Length(6),
            Constraint::Length(5),
            Constraint::Length(6),
            Constraint::Length(4),
        ],
    )
    .header(header)
    .block(title_block(state, title))
    .render(area, buf);
}
