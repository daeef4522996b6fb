//! Drawing: each screen is a file with a `render(&State, area, buf)` function. Views only read
//! the state; what a key does is decided in [`crate::state`].

pub mod alerts;
pub mod detail;
pub mod fmt;
pub mod header;
pub mod overlay;
pub mod processes;
pub mod system;
pub mod tree;

use crate::state::{State, ViewId};
use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Widget};

/// Rows of the header: status, totals and banner, tabs.
pub const HEADER_ROWS: u16 = 3;
/// Rows a list view spends before its first data row: title and column header.
pub const LIST_HEADER_ROWS: u16 = 2;

/// Where things go on screen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Areas {
    /// Status and totals lines.
    pub header: Rect,
    /// The tab bar.
    pub tabs: Rect,
    /// The current view.
    pub body: Rect,
    /// Key hints, filter line or last note.
    pub footer: Rect,
}

/// Split the screen; a pure function of its size so clicks can be mapped without drawing.
pub fn areas(size: Rect) -> Areas {
    let h = size.height;
    let header_h = h.min(HEADER_ROWS - 1);
    let tabs_h = u16::from(h > header_h);
    let footer_h = u16::from(h > header_h + tabs_h + 1);
    let body_h = h.saturating_sub(header_h + tabs_h + footer_h);
    let row = |y, height| Rect::new(size.x, size.y + y, size.width, height);
    Areas {
        header: row(0, header_h),
        tabs: row(header_h, tabs_h),
        body: row(header_h + tabs_h, body_h),
        footer: row(header_h + tabs_h + body_h, footer_h),
    }
}

/// Data rows a list view shows in `body`.
pub fn list_rows(body: Rect) -> usize {
    body.height.saturating_sub(LIST_HEADER_ROWS) as usize
}

/// Draw everything.
pub fn draw(state: &State, frame: &mut Frame) {
    render(state, frame.area(), frame.buffer_mut());
}

/// Draw everything into a buffer (what tests and the benchmark call).
pub fn render(state: &State, area: Rect, buf: &mut Buffer) {
    let a = areas(area);
    header::render(state, a.header, buf);
    header::render_tabs(state, a.tabs, buf);
    if state.shown().is_none() && state.view != ViewId::System {
        waiting(state, a.body, buf);
    } else {
        match state.view {
            ViewId::Tree => tree::render(state, a.body, buf),
            ViewId::Processes => processes::render(state, a.body, buf),
            ViewId::Detail => detail::render(state, a.body, buf),
            ViewId::System => system::render(state, a.body, buf),
            ViewId::Alerts => alerts::render(state, a.body, buf),
        }
    }
    header::render_footer(state, a.footer, buf);
    if state.help {
        overlay::help(state, area, buf);
    }
    if let Some(c) = &state.confirm {
        overlay::confirm(state, c, area, buf);
    }
}

fn waiting(state: &State, area: Rect, buf: &mut Buffer) {
    let t = &state.settings.theme;
    let text = match &state.model.conn {
        crate::source::ConnState::Failed(why) => Line::styled(format!("  {why}"), t.bad()),
        _ => Line::styled("  waiting for the first sample…", t.dim()),
    };
    Paragraph::new(vec![Line::default(), text])
        .block(title_block(state, "Beamline"))
        .render(area, buf);
}

/// A view's frame: one line on top carrying the title, no side borders (80 columns are precious).
pub fn title_block<'a>(state: &State, title: impl Into<Line<'a>>) -> Block<'a> {
    let t = &state.settings.theme;
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

#[cfg(test)]
pub(crate) mod tests;
