//! Recording a stream and reading it back.

use crate::support::*;
use beamline::wire::record::read_all;
use beamline::wire::{ServerMsg, table::ProcessTable};
use std::time::Duration;

#[tokio::test(start_paused = true)]
async fn a_recording_replays_to_the_same_state_as_the_live_stream() {
    let dir = TempDir::new("rec");
    let path = dir.0.join("run.rec");
    let rt = runtime(500);
    let w = rt.start::<Worker>(()).await.unwrap();
    let mut live = rt.observe();
    let recording = rt.record_to(&path).unwrap();
    let mut table = ProcessTable::default();
    let mut history = std::collections::BTreeMap::new();
    for i in 0..6 {
        w.cast(Work::Busy(Duration::from_millis(i * 10)))
            .await
            .unwrap();
        apply(&mut table, &sample(&mut live).await);
        history.insert(table.seq, table.clone());
    }
    let entries = recording.stop().await.unwrap();
    let recorded = read_all(std::fs::File::open(&path).unwrap()).unwrap();
    assert_eq!(recorded.len() as u64, entries);
    assert!(matches!(recorded[0].msg, ServerMsg::Welcome(_)));
    assert!(matches!(recorded[1].msg, ServerMsg::Snapshot(_)));
    assert!(
        recorded
            .windows(2)
            .all(|w| w[0].offset_ms <= w[1].offset_ms)
    );
    let mut replayed = ProcessTable::default();
    for e in &recorded {
        apply(&mut replayed, &e.msg);
    }
    assert!(replayed.seq >= Some(3), "{:?}", replayed.seq);
    while table.seq < replayed.seq {
        apply(&mut table, &sample(&mut live).await);
        history.insert(table.seq, table.clone());
    }
    assert_eq!(history.get(&replayed.seq), Some(&replayed));
}

/// RELIABILITY.md: a recording that cannot be written fails loudly: an error is logged when it
/// stops writing, and `stop` returns the error.
#[cfg(target_os = "linux")]
#[tokio::test(start_paused = true)]
async fn a_recording_to_a_full_disk_is_logged_and_stop_returns_the_error() {
    use std::sync::{Arc, Mutex};
    use tracing_subscriber::prelude::*;
    #[derive(Clone, Default)]
    struct Lines(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Lines {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let lines = Lines::default();
    let out = lines.clone();
    let _guard = tracing_subscriber::registry()
        .with(tracing_subscriber::fmt::layer().with_writer(move || out.clone()))
        .set_default();
    let rt = runtime(500);
    let recording = rt.record_to("/dev/full").unwrap();
    let mut live = rt.observe();
    for _ in 0..3 {
        sample(&mut live).await;
    }
    let err = recording.stop().await.unwrap_err();
    assert!(err.to_string().contains("No space left on device"), "{err}");
    let logged = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
    assert!(
        logged.contains("ERROR")
            && logged.contains("recording stopped")
            && logged.contains("/dev/full"),
        "{logged}"
    );
}
