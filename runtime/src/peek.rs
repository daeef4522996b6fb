//! The queue peek (issue 19): the first messages waiting in a process's mailbox, read by an
//! observer's request on its own task without messaging or stopping the process: under the
//! mailbox's lock only each message's kind, variant, enqueue stamp and (if the process renders
//! messages, `GenServer::format_message`) its text are copied; naming happens after the lock.
//!
//! Ages: about one message in 32 carries its enqueue time (`WAIT_SAMPLE_EVERY`). A stamped
//! message's age is exact; any message ahead of it in the queue is at least as old (FIFO), so it
//! gets that age as a lower bound. Messages the process already took into its batch buffer are
//! its own (not behind the lock) and are only counted, as `in_batch`.

use crate::handle::Envelope;
use crate::msg_types::table::Names;
pub(crate) use crate::msg_types::table::{Copied, Peekable};
use crate::msg_types::{MsgTypes, key_of};
use crate::process::ProcessCell;
use crate::queue::Queue;
use crate::server::GenServer;
use beamline_wire::{MAX_PEEK, QueuePeek, QueuedMessage};
use std::collections::VecDeque;

/// Rendered message texts are cut to this many bytes.
pub(crate) const MAX_TEXT: usize = 256;

/// How far past the first `n` the peek looks for a stamped message to bound their ages.
const LOOK_AHEAD: usize = 64;

impl<S: GenServer> Peekable for Queue<Envelope<S>> {
    fn copy_head(&self, n: usize) -> (Vec<Copied>, u64, u64) {
        self.peek_with(|items: &VecDeque<Envelope<S>>| {
            let head = items.iter().take(n).map(|env| {
                let (kind, variant) = key_of(env);
                let (stamp, text) = match env {
                    Envelope::Call(m, _, st) => (*st, S::format_message(crate::Message::Call(m))),
                    Envelope::Cast(m, st) => (*st, S::format_message(crate::Message::Cast(m))),
                    Envelope::Info(m, st) => (*st, S::format_message(crate::Message::Info(m))),
                };
                Copied {
                    kind,
                    variant,
                    stamp,
                    text: text.map(cut),
                }
            });
            let head: Vec<Copied> = head.collect();
            let behind = (items.iter().skip(n).take(LOOK_AHEAD))
                .map(|env| match env {
                    Envelope::Call(_, _, st) | Envelope::Cast(_, st) | Envelope::Info(_, st) => *st,
                })
                .find(|st| *st != 0)
                .unwrap_or(0);
            (head, items.len() as u64, behind)
        })
    }
}

fn cut(mut s: String) -> String {
    if s.len() > MAX_TEXT {
        let mut at = MAX_TEXT;
        while !s.is_char_boundary(at) {
            at -= 1;
        }
        s.truncate(at);
        s.push('…');
    }
    s
}

/// The first `n` (at most [`MAX_PEEK`]) messages queued for `cell`.
pub(crate) fn peek(cell: &ProcessCell, n: u32) -> QueuePeek {
    let now = cell.now_ns();
    let at_ms = now / 1_000_000;
    let table = &cell.msg_types;
    let Some(queue) = table.queue.upgrade() else {
        return QueuePeek {
            at_ms,
            ..QueuePeek::default()
        };
    };
    let (head, queued, behind) = queue.copy_head(n.min(MAX_PEEK) as usize);
    QueuePeek {
        at_ms,
        in_batch: cell.stats.mailbox_len().saturating_sub(queued),
        queued,
        messages: name(table, &cell.meta.names(), head, behind, now),
    }
}

/// Name the copied messages and work out their ages, oldest first.
fn name(
    table: &MsgTypes,
    names: &Names,
    head: Vec<Copied>,
    behind: u64,
    now: u64,
) -> Vec<QueuedMessage> {
    let age = |stamp: u64| now.saturating_sub(stamp) / 1_000;
    // Walk from the back: the nearest stamped message behind each one bounds its age.
    let mut bound = (behind != 0).then(|| age(behind));
    let mut out: Vec<QueuedMessage> = head
        .into_iter()
        .rev()
        .map(|c| {
            let exact = c.stamp != 0;
            if exact {
                bound = Some(age(c.stamp));
            }
            QueuedMessage {
                name: table.name(names, c.kind, c.variant),
                kind: c.kind,
                bytes: MsgTypes::size(names, c.kind),
                age_us: bound,
                age_exact: exact,
                text: c.text,
            }
        })
        .collect();
    out.reverse();
    out
}
