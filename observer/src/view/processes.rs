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
use ratatui::layout::{Constraint, Flex, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Cell, Row, Table, Widget};

/// Render the Processes view: the columns of [`crate::layout::process_columns`] (fewer and
/// abbreviated on narrow terminals), the same ones clicks on the header are matched against.
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
    let leaking = cells::leaking(state);
    let fleet = state.model().fleet.as_deref();
    let cols = crate::layout::process_columns(area.width, state.several_nodes());
    let wide = area.width >= crate::layout::WIDE;
    let body: Vec<Row> = rows
        .iter()
        .enumerate()
        .skip(pos.offset)
        .take(page)
        .map(|(i, idx)| {
            let p = &m.processes[*idx as usize];
            let marks = Marks {
                culprit: culprits.contains(&p.id),
                leaking: leaking.contains(&p.id),
                node: fleet.and_then(|f| f.name_of(p.id)),
            };
            let row = Row::new(cols.iter().map(|(c, _)| cell(*c, p, marks, th, t)));
            cells::highlight(row, i == pos.cursor, t)
        })
        .collect();
    let q = state.query();
    let header = Row::new(cols.iter().map(|(c, _)| {
        let sorted = (*c == q.sort).then_some(q.descending());
        let title = if wide { c.title() } else { c.short_title() };
        let line = sort_title(title, c.key(), sorted, t.heading());
        if c.is_quantity() {
            Cell::from(line.right_aligned())
        } else {
            Cell::from(line)
        }
    }));
    let mut title = format!(
        " Processes {} of {} ",
        fmt::count(rows.len() as u64),
        fmt::count(state.process_count(m))
    );
    if !q.filter.text.is_empty() {
        title.push_str(&format!("· filter \"{}\" ", q.filter.text));
    }
    Table::new(body, cols.iter().map(|(_, w)| Constraint::Length(*w)))
        .flex(Flex::Start)
        .header(header)
        .block(title_block(state, title))
        .render(area, buf);
}

/// What alerts say about a row's process, and the node it runs on.
#[derive(Clone, Copy)]
struct Marks<'a> {
    culprit: bool,
    leaking: bool,
    node: Option<&'a str>,
}

/// One cell of a process's row; a culprit's name is marked, a growing state highlighted.
fn cell(c: Column, p: &ProcessSample, marks: Marks, th: &Thresholds, t: &Theme) -> Cell<'static> {
    let right = |s: String| Cell::from(Line::from(s).right_aligned());
    match c {
        Column::Pid => Cell::from(p.id.to_string()),
        Column::Name => {
            let style = match (p.name.is_some(), marks.culprit) {
                (_, true) => t.bad(),
                (false, false) => t.dim(),
                (true, false) => t.text(),
            };
            let flag = if marks.culprit { "! " } else { "" };
            let name = p.name.clone().unwrap_or_else(|| p.behaviour.clone());
            Cell::from(Line::styled(format!("{flag}{name}"), style))
        }
        Column::Status => Cell::from(status_cell(p, t)),
        Column::Mailbox => Cell::from(
            Line::styled(fmt::si(p.mailbox_len as f64), mailbox_style(p, th, t)).right_aligned(),
        ),
        Column::Peak => right(fmt::si(p.mailbox_peak as f64)),
        Column::In => right(fmt::si(p.in_per_s)),
        Column::Out => right(fmt::si(p.out_per_s)),
        Column::Busy => right(fmt::percent(p.busy)),
        Column::State => Cell::from(cells::state_cell(p, marks.leaking, t)),
        Column::Restarts => Cell::from(restarts_cell(p, t)),
        Column::Node => Cell::from(marks.node.unwrap_or("").to_string()),
        Column::Type => match crate::type_names::hot_type(p) {
            Some(name) => Cell::from(Line::styled(name.to_string(), t.text())),
            None => Cell::from(Line::styled("-", t.dim())),
        },
    }
}

#[cfg(test)]
mod tests {
    use crate::fixture;
    use crate::input::Action;
    use crate::model::diagnosis::Thresholds;
    use crate::source::SourceEvent;
    use crate::state::{Rows, State};
    use crate::view::tests::{state_over, welcomed};
    use crate::vocab::{Column, ViewId};
    use beamline_wire::{ServerMsg, TypeNames};
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    /// The small fixture's Processes view, `width` columns wide, after a runtime named two
    /// types (its ids 0 and 1) and gave the stages and accounts a hot type.
    fn state(width: u16) -> State {
        let mut model = welcomed(Thresholds::default());
        model.apply(SourceEvent::Msg(ServerMsg::TypeNames(TypeNames {
            first: 0,
            names: vec!["Batch::Push".into(), "Cmd::Deposit".into()],
        })));
        let mut snap = fixture::small(3);
        for p in &mut snap.processes {
            let name = p.name.clone().unwrap_or_default();
            p.hot_type = if name.starts_with("stage") {
                Some(0)
            } else if name.starts_with("account") {
                Some(1)
            } else {
                None
            };
        }
        model.apply(SourceEvent::Msg(ServerMsg::Snapshot(snap)));
        let mut s = state_over(model, width, 24);
        s.handle(Action::View(ViewId::Processes));
        s
    }

    fn screen(state: &State) -> TestBackend {
        let size = state.size();
        let mut t = Terminal::new(TestBackend::new(size.width, size.height)).unwrap();
        t.draw(|f| crate::view::draw(state, f)).unwrap();
        t.backend().clone()
    }

    fn names(s: &State) -> Vec<String> {
        let (Some(m), Rows::Table(rows)) = (s.shown(), s.rows()) else {
            panic!("no table")
        };
        rows.iter()
            .map(|i| m.processes[*i as usize].label())
            .collect()
    }

    /// At 80 columns the TYPE column is the first to go: the rest fits as before.
    #[test]
    fn hot_types_at_80_columns() {
        insta::assert_snapshot!(screen(&state(80)));
    }

    /// At 160 columns TYPE sits after STATUS, `-` for processes that handled nothing.
    #[test]
    fn hot_types_at_160_columns() {
        insta::assert_snapshot!(screen(&state(160)));
    }

    /// Detail names the hot type of the process it shows.
    #[test]
    fn detail_shows_the_hot_type() {
        let mut s = state(120);
        s.handle(Action::Open);
        let b = screen(&s);
        let text: String = b.buffer().content().iter().map(|c| c.symbol()).collect();
        assert!(text.contains("stage_3"), "{text}");
        assert!(text.contains("hot type"), "{text}");
        assert!(text.contains("Batch::Push"), "{text}");
    }

    /// `y` sorts by the type's name (processes without one last), `type:` filters by it.
    #[test]
    fn sorted_and_filtered_by_hot_type() {
        let mut s = state(160);
        s.handle(Action::Sort(Column::Type));
        let sorted = names(&s);
        assert!(sorted[0].starts_with("stage"), "{sorted:?}");
        assert!(sorted[4].starts_with("account"), "{sorted:?}");
        assert!(!sorted[6].starts_with("stage") && !sorted[6].starts_with("account"));
        s.handle(Action::FilterStart);
        for c in "type:deposit".chars() {
            s.handle(Action::FilterInput(c));
        }
        let kept = names(&s);
        assert_eq!(kept.len(), 2, "{kept:?}");
        assert!(kept.iter().all(|n| n.starts_with("account")), "{kept:?}");
    }
}
