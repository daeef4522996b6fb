//! Things drawn on top of a view: the help screen and the yes/no confirmation.

use crate::state::State;
use crate::vocab::{Column, Confirm};
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Widget};

fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let [v] = Layout::vertical([Constraint::Length(h.min(area.height))])
        .flex(Flex::Center)
        .areas(area);
    let [r] = Layout::horizontal([Constraint::Length(w.min(area.width))])
        .flex(Flex::Center)
        .areas(v);
    r
}

/// The key reference.
pub fn help(state: &State, area: Rect, buf: &mut Buffer) {
    let t = state.theme();
    let sort = |cols: &[Column]| -> String {
        cols.iter()
            .map(|c| format!("{} {}", c.key(), c.title().to_lowercase()))
            .collect::<Vec<_>>()
            .join(" · ")
    };
    let keys: Vec<(&str, String)> = vec![
        ("q Ctrl-C", "quit".into()),
        ("Tab 1-7", "views: tree, processes, detail, system,".into()),
        ("", "alerts, events, memory".into()),
        ("↑↓ j k", "move · PgUp/PgDn page · g/G first/last".into()),
        ("Enter", "detail of the process (alert: its culprit;".into()),
        ("", "a restarted process: its successor)".into()),
        ("Esc", "back · close · clear the filter".into()),
        ("/", "filter: name, pid, type, key (key:x, node:x)".into()),
        ("sort by", sort(&Column::ALL[..4])),
        ("", sort(&Column::ALL[4..8])),
        (
            "",
            format!("{} · y type · d node · r reverse", sort(&Column::ALL[8..])),
        ),
        ("c C E", "tree: fold · fold all · expand all (←/→)".into()),
        ("Space", "pause: everything as of one sample".into()),
        ("← →", "while paused: one sample back / forward".into()),
        ("+ -", "sampling interval; replay: speed".into()),
        ("K R", "kill / restart via supervisor (asks first)".into()),
        ("Q", "detail: its first queued messages".into()),
        ("t", "detail: trace its messages (Space pause,".into()),
        ("", "/ type, ↑↓ scroll; t again: back)".into()),
        ("[ ] { }", "replay: 10 s back / fwd · first / last".into()),
        ("", "replay: 1x 4x 16x max; [ rewinds at end".into()),
        (
            "mouse",
            "click selects, twice opens; titles sort; wheel".into(),
        ),
    ];
    let lines: Vec<Line> = keys
        .into_iter()
        .map(|(k, v)| {
            Line::from(vec![
                Span::styled(format!(" {k:<9}"), t.key()),
                Span::raw(v),
            ])
        })
        .collect();
    // As wide as the longest line, so no phrase is wrapped.
    let w = lines.iter().map(Line::width).max().unwrap_or(40) as u16 + 3;
    let r = centered(area, w, lines.len() as u16 + 2);
    Clear.render(r, buf);
    Paragraph::new(lines)
        .block(
            Block::bordered()
                .title(Line::styled(" Keys · any key closes ", t.heading()))
                .border_style(t.heading()),
        )
        .render(r, buf);
}

/// The confirmation for a destructive action.
pub fn confirm(state: &State, c: &Confirm, area: Rect, buf: &mut Buffer) {
    let t = state.theme();
    let q = match c {
        Confirm::Kill(pid, label) => format!("Kill {label} ({pid})?"),
        Confirm::Restart(pid, label) => {
            format!("Restart {label} ({pid}) through its supervisor?")
        }
    };
    let w = (q.chars().count() as u16 + 6).max(30);
    let r = centered(area, w, 4);
    Clear.render(r, buf);
    Paragraph::new(vec![
        Line::from(format!(" {q}")),
        Line::from(vec![
            Span::styled(" y", t.key()),
            Span::raw(" yes   "),
            Span::styled("any other key", t.key()),
            Span::raw(" no"),
        ]),
    ])
    .block(Block::bordered().border_style(t.bad()).title(" Confirm "))
    .render(r, buf);
}
