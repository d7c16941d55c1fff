//! The sparse Merkle tree of the state (depth [`TREE_DEPTH`]), its node
//! store, and the parallel computation of a sequence of leaf updates with the
//! Merkle path of each one against the running root.
//!
//! Nodes: level 0 holds leaf hashes, level `d` the root;
//! `node(l+1, i) = compress(Node, node(l, 2i), node(l, 2i+1))`. An empty
//! subtree at level `l` hashes to `empty(l)`, `empty(0) = 0`.
//!
//! ## Parallel path computation
//!
//! A batch is a sequence of updates `t = 0..m` (leaf index, new leaf hash).
//! Update `t` needs the siblings on its path *at time t*. The tree is
//! processed level by level: at each level the updates are grouped by parent
//! node; inside a group the two children's update streams are merged in time
//! order, so each parent's value after every update is one hash of the two
//! children's current values, and the untouched child's current value is the
//! sibling. The merge is a cheap scan; the hashes it yields are independent
//! of each other (even for one parent at different times), so every level's
//! hashes run fully in parallel, including the single-node levels near the
//! root. Every hash is computed once: `m·d` node hashes for `m` updates, the
//! same count as a sequential replay.

use rayon::prelude::*;
use rustc_hash::FxHashMap;

use crate::field::Fr;
use crate::params::TREE_DEPTH;
use crate::poseidon::{self, Tag};

/// Hashes of empty subtrees by level.
pub fn empty_hashes() -> &'static [Fr; TREE_DEPTH + 1] {
    static EMPTY: std::sync::OnceLock<[Fr; TREE_DEPTH + 1]> = std::sync::OnceLock::new();
    EMPTY.get_or_init(|| {
        let mut e = [Fr::from(0u64); TREE_DEPTH + 1];
        for l in 0..TREE_DEPTH {
            e[l + 1] = poseidon::compress(Tag::Node, e[l], e[l]);
        }
        e
    })
}

/// Nonempty nodes by level (level 0 = leaves, level `TREE_DEPTH` = root).
#[derive(Clone, Debug)]
pub struct Tree {
    levels: Vec<FxHashMap<u64, Fr>>,
}

impl Default for Tree {
    fn default() -> Self {
        Self {
            levels: vec![FxHashMap::default(); TREE_DEPTH + 1],
        }
    }
}

/// The path witness of one update: siblings from the leaf level up, and the
/// root after the update.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathWitness {
    /// `siblings[l]` is the sibling at level `l` (leaf level first).
    pub siblings: [Fr; TREE_DEPTH],
    /// Root after the update.
    pub root_after: Fr,
}

/// Counters of one [`Tree::apply`] call.
#[derive(Clone, Copy, Debug, Default)]
pub struct ApplyStats {
    /// Node hashes computed.
    pub hashes: u64,
}

impl Tree {
    /// The node at `(level, index)`.
    #[inline]
    pub fn node(&self, level: usize, index: u64) -> Fr {
        self.levels[level]
            .get(&index)
            .copied()
            .unwrap_or(empty_hashes()[level])
    }

    /// The root.
    pub fn root(&self) -> Fr {
        self.node(TREE_DEPTH, 0)
    }

    /// Sets a node directly (used when loading from storage).
    pub fn set_node(&mut self, level: usize, index: u64, value: Fr) {
        if value == empty_hashes()[level] {
            self.levels[level].remove(&index);
        } else {
            self.levels[level].insert(index, value);
        }
    }

    /// Every stored node `(level, index, value)`.
    pub fn nodes(&self) -> impl Iterator<Item = (usize, u64, Fr)> + '_ {
        self.levels
            .iter()
            .enumerate()
            .flat_map(|(l, m)| m.iter().map(move |(i, v)| (l, *i, *v)))
    }

    /// Sets a batch of nodes `(level, index, value)`; used to undo an apply.
    pub fn set_nodes(&mut self, nodes: &[(usize, u64, Fr)]) {
        for (l, i, v) in nodes {
            self.set_node(*l, *i, *v);
        }
    }

    /// The current values of the given nodes (to undo a later change).
    pub fn snapshot(&self, nodes: &[(usize, u64, Fr)]) -> Vec<(usize, u64, Fr)> {
        nodes
            .iter()
            .map(|(l, i, _)| (*l, *i, self.node(*l, *i)))
            .collect()
    }

    /// The current siblings of a leaf.
    pub fn siblings(&self, leaf: u64) -> [Fr; TREE_DEPTH] {
        let mut s = [Fr::from(0u64); TREE_DEPTH];
        for (l, sib) in s.iter_mut().enumerate() {
            *sib = self.node(l, (leaf >> l) ^ 1);
        }
        s
    }

    /// Applies updates `(leaf index, new leaf hash)` in order, returning each
    /// update's path witness, the changed nodes `(level, index, value)` and counters.
    /// Runs on the current rayon pool.
    #[allow(clippy::type_complexity)]
    pub fn apply(
        &mut self,
        updates: &[(u64, Fr)],
    ) -> (
        Vec<PathWitness>,
        Vec<(usize, u64, Fr)>,
        Vec<(usize, u64, Fr)>,
        ApplyStats,
    ) {
        let m = updates.len();
        let mut witnesses = vec![
            PathWitness {
                siblings: [Fr::from(0u64); TREE_DEPTH],
                root_after: Fr::from(0u64)
            };
            m
        ];
        let mut changed = Vec::new();
        // Entries (node index, time, value after), sorted by (node, time).
        let mut entries: Vec<(u64, u32, Fr)> = updates
            .iter()
            .enumerate()
            .map(|(t, (i, v))| (*i, t as u32, *v))
            .collect();
        entries.par_sort_by_key(|e| (e.0, e.1));
        let mut hashes = 0u64;
        for level in 0..TREE_DEPTH {
            record_final(&entries, level, &mut changed);
            let groups = group_by_parent(&entries);
            let this = &*self;
            // Merge each parent's child streams (cheap scans, parallel over groups)...
            let merged: Vec<(Vec<Pending>, Vec<(u32, Fr)>)> = groups
                .par_iter()
                .with_min_len(64)
                .map(|range| merge_group(this, level, &entries[range.clone()]))
                .collect();
            let mut pending = Vec::with_capacity(entries.len());
            for (p, sibs) in merged {
                pending.extend(p);
                for (t, s) in sibs {
                    witnesses[t as usize].siblings[level] = s;
                }
            }
            // ...then hash every (parent, time) pair in parallel: the values of one
            // parent at different times do not depend on each other.
            let next: Vec<(u64, u32, Fr)> = pending
                .par_iter()
                .with_min_len(16)
                .map(|(parent, t, l, r)| (*parent, *t, poseidon::compress(Tag::Node, *l, *r)))
                .collect();
            hashes += next.len() as u64;
            entries = next;
        }
        record_final(&entries, TREE_DEPTH, &mut changed);
        for (_, t, v) in &entries {
            witnesses[*t as usize].root_after = *v;
        }
        let undo = self.snapshot(&changed);
        self.set_nodes(&changed);
        (witnesses, changed, undo, ApplyStats { hashes })
    }
}

/// Records the last value of each node at this level.
fn record_final(entries: &[(u64, u32, Fr)], level: usize, out: &mut Vec<(usize, u64, Fr)>) {
    for (k, e) in entries.iter().enumerate() {
        if k + 1 == entries.len() || entries[k + 1].0 != e.0 {
            out.push((level, e.0, e.2));
        }
    }
}

fn group_by_parent(entries: &[(u64, u32, Fr)]) -> Vec<std::ops::Range<usize>> {
    let mut groups = Vec::new();
    let mut start = 0;
    for k in 1..=entries.len() {
        if k == entries.len() || entries[k].0 >> 1 != entries[start].0 >> 1 {
            groups.push(start..k);
            start = k;
        }
    }
    groups
}

/// A parent value to compute: `(parent, time, left, right)`.
type Pending = (u64, u32, Fr, Fr);

/// Merges the update streams of the two children of one parent (sorted by
/// child then time) into the parent's stream of hash inputs, recording siblings.
fn merge_group(
    tree: &Tree,
    level: usize,
    group: &[(u64, u32, Fr)],
) -> (Vec<Pending>, Vec<(u32, Fr)>) {
    let parent = group[0].0 >> 1;
    let split = group
        .iter()
        .position(|e| e.0 & 1 == 1)
        .unwrap_or(group.len());
    let (left, right) = group.split_at(split);
    let mut cur = [
        tree.node(level, parent << 1),
        tree.node(level, (parent << 1) | 1),
    ];
    let mut out = Vec::with_capacity(group.len());
    let mut sibs = Vec::with_capacity(group.len());
    let (mut i, mut j) = (0, 0);
    while i < left.len() || j < right.len() {
        let take_left = j == right.len() || (i < left.len() && left[i].1 < right[j].1);
        let t = if take_left {
            let e = left[i];
            i += 1;
            cur[0] = e.2;
            sibs.push((e.1, cur[1]));
            e.1
        } else {
            let e = right[j];
            j += 1;
            cur[1] = e.2;
            sibs.push((e.1, cur[0]));
            e.1
        };
        out.push((parent, t, cur[0], cur[1]));
    }
    (out, sibs)
}

/// Recomputes the root from a leaf hash and its siblings.
pub fn root_from_path(leaf_index: u64, leaf: Fr, siblings: &[Fr; TREE_DEPTH]) -> Fr {
    let mut acc = leaf;
    for (l, s) in siblings.iter().enumerate() {
        acc = if (leaf_index >> l) & 1 == 0 {
            poseidon::compress(Tag::Node, acc, *s)
        } else {
            poseidon::compress(Tag::Node, *s, acc)
        };
    }
    acc
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set_leaf_naive(tree: &mut Tree, idx: u64, leaf: Fr) {
        let sibs = tree.siblings(idx);
        let mut acc = leaf;
        tree.set_node(0, idx, acc);
        for (l, s) in sibs.iter().enumerate() {
            acc = if (idx >> l) & 1 == 0 {
                poseidon::compress(Tag::Node, acc, *s)
            } else {
                poseidon::compress(Tag::Node, *s, acc)
            };
            tree.set_node(l + 1, idx >> (l + 1), acc);
        }
    }

    /// The parallel level-by-level computation equals a naive one-by-one replay.
    #[test]
    fn apply_matches_naive_replay() {
        let mut fast = Tree::default();
        let mut naive = Tree::default();
        let updates: Vec<(u64, Fr)> = (0..40u64)
            .map(|t| (((t * 7919) % 13) << 9 | (t % 3), Fr::from(t + 1)))
            .collect();
        let (w, _, _, stats) = fast.apply(&updates);
        assert_eq!(stats.hashes, 40 * TREE_DEPTH as u64);
        for (t, (idx, v)) in updates.iter().enumerate() {
            let sibs = naive.siblings(*idx);
            assert_eq!(w[t].siblings, sibs, "siblings of update {t}");
            set_leaf_naive(&mut naive, *idx, *v);
            assert_eq!(w[t].root_after, naive.root());
            assert_eq!(root_from_path(*idx, *v, &sibs), naive.root());
        }
        assert_eq!(fast.root(), naive.root());
    }
}
