//! Selection helpers of the slot: an equality gated by a flag, a value
//! chosen by the one-hot type flags, and packing cells into one element.

use halo2_base::gates::{GateInstructions, RangeChip, RangeInstructions};
use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use halo2_base::{AssignedValue, Context, QuantumCell::Constant};
use zklanes_executor::tx::TxType;

use crate::field::pow2;

/// `(a − b)·on = 0`.
pub(super) fn assert_eq_if(
    ctx: &mut Context<Fr>,
    range: &RangeChip<Fr>,
    a: AssignedValue<Fr>,
    b: AssignedValue<Fr>,
    on: AssignedValue<Fr>,
) {
    let g = range.gate();
    let d = g.sub(ctx, a, b);
    let z = g.mul(ctx, d, on);
    g.assert_is_const(ctx, &z, &Fr::zero());
}

/// `Σ flags[t]·values[t]` over the listed type ids.
pub(super) fn by_type(
    ctx: &mut Context<Fr>,
    range: &RangeChip<Fr>,
    flags: &[AssignedValue<Fr>; super::fields::FLAGS],
    values: &[(TxType, AssignedValue<Fr>)],
) -> AssignedValue<Fr> {
    let (f, v): (Vec<_>, Vec<_>) = values.iter().map(|(t, v)| (flags[*t as usize], *v)).unzip();
    range
        .gate()
        .inner_product(ctx, f, v.into_iter().map(Into::into))
}

/// `Σ cells·2^shift + constant`, for packing.
pub(super) fn pack(
    ctx: &mut Context<Fr>,
    range: &RangeChip<Fr>,
    fields: &[(AssignedValue<Fr>, u32)],
    constant: Fr,
) -> AssignedValue<Fr> {
    let g = range.gate();
    let (c, s): (Vec<_>, Vec<_>) = fields
        .iter()
        .map(|(c, shift)| (*c, Constant(pow2(*shift))))
        .unzip();
    let p = g.inner_product(ctx, c, s);
    g.add(ctx, p, Constant(constant))
}
