//! Mailboxes: unbounded by default, or bounded with an overflow policy.
//!
//! Every shape but `Wait` is a [`Queue`] (a lock around a `VecDeque`, see [`crate::queue`]) with
//! the capacity and policy checked under its lock, so an unbounded mailbox costs nothing until
//! its first message and `DropOldest` can evict from the front. `Wait` needs senders to sleep
//! until there is room, which tokio's bounded `mpsc` does well, so it uses that.

use crate::queue::{Pushed, Queue};
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use tokio::sync::mpsc;

/// What a full bounded mailbox does with one more message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Overflow {
    /// The sender waits for room (`cast(..).await` blocks): backpressure.
    Wait,
    /// The cast fails with [`crate::CastError::Full`], handing the message back.
    Reject,
    /// The new message is dropped and counted.
    DropNewest,
    /// The oldest queued message is dropped and counted; the new one is queued.
    DropOldest,
}

/// The shape of a process's mailbox, given at spawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Mailbox {
    /// No limit (as in OTP). Overflow is then a matter for the observer's alerts.
    #[default]
    Unbounded,
    /// At most `capacity` queued messages; what happens beyond is the policy.
    Bounded {
        /// Maximum queued messages (at least 1).
        capacity: usize,
        /// What to do when full.
        overflow: Overflow,
    },
}

impl Mailbox {
    /// A bounded mailbox.
    pub fn bounded(capacity: usize, overflow: Overflow) -> Self {
        Mailbox::Bounded {
            capacity: capacity.max(1),
            overflow,
        }
    }

    pub(crate) fn capacity(&self) -> Option<u64> {
        match self {
            Mailbox::Unbounded => None,
            Mailbox::Bounded { capacity, .. } => Some(*capacity as u64),
        }
    }

    pub(crate) fn channel<T>(&self) -> (Tx<T>, Rx<T>) {
        match *self {
            Mailbox::Bounded {
                capacity,
                overflow: Overflow::Wait,
            } => {
                let (tx, rx) = mpsc::channel(capacity);
                (Tx::Wait(tx), Rx::Wait(rx))
            }
            _ => {
                let queue = Arc::new(Queue::default());
                let (capacity, overflow) = match *self {
                    Mailbox::Bounded { capacity, overflow } => (Some(capacity), overflow),
                    Mailbox::Unbounded => (None, Overflow::Reject),
                };
                (
                    Tx::Queue {
                        queue: queue.clone(),
                        capacity,
                        overflow,
                    },
                    Rx::Queue {
                        queue,
                        local: VecDeque::new(),
                        batch: capacity.is_none(),
                    },
                )
            }
        }
    }
}

/// What happened to a message handed to a mailbox.
pub(crate) enum Sent<T> {
    /// Queued.
    Queued,
    /// Queued after evicting the oldest message.
    QueuedEvicting,
    /// The process is gone; the message is handed back.
    Dead(T),
    /// Full under `Reject` (or a non-waiting send under `Wait`).
    Full(T),
    /// Dropped under `DropNewest`.
    Dropped,
}

/// The sending half.
pub(crate) enum Tx<T> {
    /// Unbounded (`capacity: None`), `Reject`, `DropNewest` or `DropOldest`.
    Queue {
        queue: Arc<Queue<T>>,
        capacity: Option<usize>,
        overflow: Overflow,
    },
    /// Bounded under `Wait`.
    Wait(mpsc::Sender<T>),
}

impl<T> Clone for Tx<T> {
    fn clone(&self) -> Self {
        match self {
            Tx::Queue {
                queue,
                capacity,
                overflow,
            } => Tx::Queue {
                queue: queue.clone(),
                capacity: *capacity,
                overflow: *overflow,
            },
            Tx::Wait(t) => Tx::Wait(t.clone()),
        }
    }
}

impl<T> Tx<T> {
    /// Send without waiting. Under `Wait`, a full mailbox answers `Full`. A queued message adds
    /// one to `count` (the receiver's `enqueued`, when instrumented).
    #[inline]
    pub(crate) fn try_send(&self, msg: T, count: Option<&AtomicU64>) -> Sent<T> {
        match self {
            Tx::Queue {
                queue,
                capacity,
                overflow,
            } => match queue.push(msg, *capacity, *overflow == Overflow::DropOldest, count) {
                Pushed::Queued => Sent::Queued,
                Pushed::QueuedEvicting => Sent::QueuedEvicting,
                Pushed::Closed(m) => Sent::Dead(m),
                Pushed::Full(m) if *overflow == Overflow::DropNewest => {
                    drop(m);
                    Sent::Dropped
                }
                Pushed::Full(m) => Sent::Full(m),
            },
            Tx::Wait(tx) => {
                // Counted before the send so the receiver never takes a message not yet
                // counted; taken back if it was not queued.
                let counted = Counted::new(count);
                match tx.try_send(msg) {
                    Ok(()) => counted.keep(),
                    Err(mpsc::error::TrySendError::Closed(m)) => Sent::Dead(m),
                    Err(mpsc::error::TrySendError::Full(m)) => Sent::Full(m),
                }
            }
        }
    }

    /// Send, waiting for room under `Wait`.
    ///
    /// Cancel safety: if the future is dropped while waiting for room, the message is dropped
    /// and was never queued.
    pub(crate) async fn send(&self, msg: T, count: Option<&AtomicU64>) -> Sent<T> {
        match self {
            Tx::Wait(tx) => {
                let counted = Counted::new(count);
                match tx.send(msg).await {
                    Ok(()) => counted.keep(),
                    Err(e) => Sent::Dead(e.0),
                }
            }
            _ => self.try_send(msg, count),
        }
    }

    /// Whether sending may have to wait (only a bounded mailbox under `Wait`).
    #[inline]
    pub(crate) fn may_wait(&self) -> bool {
        matches!(self, Tx::Wait(_))
    }
}

/// A message counted in `enqueued` ahead of a send through tokio's channel; uncounted on drop
/// unless kept (the send failed, or its future was dropped while waiting for room).
struct Counted<'a>(Option<&'a AtomicU64>);

impl<'a> Counted<'a> {
    fn new(count: Option<&'a AtomicU64>) -> Self {
        if let Some(c) = count {
            c.fetch_add(1, Ordering::Relaxed);
        }
        Counted(count)
    }

    fn keep<T>(mut self) -> Sent<T> {
        self.0 = None;
        Sent::Queued
    }
}

impl Drop for Counted<'_> {
    fn drop(&mut self) {
        if let Some(c) = self.0 {
            c.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

/// The receiving half, owned by the process.
pub(crate) enum Rx<T> {
    /// `local` holds what was taken from the queue in one go and not yet handled. Only an
    /// unbounded mailbox (`batch`) takes in batches: a bounded one takes one message at a time,
    /// so that its capacity and `DropOldest`'s eviction see every message not yet handled.
    Queue {
        queue: Arc<Queue<T>>,
        local: VecDeque<T>,
        batch: bool,
    },
    Wait(mpsc::Receiver<T>),
}

impl<T> Rx<T> {
    /// Poll for the next message. The process holds a sender to itself and closes its mailbox
    /// only when it exits, so this never ends: a closed mailbox just stays pending.
    #[inline]
    pub(crate) fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<T> {
        match self {
            Rx::Queue {
                queue,
                batch: false,
                ..
            } => queue.poll_pop(cx),
            Rx::Queue { queue, local, .. } => {
                if let Some(m) = local.pop_front() {
                    return Poll::Ready(m);
                }
                match queue.poll_take_into(cx, local) {
                    Poll::Ready(()) => match local.pop_front() {
                        Some(m) => Poll::Ready(m),
                        None => Poll::Pending,
                    },
                    Poll::Pending => Poll::Pending,
                }
            }
            Rx::Wait(rx) => match rx.poll_recv(cx) {
                Poll::Ready(Some(m)) => Poll::Ready(m),
                _ => Poll::Pending,
            },
        }
    }

    /// The next message if one is queued.
    #[inline]
    pub(crate) fn try_recv(&mut self) -> Option<T> {
        match self {
            Rx::Queue {
                queue,
                batch: false,
                ..
            } => queue.try_pop(),
            Rx::Queue { queue, local, .. } => {
                if let Some(m) = local.pop_front() {
                    return Some(m);
                }
                queue.take_into(local);
                local.pop_front()
            }
            Rx::Wait(rx) => rx.try_recv().ok(),
        }
    }

    /// Close the mailbox and drop what is queued; returns how many messages were dropped.
    #[cfg(test)]
    pub(crate) fn close_and_drain(&mut self) -> u64 {
        self.close_and_take().len() as u64
    }

    /// Close the mailbox and hand back what is queued: after this, every send fails, so the
    /// messages returned are exactly those that were delivered but never handled.
    pub(crate) fn close_and_take(&mut self) -> Vec<T> {
        let mut out = Vec::new();
        match self {
            Rx::Queue { queue, local, .. } => {
                out.extend(local.drain(..));
                out.extend(queue.close_and_take());
            }
            // Until `Disconnected`, not the first `Empty`: a sender that got in before the
            // close may not have pushed yet, and its message would otherwise sit in the closed
            // channel, counted nowhere (found by the crash storm in tests/tests/guarantees.rs).
            Rx::Wait(rx) => {
                rx.close();
                loop {
                    match rx.try_recv() {
                        Ok(m) => out.push(m),
                        Err(mpsc::error::TryRecvError::Empty) => std::thread::yield_now(),
                        Err(mpsc::error::TryRecvError::Disconnected) => break,
                    }
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn drop_oldest_evicts_from_the_front() {
        let (tx, mut rx) = Mailbox::bounded(2, Overflow::DropOldest).channel::<u32>();
        assert!(matches!(tx.try_send(1, None), Sent::Queued));
        assert!(matches!(tx.try_send(2, None), Sent::Queued));
        assert!(matches!(tx.try_send(3, None), Sent::QueuedEvicting));
        assert_eq!(std::future::poll_fn(|cx| rx.poll_recv(cx)).await, 2);
        assert_eq!(rx.try_recv(), Some(3));
        assert_eq!(rx.close_and_take(), Vec::<u32>::new());
        assert!(matches!(tx.try_send(4, None), Sent::Dead(4)));
    }

    /// Regression: a drop-oldest sender that still saw its process alive could push after the
    /// exit's final drain, and that message was lost uncounted.
    #[tokio::test]
    async fn drop_oldest_refuses_sends_once_closed_even_if_the_process_looks_alive() {
        let (tx, mut rx) = Mailbox::bounded(2, Overflow::DropOldest).channel::<u32>();
        assert!(matches!(tx.try_send(1, None), Sent::Queued));
        assert_eq!(rx.close_and_take(), vec![1]);
        assert!(matches!(tx.try_send(2, None), Sent::Dead(2)));
    }

    #[tokio::test]
    async fn bounded_policies() {
        let (tx, mut rx) = Mailbox::bounded(1, Overflow::Reject).channel::<u32>();
        assert!(matches!(tx.try_send(1, None), Sent::Queued));
        assert!(matches!(tx.try_send(2, None), Sent::Full(2)));
        let (tx2, _rx2) = Mailbox::bounded(1, Overflow::DropNewest).channel::<u32>();
        assert!(matches!(tx2.try_send(1, None), Sent::Queued));
        assert!(matches!(tx2.try_send(2, None), Sent::Dropped));
        assert_eq!(rx.close_and_drain(), 1);
        assert!(matches!(tx.try_send(3, None), Sent::Dead(3)));
    }

    /// A receiver waiting on an empty mailbox is woken by the next send, from another task.
    #[tokio::test]
    async fn a_send_wakes_the_waiting_receiver() {
        let (tx, mut rx) = Mailbox::Unbounded.channel::<u32>();
        let receiver = tokio::spawn(async move {
            let first = std::future::poll_fn(|cx| rx.poll_recv(cx)).await;
            let second = std::future::poll_fn(|cx| rx.poll_recv(cx)).await;
            (first, second)
        });
        tokio::task::yield_now().await;
        assert!(matches!(tx.try_send(1, None), Sent::Queued));
        tokio::task::yield_now().await;
        assert!(matches!(tx.try_send(2, None), Sent::Queued));
        // A bound, so that a lost wake-up fails the test instead of hanging it.
        let got = tokio::time::timeout(std::time::Duration::from_secs(10), receiver).await;
        assert_eq!(got.expect("the receiver was never woken").unwrap(), (1, 2));
    }

    /// Messages taken into the receiver's local buffer but not handled count at close, in order,
    /// before those still in the shared queue.
    #[tokio::test]
    async fn close_hands_back_taken_then_queued_messages_in_order() {
        let (tx, mut rx) = Mailbox::Unbounded.channel::<u32>();
        for i in 0..3 {
            assert!(matches!(tx.try_send(i, None), Sent::Queued));
        }
        assert_eq!(rx.try_recv(), Some(0));
        assert!(matches!(tx.try_send(3, None), Sent::Queued));
        assert_eq!(rx.close_and_take(), vec![1, 2, 3]);
        assert!(matches!(tx.try_send(4, None), Sent::Dead(4)));
    }
}
