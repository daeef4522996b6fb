//! Beamline-only workloads on the publishing layer: what the sampler costs per sample (5), how
//! many bytes an attached observer receives per interval (6), and what being watched costs the
//! message path (9).

use crate::peers::beamline::{Beamline, Idle};
use crate::workload::Peer;
use beamline::endpoint::{EndpointConfig, ObserveAddr};
use beamline::wire::{ClientMsg, Hello, PROTOCOL_VERSION, ServerMsg, frame};
use beamline::{Runtime, ServerRef};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// The sampling interval used here: the shortest the runtime allows, so runs stay short.
pub const INTERVAL: Duration = Duration::from_millis(100);

/// `n` idle, started processes (each has handled one message, so each has been polled).
pub async fn idle_processes(rt: &Runtime, n: usize) -> Vec<ServerRef<Idle>> {
    let peer = Beamline { rt: rt.clone() };
    crate::workload::spawn(peer, n).await.1
}

/// Pokes between two yields of [`Churn`]'s task (a few tens of microseconds of casts).
const POKE_BATCH: usize = 128;

/// Keeps `busy` of the processes changing: each gets one message every quarter interval, so
/// every sampler tick sees exactly those processes move. Stops when dropped.
pub struct Churn {
    task: tokio::task::JoinHandle<()>,
}

impl Churn {
    /// Start poking `busy` (a clone of the first processes) every quarter of [`INTERVAL`].
    pub fn start(busy: Vec<ServerRef<Idle>>) -> Churn {
        Churn::every(busy, INTERVAL / 4)
    }

    /// Start poking `busy` every `period` (a quarter of the sampling interval in use, so that
    /// each tick sees them move and the runtime does no more work than that takes).
    pub fn every(busy: Vec<ServerRef<Idle>>, period: Duration) -> Churn {
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(period);
            loop {
                tick.tick().await;
                // In batches that yield: at 1,000,000 processes 1% is 10,000 pokes, which in
                // one poll would hold the worker for milliseconds, and a stall probe beside it
                // would measure this task instead of what it watches.
                for batch in busy.chunks(POKE_BATCH) {
                    for p in batch {
                        <Beamline as Peer>::poke(p);
                    }
                    tokio::task::yield_now().await;
                }
            }
        });
        Churn { task }
    }
}

impl Drop for Churn {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// What one subscription saw: per-tick sampler cost and encoded sizes.
#[derive(Clone, Debug, Default)]
pub struct Stream {
    /// Encoded bytes of the first full snapshot (all its frames).
    pub snapshot_bytes: u64,
    /// Processes in that snapshot.
    pub snapshot_processes: u64,
    /// Encoded bytes of each delta tick after the snapshot.
    pub delta_bytes: Vec<u64>,
    /// Processes carried by each delta tick.
    pub delta_changed: Vec<u64>,
    /// `sample_cost_us` reported by each delta (the runtime's own timing of a tick).
    pub cost_us: Vec<u64>,
    /// `snapshot_bytes` and `delta_bytes` as a protocol-3 client gets them: samples without
    /// their hot type, the bytes from before issue 19's hot types, to measure what they cost.
    pub snapshot_bytes_v3: u64,
    /// See `snapshot_bytes_v3`.
    pub delta_bytes_v3: Vec<u64>,
}

/// Subscribe to `rt` and read `ticks` delta ticks after the first snapshot. Frames are encoded
/// exactly as the endpoint writes them, to count bytes.
pub async fn watch(rt: &Runtime, ticks: usize) -> Stream {
    rt.set_interval(INTERVAL);
    let mut obs = rt.observe();
    let mut out = Stream::default();
    // A big snapshot comes as a `Snapshot` frame followed by `Delta` frames of the same tick
    // (same `at_ms`); a big delta likewise spans several frames of one tick.
    let mut snapshot_at = None;
    let mut last_tick = None;
    while out.delta_bytes.len() < ticks {
        let Some(msg) = obs.recv().await else { break };
        let bytes = frame::encode(&msg).expect("frame encodes").len() as u64;
        let v3 = beamline::wire::as_protocol(3, || frame::encode(&msg))
            .expect("frame encodes")
            .len() as u64;
        match msg {
            ServerMsg::Snapshot(s) if snapshot_at.is_none() => {
                snapshot_at = Some(s.at_ms);
                out.snapshot_bytes += bytes;
                out.snapshot_bytes_v3 += v3;
                out.snapshot_processes += s.processes.len() as u64;
            }
            ServerMsg::Delta(d) if snapshot_at == Some(d.at_ms) => {
                out.snapshot_bytes += bytes;
                out.snapshot_bytes_v3 += v3;
                out.snapshot_processes += d.changed.len() as u64;
            }
            ServerMsg::Delta(d) if snapshot_at.is_some() => {
                if last_tick == Some(d.at_ms) {
                    *out.delta_bytes.last_mut().expect("a tick") += bytes;
                    *out.delta_bytes_v3.last_mut().expect("a tick") += v3;
                    *out.delta_changed.last_mut().expect("a tick") += d.changed.len() as u64;
                } else {
                    last_tick = Some(d.at_ms);
                    out.delta_bytes.push(bytes);
                    out.delta_bytes_v3.push(v3);
                    out.delta_changed.push(d.changed.len() as u64);
                    out.cost_us.push(d.system.sample_cost_us);
                }
            }
            _ => {}
        }
    }
    out
}

/// An observer attached through the endpoint on a Unix socket, reading and decoding every frame
/// on its own thread (as the observer process would, but without drawing).
pub struct Attached {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    frames: Arc<AtomicU64>,
    thread: Option<JoinHandle<()>>,
    _endpoint: beamline::Endpoint,
    dir: std::path::PathBuf,
}

impl Attached {
    /// Serve `rt` on a fresh socket and attach a reader to it. Call inside `rt`'s tokio runtime.
    pub fn start(rt: &Runtime) -> Attached {
        let dir = std::env::temp_dir().join(format!("beamline-bench-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join("observe.sock");
        let endpoint = rt
            .serve(EndpointConfig::new(ObserveAddr::Unix(path.clone())))
            .expect("endpoint binds");
        let (stop, stopped) = tokio::sync::oneshot::channel();
        let frames = Arc::new(AtomicU64::new(0));
        let thread = std::thread::spawn({
            let frames = frames.clone();
            move || read_frames(path, stopped, frames)
        });
        Attached {
            stop: Some(stop),
            frames,
            thread: Some(thread),
            _endpoint: endpoint,
            dir,
        }
    }

    /// Frames received so far.
    pub fn frames(&self) -> u64 {
        self.frames.load(Ordering::Relaxed)
    }
}

impl Drop for Attached {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn read_frames(
    path: std::path::PathBuf,
    mut stop: tokio::sync::oneshot::Receiver<()>,
    frames: Arc<AtomicU64>,
) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("reader runtime");
    rt.block_on(async move {
        let mut sock = tokio::net::UnixStream::connect(&path)
            .await
            .expect("endpoint accepts");
        let hello = ClientMsg::Hello(Hello {
            version: PROTOCOL_VERSION,
            token: None,
            client: "beamline-benches".into(),
        });
        frame::write(&mut sock, &hello).await.expect("hello sent");
        loop {
            tokio::select! {
                // Dropping a read mid-frame is fine here: the connection is abandoned.
                _ = &mut stop => return,
                next = frame::read::<ServerMsg, _>(&mut sock, frame::MAX_FRAME_LEN) => match next {
                    Ok(Some(_)) => {
                        frames.fetch_add(1, Ordering::Relaxed);
                    }
                    _ => return,
                },
            }
        }
    });
}
