//! Issue 14 item 10 and issue 18 item 11: data that stopped arriving (a stopped runtime, a
//! dropped link) is dimmed on screen and the header says how old it is.

use beamline_observer::fixture;
use beamline_observer::model::Model;
use beamline_observer::source::{ConnState, SourceEvent};
use beamline_observer::state::{Settings, State};
use beamline_observer::theme::Theme;
use beamline_observer::{Thresholds, view};
use beamline_wire::ServerMsg;
use beamline_wire::table::diff;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use std::time::Duration;

const AREA: Rect = Rect::new(0, 0, 100, 24);

fn state(replay: bool) -> State {
    let settings = Settings {
        target: "127.0.0.1:7420".into(),
        theme: Theme::new(false),
        replay,
        interval_ms: None,
    };
    let mut s = State::new(Model::new(Thresholds::default()), settings, AREA);
    s.apply(SourceEvent::Conn(ConnState::Connected));
    s.apply(SourceEvent::Msg(ServerMsg::Welcome(fixture::welcome(1))));
    s.apply(SourceEvent::Msg(ServerMsg::Snapshot(fixture::small(0))));
    s
}

/// The header's first line, and whether a cell of the body is dimmed.
fn look(s: &State) -> (String, bool) {
    let mut buf = Buffer::empty(AREA);
    view::render(s, AREA, &mut buf);
    let header: String = (0..AREA.width).map(|x| buf[(x, 0)].symbol()).collect();
    let dim = buf[(2, 5)].modifier.contains(Modifier::DIM);
    (header, dim)
}

#[tokio::test(start_paused = true)]
async fn no_sample_for_two_intervals_dims_the_data_and_shows_its_age() {
    let mut s = state(false);
    let (header, dim) = look(&s);
    assert!(!header.contains("stale") && !dim, "{header}");
    tokio::time::advance(Duration::from_millis(1999)).await;
    assert_eq!(s.stale_for(), None, "within two intervals of 1 s");
    tokio::time::advance(Duration::from_millis(501)).await;
    let (header, dim) = look(&s);
    assert!(
        header.contains("● connected stale: data 2.0s old"),
        "{header}"
    );
    assert!(dim, "the body is dimmed");
    s.apply(SourceEvent::Msg(ServerMsg::Delta(diff(
        &fixture::small(0),
        &fixture::small(1),
    ))));
    let (header, dim) = look(&s);
    assert!(
        !header.contains("stale") && !dim,
        "a sample makes it live: {header}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_dropped_link_is_stale_at_once_and_ages() {
    let mut s = state(false);
    tokio::time::advance(Duration::from_millis(700)).await;
    s.apply(SourceEvent::Conn(ConnState::Retrying {
        reason: "the runtime closed the connection".into(),
        retry_in_ms: 250,
        ever_connected: true,
    }));
    tokio::time::advance(Duration::from_secs(12)).await;
    let (header, dim) = look(&s);
    assert!(header.contains("stale: data 12.0s old"), "{header}");
    assert!(dim);
}

#[tokio::test(start_paused = true)]
async fn a_replay_is_never_stale() {
    let s = state(true);
    tokio::time::advance(Duration::from_secs(60)).await;
    assert_eq!(s.stale_for(), None);
    assert!(!look(&s).1);
}
