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
        format!(
            "{:<w$} {:<5} {:>9} {:>7} {:>5}",
            "node", "", "processes", "msg/s", "busy"
        ),
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

#[cfg(test)]
mod tests {
    use crate::fixture;
    use crate::input::Action;
    use crate::model::Model;
    use crate::model::diagnosis::Thresholds;
    use crate::source::fleet::{NodeSpec, merge::Merger};
    use crate::source::{ConnState, SourceEvent};
    use crate::state::{Settings, State};
    use crate::theme::Theme;
    use crate::vocab::ViewId;
    use beamline_wire::ServerMsg;
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;
    use ratatui::layout::Rect;
    use std::sync::Arc;

    /// Two nodes up with the small fixture each, a third down, as the model sees them.
    fn fleet_state(width: u16, height: u16) -> State {
        let specs: Vec<NodeSpec> = ["a", "b", "c"]
            .iter()
            .enumerate()
            .map(|(i, n)| NodeSpec {
                addr: format!("127.0.0.1:{}", 9001 + i).parse().unwrap(),
                name: Some(n.to_string()),
                token: None,
            })
            .collect();
        let mut m = Merger::new(&specs);
        for k in 0..2 {
            m.on_event(k, SourceEvent::Conn(ConnState::Connected), 0);
            m.on_event(
                k,
                SourceEvent::Msg(ServerMsg::Welcome(fixture::welcome(1))),
                0,
            );
            let snap = fixture::small(0);
            m.on_event(k, SourceEvent::Msg(ServerMsg::Snapshot(snap)), 0);
        }
        let down = ConnState::Retrying {
            reason: "connection refused".into(),
            retry_in_ms: 800,
            ever_connected: true,
        };
        m.on_event(2, SourceEvent::Conn(down), 0);
        let mut model = Model::new(Thresholds::default());
        model.apply(SourceEvent::Conn(ConnState::Connected));
        model.apply(SourceEvent::Msg(ServerMsg::Welcome(fixture::welcome(1))));
        let merged = m.flush(1000, 1000);
        model.apply(SourceEvent::Nodes(Arc::new(m.view())));
        model.apply(SourceEvent::Msg(merged));
        let settings = Settings {
            target: m.view().summary(),
            theme: Theme::new(false),
            replay: false,
            interval_ms: None,
        };
        State::new(model, settings, Rect::new(0, 0, width, height))
    }

    fn screen(state: &State) -> TestBackend {
        let size = state.size();
        let mut t = Terminal::new(TestBackend::new(size.width, size.height)).unwrap();
        t.draw(|f| crate::view::draw(state, f)).unwrap();
        t.backend().clone()
    }

    #[test]
    fn fleet_tree_has_a_node_level() {
        let s = fleet_state(80, 24);
        insta::assert_snapshot!(screen(&s));
    }

    #[test]
    fn fleet_process_table_has_a_node_column_and_node_filter() {
        let mut s = fleet_state(120, 24);
        s.handle(Action::View(ViewId::Processes));
        insta::assert_snapshot!("fleet_processes", screen(&s));
        s.handle(Action::FilterStart);
        for c in "node:b".chars() {
            s.handle(Action::FilterInput(c));
        }
        s.handle(Action::FilterApply);
        insta::assert_snapshot!("fleet_processes_node_b", screen(&s));
    }

    #[test]
    fn fleet_system_view_has_a_row_per_node_and_totals() {
        let mut s = fleet_state(100, 24);
        s.handle(Action::View(ViewId::System));
        insta::assert_snapshot!(screen(&s));
    }
}
