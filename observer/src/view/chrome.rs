//! What frames every view: the title line, sortable column titles, and the placeholder shown
//! before the first sample.

use crate::source::ConnState;
use crate::state::State;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Widget};

/// The body before anything arrived: waiting, or why the runtime refused.
pub fn waiting(state: &State, area: Rect, buf: &mut Buffer) {
    let t = state.theme();
    let text = match &state.model().conn {
        ConnState::Failed(why) => Line::styled(format!("  {why}"), t.bad()),
        _ => Line::styled("  waiting for the first sample…", t.dim()),
    };
    Paragraph::new(vec![Line::default(), text])
        .block(title_block(state, "Beamline"))
        .render(area, buf);
}

/// A view's frame: one line on top carrying the title, no side borders (80 columns are precious).
/// `area` less its last column: a column's text stops one short of whatever is drawn beside it,
/// so a cut line never runs into its neighbour.
pub fn gutter(area: Rect) -> Rect {
    Rect {
        width: area.width.saturating_sub(1),
        ..area
    }
}

pub fn title_block<'a>(state: &State, title: impl Into<Line<'a>>) -> Block<'a> {
    let t = state.theme();
    Block::new()
        .borders(Borders::TOP)
        .border_style(t.dim())
        .title(title.into().style(t.heading()))
}

/// A column title with its sort key underlined, and an arrow when sorted by it.
pub fn sort_title(title: &str, key: char, sorted: Option<bool>, style: Style) -> Line<'static> {
    let mut spans = Vec::new();
    let pos = title
        .char_indices()
        .find(|(_, c)| c.eq_ignore_ascii_case(&key))
        .map(|(i, _)| i);
    match pos {
        Some(i) => {
            let (a, rest) = title.split_at(i);
            let (k, b) = rest.split_at(1);
            spans.push(Span::styled(a.to_string(), style));
            spans.push(Span::styled(
                k.to_string(),
                style.add_modifier(Modifier::UNDERLINED),
            ));
            spans.push(Span::styled(b.to_string(), style));
        }
        None => spans.push(Span::styled(title.to_string(), style)),
    }
    if let Some(desc) = sorted {
        spans.push(Span::styled(if desc { "▼" } else { "▲" }, style));
    }
    Line::from(spans)
}
