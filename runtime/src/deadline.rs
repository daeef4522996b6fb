//! Call timeouts without a tokio timer per call.
//!
//! Every call has a timeout (5 s by default, as in OTP), but almost every call is answered long
//! before it. A `tokio::time::timeout` per call registers and removes a timer-wheel entry each
//! time, which was about 200 ns of a 700 ns round trip (BENCHMARKS.md). Here a waiting call
//! instead puts its deadline and waker in a slab under a short lock, and takes them out when
//! answered; one watchdog task per runtime, started only while calls are waiting, sleeps until
//! the earliest deadline and wakes the calls that are overdue. It uses tokio's clock, so a
//! paused test clock sees timeouts at exactly their deadline.

use slab::Slab;
use std::sync::atomic::{AtomicU8, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::task::{Context, Waker};
use tokio::runtime::RuntimeFlavor;
use tokio::sync::Notify;
use tokio::time::Instant;

/// Stands for "no deadline to look at": later than any call's.
const IDLE: std::time::Duration = std::time::Duration::from_secs(100 * 365 * 24 * 3600);

/// The waiting calls of one runtime.
#[derive(Default)]
pub(crate) struct Deadlines {
    inner: Mutex<Inner>,
    /// Tells the watchdog that a call with an earlier deadline than it sleeps for arrived.
    replan: Notify,
    /// The flavor of the tokio runtime the calls wait on, learnt at the first call that waits:
    /// 0 until then, [`CURRENT_THREAD`] or [`OTHER`]. See [`Deadlines::defer_first`].
    flavor: AtomicU8,
}

const CURRENT_THREAD: u8 = 1;
const OTHER: u8 = 2;

#[derive(Default)]
struct Inner {
    calls: Slab<Waiting>,
    /// When the watchdog will next look; `None` when it is not running.
    next_look: Option<Instant>,
    /// The watchdog waits with no deadline to look at (only overdue calls are left): the last
    /// of them to go tells it, so that it can stop.
    only_overdue: bool,
}

struct Waiting {
    deadline: Instant,
    waker: Waker,
    overdue: bool,
}

/// A call's place among the waiting; removed when dropped (answered, timed out or abandoned).
pub(crate) struct Registration<'a> {
    deadlines: &'a Deadlines,
    key: usize,
}

impl Deadlines {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether a waiting call should let the scheduler run once before it registers (the
    /// caller wakes itself and is polled again behind the callee; see `reply_within` in
    /// `handle.rs`). Only on a current-thread runtime: there the self-wake costs what the
    /// reply's wake-up then saves. On a multi-thread one a task that wakes itself goes to the
    /// back of its worker's queue and tokio wakes a parked worker to steal it (a system call per
    /// call), so there a call registers at once, as it always did. Learnt once per runtime
    /// (a Beamline runtime is normally driven by one tokio runtime; if not, only this choice of
    /// path is affected, never a timeout).
    #[inline]
    pub(crate) fn defer_first(&self) -> bool {
        match self.flavor.load(Relaxed) {
            CURRENT_THREAD => true,
            OTHER => false,
            _ => {
                let current = tokio::runtime::Handle::try_current()
                    .is_ok_and(|h| h.runtime_flavor() == RuntimeFlavor::CurrentThread);
                self.flavor
                    .store(if current { CURRENT_THREAD } else { OTHER }, Relaxed);
                current
            }
        }
    }

    /// Wait for `deadline` on behalf of the task in `cx`; starts the watchdog if needed.
    pub(crate) fn register(
        self: &Arc<Self>,
        deadline: Instant,
        cx: &Context<'_>,
    ) -> Registration<'_> {
        let mut inner = self.lock();
        let key = inner.calls.insert(Waiting {
            deadline,
            waker: cx.waker().clone(),
            overdue: false,
        });
        match inner.next_look {
            None => {
                inner.next_look = Some(deadline);
                drop(inner);
                // The guard exists before the task does: if the task is dropped unpolled (its
                // tokio runtime shutting down), `next_look` is still reset.
                let running = Running {
                    deadlines: self.clone(),
                    ended: false,
                };
                tokio::spawn(watchdog(running));
            }
            Some(at) if deadline < at => {
                inner.next_look = Some(deadline);
                drop(inner);
                self.replan.notify_one();
            }
            Some(_) => {}
        }
        Registration {
            deadlines: self,
            key,
        }
    }
}

#[cfg(test)]
impl Deadlines {
    /// Whether a watchdog runs (some call was registered and it has not yet seen them all go).
    pub(crate) fn watching(&self) -> bool {
        self.lock().next_look.is_some()
    }
}

impl Registration<'_> {
    /// Whether the deadline has passed; otherwise keep `cx`'s waker for when it does.
    pub(crate) fn overdue(&self, cx: &Context<'_>) -> bool {
        let mut inner = self.deadlines.lock();
        let waiting = &mut inner.calls[self.key];
        if !waiting.overdue && !waiting.waker.will_wake(cx.waker()) {
            waiting.waker = cx.waker().clone();
        }
        waiting.overdue
    }
}

impl Drop for Registration<'_> {
    fn drop(&mut self) {
        let mut inner = self.deadlines.lock();
        let waiting = inner.calls.try_remove(self.key);
        let last = inner.only_overdue && inner.calls.is_empty();
        drop(inner);
        drop(waiting);
        if last {
            self.deadlines.replan.notify_one();
        }
    }
}

/// The watchdog's claim to be running. Dropped without `ended` (the task cancelled, possibly
/// before its first poll), it resets the state so that the next call starts a new watchdog;
/// after a normal end the state was already reset under the lock, and a watchdog started since
/// must not be forgotten.
struct Running {
    deadlines: Arc<Deadlines>,
    ended: bool,
}

impl Drop for Running {
    fn drop(&mut self) {
        if !self.ended {
            let mut inner = self.deadlines.lock();
            inner.next_look = None;
            inner.only_overdue = false;
        }
    }
}

/// Sleep until the earliest deadline, wake the overdue calls, repeat; end when none wait.
async fn watchdog(mut running: Running) {
    let deadlines = running.deadlines.clone();
    loop {
        let (next, wake) = {
            let mut inner = deadlines.lock();
            let now = Instant::now();
            let mut wake = Vec::new();
            let mut next: Option<Instant> = None;
            for (_, w) in inner.calls.iter_mut() {
                if w.overdue {
                    continue;
                }
                if w.deadline <= now {
                    w.overdue = true;
                    wake.push(w.waker.clone());
                } else {
                    next = Some(next.map_or(w.deadline, |n| n.min(w.deadline)));
                }
            }
            if inner.calls.is_empty() {
                inner.next_look = None;
                inner.only_overdue = false;
                running.ended = true;
                return;
            }
            // With only overdue calls left (their callers are about to remove them), wait for
            // the next registration: a far `next_look` makes any new deadline notify us.
            inner.next_look = Some(next.unwrap_or(now + IDLE));
            inner.only_overdue = next.is_none();
            (next, wake)
        };
        for w in wake {
            w.wake();
        }
        match next {
            Some(at) => tokio::select! {
                _ = tokio::time::sleep_until(at) => {}
                _ = deadlines.replan.notified() => {}
            },
            None => deadlines.replan.notified().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::poll_fn;
    use std::task::Poll;
    use std::time::Duration;

    /// Wait, as a call does, until `at` is overdue.
    async fn until_overdue(deadlines: &Arc<Deadlines>, at: Instant) {
        let mut reg = None;
        poll_fn(|cx| {
            let r = reg.get_or_insert_with(|| deadlines.register(at, cx));
            if r.overdue(cx) {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
        .await
    }

    /// A registration reports overdue exactly at its deadline (paused clock) and the watchdog
    /// stops once nobody waits.
    #[tokio::test(start_paused = true)]
    async fn overdue_at_the_deadline_and_the_watchdog_stops_when_idle() {
        let deadlines = Arc::new(Deadlines::default());
        let start = Instant::now();
        until_overdue(&deadlines, start + Duration::from_millis(250)).await;
        assert_eq!(start.elapsed(), Duration::from_millis(250));
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(deadlines.lock().next_look.is_none());
        assert!(deadlines.lock().calls.is_empty());
    }

    /// A later call with an earlier deadline makes the watchdog look sooner.
    #[tokio::test(start_paused = true)]
    async fn an_earlier_deadline_replans_the_watchdog() {
        let deadlines = Arc::new(Deadlines::default());
        let start = Instant::now();
        let d = deadlines.clone();
        let long =
            tokio::spawn(async move { until_overdue(&d, start + Duration::from_secs(5)).await });
        tokio::task::yield_now().await;
        until_overdue(&deadlines, start + Duration::from_millis(10)).await;
        assert_eq!(start.elapsed(), Duration::from_millis(10));
        long.await.unwrap();
        assert_eq!(start.elapsed(), Duration::from_secs(5));
    }

    /// Calls skip their first registration only where that is cheaper: on a current-thread
    /// runtime, not on a multi-thread one (where the self-wake would wake a parked worker).
    #[test]
    fn only_a_current_thread_runtime_defers_registration() {
        let ct = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let d = Deadlines::default();
        assert!(ct.block_on(async { d.defer_first() }));
        assert!(d.defer_first(), "learnt once, kept");
        let mt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .build()
            .unwrap();
        let d = Deadlines::default();
        assert!(!mt.block_on(async { d.defer_first() }));
    }

    /// A watchdog dropped before it ever ran (its tokio runtime shut down) does not leave the
    /// deadlines believing one is running: the next call, in another runtime, still times out.
    #[test]
    fn a_watchdog_dropped_unpolled_is_replaced() {
        let deadlines = Arc::new(Deadlines::default());
        let paused = || {
            tokio::runtime::Builder::new_current_thread()
                .enable_time()
                .start_paused(true)
                .build()
                .unwrap()
        };
        let first = paused();
        first.block_on(poll_fn(|cx| {
            drop(deadlines.register(Instant::now() + Duration::from_secs(1), cx));
            Poll::Ready(())
        }));
        drop(first);
        assert!(deadlines.lock().next_look.is_none());
        paused().block_on(async {
            let start = Instant::now();
            until_overdue(&deadlines, start + Duration::from_millis(30)).await;
            assert_eq!(start.elapsed(), Duration::from_millis(30));
        });
    }
}
