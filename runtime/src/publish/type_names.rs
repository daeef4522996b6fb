//! The names behind [`beamline_wire::ProcessSample::hot_type`] (issue 19): one append-only
//! list per runtime, so that a sample carries a small id instead of a string and each
//! connection is sent each name once ([`beamline_wire::ServerMsg::TypeNames`], see
//! `observe.rs`). The sampler interns at tick time; nothing here is on the message path.

use beamline_wire::MAX_TYPE_NAMES;
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

/// A runtime's type names, ids in order of first use.
#[derive(Default)]
pub(crate) struct TypeNames {
    inner: Mutex<Inner>,
    /// `inner.names.len()`, readable without the lock: a subscription checks it before
    /// every frame.
    len: AtomicUsize,
}

#[derive(Default)]
struct Inner {
    ids: HashMap<String, u32>,
    names: Vec<String>,
}

impl TypeNames {
    /// The id of `name`, given one on first use; `None` once [`MAX_TYPE_NAMES`] are given out.
    pub(crate) fn intern(&self, name: String) -> Option<u32> {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(&id) = inner.ids.get(&name) {
            return Some(id);
        }
        if inner.names.len() >= MAX_TYPE_NAMES {
            return None;
        }
        let id = inner.names.len() as u32;
        inner.names.push(name.clone());
        inner.ids.insert(name, id);
        self.len.store(inner.names.len(), Relaxed);
        Some(id)
    }

    /// How many names were given out.
    pub(crate) fn len(&self) -> usize {
        self.len.load(Relaxed)
    }

    /// The names from id `first` on.
    pub(crate) fn since(&self, first: usize) -> Vec<String> {
        let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner
            .names
            .get(first..)
            .map_or_else(Vec::new, <[String]>::to_vec)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_given_once_in_order_and_capped() {
        let names = TypeNames::default();
        assert_eq!(names.intern("Cmd::A".into()), Some(0));
        assert_eq!(names.intern("Cmd::B".into()), Some(1));
        assert_eq!(names.intern("Cmd::A".into()), Some(0));
        assert_eq!(
            (names.len(), names.since(1)),
            (2, vec!["Cmd::B".to_string()])
        );
        assert!(names.since(5).is_empty());
        for i in 2..MAX_TYPE_NAMES {
            assert!(names.intern(format!("T{i}")).is_some());
        }
        assert_eq!(names.intern("one too many".into()), None);
        assert_eq!(
            names.intern("Cmd::B".into()),
            Some(1),
            "known names still answer"
        );
    }
}
