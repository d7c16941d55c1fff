//! The state-tree path gadget: the root above a leaf, from the leaf index and
//! the siblings, with `compress(Node, left, right)` at every level exactly as
//! `zklanes_executor::smt`.
//!
//! # Layout
//!
//! The index is decomposed into `TREE_DEPTH` bits with halo2-base's
//! `num_to_bits` (each bit constrained boolean, their weighted sum equal to
//! the index), so the direction bits are bound to the index. Each level
//! costs two `select`s in the generic gate and one table compression.
//!
//! # Assumptions
//!
//! The caller range-checks nothing here: `num_to_bits` itself fails unless
//! the index fits `TREE_DEPTH` bits.

use halo2_base::gates::{GateChip, GateInstructions};
use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use halo2_base::{AssignedValue, Context};
use zklanes_executor::params::TREE_DEPTH;
use zklanes_executor::poseidon::Tag;

use crate::field::to_halo2;
use crate::hash_table::HashTable;

/// Computes the root above `leaf` at `index` with `siblings` (leaf level first).
pub fn root_from_path(
    ctx: &mut Context<Fr>,
    gate: &GateChip<Fr>,
    table: &mut HashTable,
    index: AssignedValue<Fr>,
    leaf: AssignedValue<Fr>,
    siblings: &[AssignedValue<Fr>; TREE_DEPTH],
) -> AssignedValue<Fr> {
    path(ctx, gate, table, index, leaf, siblings).root
}

/// The cells of one path computation.
pub struct PathCells {
    /// The root.
    pub root: AssignedValue<Fr>,
    /// Direction bits, leaf level first.
    pub bits: Vec<AssignedValue<Fr>>,
    /// The `(left, right)` hash inputs of every level.
    pub inputs: Vec<(AssignedValue<Fr>, AssignedValue<Fr>)>,
}

/// One level up: the parent of `acc` and `sib`, ordered by `bit`. Returns
/// the parent and its `(left, right)` inputs.
fn level_up(
    ctx: &mut Context<Fr>,
    gate: &GateChip<Fr>,
    table: &mut HashTable,
    tag: AssignedValue<Fr>,
    acc: AssignedValue<Fr>,
    sib: AssignedValue<Fr>,
    bit: AssignedValue<Fr>,
) -> (AssignedValue<Fr>, (AssignedValue<Fr>, AssignedValue<Fr>)) {
    let left = gate.select(ctx, sib, acc, bit);
    let right = gate.select(ctx, acc, sib, bit);
    (table.compress(ctx, [tag, left, right]), (left, right))
}

/// [`root_from_path`] returning its intermediate cells (for callers sharing
/// them, and for negative tests).
pub fn path(
    ctx: &mut Context<Fr>,
    gate: &GateChip<Fr>,
    table: &mut HashTable,
    index: AssignedValue<Fr>,
    leaf: AssignedValue<Fr>,
    siblings: &[AssignedValue<Fr>; TREE_DEPTH],
) -> PathCells {
    let bits = gate.num_to_bits(ctx, index, TREE_DEPTH);
    let tag = ctx.load_constant(to_halo2(&Tag::Node.fr()));
    let mut acc = leaf;
    let mut inputs = Vec::with_capacity(TREE_DEPTH);
    for (bit, sib) in bits.iter().zip(siblings) {
        let (parent, lr) = level_up(ctx, gate, table, tag, acc, *sib, *bit);
        inputs.push(lr);
        acc = parent;
    }
    PathCells {
        root: acc,
        bits,
        inputs,
    }
}

/// Roots before and after replacing `old_leaf` by `new_leaf` at `index`, both
/// over the same siblings (one bit decomposition shared).
pub struct UpdateCells {
    /// Root with the old leaf.
    pub old_root: AssignedValue<Fr>,
    /// Root with the new leaf.
    pub new_root: AssignedValue<Fr>,
}

/// The roots around one leaf update. The caller constrains `old_root` to the
/// running root and carries `new_root` forward.
pub fn update(
    ctx: &mut Context<Fr>,
    gate: &GateChip<Fr>,
    table: &mut HashTable,
    index: AssignedValue<Fr>,
    old_leaf: AssignedValue<Fr>,
    new_leaf: AssignedValue<Fr>,
    siblings: &[AssignedValue<Fr>; TREE_DEPTH],
) -> UpdateCells {
    let bits = gate.num_to_bits(ctx, index, TREE_DEPTH);
    let tag = ctx.load_constant(to_halo2(&Tag::Node.fr()));
    let mut roots = [old_leaf, new_leaf];
    for (bit, sib) in bits.iter().zip(siblings) {
        for acc in roots.iter_mut() {
            *acc = level_up(ctx, gate, table, tag, *acc, *sib, *bit).0;
        }
    }
    UpdateCells {
        old_root: roots[0],
        new_root: roots[1],
    }
}

/// Levels inside one account's subtree (its slots).
pub const SLOT_LEVELS: usize = zklanes_executor::params::SLOT_BITS as usize;
/// Levels above the account subtrees.
pub const TOP_LEVELS: usize = TREE_DEPTH - SLOT_LEVELS;

/// Folds `acc` up through `siblings` with direction `bits` (leaf level first).
fn fold(
    ctx: &mut Context<Fr>,
    gate: &GateChip<Fr>,
    table: &mut HashTable,
    tag: AssignedValue<Fr>,
    mut acc: AssignedValue<Fr>,
    siblings: &[AssignedValue<Fr>],
    bits: &[AssignedValue<Fr>],
) -> AssignedValue<Fr> {
    for (bit, sib) in bits.iter().zip(siblings) {
        acc = level_up(ctx, gate, table, tag, acc, *sib, *bit).0;
    }
    acc
}

/// One leaf of a same-account pair update.
pub struct PairLeaf<'a> {
    /// Slot of the leaf in the account (`< 2^SLOT_BITS`).
    pub slot: AssignedValue<Fr>,
    /// Leaf before.
    pub old: AssignedValue<Fr>,
    /// Leaf after.
    pub new: AssignedValue<Fr>,
    /// Siblings inside the account subtree (leaf level first).
    pub low_siblings: &'a [AssignedValue<Fr>; SLOT_LEVELS],
}

/// Two consecutive updates of leaves of the same account (`a` then `b`), as
/// the executor applies them, with the account subtree's path above shared:
/// `4·12 + 2·20 = 88` node hashes instead of `128` for two [`update`]s.
///
/// `a`'s subtree root before and after are computed with `a`'s low siblings;
/// `b`'s low siblings must open `a`'s after-root with `b.old`, which binds
/// `b.old` to the state between the two updates; the top path (20 levels,
/// unchanged by writes inside the subtree) opens the old root from `a`'s
/// before-root and gives the new root from `b`'s after-root.
///
/// The link between the two updates is asserted only when `enabled` is 1
/// (a boolean the caller constrains), so a padding slot can run the gadget
/// on zeros; the caller gates its root checks the same way.
#[allow(clippy::too_many_arguments)]
pub fn update_pair(
    ctx: &mut Context<Fr>,
    gate: &GateChip<Fr>,
    table: &mut HashTable,
    account: AssignedValue<Fr>,
    a: PairLeaf<'_>,
    b: PairLeaf<'_>,
    top_siblings: &[AssignedValue<Fr>; TOP_LEVELS],
    enabled: AssignedValue<Fr>,
) -> UpdateCells {
    let tag = ctx.load_constant(to_halo2(&Tag::Node.fr()));
    let account_bits = gate.num_to_bits(ctx, account, TOP_LEVELS);
    let a_bits = gate.num_to_bits(ctx, a.slot, SLOT_LEVELS);
    let b_bits = gate.num_to_bits(ctx, b.slot, SLOT_LEVELS);
    let a_before = fold(ctx, gate, table, tag, a.old, a.low_siblings, &a_bits);
    let a_after = fold(ctx, gate, table, tag, a.new, a.low_siblings, &a_bits);
    let b_before = fold(ctx, gate, table, tag, b.old, b.low_siblings, &b_bits);
    let gap = gate.sub(ctx, b_before, a_after);
    let gated = gate.mul(ctx, gap, enabled);
    gate.assert_is_const(ctx, &gated, &Fr::zero());
    let b_after = fold(ctx, gate, table, tag, b.new, b.low_siblings, &b_bits);
    let old_root = fold(ctx, gate, table, tag, a_before, top_siblings, &account_bits);
    let new_root = fold(ctx, gate, table, tag, b_after, top_siblings, &account_bits);
    UpdateCells { old_root, new_root }
}
