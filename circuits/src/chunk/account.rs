//! The signer's account leaf before and after the slot: the stored key and
//! nonce, the key a creating deposit brings, and the nonce rule.

use halo2_base::gates::{GateInstructions, RangeChip, RangeInstructions};
use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use halo2_base::{AssignedValue, Context, QuantumCell::Constant};
use zklanes_executor::tx::TxType;

use super::fields::{Consts, Fields, Selector};
use super::select::assert_eq_if;
use super::witness::SlotWitness;
use crate::ecc::EdPoint;
use crate::hash_table::HashTable;
use crate::leaves::{account_leaf, pubkey_hash};

/// The account leaf's cells.
#[derive(Clone, Copy)]
pub(super) struct Account {
    /// The stored key (the signer's, for signed types).
    pub(super) old_key: EdPoint,
    /// The key a deposit names (checked only when it creates the account).
    pub(super) dep_key: EdPoint,
    /// Hash of `dep_key` (a deposit's third data element, which L1 checks
    /// against its queue).
    pub(super) dep_key_hash: AssignedValue<Fr>,
    /// A deposit into an empty account slot: it creates the account.
    pub(super) creates: AssignedValue<Fr>,
    /// The account leaf before (empty when it does not exist).
    pub(super) old_leaf: AssignedValue<Fr>,
    /// The account leaf after.
    pub(super) new_leaf: AssignedValue<Fr>,
}

/// A signed type needs an existing account and its current nonce, and
/// stores `nonce + 1`; a forced withdrawal needs an existing account and
/// keeps its leaf; a deposit keeps the nonce, and a creating deposit stores
/// its key with nonce 0.
pub(super) fn account(
    ctx: &mut Context<Fr>,
    range: &RangeChip<Fr>,
    table: &mut HashTable,
    c: Consts,
    sel: &Selector,
    x: &Fields,
    w: &SlotWitness,
) -> Account {
    let g = range.gate();
    let old_key = EdPoint {
        x: ctx.load_witness(w.old_key.0),
        y: ctx.load_witness(w.old_key.1),
    };
    let dep_key = EdPoint {
        x: ctx.load_witness(w.dep_key.0),
        y: ctx.load_witness(w.dep_key.1),
    };
    let old_pk_hash = pubkey_hash(ctx, table, old_key);
    let dep_key_hash = pubkey_hash(ctx, table, dep_key);
    let not_exists = g.sub(ctx, c.one, x.exists);
    let creates = g.mul(ctx, sel.of(TxType::Deposit), not_exists);
    let needs_account = g.add(ctx, sel.signed, sel.of(TxType::ForcedWithdraw));
    assert_eq_if(ctx, range, x.exists, c.one, needs_account);
    assert_eq_if(ctx, range, x.nonce, x.old_nonce, sel.signed);
    let old_leaf = account_leaf(ctx, range, table, x.exists, old_pk_hash, x.old_nonce);
    let new_pk_hash = g.select(ctx, dep_key_hash, old_pk_hash, creates);
    let bumped = g.add(ctx, x.old_nonce, Constant(Fr::one()));
    let kept = g.mul(ctx, x.old_nonce, x.exists);
    let new_nonce = g.select(ctx, kept, bumped, sel.queued);
    let new_leaf = account_leaf(ctx, range, table, c.one, new_pk_hash, new_nonce);
    Account {
        old_key,
        dep_key,
        dep_key_hash,
        creates,
        old_leaf,
        new_leaf,
    }
}
