//! A slot's public data, recomputed from the slot's own cells with the
//! encodings of `zklanes_executor::commitments`: its data elements (two,
//! and a deposit's key hash), chained into the data commitment and
//! evaluated at the chunk's challenge by Horner's rule.

use halo2_base::gates::{GateInstructions, RangeChip, RangeInstructions};
use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use halo2_base::{AssignedValue, Context, QuantumCell::Constant};
use zklanes_executor::poseidon::Tag;
use zklanes_executor::tx::TxType;

use super::fields::{Fields, Selector};
use super::select::{by_type, pack};
use crate::field::{pow2, to_halo2};
use crate::hash_table::HashTable;

/// A public-data field: its cell and its width in bytes.
type PubField = (AssignedValue<Fr>, u32);

/// A transaction's public data as the two 31-byte elements of
/// `zklanes_executor::commitments::pubdata_elements`: `type` then the fields
/// (`(cell, bytes)`, each already below `2^(8·bytes)` except a field that
/// straddles the two elements, which is split and range-checked here).
fn pubdata_elements(
    ctx: &mut Context<Fr>,
    range: &RangeChip<Fr>,
    ty: TxType,
    fields: &[PubField],
) -> [AssignedValue<Fr>; 2] {
    const HALF: u32 = 31;
    let g = range.gate();
    let mut e: [Vec<(AssignedValue<Fr>, u32)>; 2] = [vec![], vec![]];
    let mut at = 1u32;
    for &(cell, bytes) in fields {
        let end = at + bytes;
        if end <= HALF {
            e[0].push((cell, 8 * (HALF - end)));
        } else if at >= HALF {
            e[1].push((cell, 8 * (2 * HALF - end)));
        } else {
            // Straddles: `cell = top·2^(8·low) + bottom`.
            let low = end - HALF;
            let v = cell.value().to_bytes();
            let mut top_bytes = [0u8; 32];
            let mut bottom_bytes = [0u8; 32];
            for i in 0..32 {
                if i < low as usize {
                    bottom_bytes[i] = v[i];
                } else {
                    top_bytes[i - low as usize] = v[i];
                }
            }
            let top = ctx.load_witness(Fr::from_bytes(&top_bytes).unwrap_or(Fr::zero()));
            let bottom = ctx.load_witness(Fr::from_bytes(&bottom_bytes).unwrap_or(Fr::zero()));
            range.range_check(ctx, top, 8 * (bytes - low) as usize);
            range.range_check(ctx, bottom, 8 * low as usize);
            let joined = g.mul_add(ctx, top, Constant(pow2(8 * low)), bottom);
            ctx.constrain_equal(&joined, &cell);
            e[0].push((top, 0));
            e[1].push((bottom, 8 * (HALF - low)));
        }
        at = end;
    }
    let t = Fr::from(ty as u64) * pow2(8 * (HALF - 1));
    [
        pack(ctx, range, &e[0], t),
        pack(ctx, range, &e[1], Fr::zero()),
    ]
}

fn tag(ctx: &mut Context<Fr>, t: Tag) -> AssignedValue<Fr> {
    ctx.load_constant(to_halo2(&t.fr()))
}

/// The chunk's challenge `x` and `x²`, loaded once.
#[derive(Clone, Copy)]
pub(super) struct Challenge {
    /// `x`, exposed as a public input.
    pub(super) x: AssignedValue<Fr>,
    /// `x²`.
    pub(super) x2: AssignedValue<Fr>,
}

/// The running data commitment and evaluation.
#[derive(Clone, Copy)]
pub(super) struct Data {
    /// The commitment chain.
    pub(super) commitment: AssignedValue<Fr>,
    /// Horner's accumulator `y`.
    pub(super) y: AssignedValue<Fr>,
    /// `x` to the number of elements so far.
    pub(super) xn: AssignedValue<Fr>,
}

/// `prev` after this slot's data elements: its two elements (chosen by
/// type) and, for a deposit, `key_hash` (the deposit's key), each hashed
/// onto the commitment and folded into the evaluation, `y ← y·x + e`. The
/// caller keeps `prev` for a padding slot.
#[allow(clippy::too_many_arguments)]
pub(super) fn data(
    ctx: &mut Context<Fr>,
    range: &RangeChip<Fr>,
    table: &mut HashTable,
    sel: &Selector,
    x: &Fields,
    key_hash: AssignedValue<Fr>,
    ch: Challenge,
    prev: Data,
) -> Data {
    use TxType::*;
    let [ta, tb, fee, ..] = x.pf;
    // Each type's fields as `(cell, bytes)`, in the executor's order.
    let layouts: [(TxType, &[PubField]); 8] = [
        (
            Deposit,
            &[
                (x.account, 3),
                (x.asset, 2),
                (x.x1, 12),
                (x.l1[0], 4),
                (x.l1[1], 9),
                (x.l1[2], 7),
            ],
        ),
        (
            Transfer,
            &[(x.account, 3), (x.to, 3), (x.asset, 2), (x.x1, 12)],
        ),
        (
            Swap,
            &[
                (x.account, 3),
                (x.pool, 2),
                (x.a_to_b, 1),
                (x.x1, 12),
                (x.o1, 12),
            ],
        ),
        (
            AddLiquidity,
            &[
                (x.account, 3),
                (x.pool, 2),
                (x.x1, 12),
                (x.x2, 12),
                (x.o1, 14),
            ],
        ),
        (
            RemoveLiquidity,
            &[
                (x.account, 3),
                (x.pool, 2),
                (x.x1, 12),
                (x.o1, 14),
                (x.o2, 14),
            ],
        ),
        (
            Withdraw,
            &[
                (x.account, 3),
                (x.asset, 2),
                (x.x1, 12),
                (x.l1[0], 4),
                (x.l1[1], 9),
                (x.l1[2], 7),
            ],
        ),
        (
            CreatePool,
            &[(x.account, 3), (x.pool, 2), (ta, 2), (tb, 2), (fee, 2)],
        ),
        (
            ForcedWithdraw,
            &[
                (x.account, 3),
                (x.asset, 2),
                (x.o1, 14),
                (x.l1[0], 4),
                (x.l1[1], 9),
                (x.l1[2], 7),
            ],
        ),
    ];
    let e = layouts.map(|(ty, fields)| (ty, pubdata_elements(ctx, range, ty, fields)));
    let e1 = by_type(ctx, range, &sel.f, &e.map(|(t, [e1, _])| (t, e1)));
    let e2 = by_type(ctx, range, &sel.f, &e.map(|(t, [_, e2])| (t, e2)));
    let g = range.gate();
    let t_pub = tag(ctx, Tag::Pubdata);
    let c1 = table.compress(ctx, [t_pub, prev.commitment, e1]);
    let c2 = table.compress(ctx, [t_pub, c1, e2]);
    let c3 = table.compress(ctx, [t_pub, c2, key_hash]);
    let deposit = sel.of(Deposit);
    let y1 = g.mul_add(ctx, prev.y, ch.x, e1);
    let y2 = g.mul_add(ctx, y1, ch.x, e2);
    let y3 = g.mul_add(ctx, y2, ch.x, key_hash);
    let xn2 = g.mul(ctx, prev.xn, ch.x2);
    let xn3 = g.mul(ctx, xn2, ch.x);
    Data {
        commitment: g.select(ctx, c3, c2, deposit),
        y: g.select(ctx, y3, y2, deposit),
        xn: g.select(ctx, xn3, xn2, deposit),
    }
}
