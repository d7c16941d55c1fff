//! Settlement of a final proof on a fresh L1 chain in revm: the verifier
//! alone (its gas), then the Rollup contract's `finalize` with the batch's
//! data, after its deposits are paid (a test ERC-20 per asset, minted to
//! the senders and approved) and queued from their L1 senders and its
//! forced withdrawals queued by their owners, in queue order, and a check
//! that every withdrawal (signed or forced) became claimable. What an indexer would read of
//! it (the deposit events and the finalized data) comes back as an
//! [`L1Log`], from which `zklanes reconstruct` rebuilds the state.

use std::collections::BTreeMap;
use std::time::Instant;

use ark_ff::PrimeField as _;
use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use halo2_base::halo2_proofs::halo2curves::ff::PrimeField as _;
use serde::Serialize;
use zklanes_aggregator::node::ACCUMULATOR_LIMBS;
use zklanes_executor::l1::{L1Batch, QueueOp};

use crate::chain::L1Chain;
use crate::error::EvmError;
use crate::log::{DepositEvent, FinalizedBatch, L1Log};
use crate::rollup::Genesis;
use crate::verifier::verify_in_evm;

/// The outcome of settling a final proof on L1 (in revm).
#[derive(Clone, Debug, Serialize)]
pub struct Settlement {
    /// Gas of the verifier call alone.
    pub verify_gas: u64,
    /// Gas of `Rollup.finalize` (transaction included).
    pub finalize_gas: u64,
    /// The Rollup contract's state root after finalisation (hex).
    pub state_root: String,
    /// Deposits the batch consumed (queued on L1 first).
    pub deposits: usize,
    /// Gas of queuing them on L1 (all deposit transactions; the tokens'
    /// minting and approvals excluded).
    pub deposit_gas: u64,
    /// Gas of each deposit transaction, in queue order.
    pub deposit_gas_each: Vec<u64>,
    /// Forced withdrawals the batch consumed (queued on L1 first, by the
    /// accounts' owners).
    pub forced_withdrawals: usize,
    /// Gas of queuing them (all `forceWithdraw` transactions).
    pub forced_withdrawal_gas: u64,
    /// Bytes of public data posted with `finalize` (32 per element).
    pub l1_data_bytes: usize,
    /// Withdrawals the batch made (signed and forced).
    pub withdrawals: usize,
    /// Every withdrawal is claimable on L1 after finalisation.
    pub withdrawals_claimable: bool,
    /// The verifier's code size, bytes.
    pub verifier_bytes: usize,
    /// Time to deploy and call, ms.
    pub ms: f64,
    /// The chain's record: the deposit events and the finalized data, with
    /// the root the contract stores (not serialized with the figures).
    #[serde(skip)]
    pub log: L1Log,
}

/// A circuit field element as the executor's.
fn native(f: &Fr) -> zklanes_executor::field::Fr {
    zklanes_executor::field::Fr::from_le_bytes_mod_order(f.to_repr().as_ref())
}

/// Settles a final proof in a fresh revm chain: calls the verifier alone
/// (its gas), then deploys it with the Poseidon and Rollup contracts, the
/// Rollup contract starting at the proof's previous root, at its first
/// batch `first_batch` (of `batches`: one batch or a bundle), at the queue
/// index of the batch's first queue operation, at the account id its first
/// creating deposit gets and with the owners of the accounts it force-
/// withdraws from that exist before it ([`Genesis::checkpoint`]: a
/// checkpoint, so any batch of a history can be settled alone); registers
/// a test ERC-20 for each asset the batch deposits or force-withdraws;
/// queues the batch's queue operations in order: mints each deposit's
/// amount to its L1 sender, who approves and queues it, and queues each
/// forced withdrawal from its owner; finalizes the batch with its data and
/// checks that every withdrawal became claimable. Returns the gas and the
/// root the contract stores afterwards.
pub fn settle(
    chain_id: u32,
    verifier_code: &[u8],
    first_batch: u64,
    batches: u64,
    instances: &[Fr],
    proof: &[u8],
    l1: &L1Batch,
) -> Result<Settlement, EvmError> {
    let clock = Instant::now();
    let verify_gas = verify_in_evm(verifier_code, instances, proof)?;
    let prev_root = instances
        .get(ACCUMULATOR_LIMBS)
        .ok_or_else(|| EvmError::Reverted("no previous root among the instances".into()))?;
    let queue = l1.queue();
    let genesis = Genesis::checkpoint(first_batch, &queue);
    let mut chain = L1Chain::deploy(verifier_code, prev_root, genesis)?;
    let mut log = L1Log::new(chain_id, &native(prev_root));
    let mut deposit_gas_each = Vec::with_capacity(l1.deposits.len());
    let (mut forced_withdrawals, mut forced_withdrawal_gas) = (0, 0);
    for op in &queue {
        let (_, gas) = chain.queue_op(op)?;
        match op {
            QueueOp::Deposit(d) => {
                deposit_gas_each.push(gas);
                log.record_deposit(DepositEvent::from_deposit(d));
            }
            QueueOp::ForcedWithdraw(f) => {
                forced_withdrawals += 1;
                forced_withdrawal_gas += gas;
                log.record_deposit(DepositEvent::from_forced(f));
            }
        }
    }
    let done = chain.finalize(first_batch, batches, instances, l1, proof)?;
    let root = chain.state_root()?;
    let new_root = zklanes_executor::field::Fr::from_be_bytes_mod_order(&root);
    log.record_batch(FinalizedBatch::new(
        first_batch,
        batches,
        &new_root,
        &l1.data,
    ));
    let mut owed: BTreeMap<([u8; 20], u32), u128> = BTreeMap::new();
    for w in &l1.withdrawals {
        *owed.entry((w.l1_address, w.asset)).or_default() += w.amount;
    }
    let mut withdrawals_claimable = true;
    for ((to, asset), amount) in &owed {
        withdrawals_claimable &= chain.claimable(to, *asset)? == *amount;
    }
    Ok(Settlement {
        verify_gas,
        finalize_gas: done.gas,
        state_root: format!("0x{}", hex::encode(root)),
        deposits: l1.deposits.len(),
        deposit_gas: deposit_gas_each.iter().sum(),
        deposit_gas_each,
        forced_withdrawals,
        forced_withdrawal_gas,
        l1_data_bytes: l1.data_bytes(),
        withdrawals: l1.withdrawals.len(),
        withdrawals_claimable,
        verifier_bytes: verifier_code.len(),
        ms: clock.elapsed().as_secs_f64() * 1e3,
        log,
    })
}
