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
    let l1 = fit(line1(state), area.width);
    Paragraph::new(vec![l1, clip_line(line2(state), area.width)]).render(area, buf);
}

/// A part of the first line and how much it matters: when the line is too wide, parts go from
/// the least important up (the link's state, staleness and missed updates stay longest).
struct Part {
    rank: u8,
    spans: Vec<Span<'static>>,
}

/// The first line: link, staleness, target, node and incarnation, read-only role, uptime,
/// interval, missed updates.
fn line1(state: &State) -> Vec<Part> {
    let t = state.theme();
    let m = state.model();
    let sep = || Span::styled(" │ ", t.dim());
    let part = |rank, spans| Part { rank, spans };
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
    let mut parts = vec![part(
        0,
        vec![Span::styled(format!(" {dot} {conn} "), style)],
    )];
    if let Some(age) = state.stale_for() {
        let age = fmt::duration_ms(age.as_secs() * 1000);
        parts.push(part(
            1,
            vec![Span::styled(format!("stale: data {age} old "), t.warn())],
        ));
    }
    let target = state.settings().target.clone();
    parts.push(part(2, vec![Span::styled(target, t.heading())]));
    if let Some(w) = &m.welcome {
        let node = format!("{} · inc {:x}", w.node, w.incarnation);
        parts.push(part(6, vec![sep(), Span::raw(node)]));
        if w.role == beamline_wire::Role::Observe {
            parts.push(part(3, vec![Span::styled(" · read-only", t.warn())]));
        }
    }
    if let Some(s) = state.shown() {
        let up = format!("up {}", fmt::uptime(s.at_ms));
        parts.push(part(4, vec![sep(), Span::raw(up)]));
    }
    let interval =
        (m.latest().map(|s| s.interval_ms)).or(m.welcome.as_ref().map(|w| w.interval_ms));
    if let Some(i) = interval {
        let mut s = format!("every {}", fmt::duration_ms(i));
        if let Some(r) = state.fetches().interval {
            s.push_str(&format!(" → {}", fmt::duration_ms(r)));
        }
        parts.push(part(5, vec![sep(), Span::raw(s)]));
    }
    let missed = state.missed();
    let style = if missed > 0 { t.warn() } else { t.dim() };
    parts.push(part(
        1,
        vec![sep(), Span::styled(format!("missed {missed}"), style)],
    ));
    parts
}

/// The parts that fit in `width` columns, dropping the least important first (the latest
/// added of equal rank); what still does not fit is cut.
fn fit(mut parts: Vec<Part>, width: u16) -> Line<'static> {
    let len = |p: &Part| p.spans.iter().map(Span::width).sum::<usize>();
    while parts.len() > 1 && parts.iter().map(len).sum::<usize>() > width as usize {
        let least = (parts.iter().enumerate())
            .max_by_key(|(i, p)| (p.rank, *i))
            .map(|(i, _)| i);
        if let Some(i) = least {
            parts.remove(i);
        }
    }
    let spans = parts.into_iter().flat_map(|p| p.spans).collect::<Vec<_>>();
    clip_line(Line::from(spans), width)
}

/// The second line: totals of the shown sample, the pause, and the banner: crash loops first
/// (they explain much else), then refused self-calls (a bug nothing else on screen shows), else
/// the top alert, or why the link is down.
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
            fmt::count(state.process_count(s)),
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
    let at = state.shown().map(|s| s.at_ms);
    let loops = at.map(|at| m.events.crash_loops(at)).unwrap_or_default();
    let self_calls = at.map(|at| m.events.self_calls(at)).unwrap_or_default();
    let more = |n: usize| {
        if n > 1 {
            format!(" (+{} more)", n - 1)
        } else {
            String::new()
        }
    };
    if let Some(trouble) = &m.trouble {
        l2.push(sep());
        l2.push(Span::styled(trouble.to_string(), t.bad()));
    } else if !loops.is_empty() || !self_calls.is_empty() {
        if let Some(l) = loops.first() {
            l2.push(sep());
            l2.push(Span::styled(
                format!(
                    "⟳ crash loop: {} restarted {}× in 1 min{}",
                    l.who,
                    l.restarts,
                    more(loops.len())
                ),
                t.bad(),
            ));
        }
        if let Some(c) = self_calls.first() {
            l2.push(sep());
            l2.push(Span::styled(
                format!(
                    "⟲ self-call refused: {} ×{} in 1 min{}",
                    c.who,
                    c.refused,
                    more(self_calls.len())
                ),
                t.bad(),
            ));
        }
    } else if let Some(a) = state.alerts().first() {
        l2.push(sep());
        // Watching several nodes: which one.
        let on = (a.processes.first())
            .and_then(|p| m.fleet.as_ref()?.name_of(*p).map(|n| format!(" on {n}")))
            .unwrap_or_default();
        l2.push(Span::styled(
            format!("▲ {}{on}: {}", a.kind.as_str(), a.message),
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
        ];
        // Detail is where Enter leads; there, `t` traces instead.
        if state.view() != ViewId::Detail {
            hints.push(("⏎", "detail"));
        }
        match state.view() {
            ViewId::Tree => hints.push(("c", "fold")),
            ViewId::Processes => hints.push(("r", "reverse")),
            ViewId::Detail => {
                hints.push(("Q", "queue"));
                hints.push(("t", "trace"));
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

#[cfg(test)]
mod tests {
    use crate::input::Action;
    use crate::source::SourceEvent;
    use crate::state::State;
    use crate::view::tests::{crashing, state_crashing, state_with};
    use crate::vocab::ViewId;
    use beamline_wire::table::diff;
    use beamline_wire::{ServerMsg, Snapshot};
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    /// The screen as text, one line per row.
    fn text(state: &State) -> Vec<String> {
        let size = state.size();
        let mut t = Terminal::new(TestBackend::new(size.width, size.height)).unwrap();
        t.draw(|f| crate::view::draw(state, f)).unwrap();
        let buf = t.backend().buffer().clone();
        (0..buf.area.height)
            .map(|y| (0..buf.area.width).map(|x| buf[(x, y)].symbol()).collect())
            .collect()
    }

    /// `snapshot` with `account_bob` having had `refused` calls to itself refused.
    fn self_calling(mut snapshot: Snapshot, refused: u64) -> Snapshot {
        let bob = (snapshot.processes.iter_mut())
            .find(|p| p.name.as_deref() == Some("account_bob"))
            .unwrap();
        bob.self_calls_refused = refused;
        snapshot
    }

    /// Feed `state` samples `from..to` of `make`, starting from sample `from - 1`.
    fn feed(state: &mut State, from: u64, to: u64, make: impl Fn(u64) -> Snapshot) {
        for seq in from..to {
            let d = diff(&make(seq - 1), &make(seq));
            state.apply(SourceEvent::Msg(ServerMsg::Delta(d)));
        }
    }

    #[test]
    fn refused_self_calls_are_in_the_banner_and_the_event_log_at_80x24() {
        let mut s = state_with(4);
        let quiet = text(&s);
        assert!(!quiet[1].contains("self-call"), "{}", quiet[1]);
        // Two refusals by the 5th sample, one more by the 6th.
        let refused = |seq: u64| match seq {
            0..=3 => 0,
            4 => 2,
            _ => 3,
        };
        feed(&mut s, 4, 7, |seq| {
            self_calling(crate::fixture::small(seq), refused(seq))
        });
        let screen = text(&s);
        assert!(
            screen[1].contains("⟲ self-call refused: account_bob ×3 in 1 min"),
            "{}",
            screen.join("\n")
        );
        s.handle(Action::View(ViewId::Events));
        let events = text(&s).join("\n");
        assert!(
            events.contains("selfcall account_bob called itself: refused ×1 (3 since spawn)"),
            "{events}"
        );
        assert!(
            events.contains("selfcall account_bob called itself: refused ×2 (2 since spawn)"),
            "{events}"
        );
    }

    /// At 80 columns a long target and an interval change do not fit with everything else:
    /// node and incarnation, then the interval, go first; the link and missed updates stay.
    #[test]
    fn the_header_keeps_the_link_and_missed_updates_at_80x24() {
        let mut s = state_with(4);
        s.set_target("unix:/var/run/beamline/payments-observer.sock".into());
        s.handle(Action::Slower);
        let screen = text(&s);
        assert!(screen[0].contains("● connected"), "{}", screen[0]);
        assert!(screen[0].trim_end().ends_with("missed 0"), "{}", screen[0]);
        assert!(!screen[0].contains("inc 2a"), "{}", screen[0]);
        insta::assert_snapshot!(screen.join("\n"));
        s.handle(Action::Resize(160, 45));
        let wide = text(&s);
        for part in ["inc 2a", "up 0:01:03", "every 1.0s → 2.0s", "missed 0"] {
            assert!(wide[0].contains(part), "{}", wide[0]);
        }
    }

    #[test]
    fn refused_self_calls_come_after_a_crash_loop_in_the_banner() {
        let crashes = [4, 7, 10];
        let mut s = state_crashing(12, &crashes);
        feed(&mut s, 12, 14, |seq| {
            self_calling(crashing(seq, &crashes), if seq >= 13 { 1 } else { 0 })
        });
        s.handle(Action::Resize(160, 45));
        let banner = text(&s)[1].clone();
        let crash = banner.find("⟳ crash loop: account_alice").expect(&banner);
        let self_call = banner
            .find("⟲ self-call refused: account_bob ×1")
            .expect(&banner);
        assert!(crash < self_call, "{banner}");
    }
}
