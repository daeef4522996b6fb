//! Random and mutated frames against a live endpoint over a real loopback socket: whatever a
//! client sends, the runtime does not panic, keeps serving its other clients and processes, and
//! answers a bad client with `Refused` before closing its connection.

use crate::support::{Counter, runtime};
use beamline::endpoint::MAX_CLIENT_FRAME;
use beamline::wire::{
    ClientMsg, ControlRequest, Hello, MAX_FRAME_LEN, MIN_CLIENT_VERSION, PROTOCOL_VERSION,
    ServerMsg, frame,
};
use beamline::{EndpointConfig, ServerRef};
use proptest::prelude::*;
use std::net::SocketAddr;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

const TOKEN: &str = "sesame";
const THREADS: &str = "fuzz-endpoint";

/// Panics on the fixture's own runtime threads (where the endpoint runs).
static PANICS: AtomicU64 = AtomicU64::new(0);

struct Fixture {
    tokio: tokio::runtime::Runtime,
    addr: SocketAddr,
    counter: ServerRef<Counter>,
    /// Samples received by a well-behaved observer attached all along.
    watcher: tokio::sync::watch::Receiver<u64>,
    _rt: beamline::Runtime,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let prev = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if std::thread::current()
                .name()
                .is_some_and(|n| n.starts_with(THREADS))
            {
                PANICS.fetch_add(1, Relaxed);
            }
            prev(info)
        }));
        let tokio = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name(THREADS)
            .enable_all()
            .build()
            .unwrap();
        let (rt, addr, counter, watcher) = tokio.block_on(async {
            let rt = runtime(100);
            let ep = rt
                .serve(
                    EndpointConfig::parse("127.0.0.1:0")
                        .unwrap()
                        .token(TOKEN)
                        .max_clients(64),
                )
                .unwrap();
            let addr = ep.local_addr().unwrap();
            ep.detach();
            let counter = rt.start::<Counter>(()).await.unwrap();
            let (tx, rx) = tokio::sync::watch::channel(0u64);
            let mut s = TcpStream::connect(addr).await.unwrap();
            frame::write(&mut s, &hello(PROTOCOL_VERSION, Some(TOKEN)))
                .await
                .unwrap();
            tokio::spawn(async move {
                let mut n = 0;
                while let Ok(Some(m)) = frame::read::<ServerMsg, _>(&mut s, MAX_FRAME_LEN).await {
                    if matches!(m, ServerMsg::Snapshot(_) | ServerMsg::Delta(_)) {
                        n += 1;
                        let _ = tx.send(n);
                    }
                }
            });
            (rt, addr, counter, rx)
        });
        Fixture {
            tokio,
            addr,
            counter,
            watcher,
            _rt: rt,
        }
    })
}

fn hello(version: u16, token: Option<&str>) -> ClientMsg {
    ClientMsg::Hello(Hello {
        version,
        token: token.map(String::from),
        client: "fuzz".into(),
    })
}

/// What the endpoint must answer, worked out with the wire crate alone.
#[derive(Debug, PartialEq)]
enum Expect {
    /// Fewer than 4 bytes: the client left before saying anything; the endpoint just closes.
    Nothing,
    Welcome,
    Refused,
}

/// `None` for inputs this test leaves out: control requests that would kill or restart
/// processes or change the sampling interval after a valid handshake (the endpoint is meant to
/// obey those).
fn expect(bytes: &[u8]) -> Option<Expect> {
    let first = match frame::decode::<ClientMsg>(bytes, MAX_CLIENT_FRAME) {
        Ok(None) if bytes.len() < 4 => return Some(Expect::Nothing),
        Ok(None) | Err(_) => return Some(Expect::Refused),
        Ok(Some((m, used))) => (m, used),
    };
    match first.0 {
        ClientMsg::Hello(h)
            if (MIN_CLIENT_VERSION..=PROTOCOL_VERSION).contains(&h.version)
                && h.token.as_deref() == Some(TOKEN) =>
        {
            let mut rest = &bytes[first.1..];
            while let Ok(Some((m, used))) = frame::decode::<ClientMsg>(rest, MAX_CLIENT_FRAME) {
                if let ClientMsg::Control { request, .. } = m
                    && matches!(
                        request,
                        ControlRequest::Kill { .. }
                            | ControlRequest::Restart { .. }
                            | ControlRequest::SetInterval { .. }
                    )
                {
                    return None;
                }
                rest = &rest[used..];
            }
            Some(Expect::Welcome)
        }
        _ => Some(Expect::Refused),
    }
}

/// Send `bytes`, close our side, and collect what the endpoint says until it closes.
async fn exchange(addr: SocketAddr, bytes: &[u8]) -> Vec<ServerMsg> {
    let mut s = TcpStream::connect(addr).await.unwrap();
    // The endpoint may close before taking everything; that is its right.
    let _ = s.write_all(bytes).await;
    let _ = s.shutdown().await;
    let mut got = Vec::new();
    let read_all = async {
        while let Ok(Some(m)) = frame::read::<ServerMsg, _>(&mut s, MAX_FRAME_LEN).await {
            got.push(m);
        }
    };
    tokio::time::timeout(Duration::from_secs(10), read_all)
        .await
        .expect("the endpoint neither answered nor closed within 10 s");
    got
}

fn valid_frames() -> impl Strategy<Value = Vec<u8>> {
    let hellos = prop_oneof![
        Just(hello(PROTOCOL_VERSION, Some(TOKEN))),
        Just(hello(PROTOCOL_VERSION, None)),
        Just(hello(PROTOCOL_VERSION, Some("sesamE"))),
        any::<u16>().prop_map(|v| hello(v, Some(TOKEN))),
        Just(ClientMsg::Control {
            id: 1,
            request: ControlRequest::Logs {
                pid: beamline::Pid(1)
            }
        }),
    ];
    let tail = prop_oneof![
        Just(None),
        Just(Some(ClientMsg::Control {
            id: 7,
            request: ControlRequest::RenderState {
                pid: beamline::Pid(3)
            }
        })),
        Just(Some(hello(PROTOCOL_VERSION, Some(TOKEN)))),
    ];
    (hellos, tail).prop_map(|(first, then)| {
        let mut out = frame::encode(&first).unwrap();
        if let Some(then) = then {
            out.extend(frame::encode(&then).unwrap());
        }
        out
    })
}

fn input() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        // Noise.
        proptest::collection::vec(any::<u8>(), 0..256),
        // Valid frames, mutated: bytes overwritten, then cut short or extended with noise.
        (
            valid_frames(),
            proptest::collection::vec((any::<usize>(), any::<u8>()), 0..4),
            any::<usize>(),
            proptest::collection::vec(any::<u8>(), 0..64)
        )
            .prop_map(|(mut b, edits, cut, noise)| {
                for (at, v) in edits {
                    let n = b.len();
                    b[at % n] = v;
                }
                if cut % 3 == 0 {
                    b.truncate(cut % (b.len() + 1));
                } else if cut % 3 == 1 {
                    b.extend(noise);
                }
                b
            }),
        // A plausible length prefix, possibly above the client limit, then noise.
        (
            prop_oneof![
                0u32..64,
                (MAX_CLIENT_FRAME as u32 - 2)..(MAX_CLIENT_FRAME as u32 + 2),
                Just(u32::MAX)
            ],
            proptest::collection::vec(any::<u8>(), 0..128)
        )
            .prop_map(|(len, body)| {
                let mut b = len.to_be_bytes().to_vec();
                b.extend(body);
                b
            }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn hostile_bytes_never_hurt_the_endpoint(bytes in input()) {
        let f = fixture();
        let Some(want) = expect(&bytes) else { return Ok(()) };
        let got = f.tokio.block_on(exchange(f.addr, &bytes));
        match want {
            Expect::Nothing => prop_assert!(
                !got.iter().any(|m| matches!(m, ServerMsg::Welcome(_))),
                "{got:?}"
            ),
            Expect::Welcome => prop_assert!(matches!(got.first(), Some(ServerMsg::Welcome(_))), "{got:?}"),
            Expect::Refused => {
                prop_assert!(
                    matches!(&got[..], [ServerMsg::Refused(why)] if !why.is_empty()),
                    "expected exactly one Refused, got {got:?}"
                );
            }
        }
        // Everyone else is still served: a process answers, and the long-lived observer keeps
        // receiving samples.
        f.tokio.block_on(async {
            f.counter.cast(1).await.unwrap();
            assert!(f.counter.call(()).await.unwrap() >= 1);
            let mut w = f.watcher.clone();
            let before = *w.borrow_and_update();
            tokio::time::timeout(Duration::from_secs(5), w.wait_for(|n| *n > before))
                .await
                .expect("the attached observer stopped receiving samples")
                .unwrap();
        });
        prop_assert_eq!(PANICS.load(Relaxed), 0, "a panic on the endpoint's threads");
    }
}
