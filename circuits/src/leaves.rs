//! Leaf hashes of the state tree in-circuit, exactly `zklanes_executor::state::Leaf::hash`:
//!
//! - account: `compress(AccountLeaf, compress(PubKey, x, y), nonce)`;
//! - balance: `compress(BalanceLeaf, balance, 0)`, and `0` for a zero balance;
//! - pool: `compress(PoolLeaf, lo, hi)` with
//!   `lo = token_a(12)‖token_b(12)‖fee_bps(14)‖reserve_a(112)` and
//!   `hi = reserve_b(112)‖lp_supply(112)`;
//! - an absent account or pool is the empty leaf `0`.
//!
//! # Assumptions
//!
//! Every field passed in is range-checked here to its declared width before it
//! is packed, so packings are injective. `exists` flags must be boolean (this
//! module constrains them).

use halo2_base::gates::{GateInstructions, RangeChip, RangeInstructions};
use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use halo2_base::{AssignedValue, Context, QuantumCell::Constant};
use zklanes_executor::params::{BALANCE_BITS, FEE_BITS, NONCE_BITS, SLOT_BITS};
use zklanes_executor::poseidon::Tag;

use crate::ecc::EdPoint;
use crate::field::{pow2, to_halo2};
use crate::hash_table::HashTable;

fn tag(ctx: &mut Context<Fr>, t: Tag) -> AssignedValue<Fr> {
    ctx.load_constant(to_halo2(&t.fr()))
}

/// `compress(PubKey, x, y)`.
pub fn pubkey_hash(ctx: &mut Context<Fr>, table: &mut HashTable, pk: EdPoint) -> AssignedValue<Fr> {
    let t = tag(ctx, Tag::PubKey);
    table.compress(ctx, [t, pk.x, pk.y])
}

/// The account leaf, or `0` when `exists` is 0. Range-checks the nonce.
pub fn account_leaf(
    ctx: &mut Context<Fr>,
    range: &RangeChip<Fr>,
    table: &mut HashTable,
    exists: AssignedValue<Fr>,
    pubkey_hash: AssignedValue<Fr>,
    nonce: AssignedValue<Fr>,
) -> AssignedValue<Fr> {
    range.gate().assert_bit(ctx, exists);
    range.range_check(ctx, nonce, NONCE_BITS as usize);
    let t = tag(ctx, Tag::AccountLeaf);
    let h = table.compress(ctx, [t, pubkey_hash, nonce]);
    range.gate().mul(ctx, h, exists)
}

/// The balance leaf (`0` for a zero balance). Range-checks the balance.
pub fn balance_leaf(
    ctx: &mut Context<Fr>,
    range: &RangeChip<Fr>,
    table: &mut HashTable,
    balance: AssignedValue<Fr>,
) -> AssignedValue<Fr> {
    range.range_check(ctx, balance, BALANCE_BITS as usize);
    let t = tag(ctx, Tag::BalanceLeaf);
    let zero = ctx.load_constant(Fr::zero());
    let h = table.compress(ctx, [t, balance, zero]);
    let is_zero = range.gate().is_zero(ctx, balance);
    range.gate().mul_not(ctx, is_zero, h)
}

/// Assigned fields of a pool.
#[derive(Clone, Copy, Debug)]
pub struct PoolCells {
    /// Lower token id.
    pub token_a: AssignedValue<Fr>,
    /// Higher token id.
    pub token_b: AssignedValue<Fr>,
    /// Fee in basis points.
    pub fee_bps: AssignedValue<Fr>,
    /// Reserve of token A.
    pub reserve_a: AssignedValue<Fr>,
    /// Reserve of token B.
    pub reserve_b: AssignedValue<Fr>,
    /// LP supply.
    pub lp_supply: AssignedValue<Fr>,
}

/// The pool leaf, or `0` when `exists` is 0. Range-checks every field.
pub fn pool_leaf(
    ctx: &mut Context<Fr>,
    range: &RangeChip<Fr>,
    table: &mut HashTable,
    exists: AssignedValue<Fr>,
    p: &PoolCells,
) -> AssignedValue<Fr> {
    let gate = range.gate();
    gate.assert_bit(ctx, exists);
    for (v, bits) in [
        (p.token_a, SLOT_BITS),
        (p.token_b, SLOT_BITS),
        (p.fee_bps, FEE_BITS),
        (p.reserve_a, BALANCE_BITS),
        (p.reserve_b, BALANCE_BITS),
        (p.lp_supply, BALANCE_BITS),
    ] {
        range.range_check(ctx, v, bits as usize);
    }
    let b = BALANCE_BITS;
    let lo = gate.inner_product(
        ctx,
        [p.token_a, p.token_b, p.fee_bps, p.reserve_a],
        [
            Constant(pow2(SLOT_BITS + FEE_BITS + b)),
            Constant(pow2(FEE_BITS + b)),
            Constant(pow2(b)),
            Constant(Fr::one()),
        ],
    );
    let hi = gate.mul_add(ctx, p.reserve_b, Constant(pow2(b)), p.lp_supply);
    let t = tag(ctx, Tag::PoolLeaf);
    let h = table.compress(ctx, [t, lo, hi]);
    gate.mul(ctx, h, exists)
}
