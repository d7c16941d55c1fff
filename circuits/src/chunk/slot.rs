//! One universal slot, as a sequence of its sections: the selector and the
//! fields, the account, the signed message and its signature, the pool,
//! the two Merkle groups, then the public data (its commitment and
//! evaluation). Each
//! section is a function of exactly the cells it reads (see its module).
//!
//! The order of the calls is the order of the cells in the circuit: moving
//! one changes the verifying key (the golden test pins it).

use halo2_base::gates::{GateInstructions, RangeInstructions};
use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use halo2_base::{AssignedValue, Context};

use super::account::account;
use super::fields::{field_rules, Consts, Fields, Selector};
use super::groups::{other_group, signer_group};
use super::pool::pool;
use super::public::{data, Challenge, Data};
use super::signature::{check_signature, message};
use super::witness::SlotWitness;
use super::ChunkChips;

/// Running values carried from slot to slot.
#[derive(Clone, Copy)]
pub(super) struct Running {
    pub(super) root: AssignedValue<Fr>,
    pub(super) data: Data,
}

/// One universal slot over `w`: the running values after it, and its type
/// flags (for the chunk's padding rule).
pub(super) fn slot(
    ctx: &mut Context<Fr>,
    chips: &mut ChunkChips<'_>,
    chain_id: u32,
    w: &SlotWitness,
    ch: Challenge,
    run: Running,
) -> (Running, [AssignedValue<Fr>; super::fields::FLAGS]) {
    let range = chips.range;
    let g = range.gate();
    let c = Consts::load(ctx);
    let sel = Selector::assign(ctx, range, w.ty, c.one);
    let x = Fields::load(ctx, range, w);
    let gating = field_rules(ctx, range, &sel, &x);
    let acc = account(ctx, range, chips.table, c, &sel, &x, w);
    let msg = message(ctx, range, chain_id, &sel, &x);
    check_signature(ctx, chips, &sel, &acc, msg, w);
    let pool = pool(ctx, range, chips.table, c, &sel, &x);
    let root = signer_group(
        ctx,
        range,
        chips.table,
        c,
        &sel,
        gating,
        &x,
        &acc,
        &pool,
        w,
        run.root,
    );
    let root = other_group(ctx, range, chips.table, c, &sel, gating, &x, &pool, w, root);
    let d = data(
        ctx,
        range,
        chips.table,
        &sel,
        &x,
        acc.dep_key_hash,
        ch,
        run.data,
    );
    let next = Running {
        root,
        data: Data {
            commitment: g.select(ctx, d.commitment, run.data.commitment, sel.active),
            y: g.select(ctx, d.y, run.data.y, sel.active),
            xn: g.select(ctx, d.xn, run.data.xn, sel.active),
        },
    };
    (next, sel.f)
}
