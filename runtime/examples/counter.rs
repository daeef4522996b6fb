//! The seeds' Counter: state owned by one process, changed by casts, read by calls.
//!
//! `cargo run -p beamline --example counter`

use beamline::{CallReply, Ctx, GenServer, InitError, Next, Runtime, SpawnOpts};

struct Counter {
    value: i64,
}

enum Query {
    Get,
}

enum Change {
    Add(i64),
    Reset,
}

impl GenServer for Counter {
    type Args = i64;
    type Call = Query;
    type Reply = i64;
    type Cast = Change;
    type Info = ();

    async fn init(start: i64, _ctx: &mut Ctx<Self>) -> Result<Self, InitError> {
        Ok(Counter { value: start })
    }

    async fn handle_call(&mut self, Query::Get: Query, _ctx: &mut Ctx<Self>) -> CallReply<i64> {
        CallReply::reply(self.value)
    }

    async fn handle_cast(&mut self, change: Change, _ctx: &mut Ctx<Self>) -> Next {
        match change {
            Change::Add(n) => self.value += n,
            Change::Reset => self.value = 0,
        }
        Next::noreply()
    }
}

#[tokio::main]
async fn main() {
    let rt = Runtime::new();
    let counter = rt
        .start_with::<Counter>(0, SpawnOpts::new().name("counter"))
        .await
        .expect("counter starts");
    for _ in 0..10 {
        counter
            .cast(Change::Add(1))
            .await
            .expect("unbounded mailbox");
    }
    println!("after ten increments: {:?}", counter.call(Query::Get).await);
    rt.cast::<Counter>("counter", Change::Reset).await.ok();
    println!(
        "after reset, by name: {:?}",
        rt.call::<Counter>("counter", Query::Get).await
    );
    let info = counter.info();
    println!(
        "stats: received {} (casts {}, calls {}), busy {:?}",
        info.received, info.handled_casts, info.handled_calls, info.busy
    );
}
