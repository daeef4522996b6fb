//! Where a workload runs: tokio's current-thread or multi-thread scheduler, or actix's system.

use std::future::Future;

/// A tokio scheduler.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    /// One thread runs everything: the setting of the reference figures.
    Current,
    /// Two workers, one per core of the benchmark machine.
    Multi,
}

impl Flavor {
    /// Both, in table order.
    pub const ALL: [Flavor; 2] = [Flavor::Current, Flavor::Multi];

    /// Short label used in benchmark ids and the table.
    pub fn label(self) -> &'static str {
        match self {
            Flavor::Current => "ct",
            Flavor::Multi => "mt",
        }
    }

    /// From [`Flavor::label`].
    pub fn parse(s: &str) -> Option<Flavor> {
        match s {
            "ct" => Some(Flavor::Current),
            "mt" => Some(Flavor::Multi),
            _ => None,
        }
    }

    /// A fresh tokio runtime of this flavor.
    pub fn runtime(self) -> tokio::runtime::Runtime {
        let mut b = match self {
            Flavor::Current => tokio::runtime::Builder::new_current_thread(),
            Flavor::Multi => {
                let mut b = tokio::runtime::Builder::new_multi_thread();
                b.worker_threads(2);
                b
            }
        };
        b.enable_all().build().expect("tokio runtime")
    }
}

/// Run `fut` as a spawned task and wait for it, so that on the multi-thread flavor the driver
/// runs on a worker like the actors it talks to (not on the blocked-on thread).
pub fn run<F>(rt: &tokio::runtime::Runtime, fut: F) -> F::Output
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    rt.block_on(async { tokio::spawn(fut).await.expect("benchmark task panicked") })
}

/// Run `fut` on a fresh actix system (actix actors need one; it is single-threaded).
pub fn run_actix<F>(fut: F) -> F::Output
where
    F: Future + 'static,
{
    actix::System::new().block_on(fut)
}
