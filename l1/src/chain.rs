//! An L1 chain in revm with the settlement contracts deployed: the final
//! verifier, the Solidity Poseidon and the Rollup contract. Deposits are
//! queued from their L1 senders, batches finalized, withdrawals read and
//! claimed.

use revm::primitives::Address;
use zklanes_executor::tx::Deposit;

use crate::error::EvmError;
use crate::host::{selector, CallOutcome, EvmHost};
use crate::poseidon;
use crate::rollup::{
    claim_calldata, claimable_calldata, creates_account, deployment, deposit_calldata,
    deposit_item_calldata, finalize_calldata, Genesis,
};
use crate::solc::compile_solidity;
use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use zklanes_executor::l1::L1Batch;

/// The `Error(string)` reason of a revert (`require(…, reason)`), if `e`
/// is a revert that carries one.
pub fn revert_reason(e: &EvmError) -> Option<String> {
    let EvmError::Reverted(msg) = e else {
        return None;
    };
    let data = hex::decode(msg.rsplit_once("0x")?.1.trim()).ok()?;
    // selector of Error(string), offset, length, bytes
    if data.len() < 68 || data[..4] != selector("Error(string)") {
        return None;
    }
    let len = usize::try_from(u128::from_be_bytes(data[52..68].try_into().ok()?)).ok()?;
    let text = data.get(68..68usize.checked_add(len)?)?;
    Some(String::from_utf8_lossy(text).into_owned())
}

/// A deposit L1 queued.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Queued {
    /// Its queue index.
    pub index: u64,
    /// The account it credits: the id L1 assigned when it creates one.
    pub account: u32,
    /// Whether it creates the account.
    pub creates: bool,
    /// Gas of the transaction.
    pub gas: u64,
}

/// The chain and the contracts' addresses.
pub struct L1Chain {
    host: EvmHost,
    /// The final layer's verifier.
    pub verifier: Address,
    /// The Poseidon contract.
    pub poseidon: Address,
    /// The Rollup contract.
    pub rollup: Address,
}

fn word_u128(out: &[u8]) -> Result<u128, EvmError> {
    if out.len() != 32 || out[..16].iter().any(|b| *b != 0) {
        return Err(EvmError::Reverted(format!(
            "unexpected return data 0x{}",
            hex::encode(out)
        )));
    }
    Ok(u128::from_be_bytes(out[16..].try_into().expect("16 bytes")))
}

impl L1Chain {
    /// A fresh chain with the verifier (`verifier_code`, creation bytecode),
    /// the Poseidon contract and a Rollup contract starting at
    /// `genesis_root` and `genesis`, for a tree with `fan_ins`.
    pub fn deploy(
        verifier_code: &[u8],
        genesis_root: &Fr,
        genesis: Genesis,
        fan_ins: &[usize],
    ) -> Result<Self, EvmError> {
        let mut host = EvmHost::new();
        let verifier = host.deploy(verifier_code)?;
        let poseidon = host.deploy(&compile_solidity(
            &poseidon::source(),
            Some(poseidon::CONTRACT),
        )?)?;
        let rollup = host.deploy(&deployment(
            verifier,
            poseidon,
            genesis_root,
            genesis,
            fan_ins,
        )?)?;
        Ok(Self {
            host,
            verifier,
            poseidon,
            rollup,
        })
    }

    /// Queues `d` from its L1 sender, as a creating deposit or a top-up
    /// ([`creates_account`]); returns what L1 made of it. Refused (reverts)
    /// unless the rollup can process it (the contract's rules).
    pub fn queue(&mut self, d: &Deposit) -> Result<Queued, EvmError> {
        let out =
            self.host
                .call_from(Address::from(d.l1_sender), self.rollup, deposit_calldata(d))?;
        let creates = creates_account(d);
        let (index, account) = if creates {
            if out.output.len() != 64 {
                return Err(EvmError::Reverted(format!(
                    "depositNewAccount returned {} bytes",
                    out.output.len()
                )));
            }
            let account = word_u128(&out.output[32..])?;
            (word_u128(&out.output[..32])?, account as u32)
        } else {
            (word_u128(&out.output)?, d.account)
        };
        Ok(Queued {
            index: index as u64,
            account,
            creates,
            gas: out.gas,
        })
    }

    /// Queues `d` from its L1 sender; returns the queue index the contract
    /// assigned and the transaction's gas. A creating deposit must get the
    /// account id `d.account` from L1 (the batch credits that account), else
    /// this is an error (the deposit stays queued).
    pub fn queue_deposit(&mut self, d: &Deposit) -> Result<(u64, u64), EvmError> {
        let q = self.queue(d)?;
        if q.account != d.account {
            return Err(EvmError::Reverted(format!(
                "L1 assigned account {} to the deposit at queue index {}, the batch credits account {}",
                q.account, q.index, d.account
            )));
        }
        Ok((q.index, q.gas))
    }

    /// The commitment item L1 stored for the deposit at queue `index` (0
    /// if none).
    pub fn deposit_item(&mut self, index: u64) -> Result<[u8; 32], EvmError> {
        let out = self.call(deposit_item_calldata(index))?.output;
        out.try_into().map_err(|o: Vec<u8>| {
            EvmError::Reverted(format!("depositItems returned {} bytes", o.len()))
        })
    }

    /// Calls `finalize` for `batches` batches from `first_batch` on.
    pub fn finalize(
        &mut self,
        first_batch: u64,
        batches: u64,
        instances: &[Fr],
        l1: &L1Batch,
        proof: &[u8],
    ) -> Result<CallOutcome, EvmError> {
        self.call(finalize_calldata(
            first_batch,
            batches,
            instances,
            l1,
            proof,
        ))
    }

    /// Calls the Rollup contract with raw calldata from the zero address.
    pub fn call(&mut self, data: Vec<u8>) -> Result<CallOutcome, EvmError> {
        self.host.call(self.rollup, data)
    }

    /// Calls the Rollup contract from `caller`.
    pub fn call_from(&mut self, caller: Address, data: Vec<u8>) -> Result<CallOutcome, EvmError> {
        self.host.call_from(caller, self.rollup, data)
    }

    /// The stored state root (32 bytes, big-endian).
    pub fn state_root(&mut self) -> Result<[u8; 32], EvmError> {
        let out = self.call(selector("stateRoot()").to_vec())?.output;
        out.try_into().map_err(|o: Vec<u8>| {
            EvmError::Reverted(format!("stateRoot returned {} bytes", o.len()))
        })
    }

    /// A `uint64` or `uint32` getter of the Rollup contract (`nextBatch`,
    /// `depositHead`, `depositCount`, `nextAccount`).
    pub fn counter(&mut self, getter: &str) -> Result<u64, EvmError> {
        let out = self.call(selector(&format!("{getter}()")).to_vec())?;
        Ok(word_u128(&out.output)? as u64)
    }

    /// The finalized, unclaimed withdrawals of `asset` to `to`.
    pub fn claimable(&mut self, to: &[u8; 20], asset: u32) -> Result<u128, EvmError> {
        let out = self.call(claimable_calldata(to, asset))?;
        word_u128(&out.output)
    }

    /// Claims `to`'s withdrawals of `asset` (sent from `to`); returns the amount.
    pub fn claim(&mut self, to: &[u8; 20], asset: u32) -> Result<u128, EvmError> {
        let out = self.call_from(Address::from(*to), claim_calldata(asset))?;
        word_u128(&out.output)
    }
}
