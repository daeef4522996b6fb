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
//! A full queue can also keep a list of senders waiting for room ([`Queue::push_waiting`], for
//! `Overflow::Wait` mailboxes): each item taken wakes the oldest of them. It is allocated by the
//! first sender that waits, so other queues pay one pointer for it.
//!
//! Closing happens under the lock, so once [`Queue::close_and_take`] returns no send can slip
//! in: every message is either taken by the receiver or handed back to its sender. Senders
//! waiting for room are woken by the close and get their message back; the close itself never
//! waits for anyone.
//!
//! (Longer than most modules, a third of it tests: the line of waiting senders must share the
//! queue's lock to be exact, so it lives here.)

use parking_lot::{Mutex, MutexGuard};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context, Poll, Waker};

/// A queue with an optional capacity. Senders share it (`&self`); exactly one receiver takes
/// from it.
pub(crate) struct Queue<T> {
    inner: Mutex<Inner<T>>,
    /// Whether anything is queued: lets the receiver skip the lock when there is nothing.
    /// Written only under the lock.
    nonempty: AtomicBool,
    /// Whether the queue is closed. Written and read only under the lock (which orders it), so
    /// relaxed; kept here rather than in [`Inner`] because here it fills padding, keeping a
    /// process's two queues as small as before the line of waiting senders was added.
    closed: AtomicBool,
}

struct Inner<T> {
    items: VecDeque<T>,
    /// The receiver's waker while it waits for an empty queue to fill.
    waker: Option<Waker>,
    /// Senders waiting for room, oldest first; `None` until the first one waits.
    room: Option<Box<Room>>,
}

/// The senders waiting for room in a full queue.
#[derive(Default)]
struct Room {
    /// Each waiter's id and waker, oldest first. A waiter is removed when it is woken (room
    /// was made, or the queue closed) or when its send is abandoned.
    waiting: VecDeque<(u64, Waker)>,
    next_id: u64,
}

impl Room {
    fn position(&self, id: u64) -> Option<usize> {
        self.waiting.iter().position(|(i, _)| *i == id)
    }
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
                room: None,
            }),
            nonempty: AtomicBool::new(false),
            closed: AtomicBool::new(false),
        }
    }
}

impl<T> Queue<T> {
    /// parking_lot's lock rather than std's: no poison flag to check on every send (nothing
    /// panics while it is held: pushes, pops and swaps), and one byte instead of a word.
    #[inline]
    fn lock(&self) -> MutexGuard<'_, Inner<T>> {
        self.inner.lock()
    }

    /// Whether the queue is closed; asks for the lock's guard because only under the lock is
    /// the answer final.
    #[inline]
    fn is_closed(&self, _locked: &Inner<T>) -> bool {
        self.closed.load(Ordering::Relaxed)
    }

    /// Queue `item` unless the queue is closed or already holds `capacity` items; on a full
    /// queue, `evict_oldest` drops the front item to make room instead of refusing. A queued
    /// item adds one to `count`, under the lock: exact without a locked instruction, and never
    /// behind the receiver (which takes under the same lock).
    #[inline(always)]
    pub(crate) fn push(
        &self,
        item: T,
        capacity: Option<usize>,
        evict_oldest: bool,
        count: Option<&AtomicU64>,
    ) -> Pushed<T> {
        let mut inner = self.lock();
        if self.is_closed(&inner) {
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
        self.push_locked(inner, item, count);
        // The evicted message is dropped here, outside the lock: its destructor may do anything.
        match evicted {
            Some(_) => Pushed::QueuedEvicting,
            None => Pushed::Queued,
        }
    }

    /// Queue `item` under the lock taken by the caller, count it, then release the lock and
    /// wake the receiver if it sleeps.
    #[inline(always)]
    fn push_locked(&self, mut inner: MutexGuard<'_, Inner<T>>, item: T, count: Option<&AtomicU64>) {
        if inner.items.capacity() == 0 {
            // A first buffer for one message, not the four `VecDeque` would make room for: most
            // processes get one message at a time (a request, a call), and the buffer stays
            // allocated while they sleep (about 100 bytes per idle process). A burst grows it
            // as usual, and from then on the grown buffer circulates between the queue and the
            // receiver. (`with_capacity` rather than `reserve_exact`: a plain allocation,
            // without the growth path's checks: about 25 instructions per spawn.)
            inner.items = VecDeque::with_capacity(1);
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
    }

    /// Queue `item`, waiting for room while the queue holds `capacity` items (backpressure).
    /// Answers `Queued`, or `Closed` with the item if the queue is or gets closed first.
    ///
    /// Each item the receiver takes wakes the oldest waiting sender, and the close wakes them
    /// all. Cancel safety: dropping the future gives up its place (and passes a wake-up it was
    /// given but did not use on to the next waiter); the item is dropped, never queued.
    pub(crate) async fn push_waiting(
        &self,
        item: T,
        capacity: usize,
        count: Option<&AtomicU64>,
    ) -> Pushed<T> {
        let mut item = Some(item);
        let mut place = Place {
            queue: self,
            id: None,
        };
        std::future::poll_fn(|cx| {
            let mut inner = self.lock();
            let closed = self.is_closed(&inner);
            if closed || inner.items.len() < capacity {
                place.leave(&mut inner);
                let it = item.take().expect("polled after it returned");
                if closed {
                    return Poll::Ready(Pushed::Closed(it));
                }
                self.push_locked(inner, it, count);
                return Poll::Ready(Pushed::Queued);
            }
            let room = inner.room.get_or_insert_default();
            match place.id.and_then(|id| room.position(id)) {
                // Still in line (polled for another reason): keep the place, with this waker.
                Some(at) => {
                    let (_, w) = &mut room.waiting[at];
                    if !w.will_wake(cx.waker()) {
                        *w = cx.waker().clone();
                    }
                }
                // New, or woken for room another sender took first: then back at the front.
                None => place.id = Some(room.wait(cx.waker(), place.id.is_some())),
            }
            Poll::Pending
        })
        .await
    }

    /// Look at what is queued under the lock (the observer's peek: `f` should only copy).
    pub(crate) fn peek_with<R>(&self, f: impl FnOnce(&VecDeque<T>) -> R) -> R {
        f(&self.lock().items)
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
        match inner.items.pop_front() {
            Some(item) => Poll::Ready(self.popped(inner, item)),
            None => {
                register(&mut inner, cx);
                Poll::Pending
            }
        }
    }

    /// Take the oldest item, if any. The empty check is inlined into the caller (the process
    /// loop asks the system queue once per message, and it is almost always empty); the rest
    /// is kept out of line so that the check costs no call.
    #[inline(always)]
    pub(crate) fn try_pop(&self) -> Option<T> {
        if self.is_empty() {
            return None;
        }
        self.pop_locked()
    }

    /// [`Queue::try_pop`] once something may be queued.
    #[inline(never)]
    fn pop_locked(&self) -> Option<T> {
        let mut inner = self.lock();
        let item = inner.items.pop_front()?;
        Some(self.popped(inner, item))
    }

    /// After `item` was taken under the lock: keep the `nonempty` hint right, release the lock,
    /// and wake the oldest sender waiting for the room this made.
    #[inline]
    fn popped(&self, mut inner: MutexGuard<'_, Inner<T>>, item: T) -> T {
        self.nonempty
            .store(!inner.items.is_empty(), Ordering::Relaxed);
        let waiter = inner.room.as_mut().and_then(|r| r.waiting.pop_front());
        drop(inner);
        if let Some((_, w)) = waiter {
            w.wake();
        }
        item
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

    /// Close: from now on every push is refused. Returns what was still queued, and wakes every
    /// sender waiting for room (each then gets its message back): nothing here waits.
    pub(crate) fn close_and_take(&self) -> VecDeque<T> {
        let mut inner = self.lock();
        self.closed.store(true, Ordering::Relaxed);
        inner.waker = None;
        self.nonempty.store(false, Ordering::Relaxed);
        let items = std::mem::take(&mut inner.items);
        let room = inner.room.take();
        drop(inner);
        for (_, w) in room.into_iter().flat_map(|r| r.waiting) {
            w.wake();
        }
        items
    }
}

impl Room {
    /// Take a place in line, at the back or (`first`) the front. Returns the place's id.
    fn wait(&mut self, waker: &Waker, first: bool) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        if first {
            self.waiting.push_front((id, waker.clone()));
        } else {
            self.waiting.push_back((id, waker.clone()));
        }
        id
    }
}

/// A sender's place in a queue's line for room, left when its send completes or is abandoned.
struct Place<'a, T> {
    queue: &'a Queue<T>,
    id: Option<u64>,
}

impl<T> Place<'_, T> {
    /// Leave the line, under the lock. Returns the place's id if it had already been taken out
    /// of the line by a wake-up (room was made for this sender), `None` otherwise.
    fn leave(&mut self, inner: &mut Inner<T>) -> Option<u64> {
        let id = self.id.take()?;
        match inner
            .room
            .as_mut()
            .and_then(|r| r.position(id).map(|at| (r, at)))
        {
            Some((room, at)) => {
                room.waiting.remove(at);
                None
            }
            None => Some(id),
        }
    }
}

impl<T> Drop for Place<'_, T> {
    /// An abandoned send that was woken for room it will not use passes the wake-up on, so the
    /// room is not left idle while others wait.
    fn drop(&mut self) {
        if self.id.is_none() {
            return;
        }
        let mut inner = self.queue.lock();
        if self.leave(&mut inner).is_some() && !self.queue.is_closed(&inner) {
            let next = inner.room.as_mut().and_then(|r| r.waiting.pop_front());
            drop(inner);
            if let Some((_, w)) = next {
                w.wake();
            }
        }
    }
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

    /// Most processes get one message at a time and keep their buffer while they sleep: the
    /// first push makes room for one message, not `VecDeque`'s four (BENCHMARKS.md, RSS per
    /// idle process); a burst still grows it.
    #[test]
    fn a_first_push_makes_room_for_one_message_only() {
        let q = Queue::default();
        q.push([0u64; 4], None, false, None);
        assert_eq!(q.lock().items.capacity(), 1);
        q.push([1u64; 4], None, false, None);
        assert!(q.lock().items.capacity() >= 2);
        let mut local = VecDeque::new();
        assert!(q.take_into(&mut local));
        assert_eq!(local, [[0u64; 4], [1u64; 4]]);
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

    /// A sender's waker that counts its wake-ups.
    struct Count(std::sync::atomic::AtomicUsize);

    impl std::task::Wake for Count {
        fn wake(self: std::sync::Arc<Self>) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// A waiting push to poll by hand, with its own counting waker.
    struct Sender<'a> {
        push: std::pin::Pin<Box<dyn std::future::Future<Output = Pushed<u32>> + 'a>>,
        woken: std::sync::Arc<Count>,
    }

    impl<'a> Sender<'a> {
        fn new(q: &'a Queue<u32>, item: u32) -> Self {
            Sender {
                push: Box::pin(q.push_waiting(item, 1, None)),
                woken: std::sync::Arc::new(Count(Default::default())),
            }
        }

        fn poll(&mut self) -> Poll<Pushed<u32>> {
            let waker = Waker::from(self.woken.clone());
            self.push.as_mut().poll(&mut Context::from_waker(&waker))
        }

        fn woken(&self) -> usize {
            self.woken.0.load(Ordering::Relaxed)
        }
    }

    #[test]
    fn senders_waiting_for_room_are_woken_one_per_item_taken_in_order() {
        let q = Queue::default();
        q.push(0, Some(1), false, None);
        let (mut a, mut b) = (Sender::new(&q, 1), Sender::new(&q, 2));
        assert!(a.poll().is_pending());
        assert!(b.poll().is_pending());
        // Polled again while waiting: keeps its place in line.
        assert!(a.poll().is_pending());
        assert_eq!(q.try_pop(), Some(0));
        assert_eq!((a.woken(), b.woken()), (1, 0));
        assert!(matches!(a.poll(), Poll::Ready(Pushed::Queued)));
        assert_eq!(q.try_pop(), Some(1));
        assert_eq!(b.woken(), 1);
        assert!(matches!(b.poll(), Poll::Ready(Pushed::Queued)));
        assert_eq!(q.try_pop(), Some(2));
    }

    /// The exit's close must not wait for anyone: it wakes every waiting sender, including one
    /// already woken for room it has not used, and each gets its message back.
    #[test]
    fn close_wakes_and_refuses_every_waiting_sender_without_waiting() {
        let q = Queue::default();
        q.push(0, Some(1), false, None);
        let (mut a, mut b) = (Sender::new(&q, 1), Sender::new(&q, 2));
        assert!(a.poll().is_pending());
        assert!(b.poll().is_pending());
        assert_eq!(q.try_pop(), Some(0));
        assert_eq!(q.close_and_take(), [] as [u32; 0]);
        assert_eq!((a.woken(), b.woken()), (1, 1));
        assert!(matches!(a.poll(), Poll::Ready(Pushed::Closed(1))));
        assert!(matches!(b.poll(), Poll::Ready(Pushed::Closed(2))));
    }

    /// A sender woken for room that another push took first goes back to the front of the line;
    /// one that gives up after being woken passes the wake-up on.
    #[test]
    fn a_wake_up_for_room_is_never_lost() {
        let q = Queue::default();
        q.push(0, Some(1), false, None);
        let (mut a, mut b) = (Sender::new(&q, 1), Sender::new(&q, 2));
        assert!(a.poll().is_pending());
        assert!(b.poll().is_pending());
        assert_eq!(q.try_pop(), Some(0));
        // A non-waiting push takes the room `a` was woken for.
        assert!(matches!(q.push(9, Some(1), false, None), Pushed::Queued));
        assert!(a.poll().is_pending());
        assert_eq!(q.try_pop(), Some(9));
        assert_eq!((a.woken(), b.woken()), (2, 0), "a is first in line again");
        drop(a);
        assert_eq!(b.woken(), 1, "a gave up and passed the wake-up on");
        assert!(matches!(b.poll(), Poll::Ready(Pushed::Queued)));
        assert_eq!(q.try_pop(), Some(2));
    }

    /// A sender that gives up while still in line just leaves it.
    #[test]
    fn an_abandoned_wait_leaves_the_line() {
        let q = Queue::default();
        q.push(0, Some(1), false, None);
        let (mut a, mut b) = (Sender::new(&q, 1), Sender::new(&q, 2));
        assert!(a.poll().is_pending());
        assert!(b.poll().is_pending());
        drop(a);
        assert_eq!(q.try_pop(), Some(0));
        assert_eq!(b.woken(), 1);
    }
}
