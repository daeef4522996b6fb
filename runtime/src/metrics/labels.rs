//! Label values with a hard cap: the first `cap` distinct values get an index of their own,
//! every later one shares the [`OTHER`] value. This is what bounds the series count whatever
//! the data (see `docs/METRICS.md`).

use std::collections::HashMap;
use std::hash::Hash;

/// The label value that stands for everything past the cap.
pub(crate) const OTHER: &str = "_other";

/// Interned label values, in first-seen order.
#[derive(Debug)]
pub(crate) struct Labels<K> {
    index: HashMap<K, u32>,
    values: Vec<K>,
    cap: usize,
    /// The index of the [`OTHER`] value, once something was cut off.
    other: Option<u32>,
}

/// What interning a value gave.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Interned {
    /// The value's index (the `OTHER` one when `capped`).
    pub idx: u32,
    /// The value was new and past the cap.
    pub capped: bool,
}

impl<K: Hash + Eq + Clone> Labels<K> {
    /// At most `cap` values of their own.
    pub(crate) fn new(cap: usize) -> Self {
        Labels {
            index: HashMap::new(),
            values: Vec::new(),
            cap,
            other: None,
        }
    }

    /// The index of `key`, adding it (or sending it to `OTHER`) when new. `other` makes the
    /// key that stands for the rest.
    pub(crate) fn intern(&mut self, key: &K, other: impl FnOnce() -> K) -> Interned {
        if let Some(&idx) = self.index.get(key) {
            return Interned { idx, capped: false };
        }
        if self.index.len() < self.cap {
            let idx = self.values.len() as u32;
            self.values.push(key.clone());
            self.index.insert(key.clone(), idx);
            return Interned { idx, capped: false };
        }
        let idx = *self.other.get_or_insert_with(|| {
            self.values.push(other());
            (self.values.len() - 1) as u32
        });
        Interned { idx, capped: true }
    }

    /// The value at `idx`.
    pub(crate) fn get(&self, idx: u32) -> &K {
        &self.values[idx as usize]
    }

    /// Values so far, `OTHER` included once used.
    pub(crate) fn len(&self) -> usize {
        self.values.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_past_the_cap_share_other() {
        let mut l = Labels::<String>::new(2);
        let other = || OTHER.to_string();
        let a = l.intern(&"a".into(), other);
        assert_eq!(
            a,
            Interned {
                idx: 0,
                capped: false
            }
        );
        assert_eq!(l.intern(&"b".into(), other).idx, 1);
        assert_eq!(l.intern(&"a".into(), other), a);
        let c = l.intern(&"c".into(), other);
        let d = l.intern(&"d".into(), other);
        assert!(c.capped && d.capped);
        assert_eq!(c.idx, d.idx);
        assert_eq!(l.get(c.idx), OTHER);
        assert_eq!(l.len(), 3);
    }
}
