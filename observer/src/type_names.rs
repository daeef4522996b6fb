//! The names of samples' hot types (issue 19), observer-wide. A runtime numbers its type names
//! per connection (`ServerMsg::TypeNames`); each connection's numbers are turned into this
//! module's at the model's edge ([`TypeIds`], in `model/prepare.rs`; a fleet does it per node,
//! `source/fleet/merge.rs`), so every table the model holds uses one numbering, whatever
//! runtime, node or reconnection a sample came from, and a view or the JSON printer needs
//! nothing but the sample to name its type. A leaf: it imports nothing of the observer.
//!
//! Names are interned for the life of the observer: a program has a bounded set of message
//! types, and past [`MAX_NAMES`] a new name is left unnamed instead of growing the list.

use beamline_wire::{ProcessSample, TypeNames};
use std::collections::HashMap;
use std::sync::{Mutex, RwLock};

/// The most names the observer keeps, all runtimes together.
pub const MAX_NAMES: usize = 1 << 16;

/// Names by id, each leaked once so that sorting can borrow them without a lock.
static NAMES: RwLock<Vec<&'static str>> = RwLock::new(Vec::new());
/// Ids by name.
static IDS: Mutex<Option<HashMap<&'static str, u32>>> = Mutex::new(None);

/// The observer-wide id of `name`, given on first use; `None` past [`MAX_NAMES`].
pub fn intern(name: &str) -> Option<u32> {
    let mut ids = IDS.lock().unwrap_or_else(|p| p.into_inner());
    let ids = ids.get_or_insert_with(HashMap::new);
    if let Some(&id) = ids.get(name) {
        return Some(id);
    }
    let mut names = NAMES.write().unwrap_or_else(|p| p.into_inner());
    if names.len() >= MAX_NAMES {
        return None;
    }
    let id = names.len() as u32;
    let kept: &'static str = Box::leak(name.to_string().into_boxed_str());
    names.push(kept);
    ids.insert(kept, id);
    Some(id)
}

/// The name of an observer-wide id.
pub fn name(id: u32) -> Option<&'static str> {
    NAMES
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .get(id as usize)
        .copied()
}

/// The name of `p`'s hottest type over the last interval, if it has one.
pub fn hot_type(p: &ProcessSample) -> Option<&'static str> {
    p.hot_type.and_then(name)
}

/// One connection's numbering turned into the observer's.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TypeIds {
    /// Observer id of each of the connection's ids (`u32::MAX`: not named, or past the cap).
    map: Vec<u32>,
}

impl TypeIds {
    /// A new connection: its ids start again from 0.
    pub fn clear(&mut self) {
        self.map.clear();
    }

    /// Learn names the connection sent. A list sent again (a replay seeking back) overwrites
    /// the same ids with the same names.
    pub fn learn(&mut self, t: &TypeNames) {
        for (i, n) in t.names.iter().enumerate() {
            let at = t.first as usize + i;
            if at >= MAX_NAMES {
                break;
            }
            if self.map.len() <= at {
                self.map.resize(at + 1, u32::MAX);
            }
            self.map[at] = intern(n).unwrap_or(u32::MAX);
        }
    }

    /// `p`'s hot type in the observer's numbering (none if the connection never named it).
    pub fn translate(&self, p: &mut ProcessSample) {
        if let Some(id) = p.hot_type {
            p.hot_type = self
                .map
                .get(id as usize)
                .copied()
                .filter(|&g| g != u32::MAX);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use beamline_wire::{Pid, ProcessKind};

    /// Two connections (two nodes) number the same names differently; both land on one id.
    #[test]
    fn each_connection_s_ids_become_the_observer_s() {
        let (mut a, mut b) = (TypeIds::default(), TypeIds::default());
        a.learn(&TypeNames {
            first: 0,
            names: vec!["T::hot_a".into(), "T::hot_b".into()],
        });
        b.learn(&TypeNames {
            first: 0,
            names: vec!["T::hot_b".into()],
        });
        let mut p = ProcessSample::new(Pid(1), ProcessKind::Server, "x");
        p.hot_type = Some(1);
        let mut q = p.clone();
        q.hot_type = Some(0);
        a.translate(&mut p);
        b.translate(&mut q);
        assert_eq!(p.hot_type, q.hot_type);
        assert_eq!(hot_type(&p), Some("T::hot_b"));
        let mut unknown = p.clone();
        unknown.hot_type = Some(7);
        b.translate(&mut unknown);
        assert_eq!(unknown.hot_type, None, "an id never named is dropped");
        a.clear();
        let mut r = q.clone();
        r.hot_type = Some(0);
        a.translate(&mut r);
        assert_eq!(r.hot_type, None, "a new connection starts over");
    }
}
