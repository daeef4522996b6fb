//! Mailboxes: unbounded by default, or bounded with an overflow policy.
//!
//! Every shape is a `Queue` (a lock around a `VecDeque`, see `queue.rs`) with the
//! capacity and policy checked under its lock, so an unbounded mailbox costs nothing until its
//! first message, `DropOldest` can evict from the front, and `Wait` keeps its waiting senders in
//! a line under the same lock: each message taken wakes one, and the exit's close wakes and
//! refuses them all at once. (`Wait` once used tokio's bounded channel, whose close could only
//! be made exact by spinning until every sender let go: with senders woken but not yet run on
//! the spinning threads, the runtime livelocked; issue 14.)

use crate::queue::{Pushed, Queue};
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::task::{Context, Poll};

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
        let queue = Arc::new(Queue::default());
        let (capacity, overflow) = match *self {
            Mailbox::Bounded { capacity, overflow } => (Some(capacity), overflow),
            Mailbox::Unbounded => (None, Overflow::Reject),
        };
        (
            Tx {
                queue: queue.clone(),
                capacity,
                overflow,
            },
            Rx {
                queue,
                local: VecDeque::new(),
                batch: capacity.is_none(),
            },
        )
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
pub(crate) struct Tx<T> {
    queue: Arc<Queue<T>>,
    /// `None` for an unbounded mailbox (whose `overflow` is then never used).
    capacity: Option<usize>,
    overflow: Overflow,
}

impl<T> Clone for Tx<T> {
    fn clone(&self) -> Self {
        Tx {
            queue: self.queue.clone(),
            capacity: self.capacity,
            overflow: self.overflow,
        }
    }
}

impl<T> Tx<T> {
    /// Send without waiting. Under `Wait`, a full mailbox answers `Full`. A queued message adds
    /// one to `count` (the receiver's `enqueued`, when instrumented).
    #[inline(always)]
    pub(crate) fn try_send(&self, msg: T, count: Option<&AtomicU64>) -> Sent<T> {
        let evict = self.overflow == Overflow::DropOldest;
        match self.queue.push(msg, self.capacity, evict, count) {
            Pushed::Queued => Sent::Queued,
            Pushed::QueuedEvicting => Sent::QueuedEvicting,
            Pushed::Closed(m) => Sent::Dead(m),
            Pushed::Full(m) if self.overflow == Overflow::DropNewest => {
                drop(m);
                Sent::Dropped
            }
            Pushed::Full(m) => Sent::Full(m),
        }
    }

    /// Send, waiting for room under `Wait`.
    ///
    /// Cancel safety: if the future is dropped while waiting for room, the message is dropped
    /// and was never queued.
    pub(crate) async fn send(&self, msg: T, count: Option<&AtomicU64>) -> Sent<T> {
        match self.capacity {
            Some(capacity) if self.may_wait() => {
                match self.queue.push_waiting(msg, capacity, count).await {
                    Pushed::Closed(m) => Sent::Dead(m),
                    _ => Sent::Queued,
                }
            }
            _ => self.try_send(msg, count),
        }
    }

    /// Whether sending may have to wait (only a bounded mailbox under `Wait`).
    #[inline]
    pub(crate) fn may_wait(&self) -> bool {
        self.overflow == Overflow::Wait
    }
}

/// The receiving half, owned by the process.
///
/// `local` holds what was taken from the queue in one go and not yet handled. Only an unbounded
/// mailbox (`batch`) takes in batches: a bounded one takes one message at a time, so that its
/// capacity, `DropOldest`'s eviction and the senders waiting for room under `Wait` see every
/// message not yet handled.
pub(crate) struct Rx<T> {
    queue: Arc<Queue<T>>,
    local: VecDeque<T>,
    batch: bool,
}

impl<T> Rx<T> {
    /// Poll for the next message. The process holds a sender to itself and closes its mailbox
    /// only when it exits, so this never ends: a closed mailbox just stays pending.
    #[inline]
    pub(crate) fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<T> {
        if !self.batch {
            return self.queue.poll_pop(cx);
        }
        if let Some(m) = self.local.pop_front() {
            return Poll::Ready(m);
        }
        match self.queue.poll_take_into(cx, &mut self.local) {
            Poll::Ready(()) => match self.local.pop_front() {
                Some(m) => Poll::Ready(m),
                None => Poll::Pending,
            },
            Poll::Pending => Poll::Pending,
        }
    }

    /// The queue behind it (for the observer's peek, `peek.rs`).
    pub(crate) fn queue(&self) -> &Arc<Queue<T>> {
        &self.queue
    }

    /// The next message if one is queued.
    #[inline]
    pub(crate) fn try_recv(&mut self) -> Option<T> {
        if !self.batch {
            return self.queue.try_pop();
        }
        if let Some(m) = self.local.pop_front() {
            return Some(m);
        }
        self.queue.take_into(&mut self.local);
        self.local.pop_front()
    }

    /// Close the mailbox and drop what is queued; returns how many messages were dropped.
    #[cfg(test)]
    pub(crate) fn close_and_drain(&mut self) -> u64 {
        self.close_and_take().len() as u64
    }

    /// Close the mailbox and hand back what is queued: after this, every send fails (senders
    /// waiting for room under `Wait` are woken and refused), so the messages returned are
    /// exactly those that were delivered but never handled. Never waits.
    pub(crate) fn close_and_take(&mut self) -> Vec<T> {
        let mut out: Vec<T> = self.local.drain(..).collect();
        out.extend(self.queue.close_and_take());
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
