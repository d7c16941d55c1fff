//! The chunk circuit: `capacity` transaction slots over the executor's
//! [`ChunkTrace`], proving the state transition from the previous to the
//! new root and the chunk's three commitments.
//!
//! # Slots
//!
//! Every slot is the same universal slot. A one-hot selector of 8 boolean
//! flags (`noop` and the 7 transaction types) chooses what it does; padding
//! comes last (`noopᵢ·(1 − noopᵢ₊₁) = 0`). Each slot runs every gadget on
//! its witness (zeros where unused); each assertion of a type is gated by
//! that type's flag, values that differ by type are selected by inner
//! products with the flags, and the running root and commitments advance
//! by `select(active, new, old)`, so a padding slot provably changes
//! nothing. The hashing and the signature check are shared by all types:
//!
//! - **signer group**: up to four leaves of one account (`account` for
//!   deposits, the signer otherwise), sharing the account's top path
//!   ([`update_group`]): the account leaf, then up to three balances;
//! - **other group**: one leaf of another account, the receiver's balance
//!   (transfer) or a pool record (account 0), plus a read of the receiver's
//!   account leaf (transfer: it must exist);
//! - **one signature check** ([`eddsa::verify_if`]); for a deposit that
//!   creates an account its first scalar multiplication checks the new key
//!   instead (`(l − 1)·K = −K`).
//!
//! | type | signer group (after the account leaf) | other group |
//! |---|---|---|
//! | deposit | balance `asset` += amount (creates the account if empty) | – |
//! | transfer | balance `asset` −= amount | receiver balance += amount; receiver account read |
//! | swap | `t_in` −= amount_in; `t_out` += out | pool reserves |
//! | add liquidity | `token_a` −= a; `token_b` −= b; LP += minted | pool reserves, supply |
//! | remove liquidity | LP −= lp; `token_a` += out_a; `token_b` += out_b | pool reserves, supply |
//! | withdraw | balance `asset` −= amount | – |
//! | create pool | – | pool created empty |
//!
//! Signed types check the nonce (`nonce = old nonce`, stored `nonce + 1`
//! below 2^32), the signature over [`TxBody::message`] packed in-circuit
//! from the same cells, and every width of `zklanes_executor::params`. The
//! AMM relations are [`crate::amm`]'s. Balances, reserves and supplies after
//! the transaction are range-checked to 112 bits, so nothing underflows or
//! wraps.
//!
//! # Witness
//!
//! Only the trace's transaction fields, receipts (the AMM outputs, checked
//! here), the old leaves, the siblings and the signatures are used; every
//! new leaf, root and commitment is recomputed. Trace updates map to the
//! groups in order (`zklanes_executor::trace`'s circuit order).
//!
//! # Public inputs
//!
//! `[prev_root, new_root, pubdata, deposits, withdrawals, batch, batch]`,
//! as [`ChunkTrace::public_inputs`], with the encodings of
//! `zklanes_executor::commitments`. The batch number is one witness cell
//! exposed twice (the first and last batch of a one-chunk transition): the
//! chunk does not constrain it, the aggregation nodes chain it (each part's
//! first batch is the previous part's last, or the one after), and L1
//! checks the final first and last batch against the batches it settles.

use ethnum::U256;
use halo2_base::gates::circuit::builder::BaseCircuitBuilder;
use halo2_base::gates::{GateInstructions, RangeChip, RangeInstructions};
use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use halo2_base::{AssignedValue, Context, QuantumCell::Constant};
use zklanes_executor::params::{
    ACCOUNT_BITS, AMOUNT_BITS, BALANCE_BITS, CHAIN_ID_BITS, FEE_BITS, LP_ASSET_BASE, MAX_FEE_BPS,
    MINIMUM_LIQUIDITY, NONCE_BITS, QUEUE_INDEX_BITS, SLOT_BITS, TREE_DEPTH,
};
use zklanes_executor::poseidon::Tag;
use zklanes_executor::state::Leaf;
use zklanes_executor::trace::{ChunkTrace, LeafUpdate, TxTrace};
use zklanes_executor::tx::{TxBody, TxType};

use crate::amm::{assert_lp_minted, assert_pro_rata, assert_swap_out, nonzero_if, range_if};
use crate::ecc::{EccChip, EdPoint};
use crate::eddsa::{self, AssignedSignature, KeyCheck};
use crate::field::{from_u128, pow2, to_halo2};
use crate::hash_table::{HashTable, HashedCircuit};
use crate::leaves::{account_leaf, balance_leaf, pool_leaf, pubkey_hash, PoolCells};
use crate::merkle::{update_group, GroupLeaf, SLOT_LEVELS, TOP_LEVELS};
use crate::scalar_mul::ScalarMulTable;

/// Slots of the small configuration (tests and the quick demo): fits `k = 15`.
pub const SMALL_CAPACITY: usize = 3;

/// Slots of the default configuration: fits `k = 21`
/// (`zklanes_executor::params::DEFAULT_CHUNK_CAPACITY`).
pub const DEFAULT_CAPACITY: usize = zklanes_executor::params::DEFAULT_CHUNK_CAPACITY;

/// The fixed shape of a chunk circuit: its verifying key depends on these.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ChunkShape {
    /// Transaction slots.
    pub capacity: usize,
    /// Chain id bound into every signature check (a circuit constant).
    pub chain_id: u32,
}

/// Why a trace cannot be turned into a chunk circuit.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ChunkError {
    /// More transactions than slots.
    #[error("chunk has {txs} transactions for {capacity} slots")]
    TooManyTxs {
        /// Transactions.
        txs: usize,
        /// Slots.
        capacity: usize,
    },
    /// The trace was made for another chain.
    #[error("trace of chain {trace} for a circuit of chain {circuit}")]
    WrongChain {
        /// The trace's chain id.
        trace: u32,
        /// The circuit's chain id.
        circuit: u32,
    },
    /// The trace does not have the shape its transaction implies.
    #[error("malformed trace at transaction {index}: {reason}")]
    BadTrace {
        /// Index in the chunk.
        index: usize,
        /// What is wrong.
        reason: String,
    },
}

/// Cells a test or a caller may need after building.
pub struct ChunkCells {
    /// The public inputs (`zklanes_executor::commitments::PublicInputs`).
    pub public: [AssignedValue<Fr>; zklanes_executor::commitments::PUBLIC_INPUTS],
    /// Per slot: its 8 selector flags, indexed by type id (0 = padding).
    pub flags: Vec<[AssignedValue<Fr>; 8]>,
}

/// Chips used while building a chunk.
pub struct ChunkChips<'a> {
    /// Range checks (with the generic gate).
    pub range: &'a RangeChip<Fr>,
    /// Curve arithmetic.
    pub ecc: &'a EccChip,
    /// Poseidon requests.
    pub table: &'a mut HashTable,
    /// Scalar multiplication requests.
    pub muls: &'a mut ScalarMulTable,
}

/// Leaves of the signer group (account leaf plus three balances).
const SIGNER_LEAVES: usize = 4;
/// Leaves of the other group (one write plus one read).
const OTHER_LEAVES: usize = 2;

/// The witness of one slot (zeros for padding), before any constraint.
#[derive(Clone)]
struct SlotWitness {
    ty: usize,
    account: u128,
    nonce: u128,
    to: u128,
    asset: u128,
    pool: u128,
    a_to_b: u128,
    /// Amount, amount in, amount A or LP amount.
    x1: u128,
    /// Min out, amount B or min A.
    x2: u128,
    /// Min LP or min B.
    x3: u128,
    /// Receipt outputs.
    o1: u128,
    o2: u128,
    b_is_min: u128,
    /// L1 address as 32 + 72 + 56 bits.
    l1: [u128; 3],
    queue: u128,
    dep_key: (Fr, Fr),
    exists: u128,
    old_key: (Fr, Fr),
    old_nonce: u128,
    balances: [u128; 3],
    recv_balance: u128,
    recv_leaf: Fr,
    /// Token A, token B, fee, reserve A, reserve B, supply.
    pool_fields: [u128; 6],
    signer_low: [[Fr; SLOT_LEVELS]; SIGNER_LEAVES],
    signer_top: [Fr; TOP_LEVELS],
    other_low: [[Fr; SLOT_LEVELS]; OTHER_LEAVES],
    other_top: [Fr; TOP_LEVELS],
    sig_r: (Fr, Fr),
    sig_s: Fr,
}

impl SlotWitness {
    fn padding() -> Self {
        Self {
            ty: 0,
            account: 0,
            nonce: 0,
            to: 0,
            asset: 0,
            pool: 0,
            a_to_b: 0,
            x1: 0,
            x2: 0,
            x3: 0,
            o1: 0,
            o2: 0,
            b_is_min: 0,
            l1: [0; 3],
            queue: 0,
            dep_key: (Fr::zero(), Fr::zero()),
            exists: 0,
            old_key: (Fr::zero(), Fr::zero()),
            old_nonce: 0,
            balances: [0; 3],
            recv_balance: 0,
            recv_leaf: Fr::zero(),
            pool_fields: [0; 6],
            signer_low: [[Fr::zero(); SLOT_LEVELS]; SIGNER_LEAVES],
            signer_top: [Fr::zero(); TOP_LEVELS],
            other_low: [[Fr::zero(); SLOT_LEVELS]; OTHER_LEAVES],
            other_top: [Fr::zero(); TOP_LEVELS],
            // The identity: the signature point is always on the curve.
            sig_r: (Fr::zero(), Fr::one()),
            sig_s: Fr::zero(),
        }
    }
}

fn split_l1(a: &[u8; 20]) -> [u128; 3] {
    let hi = u32::from_be_bytes(a[..4].try_into().expect("4 bytes")) as u128;
    let lo = u128::from_be_bytes(a[4..].try_into().expect("16 bytes"));
    [hi, lo >> 56, lo & ((1 << 56) - 1)]
}

/// `floor(b·s/r_b) < floor(a·s/r_a)`: the B side gives the minimum.
fn b_side_is_min(a: u128, b: u128, ra: u128, rb: u128, s: u128) -> bool {
    if s == 0 || ra == 0 || rb == 0 {
        return false;
    }
    let sa = U256::from(a) * U256::from(s) / U256::from(ra);
    let sb = U256::from(b) * U256::from(s) / U256::from(rb);
    sb < sa
}

/// Maps one transaction of a trace to its slot witness.
fn slot_witness(index: usize, t: &TxTrace) -> Result<SlotWitness, ChunkError> {
    let bad = |reason: &str| ChunkError::BadTrace {
        index,
        reason: reason.into(),
    };
    let body = &t.tx.body;
    let mut w = SlotWitness::padding();
    w.ty = body.tx_type() as usize;
    let (signer_n, total) = match body {
        TxBody::Deposit(_) | TxBody::Withdraw(_) => (2, 2),
        TxBody::Transfer(_) => (2, 4),
        TxBody::Swap(_) => (3, 4),
        TxBody::AddLiquidity(_) | TxBody::RemoveLiquidity(_) => (4, 5),
        TxBody::CreatePool(_) => (1, 2),
    };
    if t.updates.len() != total {
        return Err(bad("wrong number of leaf updates for the type"));
    }
    if t.updates.iter().any(|u| u.siblings.len() != TREE_DEPTH) {
        return Err(bad("siblings of wrong length"));
    }
    let low =
        |u: &LeafUpdate| -> [Fr; SLOT_LEVELS] { std::array::from_fn(|i| to_halo2(&u.siblings[i])) };
    let top = |u: &LeafUpdate| -> [Fr; TOP_LEVELS] {
        std::array::from_fn(|i| to_halo2(&u.siblings[SLOT_LEVELS + i]))
    };
    let (signer, other) = t.updates.split_at(signer_n);
    for (i, u) in signer.iter().enumerate() {
        w.signer_low[i] = low(u);
    }
    w.signer_top = top(&signer[0]);
    for (i, u) in other.iter().enumerate() {
        w.other_low[i] = low(u);
    }
    if let Some(u) = other.first() {
        w.other_top = top(u);
    }
    match signer[0].old {
        Leaf::Empty => {}
        Leaf::Account(a) => {
            w.exists = 1;
            w.old_key = (to_halo2(&a.pubkey.x), to_halo2(&a.pubkey.y));
            w.old_nonce = a.nonce as u128;
        }
        _ => return Err(bad("the account slot holds another leaf")),
    }
    for (i, u) in signer[1..].iter().enumerate() {
        w.balances[i] = match u.old {
            Leaf::Empty => 0,
            Leaf::Balance(b) => b,
            _ => return Err(bad("a balance slot holds another leaf")),
        };
    }
    let mut pool_of = |u: &LeafUpdate| -> Result<(), ChunkError> {
        match u.old {
            Leaf::Pool(p) => {
                w.pool_fields = [
                    p.token_a as u128,
                    p.token_b as u128,
                    p.fee_bps as u128,
                    p.reserve_a,
                    p.reserve_b,
                    p.lp_supply,
                ];
                Ok(())
            }
            _ => Err(bad("a pool transaction's pool slot holds no pool")),
        }
    };
    [w.o1, w.o2] = t.receipt.outputs;
    match body {
        TxBody::Deposit(d) => {
            w.account = d.account as u128;
            w.asset = d.asset as u128;
            w.x1 = d.amount;
            w.l1 = split_l1(&d.l1_sender);
            w.queue = d.queue_index as u128;
            w.dep_key = (to_halo2(&d.pubkey.x), to_halo2(&d.pubkey.y));
        }
        TxBody::Transfer(x) => {
            w.account = x.from as u128;
            w.nonce = x.nonce as u128;
            w.to = x.to as u128;
            w.asset = x.asset as u128;
            w.x1 = x.amount;
            w.recv_balance = match other[0].old {
                Leaf::Empty => 0,
                Leaf::Balance(b) => b,
                _ => return Err(bad("the receiver's balance slot holds another leaf")),
            };
            w.recv_leaf = to_halo2(&other[1].old.hash());
        }
        TxBody::Swap(x) => {
            w.account = x.account as u128;
            w.nonce = x.nonce as u128;
            w.pool = x.pool as u128;
            w.a_to_b = x.a_to_b as u128;
            w.x1 = x.amount_in;
            w.x2 = x.min_out;
            pool_of(&other[0])?;
        }
        TxBody::AddLiquidity(x) => {
            w.account = x.account as u128;
            w.nonce = x.nonce as u128;
            w.pool = x.pool as u128;
            w.x1 = x.amount_a;
            w.x2 = x.amount_b;
            w.x3 = x.min_lp;
            pool_of(&other[0])?;
            let [_, _, _, ra, rb, s] = w.pool_fields;
            w.b_is_min = b_side_is_min(x.amount_a, x.amount_b, ra, rb, s) as u128;
        }
        TxBody::RemoveLiquidity(x) => {
            w.account = x.account as u128;
            w.nonce = x.nonce as u128;
            w.pool = x.pool as u128;
            w.x1 = x.lp_amount;
            w.x2 = x.min_a;
            w.x3 = x.min_b;
            pool_of(&other[0])?;
        }
        TxBody::Withdraw(x) => {
            w.account = x.account as u128;
            w.nonce = x.nonce as u128;
            w.asset = x.asset as u128;
            w.x1 = x.amount;
            w.l1 = split_l1(&x.l1_address);
        }
        TxBody::CreatePool(x) => {
            w.account = x.account as u128;
            w.nonce = x.nonce as u128;
            w.pool = x.pool as u128;
            w.pool_fields = [
                x.token_a as u128,
                x.token_b as u128,
                x.fee_bps as u128,
                0,
                0,
                0,
            ];
        }
    }
    if body.signer().is_some() {
        let sig =
            t.tx.signature
                .as_ref()
                .ok_or_else(|| bad("a signed transaction without a signature"))?;
        w.sig_r = (to_halo2(&sig.r_x), to_halo2(&sig.r_y));
        let mut le = sig.s;
        le.reverse();
        w.sig_s = Fr::from_bytes(&le).unwrap_or(Fr::zero());
    }
    Ok(w)
}

/// Running values carried from slot to slot.
#[derive(Clone, Copy)]
struct Running {
    root: AssignedValue<Fr>,
    pubdata: AssignedValue<Fr>,
    deposits: AssignedValue<Fr>,
    withdrawals: AssignedValue<Fr>,
}

/// `(a − b)·on = 0`.
fn assert_eq_if(
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
fn by_type(
    ctx: &mut Context<Fr>,
    range: &RangeChip<Fr>,
    flags: &[AssignedValue<Fr>; 8],
    values: &[(TxType, AssignedValue<Fr>)],
) -> AssignedValue<Fr> {
    let (f, v): (Vec<_>, Vec<_>) = values.iter().map(|(t, v)| (flags[*t as usize], *v)).unzip();
    range
        .gate()
        .inner_product(ctx, f, v.into_iter().map(Into::into))
}

/// `Σ cells·2^shift + constant`, for packing.
fn pack(
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

/// A transaction's public data as the two 31-byte elements of
/// `zklanes_executor::commitments::pubdata_elements`: `type` then the fields
/// (`(cell, bytes)`, each already below `2^(8·bytes)` except a field that
/// straddles the two elements, which is split and range-checked here).
fn pubdata_elements(
    ctx: &mut Context<Fr>,
    range: &RangeChip<Fr>,
    ty: TxType,
    fields: &[(AssignedValue<Fr>, u32)],
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

/// One universal slot.
fn slot(
    ctx: &mut Context<Fr>,
    chips: &mut ChunkChips<'_>,
    chain_id: u32,
    w: &SlotWitness,
    run: Running,
) -> (Running, [AssignedValue<Fr>; 8]) {
    use TxType::*;
    let range = chips.range;
    let g = range.gate();
    let zero = ctx.load_constant(Fr::zero());
    let one = ctx.load_constant(Fr::one());

    // Selector: one-hot over {noop, 7 types}.
    let f: [AssignedValue<Fr>; 8] =
        std::array::from_fn(|t| ctx.load_witness(Fr::from((w.ty == t) as u64)));
    for b in f {
        g.assert_bit(ctx, b);
    }
    let sum = g.sum(ctx, f);
    g.assert_is_const(ctx, &sum, &Fr::one());
    let fl = |t: TxType| f[t as usize];
    let active = g.sub(ctx, one, f[0]);
    let signed = g.sub(ctx, active, fl(Deposit));
    let pool_rw = g.sum(ctx, [fl(Swap), fl(AddLiquidity), fl(RemoveLiquidity)]);
    let liquidity = g.add(ctx, fl(AddLiquidity), fl(RemoveLiquidity));

    // Fields, with their widths.
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
    let queue = load(w.queue);
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
        (queue, QUEUE_INDEX_BITS),
    ] {
        range.range_check(ctx, c, bits as usize);
    }
    g.assert_bit(ctx, a_to_b);
    let l1_lo = g.mul_add(ctx, l1[1], Constant(pow2(56)), l1[2]);
    let l1_full = g.mul_add(ctx, l1[0], Constant(pow2(128)), l1_lo);

    // Type rules on the fields (the executor's `check_widths` and checks).
    nonzero_if(ctx, range, account, active);
    let has_amount = g.sub(ctx, active, fl(CreatePool));
    nonzero_if(ctx, range, x1, has_amount);
    nonzero_if(ctx, range, x2, fl(AddLiquidity));
    let asset_op = g.sum(ctx, [fl(Deposit), fl(Transfer), fl(Withdraw)]);
    nonzero_if(ctx, range, asset, asset_op);
    range_if(ctx, range, asset, SLOT_BITS as usize - 1, fl(Deposit));
    let pool_op = g.add(ctx, pool_rw, fl(CreatePool));
    nonzero_if(ctx, range, pool, pool_op);
    nonzero_if(ctx, range, to, fl(Transfer));
    let self_transfer = g.sub(ctx, to, account);
    nonzero_if(ctx, range, self_transfer, fl(Transfer));

    // Keys and the account leaf.
    let old_key = EdPoint {
        x: ctx.load_witness(w.old_key.0),
        y: ctx.load_witness(w.old_key.1),
    };
    let dep_key = EdPoint {
        x: ctx.load_witness(w.dep_key.0),
        y: ctx.load_witness(w.dep_key.1),
    };
    let old_pk_hash = pubkey_hash(ctx, chips.table, old_key);
    let dep_key_hash = pubkey_hash(ctx, chips.table, dep_key);
    let not_exists = g.sub(ctx, one, exists);
    let creates = g.mul(ctx, fl(Deposit), not_exists);
    assert_eq_if(ctx, range, exists, one, signed);
    assert_eq_if(ctx, range, nonce, old_nonce, signed);
    let old_account = account_leaf(ctx, range, chips.table, exists, old_pk_hash, old_nonce);
    let new_pk_hash = g.select(ctx, dep_key_hash, old_pk_hash, creates);
    let bumped = g.add(ctx, old_nonce, Constant(Fr::one()));
    let kept = g.mul(ctx, old_nonce, exists);
    let new_nonce = g.select(ctx, kept, bumped, fl(Deposit));
    let new_account = account_leaf(ctx, range, chips.table, one, new_pk_hash, new_nonce);

    // The signed message, packed as `TxBody::message`.
    let head = pack(
        ctx,
        range,
        &[(nonce, ACCOUNT_BITS), (account, 0)],
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
        &[(to, s + a), (asset, a), (x1, 0)],
        ACCOUNT_BITS + s + a,
    );
    let lo_swap = lo_of(ctx, Swap, &[(pool, 1 + a), (a_to_b, a), (x1, 0)], s + 1 + a);
    let lo_add = lo_of(ctx, AddLiquidity, &[(pool, a), (x1, 0)], s + a);
    let lo_remove = lo_of(ctx, RemoveLiquidity, &[(pool, a), (x1, 0)], s + a);
    let lo_withdraw = lo_of(ctx, Withdraw, &[(asset, a), (x1, 0)], s + a);
    let lo_create = lo_of(
        ctx,
        CreatePool,
        &[
            (pool, 2 * s + FEE_BITS),
            (pf[0], s + FEE_BITS),
            (pf[1], FEE_BITS),
            (pf[2], 0),
        ],
        3 * s + FEE_BITS,
    );
    let lo = by_type(
        ctx,
        range,
        &f,
        &[
            (Transfer, lo_transfer),
            (Swap, lo_swap),
            (AddLiquidity, lo_add),
            (RemoveLiquidity, lo_remove),
            (Withdraw, lo_withdraw),
            (CreatePool, lo_create),
        ],
    );
    let hi_pair = pack(ctx, range, &[(x2, a), (x3, 0)], Fr::zero());
    let hi = by_type(
        ctx,
        range,
        &f,
        &[
            (Swap, x2),
            (AddLiquidity, hi_pair),
            (RemoveLiquidity, hi_pair),
            (Withdraw, l1_full),
        ],
    );

    // The signature, or a created account's key check.
    let sig = AssignedSignature {
        r: chips.ecc.load_point(ctx, w.sig_r.0, w.sig_r.1),
        s: ctx.load_witness(w.sig_s),
    };
    let first = eddsa::verify_if(
        ctx,
        chips.ecc,
        chips.table,
        chips.muls,
        old_key,
        sig,
        (hi, lo),
        signed,
        KeyCheck {
            key: dep_key,
            on: creates,
        },
    );
    // A created key: on the curve, not the identity, in the subgroup.
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

    // The pool and the AMM.
    let [ta, tb, fee, ra, rb, supply] = pf;
    let t_in = g.select(ctx, ta, tb, a_to_b);
    let t_out = g.select(ctx, tb, ta, a_to_b);
    let r_in = g.select(ctx, ra, rb, a_to_b);
    let r_out = g.select(ctx, rb, ra, a_to_b);
    assert_swap_out(ctx, range, fl(Swap), x1, r_in, r_out, fee, o1);
    // A swap output is 12 bytes of public data: at most `MAX_AMOUNT`, as the
    // executor bounds it (`TxError::OutputTooLarge`).
    range_if(ctx, range, o1, AMOUNT_BITS as usize, fl(Swap));
    let slip = g.sub(ctx, o1, x2);
    range_if(ctx, range, slip, BALANCE_BITS as usize, fl(Swap));
    let r_in_new = g.add(ctx, r_in, x1);
    let r_out_new = g.sub(ctx, r_out, o1);
    let ra_swap = g.select(ctx, r_in_new, r_out_new, a_to_b);
    let rb_swap = g.select(ctx, r_out_new, r_in_new, a_to_b);
    // Add liquidity: `o1` is the user's share, `minted = o1 + 1000·first`.
    let first_mint = g.is_zero(ctx, supply);
    let minted = g.mul_add(
        ctx,
        first_mint,
        Constant(Fr::from(MINIMUM_LIQUIDITY as u64)),
        o1,
    );
    let first_again = assert_lp_minted(
        ctx,
        range,
        fl(AddLiquidity),
        (x1, x2),
        (ra, rb),
        supply,
        minted,
        b_is_min,
    );
    ctx.constrain_equal(&first_again, &first_mint);
    nonzero_if(ctx, range, o1, liquidity);
    let slip = g.sub(ctx, o1, x3);
    range_if(ctx, range, slip, BALANCE_BITS as usize, fl(AddLiquidity));
    let ra_add = g.add(ctx, ra, x1);
    let rb_add = g.add(ctx, rb, x2);
    let supply_add = g.add(ctx, supply, minted);
    // Remove liquidity: `o1`, `o2` are the pro-rata shares.
    assert_pro_rata(ctx, range, fl(RemoveLiquidity), x1, ra, supply, o1);
    assert_pro_rata(ctx, range, fl(RemoveLiquidity), x1, rb, supply, o2);
    nonzero_if(ctx, range, o2, fl(RemoveLiquidity));
    for (out, min) in [(o1, x2), (o2, x3)] {
        let slip = g.sub(ctx, out, min);
        range_if(ctx, range, slip, BALANCE_BITS as usize, fl(RemoveLiquidity));
    }
    let ra_remove = g.sub(ctx, ra, o1);
    let rb_remove = g.sub(ctx, rb, o2);
    let supply_remove = g.sub(ctx, supply, x1);
    // Create pool: tokens `0 < a < b < 2^11`, fee ≤ MAX_FEE_BPS, empty reserves.
    nonzero_if(ctx, range, ta, fl(CreatePool));
    let gap = g.sub(ctx, tb, ta);
    let gap = g.sub(ctx, gap, Constant(Fr::one()));
    range_if(ctx, range, gap, SLOT_BITS as usize, fl(CreatePool));
    range_if(ctx, range, tb, SLOT_BITS as usize - 1, fl(CreatePool));
    let fee_room = g.sub(ctx, Constant(Fr::from(MAX_FEE_BPS as u64)), fee);
    range_if(ctx, range, fee_room, FEE_BITS as usize, fl(CreatePool));
    for r in [ra, rb, supply] {
        assert_eq_if(ctx, range, r, zero, fl(CreatePool));
    }
    let old_pool = PoolCells {
        token_a: ta,
        token_b: tb,
        fee_bps: fee,
        reserve_a: ra,
        reserve_b: rb,
        lp_supply: supply,
    };
    let new_pool = PoolCells {
        reserve_a: by_type(
            ctx,
            range,
            &f,
            &[
                (Swap, ra_swap),
                (AddLiquidity, ra_add),
                (RemoveLiquidity, ra_remove),
            ],
        ),
        reserve_b: by_type(
            ctx,
            range,
            &f,
            &[
                (Swap, rb_swap),
                (AddLiquidity, rb_add),
                (RemoveLiquidity, rb_remove),
            ],
        ),
        lp_supply: by_type(
            ctx,
            range,
            &f,
            &[
                (Swap, supply),
                (AddLiquidity, supply_add),
                (RemoveLiquidity, supply_remove),
            ],
        ),
        ..old_pool
    };
    let old_pool_leaf = pool_leaf(ctx, range, chips.table, pool_rw, &old_pool);
    let new_pool_leaf = pool_leaf(ctx, range, chips.table, one, &new_pool);

    // The signer group: account leaf, then up to three balances.
    let lp_asset = g.add(ctx, pool, Constant(Fr::from(LP_ASSET_BASE as u64)));
    let slots = [
        by_type(
            ctx,
            range,
            &f,
            &[
                (Deposit, asset),
                (Transfer, asset),
                (Swap, t_in),
                (AddLiquidity, ta),
                (RemoveLiquidity, lp_asset),
                (Withdraw, asset),
            ],
        ),
        by_type(
            ctx,
            range,
            &f,
            &[(Swap, t_out), (AddLiquidity, tb), (RemoveLiquidity, ta)],
        ),
        by_type(
            ctx,
            range,
            &f,
            &[(AddLiquidity, lp_asset), (RemoveLiquidity, tb)],
        ),
    ];
    let neg_x1 = g.neg(ctx, x1);
    let neg_x2 = g.neg(ctx, x2);
    let deltas = [
        by_type(
            ctx,
            range,
            &f,
            &[
                (Deposit, x1),
                (Transfer, neg_x1),
                (Swap, neg_x1),
                (AddLiquidity, neg_x1),
                (RemoveLiquidity, neg_x1),
                (Withdraw, neg_x1),
            ],
        ),
        by_type(
            ctx,
            range,
            &f,
            &[(Swap, o1), (AddLiquidity, neg_x2), (RemoveLiquidity, o1)],
        ),
        by_type(ctx, range, &f, &[(AddLiquidity, o1), (RemoveLiquidity, o2)]),
    ];
    let enabled = [has_amount, pool_rw, liquidity];
    let signer_low: Vec<[AssignedValue<Fr>; SLOT_LEVELS]> = w
        .signer_low
        .iter()
        .map(|s| std::array::from_fn(|i| ctx.load_witness(s[i])))
        .collect();
    let signer_top: [AssignedValue<Fr>; TOP_LEVELS] =
        std::array::from_fn(|i| ctx.load_witness(w.signer_top[i]));
    let mut leaves = vec![GroupLeaf {
        slot: zero,
        old: old_account,
        new: new_account,
        low_siblings: &signer_low[0],
        enabled: None,
        read_only: false,
    }];
    for i in 0..3 {
        let new_balance = g.add(ctx, balances[i], deltas[i]);
        let old = balance_leaf(ctx, range, chips.table, balances[i]);
        let new = balance_leaf(ctx, range, chips.table, new_balance);
        leaves.push(GroupLeaf {
            slot: slots[i],
            old,
            new,
            low_siblings: &signer_low[i + 1],
            enabled: Some(enabled[i]),
            read_only: false,
        });
    }
    let signer = update_group(ctx, g, chips.table, account, &leaves, &signer_top);
    assert_eq_if(ctx, range, signer.old_root, run.root, active);
    let root = g.select(ctx, signer.new_root, run.root, active);

    // The other group: receiver balance or pool, then the receiver's account (read).
    let recv_new = g.add(ctx, recv_balance, x1);
    let recv_old_leaf = balance_leaf(ctx, range, chips.table, recv_balance);
    let recv_new_leaf = balance_leaf(ctx, range, chips.table, recv_new);
    let other_account = g.mul(ctx, to, fl(Transfer));
    let other_slot = by_type(
        ctx,
        range,
        &f,
        &[
            (Transfer, asset),
            (Swap, pool),
            (AddLiquidity, pool),
            (RemoveLiquidity, pool),
            (CreatePool, pool),
        ],
    );
    let other_old = g.select(ctx, recv_old_leaf, old_pool_leaf, fl(Transfer));
    let other_new = g.select(ctx, recv_new_leaf, new_pool_leaf, fl(Transfer));
    nonzero_if(ctx, range, recv_leaf, fl(Transfer));
    let other_low: Vec<[AssignedValue<Fr>; SLOT_LEVELS]> = w
        .other_low
        .iter()
        .map(|s| std::array::from_fn(|i| ctx.load_witness(s[i])))
        .collect();
    let other_top: [AssignedValue<Fr>; TOP_LEVELS] =
        std::array::from_fn(|i| ctx.load_witness(w.other_top[i]));
    let other = update_group(
        ctx,
        g,
        chips.table,
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
                slot: zero,
                old: recv_leaf,
                new: recv_leaf,
                low_siblings: &other_low[1],
                enabled: Some(fl(Transfer)),
                read_only: true,
            },
        ],
        &other_top,
    );
    let other_on = g.add(ctx, fl(Transfer), pool_op);
    assert_eq_if(ctx, range, other.old_root, root, other_on);
    let root = g.select(ctx, other.new_root, root, other_on);

    // Public data.
    let e = [
        (
            Deposit,
            pubdata_elements(ctx, range, Deposit, &[(account, 3), (asset, 2), (x1, 12)]),
        ),
        (
            Transfer,
            pubdata_elements(
                ctx,
                range,
                Transfer,
                &[(account, 3), (to, 3), (asset, 2), (x1, 12)],
            ),
        ),
        (
            Swap,
            pubdata_elements(
                ctx,
                range,
                Swap,
                &[(account, 3), (pool, 2), (a_to_b, 1), (x1, 12), (o1, 12)],
            ),
        ),
        (
            AddLiquidity,
            pubdata_elements(
                ctx,
                range,
                AddLiquidity,
                &[(account, 3), (pool, 2), (x1, 12), (x2, 12), (o1, 14)],
            ),
        ),
        (
            RemoveLiquidity,
            pubdata_elements(
                ctx,
                range,
                RemoveLiquidity,
                &[(account, 3), (pool, 2), (x1, 12), (o1, 14), (o2, 14)],
            ),
        ),
        (
            Withdraw,
            pubdata_elements(
                ctx,
                range,
                Withdraw,
                &[
                    (account, 3),
                    (asset, 2),
                    (x1, 12),
                    (l1[0], 4),
                    (l1[1], 9),
                    (l1[2], 7),
                ],
            ),
        ),
        (
            CreatePool,
            pubdata_elements(
                ctx,
                range,
                CreatePool,
                &[(account, 3), (pool, 2), (ta, 2), (tb, 2), (fee, 2)],
            ),
        ),
    ];
    let e1 = by_type(ctx, range, &f, &e.map(|(t, [e1, _])| (t, e1)));
    let e2 = by_type(ctx, range, &f, &e.map(|(t, [_, e2])| (t, e2)));
    let tag = |ctx: &mut Context<Fr>, t: Tag| ctx.load_constant(to_halo2(&t.fr()));
    let t_pub = tag(ctx, Tag::Pubdata);
    let c1 = chips.table.compress(ctx, [t_pub, run.pubdata, e1]);
    let pubdata = chips.table.compress(ctx, [t_pub, c1, e2]);

    // Deposit chain.
    let p1 = pack(
        ctx,
        range,
        &[
            (queue, ACCOUNT_BITS + s + a),
            (account, s + a),
            (asset, a),
            (x1, 0),
        ],
        Fr::zero(),
    );
    let t_item = tag(ctx, Tag::DepositItem);
    let t_key = tag(ctx, Tag::DepositKey);
    let t_chain = tag(ctx, Tag::Deposits);
    let fields = chips.table.compress(ctx, [t_item, p1, l1_full]);
    let item = chips.table.compress(ctx, [t_key, fields, dep_key_hash]);
    let deposits = chips.table.compress(ctx, [t_chain, run.deposits, item]);

    // Withdrawal chain.
    let p1 = pack(
        ctx,
        range,
        &[(account, s + a), (asset, a), (x1, 0)],
        Fr::zero(),
    );
    let t_item = tag(ctx, Tag::WithdrawalItem);
    let t_chain = tag(ctx, Tag::Withdrawals);
    let item = chips.table.compress(ctx, [t_item, p1, l1_full]);
    let withdrawals = chips.table.compress(ctx, [t_chain, run.withdrawals, item]);

    let next = Running {
        root,
        pubdata: g.select(ctx, pubdata, run.pubdata, active),
        deposits: g.select(ctx, deposits, run.deposits, fl(Deposit)),
        withdrawals: g.select(ctx, withdrawals, run.withdrawals, fl(Withdraw)),
    };
    (next, f)
}

/// Builds a chunk of `shape.capacity` slots from `trace` into `ctx`.
pub fn assign_chunk(
    ctx: &mut Context<Fr>,
    chips: &mut ChunkChips<'_>,
    trace: &ChunkTrace,
    shape: &ChunkShape,
) -> Result<ChunkCells, ChunkError> {
    if trace.txs.len() > shape.capacity {
        return Err(ChunkError::TooManyTxs {
            txs: trace.txs.len(),
            capacity: shape.capacity,
        });
    }
    if trace.chain_id != shape.chain_id {
        return Err(ChunkError::WrongChain {
            trace: trace.chain_id,
            circuit: shape.chain_id,
        });
    }
    let mut witnesses = Vec::with_capacity(shape.capacity);
    for (index, tx) in trace.txs.iter().enumerate() {
        witnesses.push(slot_witness(index, tx)?);
    }
    witnesses.resize_with(shape.capacity, SlotWitness::padding);

    let g = chips.range.gate();
    let prev_root = ctx.load_witness(to_halo2(&trace.prev_root));
    let batch = ctx.load_witness(Fr::from(trace.batch));
    let zero = ctx.load_constant(Fr::zero());
    let mut run = Running {
        root: prev_root,
        pubdata: zero,
        deposits: zero,
        withdrawals: zero,
    };
    let mut flags: Vec<[AssignedValue<Fr>; 8]> = Vec::with_capacity(shape.capacity);
    for w in &witnesses {
        let (next, f) = slot(ctx, chips, shape.chain_id, w, run);
        if let Some(prev) = flags.last() {
            // Padding comes last: once a slot is a no-op, all later ones are.
            let bad = g.mul_not(ctx, f[0], prev[0]);
            g.assert_is_const(ctx, &bad, &Fr::zero());
        }
        flags.push(f);
        run = next;
    }
    Ok(ChunkCells {
        public: [
            prev_root,
            run.root,
            run.pubdata,
            run.deposits,
            run.withdrawals,
            batch,
            batch,
        ],
        flags,
    })
}

/// Builds the whole chunk circuit in `builder` (any stage): the slots, the
/// public inputs in instance column 0, and the chip tables. `tamper` runs
/// after assignment (tests use it to prank cells; pass `|_, _| {}`).
/// Outside the witness-generation-only stage, the builder's parameters are
/// computed for its `k`.
pub fn build_circuit(
    builder: BaseCircuitBuilder<Fr>,
    trace: &ChunkTrace,
    shape: &ChunkShape,
    tamper: impl FnOnce(&mut Context<Fr>, &ChunkCells),
) -> Result<HashedCircuit, ChunkError> {
    build_circuit_claiming(builder, trace, shape, ScalarMulTable::default(), tamper)
}

/// [`build_circuit`] with a scalar-multiplication table that may claim
/// forged products ([`ScalarMulTable::claiming`]). Only for negative tests:
/// a slot `i` requests two products, `2i` (`s·B`, or `(l − 1)·key` for a
/// created key) and `2i + 1` (`h·A`).
#[doc(hidden)]
pub fn build_circuit_claiming(
    mut builder: BaseCircuitBuilder<Fr>,
    trace: &ChunkTrace,
    shape: &ChunkShape,
    mut muls: ScalarMulTable,
    tamper: impl FnOnce(&mut Context<Fr>, &ChunkCells),
) -> Result<HashedCircuit, ChunkError> {
    let range = builder.range_chip();
    let ecc = EccChip::default();
    let mut table = HashTable::default();
    let ctx = builder.main(0);
    let cells = {
        let mut chips = ChunkChips {
            range: &range,
            ecc: &ecc,
            table: &mut table,
            muls: &mut muls,
        };
        assign_chunk(ctx, &mut chips, trace, shape)?
    };
    tamper(ctx, &cells);
    builder.assigned_instances[0].extend(cells.public);
    if !builder.witness_gen_only() {
        builder.calculate_params(Some(crate::stats::MIN_UNUSABLE_ROWS));
    }
    Ok(HashedCircuit::new(builder, table, muls))
}

/// An empty trace of `shape` over `root` (all padding): what keygen builds.
pub fn empty_trace(shape: &ChunkShape, root: zklanes_executor::field::Fr) -> ChunkTrace {
    let zero = zklanes_executor::field::Fr::from(0u64);
    let mut t = ChunkTrace {
        version: zklanes_executor::trace::TRACE_VERSION,
        chain_id: shape.chain_id,
        batch: 0,
        chunk: 0,
        capacity: shape.capacity as u32,
        prev_root: root,
        new_root: root,
        txs: vec![],
        deposits: vec![],
        withdrawals: vec![],
        pubdata_commitment: zero,
        deposit_commitment: zero,
        withdrawal_commitment: zero,
        content_hash: [0; 32],
    };
    t.content_hash = t.compute_hash();
    t
}
