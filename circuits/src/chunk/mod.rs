//! The chunk circuit: `capacity` transaction slots over the executor's
//! [`ChunkTrace`], proving the state transition from the previous to the
//! new root and the chunk's data commitment and evaluation.
//!
//! # Slots
//!
//! Every slot is the same universal slot. A one-hot selector of 9 boolean
//! flags (`noop` and the 8 transaction types) chooses what it does; padding
//! comes last (`noopᵢ·(1 − noopᵢ₊₁) = 0`). Each slot runs every gadget on
//! its witness (zeros where unused); each assertion of a type is gated by
//! that type's flag, values that differ by type are selected by inner
//! products with the flags, and the running root and commitments advance
//! by `select(active, new, old)`, so a padding slot provably changes
//! nothing. The hashing and the signature check are shared by all types:
//!
//! - **signer group**: up to four leaves of one account (`account` for
//!   deposits, the signer otherwise), sharing the account's top path
//!   ([`crate::merkle::update_group`]): the account leaf, then up to three balances;
//! - **other group**: one leaf of another account, the receiver's balance
//!   (transfer) or a pool record (account 0), plus a read of the receiver's
//!   account leaf (transfer: it must exist);
//! - **one signature check** ([`crate::eddsa::verify_if`]); for a deposit that
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
//! | forced withdrawal | balance `asset` −= its whole value | – |
//!
//! The L1 queue's operations (deposits and forced withdrawals) are
//! unsigned: L1 checks them against its queue, through the data. A forced
//! withdrawal needs an existing account, keeps its leaf, and moves the whole
//! balance (`o1`, 112 bits, equal to the old balance) to the owner L1
//! recorded.
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
//! `[prev_root, new_root, P, x, y, xn, batch, batch]`, as
//! [`ChunkTrace::public_inputs`], with the encodings of
//! `zklanes_executor::commitments`: `P` chains the chunk's data elements
//! (each active slot's two, and a deposit's key hash), `x` is the proof's
//! challenge (a witness exposed as given: the aggregation requires every
//! chunk of a proof to use the same one, and L1 requires it to be derived
//! from the final `P` and the posted data), `y` the data's evaluation at
//! `x` by Horner's rule and `xn = x^n` for its `n` elements. The batch
//! number is one witness cell exposed twice (the first and last batch of a
//! one-chunk transition): the chunk does not constrain it, the aggregation
//! nodes chain it (each part's first batch is the previous part's last, or
//! the one after), and L1 checks the final proof's first and last batch.
//!
//! # Files
//!
//! The slot's sections, each a function of the cells it reads: `fields`
//! (selector, fields and their type rules), `account`, `signature` (the
//! signed message and its check), `pool` (the AMM rules per type),
//! `groups` (the two Merkle groups), `public` (public data and
//! commitment chains), with `select`'s helpers; `slot` calls them in
//! order. `witness` maps a trace to slot values (no constraints) and
//! `layout` sizes the circuit for a shape.

mod account;
mod fields;
mod groups;
pub mod layout;
mod pool;
mod public;
mod select;
mod signature;
mod slot;
mod witness;

use halo2_base::gates::circuit::builder::BaseCircuitBuilder;
use halo2_base::gates::{GateInstructions, RangeChip, RangeInstructions};
use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use halo2_base::{AssignedValue, Context};
use zklanes_executor::trace::ChunkTrace;

use crate::ecc::EccChip;
use crate::field::to_halo2;
use crate::hash_table::{HashTable, HashedCircuit};
use crate::scalar_mul::ScalarMulTable;
use public::{Challenge, Data};
use slot::{slot, Running};
use witness::{slot_witness, SlotWitness};

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
    /// Per slot: its 9 selector flags, indexed by type id (0 = padding).
    pub flags: Vec<[AssignedValue<Fr>; fields::FLAGS]>,
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
    let x = ctx.load_witness(to_halo2(&trace.challenge));
    let ch = Challenge {
        x,
        x2: g.mul(ctx, x, x),
    };
    let zero = ctx.load_constant(Fr::zero());
    let one = ctx.load_constant(Fr::one());
    let mut run = Running {
        root: prev_root,
        data: Data {
            commitment: zero,
            y: zero,
            xn: one,
        },
    };
    let mut flags: Vec<[AssignedValue<Fr>; fields::FLAGS]> = Vec::with_capacity(shape.capacity);
    for w in &witnesses {
        let (next, f) = slot(ctx, chips, shape.chain_id, w, ch, run);
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
            run.data.commitment,
            x,
            run.data.y,
            run.data.xn,
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
        builder.calculate_params(Some(layout::MIN_UNUSABLE_ROWS));
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
        challenge: zero,
        content_hash: [0; 32],
    };
    t.content_hash = t.compute_hash();
    t
}
