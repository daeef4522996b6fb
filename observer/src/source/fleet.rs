//! One observer over many nodes: `--attach` given several times, or `--nodes FILE`.
//!
//! Each node has an [`AttachSource`] of its own, so it connects, fails and reconnects with its own
//! backoff while the others go on. A task per node forwards its events to the merge task, which
//! folds them into one table ([`merge`]) with every pid moved into its node's range ([`ids`]),
//! and hands the observer a merged sample once per interval: to the model, views and JSON the
//! fleet is one runtime whose tree has a row per node. Control requests go back to the node a
//! pid belongs to ([`Router`]), with the pid the runtime knows; a pid from an earlier run of a
//! node is refused rather than sent to whichever process now has that number.

pub mod ids;
pub mod merge;
pub mod spec;
pub mod status;

pub use spec::NodeSpec;
pub use status::{FleetView, Link, NodeView};

use super::Addr;
use super::attach::AttachSource;
use super::event::{ConnState, ControlFuture, Source, SourceEvent};
use beamline_wire::{ControlReply, ControlRequest, Pid, Role, ServerMsg, Welcome};
use merge::Merger;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// Merged samples at this interval until the user says otherwise.
const DEFAULT_INTERVAL_MS: u64 = 1000;
/// The first merged sample waits at most this long for every node's first snapshot.
const FIRST_SAMPLE_WAIT: Duration = Duration::from_secs(5);

/// Sends one node a control request.
pub type Control = Arc<dyn Fn(ControlRequest) -> ControlFuture + Send + Sync>;

/// What the merge task shares with the observer's side: the nodes as last seen (for routing and
/// the header) and the interval the user asked for.
#[derive(Debug, Default)]
struct Shared {
    view: FleetView,
    interval_ms: Option<u64>,
}

/// Locks the shared part; a panic elsewhere does not make the last view wrong.
fn lock(shared: &Mutex<Shared>) -> std::sync::MutexGuard<'_, Shared> {
    shared.lock().unwrap_or_else(|e| e.into_inner())
}

/// Sends each control request to the node its pid belongs to.
#[derive(Clone)]
pub struct Router {
    controls: Vec<Control>,
    shared: Arc<Mutex<Shared>>,
}

impl Router {
    /// Route to `controls[k]` for node `k` of `view`.
    pub fn new(controls: Vec<Control>, view: FleetView) -> Self {
        let shared = Shared {
            view,
            interval_ms: None,
        };
        Router {
            controls,
            shared: Arc::new(Mutex::new(shared)),
        }
    }

    /// Send `request` to its node with the node's own pid; a new interval goes to every node
    /// (and to nodes that connect later).
    pub fn control(&self, request: ControlRequest) -> ControlFuture {
        let pid = match &request {
            ControlRequest::SetInterval { ms } => {
                lock(&self.shared).interval_ms = Some(*ms);
                let all: Vec<ControlFuture> =
                    self.controls.iter().map(|c| c(request.clone())).collect();
                return Box::pin(async move {
                    let replies = futures_util::future::join_all(all).await;
                    let up = replies.contains(&ControlReply::Ok);
                    match replies.into_iter().find(|r| *r != ControlReply::Ok) {
                        Some(ControlReply::Error(e)) if !up => ControlReply::Error(e),
                        _ => ControlReply::Ok,
                    }
                });
            }
            ControlRequest::MessageTypes { pids } => return self.message_types(pids),
            ControlRequest::TraceStart { .. } | ControlRequest::TraceStop { .. } => {
                return super::event::unsupported(
                    "message traces need one node: attach to it alone (observer --attach ADDR)",
                );
            }
            ControlRequest::Kill { pid, .. }
            | ControlRequest::Restart { pid }
            | ControlRequest::RenderState { pid }
            | ControlRequest::Logs { pid }
            | ControlRequest::PeekQueue { pid, .. } => *pid,
        };
        match self.route(pid) {
            Ok((k, local)) => (self.controls[k])(with_pid(request, local)),
            Err(why) => super::event::unsupported(&why),
        }
    }

    /// Messages by type for the pids on the first one's node (the observer asks for the
    /// process it shows), asked with that node's pids and answered with the fleet's.
    fn message_types(&self, pids: &[Pid]) -> ControlFuture {
        let routed: Vec<(Pid, usize, Pid)> = (pids.iter())
            .filter_map(|p| self.route(*p).ok().map(|(k, local)| (*p, k, local)))
            .collect();
        let Some(&(first, k, _)) = routed.first() else {
            return Box::pin(async { ControlReply::MessageTypes(Vec::new()) });
        };
        let generation = ids::generation(first);
        let local: Vec<Pid> = (routed.into_iter())
            .filter(|(_, j, _)| *j == k)
            .map(|(_, _, l)| l)
            .collect();
        let reply = (self.controls[k])(ControlRequest::MessageTypes { pids: local });
        Box::pin(async move {
            match reply.await {
                ControlReply::MessageTypes(mut counts) => {
                    for c in &mut counts {
                        c.pid = ids::global(k, generation, c.pid);
                        // Talkers on the same node, in the fleet's pids too.
                        for t in c.senders.iter_mut().chain(&mut c.receivers) {
                            t.pid = t.pid.map(|p| ids::global(k, generation, p));
                        }
                    }
                    ControlReply::MessageTypes(counts)
                }
                other => other,
            }
        })
    }

    /// The node and runtime pid for fleet pid `pid`, or why it cannot be reached.
    fn route(&self, pid: Pid) -> Result<(usize, Pid), String> {
        let shared = lock(&self.shared);
        let (k, node) = ids::node_of(pid)
            .and_then(|k| Some((k, shared.view.nodes.get(k)?)))
            .filter(|(k, _)| *k < self.controls.len())
            .ok_or_else(|| format!("{pid} is on no node this observer watches"))?;
        if ids::is_node_row(pid) {
            return Err(format!("{} is a node, not a process", node.name));
        }
        if ids::generation(pid) != node.generation {
            return Err(format!(
                "{pid} belonged to an earlier run of node {} (it restarted since)",
                node.name
            ));
        }
        Ok((k, ids::local(pid)))
    }
}

/// `request` aimed at `pid` instead.
fn with_pid(request: ControlRequest, pid: Pid) -> ControlRequest {
    match request {
        ControlRequest::Kill { reason, .. } => ControlRequest::Kill { pid, reason },
        ControlRequest::Restart { .. } => ControlRequest::Restart { pid },
        ControlRequest::RenderState { .. } => ControlRequest::RenderState { pid },
        ControlRequest::Logs { .. } => ControlRequest::Logs { pid },
        ControlRequest::PeekQueue { n, .. } => ControlRequest::PeekQueue { pid, n },
        other => other,
    }
}

/// Several live runtimes seen as one.
pub struct FleetSource {
    events: mpsc::Receiver<SourceEvent>,
    router: Router,
    tasks: Vec<JoinHandle<()>>,
}

impl FleetSource {
    /// Start connecting to every node in the background; `token` is for nodes without their own.
    pub fn spawn(
        specs: Vec<NodeSpec>,
        token: Option<String>,
        tls: Option<super::attach::TlsTrust>,
    ) -> Self {
        let merger = Merger::new(&specs);
        let (node_tx, node_rx) = mpsc::channel(64);
        let (out_tx, events) = mpsc::channel(16);
        let mut tasks = Vec::new();
        let mut controls: Vec<Control> = Vec::new();
        for (k, spec) in specs.into_iter().enumerate() {
            let tls = matches!(spec.addr, Addr::Tls(_))
                .then(|| tls.clone())
                .flatten();
            let mut src =
                AttachSource::spawn_tls(spec.addr, spec.token.or_else(|| token.clone()), tls);
            controls.push(Arc::new(src.controller()));
            let tx = node_tx.clone();
            tasks.push(tokio::spawn(async move {
                while let Some(ev) = src.next().await {
                    if tx.send((k, ev)).await.is_err() {
                        return;
                    }
                }
            }));
        }
        let router = Router::new(controls, merger.view());
        tasks.push(tokio::spawn(merge_loop(
            merger,
            node_rx,
            out_tx,
            router.clone(),
        )));
        FleetSource {
            events,
            router,
            tasks,
        }
    }
}

impl Drop for FleetSource {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl Source for FleetSource {
    async fn next(&mut self) -> Option<SourceEvent> {
        self.events.recv().await
    }

    fn missed(&self) -> u64 {
        0
    }

    fn control(&self, request: ControlRequest) -> ControlFuture {
        self.router.control(request)
    }

    fn describe(&self) -> String {
        lock(&self.router.shared).view.summary()
    }
}

/// The fleet's own handshake, named `fleet`: one incarnation for the whole session (a node's
/// restart is that node's business, see [`ids`]).
fn welcome(interval_ms: u64) -> Welcome {
    let unix_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    Welcome {
        version: beamline_wire::PROTOCOL_VERSION,
        node: "fleet".into(),
        os_pid: std::process::id(),
        incarnation: 1,
        started_unix_ms: unix_ms,
        interval_ms,
        // Each node answers for its own role: a watch-only node refuses what it does not allow.
        role: Role::Operate,
    }
}

/// Fold the nodes' events together and hand out a merged sample each interval, until the
/// observer goes away.
async fn merge_loop(
    mut merger: Merger,
    mut inbox: mpsc::Receiver<(usize, SourceEvent)>,
    out: mpsc::Sender<SourceEvent>,
    router: Router,
) {
    let start = Instant::now();
    let now = || start.elapsed().as_millis() as u64;
    let mut interval = DEFAULT_INTERVAL_MS;
    let hello = [
        SourceEvent::Msg(ServerMsg::Welcome(welcome(interval))),
        SourceEvent::Conn(ConnState::Connecting),
    ];
    for ev in hello {
        if out.send(ev).await.is_err() {
            return;
        }
    }
    let mut conn = ConnState::Connecting;
    let mut next_flush = start + FIRST_SAMPLE_WAIT;
    loop {
        tokio::select! {
            got = inbox.recv() => {
                let Some((k, ev)) = got else { return };
                let welcomed = merger.on_event(k, ev, now());
                let asked = lock(&router.shared).interval_ms;
                if welcomed && let Some(ms) = asked {
                    tokio::spawn((router.controls[k])(ControlRequest::SetInterval { ms }));
                }
                lock(&router.shared).view = merger.view();
                if !merger.started() && merger.settled() {
                    next_flush = Instant::now();
                }
                let c = merger.conn();
                if c != conn {
                    conn = c.clone();
                    if out.send(SourceEvent::Conn(c)).await.is_err() {
                        return;
                    }
                }
            }
            _ = tokio::time::sleep_until(next_flush) => {
                interval = lock(&router.shared).interval_ms.unwrap_or(interval);
                if let Some(names) = merger.new_names()
                    && out.send(SourceEvent::Msg(names)).await.is_err()
                {
                    return;
                }
                let msg = merger.flush(now(), interval);
                let view = Arc::new(merger.view());
                if out.send(SourceEvent::Nodes(view)).await.is_err()
                    || out.send(SourceEvent::Msg(msg)).await.is_err()
                {
                    return;
                }
                next_flush = Instant::now() + Duration::from_millis(interval);
            }
        }
    }
}

#[cfg(test)]
mod tests;
