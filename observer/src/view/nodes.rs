//! What the views add when the observer watches several nodes (see [`crate::source::fleet`]):
//! a node's own row in the tree says up or down, and the System view lists every node above
//! the totals.

use super::fmt;
use crate::source::fleet::ids;
use crate::state::State;
use beamline_wire::ProcessSample;
use ratatui::text::{Line, Span};

/// The STATUS cell of a node's own row in the tree (`None` for a process).
pub fn status_cell(state: &State, p: &ProcessSample) -> Option<Line<'static>> {
    if !ids::is_node_row(p.id) {
        return None;
    }
    let t = state.theme();
    let node = state.model().fleet.as_ref()?.node_of(p.id)?;
    let style = match node.state_word() {
        "up" => t.good(),
        "down" => t.bad(),
        _ => t.warn(),
    };
    Some(Line::styled(node.state_word(), style))
}

/// The System view's node table: a row per node (name, link, processes, messages per second,
/// worker load, or why it is down), then a heading for the totals below. Empty for one runtime.
pub fn system_lines(state: &State) -> Vec<Line<'static>> {
    let Some(fleet) = state.model().fleet.as_ref() else {
        return Vec::new();
    };
    let t = state.theme();
    let w = (fleet.nodes.iter().map(|n| n.name.chars().count()).max())
        .unwrap_or(4)
        .clamp(4, 18);
    let mut lines = vec![Line::styled(
        format!("{:<w$} {:<5} {:>9} {:>7} {:>5}", "node", "", "processes", "msg/s", "busy"),
        t.heading(),
    )];
    for n in &fleet.nodes {
        let name = fmt::clip(&n.name, w);
        let (word, style) = match n.state_word() {
            "up" => ("up", t.good()),
            "down" => ("down", t.bad()),
            _ => ("…", t.warn()),
        };
        let figures = match (&n.system, n.trouble()) {
            (Some(s), _) => format!(
                " {:>9} {:>7} {:>5}",
                fmt::count(s.processes),
                fmt::si(s.msgs_per_s),
                fmt::percent(s.worker_busy)
            ),
            (None, Some(why)) => format!(" {}", fmt::clip(why, 26)),
            (None, None) => String::new(),
        };
        lines.push(Line::from(vec![
            Span::raw(format!("{name:<w$} ")),
            Span::styled(format!("{word:<5}"), style),
            Span::raw(figures),
        ]));
    }
    lines.push(Line::default());
    lines.push(Line::styled(
        format!("all {} nodes ({} up)", fleet.nodes.len(), fleet.up()),
        t.heading(),
    ));
    lines
}
