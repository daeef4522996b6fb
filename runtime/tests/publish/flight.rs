//! The flight recorder (issue 17): history kept while an endpoint serves, handed to a late
//! subscriber before its snapshot; state sizes measured when publishing starts; version-2
//! observers still served.

use crate::support::*;
use beamline::wire::{ClientMsg, Hello, MAX_FRAME_LEN, PROTOCOL_VERSION, Pid, ServerMsg, frame};
use beamline::{
    CallReply, Ctx, EndpointConfig, FlightConfig, GenServer, InitError, Next, ObserveAddr,
    StateSize,
};
use std::time::Duration;

/// Keeps every cast: its state grows by 1 KiB a message (a leak).
pub struct Hoard {
    kept: Vec<u8>,
}

impl GenServer for Hoard {
    type Args = ();
    type Call = ();
    type Reply = usize;
    type Cast = ();
    type Info = ();

    async fn init(_: (), _ctx: &mut Ctx<Self>) -> Result<Self, InitError> {
        Ok(Hoard { kept: Vec::new() })
    }

    async fn handle_call(&mut self, _: (), _ctx: &mut Ctx<Self>) -> CallReply<usize> {
        CallReply::reply(self.kept.len())
    }

    async fn handle_cast(&mut self, _: (), _ctx: &mut Ctx<Self>) -> Next {
        self.kept.extend(std::iter::repeat_n(0u8, 1024));
        Next::noreply()
    }

    fn state_size(&self) -> StateSize {
        StateSize::deep(self.kept.len())
    }
}

/// A Unix-socket endpoint in a temporary directory (never connected to here: it only keeps
/// the flight recorder fed).
fn serve_unix(rt: &beamline::Runtime) -> (beamline::Endpoint, TempDir) {
    let dir = TempDir::new("flight");
    let ep = rt
        .serve(EndpointConfig::new(ObserveAddr::Unix(dir.0.join("s"))))
        .unwrap();
    (ep, dir)
}

/// Everything before the first snapshot: the history ticks, then the snapshot.
async fn history_then_snapshot(
    obs: &mut beamline::Observation,
) -> (Vec<beamline::wire::Delta>, beamline::wire::Snapshot) {
    let mut past = Vec::new();
    loop {
        match obs.recv().await.expect("stream ended") {
            ServerMsg::Welcome(_) => {}
            ServerMsg::History(d) => past.push(d),
            // The names the snapshot's hot types refer to (protocol 4).
            ServerMsg::TypeNames(_) => {}
            ServerMsg::Snapshot(s) => return (past, s),
            other => panic!("before the snapshot: {other:?}"),
        }
    }
}

async fn read(s: &mut tokio::net::TcpStream) -> ServerMsg {
    frame::read::<ServerMsg, _>(s, MAX_FRAME_LEN)
        .await
        .unwrap()
        .unwrap()
}

fn state_of(d: &beamline::wire::Delta, pid: Pid) -> Option<u64> {
    d.changed
        .iter()
        .find(|p| p.id == pid)
        .map(|p| p.state_bytes)
}

/// A process leaking for 30 s while an endpoint serves and nobody watches: a subscriber that
/// comes afterwards gets the 30 s first, oldest first, the leak rising through them, then its
/// snapshot.
#[tokio::test(start_paused = true)]
async fn a_late_subscriber_gets_the_last_minutes_before_its_snapshot() {
    let rt = runtime(1000);
    let (_ep, _dir) = serve_unix(&rt);
    let hoard = rt.start::<Hoard>(()).await.unwrap();
    for _ in 0..30 {
        hoard.cast(()).await.unwrap();
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let mut obs = rt.observe();
    let (past, snap) = history_then_snapshot(&mut obs).await;
    assert!(past.len() >= 28, "{} ticks", past.len());
    let sizes: Vec<u64> = past
        .iter()
        .filter_map(|d| state_of(d, hoard.pid()))
        .collect();
    assert!(sizes.len() >= 28, "{sizes:?}");
    assert!(sizes.windows(2).all(|w| w[0] <= w[1]), "{sizes:?}");
    assert!(*sizes.last().unwrap() >= 28 * 1024, "{sizes:?}");
    assert!(
        past.windows(2)
            .all(|w| w[0].seq < w[1].seq && w[0].at_ms < w[1].at_ms)
    );
    assert!(
        past.last().unwrap().seq < snap.seq,
        "history comes before the live stream"
    );
    assert!(
        past.first().unwrap().at_ms <= 2_000,
        "it goes back to the start"
    );
}

/// Nothing is kept while nobody publishes: no endpoint and no subscriber, no history.
#[tokio::test(start_paused = true)]
async fn no_history_without_publishing() {
    let rt = runtime(1000);
    let hoard = rt.start::<Hoard>(()).await.unwrap();
    for _ in 0..5 {
        hoard.cast(()).await.unwrap();
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let mut obs = rt.observe();
    let (past, _) = history_then_snapshot(&mut obs).await;
    assert!(past.is_empty(), "{past:?}");
}

/// A runtime with the recorder off serves its endpoint as before: no history.
#[tokio::test(start_paused = true)]
async fn a_recorder_turned_off_keeps_nothing() {
    let rt = beamline::Runtime::builder()
        .observe_from_env(false)
        .flight_recorder(FlightConfig::off())
        .build();
    let (_ep, _dir) = serve_unix(&rt);
    let hoard = rt.start::<Hoard>(()).await.unwrap();
    for _ in 0..5 {
        hoard.cast(()).await.unwrap();
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    assert_eq!(rt.flight_held().ticks, 0);
    let mut obs = rt.observe();
    let (past, _) = history_then_snapshot(&mut obs).await;
    assert!(past.is_empty());
}

/// History lives only while publishing is on: once the endpoint goes and nobody subscribes,
/// the sampler idles and forgets it.
#[tokio::test(start_paused = true)]
async fn history_goes_when_publishing_stops() {
    let rt = runtime(1000);
    let (ep, _dir) = serve_unix(&rt);
    let hoard = rt.start::<Hoard>(()).await.unwrap();
    for _ in 0..5 {
        hoard.cast(()).await.unwrap();
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    assert!(rt.flight_held().ticks >= 4);
    drop(ep);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(rt.flight_held().ticks, 0);
}

/// A process that grew its state while nobody observed shows its size now in the first
/// snapshot, not the size it had at spawn.
#[tokio::test(start_paused = true)]
async fn state_sizes_are_measured_when_publishing_starts() {
    let rt = runtime(1000);
    let hoard = rt.start::<Hoard>(()).await.unwrap();
    for _ in 0..300 {
        hoard.cast(()).await.unwrap();
    }
    assert_eq!(hoard.call(()).await.unwrap(), 300 * 1024);
    let mut obs = rt.observe();
    let (_, snap) = history_then_snapshot(&mut obs).await;
    let p = snap.processes.iter().find(|p| p.id == hoard.pid()).unwrap();
    assert_eq!(p.state_bytes, 300 * 1024, "the size now, not at spawn");
}

/// A version-2 observer is still served: welcomed in version 2, sent no history (a message
/// it could not decode), its snapshot first.
#[tokio::test]
async fn a_version_2_observer_is_refused_and_a_current_one_gets_history() {
    let rt = runtime(100);
    let cookies = TempDir::new("cookies");
    let ep = rt
        .serve(
            EndpointConfig::parse("127.0.0.1:0")
                .unwrap()
                .cookie_dir(cookies.0.join("c")),
        )
        .unwrap();
    let hoard = rt.start::<Hoard>(()).await.unwrap();
    while rt.flight_held().ticks < 3 {
        hoard.cast(()).await.unwrap();
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for version in [2, PROTOCOL_VERSION] {
        let mut s = tokio::net::TcpStream::connect(ep.local_addr().unwrap())
            .await
            .unwrap();
        let hello = ClientMsg::Hello(Hello {
            version,
            token: ep.token().map(String::from),
            client: "old".into(),
        });
        frame::write(&mut s, &hello).await.unwrap();
        match (version, read(&mut s).await) {
            // Version 3 changed how samples are encoded: an older observer could not read them.
            (2, ServerMsg::Refused(why)) => assert!(why.contains("version"), "{why}"),
            (PROTOCOL_VERSION, ServerMsg::Welcome(w)) => {
                assert_eq!(w.version, version);
                let next = read(&mut s).await;
                assert!(matches!(next, ServerMsg::History(_)), "{next:?}");
            }
            (v, other) => panic!("version {v}: {other:?}"),
        }
    }
}

mod black_box {
    use super::*;
    use beamline::flight::black_box::BlackBox;
    use beamline::supervisor::ChildSpec;
    use beamline::wire::record;

    /// Panics a moment after it starts.
    struct Doomed;

    impl GenServer for Doomed {
        type Args = ();
        type Call = ();
        type Reply = ();
        type Cast = ();
        type Info = ();

        async fn init(_: (), ctx: &mut Ctx<Self>) -> Result<Self, InitError> {
            ctx.send_after((), Duration::from_millis(300));
            Ok(Doomed)
        }

        async fn handle_info(&mut self, _: beamline::Info<()>, _ctx: &mut Ctx<Self>) -> Next {
            panic!("doomed");
        }
    }

    /// The black box is written on a blocking thread: wait (in real time, bounded) for it.
    fn written(path: &std::path::Path) -> record::Recording {
        let until = std::time::Instant::now() + Duration::from_secs(20);
        while !path.exists() {
            assert!(
                std::time::Instant::now() < until,
                "no black box at {path:?}"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        record::read(std::fs::File::open(path).unwrap()).unwrap()
    }

    /// Replay a recording into a table: it must apply entry after entry.
    fn replay(rec: &record::Recording) -> (usize, beamline::wire::table::ProcessTable) {
        let mut table = beamline::wire::table::ProcessTable::default();
        let mut samples = 0;
        for (i, e) in rec.entries.iter().enumerate() {
            match (&e.msg, i) {
                (ServerMsg::Welcome(_), 0) => {}
                (ServerMsg::Snapshot(s), 1) => table.apply_snapshot(s),
                (ServerMsg::Delta(d), _) if i > 1 => table.apply_delta(d).unwrap(),
                (m, i) => panic!("entry {i}: {m:?}"),
            }
            samples += (i > 0) as usize;
        }
        (samples, table)
    }

    /// The root supervisor gives up (its child crashes faster than it may restart it): the
    /// runtime, watched by nobody, writes the minutes before to its black box by itself.
    #[tokio::test(start_paused = true)]
    async fn the_root_giving_up_writes_the_black_box() {
        let dir = TempDir::new("blackbox");
        let path = dir.0.join("box.rec");
        let rt = beamline::Runtime::builder()
            .observe_from_env(false)
            .quiet_panics(true)
            .black_box(BlackBox::new(&path))
            .build();
        let hoard = rt.start::<Hoard>(()).await.unwrap();
        for _ in 0..10 {
            hoard.cast(()).await.unwrap();
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        assert!(!path.exists(), "nothing wrong yet");
        rt.supervise(ChildSpec::worker::<Doomed>("doomed", ()))
            .await
            .unwrap();
        for _ in 0..10 {
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        let rec = written(&path);
        let (samples, table) = replay(&rec);
        assert!(samples >= 10, "the minutes before are there: {samples}");
        let root = table
            .processes
            .iter()
            .find(|p| p.name.as_deref() == Some("root"))
            .expect("the root in the last tick");
        let sup = root.supervisor.as_ref().unwrap();
        assert!(sup.restarts_in_window > sup.max_restarts, "{sup:?}");
        assert!(
            table.get(hoard.pid()).unwrap().state_bytes >= 9 * 1024,
            "the leak before the crash is in it"
        );
    }

    /// A configured trigger (a mailbox deeper than 50) writes it too, and the file holds no
    /// more than its size limit: the newest ticks, still replayable.
    #[tokio::test(start_paused = true)]
    async fn a_configured_trigger_writes_at_most_max_bytes() {
        let dir = TempDir::new("blackbox");
        let path = dir.0.join("box.rec");
        let config = BlackBox {
            on_mailbox_over: Some(50),
            // Small enough that only some of the ~33 ticks fit (samples are compact since
            // protocol 3).
            max_bytes: 2048,
            ..BlackBox::new(&path)
        };
        let rt = beamline::Runtime::builder()
            .observe_from_env(false)
            .black_box(config)
            .build();
        let hoard = rt.start::<Hoard>(()).await.unwrap();
        let slow = rt.start::<Worker>(()).await.unwrap();
        for _ in 0..30 {
            hoard.cast(()).await.unwrap();
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        assert!(!path.exists());
        for _ in 0..60 {
            slow.cast(Work::Busy(Duration::from_secs(1))).await.unwrap();
        }
        tokio::time::sleep(Duration::from_secs(3)).await;
        let bytes = written(&path);
        let len = std::fs::metadata(&path).unwrap().len();
        assert!(len <= 2048, "{len} bytes");
        let (samples, table) = replay(&bytes);
        assert!(
            (2..30).contains(&samples),
            "only the newest ticks fit: {samples}"
        );
        assert!(table.get(slow.pid()).unwrap().mailbox_len >= 50);
    }
}
