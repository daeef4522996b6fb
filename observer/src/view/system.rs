//! The runtime as a whole: totals, throughput, tokio worker load and queues, what was dropped or
//! missed, and charts of each over time.

use super::chart::{self, Scale, Series};
use super::chrome::{gutter, title_block};
use super::fmt;
use crate::model::MAX_MOMENTS;
use crate::model::history::POINT_BUDGET;
use crate::state::State;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

/// Render the System view.
pub fn render(state: &State, area: Rect, buf: &mut Buffer) {
    let block = title_block(state, " System ");
    let inner = block.inner(area);
    block.render(area, buf);
    let facts = facts(state);
    // The figures take what their longest line needs (at most half); the charts the rest. The
    // history line grows as the observer runs: room for its widest form is kept from the start,
    // so the charts do not move (paused, they must not move at all).
    let widest = facts.iter().map(Line::width).max().unwrap_or(0);
    let room = LABEL + history(POINT_BUDGET, MAX_MOMENTS + 1).chars().count();
    let w = widest.max(room) as u16 + 1;
    let [left, right] = Layout::horizontal([
        Constraint::Length(w.min(inner.width / 2)),
        Constraint::Fill(1),
    ])
    .areas(inner);
    // One blank column before the charts even when the figures are cut at half the width.
    Paragraph::new(facts).render(gutter(left), buf);
    charts(state, right, buf);
}

/// Columns a figure's label takes, with its padding.
const LABEL: usize = 18;

/// The "history kept" figure: `points` chart points over `kept` samples.
fn history(points: usize, kept: usize) -> String {
    format!("{} pts · {kept} samples", fmt::count(points as u64))
}

/// The figures column: the shown sample's totals, then the observer's own.
fn facts(state: &State) -> Vec<Line<'static>> {
    let t = state.theme();
    let row = |k: &str, v: String| {
        Line::from(vec![
            Span::styled(format!("{k:<LABEL$}"), t.heading()),
            Span::raw(v),
        ])
    };
    let m = state.model();
    let mut lines = super::nodes::system_lines(state);
    if let Some(s) = state.shown() {
        let y = &s.system;
        lines.extend([
            row("processes", fmt::count(y.processes)),
            row(
                "spawned / exited",
                format!(
                    "{} / {}",
                    fmt::count(y.spawned_total),
                    fmt::count(y.exited_total)
                ),
            ),
            row("messages/s", fmt::si(y.msgs_per_s)),
            row(
                "workers",
                format!("{} · {} busy", y.workers, fmt::percent(y.worker_busy)),
            ),
            row(
                "queue depth",
                format!(
                    "global {} · local {}",
                    y.global_queue_depth, y.local_queue_depth
                ),
            ),
            row("tokio tasks", fmt::count(y.alive_tasks)),
            row("dropped msgs", fmt::count(y.dropped_total)),
            row("dead letters", fmt::count(y.dead_letters)),
            row("runtime missed", fmt::count(y.missed_updates)),
            row("sample cost", fmt::micros(y.sample_cost_us as f64)),
        ]);
    }
    lines.extend([
        row("observer missed", fmt::count(state.missed())),
        row("history kept", history(m.history.total_points(), m.kept())),
    ]);
    lines
}

/// Four charts of the runtime over the retained history, up to the shown moment.
fn charts(state: &State, right: Rect, buf: &mut Buffer) {
    let cut = state.shown().map_or(u64::MAX, |m| m.at_ms);
    let pts: Vec<_> = (state.model().history.system.iter())
        .filter(|p| p.at_ms <= cut)
        .collect();
    let pts = &pts[pts.len().saturating_sub(right.width as usize)..];
    let si = |v: f64| fmt::si(v);
    let pct = |v: f64| fmt::percent(v);
    let series = [
        Series {
            name: "processes",
            data: pts.iter().map(|p| p.processes as f64).collect(),
            scale: Scale::Zero,
            fmt: &si,
        },
        Series {
            name: "messages/s",
            data: pts.iter().map(|p| f64::from(p.msgs_per_s)).collect(),
            scale: Scale::Zero,
            fmt: &si,
        },
        Series {
            name: "worker busy",
            data: pts.iter().map(|p| f64::from(p.worker_busy)).collect(),
            scale: Scale::Fixed(1.0),
            fmt: &pct,
        },
        Series {
            name: "queue depth",
            data: pts.iter().map(|p| p.queue_depth as f64).collect(),
            scale: Scale::Zero,
            fmt: &si,
        },
    ];
    chart::stacked(state.theme(), right, buf, &series);
}
