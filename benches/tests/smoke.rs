//! Every peer runs every workload at a tiny size, so the benchmarks cannot rot unnoticed: CI
//! times nothing but does run these (a few hundred milliseconds in all).

use beamline_benches::flavor::{self, Flavor};
use beamline_benches::peers::actix::Actix;
use beamline_benches::peers::beamline::{self as bl, Beamline};
use beamline_benches::peers::kameo::Kameo;
use beamline_benches::peers::ractor::Ractor;
use beamline_benches::peers::tokio_raw::Raw;
use beamline_benches::peers::{self, actix, kameo, ractor, tokio_raw};
use beamline_benches::workload::{self, Peer};

async fn message_path<P: Peer>(peer: P) {
    for fan in [1, 4] {
        workload::cast(peer.clone(), fan, 50).await;
    }
    for fan in [1, 100] {
        workload::call(peer.clone(), fan, 200).await;
    }
    let (_, workers) = workload::spawn(peer, 100).await;
    assert_eq!(workers.len(), 100);
}

#[test]
fn tokio_peers_on_both_flavors() {
    peers::quiet_panics();
    for flavor in Flavor::ALL {
        let rt = flavor.runtime();
        flavor::run(&rt, message_path(Raw));
        flavor::run(&rt, message_path(Ractor));
        flavor::run(&rt, message_path(Kameo));
        for instrument in [true, false] {
            let b = rt.block_on(async { Beamline::new(instrument) });
            flavor::run(&rt, message_path(b.clone()));
            flavor::run(&rt, bl::restart(b.rt.clone(), 3));
        }
        flavor::run(&rt, tokio_raw::restart(3));
        flavor::run(&rt, ractor::restart(3));
        flavor::run(&rt, kameo::restart(3));
    }
}

#[test]
fn actix_on_its_system() {
    flavor::run_actix(message_path(Actix));
    flavor::run_actix(actix::restart(3));
}

#[test]
fn stream_reports_a_snapshot_then_small_deltas() {
    let rt = Flavor::Current.runtime();
    let stream = rt.block_on(async {
        let b = Beamline::new(true);
        let idle = beamline_benches::publishing::idle_processes(&b.rt, 1_000).await;
        let _churn = beamline_benches::publishing::Churn::start(idle[..10].to_vec());
        beamline_benches::publishing::watch(&b.rt, 3).await
    });
    assert_eq!(stream.snapshot_processes, 1_000, "{stream:?}");
    assert_eq!(stream.delta_bytes.len(), 3);
    assert!(
        stream.delta_bytes[2] < stream.snapshot_bytes / 10,
        "{stream:?}"
    );
}

/// The attach workload at a tiny size: every window is measured and the snapshot is complete.
#[test]
fn attach_measures_a_complete_snapshot() {
    use beamline_benches::{attach, observers};
    let rt = Flavor::Current.runtime();
    let f = rt.block_on(async {
        let b = Beamline::new(true);
        let idle = beamline_benches::publishing::idle_processes(&b.rt, 1_000).await;
        let f = attach::measure(1_000, || observers::observe(&b.rt, 1_000)).await;
        drop(idle);
        f
    });
    assert!(f.processes >= 1_000, "{f:?}");
    assert!(f.first_ms > 0.0, "{f:?}");
}
