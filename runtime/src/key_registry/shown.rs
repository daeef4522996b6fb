//! What the observer is shown of a process's registered keys: a few `Debug` renderings per
//! registry, kept on the process and refreshed only when it registers or unregisters, so that
//! the sampler copies strings instead of locking every registry for every changed process.
//!
//! Nothing is paid by processes that never register: the cell holds an empty
//! [`OnceBox`] (one pointer) until the first key. Nothing is paid per message either.

use beamline_wire::RegisteredKeys;
use once_cell::race::OnceBox;
use std::fmt::Debug;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Keys shown per process, at most; the rest are only counted.
pub const MAX_SHOWN_KEYS: usize = 8;
/// A shown key's rendering is cut to this many characters.
pub const MAX_KEY_CHARS: usize = 64;

/// Where a process's shown keys live: set on its first registration, then kept.
pub(crate) type KeysSlot = OnceBox<ShownKeys>;

/// A process's keys as rendered for the observer, per registry.
#[derive(Default)]
pub(crate) struct ShownKeys {
    /// Bumped on every change, so the sampler's change signature sees it without locking.
    generation: AtomicU64,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// Per registry (by [`TableId`]): its first keys rendered, and how many keys it holds.
    by_table: Vec<(TableId, Vec<String>, usize)>,
}

/// Tells one registry's table from another's on a process holding keys in several.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TableId(u64);

impl TableId {
    pub(crate) fn next() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        TableId(NEXT.fetch_add(1, Relaxed))
    }
}

/// Record in a process's `slot` that it now holds `keys` in registry `table` (empty: none any
/// more). Called on register, unregister and owner exit, never per message. Returns whether
/// anything changed: the caller then marks the process changed for the sampler.
#[must_use]
pub(crate) fn update<K: Debug>(slot: &KeysSlot, table: TableId, keys: &[K]) -> bool {
    if keys.is_empty() && slot.get().is_none() {
        return false;
    }
    let shown = slot.get_or_init(Box::default);
    {
        let mut inner = shown.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.by_table.retain(|(t, _, _)| *t != table);
        if !keys.is_empty() {
            let rendered = keys.iter().take(MAX_SHOWN_KEYS).map(render).collect();
            inner.by_table.push((table, rendered, keys.len()));
        }
    }
    shown.generation.fetch_add(1, Relaxed);
    true
}

/// A key's `Debug` rendering, cut to [`MAX_KEY_CHARS`] characters (an ellipsis marks a cut).
fn render<K: Debug>(key: &K) -> String {
    let text = format!("{key:?}");
    match text.char_indices().nth(MAX_KEY_CHARS) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text,
    }
}

/// The keys a sample shows of the process whose `slot` this is: `None` for a process holding
/// none, or one that has `exited` (its keys are gone even if its registry has not handled the
/// exit yet).
pub(crate) fn of(slot: &KeysSlot, exited: bool) -> Option<RegisteredKeys> {
    let shown = slot.get()?;
    if exited {
        return None;
    }
    let inner = shown.inner.lock().unwrap_or_else(|p| p.into_inner());
    let total: usize = inner.by_table.iter().map(|(_, _, n)| n).sum();
    if total == 0 {
        return None;
    }
    let shown: Vec<String> = inner
        .by_table
        .iter()
        .flat_map(|(_, r, _)| r.iter().cloned())
        .take(MAX_SHOWN_KEYS)
        .collect();
    let more = u32::try_from(total - shown.len()).unwrap_or(u32::MAX);
    Some(RegisteredKeys { shown, more })
}

/// A number that changes whenever the shown keys do (0 for a process that never registered).
pub(crate) fn signature(slot: &KeysSlot) -> u64 {
    slot.get().map_or(0, |shown| shown.generation.load(Relaxed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_cuts_long_keys_on_a_char_boundary() {
        assert_eq!(render(&"ab"), "\"ab\"");
        let long = "é".repeat(100);
        let shown = render(&long);
        assert_eq!(shown.chars().count(), MAX_KEY_CHARS + 1);
        assert!(shown.ends_with('…'));
    }
}
