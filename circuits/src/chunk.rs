//! The chunk circuit (in progress): `capacity` transaction slots over the
//! executor's [`ChunkTrace`], proving the state transition from the previous
//! to the new root and the chunk's commitments.
//!
//! Supported so far: **deposits** and **padding no-ops**. Every other type is
//! refused by the builder ([`ChunkError::Unsupported`]) until its slot logic
//! lands.
//!
//! # Slots
//!
//! Each slot has boolean flags `is_deposit` and `is_noop` with
//! `is_deposit + is_noop = 1` (one-hot), and padding comes last
//! (`is_noopᵢ·(1 − is_noopᵢ₊₁) = 0`). Every slot computes its effects on its
//! witness (zeros for padding); each assertion of a transaction type is
//! gated by its flag, and the running root and commitments advance by
//! `select(flag, new, old)`, so a no-op provably changes nothing.
//!
//! # Deposit
//!
//! Account leaf at `account·2¹²`: if it exists it is unchanged, else it is
//! created with the deposit's key (on the curve, in the subgroup: `l·A = O`,
//! not the identity) and nonce 0. Balance leaf at `account·2¹² + asset`:
//! `b' = b + amount < 2¹¹²`. The two updates share the account's top path
//! ([`update_pair`]) and open the running root. The deposit and pubdata
//! chains advance with the encodings of `zklanes_executor::commitments`.
//!
//! # Public inputs
//!
//! `[prev_root, new_root, pubdata, deposits, withdrawals]`, as
//! [`ChunkTrace::public_inputs`].

use halo2_base::gates::{GateInstructions, RangeChip, RangeInstructions};
use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use halo2_base::{AssignedValue, Context, QuantumCell::Constant};
use zklanes_executor::params::{
    ACCOUNT_BITS, AMOUNT_BITS, QUEUE_INDEX_BITS, SLOT_BITS, TREE_DEPTH,
};
use zklanes_executor::poseidon::Tag;
use zklanes_executor::state::Leaf;
use zklanes_executor::trace::{ChunkTrace, LeafUpdate};
use zklanes_executor::tx::{Deposit, TxBody, TxType};

use crate::ecc::{EccChip, EdPoint};
use crate::field::{from_u128, pow2, to_halo2};
use crate::hash_table::HashTable;
use crate::leaves::{account_leaf, balance_leaf, pubkey_hash};
use crate::merkle::{update_pair, PairLeaf, SLOT_LEVELS, TOP_LEVELS};
use crate::scalar_mul::ScalarMulTable;

/// Why a trace cannot be turned into a chunk circuit.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ChunkError {
    /// A transaction type whose slot logic is not built yet.
    #[error("transaction {index} of type {tx_type:?} is not supported by the chunk circuit yet")]
    Unsupported {
        /// Index in the chunk.
        index: usize,
        /// Its type.
        tx_type: TxType,
    },
    /// More transactions than slots.
    #[error("chunk has {txs} transactions for {capacity} slots")]
    TooManyTxs {
        /// Transactions.
        txs: usize,
        /// Slots.
        capacity: usize,
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
    /// The five public inputs.
    pub public: [AssignedValue<Fr>; 5],
    /// Per slot: is it padding.
    pub is_noop: Vec<AssignedValue<Fr>>,
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

/// `(a − b)·cond = 0`.
fn assert_eq_if(
    ctx: &mut Context<Fr>,
    range: &RangeChip<Fr>,
    a: AssignedValue<Fr>,
    b: AssignedValue<Fr>,
    cond: AssignedValue<Fr>,
) {
    let g = range.gate();
    let d = g.sub(ctx, a, b);
    let z = g.mul(ctx, d, cond);
    g.assert_is_const(ctx, &z, &Fr::zero());
}

/// `x ≠ 0` when `cond`.
fn assert_nonzero_if(
    ctx: &mut Context<Fr>,
    range: &RangeChip<Fr>,
    x: AssignedValue<Fr>,
    cond: AssignedValue<Fr>,
) {
    let g = range.gate();
    let z = g.is_zero(ctx, x);
    let bad = g.mul(ctx, z, cond);
    g.assert_is_const(ctx, &bad, &Fr::zero());
}

/// The witness of one deposit slot (zeros for padding).
#[derive(Default)]
struct DepositWitness {
    queue_index: u128,
    l1_hi: u128,
    l1_lo: u128,
    account: u128,
    asset: u128,
    amount: u128,
    key: (Fr, Fr),
    exists: bool,
    old_key: (Fr, Fr),
    old_nonce: u128,
    old_balance: u128,
    account_siblings: Vec<Fr>,
    balance_siblings: Vec<Fr>,
}

fn deposit_witness(
    index: usize,
    d: &Deposit,
    updates: &[LeafUpdate],
) -> Result<DepositWitness, ChunkError> {
    let bad = |reason: &str| ChunkError::BadTrace {
        index,
        reason: reason.into(),
    };
    let [acc, bal] = updates else {
        return Err(bad("a deposit has two leaf updates"));
    };
    let (exists, old_key, old_nonce) = match acc.old {
        Leaf::Empty => (false, (Fr::zero(), Fr::zero()), 0),
        Leaf::Account(a) => (
            true,
            (to_halo2(&a.pubkey.x), to_halo2(&a.pubkey.y)),
            a.nonce as u128,
        ),
        _ => return Err(bad("account slot holds another leaf")),
    };
    let old_balance = match bal.old {
        Leaf::Empty => 0,
        Leaf::Balance(b) => b,
        _ => return Err(bad("balance slot holds another leaf")),
    };
    let sibs = |u: &LeafUpdate| -> Result<Vec<Fr>, ChunkError> {
        if u.siblings.len() != TREE_DEPTH {
            return Err(bad("siblings of wrong length"));
        }
        Ok(u.siblings.iter().map(to_halo2).collect())
    };
    let l1 = &d.l1_sender;
    Ok(DepositWitness {
        queue_index: d.queue_index as u128,
        l1_hi: u32::from_be_bytes(l1[..4].try_into().expect("4 bytes")) as u128,
        l1_lo: u128::from_be_bytes(l1[4..].try_into().expect("16 bytes")),
        account: d.account as u128,
        asset: d.asset as u128,
        amount: d.amount,
        key: (to_halo2(&d.pubkey.x), to_halo2(&d.pubkey.y)),
        exists,
        old_key,
        old_nonce,
        old_balance,
        account_siblings: sibs(acc)?,
        balance_siblings: sibs(bal)?,
    })
}

/// Running values carried from slot to slot.
#[derive(Clone, Copy)]
struct Running {
    root: AssignedValue<Fr>,
    pubdata: AssignedValue<Fr>,
    deposits: AssignedValue<Fr>,
}

/// One deposit slot, active when `on` (else it computes on zeros and asserts nothing).
fn deposit_slot(
    ctx: &mut Context<Fr>,
    chips: &mut ChunkChips<'_>,
    w: &DepositWitness,
    on: AssignedValue<Fr>,
    run: Running,
) -> Running {
    let range = chips.range;
    let g = range.gate();
    let mut load = |v: Fr| ctx.load_witness(v);
    let queue = load(from_u128(w.queue_index));
    let l1_hi = load(from_u128(w.l1_hi));
    let l1_lo = load(from_u128(w.l1_lo));
    let account = load(from_u128(w.account));
    let asset = load(from_u128(w.asset));
    let amount = load(from_u128(w.amount));
    let exists = load(Fr::from(w.exists as u64));
    let old_nonce = load(from_u128(w.old_nonce));
    let old_balance = load(from_u128(w.old_balance));
    let key = EdPoint {
        x: load(w.key.0),
        y: load(w.key.1),
    };
    let old_key = EdPoint {
        x: load(w.old_key.0),
        y: load(w.old_key.1),
    };
    let pad = |v: &Vec<Fr>| {
        if v.is_empty() {
            vec![Fr::zero(); TREE_DEPTH]
        } else {
            v.clone()
        }
    };
    let acc_sibs: [AssignedValue<Fr>; TREE_DEPTH] = {
        let s = pad(&w.account_siblings);
        std::array::from_fn(|i| ctx.load_witness(s[i]))
    };
    // Only the balance leaf's in-subtree siblings are needed: its top path
    // is the account leaf's (unchanged by writes inside the subtree).
    let bal_sibs: [AssignedValue<Fr>; SLOT_LEVELS] = {
        let s = pad(&w.balance_siblings);
        std::array::from_fn(|i| ctx.load_witness(s[i]))
    };

    // Widths; ids nonzero; the token id below the LP range.
    range.range_check(ctx, queue, QUEUE_INDEX_BITS as usize);
    range.range_check(ctx, l1_hi, 32);
    range.range_check(ctx, l1_lo, 128);
    range.range_check(ctx, account, ACCOUNT_BITS as usize);
    range.range_check(ctx, asset, SLOT_BITS as usize - 1);
    range.range_check(ctx, amount, AMOUNT_BITS as usize);
    assert_nonzero_if(ctx, range, account, on);
    assert_nonzero_if(ctx, range, asset, on);
    assert_nonzero_if(ctx, range, amount, on);
    g.assert_bit(ctx, exists);

    // A created account's key: on the curve, not the identity, in the subgroup.
    let creates = g.mul_not(ctx, exists, on);
    let x2 = g.mul(ctx, key.x, key.x);
    let y2 = g.mul(ctx, key.y, key.y);
    let lhs = g.add(ctx, x2, y2);
    let x2y2 = g.mul(ctx, x2, y2);
    let rhs = g.mul_add(ctx, x2y2, Constant(chips.ecc.d()), Constant(Fr::one()));
    assert_eq_if(ctx, range, lhs, rhs, creates);
    assert_nonzero_if(ctx, range, key.x, creates);
    let l_bits: Vec<AssignedValue<Fr>> = crate::eddsa::subgroup_order_bits()
        .into_iter()
        .map(|b| ctx.load_constant(Fr::from(b as u64)))
        .collect();
    let lk = chips.muls.mul(ctx, key, &l_bits);
    let zero = ctx.load_constant(Fr::zero());
    let one = ctx.load_constant(Fr::one());
    assert_eq_if(ctx, range, lk.x, zero, creates);
    assert_eq_if(ctx, range, lk.y, one, creates);

    // Account leaf: unchanged if it exists, else created with the key, nonce 0.
    let old_pk_hash = pubkey_hash(ctx, chips.table, old_key);
    let old_acc = account_leaf(ctx, range, chips.table, exists, old_pk_hash, old_nonce);
    let key_hash = pubkey_hash(ctx, chips.table, key);
    let new_pk_hash = g.select(ctx, old_pk_hash, key_hash, exists);
    let new_nonce = g.mul(ctx, old_nonce, exists);
    let new_acc = account_leaf(ctx, range, chips.table, one, new_pk_hash, new_nonce);

    // Balance: b + amount within the width.
    let new_balance = g.add(ctx, old_balance, amount);
    let old_bal_leaf = balance_leaf(ctx, range, chips.table, old_balance);
    let new_bal_leaf = balance_leaf(ctx, range, chips.table, new_balance);

    // Both leaves live in the account's subtree: one shared top path.
    let slot0 = ctx.load_constant(Fr::zero());
    let acc_low: [AssignedValue<Fr>; SLOT_LEVELS] = std::array::from_fn(|i| acc_sibs[i]);
    let top: [AssignedValue<Fr>; TOP_LEVELS] = std::array::from_fn(|i| acc_sibs[SLOT_LEVELS + i]);
    let u = update_pair(
        ctx,
        g,
        chips.table,
        account,
        PairLeaf {
            slot: slot0,
            old: old_acc,
            new: new_acc,
            low_siblings: &acc_low,
        },
        PairLeaf {
            slot: asset,
            old: old_bal_leaf,
            new: new_bal_leaf,
            low_siblings: &bal_sibs,
        },
        &top,
        on,
    );
    assert_eq_if(ctx, range, u.old_root, run.root, on);

    // Deposit chain.
    let p1 = g.inner_product(
        ctx,
        [queue, account, asset, amount],
        [
            Constant(pow2(ACCOUNT_BITS + SLOT_BITS + AMOUNT_BITS)),
            Constant(pow2(SLOT_BITS + AMOUNT_BITS)),
            Constant(pow2(AMOUNT_BITS)),
            Constant(Fr::one()),
        ],
    );
    let p2 = g.mul_add(ctx, l1_hi, Constant(pow2(128)), l1_lo);
    let t_item = ctx.load_constant(to_halo2(&Tag::DepositItem.fr()));
    let t_key = ctx.load_constant(to_halo2(&Tag::DepositKey.fr()));
    let t_chain = ctx.load_constant(to_halo2(&Tag::Deposits.fr()));
    let fields = chips.table.compress(ctx, [t_item, p1, p2]);
    let item = chips.table.compress(ctx, [t_key, fields, key_hash]);
    let deposits = chips.table.compress(ctx, [t_chain, run.deposits, item]);

    // Pubdata: type(1) account(3) asset(2) amount(12), zero-padded to 62 bytes.
    let e1 = g.inner_product(
        ctx,
        [account, asset, amount],
        [
            Constant(pow2(8 * 27)),
            Constant(pow2(8 * 25)),
            Constant(pow2(8 * 13)),
        ],
    );
    let e1 = g.add(
        ctx,
        e1,
        Constant(Fr::from(TxType::Deposit as u64) * pow2(8 * 30)),
    );
    let t_pub = ctx.load_constant(to_halo2(&Tag::Pubdata.fr()));
    let c1 = chips.table.compress(ctx, [t_pub, run.pubdata, e1]);
    let pubdata = chips.table.compress(ctx, [t_pub, c1, zero]);

    Running {
        root: g.select(ctx, u.new_root, run.root, on),
        pubdata: g.select(ctx, pubdata, run.pubdata, on),
        deposits: g.select(ctx, deposits, run.deposits, on),
    }
}

/// Builds a chunk of `capacity` slots from `trace` into `ctx`.
pub fn assign_chunk(
    ctx: &mut Context<Fr>,
    chips: &mut ChunkChips<'_>,
    trace: &ChunkTrace,
    capacity: usize,
) -> Result<ChunkCells, ChunkError> {
    if trace.txs.len() > capacity {
        return Err(ChunkError::TooManyTxs {
            txs: trace.txs.len(),
            capacity,
        });
    }
    let mut witnesses = Vec::with_capacity(capacity);
    for (index, tx) in trace.txs.iter().enumerate() {
        match &tx.tx.body {
            TxBody::Deposit(d) => witnesses.push(Some(deposit_witness(index, d, &tx.updates)?)),
            other => {
                return Err(ChunkError::Unsupported {
                    index,
                    tx_type: other.tx_type(),
                })
            }
        }
    }
    witnesses.resize_with(capacity, || None);

    let g = chips.range.gate();
    let prev_root = ctx.load_witness(to_halo2(&trace.prev_root));
    let zero = ctx.load_constant(Fr::zero());
    let mut run = Running {
        root: prev_root,
        pubdata: zero,
        deposits: zero,
    };
    let mut flags: Vec<AssignedValue<Fr>> = Vec::with_capacity(capacity);
    let empty = DepositWitness::default();
    for w in &witnesses {
        let is_deposit = ctx.load_witness(Fr::from(w.is_some() as u64));
        let is_noop = ctx.load_witness(Fr::from(w.is_none() as u64));
        g.assert_bit(ctx, is_deposit);
        g.assert_bit(ctx, is_noop);
        let sum = g.add(ctx, is_deposit, is_noop);
        g.assert_is_const(ctx, &sum, &Fr::one());
        if let Some(prev) = flags.last() {
            // Padding comes last: once a slot is a no-op, all later ones are.
            let bad = g.mul_not(ctx, is_noop, *prev);
            g.assert_is_const(ctx, &bad, &Fr::zero());
        }
        flags.push(is_noop);
        run = deposit_slot(ctx, chips, w.as_ref().unwrap_or(&empty), is_deposit, run);
    }
    let withdrawals = zero;
    Ok(ChunkCells {
        public: [prev_root, run.root, run.pubdata, run.deposits, withdrawals],
        is_noop: flags,
    })
}
