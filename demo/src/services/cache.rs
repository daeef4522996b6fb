//! The cache of seed 002's `CacheServer`: answers reads from memory, and after a quiet spell
//! (its idle timeout) hibernates, dropping what nobody asked for.
//!
//! Its clients only read while the wave is high, so in the calm phases you see the cache go
//! idle, then `hibernating`, its hibernation count go up and its state size drop; the first
//! read after that wakes it.

use crate::load::{Rng, Wave};
use beamline::supervisor::{ChildSpec, Strategy, SupervisorSpec};
use beamline::{CallReply, Ctx, GenServer, Info, InitError, Next, StateSize};
use std::collections::HashMap;
use std::time::Duration;

/// The cache's registered name.
pub const NAME: &str = "cache";
/// Quiet time before the cache hibernates.
pub const IDLE: Duration = Duration::from_secs(4);
/// Entries kept at most.
pub const CAPACITY: usize = 400;

struct Entry {
    value: String,
    hits: u32,
}

/// The cache server.
pub struct CacheServer {
    entries: HashMap<u32, Entry>,
    hits: u64,
    misses: u64,
}

/// Requests to the cache.
#[derive(Debug)]
pub enum CacheCall {
    /// Read a key.
    Get(u32),
    /// Store a value.
    Put(u32, String),
}

impl GenServer for CacheServer {
    type Args = ();
    type Call = CacheCall;
    type Reply = Option<String>;
    type Cast = ();
    type Info = ();

    const INSPECTABLE: bool = true;

    async fn init(_: (), ctx: &mut Ctx<Self>) -> Result<Self, InitError> {
        ctx.set_idle_timeout(IDLE);
        Ok(CacheServer {
            entries: HashMap::new(),
            hits: 0,
            misses: 0,
        })
    }

    async fn handle_call(
        &mut self,
        msg: CacheCall,
        _ctx: &mut Ctx<Self>,
    ) -> CallReply<Option<String>> {
        let reply = match msg {
            CacheCall::Get(k) => match self.entries.get_mut(&k) {
                Some(e) => {
                    e.hits += 1;
                    self.hits += 1;
                    Some(e.value.clone())
                }
                None => {
                    self.misses += 1;
                    None
                }
            },
            CacheCall::Put(k, value) => {
                if self.entries.len() >= CAPACITY && !self.entries.contains_key(&k) {
                    // Evict the coldest entry (a linear scan is fine at this size).
                    if let Some(cold) = self
                        .entries
                        .iter()
                        .min_by_key(|(_, e)| e.hits)
                        .map(|(k, _)| *k)
                    {
                        self.entries.remove(&cold);
                    }
                }
                self.entries.insert(k, Entry { value, hits: 0 });
                None
            }
        };
        // Every answer re-arms the idle timeout, as `{:reply, v, state, timeout}` does.
        CallReply::reply(reply).with_timeout(IDLE)
    }

    async fn handle_info(&mut self, msg: Info<()>, _ctx: &mut Ctx<Self>) -> Next {
        match msg {
            Info::Timeout => {
                tracing::info!(entries = self.entries.len(), "cache idle, hibernating");
                Next::hibernate()
            }
            _ => Next::noreply(),
        }
    }

    fn hibernate(&mut self) {
        // Keep what was used since the last nap; forget the rest and give memory back.
        self.entries.retain(|_, e| e.hits > 0);
        for e in self.entries.values_mut() {
            e.hits = 0;
        }
        self.entries.shrink_to_fit();
    }

    fn state_size(&self) -> StateSize {
        let heap = self.entries.capacity() * (std::mem::size_of::<(u32, Entry)>() + 1)
            + self
                .entries
                .values()
                .map(|e| e.value.capacity())
                .sum::<usize>();
        StateSize::deep(std::mem::size_of::<Self>() + heap)
    }

    fn inspect(&self) -> String {
        format!(
            "entries: {}\nhits: {}\nmisses: {}",
            self.entries.len(),
            self.hits,
            self.misses
        )
    }
}

/// Readers of the cache: busy while the wave is high, silent when it is low.
pub struct CacheClients {
    wave: Wave,
    rng: Rng,
}

/// The clients' tick.
#[derive(Debug)]
pub struct Tick;

impl GenServer for CacheClients {
    type Args = Wave;
    type Call = ();
    type Reply = ();
    type Cast = ();
    type Info = Tick;

    async fn init(wave: Wave, ctx: &mut Ctx<Self>) -> Result<Self, InitError> {
        ctx.send_interval(|| Tick, Duration::from_millis(100));
        Ok(CacheClients {
            wave,
            rng: Rng::new(2),
        })
    }

    async fn handle_info(&mut self, msg: Info<Tick>, ctx: &mut Ctx<Self>) -> Next {
        if !matches!(msg, Info::Msg(Tick)) || self.wave.level() < 0.4 {
            return Next::noreply();
        }
        let rt = ctx.runtime().clone();
        for _ in 0..self.wave.ops(8.0, &mut self.rng) {
            // Skewed keys: a few hot ones, a long tail.
            let k = (self.rng.below(1000) * self.rng.below(1000) / 1000) as u32;
            if let Ok(None) = rt.call::<CacheServer>(NAME, CacheCall::Get(k)).await {
                // A miss: "compute" the value and store it.
                tokio::time::sleep(Duration::from_millis(2)).await;
                let _ = rt
                    .call::<CacheServer>(
                        NAME,
                        CacheCall::Put(k, format!("value of key {k:>4}: {}", "x".repeat(64))),
                    )
                    .await;
            }
        }
        Next::noreply()
    }
}

/// The cache's subtree: `cache/sup` -> `cache`, `cache/clients`.
pub fn child_spec(wave: Wave) -> ChildSpec {
    let spec = SupervisorSpec::new(Strategy::OneForOne)
        .name("cache/sup")
        .child(ChildSpec::worker::<CacheServer>(NAME, ()).name(NAME))
        .child(ChildSpec::worker::<CacheClients>("cache/clients", wave).name("cache/clients"));
    ChildSpec::supervisor("cache/sup", spec)
}
