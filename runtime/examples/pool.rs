//! The seeds' DatabasePool: hands out connections, and its `terminate` closes them all, so a
//! supervisor's shutdown never leaks a connection.
//!
//! `cargo run -p beamline --example pool`

use beamline::supervisor::{ChildSpec, Strategy, Supervisor, SupervisorSpec};
use beamline::{CallReply, Ctx, ExitReason, GenServer, InitError, Next, Runtime};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Stands in for a real database: counts open connections.
#[derive(Clone, Default)]
struct Database {
    open: Arc<AtomicUsize>,
}

struct Pool {
    db: Database,
    idle: Vec<u32>,
    busy: Vec<u32>,
}

enum Req {
    Checkout,
}

enum Back {
    Checkin(u32),
}

impl GenServer for Pool {
    type Args = (Database, u32);
    type Call = Req;
    type Reply = Option<u32>;
    type Cast = Back;
    type Info = ();

    async fn init((db, size): (Database, u32), _ctx: &mut Ctx<Self>) -> Result<Self, InitError> {
        db.open.fetch_add(size as usize, Ordering::SeqCst);
        Ok(Pool {
            db,
            idle: (0..size).collect(),
            busy: Vec::new(),
        })
    }

    async fn handle_call(
        &mut self,
        Req::Checkout: Req,
        _ctx: &mut Ctx<Self>,
    ) -> CallReply<Option<u32>> {
        let conn = self.idle.pop();
        if let Some(c) = conn {
            self.busy.push(c);
        }
        CallReply::reply(conn)
    }

    async fn handle_cast(&mut self, Back::Checkin(c): Back, _ctx: &mut Ctx<Self>) -> Next {
        self.busy.retain(|b| *b != c);
        self.idle.push(c);
        Next::noreply()
    }

    async fn terminate(&mut self, reason: &ExitReason, _ctx: &mut Ctx<Self>) {
        let n = self.idle.len() + self.busy.len();
        self.db.open.fetch_sub(n, Ordering::SeqCst);
        println!("pool terminating ({reason}): closed {n} connections");
    }
}

#[tokio::main]
async fn main() {
    let rt = Runtime::new();
    let db = Database::default();
    let sup = Supervisor::start(
        &rt,
        SupervisorSpec::new(Strategy::OneForOne)
            .child(ChildSpec::worker::<Pool>("pool", (db.clone(), 4)).name("db_pool")),
    )
    .await
    .expect("tree starts");
    let conn = rt
        .call::<Pool>("db_pool", Req::Checkout)
        .await
        .expect("pool answers");
    println!(
        "checked out {conn:?}; open connections: {}",
        db.open.load(Ordering::SeqCst)
    );
    if let Some(c) = conn {
        rt.cast::<Pool>("db_pool", Back::Checkin(c)).await.ok();
    }
    sup.stop().await.expect("the pool supervisor was running");
    println!(
        "after shutdown, open connections: {}",
        db.open.load(Ordering::SeqCst)
    );
}
