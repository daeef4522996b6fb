//! The per-type counters' plain table: no `GenServer`, no `ProcessCell`, so that the process
//! cell can hold one without pulling the API core into its imports (see ARCHITECTURE.md,
//! "Imports between files"). Filling it from a server's messages is `msg_types.rs`'s job.

use crate::stats::bump;
use beamline_wire::{MsgKind, TypeCount};
use once_cell::race::OnceBox;
use std::hash::{Hash, Hasher};
use std::sync::Weak;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::Relaxed};

/// Slots per process; more types count together as `other`.
pub const SLOTS: usize = 16;

/// Slots in the table for the types after the first (the first has its own in [`MsgTypes`]).
const TABLE: usize = SLOTS - 1;

/// The names of a server's message variants, in declaration order, for
/// [`crate::GenServer::MESSAGE_VARIANTS`]. Empty lists (the default) mean "number them".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VariantNames {
    /// Variants of `GenServer::Call`.
    pub call: &'static [&'static str],
    /// Variants of `GenServer::Cast`.
    pub cast: &'static [&'static str],
    /// Variants of `GenServer::Info`.
    pub info: &'static [&'static str],
}

impl VariantNames {
    /// No names: variants are numbered.
    pub const NONE: VariantNames = VariantNames {
        call: &[],
        cast: &[],
        info: &[],
    };
}

/// One type's counters. Written by the process only (load+store), read by observers.
#[derive(Default)]
struct Slot {
    /// `kind << 24 | variant` plus one; 0 while the slot is free.
    key: AtomicU32,
    /// The low bits of `count` when the last batch ended: the difference is this type's share
    /// of the batch in progress (kept in the padding beside `key`).
    charged: AtomicU32,
    count: AtomicU64,
    busy_ns: AtomicU64,
    max_ns: AtomicU64,
}

/// What a server is called and how its messages are named: its type's name, its message
/// types' short names, variant names and inline sizes (call, cast, info). Built on demand
/// (read side only) by a function the process's cell keeps as one pointer (`Meta::server`),
/// so a process pays one word for all of it.
pub(crate) struct Names {
    pub(crate) behaviour: &'static str,
    /// `GenServer::INSPECTABLE`.
    pub(crate) inspectable: bool,
    pub(crate) types: [&'static str; 3],
    pub(crate) variants: VariantNames,
    pub(crate) sizes: [u64; 3],
}

/// A process's messages by type, kept in its cell. The first type it handles is counted in a
/// slot of its own here; a table for more ([`TypeTable`], about 520 B) is allocated only when a
/// second type arrives. Most processes (a pool's workers, per-request processes) only ever
/// handle one type: they pay these few words and no allocation.
pub(crate) struct MsgTypes {
    /// The first type handled (its key is 0 until then).
    first: Slot,
    /// Every other type, from the second type's first message.
    more: OnceBox<TypeTable>,
    /// The mailbox, for the queue peek (weak: queued messages may hold handles to this cell).
    pub(crate) queue: Weak<dyn Peekable>,
}

/// The other types' table: [`TABLE`] types and `other`.
#[derive(Default)]
pub(crate) struct TypeTable {
    slots: [Slot; TABLE + 1],
    /// Slots taken so far, one bit each (`other` not included).
    used: AtomicU32,
}

/// Where a key's slot is looked for first.
#[inline(always)]
fn home(key: u32) -> usize {
    ((key >> 24).wrapping_mul(5) ^ key) as usize % TABLE
}

/// A message's key in the table: `kind << 24 | variant`, plus one (0 marks a free slot).
#[inline(always)]
pub(crate) fn key(kind: MsgKind, variant: u32) -> u32 {
    ((kind_index(kind) as u32) << 24 | variant) + 1
}

/// The index of `kind` in per-kind arrays.
#[inline(always)]
fn kind_index(kind: MsgKind) -> usize {
    match kind {
        MsgKind::Call => 0,
        MsgKind::Cast => 1,
        MsgKind::Info => 2,
    }
}

fn kind_of(i: u32) -> MsgKind {
    match i {
        0 => MsgKind::Call,
        1 => MsgKind::Cast,
        _ => MsgKind::Info,
    }
}

/// `a::b::Cmd<x::Y>` → `Cmd<Y>`: the last path segment of every path in a type name.
pub(crate) fn short_name(full: &str) -> String {
    let mut out = String::with_capacity(full.len());
    let mut word = String::new();
    for c in full.chars() {
        // `{{closure}}` is a path segment too (types declared inside a function).
        if c.is_alphanumeric() || matches!(c, '_' | ':' | '{' | '}') {
            word.push(c);
        } else {
            out.push_str(word.rsplit("::").next().unwrap_or(""));
            word.clear();
            out.push(c);
        }
    }
    out.push_str(word.rsplit("::").next().unwrap_or(""));
    out
}

/// Keeps the value `Discriminant::hash` writes: the variant's number.
struct Capture(u64);

impl Hasher for Capture {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }
    fn write_u8(&mut self, i: u8) {
        self.0 = i.into();
    }
    fn write_u16(&mut self, i: u16) {
        self.0 = i.into();
    }
    fn write_u32(&mut self, i: u32) {
        self.0 = i.into();
    }
    fn write_u64(&mut self, i: u64) {
        self.0 = i;
    }
    fn write_usize(&mut self, i: usize) {
        self.0 = i as u64;
    }
}

/// The variant number of an enum value (declaration order for enums without explicit
/// discriminants; 0 for anything that is not an enum). Read through `Discriminant`'s `Hash`,
/// which writes the discriminant's value: should std ever hash it otherwise, variants would
/// still count apart, only their numbers would lose meaning.
#[inline]
pub(crate) fn variant_of<T>(value: &T) -> u32 {
    let mut h = Capture(0);
    std::mem::discriminant(value).hash(&mut h);
    (h.0 & 0x00FF_FFFF) as u32
}

impl TypeTable {
    /// Count `n` messages of `key` (see [`key`]): the slot is found by open addressing (a
    /// process with a few types nearly always hits its key's home slot, one index and one
    /// compare), then one counter goes up.
    #[inline]
    fn note_n(&self, key: u32, n: u32) {
        let home = &self.slots[home(key)];
        if home.key.load(Relaxed) == key {
            bump(&home.count, u64::from(n));
        } else {
            self.note_slow(key, n);
        }
    }

    /// [`TypeTable::note_n`] away from the home slot: probe on, claim a free slot, or count
    /// the message as `other` once all [`TABLE`] are taken.
    #[inline(never)]
    fn note_slow(&self, key: u32, n: u32) {
        let start = home(key);
        let mut slot = TABLE;
        for step in 0..TABLE {
            let i = (start + step) % TABLE;
            let k = self.slots[i].key.load(Relaxed);
            if k == key {
                slot = i;
                break;
            }
            if k == 0 {
                // Only the process writes keys, so a free slot stays free until it does.
                self.slots[i].key.store(key, Relaxed);
                let used = self.used.load(Relaxed);
                self.used.store(used | 1 << i, Relaxed);
                slot = i;
                break;
            }
        }
        bump(&self.slots[slot].count, u64::from(n));
    }
}

impl Slot {
    /// Its messages counted since the last charge took `per` ns each: add that to its busy
    /// time, and to its longest handling if longer.
    #[inline]
    fn charge(&self, per: u64) {
        let low = self.count.load(Relaxed) as u32;
        let n = low.wrapping_sub(self.charged.load(Relaxed));
        if n == 0 {
            return;
        }
        self.charged.store(low, Relaxed);
        bump(&self.busy_ns, per * u64::from(n));
        if per > self.max_ns.load(Relaxed) {
            self.max_ns.store(per, Relaxed);
        }
    }
}

/// Where [`MsgTypes`]' slots are numbered for [`MsgTypes::hottest`] and
/// [`MsgTypes::slot_name`]: the first type's slot, then the table's (`other` last).
const FIRST: usize = 0;
/// The number of `other` in that numbering.
const OTHER: usize = TABLE + 1;

impl MsgTypes {
    /// Nothing counted yet, for a server whose mailbox is `queue`.
    pub(crate) fn new(queue: Weak<dyn Peekable>) -> Self {
        MsgTypes {
            first: Slot::default(),
            more: OnceBox::new(),
            queue,
        }
    }

    /// Count `n` messages of `key` (see [`key`]; the process, for a run of messages of one
    /// type, `msg_types::flush`): the first type's slot is compared first (one load, one
    /// compare), then the table. Returns the messages' kind.
    #[inline]
    pub(crate) fn note_n(&self, key: u32, n: u32) -> MsgKind {
        if self.first.key.load(Relaxed) == key {
            bump(&self.first.count, u64::from(n));
        } else {
            self.note_other(key, n);
        }
        kind_of((key - 1) >> 24)
    }

    /// [`MsgTypes::note_n`] for a key not in the first slot: the first type ever seen takes
    /// it; any other goes to the table, allocated here on the second type's first message.
    #[inline(never)]
    fn note_other(&self, key: u32, n: u32) {
        if self.first.key.load(Relaxed) == 0 {
            // Only the process writes keys. A reader seeing the key before the count skips the
            // slot, as it skips any slot with nothing counted.
            self.first.key.store(key, Relaxed);
            bump(&self.first.count, u64::from(n));
        } else {
            self.more.get_or_init(Box::default).note_n(key, n);
        }
    }

    /// Whether the process handled a message yet (a type was seen).
    pub(crate) fn any(&self) -> bool {
        self.first.key.load(Relaxed) != 0
    }

    /// Whether the table for a second type and more was allocated.
    #[cfg(test)]
    pub(crate) fn has_table(&self) -> bool {
        self.more.get().is_some()
    }

    /// The messages counted since the last charge took `per` ns each: charge each type for its
    /// own (what its count gained since then).
    #[inline]
    pub(crate) fn charge(&self, per: u64) {
        self.first.charge(per);
        let Some(table) = self.more.get() else {
            return;
        };
        // Slots taken, plus `other`.
        let mut taken = table.used.load(Relaxed) | 1 << TABLE;
        while taken != 0 {
            let i = taken.trailing_zeros() as usize;
            taken &= taken - 1;
            table.slots[i].charge(per);
        }
    }

    /// Every slot in use, numbered as [`FIRST`] and [`OTHER`] say.
    fn slots(&self) -> impl Iterator<Item = (usize, &Slot)> {
        let first = std::iter::once((FIRST, &self.first));
        let table = self.more.get().into_iter().flat_map(|t| {
            let mut taken = t.used.load(Relaxed) | 1 << TABLE;
            std::iter::from_fn(move || {
                if taken == 0 {
                    return None;
                }
                let i = taken.trailing_zeros() as usize;
                taken &= taken - 1;
                Some((i + 1, &t.slots[i]))
            })
        });
        first.chain(table)
    }

    /// Whether a variant of the type of `kind` other than `variant` was seen.
    fn other_variant_seen(&self, kind: u32, variant: u32) -> bool {
        self.slots().any(|(i, s)| match s.key.load(Relaxed) {
            0 => false,
            _ if i == OTHER => false,
            k => (k - 1) >> 24 == kind && (k - 1) & 0x00FF_FFFF != variant,
        })
    }

    /// The name of a message of `kind` and `variant`, as the observer shows it.
    pub(crate) fn name(&self, names: &Names, kind: MsgKind, variant: u32) -> String {
        let k = kind_index(kind);
        let list = match kind {
            MsgKind::Call => names.variants.call,
            MsgKind::Cast => names.variants.cast,
            MsgKind::Info => names.variants.info,
        };
        let ty = short_name(names.types[k]);
        match list.get(variant as usize) {
            Some(v) => format!("{ty}::{v}"),
            None if self.other_variant_seen(k as u32, variant) => format!("{ty}#{variant}"),
            None => ty,
        }
    }

    /// The inline size of a message of `kind`.
    pub(crate) fn size(names: &Names, kind: MsgKind) -> u64 {
        names.sizes[kind_index(kind)]
    }

    /// What the counters say now: the first type, then the table's, `other` last.
    pub(crate) fn read(&self, names: &Names) -> Vec<TypeCount> {
        let mut out = Vec::new();
        for (i, s) in self.slots() {
            let count = s.count.load(Relaxed);
            let key = s.key.load(Relaxed);
            if count == 0 || (key == 0 && i != OTHER) {
                continue;
            }
            let (name, kind) = if i == OTHER {
                ("other".to_string(), MsgKind::Info)
            } else {
                let kind = kind_of((key - 1) >> 24);
                (self.name(names, kind, (key - 1) & 0x00FF_FFFF), kind)
            };
            out.push(TypeCount {
                name,
                kind,
                count,
                busy_ns: s.busy_ns.load(Relaxed),
                max_ns: s.max_ns.load(Relaxed),
            });
        }
        out
    }
}

/// What [`MsgTypes::hottest`] remembers between two readings: the low 32 bits of each slot's
/// count (68 bytes; what a type gains in one interval stays far below 2^32).
pub(crate) type Counts = [u32; SLOTS + 1];

impl MsgTypes {
    /// The slot of the type whose count gained the most since `last` (the sampler's previous
    /// reading, updated here), `None` when no count moved. Ties go to the type with more busy
    /// time in total, then to the lower slot. Read side only: the sampler calls it once per
    /// sampled process, so its cost is per sample, never per message.
    pub(crate) fn hottest(&self, last: &mut Counts) -> Option<usize> {
        let mut best: Option<(u64, u64, usize)> = None;
        for (i, s) in self.slots() {
            let count = s.count.load(Relaxed) as u32;
            let gained = u64::from(count.wrapping_sub(last[i]));
            last[i] = count;
            if gained == 0 {
                continue;
            }
            // Busy time is not remembered per slot: of two equal gains, the larger total wins.
            let busy = s.busy_ns.load(Relaxed);
            if best.is_none_or(|(g, b, _)| (gained, busy) > (g, b)) {
                best = Some((gained, busy, i));
            }
        }
        best.map(|(_, _, i)| i)
    }

    /// The slots taken so far, one bit each: a new one may rename a type already seen (`Cmd`
    /// becomes `Cmd#0` once a second variant arrives), so a name kept for a slot is good while
    /// this stays the same.
    pub(crate) fn taken(&self) -> u32 {
        let first = u32::from(self.any());
        let table = self.more.get().map_or(0, |t| t.used.load(Relaxed));
        first | table << 1
    }

    /// The name of the type counted in `slot` (from [`MsgTypes::hottest`]), as `read` names it.
    pub(crate) fn slot_name(&self, names: &Names, slot: usize) -> String {
        let s = match slot {
            FIRST => &self.first,
            OTHER.. => return "other".to_string(),
            i => match self.more.get() {
                Some(t) => &t.slots[i - 1],
                None => return "other".to_string(),
            },
        };
        let key = s.key.load(Relaxed).saturating_sub(1);
        self.name(names, kind_of(key >> 24), key & 0x00FF_FFFF)
    }
}

/// One queued message as copied under the lock.
pub(crate) struct Copied {
    pub(crate) kind: MsgKind,
    pub(crate) variant: u32,
    /// Enqueue time, ns (0: not stamped).
    pub(crate) stamp: u64,
    pub(crate) text: Option<String>,
}

/// A mailbox seen without its message type: what the cell keeps to peek at it.
pub(crate) trait Peekable: Send + Sync {
    /// The first `n` messages and the queue's length, copied under the lock, plus the stamp
    /// of the first stamped message behind them (within the peek's look-ahead), 0 if none.
    fn copy_head(&self, n: usize) -> (Vec<Copied>, u64, u64);
}
