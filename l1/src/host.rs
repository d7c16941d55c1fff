//! A minimal EVM host on revm for the L1 contracts: deploy, call, read the
//! return data and the gas, with every transaction committed to one
//! in-memory chain (so contracts keep their storage between calls).

use std::collections::HashMap;

use revm::context::result::{ExecutionResult, Output};
use revm::context::TxEnv;
use revm::database::InMemoryDB;
use revm::handler::MainnetContext;
use revm::primitives::{Address, TxKind, U256};
use revm::state::AccountInfo;
use revm::{Context, ExecuteCommitEvm, MainBuilder, MainContext, MainnetEvm};

use crate::error::EvmError;

/// One in-memory chain.
pub struct EvmHost {
    evm: MainnetEvm<MainnetContext<InMemoryDB>>,
    nonces: HashMap<Address, u64>,
}

/// A successful call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallOutcome {
    /// Return data.
    pub output: Vec<u8>,
    /// Gas used by the transaction.
    pub gas: u64,
}

impl Default for EvmHost {
    fn default() -> Self {
        Self::new()
    }
}

impl EvmHost {
    /// A fresh chain.
    pub fn new() -> Self {
        Self {
            evm: Context::mainnet()
                .with_db(InMemoryDB::default())
                .build_mainnet(),
            nonces: HashMap::new(),
        }
    }

    fn transact(
        &mut self,
        caller: Address,
        kind: TxKind,
        data: Vec<u8>,
        value: U256,
    ) -> Result<ExecutionResult, EvmError> {
        let nonce = self.nonces.entry(caller).or_insert(0);
        let tx = TxEnv {
            caller,
            gas_limit: u64::MAX,
            kind,
            data: data.into(),
            value,
            nonce: *nonce,
            ..Default::default()
        };
        let result = self
            .evm
            .transact_commit(tx)
            .map_err(|e| EvmError::Reverted(format!("transaction refused: {e:?}")))?;
        *nonce += 1;
        Ok(result)
    }

    /// Deploys `code` (creation bytecode, constructor arguments appended).
    pub fn deploy(&mut self, code: &[u8]) -> Result<Address, EvmError> {
        match self.transact(Address::ZERO, TxKind::Create, code.to_vec(), U256::ZERO)? {
            ExecutionResult::Success {
                output: Output::Create(_, Some(address)),
                ..
            } => Ok(address),
            other => Err(EvmError::Reverted(format!("deployment failed: {other:?}"))),
        }
    }

    /// Calls `to` with `data` from the zero address.
    pub fn call(&mut self, to: Address, data: Vec<u8>) -> Result<CallOutcome, EvmError> {
        self.call_from(Address::ZERO, to, data)
    }

    /// Calls `to` with `data` from `caller` (no value, gas price 0).
    pub fn call_from(
        &mut self,
        caller: Address,
        to: Address,
        data: Vec<u8>,
    ) -> Result<CallOutcome, EvmError> {
        self.call_with_value(caller, to, data, U256::ZERO)
    }

    /// Calls `to` with `data` from `caller`, sending `value` wei (gas price 0).
    pub fn call_with_value(
        &mut self,
        caller: Address,
        to: Address,
        data: Vec<u8>,
        value: U256,
    ) -> Result<CallOutcome, EvmError> {
        match self.transact(caller, TxKind::Call(to), data, value)? {
            ExecutionResult::Success {
                output: Output::Call(out),
                gas_used,
                ..
            } => Ok(CallOutcome {
                output: out.to_vec(),
                gas: gas_used,
            }),
            ExecutionResult::Revert { gas_used, output } => Err(EvmError::Reverted(format!(
                "reverted after {gas_used} gas: 0x{}",
                hex::encode(&output)
            ))),
            other => Err(EvmError::Reverted(format!("call failed: {other:?}"))),
        }
    }
}

impl EvmHost {
    /// The ETH balance of `who`, wei.
    pub fn balance(&self, who: Address) -> U256 {
        self.evm
            .ctx
            .journaled_state
            .database
            .cache
            .accounts
            .get(&who)
            .map_or(U256::ZERO, |a| a.info.balance)
    }

    /// The current block number (0 on a fresh chain): every transaction
    /// runs in it until [`Self::set_block_number`] moves it.
    pub fn block_number(&self) -> u64 {
        self.evm.ctx.block.number.saturating_to()
    }

    /// Moves the chain to block `number` (later transactions see it as
    /// `block.number`).
    pub fn set_block_number(&mut self, number: u64) {
        self.evm.ctx.block.number = U256::from(number);
    }

    /// Gives `who` a balance of `wei` (a faucet: the chain's ETH supply is
    /// not conserved by it).
    pub fn set_balance(&mut self, who: Address, wei: U256) {
        let db = &mut self.evm.ctx.journaled_state.database;
        let info = db
            .cache
            .accounts
            .get(&who)
            .map(|a| a.info.clone())
            .unwrap_or_default();
        db.insert_account_info(
            who,
            AccountInfo {
                balance: wei,
                ..info
            },
        );
    }
}

/// The 4-byte selector of a function signature such as `compress(uint256,uint256,uint256)`.
pub fn selector(signature: &str) -> [u8; 4] {
    let h = revm::primitives::keccak256(signature.as_bytes());
    [h[0], h[1], h[2], h[3]]
}
