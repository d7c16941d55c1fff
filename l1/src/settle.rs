//! Settlement of a final proof on a fresh L1 chain in revm: the verifier
//! alone (its gas), then the Rollup contract's `finalize` with the batch's
//! data, after its deposits are paid (a test ERC-20 per asset, minted to
//! the senders and approved) and queued from their L1 senders and its
//! forced withdrawals queued by their owners, in queue order, and a check
//! that every withdrawal (signed or forced) can be claimed: the contract
//! stored the root of the data's withdrawal tree, and each withdrawal of a
//! nonzero amount is claimed with its proof, paying its recipient exactly
//! its amount. What an indexer would read of it (the deposit events and the
//! finalized data) comes back as an [`L1Log`], from which `zklanes
//! reconstruct` rebuilds the state.

use std::collections::BTreeMap;
use std::time::Instant;

use ark_ff::PrimeField as _;
use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use halo2_base::halo2_proofs::halo2curves::ff::PrimeField as _;
use revm::primitives::Address;
use serde::Serialize;
use zklanes_aggregator::node::ACCUMULATOR_LIMBS;
use zklanes_executor::l1::{L1Batch, QueueOp};
use zklanes_executor::params::MAX_TOKEN;

use crate::chain::L1Chain;
use crate::error::EvmError;
use crate::log::{DepositEvent, FinalizedBatch, L1Log};
use crate::rollup::Genesis;
use crate::verifier::verify_in_evm;
use crate::withdrawals::WithdrawalTree;

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
    /// Every withdrawal is claimable on L1 after finalisation: the contract
    /// stored the root of the data's withdrawal tree and its count, and
    /// each withdrawal of a nonzero amount was claimed with its proof,
    /// paying its recipient exactly its amount.
    pub withdrawals_claimable: bool,
    /// Gas of each of those claims, in data order.
    pub claim_gas_each: Vec<u64>,
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
/// checks that every withdrawal can be claimed ([`claim_all`]). Returns the
/// gas and the root the contract stores afterwards.
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
    let tree = WithdrawalTree::from_data(&l1.data)
        .map_err(|e| EvmError::Reverted(format!("the finalized data's withdrawals: {e}")))?;
    let claims = claim_all(&mut chain, first_batch, &tree)?;
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
        withdrawals_claimable: claims.is_some(),
        claim_gas_each: claims.unwrap_or_default(),
        verifier_bytes: verifier_code.len(),
        ms: clock.elapsed().as_secs_f64() * 1e3,
        log,
    })
}

/// Claims every withdrawal of `tree`, the withdrawals of the entry
/// finalized from `first_batch` on: the contract must have stored
/// `tree`'s root and count ([`WithdrawalTree::stored_root`]), and each
/// withdrawal of a nonzero amount (one of 0, a forced withdrawal of an
/// empty balance, pays nothing and is refused) is claimed by its recipient
/// with its proof, which must raise the recipient's balance of the asset by
/// exactly the amount and mark the leaf claimed. Returns the gas of each
/// claim, or `None` if any of this fails.
///
/// A chain deployed at a checkpoint holds only the deposits of this entry,
/// while its withdrawals may spend earlier ones: what the contract lacks
/// of an asset to pay them all is minted to it first (the custody the
/// checkpoint inherits; an asset not registered yet gets a test token).
pub fn claim_all(
    chain: &mut L1Chain,
    first_batch: u64,
    tree: &WithdrawalTree,
) -> Result<Option<Vec<u64>>, EvmError> {
    if chain.withdrawal_root(first_batch)? != tree.stored_root() {
        return Ok(None);
    }
    let mut owed: BTreeMap<u32, u128> = BTreeMap::new();
    for w in tree.withdrawals() {
        *owed.entry(w.asset).or_default() += w.amount;
    }
    let mut tokens = BTreeMap::new();
    for (&asset, &amount) in owed.iter().filter(|(_, a)| **a > 0) {
        let token = match chain.asset(asset)? {
            Some(token) => token,
            // LP shares (assets past MAX_TOKEN) are never registered, so
            // never paid out on L1.
            None if asset > MAX_TOKEN => return Ok(None),
            None => chain.register_test_token(asset)?,
        };
        let held = chain.balance(token, chain.rollup)?;
        if held < amount {
            if token == Address::ZERO {
                chain.fund_eth(chain.rollup, amount - held);
            } else {
                chain.mint(token, chain.rollup, amount - held)?;
            }
        }
        tokens.insert(asset, token);
    }
    let mut gas = Vec::new();
    for (index, w) in tree.withdrawals().iter().enumerate() {
        if w.amount == 0 {
            continue;
        }
        let proof = tree
            .proof(index)
            .map_err(|e| EvmError::Reverted(e.to_string()))?;
        let (token, to) = (tokens[&w.asset], Address::from(w.to));
        let before = chain.balance(token, to)?;
        match chain.claim(first_batch, &proof) {
            Ok(g) => gas.push(g),
            Err(_) => return Ok(None),
        }
        if Some(chain.balance(token, to)?) != before.checked_add(w.amount)
            || !chain.is_claimed(first_batch, index as u64)?
        {
            return Ok(None);
        }
    }
    Ok(Some(gas))
}
