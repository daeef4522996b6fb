//! One observer over 20 nodes of 10,000 processes each, every process changing every second
//! (issue 20): a frame of each list view and of System, the keys that reorder 200,000 rows
//! (sort, switching view) with the frame after them, the UI loop's commit of one merged sample,
//! and the fleet task's merge of twenty nodes' deltas into it.
//!
//! `nice cargo bench -p beamline-observer --bench fleet`

use beamline_observer::fixture;
use beamline_observer::input::Action;
use beamline_observer::model::Model;
use beamline_observer::model::diagnosis::Thresholds;
use beamline_observer::source::fleet::NodeSpec;
use beamline_observer::source::fleet::merge::Merger;
use beamline_observer::source::{ConnState, SourceEvent};
use beamline_observer::state::{Settings, State};
use beamline_observer::theme::Theme;
use beamline_observer::view;
use beamline_observer::vocab::{Column, ViewId};
use beamline_wire::table::diff;
use beamline_wire::{Delta, ServerMsg};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use std::hint::black_box;
use std::sync::Arc;

const NODES: usize = 20;
const PER_NODE: usize = 10_000;

/// Twenty nodes connected with their first snapshot merged; returns the merger, the merged
/// snapshot and every node's next delta (all its processes changed).
fn fleet() -> (Merger, ServerMsg, Vec<Delta>) {
    let specs: Vec<NodeSpec> = (0..NODES)
        .map(|i| NodeSpec {
            addr: format!("10.0.0.{i}:9000").parse().unwrap(),
            name: Some(format!("n{i:02}")),
            token: None,
        })
        .collect();
    let mut m = Merger::new(&specs);
    for k in 0..NODES {
        m.on_event(k, SourceEvent::Conn(ConnState::Connected), 0);
        m.on_event(
            k,
            SourceEvent::Msg(ServerMsg::Welcome(fixture::welcome(1))),
            0,
        );
        let snap = fixture::large(0, PER_NODE);
        m.on_event(k, SourceEvent::Msg(ServerMsg::Snapshot(snap)), 0);
    }
    let first = m.flush(0, 1000);
    let d = diff(&fixture::large(0, PER_NODE), &fixture::large(1, PER_NODE));
    (m, first, vec![d; NODES])
}

/// The merged sample after every node's delta.
fn merged_delta(m: &mut Merger, deltas: Vec<Delta>) -> ServerMsg {
    for (k, d) in deltas.into_iter().enumerate() {
        m.on_event(k, SourceEvent::Msg(ServerMsg::Delta(d)), 1000);
    }
    m.flush(1000, 1000)
}

fn state() -> (State, ServerMsg, ServerMsg) {
    let (mut m, first, deltas) = fleet();
    let second = merged_delta(&mut m, deltas);
    let mut model = Model::new(Thresholds::default());
    model.apply(SourceEvent::Msg(ServerMsg::Welcome(fixture::welcome(1))));
    model.apply(SourceEvent::Nodes(Arc::new(m.view())));
    model.apply(SourceEvent::Msg(first.clone()));
    model.apply(SourceEvent::Msg(second.clone()));
    let settings = Settings {
        target: "bench".into(),
        theme: Theme::new(true),
        replay: false,
        interval_ms: None,
    };
    let s = State::new(model, settings, Rect::new(0, 0, 200, 60));
    (s, first, second)
}

fn frame_and_keys(c: &mut Criterion) {
    let (mut s, _, _) = state();
    let area = Rect::new(0, 0, 200, 60);
    let mut buf = Buffer::empty(area);
    let mut g = c.benchmark_group("fleet_20x10k");
    g.sample_size(20);
    for v in [ViewId::Tree, ViewId::Processes, ViewId::System] {
        s.handle(Action::View(v));
        s.handle(Action::Page(100));
        g.bench_function(format!("frame_{v:?}"), |b| {
            b.iter(|| {
                buf.reset();
                view::render(black_box(&s), area, &mut buf);
            })
        });
    }
    s.handle(Action::View(ViewId::Processes));
    g.bench_function("key_sort_then_frame", |b| {
        b.iter(|| {
            s.handle(Action::Sort(Column::Mailbox));
            buf.reset();
            view::render(&s, area, &mut buf);
        })
    });
    g.bench_function("key_switch_tree_table_then_frame", |b| {
        let mut tree = false;
        b.iter(|| {
            tree = !tree;
            let v = if tree {
                ViewId::Tree
            } else {
                ViewId::Processes
            };
            s.handle(Action::View(v));
            buf.reset();
            view::render(&s, area, &mut buf);
        })
    });
    g.finish();
}

fn per_sample(c: &mut Criterion) {
    let mut g = c.benchmark_group("fleet_20x10k_sample");
    g.sample_size(10);
    // The deltas arrive decoded (by each node's reader task) and the merged sample is dropped
    // by the model later: neither is the merge's work, so both stay outside the timing.
    g.bench_function("fleet_task_merge_20_deltas", |b| {
        let (mut m, _, deltas) = fleet();
        b.iter_batched(
            || deltas.clone(),
            |d| merged_delta(&mut m, black_box(d)),
            BatchSize::LargeInput,
        )
    });
    // What the `observer-model` thread does with one merged sample (off the UI loop since
    // issue 15's work): the same code `--json` runs in place.
    g.bench_function("apply_merged_sample", |b| {
        let (mut s, _first, second) = state();
        s.handle(Action::View(ViewId::Processes));
        let next = std::cell::Cell::new(s.model().latest().and_then(|m| m.seq).unwrap());
        b.iter_batched(
            || {
                let seq = next.get();
                next.set(seq + 1);
                let ServerMsg::Delta(mut d) = second.clone() else {
                    unreachable!()
                };
                d.seq = seq + 1;
                SourceEvent::Msg(ServerMsg::Delta(d))
            },
            |ev| s.apply(ev),
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

criterion_group!(benches, frame_and_keys, per_sample);
criterion_main!(benches);
