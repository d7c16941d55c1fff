//! Constant-product AMM relations in-circuit, the exact rules of
//! `zklanes_executor::amm`. Every relation is asserted only when `on` (a
//! boolean the caller constrains), by range-checking `x·on`: a disabled
//! check sees 0.
//!
//! # Widths (no relation wraps modulo p)
//!
//! Amounts are below 2^96 and reserves, supplies and outputs below 2^112
//! (range-checked by the caller or here); with fees below 2^14 every product
//! stays below 2^224, far under the field modulus (about 2^253.6). A
//! remainder checked to `b` bits is a nonnegative integer below 2^b; a
//! negative one would be `p − x`, far above any checked width.

use halo2_base::gates::{GateInstructions, RangeChip, RangeInstructions};
use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use halo2_base::{AssignedValue, Context, QuantumCell::Constant};
use zklanes_executor::params::{BALANCE_BITS, FEE_DENOMINATOR};

/// Bits of a remainder against a denominator of at most 2^127.
const REM_BITS: usize = 128;
/// Bits that bound any product of an amount and a balance.
const PRODUCT_BITS: usize = 224;

/// Range-checks `x·on` to `bits` bits: `x < 2^bits` when `on`.
pub fn range_if(
    ctx: &mut Context<Fr>,
    range: &RangeChip<Fr>,
    x: AssignedValue<Fr>,
    bits: usize,
    on: AssignedValue<Fr>,
) {
    let gated = range.gate().mul(ctx, x, on);
    range.range_check(ctx, gated, bits);
}

/// `x ≠ 0` when `on`.
pub fn nonzero_if(
    ctx: &mut Context<Fr>,
    range: &RangeChip<Fr>,
    x: AssignedValue<Fr>,
    on: AssignedValue<Fr>,
) {
    let g = range.gate();
    let z = g.is_zero(ctx, x);
    let bad = g.mul(ctx, z, on);
    g.assert_is_const(ctx, &bad, &Fr::zero());
}

/// `num − q·den ∈ [0, den)` when `on`: `q = floor(num / den)` (and `den > 0`).
fn assert_floor_div(
    ctx: &mut Context<Fr>,
    range: &RangeChip<Fr>,
    num: AssignedValue<Fr>,
    den: AssignedValue<Fr>,
    q: AssignedValue<Fr>,
    rem_bits: usize,
    on: AssignedValue<Fr>,
) {
    let g = range.gate();
    let qd = g.mul(ctx, q, den);
    let rem = g.sub(ctx, num, qd);
    range_if(ctx, range, rem, rem_bits, on);
    let slack = g.sub(ctx, den, rem);
    let slack = g.sub(ctx, slack, Constant(Fr::one()));
    range_if(ctx, range, slack, rem_bits, on);
}

/// Exact-input swap: `out = floor(in·f·r_out / (r_in·10⁴ + in·f))` with
/// `f = 10⁴ − fee`, `r_in ≠ 0` and `out ≠ 0`, when `on`. `out` is
/// range-checked to the balance width here; `fee ≤ 10⁴` is the caller's
/// (pool leaves only hold fees checked at creation).
#[allow(clippy::too_many_arguments)]
pub fn assert_swap_out(
    ctx: &mut Context<Fr>,
    range: &RangeChip<Fr>,
    on: AssignedValue<Fr>,
    amount_in: AssignedValue<Fr>,
    reserve_in: AssignedValue<Fr>,
    reserve_out: AssignedValue<Fr>,
    fee_bps: AssignedValue<Fr>,
    out: AssignedValue<Fr>,
) {
    let g = range.gate();
    range.range_check(ctx, out, BALANCE_BITS as usize);
    let f = g.sub(ctx, Constant(Fr::from(FEE_DENOMINATOR as u64)), fee_bps);
    let in_f = g.mul(ctx, amount_in, f);
    let num = g.mul(ctx, in_f, reserve_out);
    let den = g.mul_add(
        ctx,
        reserve_in,
        Constant(Fr::from(FEE_DENOMINATOR as u64)),
        in_f,
    );
    assert_floor_div(ctx, range, num, den, out, REM_BITS, on);
    nonzero_if(ctx, range, reserve_in, on);
    nonzero_if(ctx, range, out, on);
}

/// LP shares minted for `(a, b)` against reserves `(r_a, r_b)` and supply
/// `s`, when `on`. Returns `first = (s == 0)`.
///
/// - first mint: `minted² ≤ a·b < (minted + 1)²`, i.e. `floor(sqrt(a·b))`;
/// - otherwise `minted = min(floor(a·s/r_a), floor(b·s/r_b))`: with the
///   witness bit `b_is_min`, `minted` is the exact floor on the chosen side
///   and `minted·r ≤ x·s` on the other (so it is not above that floor).
#[allow(clippy::too_many_arguments)]
pub fn assert_lp_minted(
    ctx: &mut Context<Fr>,
    range: &RangeChip<Fr>,
    on: AssignedValue<Fr>,
    (a, b): (AssignedValue<Fr>, AssignedValue<Fr>),
    (reserve_a, reserve_b): (AssignedValue<Fr>, AssignedValue<Fr>),
    supply: AssignedValue<Fr>,
    minted: AssignedValue<Fr>,
    b_is_min: AssignedValue<Fr>,
) -> AssignedValue<Fr> {
    let g = range.gate();
    range.range_check(ctx, minted, BALANCE_BITS as usize);
    g.assert_bit(ctx, b_is_min);
    let first = g.is_zero(ctx, supply);
    let on_first = g.mul(ctx, on, first);
    let on_rest = g.sub(ctx, on, on_first);
    // First mint: the integer square root.
    let ab = g.mul(ctx, a, b);
    let m2 = g.mul(ctx, minted, minted);
    let rem = g.sub(ctx, ab, m2);
    range_if(ctx, range, rem, PRODUCT_BITS, on_first);
    let slack = g.mul_add(ctx, minted, Constant(Fr::from(2u64)), Constant(Fr::zero()));
    let slack = g.sub(ctx, slack, rem);
    range_if(ctx, range, slack, BALANCE_BITS as usize + 2, on_first);
    // Later mints: the minimum of the two pro-rata floors.
    let x_min = g.select(ctx, b, a, b_is_min);
    let r_min = g.select(ctx, reserve_b, reserve_a, b_is_min);
    let x_other = g.select(ctx, a, b, b_is_min);
    let r_other = g.select(ctx, reserve_a, reserve_b, b_is_min);
    let num = g.mul(ctx, x_min, supply);
    assert_floor_div(
        ctx,
        range,
        num,
        r_min,
        minted,
        BALANCE_BITS as usize,
        on_rest,
    );
    let bound = g.mul(ctx, x_other, supply);
    let used = g.mul(ctx, minted, r_other);
    let gap = g.sub(ctx, bound, used);
    range_if(ctx, range, gap, PRODUCT_BITS, on_rest);
    first
}

/// A pro-rata share: `out = floor(lp·reserve / supply)` (and `supply > 0`),
/// when `on`. `out` is range-checked to the balance width here.
pub fn assert_pro_rata(
    ctx: &mut Context<Fr>,
    range: &RangeChip<Fr>,
    on: AssignedValue<Fr>,
    lp: AssignedValue<Fr>,
    reserve: AssignedValue<Fr>,
    supply: AssignedValue<Fr>,
    out: AssignedValue<Fr>,
) {
    let g = range.gate();
    range.range_check(ctx, out, BALANCE_BITS as usize);
    let num = g.mul(ctx, lp, reserve);
    assert_floor_div(ctx, range, num, supply, out, BALANCE_BITS as usize, on);
}
