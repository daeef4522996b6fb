//! The supervision tree: one row per process under its supervisor, with its mailbox, rate,
//! busy share, state size and restarts at a glance.

use super::cells::{self, BAR, SPARK, culprits};
use super::chrome::title_block;
use super::fmt;
use crate::state::{Rows, State, TreeRow};
use crate::vocab::Column;
use beamline_wire::{Pid, ProcessSample, ProcessTable};
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Row, Table, Widget};
use std::collections::HashSet;

/// The columns after the name, titled as in the Processes view.
const COLUMNS: [Column; 6] = [
    Column::Status,
    Column::Mailbox,
    Column::In,
    Column::Busy,
    Column::State,
    Column::Restarts,
];

/// Render the tree view.
pub fn render(state: &State, area: Rect, buf: &mut Buffer) {
    let Some(m) = state.shown() else { return };
    let t = state.theme();
    let Rows::Tree(rows) = state.rows() else {
        return;
    };
    let pos = &state.nav().tree;
    let (history, th) = (&state.model().history, state.model().thresholds());
    let page = crate::layout::list_rows(area);
    let culprits = culprits(state);
    let path = path_to(m, &culprits);
    let visible = rows.iter().enumerate().skip(pos.offset).take(page);
    let body: Vec<Row> = visible
        .map(|(i, r)| {
            let p = &m.processes[r.idx as usize];
            let name = name_cell(state, p, r, &culprits, &path);
            let row = Row::new(vec![
                Cell::from(name),
                Cell::from(cells::status_cell(p, t)),
                Cell::from(cells::mailbox_cell(p, history, th, t)),
                Cell::from(cells::rate_cell(p, history, t)),
                Cell::from(Line::from(fmt::percent(p.busy)).right_aligned()),
                Cell::from(Line::from(fmt::bytes(p.state_bytes)).right_aligned()),
                Cell::from(cells::restarts_cell(p, t)),
            ]);
            cells::highlight(row, i == pos.cursor, t)
        })
        .collect();
    let titles = std::iter::once(Column::Name).chain(COLUMNS);
    let header = Row::new(titles.map(|c| Cell::from(Line::from(c.title())))).style(t.heading());
    let title = format!(
        " Tree {} processes{} ",
        fmt::count(m.processes.len() as u64),
        if state.query().filter.text.is_empty() {
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

/// The name cell: indent, fold marker, `!` on a culprit and `›` on the path to one, how
/// many children a folded node hides, and `↻N` on a supervisor retrying N children's restarts.
fn name_cell(
    state: &State,
    p: &ProcessSample,
    r: &TreeRow,
    culprits: &HashSet<Pid>,
    path: &HashSet<Pid>,
) -> Line<'static> {
    let t = state.theme();
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
    if let Some(n) = p
        .supervisor
        .as_ref()
        .map(|s| s.restarting)
        .filter(|n| *n > 0)
    {
        name.push(Span::styled(format!(" ↻{n}"), t.warn()));
    }
    Line::from(name)
}

/// The ancestors of `targets`: the path from the root to each culprit.
pub fn path_to(m: &ProcessTable, targets: &HashSet<Pid>) -> HashSet<Pid> {
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
