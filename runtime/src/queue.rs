//! The many-senders, one-receiver queue behind mailboxes and system channels.
//!
//! A lock around a `VecDeque` and the receiver's waker. Why not tokio's `mpsc`: its unbounded
//! channel allocates a block of 32 slots and a cache-padded header up front for every channel,
//! which for two channels per process was most of a process's memory (BENCHMARKS.md), and its
//! send costs several atomic read-modify-writes. Here a never-messaged queue allocates nothing;
//! a send is one uncontended lock, a push and, only when the receiver sleeps, a wake; and the
//! receiver takes everything queued under one lock by swapping buffers, so it locks once per
//! batch rather than once per message.
//!
//! Closing happens under the lock, so once [`Queue::close_and_take`] returns no send can slip
//! in: every message is either taken by the receiver or handed back to its sender.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context, Poll, Waker};

/// A queue with an optional capacity. Senders share it (`&self`); exactly one receiver takes
/// from it.
pub(crate) struct Queue<T> {
    inner: Mutex<Inner<T>>,
    /// Whether anything is queued: lets the receiver skip the lock when there is nothing.
    /// Written only under the lock.
    nonempty: AtomicBool,
}

struct Inner<T> {
    items: VecDeque<T>,
    /// The receiver's waker while it waits for an empty queue to fill.
    waker: Option<Waker>,
    closed: bool,
}

/// What a push did.
pub(crate) enum Pushed<T> {
    /// Queued.
    Queued,
    /// Queued after evicting the oldest message (`evict_oldest` on a full queue).
    QueuedEvicting,
    /// The queue was full; the message is handed back.
    Full(T),
    /// The queue is closed; the message is handed back.
    Closed(T),
}

impl<T> Default for Queue<T> {
    fn default() -> Self {
        Queue {
            inner: Mutex::new(Inner {
                items: VecDeque::new(),
                waker: None,
                closed: false,
            }),
            nonempty: AtomicBool::new(false),
        }
    }
}

impl<T> Queue<T> {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner<T>> {
        // Nothing panics while the lock is held (pushes, pops and swaps), so a poisoned lock
        // can only follow an allocation failure; the queue itself is still consistent.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queue `item` unless the queue is closed or already holds `capacity` items; on a full
    /// queue, `evict_oldest` drops the front item to make room instead of refusing. A queued
    /// item adds one to `count`, under the lock: exact without a locked instruction, and never
    /// behind the receiver (which takes under the same lock).
    #[inline]
    pub(crate) fn push(
        &self,
        item: T,
        capacity: Option<usize>,
        evict_oldest: bool,
        count: Option<&AtomicU64>,
    ) -> Pushed<T> {
        let mut inner = self.lock();
        if inner.closed {
            return Pushed::Closed(item);
        }
        let mut evicted = None;
        if let Some(cap) = capacity
            && inner.items.len() >= cap
        {
            if !evict_oldest {
                return Pushed::Full(item);
            }
            evicted = inner.items.pop_front();
        }
        inner.items.push_back(item);
        if let Some(c) = count {
            c.store(c.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
        }
        self.nonempty.store(true, Ordering::Relaxed);
        let waker = inner.waker.take();
        drop(inner);
        if let Some(w) = waker {
            w.wake();
        }
        // The evicted message is dropped here, outside the lock: its destructor may do anything.
        match evicted {
            Some(_) => Pushed::QueuedEvicting,
            None => Pushed::Queued,
        }
    }

    /// Whether nothing is queued (a hint: a concurrent push may be landing).
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        !self.nonempty.load(Ordering::Relaxed)
    }

    /// Move everything queued to the back of `into`. Returns `false` if nothing was queued.
    #[inline]
    pub(crate) fn take_into(&self, into: &mut VecDeque<T>) -> bool {
        if self.is_empty() {
            return false;
        }
        let mut inner = self.lock();
        take_locked(&mut inner, &self.nonempty, into)
    }

    /// Like [`Queue::take_into`], but when nothing is queued, remember the task's waker so the
    /// next push wakes it.
    pub(crate) fn poll_take_into(&self, cx: &mut Context<'_>, into: &mut VecDeque<T>) -> Poll<()> {
        let mut inner = self.lock();
        if take_locked(&mut inner, &self.nonempty, into) {
            return Poll::Ready(());
        }
        register(&mut inner, cx);
        Poll::Pending
    }

    /// Take the oldest item alone (the system queue, where batching would not pay, and bounded
    /// mailboxes, whose capacity must see every message not yet handled), remembering the
    /// task's waker if there is none.
    pub(crate) fn poll_pop(&self, cx: &mut Context<'_>) -> Poll<T> {
        let mut inner = self.lock();
        if let Some(item) = pop_locked(&mut inner, &self.nonempty) {
            return Poll::Ready(item);
        }
        register(&mut inner, cx);
        Poll::Pending
    }

    /// Take the oldest item, if any.
    #[inline]
    pub(crate) fn try_pop(&self) -> Option<T> {
        if self.is_empty() {
            return None;
        }
        pop_locked(&mut self.lock(), &self.nonempty)
    }

    /// Whether any queued item matches `pred`; if none does, remember the task's waker so the
    /// next push wakes it. Items stay queued.
    pub(crate) fn poll_any(&self, cx: &mut Context<'_>, pred: impl Fn(&T) -> bool) -> bool {
        let mut inner = self.lock();
        if inner.items.iter().any(pred) {
            return true;
        }
        register(&mut inner, cx);
        false
    }

    /// Close: from now on every push is refused. Returns what was still queued.
    pub(crate) fn close_and_take(&self) -> VecDeque<T> {
        let mut inner = self.lock();
        inner.closed = true;
        inner.waker = None;
        self.nonempty.store(false, Ordering::Relaxed);
        std::mem::take(&mut inner.items)
    }
}

/// Under the lock: the oldest item, keeping the `nonempty` hint right.
fn pop_locked<T>(inner: &mut Inner<T>, nonempty: &AtomicBool) -> Option<T> {
    let item = inner.items.pop_front();
    nonempty.store(!inner.items.is_empty(), Ordering::Relaxed);
    item
}

/// Under the lock: remember the receiver's waker, cloning it only if it changed.
fn register<T>(inner: &mut Inner<T>, cx: &Context<'_>) {
    match &inner.waker {
        Some(w) if w.will_wake(cx.waker()) => {}
        _ => inner.waker = Some(cx.waker().clone()),
    }
}

/// Under the lock: hand the queued items over, swapping buffers when the receiver's is empty
/// (the usual case) so that neither side allocates again.
#[inline]
fn take_locked<T>(inner: &mut Inner<T>, nonempty: &AtomicBool, into: &mut VecDeque<T>) -> bool {
    if inner.items.is_empty() {
        return false;
    }
    if into.is_empty() {
        std::mem::swap(&mut inner.items, into);
    } else {
        into.append(&mut inner.items);
    }
    nonempty.store(false, Ordering::Relaxed);
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capacity_refuses_or_evicts_and_close_refuses_everything() {
        let q = Queue::default();
        assert!(matches!(q.push(1, Some(2), false, None), Pushed::Queued));
        assert!(matches!(q.push(2, Some(2), false, None), Pushed::Queued));
        assert!(matches!(q.push(3, Some(2), false, None), Pushed::Full(3)));
        assert!(matches!(
            q.push(3, Some(2), true, None),
            Pushed::QueuedEvicting
        ));
        assert_eq!(q.try_pop(), Some(2));
        assert!(!q.is_empty());
        assert_eq!(q.close_and_take(), [3]);
        assert!(q.is_empty());
        assert!(matches!(q.push(4, None, false, None), Pushed::Closed(4)));
    }

    #[test]
    fn take_into_keeps_order_across_batches() {
        let q = Queue::default();
        let mut local = VecDeque::new();
        q.push(1, None, false, None);
        q.push(2, None, false, None);
        assert!(q.take_into(&mut local));
        q.push(3, None, false, None);
        assert!(q.take_into(&mut local));
        assert!(!q.take_into(&mut local));
        assert_eq!(local, [1, 2, 3]);
    }
}
