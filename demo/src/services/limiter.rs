//! A rate limiter: one token bucket per client key, behind one server.
//!
//! A classic GenServer job (seed 002's list of background workers): the buckets are plain
//! state, and serialising `acquire` through one process is what makes the counting exact. The
//! bank's customers and the session gateway ask it before doing work; denials are counted and
//! shown with `inspect`.

use beamline::supervisor::ChildSpec;
use beamline::{CallReply, Ctx, GenServer, InitError, Runtime, StateSize};
use std::collections::HashMap;
use tokio::time::Instant;

/// The limiter's registered name.
pub const NAME: &str = "limiter";

/// One client's bucket.
#[derive(Debug)]
struct Bucket {
    tokens: f64,
    last: Instant,
    allowed: u64,
    denied: u64,
}

/// The limiter's configuration: every client gets `burst` tokens, refilled at `per_sec`.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Tokens a bucket holds at most (the burst a client may make).
    pub burst: f64,
    /// Tokens added per second.
    pub per_sec: f64,
}

impl Default for Limits {
    /// Generous enough that the demo's calm phases are never limited, tight enough that the
    /// peaks of the wave are.
    fn default() -> Self {
        Limits {
            burst: 30.0,
            per_sec: 25.0,
        }
    }
}

/// The rate limiter server.
pub struct RateLimiter {
    limits: Limits,
    buckets: HashMap<String, Bucket>,
}

/// Ask for one token for a client.
#[derive(Debug)]
pub struct Acquire(pub String);

impl GenServer for RateLimiter {
    type Args = Limits;
    type Call = Acquire;
    type Reply = bool;
    type Cast = ();
    type Info = ();

    const INSPECTABLE: bool = true;

    async fn init(limits: Limits, _ctx: &mut Ctx<Self>) -> Result<Self, InitError> {
        Ok(RateLimiter {
            limits,
            buckets: HashMap::new(),
        })
    }

    async fn handle_call(
        &mut self,
        Acquire(key): Acquire,
        _ctx: &mut Ctx<Self>,
    ) -> CallReply<bool> {
        let now = Instant::now();
        let limits = self.limits;
        let b = self.buckets.entry(key).or_insert(Bucket {
            tokens: limits.burst,
            last: now,
            allowed: 0,
            denied: 0,
        });
        let refill = now.duration_since(b.last).as_secs_f64() * limits.per_sec;
        b.tokens = (b.tokens + refill).min(limits.burst);
        b.last = now;
        let ok = b.tokens >= 1.0;
        if ok {
            b.tokens -= 1.0;
            b.allowed += 1;
        } else {
            b.denied += 1;
        }
        CallReply::reply(ok)
    }

    fn state_size(&self) -> StateSize {
        let heap: usize = self
            .buckets
            .keys()
            .map(|k| k.capacity() + std::mem::size_of::<(String, Bucket)>())
            .sum();
        StateSize::deep(std::mem::size_of::<Self>() + heap)
    }

    fn inspect(&self) -> String {
        let mut keys: Vec<_> = self.buckets.iter().collect();
        keys.sort_by(|a, b| a.0.cmp(b.0));
        keys.iter()
            .map(|(k, b)| {
                format!(
                    "{k}: {:.1} tokens, {} allowed, {} denied\n",
                    b.tokens, b.allowed, b.denied
                )
            })
            .collect()
    }
}

/// The limiter as a permanent worker.
pub fn child_spec() -> ChildSpec {
    ChildSpec::worker::<RateLimiter>(NAME, Limits::default()).name(NAME)
}

/// Ask the limiter for a token. If the limiter is down (being restarted), let the work through:
/// a limiter outage should not become an outage of everything behind it.
pub async fn acquire(rt: &Runtime, key: &str) -> bool {
    rt.call::<RateLimiter>(NAME, Acquire(key.to_string()))
        .await
        .unwrap_or(true)
}
