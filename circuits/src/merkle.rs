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
/// The link between the two updates is asserted only when `enabled` is 1
/// (a boolean the caller constrains), so a padding slot can run the gadget
/// on zeros; the caller gates its root checks the same way. This is
/// [`update_group`] with two leaves.
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
    fn leaf<'a>(p: PairLeaf<'a>, enabled: Option<AssignedValue<Fr>>) -> GroupLeaf<'a> {
        GroupLeaf {
            slot: p.slot,
            old: p.old,
            new: p.new,
            low_siblings: p.low_siblings,
            enabled,
            read_only: false,
        }
    }
    update_group(
        ctx,
        gate,
        table,
        account,
        &[leaf(a, None), leaf(b, Some(enabled))],
        top_siblings,
    )
}

/// One leaf of a same-account group update ([`update_group`]).
pub struct GroupLeaf<'a> {
    /// Slot of the leaf in the account (`< 2^SLOT_BITS`).
    pub slot: AssignedValue<Fr>,
    /// Leaf before.
    pub old: AssignedValue<Fr>,
    /// Leaf after (ignored for a read).
    pub new: AssignedValue<Fr>,
    /// Siblings inside the account subtree (leaf level first), against the
    /// subtree as the previous leaves of the group left it.
    pub low_siblings: &'a [AssignedValue<Fr>; SLOT_LEVELS],
    /// Whether the leaf takes part (a boolean the caller constrains); `None`
    /// for always. A leaf that does not take part changes nothing and is
    /// not checked. The first leaf always takes part.
    pub enabled: Option<AssignedValue<Fr>>,
    /// A read: the leaf is opened, not changed (one path instead of two).
    pub read_only: bool,
}

/// Consecutive updates (and reads) of leaves of one account, as the
/// executor applies them, sharing the account subtree's path above:
/// `2·12` node hashes per update and `12` per read inside the subtree, plus
/// `2·20` for the top path, instead of `2·32` per leaf.
///
/// The first leaf's old path gives the subtree root before; each later
/// leaf's old path must open the subtree root the previous ones left (only
/// when it is enabled), which binds its old value to the state between the
/// updates; the top path (unchanged by writes inside the subtree) opens the
/// old root from the subtree root before and gives the new root from the
/// subtree root after. The caller constrains `old_root` to the running
/// root when the group is in use.
pub fn update_group(
    ctx: &mut Context<Fr>,
    gate: &GateChip<Fr>,
    table: &mut HashTable,
    account: AssignedValue<Fr>,
    leaves: &[GroupLeaf<'_>],
    top_siblings: &[AssignedValue<Fr>; TOP_LEVELS],
) -> UpdateCells {
    assert!(!leaves.is_empty(), "a group has at least one leaf");
    let tag = ctx.load_constant(to_halo2(&Tag::Node.fr()));
    let account_bits = gate.num_to_bits(ctx, account, TOP_LEVELS);
    let mut subtree_before = None;
    let mut running = None;
    for leaf in leaves {
        let bits = gate.num_to_bits(ctx, leaf.slot, SLOT_LEVELS);
        let before = fold(ctx, gate, table, tag, leaf.old, leaf.low_siblings, &bits);
        let after = if leaf.read_only {
            before
        } else {
            fold(ctx, gate, table, tag, leaf.new, leaf.low_siblings, &bits)
        };
        running = Some(match running {
            None => {
                subtree_before = Some(before);
                after
            }
            Some(r) => {
                let on = leaf.enabled.unwrap_or_else(|| ctx.load_constant(Fr::one()));
                let gap = gate.sub(ctx, before, r);
                let gated = gate.mul(ctx, gap, on);
                gate.assert_is_const(ctx, &gated, &Fr::zero());
                gate.select(ctx, after, r, on)
            }
        });
    }
    let before = subtree_before.expect("one leaf");
    let after = running.expect("one leaf");
    let old_root = fold(ctx, gate, table, tag, before, top_siblings, &account_bits);
    let new_root = fold(ctx, gate, table, tag, after, top_siblings, &account_bits);
    UpdateCells { old_root, new_root }
}
