//! Execution traces: the witness of one chunk, as the chunk circuit consumes it.
//!
//! A batch splits into chunks of `capacity` transactions. Each chunk trace
//! holds its previous and new roots, every transaction with its leaf updates
//! (leaf before, leaf after, siblings against the running root), its public
//! data, deposits and withdrawals, and its data commitment. Traces are
//! versioned and content-hashed (SHA-256 of their canonical bincode
//! encoding, hash field zeroed).

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::commitments;
use crate::error::BatchError;
use crate::exec::apply::apply_tx;
use crate::exec::overlay::Overlay;
use crate::exec::Receipt;
use crate::field::{serde_fr, serde_fr_vec, Fr};
use crate::signature::PublicKey;
use crate::smt::{ApplyStats, Tree};
use crate::state::{Key, Leaf, State};
use crate::tx::{Deposit, ForcedWithdraw, SignedTx, TxBody, Withdraw};

/// Trace format version.
pub const TRACE_VERSION: u32 = 3;

/// One leaf update with its Merkle path against the running root.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeafUpdate {
    /// Leaf index.
    pub index: u64,
    /// Leaf before.
    pub old: Leaf,
    /// Leaf after.
    pub new: Leaf,
    /// Siblings, leaf level first.
    #[serde(with = "serde_fr_vec")]
    pub siblings: Vec<Fr>,
}

/// One transaction of a chunk.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxTrace {
    /// The transaction as signed.
    pub tx: SignedTx,
    /// Its receipt.
    pub receipt: Receipt,
    /// The signer's public key (absent for deposits).
    pub signer_key: Option<PublicKey>,
    /// Root before the transaction.
    #[serde(with = "serde_fr")]
    pub root_before: Fr,
    /// Leaf updates in circuit order.
    pub updates: Vec<LeafUpdate>,
    /// Public data bytes.
    pub pubdata: Vec<u8>,
}

/// A withdrawal as L1 credits it from the data: signed, or forced through
/// the L1 queue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WithdrawalRecord {
    /// The account debited.
    pub account: u32,
    /// The token.
    pub asset: u32,
    /// The amount (a forced withdrawal's is the whole balance, below 2^112).
    pub amount: u128,
    /// Who L1 pays (a forced withdrawal's: the account's L1 owner).
    #[serde(with = "crate::tx::hex_addr")]
    pub l1_address: crate::tx::L1Address,
    /// The L1 queue index of a forced withdrawal; `None` for a signed one.
    pub forced: Option<u64>,
}

impl WithdrawalRecord {
    /// A signed withdrawal.
    pub fn signed(w: &Withdraw) -> Self {
        Self {
            account: w.account,
            asset: w.asset,
            amount: w.amount,
            l1_address: w.l1_address,
            forced: None,
        }
    }

    /// A forced withdrawal that moved `amount`.
    pub fn forced(f: &ForcedWithdraw, amount: u128) -> Self {
        Self {
            account: f.account,
            asset: f.asset,
            amount,
            l1_address: f.l1_owner,
            forced: Some(f.queue_index),
        }
    }
}

/// The witness of one chunk.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkTrace {
    /// Format version ([`TRACE_VERSION`]).
    pub version: u32,
    /// Chain id.
    pub chain_id: u32,
    /// Batch number.
    pub batch: u64,
    /// Chunk index in the batch.
    pub chunk: u32,
    /// Transaction slots of the chunk circuit.
    pub capacity: u32,
    /// Root before the chunk.
    #[serde(with = "serde_fr")]
    pub prev_root: Fr,
    /// Root after the chunk.
    #[serde(with = "serde_fr")]
    pub new_root: Fr,
    /// Transactions.
    pub txs: Vec<TxTrace>,
    /// Consumed deposits in order.
    pub deposits: Vec<Deposit>,
    /// Withdrawals in order, signed and forced (a forced one is also an L1
    /// queue operation the chunk consumed).
    pub withdrawals: Vec<WithdrawalRecord>,
    /// Commitment to the chunk's data elements
    /// ([`crate::commitments::chain_data`] over [`ChunkTrace::data`]).
    #[serde(with = "serde_fr")]
    pub pubdata_commitment: Fr,
    /// The challenge the data is evaluated at: 0 from the executor; the
    /// prover sets the proof's challenge ([`crate::commitments::challenge`]
    /// of all its chunks' data) before proving.
    #[serde(with = "serde_fr")]
    pub challenge: Fr,
    /// SHA-256 of the canonical encoding with this field zeroed.
    pub content_hash: [u8; 32],
}

impl ChunkTrace {
    /// The chunk circuit's public inputs, in order: previous root, new root,
    /// the data commitment, the challenge, the data's evaluation at it and
    /// the challenge's power, and the chunk's batch number twice (first and
    /// last batch, as [`crate::commitments::PublicInputs`] of a transition).
    pub fn public_inputs(&self) -> crate::commitments::PublicInputs {
        let batch = Fr::from(self.batch);
        let (y, xn) = commitments::evaluate(self.challenge, &self.data());
        [
            self.prev_root,
            self.new_root,
            self.pubdata_commitment,
            self.challenge,
            y,
            xn,
            batch,
            batch,
        ]
    }

    /// [`ChunkTrace::public_inputs`] with the evaluation left at `(0, 1)`
    /// (no data hashed): what folding the roots, commitments and batch
    /// numbers needs.
    pub fn public_inputs_without_data(&self) -> crate::commitments::PublicInputs {
        let batch = Fr::from(self.batch);
        let (zero, one) = (Fr::from(0u64), Fr::from(1u64));
        [
            self.prev_root,
            self.new_root,
            self.pubdata_commitment,
            self.challenge,
            zero,
            one,
            batch,
            batch,
        ]
    }

    /// The chunk's data elements, transactions in order
    /// ([`crate::commitments::data_elements`]).
    pub fn data(&self) -> Vec<Fr> {
        self.txs
            .iter()
            .flat_map(|t| commitments::data_elements(&t.tx.body, &t.receipt))
            .collect()
    }

    /// Computes the content hash.
    pub fn compute_hash(&self) -> [u8; 32] {
        let mut copy = self.clone();
        copy.content_hash = [0; 32];
        let bytes = bincode::serialize(&copy).expect("traces always encode");
        Sha256::digest(&bytes).into()
    }

    /// Checks the version and content hash.
    pub fn verify_hash(&self) -> bool {
        self.version == TRACE_VERSION && self.compute_hash() == self.content_hash
    }
}

/// Counters of trace generation.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct CommitStats {
    /// Leaf updates.
    pub updates: u64,
    /// Poseidon compressions (leaves, nodes and commitments).
    pub hashes: u64,
    /// Replay of the batch into leaf updates, ms.
    pub replay_ms: f64,
    /// Leaf hashes and Merkle paths (the state commitment), ms.
    pub tree_ms: f64,
    /// Chunk traces with their commitments and content hashes, ms.
    pub traces_ms: f64,
}

/// Result of committing a batch.
pub struct Commitment {
    /// Chunk traces.
    pub chunks: Vec<ChunkTrace>,
    /// Changed tree nodes `(level, index, value)`.
    pub changed_nodes: Vec<(usize, u64, Fr)>,
    /// The same nodes' previous values, to undo the tree update.
    pub undo_nodes: Vec<(usize, u64, Fr)>,
    /// Counters.
    pub stats: CommitStats,
}

/// Replays an executed batch over `state`, updates `tree` and builds the chunk
/// traces. `receipts` come from execution; the replay must reproduce them,
/// else the executor broke an invariant. Runs hashing on the current rayon pool.
pub fn commit(
    state: &State,
    tree: &mut Tree,
    txs: &[SignedTx],
    receipts: &[Receipt],
    batch: u64,
    chain_id: u32,
    capacity: usize,
) -> Result<Commitment, BatchError> {
    // 1. Replay: leaf updates in circuit order.
    let clock = std::time::Instant::now();
    let mut view = Overlay::new(state);
    let mut per_tx: Vec<Vec<(u64, Leaf, Leaf)>> = Vec::with_capacity(txs.len());
    let mut keys: Vec<Option<PublicKey>> = Vec::with_capacity(txs.len());
    for (i, tx) in txs.iter().enumerate() {
        let signer_key = tx
            .body
            .signer()
            .and_then(|(a, _)| match view.read(Key::Account(a)) {
                Leaf::Account(acc) => Some(acc.pubkey),
                _ => None,
            });
        let (receipt, writes) = apply_tx(&view, &tx.body).map_err(|e| BatchError::Internal {
            reason: format!("replay of tx {i} failed: {e:?}"),
        })?;
        if receipts.get(i) != Some(&receipt) {
            return Err(BatchError::Internal {
                reason: format!("replay of tx {i} gave a different receipt"),
            });
        }
        let mut ups = Vec::with_capacity(writes.len());
        for (k, new) in writes {
            ups.push((k.index(), view.read(k), new));
            view.set(k, new);
        }
        // Reads the circuit must open appear as updates with `old == new`:
        // a transfer proves that its receiver's account exists.
        if let TxBody::Transfer(t) = &tx.body {
            let k = Key::Account(t.to);
            let leaf = view.read(k);
            ups.push((k.index(), leaf, leaf));
        }
        per_tx.push(ups);
        keys.push(signer_key);
    }
    let replay_ms = clock.elapsed().as_secs_f64() * 1e3;
    // 2. Leaf hashes in parallel, then the tree in parallel.
    let clock = std::time::Instant::now();
    let flat: Vec<(u64, Leaf)> = per_tx
        .iter()
        .flatten()
        .map(|(i, _, new)| (*i, *new))
        .collect();
    let hashed: Vec<(u64, Fr)> = flat.par_iter().map(|(i, l)| (*i, l.hash())).collect();
    let leaf_hashes = hashed.len() as u64;
    let prev_root = tree.root();
    let (witnesses, changed_nodes, undo_nodes, ApplyStats { hashes }) = tree.apply(&hashed);
    let tree_ms = clock.elapsed().as_secs_f64() * 1e3;
    // 3. Chunks and commitments (chunks in parallel).
    let clock = std::time::Instant::now();
    let mut starts = Vec::new();
    let mut offset = 0usize;
    for ups in &per_tx {
        starts.push(offset);
        offset += ups.len();
    }
    let root_before = |tx: usize| {
        if starts[tx] == 0 {
            prev_root
        } else {
            witnesses[starts[tx] - 1].root_after
        }
    };
    let n_chunks = txs.len().div_ceil(capacity.max(1));
    let chunks: Vec<(ChunkTrace, u64)> = (0..n_chunks)
        .into_par_iter()
        .map(|c| {
            let range = c * capacity..((c + 1) * capacity).min(txs.len());
            let mut commit_hashes = 0u64;
            let mut trace = ChunkTrace {
                version: TRACE_VERSION,
                chain_id,
                batch,
                chunk: c as u32,
                capacity: capacity as u32,
                prev_root: root_before(range.start),
                new_root: if range.end == txs.len() {
                    tree_root_after(&witnesses, prev_root)
                } else {
                    root_before(range.end)
                },
                txs: Vec::with_capacity(range.len()),
                deposits: Vec::new(),
                withdrawals: Vec::new(),
                pubdata_commitment: Fr::from(0u64),
                challenge: Fr::from(0u64),
                content_hash: [0; 32],
            };
            for i in range {
                let tx = &txs[i];
                let updates = per_tx[i]
                    .iter()
                    .enumerate()
                    .map(|(u, (index, old, new))| LeafUpdate {
                        index: *index,
                        old: *old,
                        new: *new,
                        siblings: witnesses[starts[i] + u].siblings.to_vec(),
                    })
                    .collect();
                let pubdata = commitments::pubdata(&tx.body, &receipts[i]);
                for e in commitments::data_elements(&tx.body, &receipts[i]) {
                    trace.pubdata_commitment = commitments::chain_data(trace.pubdata_commitment, e);
                    commit_hashes += 1;
                }
                match &tx.body {
                    TxBody::Deposit(d) => {
                        trace.deposits.push(d.clone());
                        commit_hashes += 1;
                    }
                    TxBody::Withdraw(w) => trace.withdrawals.push(WithdrawalRecord::signed(w)),
                    TxBody::ForcedWithdraw(f) => trace
                        .withdrawals
                        .push(WithdrawalRecord::forced(f, receipts[i].outputs[0])),
                    _ => {}
                }
                trace.txs.push(TxTrace {
                    tx: tx.clone(),
                    receipt: receipts[i],
                    signer_key: keys[i],
                    root_before: root_before(i),
                    updates,
                    pubdata,
                });
            }
            trace.content_hash = trace.compute_hash();
            (trace, commit_hashes)
        })
        .collect();
    let commit_hashes: u64 = chunks.iter().map(|c| c.1).sum();
    Ok(Commitment {
        chunks: chunks.into_iter().map(|c| c.0).collect(),
        changed_nodes,
        undo_nodes,
        stats: CommitStats {
            updates: flat.len() as u64,
            hashes: hashes + leaf_hashes + commit_hashes,
            replay_ms,
            tree_ms,
            traces_ms: clock.elapsed().as_secs_f64() * 1e3,
        },
    })
}

fn tree_root_after(witnesses: &[crate::smt::PathWitness], prev_root: Fr) -> Fr {
    witnesses.last().map_or(prev_root, |w| w.root_after)
}

/// SHA-256 over the chunk content hashes in order: one digest for a batch's traces.
pub fn batch_trace_hash(chunks: &[ChunkTrace]) -> [u8; 32] {
    let mut h = Sha256::new();
    for c in chunks {
        h.update(c.content_hash);
    }
    h.finalize().into()
}
