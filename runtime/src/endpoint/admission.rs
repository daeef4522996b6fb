//! Connection slots, in two budgets so that strangers cannot lock observers out.
//!
//! A connection that has not yet said a valid `Hello` is *pending*; at most
//! [`EndpointConfig::max_pending`](super::EndpointConfig::max_pending) are, and each has the
//! handshake deadline to speak. When a new connection finds the pending budget full, the
//! oldest pending connection of the peer holding the most is closed to make room ("busy"),
//! so a crowd of silent clients only ever pushes out its own members, and a real observer,
//! which says `Hello` at once, gets its turn. An authenticated connection moves to the
//! *attached* budget of [`EndpointConfig::max_clients`](super::EndpointConfig::max_clients),
//! which only clients holding the token can fill; beyond it they are told "busy" with the
//! reason.

use super::peer::PeerKey;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::oneshot;

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
    evict: oneshot::Sender<()>,
}

/// One connection's place; given back when dropped.
pub(super) struct Slot {
    admission: Admission,
    id: u64,
    attached: bool,
    evicted: oneshot::Receiver<()>,
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
        // The state stays consistent at every await-free step, so a poisoned lock is usable.
        self.0.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A pending slot for a new connection from `peer`, making room if the budget is full.
    pub fn enter(&self, peer: PeerKey) -> Slot {
        let (evict, evicted) = oneshot::channel();
        let mut st = self.lock();
        if st.pending.len() >= self.0.max_pending
            && let Some(victim) = st.victim()
            && let Some(p) = st.remove_pending(victim)
        {
            let _ = p.evict.send(());
        }
        let id = st.next_id;
        st.next_id += 1;
        *st.pending_per_peer.entry(peer.clone()).or_default() += 1;
        st.pending.insert(id, Pending { peer, evict });
        Slot {
            admission: self.clone(),
            id,
            attached: false,
            evicted,
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
            "busy: more than {} connections are waiting to say Hello; this one, the oldest from the address holding the most, was closed to make room",
            self.0.max_pending
        )
    }
}

impl State {
    /// The oldest pending connection of the peer that holds the most.
    fn victim(&self) -> Option<u64> {
        let most = self.pending_per_peer.values().copied().max()?;
        self.pending
            .iter()
            .find(|(_, p)| self.pending_per_peer.get(&p.peer) == Some(&most))
            .map(|(id, _)| *id)
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
    /// Resolves if this pending connection is closed to make room for a newer one.
    pub async fn evicted(&mut self) {
        if self.attached || (&mut self.evicted).await.is_err() {
            // Attached, or the sender is gone without a word: never evicted.
            std::future::pending::<()>().await;
        }
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

    fn is_evicted(s: &mut Slot) -> bool {
        s.evicted.try_recv().is_ok()
    }

    #[test]
    fn a_full_pending_budget_closes_the_oldest_of_the_busiest_peer() {
        let a = Admission::new(3, 16);
        let mut quiet = a.enter(ip(1));
        let mut crowd1 = a.enter(ip(2));
        let mut crowd2 = a.enter(ip(2));
        // Full: the newcomer pushes out the crowd's oldest, not the quiet peer.
        let mut newcomer = a.enter(ip(3));
        assert!(is_evicted(&mut crowd1));
        assert!(!is_evicted(&mut quiet) && !is_evicted(&mut crowd2));
        assert_eq!(a.counts(), (3, 0));
        // An evicted slot cannot attach; the others can.
        assert!(crowd1.attach().unwrap_err().starts_with("busy:"));
        newcomer.attach().unwrap();
        assert_eq!(a.counts(), (2, 1));
        drop(newcomer);
        assert_eq!(a.counts(), (2, 0));
        drop((quiet, crowd2));
        assert_eq!(a.counts(), (0, 0));
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
