use beamline_observer::fixture;
use beamline_observer::model::{
    History,
    diagnosis::{Diagnoser, Thresholds},
    events::Events,
};
use beamline_observer::state::Rows;
use beamline_observer::vocab::Column;
use beamline_wire::{ProcessTable, table::diff};
use std::time::Instant;
fn main() {
    let n = 100_000;
    let t0 = ProcessTable::from_snapshot(fixture::large(0, n));
    let mut tables = vec![std::sync::Arc::new(t0)];
    for s in 1..6 {
        let d = diff(&fixture::large(s - 1, n), &fixture::large(s, n));
        let t = tables.last().unwrap().successor(d).unwrap();
        tables.push(std::sync::Arc::new(t));
    }
    let mut h = History::default();
    let mut e = Events::default();
    let mut dg = Diagnoser::new(Thresholds::default());
    for i in 0..tables.len() {
        let m = &tables[i];
        let a = Instant::now();
        h.record(m);
        let th = a.elapsed();
        let a = Instant::now();
        e.observe(if i > 0 { Some(&tables[i - 1]) } else { None }, m);
        let te = a.elapsed();
        let a = Instant::now();
        let al = dg.update(m, &h);
        let td = a.elapsed();
        let a = Instant::now();
        let r = Rows::table(m, Column::Mailbox, true, "");
        let tr = a.elapsed();
        let a = Instant::now();
        let rt = Rows::tree(m, &Default::default(), "", &|p| e.start_order(p));
        let tt = a.elapsed();
        let a = Instant::now();
        let hc = h.clone();
        let thc = a.elapsed();
        let a = Instant::now();
        let ec = e.clone();
        let tec = a.elapsed();
        println!(
            "record {th:?} events {te:?} diag {td:?} ({}) table {tr:?} tree {tt:?} clone-hist {thc:?} clone-events {tec:?} {} {} {}",
            al.len(),
            r.len(),
            rt.len(),
            hc.total_points() + ec.iter().count()
        );
    }
}
