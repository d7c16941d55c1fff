//! What the Rollup contract needs besides the proof to settle a batch (or
//! a bundle): its public data, posted as calldata and bound to the proof by
//! its evaluation at the proof's challenge, and, read from that data, the
//! deposits and forced withdrawals it consumed from the L1 queue and the
//! withdrawals it made.

use crate::commitments::{challenge, fold, PublicInputs, DATA_COMMITMENT};
use crate::field::{serde_fr_vec, Fr};
use crate::trace::{ChunkTrace, WithdrawalRecord};
use crate::tx::{Deposit, ForcedWithdraw};
use serde::{Deserialize, Serialize};

/// A proof's L1 side, over its chunks padded to the tree's width.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct L1Batch {
    /// The data elements, every chunk's in order (padding chunks have none).
    #[serde(with = "serde_fr_vec")]
    pub data: Vec<Fr>,
    /// The consumed deposits, in queue order (as L1 queued them).
    pub deposits: Vec<Deposit>,
    /// The withdrawals, in batch order: signed ones and forced ones (the
    /// latter also consumed from the L1 queue, between the deposits by
    /// their queue index).
    pub withdrawals: Vec<WithdrawalRecord>,
}

impl L1Batch {
    /// From the chunks padded to the aggregation tree's width (empty chunks
    /// after the batch's own).
    pub fn from_padded(padded: &[ChunkTrace]) -> Self {
        Self {
            data: padded.iter().flat_map(|t| t.data()).collect(),
            deposits: padded.iter().flat_map(|t| t.deposits.clone()).collect(),
            withdrawals: padded.iter().flat_map(|t| t.withdrawals.clone()).collect(),
        }
    }

    /// Queue index of the first consumed L1 queue operation (deposit or
    /// forced withdrawal), if any.
    pub fn first_deposit(&self) -> Option<u64> {
        self.queue().first().map(|op| op.queue_index())
    }

    /// The consumed L1 queue operations in queue order: the deposits and
    /// the forced withdrawals, merged.
    pub fn queue(&self) -> Vec<QueueOp> {
        let mut ops: Vec<QueueOp> = self
            .deposits
            .iter()
            .cloned()
            .map(QueueOp::Deposit)
            .chain(self.withdrawals.iter().filter_map(|w| {
                w.forced.map(|queue_index| {
                    QueueOp::ForcedWithdraw(ForcedWithdraw {
                        queue_index,
                        account: w.account,
                        asset: w.asset,
                        l1_owner: w.l1_address,
                    })
                })
            }))
            .collect();
        ops.sort_by_key(QueueOp::queue_index);
        ops
    }

    /// Bytes of calldata the data takes (one 32-byte word per element).
    pub fn data_bytes(&self) -> usize {
        32 * self.data.len()
    }
}

/// An operation of the L1 queue a batch consumed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum QueueOp {
    /// A deposit (`deposit` or `depositNewAccount` on L1).
    Deposit(Deposit),
    /// A forced withdrawal (`forceWithdraw` on L1, by the account's owner).
    ForcedWithdraw(ForcedWithdraw),
}

impl QueueOp {
    /// Its position in the L1 queue.
    pub fn queue_index(&self) -> u64 {
        match self {
            QueueOp::Deposit(d) => d.queue_index,
            QueueOp::ForcedWithdraw(f) => f.queue_index,
        }
    }
}

/// The data commitment the final proof of `padded` chunks exposes: each
/// chunk's `pubdata_commitment` folded along the tree with `fan_ins`
/// (`None` if the roots do not chain or the chunks do not fit the tree).
pub fn folded_commitment(padded: &[ChunkTrace], fan_ins: &[usize]) -> Option<Fr> {
    let zero = Fr::from(0u64);
    let mut level: Vec<PublicInputs> = padded
        .iter()
        .map(|t| {
            let mut p = t.public_inputs_without_data();
            p[crate::commitments::CHALLENGE] = zero;
            p
        })
        .collect();
    for f in fan_ins {
        if *f == 0 || !level.len().is_multiple_of(*f) {
            return None;
        }
        level = level.chunks(*f).map(fold).collect::<Option<Vec<_>>>()?;
    }
    (level.len() == 1).then(|| level[0][DATA_COMMITMENT])
}

/// Sets the proof's challenge in every chunk of `padded` (the data's
/// commitment folded along the tree, then [`challenge`] over all the
/// chunks' data) and refreshes their content hashes. Returns it.
pub fn set_challenge(padded: &mut [ChunkTrace], fan_ins: &[usize]) -> Option<Fr> {
    let p = folded_commitment(padded, fan_ins)?;
    let data: Vec<Fr> = padded.iter().flat_map(|t| t.data()).collect();
    let x = challenge(p, &data);
    for t in padded.iter_mut() {
        t.challenge = x;
        t.content_hash = t.compute_hash();
    }
    Some(x)
}
