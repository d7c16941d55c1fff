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
