//! One frame with 100,000 processes: the tree and the table must render well under 16 ms, because
//! only visible rows are built. Also measures the per-sample work at 100,000 processes all
//! changing: all of it inline (what the UI loop did before samples were applied off it, and
//! what headless mode still does), the worker's part (apply, history caught up, rows) and the
//! loop's part (swap the frame in).

use beamline_observer::fixture;
use beamline_observer::input::Action;
use beamline_observer::model::Model;
use beamline_observer::model::diagnosis::Thresholds;
use beamline_observer::model::worker::{Frame, Input, Worker};
use beamline_observer::source::SourceEvent;
use beamline_observer::state::sorter::{Sorted, Wanted};
use beamline_observer::state::{Settings, State};
use beamline_observer::theme::Theme;
use beamline_observer::view;
use beamline_observer::vocab::ViewId;
use beamline_wire::ServerMsg;
use beamline_wire::table::diff;
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use std::hint::black_box;

const N: usize = 100_000;

fn state() -> State {
    let mut model = Model::new(Thresholds::default());
    model.apply(SourceEvent::Msg(ServerMsg::Welcome(fixture::welcome(1))));
    model.apply(SourceEvent::Msg(ServerMsg::Snapshot(fixture::large(0, N))));
    model.apply(SourceEvent::Msg(ServerMsg::Delta(diff(
        &fixture::large(0, N),
        &fixture::large(1, N),
    ))));
    let settings = Settings {
        target: "bench".into(),
        theme: Theme::new(true),
        replay: false,
        interval_ms: None,
    };
    State::new(model, settings, Rect::new(0, 0, 200, 60))
}

fn frame(c: &mut Criterion) {
    let mut s = state();
    let area = Rect::new(0, 0, 200, 60);
    let mut buf = Buffer::empty(area);
    let mut g = c.benchmark_group("frame_100k");
    g.sample_size(20);
    for v in [ViewId::Tree, ViewId::Processes, ViewId::System] {
        s.handle(Action::View(v));
        s.handle(Action::Page(100));
        g.bench_function(format!("{v:?}"), |b| {
            b.iter(|| {
                buf.reset();
                view::render(black_box(&s), area, &mut buf);
            })
        });
    }
    g.finish();
}

fn per_sample(c: &mut Criterion) {
    let a = fixture::large(1, N);
    let b = fixture::large(2, N);
    let d = diff(&a, &b);
    let mut g = c.benchmark_group("sample_100k");
    g.sample_size(10);
    g.bench_function("apply_delta_and_reorder_table", |bch| {
        let mut s = state();
        s.handle(Action::View(ViewId::Processes));
        bch.iter(|| {
            let mut d = d.clone();
            let seq = s.model().latest().and_then(|m| m.seq).unwrap();
            d.seq = seq + 1;
            s.apply(SourceEvent::Msg(ServerMsg::Delta(d)));
        })
    });
    // The worker and the loop taking turns as in the TUI: the worker applies the delta, builds
    // the rows and lends a frame; the loop swaps it in and gives the old copy back; the
    // worker catches that copy up before the next sample.
    let t = std::cell::RefCell::new(Turns::new());
    let mut seq = 1;
    let mut next = move || {
        let mut d = d.clone();
        seq += 1;
        d.seq = seq;
        SourceEvent::Msg(ServerMsg::Delta(d))
    };
    g.bench_function("worker_apply_and_rows", |bch| {
        bch.iter_batched(
            &mut next,
            |ev| {
                let f = t.borrow_mut().work(ev);
                // The loop's part (microseconds) is inside this timing.
                t.borrow_mut().land(f);
            },
            BatchSize::LargeInput,
        );
    });
    g.bench_function("ui_loop_land_frame", |bch| {
        bch.iter_batched(
            || t.borrow_mut().work(next()),
            |f| t.borrow_mut().land(f),
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

/// A state showing frames from a worker, taking turns in one thread.
struct Turns {
    s: State,
    w: Worker,
    wanted: Wanted,
    old: Option<Model>,
}

impl Turns {
    fn new() -> Self {
        let settings = Settings {
            target: "bench".into(),
            theme: Theme::new(true),
            replay: false,
            interval_ms: None,
        };
        let mut s = State::new(
            Model::new(Thresholds::default()),
            settings,
            Rect::new(0, 0, 200, 60),
        );
        s.handle(Action::View(ViewId::Processes));
        let wanted = s.offloop();
        let mut t = Turns {
            s,
            w: Worker::new(Thresholds::default()),
            wanted,
            old: None,
        };
        for ev in [
            SourceEvent::Msg(ServerMsg::Welcome(fixture::welcome(1))),
            SourceEvent::Msg(ServerMsg::Snapshot(fixture::large(1, N))),
        ] {
            let f = t.work(ev);
            t.land(f);
        }
        t
    }

    /// The worker's part: take the old copy back, apply, compute the rows, lend a frame.
    fn work(&mut self, ev: SourceEvent) -> Frame<Option<Sorted>> {
        if let Some(m) = self.old.take() {
            self.w.reclaim(m);
        }
        let change = self.w.apply(Input::Event(ev)).unwrap();
        let rows = self.wanted.rows_for_frame(self.w.model());
        self.w.frame(change, rows)
    }

    /// The loop's part: swap the frame in.
    fn land(&mut self, f: Frame<Option<Sorted>>) {
        self.old = Some(self.s.land(f).0);
    }
}

criterion_group!(benches, frame, per_sample);
criterion_main!(benches);
