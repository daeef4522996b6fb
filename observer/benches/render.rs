//! One frame with 100,000 processes: the tree and the table must render well under 16 ms, because
//! only visible rows are built. Also measures the per-sample work at 100,000 processes all
//! changing: all of it inline (what the UI loop did before samples were prepared off it), the
//! part now left on the UI loop (commit), and the part on the worker thread (prepare).

use beamline_observer::fixture;
use beamline_observer::input::Action;
use beamline_observer::model::Model;
use beamline_observer::model::diagnosis::Thresholds;
use beamline_observer::model::worker::Preparer;
use beamline_observer::source::SourceEvent;
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
    g.bench_function("ui_loop_commit_prepared", |bch| {
        let mut s = state();
        s.handle(Action::View(ViewId::Processes));
        let next = std::cell::Cell::new(s.model().latest().and_then(|m| m.seq).unwrap());
        bch.iter_batched(
            || {
                let mut d = d.clone();
                let seq = next.get();
                next.set(seq + 1);
                d.seq = seq + 1;
                // The worker's part, outside the timing: the preparer follows the same seqs.
                let mut p = Preparer::default();
                let mut snap = fixture::large(1, N);
                snap.seq = seq;
                p.prepare(SourceEvent::Msg(ServerMsg::Snapshot(snap)));
                p.prepare(SourceEvent::Msg(ServerMsg::Delta(d)))
            },
            |prepared| s.commit(prepared),
            BatchSize::LargeInput,
        )
    });
    g.bench_function("worker_prepare", |bch| {
        let mut p = Preparer::default();
        p.prepare(SourceEvent::Msg(ServerMsg::Snapshot(fixture::large(1, N))));
        let mut seq = 1;
        bch.iter(|| {
            let mut d = d.clone();
            seq += 1;
            d.seq = seq;
            p.prepare(SourceEvent::Msg(ServerMsg::Delta(d)))
        })
    });
    g.finish();
}

criterion_group!(benches, frame, per_sample);
criterion_main!(benches);
