//! The flat process table: sortable by any column (keys underlined in the header), filtered by
//! `/`, with counts in the title.

use super::cells::{self, culprits, mailbox_style, restarts_cell, status_cell};
use super::chrome::{sort_title, title_block};
use super::fmt;
use crate::model::diagnosis::Thresholds;
use crate::state::{Rows, State};
use crate::theme::Theme;
use crate::vocab::Column;
use beamline_wire::ProcessSample;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Cell, Row, Table, Widget};

/// Render the Processes view.
pub fn render(state: &State, area: Rect, buf: &mut Buffer) {
    let Some(m) = state.shown() else { return };
    let t = state.theme();
    let th = state.model().thresholds();
    let Rows::Table(rows) = state.rows() else {
        return;
    };
    let pos = &state.nav().table;
    let page = crate::layout::list_rows(area);
    let culprits = culprits(state);
    let body: Vec<Row> = rows
        .iter()
        .enumerate()
        .skip(pos.offset)
        .take(page)
        .map(|(i, idx)| {
            let p = &m.processes[*idx as usize];
            let row = table_row(p, culprits.contains(&p.id), th, t);
            cells::highlight(row, i == pos.cursor, t)
        })
        .collect();
    let q = state.query();
    let header = Row::new(Column::ALL.map(|c| {
        let sorted = (c == q.sort).then_some(q.descending());
        let line = sort_title(c.title(), c.key(), sorted, t.heading());
        if c.is_quantity() {
            Cell::from(line.right_aligned())
        } else {
            Cell::from(line)
        }
    }));
    let mut title = format!(
        " Processes {} of {} ",
        fmt::count(rows.len() as u64),
        fmt::count(m.processes.len() as u64)
    );
    if !q.filter.text.is_empty() {
        title.push_str(&format!("· filter \"{}\" ", q.filter.text));
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

/// One process's row; a culprit's name is marked.
fn table_row(p: &ProcessSample, culprit: bool, th: &Thresholds, t: &Theme) -> Row<'static> {
    let right = |s: String| Cell::from(Line::from(s).right_aligned());
    let name_style = match (p.name.is_some(), culprit) {
        (false, _) => t.dim(),
        (true, true) => t.bad(),
        (true, false) => t.text(),
    };
    Row::new(vec![
        Cell::from(p.id.to_string()),
        Cell::from(Line::styled(
            p.name.clone().unwrap_or_else(|| p.behaviour.clone()),
            name_style,
        )),
        Cell::from(status_cell(p, t)),
        Cell::from(
            Line::styled(fmt::si(p.mailbox_len as f64), mailbox_style(p, th, t)).right_aligned(),
        ),
        right(fmt::si(p.mailbox_peak as f64)),
        right(fmt::si(p.in_per_s)),
        right(fmt::si(p.out_per_s)),
        right(fmt::percent(p.busy)),
        right(fmt::bytes(p.state_bytes)),
        Cell::from(restarts_cell(p, t)),
    ])
}
