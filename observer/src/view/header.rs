//! The header (target, link, incarnation, read-only role, uptime, totals, interval, missed updates, top alert),
//! the tab bar and the footer.

use super::fmt;
use crate::layout::tab_label;
use crate::source::ConnState;
use crate::state::State;
use crate::vocab::ViewId;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

/// Render the two header lines.
pub fn render(state: &State, area: Rect, buf: &mut Buffer) {
    let t = state.theme();
    let m = state.model();
    let sep = || Span::styled(" │ ", t.dim());
    let (dot, conn, style) = match &m.conn {
        ConnState::Connecting => ("○", "connecting".to_string(), t.warn()),
        ConnState::Connected => ("●", "connected".to_string(), t.good()),
        ConnState::Retrying { retry_in_ms, .. } => (
            "○",
            format!(
                "disconnected, retrying in {}",
                fmt::duration_ms(*retry_in_ms)
            ),
            t.bad(),
        ),
        ConnState::Failed(_) => ("✕", "refused".to_string(), t.bad()),
        ConnState::Ended => ("■", "ended".to_string(), t.warn()),
    };
    let mut l1 = vec![Span::styled(format!(" {dot} {conn} "), style)];
    if let Some(age) = state.stale_for() {
        l1.push(Span::styled(
            format!(
                "stale: data {} old ",
                fmt::duration_ms(age.as_secs() * 1000)
            ),
            t.warn(),
        ));
    }
    l1.push(Span::styled(state.settings().target.clone(), t.heading()));
    if let Some(w) = &m.welcome {
        l1.push(sep());
        l1.push(Span::raw(format!("{} · inc {:x}", w.node, w.incarnation)));
        if w.role == beamline_wire::Role::Observe {
            l1.push(Span::styled(" · read-only", t.warn()));
        }
    }
    let latest = m.latest();
    if let Some(s) = state.shown() {
        l1.push(sep());
        l1.push(Span::raw(format!("up {}", fmt::uptime(s.at_ms))));
    }
    let interval = latest
        .map(|s| s.interval_ms)
        .or(m.welcome.as_ref().map(|w| w.interval_ms));
    if let Some(i) = interval {
        l1.push(sep());
        let mut s = format!("every {}", fmt::duration_ms(i));
        if let Some(r) = state.fetches().interval {
            s.push_str(&format!(" → {}", fmt::duration_ms(r)));
        }
        l1.push(Span::raw(s));
    }
    let missed = state.missed();
    l1.push(sep());
    l1.push(Span::styled(
        format!("missed {missed}"),
        if missed > 0 { t.warn() } else { t.dim() },
    ));

    Paragraph::new(vec![Line::from(l1), clip_line(line2(state), area.width)]).render(area, buf);
}

/// The second line: totals of the shown sample, the pause, and the banner: crash loops first
/// (they explain much else), then the top alert, or why the link is down.
fn line2(state: &State) -> Line<'static> {
    let t = state.theme();
    let m = state.model();
    let sep = || Span::styled(" │ ", t.dim());
    let mut l2 = vec![Span::raw(" ")];
    let narrow = state.size().width < crate::layout::WIDE;
    if let Some(s) = state.shown() {
        let sys = &s.system;
        let mut totals = format!(
            "{} procs · {} msg/s",
            fmt::count(s.processes.len() as u64),
            fmt::si(sys.msgs_per_s),
        );
        if !narrow {
            totals.push_str(&format!(
                " · workers {} busy",
                fmt::percent(sys.worker_busy)
            ));
        }
        l2.push(Span::raw(totals));
    }
    if let Some(seq) = state.playhead().paused {
        let behind = m
            .latest()
            .and_then(|l| l.seq)
            .map_or(0, |l| l.saturating_sub(seq));
        let at = state.shown().map_or(0, |s| s.at_ms);
        l2.push(sep());
        l2.push(Span::styled(
            format!(
                "PAUSED at {} (#{seq}, {behind} behind) ←/→",
                fmt::uptime(at)
            ),
            t.warn(),
        ));
    }
    let loops = state
        .shown()
        .map(|s| m.events.crash_loops(s.at_ms))
        .unwrap_or_default();
    if let Some(trouble) = &m.trouble {
        l2.push(sep());
        l2.push(Span::styled(trouble.to_string(), t.bad()));
    } else if let Some(l) = loops.first() {
        l2.push(sep());
        let more = if loops.len() > 1 {
            format!(" (+{} more)", loops.len() - 1)
        } else {
            String::new()
        };
        l2.push(Span::styled(
            format!(
                "⟳ crash loop: {} restarted {}× in 1 min{more}",
                l.who, l.restarts
            ),
            t.bad(),
        ));
    } else if let Some(a) = state.alerts().first() {
        l2.push(sep());
        l2.push(Span::styled(
            format!("▲ {}: {}", a.kind.as_str(), a.message),
            t.bad(),
        ));
    } else if let ConnState::Retrying { reason, .. } | ConnState::Failed(reason) = &m.conn {
        l2.push(sep());
        l2.push(Span::styled(reason.clone(), t.bad()));
    }
    Line::from(l2)
}

/// `line` cut to `width` columns, ending in `…` where it was cut.
fn clip_line(line: Line<'static>, width: u16) -> Line<'static> {
    let mut left = width as usize;
    let mut spans = Vec::new();
    for s in line.spans {
        let w = s.content.chars().count();
        if w <= left {
            left -= w;
            spans.push(s);
            continue;
        }
        spans.push(Span::styled(fmt::clip(&s.content, left), s.style));
        break;
    }
    Line::from(spans)
}

/// Render the tab bar.
pub fn render_tabs(state: &State, area: Rect, buf: &mut Buffer) {
    let t = state.theme();
    let alerts = state.alerts().len();
    let mut spans = Vec::new();
    for v in ViewId::ALL {
        let style = if v == state.view() { t.tab() } else { t.text() };
        spans.push(Span::styled(tab_label(v, alerts), style));
    }
    Paragraph::new(Line::from(spans)).render(area, buf);
}

/// Render the footer: the filter being typed, the last note, or key hints.
pub fn render_footer(state: &State, area: Rect, buf: &mut Buffer) {
    let t = state.theme();
    let filter = &state.query().filter;
    let line = if filter.editing {
        Line::from(vec![
            Span::styled(" /", t.key()),
            Span::raw(format!("{}█", filter.text)),
            Span::styled("  Enter keep · Esc clear", t.dim()),
        ])
    } else if let Some(n) = state.note() {
        Line::from(Span::styled(format!(" {n}"), t.warn()))
    } else {
        let mut hints: Vec<(&str, &str)> = vec![
            ("q", "quit"),
            ("?", "help"),
            ("/", "filter"),
            ("Space", "pause"),
            ("⏎", "detail"),
        ];
        match state.view() {
            ViewId::Tree => hints.push(("c", "fold")),
            ViewId::Processes => hints.push(("r", "reverse")),
            ViewId::Detail => {
                hints.push(("K", "kill"));
                hints.push(("R", "restart"));
            }
            _ => {}
        }
        if state.settings().replay {
            hints.push(("[ ]", "seek"));
            hints.push(("+/-", "speed"));
        } else {
            hints.push(("+/-", "interval"));
        }
        let mut spans = vec![Span::raw(" ")];
        if !filter.text.is_empty() {
            spans.push(Span::styled(format!("filter: {}  ", filter.text), t.warn()));
        }
        for (k, what) in hints {
            spans.push(Span::styled(k, t.key()));
            spans.push(Span::styled(format!(" {what} "), t.dim()));
        }
        Line::from(spans)
    };
    Paragraph::new(line).render(area, buf);
}
