//! Mailboxes: unbounded by default, or bounded with an overflow policy.
//!
//! One thin enum over tokio's channels, chosen once at spawn, so the common unbounded path is
//! tokio's own `mpsc` plus a branch. `DropOldest` needs the sender to evict from the front,
//! which tokio's channels cannot do, so it uses a small locked ring.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::Mutex;
use tokio::sync::{Notify, mpsc};

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
            Mailbox::Unbounded => {
                let (tx, rx) = mpsc::unbounded_channel();
                (Tx::Unbounded(tx), Rx::Unbounded(rx))
            }
            Mailbox::Bounded {
                capacity,
                overflow: Overflow::DropOldest,
            } => {
                let ring = Arc::new(Ring {
                    queue: Mutex::new(VecDeque::new()),
                    closed: std::sync::atomic::AtomicBool::new(false),
                    notify: Notify::new(),
                    capacity,
                });
                (Tx::Ring(ring.clone()), Rx::Ring(ring))
            }
            Mailbox::Bounded { capacity, overflow } => {
                let (tx, rx) = mpsc::channel(capacity);
                (Tx::Bounded(tx, overflow), Rx::Bounded(rx))
            }
        }
    }
}

/// The ring behind `DropOldest`.
pub(crate) struct Ring<T> {
    queue: Mutex<VecDeque<T>>,
    /// Set (under the queue's lock) when the process closes its mailbox at exit; a sender
    /// checks it under the same lock, so no message slips in after the final drain uncounted.
    closed: std::sync::atomic::AtomicBool,
    notify: Notify,
    capacity: usize,
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
    Unbounded(mpsc::UnboundedSender<T>),
    Bounded(mpsc::Sender<T>, Overflow),
    Ring(Arc<Ring<T>>),
}

impl<T> Clone for Tx<T> {
    fn clone(&self) -> Self {
        match self {
            Tx::Unbounded(t) => Tx::Unbounded(t.clone()),
            Tx::Bounded(t, o) => Tx::Bounded(t.clone(), *o),
            Tx::Ring(r) => Tx::Ring(r.clone()),
        }
    }
}

impl<T> Tx<T> {
    /// Send without waiting. Under `Wait`, a full mailbox answers `Full`.
    #[inline]
    pub(crate) fn try_send(&self, msg: T, alive: impl Fn() -> bool) -> Sent<T> {
        match self {
            Tx::Unbounded(tx) => match tx.send(msg) {
                Ok(()) => Sent::Queued,
                Err(e) => Sent::Dead(e.0),
            },
            Tx::Bounded(tx, overflow) => match tx.try_send(msg) {
                Ok(()) => Sent::Queued,
                Err(mpsc::error::TrySendError::Closed(m)) => Sent::Dead(m),
                Err(mpsc::error::TrySendError::Full(m)) => match overflow {
                    Overflow::DropNewest => {
                        drop(m);
                        Sent::Dropped
                    }
                    _ => Sent::Full(m),
                },
            },
            Tx::Ring(ring) => {
                if !alive() {
                    return Sent::Dead(msg);
                }
                let evicted = {
                    let mut q = ring.queue.lock().unwrap_or_else(|p| p.into_inner());
                    if ring.closed.load(std::sync::atomic::Ordering::Relaxed) {
                        return Sent::Dead(msg);
                    }
                    let evicted = if q.len() >= ring.capacity {
                        q.pop_front()
                    } else {
                        None
                    };
                    q.push_back(msg);
                    evicted
                };
                ring.notify.notify_one();
                if evicted.is_some() {
                    Sent::QueuedEvicting
                } else {
                    Sent::Queued
                }
            }
        }
    }

    /// Send, waiting for room under `Wait`.
    ///
    /// Cancel safety: if the future is dropped while waiting for room, the message is dropped
    /// and was never queued.
    pub(crate) async fn send(&self, msg: T, alive: impl Fn() -> bool) -> Sent<T> {
        match self {
            Tx::Bounded(tx, Overflow::Wait) => match tx.send(msg).await {
                Ok(()) => Sent::Queued,
                Err(e) => Sent::Dead(e.0),
            },
            _ => self.try_send(msg, alive),
        }
    }
}

/// The receiving half, owned by the process.
pub(crate) enum Rx<T> {
    Unbounded(mpsc::UnboundedReceiver<T>),
    Bounded(mpsc::Receiver<T>),
    Ring(Arc<Ring<T>>),
}

impl<T> Rx<T> {
    /// Wait for the next message. The process holds a sender to itself, so this never ends.
    ///
    /// Cancel safety: cancel safe; no message is lost if the future is dropped.
    pub(crate) async fn recv(&mut self) -> Option<T> {
        match self {
            Rx::Unbounded(rx) => rx.recv().await,
            Rx::Bounded(rx) => rx.recv().await,
            Rx::Ring(ring) => loop {
                let notified = ring.notify.notified();
                if let Some(m) = ring
                    .queue
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .pop_front()
                {
                    return Some(m);
                }
                notified.await;
            },
        }
    }

    #[inline]
    pub(crate) fn try_recv(&mut self) -> Option<T> {
        match self {
            Rx::Unbounded(rx) => rx.try_recv().ok(),
            Rx::Bounded(rx) => rx.try_recv().ok(),
            Rx::Ring(ring) => ring
                .queue
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .pop_front(),
        }
    }

    /// Close the mailbox and drop what is queued; returns how many messages were dropped.
    #[cfg(test)]
    pub(crate) fn close_and_drain(&mut self) -> u64 {
        self.close_and_take().len() as u64
    }

    /// Close the mailbox and hand back what is queued: after this, every send fails, so the
    /// messages returned are exactly those that were delivered but never received.
    pub(crate) fn close_and_take(&mut self) -> Vec<T> {
        let mut out = Vec::new();
        match self {
            // Until `Disconnected`, not the first `Empty`: a sender that got in before the
            // close may not have pushed yet, and its message would otherwise sit in the closed
            // channel, counted nowhere (found by the crash storm in tests/tests/guarantees.rs).
            Rx::Unbounded(rx) => {
                rx.close();
                loop {
                    match rx.try_recv() {
                        Ok(m) => out.push(m),
                        Err(mpsc::error::TryRecvError::Empty) => std::thread::yield_now(),
                        Err(mpsc::error::TryRecvError::Disconnected) => break,
                    }
                }
            }
            Rx::Bounded(rx) => {
                rx.close();
                loop {
                    match rx.try_recv() {
                        Ok(m) => out.push(m),
                        Err(mpsc::error::TryRecvError::Empty) => std::thread::yield_now(),
                        Err(mpsc::error::TryRecvError::Disconnected) => break,
                    }
                }
            }
            Rx::Ring(ring) => {
                let mut q = ring.queue.lock().unwrap_or_else(|p| p.into_inner());
                ring.closed
                    .store(true, std::sync::atomic::Ordering::Relaxed);
                out.extend(q.drain(..));
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
        assert!(matches!(tx.try_send(1, || true), Sent::Queued));
        assert!(matches!(tx.try_send(2, || true), Sent::Queued));
        assert!(matches!(tx.try_send(3, || true), Sent::QueuedEvicting));
        assert_eq!(rx.recv().await, Some(2));
        assert_eq!(rx.try_recv(), Some(3));
        assert!(matches!(tx.try_send(4, || false), Sent::Dead(4)));
    }

    /// Regression: a drop-oldest sender that still saw its process alive could push after the
    /// exit's final drain, and that message was lost uncounted.
    #[tokio::test]
    async fn drop_oldest_refuses_sends_once_closed_even_if_the_process_looks_alive() {
        let (tx, mut rx) = Mailbox::bounded(2, Overflow::DropOldest).channel::<u32>();
        assert!(matches!(tx.try_send(1, || true), Sent::Queued));
        assert_eq!(rx.close_and_take(), vec![1]);
        assert!(matches!(tx.try_send(2, || true), Sent::Dead(2)));
    }

    #[tokio::test]
    async fn bounded_policies() {
        let (tx, mut rx) = Mailbox::bounded(1, Overflow::Reject).channel::<u32>();
        assert!(matches!(tx.try_send(1, || true), Sent::Queued));
        assert!(matches!(tx.try_send(2, || true), Sent::Full(2)));
        let (tx2, _rx2) = Mailbox::bounded(1, Overflow::DropNewest).channel::<u32>();
        assert!(matches!(tx2.try_send(1, || true), Sent::Queued));
        assert!(matches!(tx2.try_send(2, || true), Sent::Dropped));
        assert_eq!(rx.close_and_drain(), 1);
        assert!(matches!(tx.try_send(3, || true), Sent::Dead(3)));
    }
}
