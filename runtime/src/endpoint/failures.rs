//! Refused handshakes, per peer: a growing wait before a guesser's next token is checked, and
//! log lines counted per minute instead of one per refusal.
//!
//! After [`FREE_GUESSES`] wrong or missing tokens from one peer, each further handshake from it
//! waits before its token is even looked at: 100 ms, doubling per failure up to the
//! endpoint's cap (2 s by default). The wait is for every handshake of that peer, right or
//! wrong, so its duration reveals nothing; a real observer sharing the address (every local
//! user shares 127.0.0.1) is slowed, never shut out. A peer quiet for a minute starts afresh.
//!
//! The first refusal of a peer in a minute is logged in full; the rest are counted and logged
//! as one line when the minute ends.

use super::peer::PeerKey;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// Wrong tokens a peer may send before its handshakes are slowed.
pub const FREE_GUESSES: u32 = 3;
/// The first wait after the free guesses.
const FIRST_WAIT: Duration = Duration::from_millis(100);
/// Refusals are counted per peer over this window; a peer quiet for this long is forgotten.
pub const LOG_WINDOW: Duration = Duration::from_secs(60);
/// Peers remembered at most (the quietest are forgotten first beyond it).
const MAX_PEERS: usize = 4096;

/// What the endpoint remembers about refused handshakes.
pub(super) struct Failures {
    cap: Duration,
    peers: Mutex<HashMap<PeerKey, Record>>,
}

struct Record {
    /// Wrong or missing tokens since the peer was last quiet for a window.
    guesses: u32,
    last: Instant,
    window_start: Instant,
    /// Whether this window's first refusal was logged in full.
    logged: bool,
    /// Refusals in this window not logged in full.
    unlogged: u32,
}

/// A refused handshake, as the log shows it.
pub(super) struct Refused<'a> {
    pub peer: &'a PeerKey,
    pub label: &'a str,
    /// The client's name (escaped), when its `Hello` was readable.
    pub client: Option<&'a str>,
    pub reason: &'a str,
    /// A wrong or missing token: counts towards the backoff.
    pub guess: bool,
}

impl Failures {
    /// Waits capped at `cap`; zero turns the backoff off (logs are still aggregated).
    pub fn new(cap: Duration) -> Failures {
        Failures {
            cap,
            peers: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<PeerKey, Record>> {
        self.peers.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// How long this peer's handshake waits before its token is checked.
    pub fn wait(&self, peer: &PeerKey, now: Instant) -> Duration {
        let peers = self.lock();
        let Some(r) = peers.get(peer) else {
            return Duration::ZERO;
        };
        if now.duration_since(r.last) >= LOG_WINDOW || r.guesses < FREE_GUESSES {
            return Duration::ZERO;
        }
        let doublings = (r.guesses - FREE_GUESSES).min(16);
        (FIRST_WAIT * 2u32.pow(doublings)).min(self.cap)
    }

    /// Note a refusal, and log it in full if it is the peer's first in this window.
    pub fn refused(&self, r: Refused<'_>, now: Instant) {
        let mut peers = self.lock();
        if peers.len() >= MAX_PEERS && !peers.contains_key(r.peer) {
            forget_quietest(&mut peers);
        }
        let rec = peers.entry(r.peer.clone()).or_insert(Record {
            guesses: 0,
            last: now,
            window_start: now,
            logged: false,
            unlogged: 0,
        });
        if now.duration_since(rec.last) >= LOG_WINDOW {
            rec.guesses = 0;
        }
        rec.last = now;
        if r.guess {
            rec.guesses += 1;
        }
        if now.duration_since(rec.window_start) >= LOG_WINDOW {
            log_unlogged(r.peer, rec);
            rec.window_start = now;
        }
        if !rec.logged {
            rec.logged = true;
            tracing::warn!(
                peer = %r.label,
                client = %r.client.unwrap_or("-"),
                reason = %r.reason,
                "observe endpoint: handshake refused (further refusals from this peer are counted, one line per minute)"
            );
        } else {
            rec.unlogged += 1;
        }
    }

    /// Log the counts of windows that have ended, and forget peers quiet for a window.
    pub fn flush(&self, now: Instant) {
        let mut peers = self.lock();
        peers.retain(|peer, rec| {
            if now.duration_since(rec.window_start) >= LOG_WINDOW {
                log_unlogged(peer, rec);
                rec.window_start = now;
            }
            now.duration_since(rec.last) < LOG_WINDOW
        });
    }
}

fn log_unlogged(peer: &PeerKey, rec: &mut Record) {
    if rec.unlogged > 0 {
        tracing::warn!(
            %peer,
            count = rec.unlogged,
            "observe endpoint: more handshakes refused from this peer in the last minute"
        );
        rec.unlogged = 0;
    }
    rec.logged = false;
}

fn forget_quietest(peers: &mut HashMap<PeerKey, Record>) {
    if let Some(k) = peers
        .iter()
        .min_by_key(|(_, r)| r.last)
        .map(|(k, _)| k.clone())
    {
        peers.remove(&k);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{IpAddr, Ipv4Addr};

    const PEER: PeerKey = PeerKey::Ip(IpAddr::V4(Ipv4Addr::LOCALHOST));

    fn guess(f: &Failures, now: Instant) {
        f.refused(
            Refused {
                peer: &PEER,
                label: "127.0.0.1:1",
                client: Some("guesser"),
                reason: "wrong or missing token",
                guess: true,
            },
            now,
        );
    }

    #[tokio::test(start_paused = true)]
    async fn wrong_tokens_slow_the_peer_down_exponentially_up_to_the_cap() {
        let f = Failures::new(Duration::from_secs(2));
        let t0 = Instant::now();
        let waits: Vec<u128> = (0..10)
            .map(|i| {
                let w = f.wait(&PEER, t0).as_millis();
                guess(&f, t0 + Duration::from_millis(i));
                w
            })
            .collect();
        assert_eq!(waits, [0, 0, 0, 100, 200, 400, 800, 1600, 2000, 2000]);
        // Another peer is not slowed.
        let other = PeerKey::Ip(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)));
        assert_eq!(f.wait(&other, t0), Duration::ZERO);
        // A minute of quiet forgives.
        assert_eq!(
            f.wait(&PEER, t0 + LOG_WINDOW + Duration::from_secs(1)),
            Duration::ZERO
        );
        f.flush(t0 + LOG_WINDOW + Duration::from_secs(1));
        assert!(f.lock().is_empty(), "quiet peers are forgotten");
    }

    #[tokio::test(start_paused = true)]
    async fn a_zero_cap_turns_the_backoff_off() {
        let f = Failures::new(Duration::ZERO);
        let t0 = Instant::now();
        for _ in 0..10 {
            guess(&f, t0);
        }
        assert_eq!(f.wait(&PEER, t0), Duration::ZERO);
    }
}
