//! The signed message, packed in-circuit from the slot's own cells exactly
//! as `TxBody::message`, and the one signature check of a slot: the
//! signer's EdDSA signature over it, or, for a deposit that creates an
//! account, the new key's curve and subgroup check in its place.

use halo2_base::gates::{GateInstructions, RangeChip, RangeInstructions};
use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use halo2_base::{AssignedValue, Context, QuantumCell::Constant};
use zklanes_executor::params::{
    ACCOUNT_BITS, AMOUNT_BITS, CHAIN_ID_BITS, FEE_BITS, NONCE_BITS, SLOT_BITS,
};
use zklanes_executor::tx::TxType;

use super::account::Account;
use super::fields::{Fields, Selector};
use super::select::{assert_eq_if, by_type, pack};
use super::witness::SlotWitness;
use super::ChunkChips;
use crate::amm::nonzero_if;
use crate::eddsa::{self, AssignedSignature, KeyCheck};
use crate::field::pow2;

/// The message `(hi, lo)` of `TxBody::message` for the slot's type: `lo`
/// packs the chain id, nonce and account with the type's own fields, `hi`
/// the fields that do not fit.
pub(super) fn message(
    ctx: &mut Context<Fr>,
    range: &RangeChip<Fr>,
    chain_id: u32,
    sel: &Selector,
    x: &Fields,
) -> (AssignedValue<Fr>, AssignedValue<Fr>) {
    use TxType::*;
    let head = pack(
        ctx,
        range,
        &[(x.nonce, ACCOUNT_BITS), (x.account, 0)],
        Fr::from(chain_id as u64) * pow2(NONCE_BITS + ACCOUNT_BITS),
    );
    let head_bits = CHAIN_ID_BITS + NONCE_BITS + ACCOUNT_BITS;
    let lo_of = |ctx: &mut Context<Fr>, t: TxType, rest: &[(AssignedValue<Fr>, u32)], bits: u32| {
        let mut fields = vec![(head, bits)];
        fields.extend_from_slice(rest);
        pack(
            ctx,
            range,
            &fields,
            Fr::from(t as u64) * pow2(head_bits + bits),
        )
    };
    let a = AMOUNT_BITS;
    let s = SLOT_BITS;
    let lo_transfer = lo_of(
        ctx,
        Transfer,
        &[(x.to, s + a), (x.asset, a), (x.x1, 0)],
        ACCOUNT_BITS + s + a,
    );
    let lo_swap = lo_of(
        ctx,
        Swap,
        &[(x.pool, 1 + a), (x.a_to_b, a), (x.x1, 0)],
        s + 1 + a,
    );
    let lo_add = lo_of(ctx, AddLiquidity, &[(x.pool, a), (x.x1, 0)], s + a);
    let lo_remove = lo_of(ctx, RemoveLiquidity, &[(x.pool, a), (x.x1, 0)], s + a);
    let lo_withdraw = lo_of(ctx, Withdraw, &[(x.asset, a), (x.x1, 0)], s + a);
    let lo_create = lo_of(
        ctx,
        CreatePool,
        &[
            (x.pool, 2 * s + FEE_BITS),
            (x.pf[0], s + FEE_BITS),
            (x.pf[1], FEE_BITS),
            (x.pf[2], 0),
        ],
        3 * s + FEE_BITS,
    );
    let lo = by_type(
        ctx,
        range,
        &sel.f,
        &[
            (Transfer, lo_transfer),
            (Swap, lo_swap),
            (AddLiquidity, lo_add),
            (RemoveLiquidity, lo_remove),
            (Withdraw, lo_withdraw),
            (CreatePool, lo_create),
        ],
    );
    let hi_pair = pack(ctx, range, &[(x.x2, a), (x.x3, 0)], Fr::zero());
    let hi = by_type(
        ctx,
        range,
        &sel.f,
        &[
            (Swap, x.x2),
            (AddLiquidity, hi_pair),
            (RemoveLiquidity, hi_pair),
            (Withdraw, x.l1_full),
        ],
    );
    (hi, lo)
}

/// The signature over `message` by the stored key when the type is signed;
/// for a created account, the new key on the curve, not the identity, and
/// in the subgroup (`(l − 1)·K = −K`, the first product of the check).
pub(super) fn check_signature(
    ctx: &mut Context<Fr>,
    chips: &mut ChunkChips<'_>,
    sel: &Selector,
    acc: &Account,
    message: (AssignedValue<Fr>, AssignedValue<Fr>),
    w: &SlotWitness,
) {
    let range = chips.range;
    let g = range.gate();
    let sig = AssignedSignature {
        r: chips.ecc.load_point(ctx, w.sig_r.0, w.sig_r.1),
        s: ctx.load_witness(w.sig_s),
    };
    let first = eddsa::verify_if(
        ctx,
        chips.ecc,
        chips.table,
        chips.muls,
        acc.old_key,
        sig,
        message,
        sel.signed,
        KeyCheck {
            key: acc.dep_key,
            on: acc.creates,
        },
    );
    // A created key: on the curve, not the identity, in the subgroup.
    let dep_key = acc.dep_key;
    let creates = acc.creates;
    let x2k = g.mul(ctx, dep_key.x, dep_key.x);
    let y2k = g.mul(ctx, dep_key.y, dep_key.y);
    let lhs = g.add(ctx, x2k, y2k);
    let x2y2 = g.mul(ctx, x2k, y2k);
    let rhs = g.mul_add(ctx, x2y2, Constant(chips.ecc.d()), Constant(Fr::one()));
    assert_eq_if(ctx, range, lhs, rhs, creates);
    nonzero_if(ctx, range, dep_key.x, creates);
    let neg_x = g.neg(ctx, dep_key.x);
    assert_eq_if(ctx, range, first.x, neg_x, creates);
    assert_eq_if(ctx, range, first.y, dep_key.y, creates);
}
