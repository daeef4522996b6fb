//! Each process's hottest message type in its samples (issue 19): picked by the sampler from
//! the per-type counters, named once per connection, never sent to a version-3 client.

use crate::support::*;
use beamline::wire::{
    ClientMsg, Hello, MAX_FRAME_LEN, PROTOCOL_VERSION, Pid, ServerMsg, as_protocol, frame,
};
use beamline::{CallReply, Ctx, EndpointConfig, GenServer, InitError, Next, Observation};
use beamline::{VariantNames, wire::ProcessSample};
use tokio::io::AsyncReadExt;

/// Calls named through `MESSAGE_VARIANTS`, a cast of one variant.
struct Ledger;

enum Cmd {
    Deposit,
    Balance,
}

impl GenServer for Ledger {
    type Args = ();
    type Call = Cmd;
    type Reply = ();
    type Cast = u64;
    type Info = ();
    const MESSAGE_VARIANTS: VariantNames = VariantNames {
        call: &["Deposit", "Balance"],
        ..VariantNames::NONE
    };

    async fn init(_: (), _: &mut Ctx<Self>) -> Result<Self, InitError> {
        Ok(Ledger)
    }
    async fn handle_call(&mut self, _: Cmd, _: &mut Ctx<Self>) -> CallReply<()> {
        CallReply::reply(())
    }
    async fn handle_cast(&mut self, _: u64, _: &mut Ctx<Self>) -> Next {
        Next::noreply()
    }
}

/// The next snapshot or delta, taking the type names that come before it into `names`.
async fn next_sample(obs: &mut Observation, names: &mut Vec<String>) -> ServerMsg {
    loop {
        match obs.recv().await.expect("stream ended") {
            ServerMsg::TypeNames(t) => {
                assert_eq!(t.first as usize, names.len(), "names follow each other");
                names.extend(t.names);
            }
            m @ (ServerMsg::Snapshot(_) | ServerMsg::Delta(_)) => return m,
            _ => {}
        }
    }
}

/// The hot type of `pid` in `msg`, by name.
fn hot(msg: &ServerMsg, pid: Pid, names: &[String]) -> Option<String> {
    let s = changed(msg, pid).unwrap_or_else(|| panic!("{pid} not in {msg:?}"));
    s.hot_type.map(|id| names[id as usize].clone())
}

/// What each interval gained decides, not the totals: after 5 deposits and 3 balances, an
/// interval of 2 balances and 1 deposit is a balance interval.
#[tokio::test(start_paused = true)]
async fn the_sample_names_the_type_that_gained_most_over_the_interval() {
    let rt = runtime(1000);
    let mut obs = rt.observe();
    let ledger = rt.start::<Ledger>(()).await.unwrap();
    let mut names = Vec::new();
    next_sample(&mut obs, &mut names).await;
    for _ in 0..5 {
        ledger.call(Cmd::Deposit).await.unwrap();
    }
    for _ in 0..3 {
        ledger.call(Cmd::Balance).await.unwrap();
    }
    let d = next_sample(&mut obs, &mut names).await;
    assert_eq!(
        hot(&d, ledger.pid(), &names).as_deref(),
        Some("Cmd::Deposit")
    );
    for _ in 0..2 {
        ledger.call(Cmd::Balance).await.unwrap();
    }
    ledger.call(Cmd::Deposit).await.unwrap();
    let d = next_sample(&mut obs, &mut names).await;
    assert_eq!(
        hot(&d, ledger.pid(), &names).as_deref(),
        Some("Cmd::Balance")
    );
    // Nothing handled: its rates fall to zero and it has no hot type.
    let d = next_sample(&mut obs, &mut names).await;
    assert_eq!(hot(&d, ledger.pid(), &names), None);
    ledger.cast(7).await.unwrap();
    let d = next_sample(&mut obs, &mut names).await;
    assert_eq!(hot(&d, ledger.pid(), &names).as_deref(), Some("u64"));
    assert_eq!(
        names,
        ["Cmd::Deposit", "Cmd::Balance", "u64"],
        "each named once"
    );
}

/// Read one frame's bytes (length prefix included).
async fn raw(s: &mut tokio::net::TcpStream) -> Vec<u8> {
    let mut len = [0u8; 4];
    s.read_exact(&mut len).await.unwrap();
    let mut out = len.to_vec();
    out.resize(4 + u32::from_be_bytes(len) as usize, 0);
    s.read_exact(&mut out[4..]).await.unwrap();
    out
}

/// A version-3 observer on the same endpoint as a current one: it never gets `TypeNames`, and
/// every frame it gets is exactly what version 3 encodes (decoded and encoded again as version
/// 3, the bytes match), while the current observer sees the ledger's hot type.
#[tokio::test]
async fn a_version_3_observer_gets_version_3_frames_and_no_type_names() {
    let rt = runtime(100);
    let cookies = TempDir::new("cookies");
    let ep = rt
        .serve(
            EndpointConfig::parse("127.0.0.1:0")
                .unwrap()
                .cookie_dir(cookies.0.join("c")),
        )
        .unwrap();
    let ledger = rt.start::<Ledger>(()).await.unwrap();
    let mut conns = Vec::new();
    for version in [3, PROTOCOL_VERSION] {
        let mut s = tokio::net::TcpStream::connect(ep.local_addr().unwrap())
            .await
            .unwrap();
        let hello = ClientMsg::Hello(Hello {
            version,
            token: ep.token().map(String::from),
            client: "t".into(),
        });
        frame::write(&mut s, &hello).await.unwrap();
        conns.push((version, s));
    }
    let mut seen_hot = [false; 2];
    let mut welcomed = [false; 2];
    while !seen_hot[1] || !seen_hot[0] {
        for _ in 0..20 {
            ledger.call(Cmd::Deposit).await.unwrap();
        }
        for (i, (version, s)) in conns.iter_mut().enumerate() {
            let bytes = raw(s).await;
            let msg: ServerMsg = as_protocol(*version, || frame::decode(&bytes, MAX_FRAME_LEN))
                .unwrap()
                .unwrap()
                .0;
            let again = as_protocol(*version, || frame::encode(&msg)).unwrap();
            assert_eq!(again, bytes, "version {version}: {msg:?}");
            match &msg {
                ServerMsg::Welcome(w) => {
                    assert_eq!(w.version, *version);
                    welcomed[i] = true;
                }
                ServerMsg::TypeNames(_) => assert_eq!(*version, PROTOCOL_VERSION),
                ServerMsg::Delta(_) => {
                    if let Some(ProcessSample { hot_type, .. }) = changed(&msg, ledger.pid()) {
                        if *version == 3 {
                            assert_eq!(hot_type, None);
                            seen_hot[0] = true;
                        } else if hot_type.is_some() {
                            seen_hot[1] = true;
                        }
                    }
                }
                _ => {}
            }
        }
    }
    assert_eq!(welcomed, [true, true]);
}

/// Casts that take 300 ms each, handled in one batch.
struct Slow;

impl GenServer for Slow {
    type Args = ();
    type Call = ();
    type Reply = ();
    type Cast = u64;
    type Info = ();

    async fn init(_: (), _: &mut Ctx<Self>) -> Result<Self, InitError> {
        Ok(Slow)
    }
    async fn handle_call(&mut self, _: (), _: &mut Ctx<Self>) -> CallReply<()> {
        CallReply::reply(())
    }
    async fn handle_cast(&mut self, _: u64, _: &mut Ctx<Self>) -> Next {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        Next::noreply()
    }
}

/// A batch's counts land every 8 messages: a process whose callbacks are slow gains nothing in
/// some intervals while it is still busy with the same type, and keeps its name in them instead
/// of flickering to none.
#[tokio::test(start_paused = true)]
async fn a_process_in_the_middle_of_a_slow_batch_keeps_its_hot_type() {
    let rt = runtime(1000);
    let mut obs = rt.observe();
    let slow = rt.start::<Slow>(()).await.unwrap();
    let mut names = Vec::new();
    next_sample(&mut obs, &mut names).await;
    for i in 0..30 {
        slow.try_cast(i).unwrap();
    }
    // 30 casts of 300 ms: one batch of 9 s; counts land at 2.4 s, 4.8 s and 7.2 s.
    let mut seen = Vec::new();
    for _ in 0..8 {
        let d = next_sample(&mut obs, &mut names).await;
        if changed(&d, slow.pid()).is_some() {
            seen.push(hot(&d, slow.pid(), &names));
        }
    }
    let first = seen.iter().position(Option::is_some).expect("named once");
    assert!(
        seen[first..].iter().all(|h| h.as_deref() == Some("u64")),
        "kept while the batch runs: {seen:?}"
    );
    assert!(
        seen.len() - first >= 4,
        "several intervals after the first: {seen:?}"
    );
}
