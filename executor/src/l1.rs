//! What the Rollup contract needs besides the proof to settle a batch: the
//! deposits the batch consumed from the L1 queue and the withdrawals it
//! made, each with its chunk, so that the contract can recompute the
//! batch's deposit and withdrawal commitments as the tree folds them.

use crate::commitments::{chain_deposit, chain_withdrawal, fold, PublicInputs};
use crate::field::Fr;
use crate::trace::ChunkTrace;
use crate::tx::{Deposit, Withdraw};
use serde::{Deserialize, Serialize};

/// A batch's L1 side, over its chunks padded to the tree's width.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct L1Batch {
    /// The consumed deposits, in queue order (as L1 queued them).
    pub deposits: Vec<Deposit>,
    /// Per chunk of the padded batch: how many of `deposits` it consumed.
    pub deposit_counts: Vec<u32>,
    /// The withdrawals, in batch order.
    pub withdrawals: Vec<Withdraw>,
    /// Per chunk of the padded batch: how many of `withdrawals` it made.
    pub withdrawal_counts: Vec<u32>,
}

impl L1Batch {
    /// From the batch's chunks padded to the aggregation tree's width
    /// (empty chunks after the batch's own).
    pub fn from_padded(padded: &[ChunkTrace]) -> Self {
        Self {
            deposits: padded.iter().flat_map(|t| t.deposits.clone()).collect(),
            deposit_counts: padded.iter().map(|t| t.deposits.len() as u32).collect(),
            withdrawals: padded.iter().flat_map(|t| t.withdrawals.clone()).collect(),
            withdrawal_counts: padded.iter().map(|t| t.withdrawals.len() as u32).collect(),
        }
    }

    /// Queue index of the first consumed deposit, if any.
    pub fn first_deposit(&self) -> Option<u64> {
        self.deposits.first().map(|d| d.queue_index)
    }

    /// The deposit and withdrawal commitments this data folds to along a
    /// tree with `fan_ins`, as the contract recomputes them; `None` when the
    /// counts do not add up or do not fit the tree.
    pub fn commitments(&self, fan_ins: &[usize]) -> Option<(Fr, Fr)> {
        let deps = chains(&self.deposits, &self.deposit_counts, chain_deposit)?;
        let wds = chains(&self.withdrawals, &self.withdrawal_counts, chain_withdrawal)?;
        let zero = Fr::from(0u64);
        // Reuse the executor's fold: roots and batch numbers are all zero,
        // so they chain.
        let mut level: Vec<PublicInputs> = deps
            .iter()
            .zip(&wds)
            .map(|(d, w)| [zero, zero, zero, *d, *w, zero, zero])
            .collect();
        for f in fan_ins {
            if *f == 0 || !level.len().is_multiple_of(*f) {
                return None;
            }
            level = level.chunks(*f).map(fold).collect::<Option<Vec<_>>>()?;
        }
        (level.len() == 1).then(|| (level[0][3], level[0][4]))
    }
}

fn chains<T>(items: &[T], counts: &[u32], step: fn(Fr, &T) -> Fr) -> Option<Vec<Fr>> {
    let mut rest = items;
    let mut out = Vec::with_capacity(counts.len());
    for n in counts {
        let n = *n as usize;
        if n > rest.len() {
            return None;
        }
        let (now, later) = rest.split_at(n);
        out.push(now.iter().fold(Fr::from(0u64), step));
        rest = later;
    }
    rest.is_empty().then_some(out)
}
