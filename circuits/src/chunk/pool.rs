//! The pool a slot touches and the AMM rules of each type: a swap's output
//! and slippage, a mint's LP amount, a burn's pro-rata shares, a created
//! pool's tokens and fee; then the pool leaf before and after, its reserves
//! and supply chosen by type. The relations are [`crate::amm`]'s.

use halo2_base::gates::{GateInstructions, RangeChip, RangeInstructions};
use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use halo2_base::{AssignedValue, Context, QuantumCell::Constant};
use zklanes_executor::params::{
    AMOUNT_BITS, BALANCE_BITS, FEE_BITS, MAX_FEE_BPS, MINIMUM_LIQUIDITY, SLOT_BITS,
};
use zklanes_executor::tx::TxType;

use super::fields::{Consts, Fields, Selector};
use super::select::{assert_eq_if, by_type};
use crate::amm::{assert_lp_minted, assert_pro_rata, assert_swap_out, nonzero_if, range_if};
use crate::hash_table::HashTable;
use crate::leaves::{pool_leaf, PoolCells};

/// What the groups need of the pool.
#[derive(Clone, Copy)]
pub(super) struct PoolSide {
    /// The token a swap takes in, and the one it pays out.
    pub(super) t_in: AssignedValue<Fr>,
    pub(super) t_out: AssignedValue<Fr>,
    /// The pool leaf before (empty unless the type reads a pool) and after.
    pub(super) old_leaf: AssignedValue<Fr>,
    pub(super) new_leaf: AssignedValue<Fr>,
}

/// New reserves and supply after one type's rule.
type Moved = (AssignedValue<Fr>, AssignedValue<Fr>, AssignedValue<Fr>);

/// Swap: `o1` is the exact output for `x1` in, at most `MAX_AMOUNT` and at
/// least `min_out`. Returns the tokens in and out and the new reserves.
fn swap(
    ctx: &mut Context<Fr>,
    range: &RangeChip<Fr>,
    sel: &Selector,
    x: &Fields,
) -> (AssignedValue<Fr>, AssignedValue<Fr>, Moved) {
    let g = range.gate();
    let [ta, tb, fee, ra, rb, supply] = x.pf;
    let t_in = g.select(ctx, ta, tb, x.a_to_b);
    let t_out = g.select(ctx, tb, ta, x.a_to_b);
    let r_in = g.select(ctx, ra, rb, x.a_to_b);
    let r_out = g.select(ctx, rb, ra, x.a_to_b);
    let on = sel.of(TxType::Swap);
    assert_swap_out(ctx, range, on, x.x1, r_in, r_out, fee, x.o1);
    // A swap output is 12 bytes of public data: at most `MAX_AMOUNT`, as the
    // executor bounds it (`TxError::OutputTooLarge`).
    range_if(ctx, range, x.o1, AMOUNT_BITS as usize, on);
    let slip = g.sub(ctx, x.o1, x.x2);
    range_if(ctx, range, slip, BALANCE_BITS as usize, on);
    let r_in_new = g.add(ctx, r_in, x.x1);
    let r_out_new = g.sub(ctx, r_out, x.o1);
    let ra_swap = g.select(ctx, r_in_new, r_out_new, x.a_to_b);
    let rb_swap = g.select(ctx, r_out_new, r_in_new, x.a_to_b);
    (t_in, t_out, (ra_swap, rb_swap, supply))
}

/// Add liquidity: `o1` is the user's share, `minted = o1 + 1000·first`.
fn add_liquidity(
    ctx: &mut Context<Fr>,
    range: &RangeChip<Fr>,
    sel: &Selector,
    x: &Fields,
) -> Moved {
    let g = range.gate();
    let [_, _, _, ra, rb, supply] = x.pf;
    let first_mint = g.is_zero(ctx, supply);
    let minted = g.mul_add(
        ctx,
        first_mint,
        Constant(Fr::from(MINIMUM_LIQUIDITY as u64)),
        x.o1,
    );
    let first_again = assert_lp_minted(
        ctx,
        range,
        sel.of(TxType::AddLiquidity),
        (x.x1, x.x2),
        (ra, rb),
        supply,
        minted,
        x.b_is_min,
    );
    ctx.constrain_equal(&first_again, &first_mint);
    nonzero_if(ctx, range, x.o1, sel.liquidity);
    let slip = g.sub(ctx, x.o1, x.x3);
    range_if(
        ctx,
        range,
        slip,
        BALANCE_BITS as usize,
        sel.of(TxType::AddLiquidity),
    );
    let ra_add = g.add(ctx, ra, x.x1);
    let rb_add = g.add(ctx, rb, x.x2);
    let supply_add = g.add(ctx, supply, minted);
    (ra_add, rb_add, supply_add)
}

/// Remove liquidity: `o1`, `o2` are the pro-rata shares, each at least its
/// minimum.
fn remove_liquidity(
    ctx: &mut Context<Fr>,
    range: &RangeChip<Fr>,
    sel: &Selector,
    x: &Fields,
) -> Moved {
    let g = range.gate();
    let [_, _, _, ra, rb, supply] = x.pf;
    let on = sel.of(TxType::RemoveLiquidity);
    assert_pro_rata(ctx, range, on, x.x1, ra, supply, x.o1);
    assert_pro_rata(ctx, range, on, x.x1, rb, supply, x.o2);
    nonzero_if(ctx, range, x.o2, on);
    for (out, min) in [(x.o1, x.x2), (x.o2, x.x3)] {
        let slip = g.sub(ctx, out, min);
        range_if(ctx, range, slip, BALANCE_BITS as usize, on);
    }
    let ra_remove = g.sub(ctx, ra, x.o1);
    let rb_remove = g.sub(ctx, rb, x.o2);
    let supply_remove = g.sub(ctx, supply, x.x1);
    (ra_remove, rb_remove, supply_remove)
}

/// Create pool: tokens `0 < a < b < 2^11`, fee ≤ MAX_FEE_BPS, empty reserves.
fn create_pool(
    ctx: &mut Context<Fr>,
    range: &RangeChip<Fr>,
    c: Consts,
    sel: &Selector,
    x: &Fields,
) {
    let g = range.gate();
    let [ta, tb, fee, ra, rb, supply] = x.pf;
    let on = sel.of(TxType::CreatePool);
    nonzero_if(ctx, range, ta, on);
    let gap = g.sub(ctx, tb, ta);
    let gap = g.sub(ctx, gap, Constant(Fr::one()));
    range_if(ctx, range, gap, SLOT_BITS as usize, on);
    range_if(ctx, range, tb, SLOT_BITS as usize - 1, on);
    let fee_room = g.sub(ctx, Constant(Fr::from(MAX_FEE_BPS as u64)), fee);
    range_if(ctx, range, fee_room, FEE_BITS as usize, on);
    for r in [ra, rb, supply] {
        assert_eq_if(ctx, range, r, c.zero, on);
    }
}

/// Every type's pool rule, then the pool leaf before and after.
pub(super) fn pool(
    ctx: &mut Context<Fr>,
    range: &RangeChip<Fr>,
    table: &mut HashTable,
    c: Consts,
    sel: &Selector,
    x: &Fields,
) -> PoolSide {
    use TxType::*;
    let (t_in, t_out, swapped) = swap(ctx, range, sel, x);
    let added = add_liquidity(ctx, range, sel, x);
    let removed = remove_liquidity(ctx, range, sel, x);
    create_pool(ctx, range, c, sel, x);
    let [ta, tb, fee, ra, rb, supply] = x.pf;
    let old_pool = PoolCells {
        token_a: ta,
        token_b: tb,
        fee_bps: fee,
        reserve_a: ra,
        reserve_b: rb,
        lp_supply: supply,
    };
    // The new reserves and supply by type, in the order reserve A,
    // reserve B, LP supply.
    let [swapped, added, removed] = [swapped, added, removed].map(|t| [t.0, t.1, t.2]);
    let [reserve_a, reserve_b, lp_supply] = [0, 1, 2].map(|i| {
        by_type(
            ctx,
            range,
            &sel.f,
            &[
                (Swap, swapped[i]),
                (AddLiquidity, added[i]),
                (RemoveLiquidity, removed[i]),
            ],
        )
    });
    let new_pool = PoolCells {
        reserve_a,
        reserve_b,
        lp_supply,
        ..old_pool
    };
    let old_leaf = pool_leaf(ctx, range, table, sel.pool_rw, &old_pool);
    let new_leaf = pool_leaf(ctx, range, table, c.one, &new_pool);
    PoolSide {
        t_in,
        t_out,
        old_leaf,
        new_leaf,
    }
}
