//! Timers: `send_after` and `send_interval` to any process, cancellable. A timer whose target
//! exits is cancelled with it.

use crate::{GenServer, ServerRef};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::task::AbortHandle;

/// A running timer; cancel it with [`TimerRef::cancel`]. Dropping it does not cancel it.
#[derive(Debug)]
pub struct TimerRef {
    abort: AbortHandle,
    done: Arc<AtomicBool>,
}

impl TimerRef {
    /// Cancel the timer. Returns `true` if it had not fired yet (for intervals: if it was still
    /// running).
    pub fn cancel(&self) -> bool {
        let pending = !self.done.swap(true, Ordering::AcqRel);
        self.abort.abort();
        pending
    }

    /// Whether it has fired (one-shot) or been cancelled.
    pub fn is_done(&self) -> bool {
        self.done.load(Ordering::Acquire)
    }
}

/// Deliver `msg` to `target`'s `handle_info` after `after` (OTP's `Process.send_after`).
pub fn send_after<S: GenServer>(target: &ServerRef<S>, msg: S::Info, after: Duration) -> TimerRef {
    let done = Arc::new(AtomicBool::new(false));
    let flag = done.clone();
    let target = target.clone();
    let task = tokio::spawn(async move {
        tokio::select! {
            _ = tokio::time::sleep(after) => {
                if !flag.swap(true, Ordering::AcqRel) {
                    let _ = target.send(msg);
                }
            }
            _ = target.cell.wait_exit() => {
                flag.store(true, Ordering::Release);
            }
        }
    });
    TimerRef {
        abort: task.abort_handle(),
        done,
    }
}

/// Deliver `make()` to `target`'s `handle_info` every `every` until cancelled or the target
/// exits (OTP's `:timer.send_interval`). Missed ticks are delayed, not bunched up.
pub fn send_interval<S: GenServer>(
    target: &ServerRef<S>,
    mut make: impl FnMut() -> S::Info + Send + 'static,
    every: Duration,
) -> TimerRef {
    let done = Arc::new(AtomicBool::new(false));
    let flag = done.clone();
    let target = target.clone();
    let task = tokio::spawn(async move {
        let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let exited = target.cell.wait_exit();
        tokio::pin!(exited);
        loop {
            tokio::select! {
                _ = ticks.tick() => { let _ = target.send(make()); }
                _ = &mut exited => break,
            }
        }
        flag.store(true, Ordering::Release);
    });
    TimerRef {
        abort: task.abort_handle(),
        done,
    }
}
