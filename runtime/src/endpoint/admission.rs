//! Connection slots, in two budgets so that strangers cannot lock observers out.
//!
//! A connection that has not yet said a valid `Hello` is *pending*. Once its task has looked
//! for the `Hello` and found nothing there, and it has been pending for [`GRACE`], it is
//! *silent*. When a new connection finds
//! [`EndpointConfig::max_pending`](super::EndpointConfig::max_pending) pending, the oldest
//! silent connection of the peer holding the most is closed to make room ("busy"). So a crowd
//! of silent clients only ever pushes out its own members, while a real observer, whose
//! `Hello` follows its connection within microseconds, is never silent and never pushed out.
//! Connections not yet silent are let in beyond the budget, up to [`HARD_CAP`] times it; past
//! that, with no silent one to close, newcomers are told "busy". Each pending connection also
//! has the handshake deadline to speak.
//!
//! An authenticated connection moves to the *attached* budget of
//! [`EndpointConfig::max_clients`](super::EndpointConfig::max_clients), which only clients
//! holding the token can fill; beyond it they are told "busy" with the reason.

use super::peer::PeerKey;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::Instant;

/// How many times the pending budget may be taken by connections not yet silent.
pub const HARD_CAP: usize = 4;

/// How long a pending connection may stay quiet before it counts as silent: far longer than a
/// real client takes to send its `Hello` after connecting, far shorter than the deadline.
pub const GRACE: Duration = Duration::from_millis(100);

/// The two budgets of one endpoint.
#[derive(Clone)]
pub(super) struct Admission(Arc<Inner>);

struct Inner {
    max_pending: usize,
    max_attached: usize,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    next_id: u64,
    /// By arrival order: the oldest first.
    pending: BTreeMap<u64, Pending>,
    pending_per_peer: HashMap<PeerKey, usize>,
    attached: usize,
}

struct Pending {
    peer: PeerKey,
    since: Instant,
    /// Its task found nothing to read.
    quiet: bool,
    evict: Arc<Notify>,
}

/// One connection's place; given back when dropped.
pub(super) struct Slot {
    admission: Admission,
    id: u64,
    /// Refused on arrival: every pending place is taken and none can be freed.
    busy: Option<String>,
    attached: bool,
    evict: Arc<Notify>,
}

impl Admission {
    pub fn new(max_pending: usize, max_attached: usize) -> Admission {
        Admission(Arc::new(Inner {
            max_pending,
            max_attached,
            state: Mutex::new(State::default()),
        }))
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Every step leaves the state consistent, so a poisoned lock is still usable.
        self.0.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A pending slot for a new connection from `peer`, making room if the budget is full.
    pub fn enter(&self, peer: PeerKey) -> Slot {
        let evict = Arc::new(Notify::new());
        let mut st = self.lock();
        let mut busy = None;
        if st.pending.len() >= self.0.max_pending {
            match st.victim(Instant::now()) {
                Some(victim) => {
                    if let Some(p) = st.remove_pending(victim) {
                        p.evict.notify_one();
                    }
                }
                None if st.pending.len() >= HARD_CAP * self.0.max_pending => {
                    busy = Some(format!(
                        "busy: {} connections are waiting to say Hello; try again shortly",
                        st.pending.len()
                    ));
                }
                None => {}
            }
        }
        let id = st.next_id;
        st.next_id += 1;
        if busy.is_none() {
            *st.pending_per_peer.entry(peer.clone()).or_default() += 1;
            let p = Pending {
                peer,
                since: Instant::now(),
                quiet: false,
                evict: evict.clone(),
            };
            st.pending.insert(id, p);
        }
        Slot {
            admission: self.clone(),
            id,
            busy,
            attached: false,
            evict,
        }
    }

    /// Connections pending and attached now.
    #[cfg(test)]
    pub fn counts(&self) -> (usize, usize) {
        let st = self.lock();
        (st.pending.len(), st.attached)
    }

    /// The reason given to a pending connection closed to make room.
    pub fn evicted_reason(&self) -> String {
        format!(
            "busy: more than {} connections are waiting to say Hello; this one, silent and the oldest from the address holding the most, was closed to make room",
            self.0.max_pending
        )
    }
}

impl State {
    /// The oldest silent connection of the peer that holds the most pending ones.
    fn victim(&self, now: Instant) -> Option<u64> {
        let silent = |p: &&Pending| p.quiet && now.duration_since(p.since) >= GRACE;
        let mut best: Option<(usize, u64)> = None;
        for (id, p) in self.pending.iter().filter(|(_, p)| silent(p)) {
            let n = self.pending_per_peer.get(&p.peer).copied().unwrap_or(0);
            if best.is_none_or(|(most, _)| n > most) {
                best = Some((n, *id));
            }
        }
        best.map(|(_, id)| id)
    }

    fn remove_pending(&mut self, id: u64) -> Option<Pending> {
        let p = self.pending.remove(&id)?;
        if let Some(n) = self.pending_per_peer.get_mut(&p.peer) {
            *n -= 1;
            if *n == 0 {
                self.pending_per_peer.remove(&p.peer);
            }
        }
        Some(p)
    }
}

impl Slot {
    /// Why this connection is refused on arrival, if it is.
    pub fn busy(&self) -> Option<&str> {
        self.busy.as_deref()
    }

    /// The connection looked for its `Hello` and found nothing yet: once past [`GRACE`], it may
    /// be closed to make room for a newer one.
    pub fn quiet(&self) {
        if let Some(p) = self.admission.lock().pending.get_mut(&self.id) {
            p.quiet = true;
        }
    }

    /// Resolves if this pending connection is closed to make room for a newer one.
    pub async fn evicted(&self) {
        if self.attached || self.busy.is_some() {
            return std::future::pending().await;
        }
        self.evict.notified().await
    }

    /// Move from pending to attached, after a valid `Hello`; `Err` is the "busy" reason.
    pub fn attach(&mut self) -> Result<(), String> {
        let admission = self.admission.clone();
        let mut st = admission.lock();
        if st.remove_pending(self.id).is_none() {
            return Err(admission.evicted_reason());
        }
        if st.attached >= admission.0.max_attached {
            return Err(format!(
                "busy: too many observers connected (at most {}, EndpointConfig::max_clients); try again when one detaches",
                admission.0.max_attached
            ));
        }
        st.attached += 1;
        self.attached = true;
        Ok(())
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut st = self.admission.lock();
        if self.attached {
            st.attached -= 1;
        } else {
            st.remove_pending(self.id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{IpAddr, Ipv4Addr};

    fn ip(n: u8) -> PeerKey {
        PeerKey::Ip(IpAddr::V4(Ipv4Addr::new(10, 0, 0, n)))
    }

    fn is_evicted(s: &Slot) -> bool {
        use std::future::Future;
        let fut = std::pin::pin!(s.evicted());
        let waker = std::task::Waker::noop();
        fut.poll(&mut std::task::Context::from_waker(waker))
            .is_ready()
    }

    #[tokio::test(start_paused = true)]
    async fn a_full_pending_budget_closes_the_oldest_silent_one_of_the_busiest_peer() {
        let a = Admission::new(3, 16);
        let quiet = a.enter(ip(1));
        let crowd1 = a.enter(ip(2));
        let crowd2 = a.enter(ip(2));
        for s in [&quiet, &crowd1, &crowd2] {
            s.quiet();
        }
        tokio::time::advance(GRACE).await;
        // Full: the newcomer pushes out the crowd's oldest, not the quiet peer.
        let mut newcomer = a.enter(ip(3));
        assert!(is_evicted(&crowd1));
        assert!(!is_evicted(&quiet) && !is_evicted(&crowd2));
        assert_eq!(a.counts(), (3, 0));
        // An evicted slot cannot attach; the others can.
        let mut crowd1 = crowd1;
        assert!(crowd1.attach().unwrap_err().starts_with("busy:"));
        newcomer.attach().unwrap();
        assert_eq!(a.counts(), (2, 1));
        drop(newcomer);
        assert_eq!(a.counts(), (2, 0));
        drop((quiet, crowd2));
        assert_eq!(a.counts(), (0, 0));
    }

    #[tokio::test(start_paused = true)]
    async fn a_connection_not_yet_found_silent_is_never_pushed_out() {
        let a = Admission::new(2, 16);
        let observer = a.enter(ip(1));
        let silent = a.enter(ip(1));
        silent.quiet();
        // Quiet, but not for long enough: kept.
        let n0 = a.enter(ip(1));
        assert!(!is_evicted(&silent));
        drop(n0);
        tokio::time::advance(GRACE).await;
        let _n1 = a.enter(ip(1));
        assert!(is_evicted(&silent) && !is_evicted(&observer));
        // Up to HARD_CAP times the budget wait without a silent one to close; then newcomers
        // are busy.
        let more: Vec<_> = (2..HARD_CAP * 2).map(|_| a.enter(ip(1))).collect();
        assert!(more.iter().all(|s| s.busy().is_none()));
        assert_eq!(a.counts(), (HARD_CAP * 2, 0));
        let refused = a.enter(ip(1));
        let why = refused.busy().unwrap();
        assert!(
            why.starts_with(&format!("busy: {} connections", HARD_CAP * 2)),
            "{why}"
        );
        assert!(!is_evicted(&observer));
        assert_eq!(a.counts(), (HARD_CAP * 2, 0));
    }

    #[test]
    fn attached_connections_have_their_own_budget() {
        let a = Admission::new(8, 1);
        let mut first = a.enter(ip(1));
        first.attach().unwrap();
        let mut second = a.enter(ip(1));
        let why = second.attach().unwrap_err();
        assert!(
            why.contains("too many observers connected (at most 1"),
            "{why}"
        );
        drop(second);
        drop(first);
        a.enter(ip(1)).attach().unwrap();
    }
}
