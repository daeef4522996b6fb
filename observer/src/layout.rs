//! Where things go on screen, as pure functions of the terminal size: the views draw into these
//! areas and the state maps clicks and page sizes through the same ones, without drawing.

use crate::vocab::{Column, ViewId};
use ratatui::layout::Rect;

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

/// Split the screen.
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

/// A tab's label: its number key and title, with the alert count on the Alerts tab.
pub fn tab_label(view: ViewId, alerts: usize) -> String {
    let n = view.index() + 1;
    match view {
        ViewId::Alerts if alerts > 0 => format!(" {n} {}({alerts}) ", view.title()),
        _ => format!(" {n} {} ", view.title()),
    }
}

/// Which tab sits at column `x` of the tab bar (for mouse clicks). Labels are measured as
/// [`tab_label`] writes them without alert counts, which only ever widen the last tab.
pub fn tab_at(area: Rect, x: u16) -> Option<ViewId> {
    let mut left = area.x;
    for v in ViewId::ALL {
        let w = tab_label(v, 0).chars().count() as u16;
        let right = if v == ViewId::Alerts {
            area.right()
        } else {
            left + w
        };
        if x >= left && x < right {
            return Some(v);
        }
        left += w;
    }
    None
}

/// Below this width the process table drops its low-value columns (peak and sends) and
/// abbreviates titles.
pub const WIDE: u16 = 100;

/// The process table's columns and their widths at `width` columns of terminal: NAME takes
/// what the others leave. One space separates columns. With `nodes` (watching several), NODE
/// comes first.
pub fn process_columns(width: u16, nodes: bool) -> Vec<(Column, u16)> {
    let wide = width >= WIDE;
    // TYPE (the hottest message type) right after STATUS, first to go when narrow.
    let cols: Vec<Column> =
        (nodes.then_some(Column::Node).into_iter())
            .chain(Column::ALL.into_iter().flat_map(|c| {
                std::iter::once(c).chain((c == Column::Status).then_some(Column::Type))
            }))
            .filter(|c| wide || !matches!(c, Column::Peak | Column::Out | Column::Type))
            .collect();
    let fixed = |c: Column| -> u16 {
        match c {
            Column::Pid => 11,
            Column::Name => 0,
            Column::Status => 7,
            // Room for the title and the sort arrow.
            Column::Mailbox if wide => 8,
            Column::Restarts if wide => 9,
            Column::Restarts => 4,
            Column::Busy => 5,
            Column::Node if wide => 10,
            Column::Node => 6,
            // `Cmd::Withdraw` and the like; longer names are cut.
            Column::Type => 16,
            _ => 6,
        }
    };
    let taken: u16 = cols.iter().map(|c| fixed(*c)).sum::<u16>() + cols.len() as u16 - 1;
    let name = width.saturating_sub(taken).max(8);
    cols.into_iter()
        .map(|c| (c, if c == Column::Name { name } else { fixed(c) }))
        .collect()
}

/// The process table's column title at `x` (for clicks on the header).
pub fn column_at(width: u16, nodes: bool, x: u16) -> Option<Column> {
    let mut left = 0u16;
    for (c, w) in process_columns(width, nodes) {
        if x >= left && x < left + w + 1 {
            return Some(c);
        }
        left += w + 1;
    }
    None
}

/// The first visible row so that `cursor` is on screen, moving as little as possible.
pub fn scroll(offset: usize, cursor: usize, page: usize, len: usize) -> usize {
    let page = page.max(1);
    let mut o = offset.min(len.saturating_sub(page));
    if cursor < o {
        o = cursor;
    } else if cursor >= o + page {
        o = cursor + 1 - page;
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scroll_moves_minimally() {
        assert_eq!(scroll(0, 5, 10, 100), 0);
        assert_eq!(scroll(0, 10, 10, 100), 1);
        assert_eq!(scroll(20, 5, 10, 100), 5);
        assert_eq!(scroll(95, 99, 10, 100), 90);
    }

    #[test]
    fn tabs_are_found_where_they_are_drawn() {
        let bar = Rect::new(0, 2, 80, 1);
        assert_eq!(tab_at(bar, 0), Some(ViewId::Tree));
        assert_eq!(tab_at(bar, 12), Some(ViewId::Processes));
        assert_eq!(tab_at(bar, 79), Some(ViewId::Alerts));
    }
}
