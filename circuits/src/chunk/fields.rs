//! The first cells of a slot: its one-hot type selector, the transaction's
//! fields with their widths, and the type rules on those fields (the
//! executor's `check_widths` and static checks).

use halo2_base::gates::{GateInstructions, RangeChip, RangeInstructions};
use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use halo2_base::{AssignedValue, Context, QuantumCell::Constant};
use zklanes_executor::params::{ACCOUNT_BITS, AMOUNT_BITS, BALANCE_BITS, NONCE_BITS, SLOT_BITS};
use zklanes_executor::tx::TxType;

use super::witness::SlotWitness;
use crate::amm::{nonzero_if, range_if};
use crate::field::{from_u128, pow2};

/// The constants 0 and 1 of a slot (loaded once, first).
#[derive(Clone, Copy)]
pub(super) struct Consts {
    pub(super) zero: AssignedValue<Fr>,
    pub(super) one: AssignedValue<Fr>,
}

impl Consts {
    pub(super) fn load(ctx: &mut Context<Fr>) -> Self {
        let zero = ctx.load_constant(Fr::zero());
        let one = ctx.load_constant(Fr::one());
        Self { zero, one }
    }
}

/// Number of selector flags: padding and the 8 transaction types.
pub(super) const FLAGS: usize = 9;

/// The one-hot selector over {noop, 8 types} and the flags derived from it.
#[derive(Clone, Copy)]
pub(super) struct Selector {
    /// Boolean flags, indexed by type id (0 = padding); exactly one is set.
    pub(super) f: [AssignedValue<Fr>; FLAGS],
    /// Not padding.
    pub(super) active: AssignedValue<Fr>,
    /// An L1 queue operation (deposit or forced withdrawal): unsigned, the
    /// nonce kept.
    pub(super) queued: AssignedValue<Fr>,
    /// A signed type (active and not an L1 queue operation).
    pub(super) signed: AssignedValue<Fr>,
    /// Reads and writes a pool's reserves (swap, add or remove liquidity).
    pub(super) pool_rw: AssignedValue<Fr>,
    /// Add or remove liquidity.
    pub(super) liquidity: AssignedValue<Fr>,
}

impl Selector {
    /// Loads the flags of type `ty` and constrains them one-hot.
    pub(super) fn assign(
        ctx: &mut Context<Fr>,
        range: &RangeChip<Fr>,
        ty: usize,
        one: AssignedValue<Fr>,
    ) -> Self {
        use TxType::*;
        let g = range.gate();
        let f: [AssignedValue<Fr>; FLAGS] =
            std::array::from_fn(|t| ctx.load_witness(Fr::from((ty == t) as u64)));
        for b in f {
            g.assert_bit(ctx, b);
        }
        let sum = g.sum(ctx, f);
        g.assert_is_const(ctx, &sum, &Fr::one());
        let fl = |t: TxType| f[t as usize];
        let active = g.sub(ctx, one, f[0]);
        let queued = g.add(ctx, fl(Deposit), fl(ForcedWithdraw));
        let signed = g.sub(ctx, active, queued);
        let pool_rw = g.sum(ctx, [fl(Swap), fl(AddLiquidity), fl(RemoveLiquidity)]);
        let liquidity = g.add(ctx, fl(AddLiquidity), fl(RemoveLiquidity));
        Self {
            f,
            active,
            queued,
            signed,
            pool_rw,
            liquidity,
        }
    }

    /// The flag of type `t`.
    pub(super) fn of(&self, t: TxType) -> AssignedValue<Fr> {
        self.f[t as usize]
    }
}

/// The transaction's fields and the old values the slot reads, loaded and
/// range-checked to their widths.
#[derive(Clone, Copy)]
pub(super) struct Fields {
    pub(super) account: AssignedValue<Fr>,
    pub(super) nonce: AssignedValue<Fr>,
    pub(super) to: AssignedValue<Fr>,
    pub(super) asset: AssignedValue<Fr>,
    pub(super) pool: AssignedValue<Fr>,
    pub(super) a_to_b: AssignedValue<Fr>,
    /// Amount, amount in, amount A or LP amount.
    pub(super) x1: AssignedValue<Fr>,
    /// Min out, amount B or min A.
    pub(super) x2: AssignedValue<Fr>,
    /// Min LP or min B.
    pub(super) x3: AssignedValue<Fr>,
    /// Receipt outputs (a forced withdrawal's amount is `o1`).
    pub(super) o1: AssignedValue<Fr>,
    pub(super) o2: AssignedValue<Fr>,
    pub(super) b_is_min: AssignedValue<Fr>,
    /// L1 address as 32 + 72 + 56 bits, and whole.
    pub(super) l1: [AssignedValue<Fr>; 3],
    pub(super) l1_full: AssignedValue<Fr>,
    pub(super) exists: AssignedValue<Fr>,
    pub(super) old_nonce: AssignedValue<Fr>,
    pub(super) balances: [AssignedValue<Fr>; 3],
    pub(super) recv_balance: AssignedValue<Fr>,
    /// Token A, token B, fee, reserve A, reserve B, supply.
    pub(super) pf: [AssignedValue<Fr>; 6],
    pub(super) recv_leaf: AssignedValue<Fr>,
}

impl Fields {
    /// Loads `w`'s fields and range-checks each to its width.
    pub(super) fn load(ctx: &mut Context<Fr>, range: &RangeChip<Fr>, w: &SlotWitness) -> Self {
        let g = range.gate();
        let mut load = |v: u128| ctx.load_witness(from_u128(v));
        let account = load(w.account);
        let nonce = load(w.nonce);
        let to = load(w.to);
        let asset = load(w.asset);
        let pool = load(w.pool);
        let a_to_b = load(w.a_to_b);
        let [x1, x2, x3] = [load(w.x1), load(w.x2), load(w.x3)];
        let [o1, o2] = [load(w.o1), load(w.o2)];
        let b_is_min = load(w.b_is_min);
        let l1 = [load(w.l1[0]), load(w.l1[1]), load(w.l1[2])];
        let exists = load(w.exists);
        let old_nonce = load(w.old_nonce);
        let balances = [
            load(w.balances[0]),
            load(w.balances[1]),
            load(w.balances[2]),
        ];
        let recv_balance = load(w.recv_balance);
        let pf: [AssignedValue<Fr>; 6] =
            std::array::from_fn(|i| ctx.load_witness(from_u128(w.pool_fields[i])));
        let recv_leaf = ctx.load_witness(w.recv_leaf);
        for (c, bits) in [
            (account, ACCOUNT_BITS),
            (nonce, NONCE_BITS),
            (to, ACCOUNT_BITS),
            (asset, SLOT_BITS),
            (pool, SLOT_BITS - 1),
            (x1, AMOUNT_BITS),
            (x2, AMOUNT_BITS),
            (x3, AMOUNT_BITS),
            (o1, BALANCE_BITS),
            (o2, BALANCE_BITS),
            (l1[0], 32),
            (l1[1], 72),
            (l1[2], 56),
        ] {
            range.range_check(ctx, c, bits as usize);
        }
        g.assert_bit(ctx, a_to_b);
        let l1_lo = g.mul_add(ctx, l1[1], Constant(pow2(56)), l1[2]);
        let l1_full = g.mul_add(ctx, l1[0], Constant(pow2(128)), l1_lo);
        Self {
            account,
            nonce,
            to,
            asset,
            pool,
            a_to_b,
            x1,
            x2,
            x3,
            o1,
            o2,
            b_is_min,
            l1,
            l1_full,
            exists,
            old_nonce,
            balances,
            recv_balance,
            pf,
            recv_leaf,
        }
    }
}

/// Flags the type rules derive, used again by the groups.
#[derive(Clone, Copy)]
pub(super) struct Gating {
    /// The type moves a balance of the signer group's first slot (every
    /// active type but pool creation).
    pub(super) has_amount: AssignedValue<Fr>,
    /// The type touches a pool (pool reads and writes, and creation).
    pub(super) pool_op: AssignedValue<Fr>,
}

/// Type rules on the fields (the executor's `check_widths` and checks):
/// nonzero account, amount (`x1`; a forced withdrawal's amount is the
/// whole balance, possibly zero), asset and pool where the type uses them,
/// the assets of deposits and withdrawals below the LP range, no
/// self-transfer.
pub(super) fn field_rules(
    ctx: &mut Context<Fr>,
    range: &RangeChip<Fr>,
    sel: &Selector,
    x: &Fields,
) -> Gating {
    use TxType::*;
    let g = range.gate();
    nonzero_if(ctx, range, x.account, sel.active);
    let has_amount = g.sub(ctx, sel.active, sel.of(CreatePool));
    let has_x1 = g.sub(ctx, has_amount, sel.of(ForcedWithdraw));
    nonzero_if(ctx, range, x.x1, has_x1);
    nonzero_if(ctx, range, x.x2, sel.of(AddLiquidity));
    // Deposits and (forced) withdrawals move plain tokens only (LP shares
    // have no L1 token to pay out).
    let l1_asset = g.sum(
        ctx,
        [sel.of(Deposit), sel.of(Withdraw), sel.of(ForcedWithdraw)],
    );
    let asset_op = g.add(ctx, l1_asset, sel.of(Transfer));
    nonzero_if(ctx, range, x.asset, asset_op);
    range_if(ctx, range, x.asset, SLOT_BITS as usize - 1, l1_asset);
    let pool_op = g.add(ctx, sel.pool_rw, sel.of(CreatePool));
    nonzero_if(ctx, range, x.pool, pool_op);
    nonzero_if(ctx, range, x.to, sel.of(Transfer));
    let self_transfer = g.sub(ctx, x.to, x.account);
    nonzero_if(ctx, range, self_transfer, sel.of(Transfer));
    Gating {
        has_amount,
        pool_op,
    }
}
