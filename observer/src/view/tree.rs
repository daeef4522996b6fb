//! The supervision tree: one row per process under its supervisor, with its mailbox, rate,
//! busy share, state size and restarts at a glance.

use super::cells::{self, BAR, SPARK, culprits};
use super::chrome::title_block;
use super::fmt;
use crate::state::{Rows, State, TreeRow};
use crate::vocab::Column;
use beamline_wire::{Pid, ProcessSample, ProcessTable};
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Flex, Rect};
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

/// Render the tree view. NAME is as wide as the longest name on screen; below
/// [`crate::layout::WIDE`] columns the rate sparkline is left out and titles are abbreviated.
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
    let leaking = cells::leaking(state);
    let path = path_to(m, &culprits);
    let visible: Vec<_> = rows
        .iter()
        .enumerate()
        .skip(pos.offset)
        .take(page)
        .collect();
    let names: Vec<Line> = (visible.iter())
        .map(|(_, r)| name_cell(state, &m.processes[r.idx as usize], r, &culprits, &path))
        .collect();
    let longest = names.iter().map(Line::width).max().unwrap_or(4).max(4) as u16;
    let (spark, wide) = fit(area.width, longest);
    let body: Vec<Row> = (visible.iter().zip(names.iter()))
        .map(|((i, r), name)| {
            let p = &m.processes[r.idx as usize];
            let rate = if spark {
                cells::rate_cell(p, history, m.at_ms, t)
            } else {
                Line::from(fmt::si(p.in_per_s)).right_aligned()
            };
            let row = Row::new(vec![
                Cell::from(name.clone()),
                Cell::from(
                    super::nodes::status_cell(state, p).unwrap_or_else(|| cells::status_cell(p, t)),
                ),
                Cell::from(cells::mailbox_cell(p, history, m.at_ms, th, t)),
                Cell::from(rate),
                Cell::from(Line::from(fmt::percent(p.busy)).right_aligned()),
                Cell::from(cells::state_cell(p, leaking.contains(&p.id), t)),
                Cell::from(cells::restarts_cell(p, t)),
            ]);
            cells::highlight(row, *i == pos.cursor, t)
        })
        .collect();
    let title_of = |c: Column| if wide { c.title() } else { c.short_title() };
    let titles = std::iter::once(Column::Name).chain(COLUMNS);
    let header = Row::new(titles.map(|c| {
        let line = Line::from(title_of(c));
        if c.is_quantity() {
            Cell::from(line.right_aligned())
        } else {
            Cell::from(line)
        }
    }))
    .style(t.heading());
    let title = format!(
        " Tree {} processes{} ",
        fmt::count(state.process_count(m)),
        if state.query().filter.text.is_empty() {
            String::new()
        } else {
            format!(" · {} shown", fmt::count(rows.len() as u64))
        }
    );
    let fixed = widths(spark, wide);
    let room = area.width.saturating_sub(fixed.iter().sum::<u16>() + 6);
    let name_w = longest.min(room);
    let widths = std::iter::once(name_w).chain(fixed).map(Constraint::Length);
    Table::new(body, widths)
        .flex(Flex::Start)
        .header(header)
        .block(title_block(state, title))
        .render(area, buf);
}

/// Widths of the columns after NAME: with the rate sparkline or not, full titles or not.
fn widths(spark: bool, wide: bool) -> [u16; 6] {
    let restarts = if wide {
        Column::Restarts.title()
    } else {
        "RST"
    };
    [
        7,
        BAR as u16 + 7,
        if spark { SPARK as u16 + 6 } else { 5 },
        4,
        7,
        restarts.len() as u16,
    ]
}

/// What fits next to names `longest` wide in `width` columns: the sparkline and full titles
/// if possible, then full titles alone, then neither (`(sparkline, full titles)`).
fn fit(width: u16, longest: u16) -> (bool, bool) {
    [(true, true), (false, true), (false, false)]
        .into_iter()
        .find(|(spark, wide)| longest + widths(*spark, *wide).iter().sum::<u16>() + 6 <= width)
        .unwrap_or((false, false))
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
