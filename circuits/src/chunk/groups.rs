//! The two Merkle groups of a slot and the root they move:
//!
//! - the **signer group**: the account leaf, then up to three balances of
//!   that account, their assets and deltas chosen by type;
//! - the **other group**: the receiver's balance (transfer) or a pool record
//!   (account 0), plus a read of the receiver's account leaf (a transfer's
//!   receiver must exist).
//!
//! Each group's old root must be the running root when it is used, and the
//! root advances only then.

use halo2_base::gates::{GateInstructions, RangeChip, RangeInstructions};
use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use halo2_base::{AssignedValue, Context, QuantumCell::Constant};
use zklanes_executor::params::LP_ASSET_BASE;
use zklanes_executor::tx::TxType;

use super::account::Account;
use super::fields::{Consts, Fields, Gating, Selector};
use super::pool::PoolSide;
use super::select::{assert_eq_if, by_type};
use super::witness::SlotWitness;
use crate::amm::nonzero_if;
use crate::hash_table::HashTable;
use crate::leaves::balance_leaf;
use crate::merkle::{update_group, GroupLeaf, SLOT_LEVELS, TOP_LEVELS};

/// Loads sibling witnesses.
fn load_low(
    ctx: &mut Context<Fr>,
    low: &[[Fr; SLOT_LEVELS]],
) -> Vec<[AssignedValue<Fr>; SLOT_LEVELS]> {
    low.iter()
        .map(|s| std::array::from_fn(|i| ctx.load_witness(s[i])))
        .collect()
}

/// The signer group: the account leaf, then balance `i` of `slots[i]` moved
/// by `deltas[i]` when its type uses it. Returns the new running root.
#[allow(clippy::too_many_arguments)]
pub(super) fn signer_group(
    ctx: &mut Context<Fr>,
    range: &RangeChip<Fr>,
    table: &mut HashTable,
    c: Consts,
    sel: &Selector,
    gating: Gating,
    x: &Fields,
    acc: &Account,
    pool: &PoolSide,
    w: &SlotWitness,
    root: AssignedValue<Fr>,
) -> AssignedValue<Fr> {
    use TxType::*;
    let g = range.gate();
    let [ta, tb, ..] = x.pf;
    let lp_asset = g.add(ctx, x.pool, Constant(Fr::from(LP_ASSET_BASE as u64)));
    let slots = [
        by_type(
            ctx,
            range,
            &sel.f,
            &[
                (Deposit, x.asset),
                (Transfer, x.asset),
                (Swap, pool.t_in),
                (AddLiquidity, ta),
                (RemoveLiquidity, lp_asset),
                (Withdraw, x.asset),
                (ForcedWithdraw, x.asset),
            ],
        ),
        by_type(
            ctx,
            range,
            &sel.f,
            &[
                (Swap, pool.t_out),
                (AddLiquidity, tb),
                (RemoveLiquidity, ta),
            ],
        ),
        by_type(
            ctx,
            range,
            &sel.f,
            &[(AddLiquidity, lp_asset), (RemoveLiquidity, tb)],
        ),
    ];
    let neg_x1 = g.neg(ctx, x.x1);
    let neg_x2 = g.neg(ctx, x.x2);
    let neg_o1 = g.neg(ctx, x.o1);
    // A forced withdrawal moves the whole balance: its amount `o1` is the
    // old balance, so the new one is zero.
    assert_eq_if(ctx, range, x.o1, x.balances[0], sel.of(ForcedWithdraw));
    let deltas = [
        by_type(
            ctx,
            range,
            &sel.f,
            &[
                (Deposit, x.x1),
                (Transfer, neg_x1),
                (Swap, neg_x1),
                (AddLiquidity, neg_x1),
                (RemoveLiquidity, neg_x1),
                (Withdraw, neg_x1),
                (ForcedWithdraw, neg_o1),
            ],
        ),
        by_type(
            ctx,
            range,
            &sel.f,
            &[
                (Swap, x.o1),
                (AddLiquidity, neg_x2),
                (RemoveLiquidity, x.o1),
            ],
        ),
        by_type(
            ctx,
            range,
            &sel.f,
            &[(AddLiquidity, x.o1), (RemoveLiquidity, x.o2)],
        ),
    ];
    let enabled = [gating.has_amount, sel.pool_rw, sel.liquidity];
    let signer_low = load_low(ctx, &w.signer_low);
    let signer_top: [AssignedValue<Fr>; TOP_LEVELS] =
        std::array::from_fn(|i| ctx.load_witness(w.signer_top[i]));
    let mut leaves = vec![GroupLeaf {
        slot: c.zero,
        old: acc.old_leaf,
        new: acc.new_leaf,
        low_siblings: &signer_low[0],
        enabled: None,
        read_only: false,
    }];
    for i in 0..3 {
        let new_balance = g.add(ctx, x.balances[i], deltas[i]);
        let old = balance_leaf(ctx, range, table, x.balances[i]);
        let new = balance_leaf(ctx, range, table, new_balance);
        leaves.push(GroupLeaf {
            slot: slots[i],
            old,
            new,
            low_siblings: &signer_low[i + 1],
            enabled: Some(enabled[i]),
            read_only: false,
        });
    }
    let signer = update_group(ctx, g, table, x.account, &leaves, &signer_top);
    assert_eq_if(ctx, range, signer.old_root, root, sel.active);
    g.select(ctx, signer.new_root, root, sel.active)
}

/// The other group: the receiver's balance (transfer) or the pool leaf, then
/// the receiver's account leaf, read only. Returns the new running root.
#[allow(clippy::too_many_arguments)]
pub(super) fn other_group(
    ctx: &mut Context<Fr>,
    range: &RangeChip<Fr>,
    table: &mut HashTable,
    c: Consts,
    sel: &Selector,
    gating: Gating,
    x: &Fields,
    pool: &PoolSide,
    w: &SlotWitness,
    root: AssignedValue<Fr>,
) -> AssignedValue<Fr> {
    use TxType::*;
    let g = range.gate();
    let recv_new = g.add(ctx, x.recv_balance, x.x1);
    let recv_old_leaf = balance_leaf(ctx, range, table, x.recv_balance);
    let recv_new_leaf = balance_leaf(ctx, range, table, recv_new);
    let other_account = g.mul(ctx, x.to, sel.of(Transfer));
    let other_slot = by_type(
        ctx,
        range,
        &sel.f,
        &[
            (Transfer, x.asset),
            (Swap, x.pool),
            (AddLiquidity, x.pool),
            (RemoveLiquidity, x.pool),
            (CreatePool, x.pool),
        ],
    );
    let other_old = g.select(ctx, recv_old_leaf, pool.old_leaf, sel.of(Transfer));
    let other_new = g.select(ctx, recv_new_leaf, pool.new_leaf, sel.of(Transfer));
    nonzero_if(ctx, range, x.recv_leaf, sel.of(Transfer));
    let other_low = load_low(ctx, &w.other_low);
    let other_top: [AssignedValue<Fr>; TOP_LEVELS] =
        std::array::from_fn(|i| ctx.load_witness(w.other_top[i]));
    let other = update_group(
        ctx,
        g,
        table,
        other_account,
        &[
            GroupLeaf {
                slot: other_slot,
                old: other_old,
                new: other_new,
                low_siblings: &other_low[0],
                enabled: None,
                read_only: false,
            },
            GroupLeaf {
                slot: c.zero,
                old: x.recv_leaf,
                new: x.recv_leaf,
                low_siblings: &other_low[1],
                enabled: Some(sel.of(Transfer)),
                read_only: true,
            },
        ],
        &other_top,
    );
    let other_on = g.add(ctx, sel.of(Transfer), gating.pool_op);
    assert_eq_if(ctx, range, other.old_root, root, other_on);
    g.select(ctx, other.new_root, root, other_on)
}
