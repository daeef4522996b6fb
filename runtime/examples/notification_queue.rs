//! The seeds' NotificationQueue: producers cast notifications; the queue sends them in batches
//! on a timer, so producers never wait on delivery.
//!
//! `cargo run -p beamline --example notification_queue`

use beamline::{CallReply, Ctx, GenServer, Info, InitError, Next, Runtime};
use std::time::Duration;

struct NotificationQueue {
    pending: Vec<String>,
    delivered: usize,
}

enum Flush {
    Tick,
}

impl GenServer for NotificationQueue {
    type Args = Duration;
    type Call = ();
    type Reply = usize;
    type Cast = String;
    type Info = Flush;

    async fn init(every: Duration, ctx: &mut Ctx<Self>) -> Result<Self, InitError> {
        ctx.send_interval(|| Flush::Tick, every);
        Ok(NotificationQueue {
            pending: Vec::new(),
            delivered: 0,
        })
    }

    async fn handle_cast(&mut self, note: String, _ctx: &mut Ctx<Self>) -> Next {
        self.pending.push(note);
        Next::noreply()
    }

    async fn handle_call(&mut self, _: (), _ctx: &mut Ctx<Self>) -> CallReply<usize> {
        CallReply::reply(self.delivered)
    }

    async fn handle_info(&mut self, msg: Info<Flush>, _ctx: &mut Ctx<Self>) -> Next {
        if let Info::Msg(Flush::Tick) = msg
            && !self.pending.is_empty()
        {
            println!("delivering {} notifications", self.pending.len());
            self.delivered += self.pending.len();
            self.pending.clear();
        }
        Next::noreply()
    }
}

#[tokio::main]
async fn main() {
    let rt = Runtime::new();
    let queue = rt
        .start::<NotificationQueue>(Duration::from_millis(100))
        .await
        .expect("queue starts");
    for i in 0..25 {
        queue.cast(format!("user {i} signed up")).await.ok();
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(150)).await;
    println!("delivered in all: {:?}", queue.call(()).await);
}
