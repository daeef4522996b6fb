//! Replay pace, speeds, pause, step, seeks and damaged files, on the paused clock.

use super::*;
use beamline_wire::{Delta, Snapshot, SystemSample};

fn snap(seq: u64) -> ServerMsg {
    ServerMsg::Snapshot(Snapshot {
        seq,
        at_ms: seq * 1000,
        interval_ms: 1000,
        system: SystemSample::default(),
        processes: vec![],
    })
}

fn delta(seq: u64) -> ServerMsg {
    ServerMsg::Delta(Delta {
        seq,
        at_ms: seq * 1000,
        interval_ms: 1000,
        system: SystemSample::default(),
        changed: vec![],
        removed: vec![],
    })
}

fn entries() -> Vec<RecordEntry> {
    let msgs = [snap(0), delta(1), delta(2), snap(3), delta(4)];
    msgs.into_iter()
        .enumerate()
        .map(|(i, msg)| RecordEntry {
            offset_ms: i as u64 * 1000,
            msg,
        })
        .collect()
}

fn seq(ev: Option<SourceEvent>) -> u64 {
    match ev {
        Some(SourceEvent::Msg(ServerMsg::Snapshot(s))) => s.seq,
        Some(SourceEvent::Msg(ServerMsg::Delta(d))) => d.seq,
        other => panic!("expected a sample, got {other:?}"),
    }
}

/// Whether `r` yields nothing for a minute.
async fn waits(r: &mut ReplaySource) -> bool {
    tokio::time::timeout(Duration::from_secs(60), r.next())
        .await
        .is_err()
}

/// Play up to and including `Ended`.
async fn to_the_end(r: &mut ReplaySource) {
    while r.next().await != Some(SourceEvent::Conn(ConnState::Ended)) {}
}

#[tokio::test(start_paused = true)]
async fn plays_at_recorded_pace() {
    let mut r = ReplaySource::from_entries("t".into(), entries());
    let start = Instant::now();
    assert_eq!(
        r.next().await,
        Some(SourceEvent::Conn(ConnState::Connected))
    );
    assert_eq!(seq(r.next().await), 0);
    assert_eq!(seq(r.next().await), 1);
    assert_eq!(Instant::now() - start, Duration::from_millis(1000));
    for want in 2..=4 {
        assert_eq!(seq(r.next().await), want);
    }
    assert_eq!(r.next().await, Some(SourceEvent::Conn(ConnState::Ended)));
    assert!(waits(&mut r).await, "after the end it waits for a seek");
}

#[tokio::test(start_paused = true)]
async fn pause_blocks_and_step_delivers_one() {
    let mut r = ReplaySource::from_entries("t".into(), entries());
    r.next().await;
    assert_eq!(seq(r.next().await), 0);
    r.playback(Playback::Pause);
    let blocked = tokio::time::timeout(Duration::from_secs(60), r.next()).await;
    assert!(blocked.is_err(), "paused replay delivered a message");
    r.playback(Playback::Step);
    assert_eq!(seq(r.next().await), 1);
    r.playback(Playback::Resume);
    let before = Instant::now();
    assert_eq!(seq(r.next().await), 2);
    assert_eq!(Instant::now() - before, Duration::from_millis(1000));
}

#[tokio::test(start_paused = true)]
async fn seeking_back_resets_to_the_previous_snapshot() {
    let mut r = ReplaySource::from_entries("t".into(), entries());
    r.next().await;
    for _ in 0..5 {
        r.next().await;
    }
    // At 4000 ms; back 2500 ms lands at 1500: the snapshot at 0 then delta 1.
    r.playback(Playback::Seek(-2500));
    assert_eq!(r.next().await, Some(SourceEvent::Reset));
    assert_eq!(seq(r.next().await), 0);
    assert_eq!(seq(r.next().await), 1);
    let before = Instant::now();
    assert_eq!(seq(r.next().await), 2);
    assert_eq!(Instant::now() - before, Duration::from_millis(500));
}

/// Seeking back past the type names a connection sent replays them after its `Welcome`, so
/// the snapshot's hot types are still named (a new `Welcome` starts a new numbering).
#[tokio::test(start_paused = true)]
async fn seeking_back_replays_the_type_names_before_the_snapshot() {
    let names = ServerMsg::TypeNames(beamline_wire::TypeNames {
        first: 0,
        names: vec!["Cmd::Deposit".into()],
    });
    let welcome = ServerMsg::Welcome(crate::fixture::welcome(1));
    let msgs = [
        welcome.clone(),
        names.clone(),
        snap(0),
        delta(1),
        delta(2),
        delta(3),
    ];
    let entries = (msgs.into_iter().enumerate())
        .map(|(i, msg)| RecordEntry {
            offset_ms: i as u64 * 1000,
            msg,
        })
        .collect();
    let mut r = ReplaySource::from_entries("t".into(), entries);
    r.next().await;
    for _ in 0..6 {
        r.next().await;
    }
    r.playback(Playback::Seek(-2500));
    assert_eq!(r.next().await, Some(SourceEvent::Reset));
    assert_eq!(r.next().await, Some(SourceEvent::Msg(welcome)));
    assert_eq!(r.next().await, Some(SourceEvent::Msg(names)));
    assert_eq!(seq(r.next().await), 0);
}

#[tokio::test(start_paused = true)]
async fn plays_at_4x_16x_and_as_fast_as_possible() {
    for (speed, gap_ms) in [(Speed::X4, 250), (Speed::X16, 63), (Speed::Max, 0)] {
        let mut r = ReplaySource::from_entries("t".into(), entries());
        r.playback(Playback::Faster);
        while r.speed() != speed {
            r.playback(Playback::Faster);
        }
        r.next().await;
        assert_eq!(seq(r.next().await), 0);
        let before = Instant::now();
        assert_eq!(seq(r.next().await), 1);
        assert_eq!(
            Instant::now() - before,
            Duration::from_millis(gap_ms),
            "{speed}"
        );
        assert!((1000..1016).contains(&r.position_ms()), "{speed}");
    }
    let mut r = ReplaySource::from_entries("t".into(), entries());
    r.playback(Playback::Slower);
    assert_eq!(r.speed(), Speed::X1, "1x is the slowest");
    for _ in 0..5 {
        r.playback(Playback::Faster);
    }
    assert_eq!(r.speed(), Speed::Max, "max is the fastest");
    assert_eq!(r.describe(), "t at max");
}

#[test]
fn speeds_parse_as_typed() {
    for (s, want) in [
        ("1", Speed::X1),
        ("4x", Speed::X4),
        ("16", Speed::X16),
        ("max", Speed::Max),
    ] {
        assert_eq!(s.parse::<Speed>(), Ok(want));
        assert_eq!(want.to_string().parse::<Speed>(), Ok(want));
    }
    assert!("2".parse::<Speed>().is_err());
}

#[tokio::test(start_paused = true)]
async fn seeks_to_the_first_and_last_entry() {
    let mut r = ReplaySource::from_entries("t".into(), entries());
    r.next().await;
    assert_eq!(seq(r.next().await), 0);
    r.playback(Playback::Seek(i64::MAX));
    for want in 1..=4 {
        assert_eq!(seq(r.next().await), want, "caught up at once");
    }
    assert_eq!(r.position_ms(), 4000);
    assert_eq!(r.next().await, Some(SourceEvent::Conn(ConnState::Ended)));
    r.playback(Playback::Seek(i64::MIN));
    assert_eq!(
        r.next().await,
        Some(SourceEvent::Conn(ConnState::Connected))
    );
    assert_eq!(r.next().await, Some(SourceEvent::Reset));
    assert_eq!(seq(r.next().await), 0);
    let before = Instant::now();
    assert_eq!(seq(r.next().await), 1);
    assert_eq!(Instant::now() - before, Duration::from_millis(1000));
}

/// Issue 18: after the end, `[` could not rewind (the position ran on past the end).
#[tokio::test(start_paused = true)]
async fn rewinds_after_the_end() {
    let mut r = ReplaySource::from_entries("t".into(), entries());
    to_the_end(&mut r).await;
    tokio::time::sleep(Duration::from_secs(30)).await;
    assert_eq!(r.position_ms(), 4000, "the position stops at the end");
    r.playback(Playback::Seek(-2500));
    assert_eq!(
        r.next().await,
        Some(SourceEvent::Conn(ConnState::Connected))
    );
    assert_eq!(r.next().await, Some(SourceEvent::Reset));
    assert_eq!(seq(r.next().await), 0);
    assert_eq!(seq(r.next().await), 1);
    let before = Instant::now();
    assert_eq!(seq(r.next().await), 2);
    assert_eq!(Instant::now() - before, Duration::from_millis(500));
}

#[tokio::test(start_paused = true)]
async fn a_damaged_file_plays_its_good_part_after_saying_where_it_breaks() {
    let dir = std::env::temp_dir().join(format!("observer-dmg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("d.rec");
    let mut w = record::RecordWriter::new(Vec::new()).unwrap();
    for e in entries() {
        w.append(&e).unwrap();
    }
    let mut bytes = w.into_inner();
    let len = bytes.len();
    bytes[len - 3] ^= 0x40;
    std::fs::write(&path, &bytes).unwrap();
    let mut r = ReplaySource::open(&path).unwrap();
    assert_eq!(r.damage().map(|d| d.entries_read), Some(4));
    assert_eq!(
        r.next().await,
        Some(SourceEvent::Conn(ConnState::Connected))
    );
    match r.next().await {
        Some(SourceEvent::Trouble(Trouble::Damaged(why))) => {
            assert!(
                why.starts_with("damaged recording: entry 5 at byte"),
                "{why}"
            );
            assert!(why.contains("checksum"), "{why}");
            assert!(why.contains("read 4 entries (3.0 s)"), "{why}");
        }
        other => panic!("{other:?}"),
    }
    for want in 0..4 {
        assert_eq!(seq(r.next().await), want);
    }
    assert_eq!(r.next().await, Some(SourceEvent::Conn(ConnState::Ended)));
    std::fs::remove_dir_all(&dir).unwrap();
}
