//! A write overlay over the committed state: what the sequential executor and
//! the trace replay read and write through.

use rustc_hash::FxHashMap;

use super::apply::{Invariant, StateView};
use crate::state::{Key, Leaf, State};

/// Uncommitted writes over a read-only [`State`].
pub struct Overlay<'a> {
    base: &'a State,
    writes: FxHashMap<Key, Leaf>,
}

impl<'a> Overlay<'a> {
    /// An empty overlay.
    pub fn new(base: &'a State) -> Self {
        Self {
            base,
            writes: FxHashMap::default(),
        }
    }

    /// Writes a leaf.
    pub fn set(&mut self, key: Key, leaf: Leaf) {
        self.writes.insert(key, leaf);
    }

    /// The current value of a key.
    pub fn read(&self, key: Key) -> Leaf {
        match self.writes.get(&key) {
            Some(l) => *l,
            None => self.base.get(key),
        }
    }

    /// Every written key with its final value.
    pub fn into_diff(self) -> Vec<(Key, Leaf)> {
        self.writes.into_iter().collect()
    }
}

impl StateView for Overlay<'_> {
    fn get(&self, key: Key) -> Result<Leaf, Invariant> {
        Ok(self.read(key))
    }
}
