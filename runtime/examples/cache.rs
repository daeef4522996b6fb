//! The seeds' CacheServer: keeps entries while busy; after an idle timeout with no request it
//! hibernates, dropping its entries and shrinking its buffers (visible in its stats).
//!
//! `cargo run -p beamline --example cache`

use beamline::{CallReply, Ctx, GenServer, Info, InitError, Next, Runtime, StateSize};
use std::collections::HashMap;
use std::time::Duration;

struct Cache {
    entries: HashMap<String, String>,
    idle: Duration,
}

enum Req {
    Get(String),
    Put(String, String),
}

impl GenServer for Cache {
    type Args = Duration;
    type Call = Req;
    type Reply = Option<String>;
    type Cast = ();
    type Info = ();

    async fn init(idle: Duration, ctx: &mut Ctx<Self>) -> Result<Self, InitError> {
        ctx.set_idle_timeout(idle);
        Ok(Cache {
            entries: HashMap::new(),
            idle,
        })
    }

    async fn handle_call(&mut self, req: Req, _ctx: &mut Ctx<Self>) -> CallReply<Option<String>> {
        let reply = match req {
            Req::Get(k) => self.entries.get(&k).cloned(),
            Req::Put(k, v) => self.entries.insert(k, v),
        };
        // Any message re-arms the idle timeout.
        CallReply::reply(reply).with_timeout(self.idle)
    }

    async fn handle_info(&mut self, msg: Info<()>, _ctx: &mut Ctx<Self>) -> Next {
        match msg {
            Info::Timeout => {
                println!("idle for {:?}: hibernating", self.idle);
                Next::hibernate()
            }
            _ => Next::noreply(),
        }
    }

    fn hibernate(&mut self) {
        self.entries = HashMap::new();
    }

    fn state_size(&self) -> StateSize {
        let heap: usize = self
            .entries
            .iter()
            .map(|(k, v)| k.capacity() + v.capacity())
            .sum();
        StateSize::deep(std::mem::size_of::<Self>() + heap)
    }
}

#[tokio::main]
async fn main() {
    let rt = Runtime::new();
    let cache = rt
        .start::<Cache>(Duration::from_millis(300))
        .await
        .expect("cache starts");
    for i in 0..100 {
        cache
            .call(Req::Put(format!("user:{i}"), "x".repeat(100)))
            .await
            .ok();
    }
    println!(
        "user:7 -> {:?}",
        cache
            .call(Req::Get("user:7".into()))
            .await
            .map(|v| v.map(|s| s.len()))
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let info = cache.info();
    println!(
        "hibernations: {}, status: {:?}",
        info.hibernations, info.status
    );
    println!(
        "user:7 after hibernating -> {:?}",
        cache.call(Req::Get("user:7".into())).await
    );
}
