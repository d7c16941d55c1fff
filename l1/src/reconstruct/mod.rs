//! The rollup state rebuilt from the L1 record alone.
//!
//! ```text
//!  L1Log ──► per finalized entry: decode words ──► apply ops ──► leaf hashes ──► root == new_root?
//!  (log)                          (decode)          (apply)       (smt::Tree)
//! ```
//!
//! Starting from the empty state (the log's genesis root must be the empty
//! tree's), each finalized entry's data words are decoded into typed
//! operations ([`decode`]) and applied by this module's own rules
//! ([`apply`]); the touched leaves are hashed into the tree and the root
//! compared with the entry's `new_root`. Deposits and forced withdrawals
//! in the data share the L1 queue: they are matched, in queue order,
//! against the L1 queue's events the log holds (a forced withdrawal's is
//! an event of amount 0; deposit events also give new accounts their full
//! keys). Nothing here runs the executor's
//! batch application or its public-data encoder: only the state types, the
//! leaf hash and the tree are shared, so a match shows the posted data
//! suffices to rebuild the state.
//!
//! An entry applies whole or not at all: on any error the
//! [`Reconstructor`] keeps the state of the last good entry.

pub mod apply;
pub mod decode;
pub mod result;

use std::collections::BTreeMap;
use std::fmt;

use zklanes_executor::field::{fr_from_bytes, fr_to_hex, Fr};
use zklanes_executor::params::TREE_DEPTH;
use zklanes_executor::smt::{empty_hashes, Tree};
use zklanes_executor::state::State;

use crate::log::{DepositEvent, FinalizedBatch, L1Log, Word};
pub use apply::{ApplyError, ForcedWithdrawal};
pub use decode::{decode, DecodeError, DecodedTx, Op};
pub use result::{MerkleProof, Reconstructed};

/// The batch numbers of one finalized entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchRange {
    /// First batch.
    pub first: u64,
    /// Last batch.
    pub last: u64,
}

impl BatchRange {
    fn of(b: &FinalizedBatch) -> Self {
        Self {
            first: b.first_batch,
            last: b.last_batch(),
        }
    }
}

impl fmt::Display for BatchRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.first == self.last {
            write!(f, "batch {}", self.first)
        } else {
            write!(f, "batches {}..={}", self.first, self.last)
        }
    }
}

/// Why the L1 record does not rebuild to the roots it holds.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReconstructError {
    /// The contract did not start from the empty state.
    #[error("genesis root 0x{} is not the empty tree's root {}: reconstruction starts from an empty state", hex::encode(genesis), fr_to_hex(empty))]
    GenesisNotEmpty {
        /// The log's genesis root.
        genesis: Word,
        /// The empty tree's root.
        empty: Fr,
    },
    /// Two different L1 queue events (deposits or forced withdrawals) at
    /// one queue index.
    #[error("two different L1 queue events at queue index {queue_index}")]
    ConflictingDepositEvent {
        /// The queue index.
        queue_index: u64,
    },
    /// An entry does not settle the next batch, or settles none.
    #[error("finalized entry {entry} settles {got} batches from {first}, expected at least one from batch {expected}")]
    BatchGap {
        /// Index of the entry in the log.
        entry: usize,
        /// The next batch number.
        expected: u64,
        /// The entry's first batch.
        first: u64,
        /// The entry's batch count.
        got: u64,
    },
    /// An entry's `new_root` is not a field element.
    #[error("{batches}: new_root 0x{} is not a field element", hex::encode(root))]
    NonCanonicalRoot {
        /// The entry's batches.
        batches: BatchRange,
        /// The word.
        root: Word,
    },
    /// The data does not decode.
    #[error("{batches}: {source}")]
    Decode {
        /// The entry's batches.
        batches: BatchRange,
        /// Why.
        source: DecodeError,
    },
    /// An operation does not apply.
    #[error("{batches}, transaction {tx} ({kind} at word {word}): {source}")]
    Apply {
        /// The entry's batches.
        batches: BatchRange,
        /// Index of the transaction in the entry.
        tx: usize,
        /// Its type.
        kind: &'static str,
        /// Its first word.
        word: usize,
        /// Why.
        source: ApplyError,
    },
    /// The rebuilt root is not the one the contract holds.
    #[error(
        "{batches}: the data rebuilds root {}, the contract holds 0x{}",
        fr_to_hex(computed),
        hex::encode(expected)
    )]
    RootMismatch {
        /// The entry's batches.
        batches: BatchRange,
        /// The contract's root.
        expected: Word,
        /// The rebuilt root.
        computed: Fr,
    },
}

/// One finalized entry whose rebuilt root matched.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchCheck {
    /// The entry's batches.
    pub batches: BatchRange,
    /// Transactions in its data.
    pub txs: usize,
    /// Data words.
    pub words: usize,
    /// Deposits it consumed.
    pub deposits: usize,
    /// Forced withdrawals it consumed (from the same L1 queue).
    pub forced_withdrawals: usize,
    /// The root (rebuilt, equal to the contract's).
    pub root: Fr,
}

/// Rebuilds the state entry by entry.
#[derive(Clone, Debug)]
pub struct Reconstructor {
    chain_id: u32,
    state: State,
    tree: Tree,
    next_batch: u64,
    events: BTreeMap<u64, DepositEvent>,
    checks: Vec<BatchCheck>,
    forced: Vec<ForcedWithdrawal>,
}

impl Reconstructor {
    /// An empty state for chain `chain_id`, given its genesis root (which
    /// must be the empty tree's) and the L1 queue's events (deposits and
    /// forced withdrawals) known so far.
    pub fn new(
        chain_id: u32,
        genesis_root: &Word,
        deposits: &[DepositEvent],
    ) -> Result<Self, ReconstructError> {
        let empty = empty_hashes()[TREE_DEPTH];
        if fr_from_bytes(genesis_root) != Some(empty) {
            return Err(ReconstructError::GenesisNotEmpty {
                genesis: *genesis_root,
                empty,
            });
        }
        let mut r = Self {
            chain_id,
            state: State::default(),
            tree: Tree::default(),
            next_batch: 0,
            events: BTreeMap::new(),
            checks: Vec::new(),
            forced: Vec::new(),
        };
        r.add_deposit_events(deposits)?;
        Ok(r)
    }

    /// From a log's header and deposit events (its entries not applied).
    pub fn from_log(log: &L1Log) -> Result<Self, ReconstructError> {
        Self::new(log.chain_id, &log.genesis_root, &log.deposits)
    }

    /// Adds L1 queue events, deposits and forced withdrawals (identical
    /// repeats are ignored).
    pub fn add_deposit_events(&mut self, events: &[DepositEvent]) -> Result<(), ReconstructError> {
        for e in events {
            if let Some(old) = self.events.get(&e.queue_index) {
                if old != e {
                    return Err(ReconstructError::ConflictingDepositEvent {
                        queue_index: e.queue_index,
                    });
                }
            }
            self.events.insert(e.queue_index, e.clone());
        }
        Ok(())
    }

    /// The current root.
    pub fn root(&self) -> Fr {
        self.tree.root()
    }

    /// The next batch number expected.
    pub fn next_batch(&self) -> u64 {
        self.next_batch
    }

    /// Applies one finalized entry (the `entry`-th of the log, for errors):
    /// decodes its data, applies it and checks its root. On an error
    /// nothing changes.
    pub fn apply(
        &mut self,
        entry: usize,
        b: &FinalizedBatch,
    ) -> Result<BatchCheck, ReconstructError> {
        let batches = BatchRange::of(b);
        let next_batch = b.first_batch.checked_add(b.batches);
        if b.first_batch != self.next_batch || b.batches == 0 || next_batch.is_none() {
            return Err(ReconstructError::BatchGap {
                entry,
                expected: self.next_batch,
                first: b.first_batch,
                got: b.batches,
            });
        }
        let expected = fr_from_bytes(&b.new_root).ok_or(ReconstructError::NonCanonicalRoot {
            batches,
            root: b.new_root,
        })?;
        let txs = decode(&b.data).map_err(|source| ReconstructError::Decode { batches, source })?;
        let mut o = apply::Overlay::new(&self.state);
        for (i, t) in txs.iter().enumerate() {
            apply::apply_op(&mut o, &t.op, &self.events).map_err(|source| {
                ReconstructError::Apply {
                    batches,
                    tx: i,
                    kind: t.op.name(),
                    word: t.word,
                    source,
                }
            })?;
        }
        let forced_withdrawals = o.forced.len();
        let deposits = (o.next_deposit - self.state.next_deposit) as usize - forced_withdrawals;
        let next_deposit = o.next_deposit;
        let (writes, forced) = (o.writes, o.forced);
        let updates: Vec<(u64, Fr)> = writes.iter().map(|(k, l)| (k.index(), l.hash())).collect();
        let (_, _, undo, _) = self.tree.apply(&updates);
        let computed = self.tree.root();
        if computed != expected {
            self.tree.set_nodes(&undo);
            return Err(ReconstructError::RootMismatch {
                batches,
                expected: b.new_root,
                computed,
            });
        }
        for (k, l) in writes {
            self.state.set(k, l);
        }
        self.state.next_deposit = next_deposit;
        self.forced.extend(forced);
        self.next_batch = next_batch.expect("checked above");
        let check = BatchCheck {
            batches,
            txs: txs.len(),
            words: b.data.len(),
            deposits,
            forced_withdrawals,
            root: computed,
        };
        self.checks.push(check);
        Ok(check)
    }

    /// The rebuilt state.
    pub fn finish(self) -> Reconstructed {
        let pending = self
            .events
            .range(self.state.next_deposit..)
            .map(|(_, e)| e.clone())
            .collect();
        Reconstructed {
            chain_id: self.chain_id,
            root: self.tree.root(),
            next_batch: self.next_batch,
            state: self.state,
            tree: self.tree,
            checks: self.checks,
            forced: self.forced,
            pending_deposits: pending,
        }
    }
}

/// Rebuilds the state of a log: every entry in order, each root checked.
pub fn reconstruct(log: &L1Log) -> Result<Reconstructed, ReconstructError> {
    let mut r = Reconstructor::from_log(log)?;
    for (i, b) in log.batches.iter().enumerate() {
        r.apply(i, b)?;
    }
    Ok(r.finish())
}
