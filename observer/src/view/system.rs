//! The runtime as a whole: totals, throughput, tokio worker load and queues, what was dropped or
//! missed, and charts of each over time.

use super::chrome::{stacked_charts, title_block};
use super::fmt;
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
    let [left, right] =
        Layout::horizontal([Constraint::Length(40), Constraint::Fill(1)]).areas(inner);
    Paragraph::new(facts(state)).render(left, buf);
    charts(state, right, buf);
}

/// The figures column: the shown sample's totals, then the observer's own.
fn facts(state: &State) -> Vec<Line<'static>> {
    let t = state.theme();
    let row = |k: &str, v: String| {
        Line::from(vec![
            Span::styled(format!("{k:<18}"), t.heading()),
            Span::raw(v),
        ])
    };
    let m = state.model();
    let mut lines = Vec::new();
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
        row(
            "history kept",
            format!(
                "{} points · {} moments",
                fmt::count(m.history.total_points() as u64),
                m.kept()
            ),
        ),
    ]);
    lines
}

/// Four charts of the runtime over the retained history.
fn charts(state: &State, right: Rect, buf: &mut Buffer) {
    let h = &state.model().history.system;
    let take = right.width as usize;
    let pts: Vec<_> = h.iter().rev().take(take).rev().collect();
    let series: [(&str, Vec<u64>); 4] = [
        ("processes", pts.iter().map(|p| p.processes).collect()),
        (
            "messages/s",
            pts.iter().map(|p| p.msgs_per_s.round() as u64).collect(),
        ),
        (
            "worker busy %",
            pts.iter()
                .map(|p| (p.worker_busy * 100.0).round() as u64)
                .collect(),
        ),
        ("queue depth", pts.iter().map(|p| p.queue_depth).collect()),
    ];
    let last: Vec<u64> = series
        .iter()
        .map(|(_, d)| d.last().copied().unwrap_or(0))
        .collect();
    stacked_charts(state.theme(), right, buf, series.into(), |i, max| {
        format!(
            "now {} · max {}",
            fmt::si(last[i] as f64),
            fmt::si(max as f64)
        )
    });
}
