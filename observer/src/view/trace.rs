//! The Trace view (issue 19): one process's traced messages, newest first, in place of the
//! Detail body. Scrolls (↑↓ PgUp/PgDn), pauses (Space) and filters by type (`/`); the title
//! says whether the trace runs, how it ended (a limit, "rate limit tripped") and what was
//! dropped.

use super::chrome::title_block;
use super::fmt;
use crate::state::{State, TraceState};
use beamline_wire::trace::{Direction, TraceEvent};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

/// Column widths before the free-width text at 80 columns: time, direction, kind, type, bytes,
/// peer, handle.
const WIDTHS: [usize; 7] = [9, 4, 6, 14, 6, 16, 8];
/// The PEER column's index in [`WIDTHS`].
const PEER: usize = 5;
/// The widest the PEER column grows on a wide terminal.
const PEER_MAX: usize = 40;

/// [`WIDTHS`] for a view `width` columns wide: PEER takes half of every column beyond 80 (up to
/// [`PEER_MAX`]), so that peers' names are whole on a wide terminal (`bottleneck/clerk-13`,
/// not `…eneck/clerk-13`); the text keeps the rest.
fn widths(width: usize) -> [usize; 7] {
    let mut w = WIDTHS;
    w[PEER] = (WIDTHS[PEER] + width.saturating_sub(80) / 2).min(PEER_MAX);
    w
}

/// Render the Trace view of `t` into `area`.
pub fn render(state: &State, t: &TraceState, area: Rect, buf: &mut Buffer) {
    let th = state.theme();
    let label =
        (state.shown().and_then(|m| m.get(t.pid))).map_or_else(|| t.pid.to_string(), |p| p.label());
    let block = title_block(state, format!(" Trace {label} · {} ", t.summary()));
    let inner = block.inner(area);
    block.render(area, buf);
    let needle = state.query().needle();
    let shown = t.shown(&needle);
    let mut lines = vec![header(state, inner.width as usize)];
    let rows = inner.height.saturating_sub(2) as usize;
    if shown.is_empty() {
        let why = if needle.is_empty() {
            "no messages yet: the trace shows what this process receives and sends"
        } else {
            "no message of a type matching the filter"
        };
        lines.push(Line::styled(format!(" {why}"), th.dim()));
    }
    let first = t.scroll.min(shown.len().saturating_sub(1));
    for e in shown.iter().skip(first).take(rows) {
        lines.push(row(state, e, inner.width as usize));
    }
    Paragraph::new(lines).render(inner, buf);
    let hint = Line::from(vec![
        Span::styled(" t/Esc", th.key()),
        Span::styled(" detail  ", th.dim()),
        Span::styled("Space", th.key()),
        Span::styled(" pause  ", th.dim()),
        Span::styled("/", th.key()),
        Span::styled(" type  ", th.dim()),
        Span::styled("↑↓", th.key()),
        Span::styled(
            format!(" scroll ({}/{})", first + 1, shown.len().max(1)),
            th.dim(),
        ),
    ]);
    if inner.height > 1 {
        let last = Rect::new(inner.x, inner.bottom() - 1, inner.width, 1);
        Paragraph::new(hint).render(last, buf);
    }
}

fn cell(text: &str, width: usize) -> String {
    format!("{:<width$}", fmt::clip(text, width - 1))
}

fn header(state: &State, width: usize) -> Line<'static> {
    let titles = ["TIME", "DIR", "KIND", "TYPE", "BYTES", "PEER", "HANDLE"];
    let mut s = String::from(" ");
    for (t, w) in titles.iter().zip(widths(width)) {
        s.push_str(&cell(t, w));
    }
    s.push_str("TEXT");
    Line::styled(s, state.theme().heading())
}

fn row(state: &State, e: &TraceEvent, width: usize) -> Line<'static> {
    let th = state.theme();
    let dir = match e.direction {
        Direction::In => "in",
        Direction::Out => "out",
    };
    let handle = e
        .handle_us
        .map_or(String::new(), |us| fmt::micros(us as f64));
    let cells = [
        format!("{}.{:03}s", e.at_ms / 1000, e.at_ms % 1000),
        dir.to_string(),
        e.kind.as_str().to_string(),
        e.type_name.clone(),
        fmt::bytes(e.bytes),
        e.peer_label(),
        handle,
    ];
    let mut spans = vec![Span::raw(" ")];
    let widths = widths(width);
    for (i, (c, w)) in cells.iter().zip(widths).enumerate() {
        let style = if i == 1 && e.direction == Direction::Out {
            th.warn()
        } else {
            th.text()
        };
        // A peer's name keeps its end, which tells `bottleneck/clerk-3` from `clerk-13`.
        let text = if i == PEER {
            format!("{:<w$}", fmt::clip_start(c, w - 1))
        } else {
            cell(c, w)
        };
        spans.push(Span::styled(text, style));
    }
    let used: usize = 1 + widths.iter().sum::<usize>();
    let text = e.text.as_deref().unwrap_or("");
    if width > used + 1 && !text.is_empty() {
        spans.push(Span::styled(fmt::clip(text, width - used), th.dim()));
    }
    Line::from(spans)
}
