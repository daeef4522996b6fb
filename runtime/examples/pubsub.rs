//! Pub/sub on a duplicate-keys `Registry`, with the work fanned out under a `TaskSupervisor`.
//!
//! Subscribers register the topics they want (the registry drops a subscriber's topics when it
//! exits, however it exits); a publisher dispatches to every subscriber of a topic. Each
//! subscriber hands the slow part of its work to a task supervisor and awaits the result, so a
//! crashing job is reported as that job's result instead of taking the subscriber down.
//!
//! `cargo run -p beamline --example pubsub`

use beamline::key_registry::{Keys, RegistrySpec};
use beamline::supervisor::DynamicSupervisorSpec;
use beamline::{
    CallReply, Ctx, GenServer, Info, InitError, Next, Registry, Runtime, ServerRef, TaskSupervisor,
};
use std::time::Duration;

/// Topic -> the subscribers' handles, so a publisher can reach them.
type Topics = Registry<String, ServerRef<Subscriber>>;

struct Subscriber {
    name: &'static str,
    jobs: TaskSupervisor,
    done: Vec<String>,
}

struct Args {
    name: &'static str,
    topics: Topics,
    wants: Vec<&'static str>,
    jobs: TaskSupervisor,
}

impl GenServer for Subscriber {
    type Args = Args;
    type Call = ();
    type Reply = Vec<String>;
    type Cast = ();
    /// A published event.
    type Info = (String, u64);

    async fn init(args: Args, ctx: &mut Ctx<Self>) -> Result<Self, InitError> {
        for topic in args.wants {
            // `register` runs as this process: the entry goes when it exits.
            args.topics
                .register(topic.to_string(), ctx.myself().clone())
                .map_err(InitError::stop)?;
        }
        Ok(Subscriber {
            name: args.name,
            jobs: args.jobs,
            done: Vec::new(),
        })
    }

    async fn handle_info(&mut self, msg: Info<(String, u64)>, _ctx: &mut Ctx<Self>) -> Next {
        if let Info::Msg((topic, n)) = msg {
            // Not linked: a failing job is a result here, not a crash of this subscriber.
            let outcome = match self.jobs.start_task_nolink(work(n)).await {
                Ok(mut job) => job.await_timeout(Duration::from_secs(1)).await,
                Err(e) => Err(e),
            };
            let line = match outcome {
                Ok(v) => format!("{} handled {topic} #{n}: {v}", self.name),
                Err(e) => format!("{} failed {topic} #{n}: {e}", self.name),
            };
            println!("{line}");
            self.done.push(line);
        }
        Next::noreply()
    }

    async fn handle_call(&mut self, _: (), _ctx: &mut Ctx<Self>) -> CallReply<Vec<String>> {
        CallReply::reply(self.done.clone())
    }
}

/// The slow part of handling an event; event 3 is poison.
async fn work(n: u64) -> u64 {
    tokio::time::sleep(Duration::from_millis(10 * n)).await;
    if n == 3 {
        panic!("event 3 is poison");
    }
    n * n
}

/// Send `n` on `topic` to every subscriber.
fn publish(topics: &Topics, topic: &str, n: u64) -> usize {
    let mut reached = 0;
    topics.dispatch(&topic.to_string(), |subs| {
        for (_, sub) in subs {
            let _ = sub.send((topic.to_string(), n));
            reached += 1;
        }
    });
    reached
}

#[tokio::main]
async fn main() {
    let rt = Runtime::new();
    let topics: Topics = Registry::start(&rt, RegistrySpec::new(Keys::Duplicate))
        .await
        .expect("registry");
    let jobs = TaskSupervisor::start(&rt, DynamicSupervisorSpec::new().max_children(8))
        .await
        .expect("task supervisor");
    let mut subs = Vec::new();
    for (name, wants) in [("alice", vec!["orders", "alerts"]), ("bob", vec!["orders"])] {
        let args = Args {
            name,
            topics: topics.clone(),
            wants,
            jobs: jobs.clone(),
        };
        subs.push(rt.start::<Subscriber>(args).await.expect("subscriber"));
    }

    println!(
        "orders reached {} subscribers",
        publish(&topics, "orders", 1)
    );
    println!(
        "alerts reached {} subscribers",
        publish(&topics, "alerts", 2)
    );
    publish(&topics, "orders", 3);

    // Calls queue behind the events, so these answer once each subscriber has handled them.
    let alice = subs[0].call(()).await.expect("alice");
    let bob = subs[1].call(()).await.expect("bob");
    assert_eq!((alice.len(), bob.len()), (3, 2));
    assert!(
        alice[2].contains("failed"),
        "the poison event is reported, not fatal"
    );

    // A subscriber that exits is gone from every topic it held.
    subs[1]
        .stop(beamline::ExitReason::Normal, None)
        .await
        .expect("the process was running");
    println!(
        "orders now reaches {} subscriber",
        publish(&topics, "orders", 4)
    );
    assert_eq!(subs[0].call(()).await.expect("alice").len(), 4);
    rt.shutdown().await;
}
