//! An L1 chain in revm with the settlement contracts deployed: the final
//! verifier, the Solidity Poseidon and the Rollup contract, plus the
//! assets it holds (test ERC-20 tokens compiled by the pinned solc, or
//! ETH). Deposits are paid and queued from their L1 senders, forced
//! withdrawals queued by the accounts' owners, batches finalized with their
//! data, withdrawal roots read and withdrawals claimed with their proofs
//! ([`crate::withdrawals`]), balances read;
//! blocks advance on demand, and exit mode is activated, exited from
//! ([`crate::exit`] proofs) and refunded.

use revm::primitives::{Address, U256};
use zklanes_executor::l1::QueueOp;
use zklanes_executor::tx::{Deposit, L1Address};

use crate::error::EvmError;
use crate::exit::{ExitProof, LiquidityExitProof};
use crate::host::{selector, CallOutcome, EvmHost};
use crate::log::Word;
use crate::poseidon;
use crate::rollup::{
    account_owner_calldata, activate_exit_mode_calldata, assets_calldata, claim_calldata,
    creates_account, deployment, deposit_calldata, exited_calldata, finalize_calldata,
    force_withdraw_calldata, is_claimed_calldata, queue_hash_calldata, queue_word_block,
    queue_word_link, refund_deposit_calldata, refunded_calldata, register_asset_calldata,
    withdrawal_root_calldata, Genesis,
};
use crate::solc::compile_solidity;
use crate::withdrawals::{WithdrawalProof, STORED_ROOT_BYTES};
use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use zklanes_executor::l1::L1Batch;

/// A standard ERC-20 with an open `mint` (`contracts/test/TestToken.sol`):
/// the tokens the tests and `settle` deposit. Never a real asset.
pub const TEST_TOKEN: &str = include_str!("../../contracts/test/TestToken.sol");

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

/// The deployer of every contract, hence the Rollup contract's governor.
pub const GOVERNOR: Address = Address::ZERO;

fn word_u128(out: &[u8]) -> Result<u128, EvmError> {
    if out.len() != 32 || out[..16].iter().any(|b| *b != 0) {
        return Err(EvmError::Reverted(format!(
            "unexpected return data 0x{}",
            hex::encode(out)
        )));
    }
    Ok(u128::from_be_bytes(out[16..].try_into().expect("16 bytes")))
}

fn u128_of(v: U256) -> Result<u128, EvmError> {
    u128::try_from(v).map_err(|_| EvmError::Reverted(format!("balance {v} past 128 bits")))
}

/// Calldata of an ERC-20 function taking an address and an amount.
fn erc20_call(signature: &str, who: Address, amount: u128) -> Vec<u8> {
    let mut data = selector(signature).to_vec();
    data.extend([0u8; 12]);
    data.extend(who.0 .0);
    data.extend([0u8; 16]);
    data.extend(amount.to_be_bytes());
    data
}

/// ABI encoding of `constructor(string name, string symbol)` for names
/// under 32 bytes.
fn two_strings(a: &str, b: &str) -> Vec<u8> {
    assert!(a.len() < 32 && b.len() < 32, "short names only");
    let mut out = Vec::with_capacity(192);
    let word = |v: usize| {
        let mut w = [0u8; 32];
        w[24..].copy_from_slice(&(v as u64).to_be_bytes());
        w
    };
    out.extend(word(64));
    out.extend(word(128));
    for s in [a, b] {
        out.extend(word(s.len()));
        let mut w = [0u8; 32];
        w[..s.len()].copy_from_slice(s.as_bytes());
        out.extend(w);
    }
    out
}

impl L1Chain {
    /// A fresh chain with the verifier (`verifier_code`, creation bytecode),
    /// the Poseidon contract and a Rollup contract starting at
    /// `genesis_root` and `genesis`, with no asset registered.
    pub fn deploy(
        verifier_code: &[u8],
        genesis_root: &Fr,
        genesis: Genesis,
    ) -> Result<Self, EvmError> {
        let mut host = EvmHost::new();
        let verifier = host.deploy(verifier_code)?;
        let poseidon = host.deploy(&compile_solidity(
            &poseidon::source(),
            Some(poseidon::CONTRACT),
        )?)?;
        let rollup = host.deploy(&deployment(verifier, poseidon, genesis_root, &genesis)?)?;
        Ok(Self {
            host,
            verifier,
            poseidon,
            rollup,
        })
    }

    /// Deploys a contract (creation bytecode, arguments appended) from the
    /// governor.
    pub fn deploy_contract(&mut self, code: &[u8]) -> Result<Address, EvmError> {
        self.host.deploy(code)
    }

    /// Deploys a [`TEST_TOKEN`] named `name`.
    pub fn deploy_test_token(&mut self, name: &str) -> Result<Address, EvmError> {
        let mut code = compile_solidity(TEST_TOKEN, Some("TestToken"))?;
        code.extend(two_strings(name, name));
        self.host.deploy(&code)
    }

    /// Registers `asset` as `token` (`Address::ZERO`: ETH), from the governor.
    pub fn register_asset(&mut self, asset: u32, token: Address) -> Result<CallOutcome, EvmError> {
        self.call_from(GOVERNOR, register_asset_calldata(asset, token))
    }

    /// Deploys a test token and registers it as `asset`.
    pub fn register_test_token(&mut self, asset: u32) -> Result<Address, EvmError> {
        let token = self.deploy_test_token(&format!("ZKL{asset}"))?;
        self.register_asset(asset, token)?;
        Ok(token)
    }

    /// The token registered as `asset` (`Some(Address::ZERO)`: ETH), if any.
    pub fn asset(&mut self, asset: u32) -> Result<Option<Address>, EvmError> {
        let out = self.call(assets_calldata(asset))?.output;
        if out.len() != 64 {
            return Err(EvmError::Reverted(format!(
                "assets returned {} bytes",
                out.len()
            )));
        }
        let token = Address::from_slice(&out[12..32]);
        Ok((word_u128(&out[32..])? == 1).then_some(token))
    }

    /// Mints `amount` of the test token `token` to `to`.
    pub fn mint(&mut self, token: Address, to: Address, amount: u128) -> Result<(), EvmError> {
        self.host
            .call(token, erc20_call("mint(address,uint256)", to, amount))
            .map(drop)
    }

    /// `owner` approves the Rollup contract to take `amount` of `token`.
    pub fn approve(
        &mut self,
        token: Address,
        owner: Address,
        amount: u128,
    ) -> Result<(), EvmError> {
        let data = erc20_call("approve(address,uint256)", self.rollup, amount);
        self.host.call_from(owner, token, data).map(drop)
    }

    /// `holder`'s balance of `token` (`Address::ZERO`: ETH, in wei).
    pub fn balance(&mut self, token: Address, holder: Address) -> Result<u128, EvmError> {
        if token == Address::ZERO {
            return u128_of(self.host.balance(holder));
        }
        let mut data = selector("balanceOf(address)").to_vec();
        data.extend([0u8; 12]);
        data.extend(holder.0 .0);
        word_u128(&self.host.call(token, data)?.output)
    }

    /// Gives `who` `wei` more ETH (a faucet).
    pub fn fund_eth(&mut self, who: Address, wei: u128) {
        let now = self.host.balance(who);
        self.host.set_balance(who, now + U256::from(wei));
    }

    /// Gives `d`'s L1 sender what the deposit takes: for an asset not
    /// registered yet, a test token is deployed and registered first; then
    /// the sender gets `d.amount` (minted, and approved to the Rollup
    /// contract; or ETH from the faucet).
    pub fn provide(&mut self, d: &Deposit) -> Result<(), EvmError> {
        let sender = Address::from(d.l1_sender);
        let token = match self.asset(d.asset)? {
            Some(token) => token,
            None => self.register_test_token(d.asset)?,
        };
        if token == Address::ZERO {
            self.fund_eth(sender, d.amount);
            return Ok(());
        }
        self.mint(token, sender, d.amount)?;
        self.approve(token, sender, d.amount)
    }

    /// Queues `d` from its L1 sender, as a creating deposit or a top-up
    /// ([`creates_account`]), sending `d.amount` wei along when its asset
    /// is ETH (the sender must hold and have approved a token); returns
    /// what L1 made of it. Refused (reverts) unless the rollup can process
    /// it (the contract's rules) and the asset is paid.
    pub fn queue(&mut self, d: &Deposit) -> Result<Queued, EvmError> {
        let value = match self.asset(d.asset)? {
            Some(Address::ZERO) => U256::from(d.amount),
            _ => U256::ZERO,
        };
        let out = self.host.call_with_value(
            Address::from(d.l1_sender),
            self.rollup,
            deposit_calldata(d),
            value,
        )?;
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

    /// Provides `d`'s sender with the asset ([`Self::provide`]) and queues
    /// `d` from it; returns the queue index the contract assigned and the
    /// deposit transaction's gas. A creating deposit must get the account
    /// id `d.account` from L1 (the batch credits that account), else this
    /// is an error (the deposit stays queued).
    pub fn queue_deposit(&mut self, d: &Deposit) -> Result<(u64, u64), EvmError> {
        self.provide(d)?;
        let q = self.queue(d)?;
        if q.account != d.account {
            return Err(EvmError::Reverted(format!(
                "L1 assigned account {} to the deposit at queue index {}, the batch credits account {}",
                q.account, q.index, d.account
            )));
        }
        Ok((q.index, q.gas))
    }

    /// `owner` queues a forced withdrawal of `account`'s whole balance of
    /// `asset` (`forceWithdraw`; refused unless `owner` is the account's L1
    /// owner and `asset` a registered token); returns its queue index and
    /// the transaction's gas.
    pub fn force_withdraw(
        &mut self,
        owner: L1Address,
        account: u32,
        asset: u32,
    ) -> Result<(u64, u64), EvmError> {
        let out = self.call_from(
            Address::from(owner),
            force_withdraw_calldata(account, asset),
        )?;
        Ok((word_u128(&out.output)? as u64, out.gas))
    }

    /// Queues the L1 queue operation `op` as its sender would: a deposit
    /// with [`Self::queue_deposit`] (the asset provided first), a forced
    /// withdrawal with [`Self::force_withdraw`] from its owner (its asset
    /// registered as a test token first if it is not yet). Returns the
    /// queue index L1 assigned, which must be `op`'s, and the gas.
    pub fn queue_op(&mut self, op: &QueueOp) -> Result<(u64, u64), EvmError> {
        let (index, gas) = match op {
            QueueOp::Deposit(d) => self.queue_deposit(d)?,
            QueueOp::ForcedWithdraw(f) => {
                if self.asset(f.asset)?.is_none() {
                    self.register_test_token(f.asset)?;
                }
                self.force_withdraw(f.l1_owner, f.account, f.asset)?
            }
        };
        if index != op.queue_index() {
            return Err(EvmError::Reverted(format!(
                "queued at {index}, the batch consumed it at {}",
                op.queue_index()
            )));
        }
        Ok((index, gas))
    }

    /// The deposit queue's word before deposit `index` as stored: its link
    /// and the block that queued deposit `index − 1` (zero at the genesis one).
    pub fn queue_word(&mut self, index: u64) -> Result<[u8; 32], EvmError> {
        let out = self.call(queue_hash_calldata(index))?.output;
        out.try_into().map_err(|o: Vec<u8>| {
            EvmError::Reverted(format!("queueHash returned {} bytes", o.len()))
        })
    }

    /// The deposit queue's link before deposit `index` (zero at the
    /// genesis one), as [`crate::rollup::queue_link`] chains it.
    pub fn queue_hash(&mut self, index: u64) -> Result<[u8; 32], EvmError> {
        Ok(queue_word_link(&self.queue_word(index)?))
    }

    /// The L1 block that queued deposit `index` (recorded in the queue word
    /// after it).
    pub fn queued_block(&mut self, index: u64) -> Result<u64, EvmError> {
        Ok(queue_word_block(&self.queue_word(index + 1)?))
    }

    /// The current block number.
    pub fn block_number(&self) -> u64 {
        self.host.block_number()
    }

    /// Moves the chain `blocks` blocks on.
    pub fn advance_blocks(&mut self, blocks: u64) {
        let now = self.host.block_number();
        self.host.set_block_number(now + blocks);
    }

    /// Switches the Rollup contract to exit mode (sent from `caller`).
    pub fn activate_exit_mode(&mut self, caller: Address) -> Result<CallOutcome, EvmError> {
        self.call_from(caller, activate_exit_mode_calldata())
    }

    /// Whether the Rollup contract is in exit mode.
    pub fn exit_mode(&mut self) -> Result<bool, EvmError> {
        let out = self.call(selector("exitMode()").to_vec())?;
        Ok(word_u128(&out.output)? == 1)
    }

    /// Sends `exit` with `proof` from `caller` (anyone: the contract pays
    /// the account's L1 owner).
    pub fn exit(&mut self, caller: Address, proof: &ExitProof) -> Result<CallOutcome, EvmError> {
        self.call_from(caller, proof.calldata())
    }

    /// Sends `exitLiquidity` with `proof` from `caller` (anyone: the
    /// contract pays the account's L1 owner).
    pub fn exit_liquidity(
        &mut self,
        caller: Address,
        proof: &LiquidityExitProof,
    ) -> Result<CallOutcome, EvmError> {
        self.call_from(caller, proof.calldata())
    }

    /// Sends `refundDeposit` for the queued deposit `d` from `caller`
    /// (anyone: the contract pays `d`'s L1 sender).
    pub fn refund_deposit(
        &mut self,
        caller: Address,
        d: &Deposit,
    ) -> Result<CallOutcome, EvmError> {
        self.call_from(caller, refund_deposit_calldata(d))
    }

    /// The L1 owner of `account` (`Address::ZERO`: none recorded).
    pub fn account_owner(&mut self, account: u32) -> Result<Address, EvmError> {
        let out = self.call(account_owner_calldata(account))?.output;
        if out.len() != 32 || out[..12].iter().any(|b| *b != 0) {
            return Err(EvmError::Reverted(format!(
                "accountOwner returned 0x{}",
                hex::encode(&out)
            )));
        }
        Ok(Address::from_slice(&out[12..]))
    }

    /// Whether the balance leaf `leaf_index` (`account << 12 | asset`) was
    /// paid out in exit mode.
    pub fn exited(&mut self, leaf_index: u64) -> Result<bool, EvmError> {
        Ok(word_u128(&self.call(exited_calldata(leaf_index))?.output)? == 1)
    }

    /// Whether the deposit at queue index `index` was refunded in exit mode.
    pub fn refunded(&mut self, index: u64) -> Result<bool, EvmError> {
        Ok(word_u128(&self.call(refunded_calldata(index))?.output)? == 1)
    }

    /// Calls `finalize` for `batches` batches from `first_batch` on, with
    /// the data of `l1`.
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

    /// Calls any contract `to` from `caller`, sending `value` wei.
    pub fn call_contract(
        &mut self,
        caller: Address,
        to: Address,
        data: Vec<u8>,
        value: u128,
    ) -> Result<CallOutcome, EvmError> {
        self.host
            .call_with_value(caller, to, data, U256::from(value))
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

    /// What `finalize` stored for the withdrawals of the entry from
    /// `first_batch` on: the top 224 bits of their tree's root (the last 4
    /// bytes zero, as [`crate::withdrawals::WithdrawalTree::stored_root`])
    /// and their number; zeros when it made none.
    pub fn withdrawal_root(&mut self, first_batch: u64) -> Result<(Word, u32), EvmError> {
        let out = self.call(withdrawal_root_calldata(first_batch))?.output;
        // `(bytes28 root, uint32 count)`: the root left-aligned in its word.
        if out.len() != 64 || out[STORED_ROOT_BYTES..32].iter().any(|b| *b != 0) {
            return Err(EvmError::Reverted(format!(
                "withdrawalRoot returned 0x{}",
                hex::encode(&out)
            )));
        }
        let root: Word = out[..32].try_into().expect("32 bytes");
        let count = u32::try_from(word_u128(&out[32..])?)
            .map_err(|_| EvmError::Reverted("withdrawal count past 32 bits".into()))?;
        Ok((root, count))
    }

    /// Whether leaf `index` of the withdrawal tree of the entry from
    /// `first_batch` on was claimed.
    pub fn is_claimed(&mut self, first_batch: u64, index: u64) -> Result<bool, EvmError> {
        Ok(word_u128(&self.call(is_claimed_calldata(first_batch, index))?.output)? == 1)
    }

    /// Claims the withdrawal `proof` proves in the tree of the entry from
    /// `first_batch` on, sent from its recipient (`claim` pays only the
    /// sender); returns the transaction's gas.
    pub fn claim(&mut self, first_batch: u64, proof: &WithdrawalProof) -> Result<u64, EvmError> {
        let to = Address::from(proof.withdrawal.to);
        Ok(self.call_from(to, claim_calldata(first_batch, proof))?.gas)
    }
}
