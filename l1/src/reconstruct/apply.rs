//! The reconstruction's own application rules: what each decoded operation
//! does to the state, written from the protocol's documented semantics
//! (docs/ARCHITECTURE.md, the executor's `exec::apply` docs), not with the
//! executor's code. The data carries every computed output (swap output,
//! LP shares minted, tokens paid out), so no AMM arithmetic is redone:
//!
//! - every signed operation (types 2 to 7) needs its signer's account and
//!   increments its nonce;
//! - a deposit creates the account (nonce 0, the deposit's key hash) when
//!   its leaf is empty (never with the zero key, which is not a point),
//!   else leaves it as it is; it credits the balance;
//! - a transfer needs `from ≠ to` and an existing receiver;
//! - a swap debits the input token and credits the output one (token A
//!   in when `a_to_b`), the pool's input reserve grows by the input and its
//!   output reserve shrinks by the output;
//! - adding liquidity debits both tokens, credits the LP shares of the
//!   data to the signer (LP asset `LP_ASSET_BASE + pool`) and grows the
//!   reserves by the amounts and the LP supply by the shares, plus
//!   `MINIMUM_LIQUIDITY` locked forever by the first mint of an empty pool;
//! - removing liquidity burns the shares, pays both outputs and shrinks the
//!   reserves and the supply by them;
//! - a withdrawal debits the balance;
//! - creating a pool needs a free pool id and writes an empty pool;
//! - a forced withdrawal (unsigned: no nonce) needs the account, states
//!   the account's whole balance of the asset as its amount, and empties
//!   it.
//!
//! Deposits and forced withdrawals share the L1 queue: each consumes the
//! next queue index, and where the log holds the L1 event at that index
//! it must be of the same kind (a forced withdrawal's has amount 0) with
//! the same fields (a forced withdrawal's sender is its owner).
//!
//! Balances, reserves and the LP supply stay in `0..=MAX_BALANCE`; a zero
//! balance is an empty leaf. Anything that breaks a rule is a typed error:
//! proven data never does, so one means the data is not what was proven.

use std::collections::BTreeMap;

use zklanes_executor::field::Fr;
use zklanes_executor::params::{MAX_BALANCE, MINIMUM_LIQUIDITY};
use zklanes_executor::signature::PublicKey;
use zklanes_executor::state::{Account, Key, Leaf, Pool, State};

use super::decode::Op;
use crate::log::DepositEvent;

/// Why a decoded operation cannot apply to the state.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ApplyError {
    /// The signer or the receiver has no account.
    #[error("account {account} does not exist")]
    UnknownAccount {
        /// The account.
        account: u32,
    },
    /// The pool does not exist.
    #[error("pool {pool} does not exist")]
    UnknownPool {
        /// The pool.
        pool: u32,
    },
    /// A pool is created at a taken id.
    #[error("pool {pool} exists already")]
    PoolExists {
        /// The pool.
        pool: u32,
    },
    /// A transfer to its own sender.
    #[error("account {account} transfers to itself")]
    SelfTransfer {
        /// The account.
        account: u32,
    },
    /// A deposit would create an account with the zero key.
    #[error("a deposit creates account {account} with the zero key")]
    ZeroKeyNewAccount {
        /// The account.
        account: u32,
    },
    /// A debit exceeds the balance.
    #[error("account {account} holds {balance} of asset {asset}, needs {needed}")]
    InsufficientBalance {
        /// The account.
        account: u32,
        /// The asset.
        asset: u32,
        /// Its balance.
        balance: u128,
        /// The debit.
        needed: u128,
    },
    /// A credit takes a balance past `MAX_BALANCE`.
    #[error("balance of asset {asset} of account {account} overflows")]
    BalanceOverflow {
        /// The account.
        account: u32,
        /// The asset.
        asset: u32,
    },
    /// A nonce past `u32::MAX`.
    #[error("nonce of account {account} overflows")]
    NonceOverflow {
        /// The account.
        account: u32,
    },
    /// A pool reserve or supply would go below zero or past `MAX_BALANCE`.
    #[error("pool {pool}: {what} out of range")]
    PoolOutOfRange {
        /// The pool.
        pool: u32,
        /// `reserve A`, `reserve B` or `LP supply`.
        what: &'static str,
    },
    /// A leaf holds another kind of value than its key names.
    #[error("leaf {index} holds {found}")]
    WrongLeaf {
        /// The leaf index.
        index: u64,
        /// What it holds (`an account`, `a balance`, `a pool`).
        found: &'static str,
    },
    /// A deposit in the data differs from the L1 event at its queue index.
    #[error("deposit at queue index {queue_index}: {field} differs from the L1 event")]
    DepositMismatch {
        /// The queue index.
        queue_index: u64,
        /// The first differing field.
        field: &'static str,
    },
    /// A forced withdrawal in the data differs from the L1 event at its
    /// queue index.
    #[error("forced withdrawal at queue index {queue_index}: {field} differs from the L1 event")]
    ForcedWithdrawalMismatch {
        /// The queue index.
        queue_index: u64,
        /// The first differing field (`account`, `asset`, `owner`).
        field: &'static str,
    },
    /// The data consumes a queue index as one kind of operation (deposit
    /// or forced withdrawal) where L1 queued the other.
    #[error("queue index {queue_index}: the data has a {data}, L1 queued a {l1}")]
    QueueKindMismatch {
        /// The queue index.
        queue_index: u64,
        /// What the data has there.
        data: &'static str,
        /// What L1 queued there.
        l1: &'static str,
    },
    /// A forced withdrawal's amount is not the account's whole balance.
    #[error("forced withdrawal of account {account}'s asset {asset}: the data moves {amount}, the balance is {balance}")]
    ForcedAmountMismatch {
        /// The account.
        account: u32,
        /// The asset.
        asset: u32,
        /// The account's balance.
        balance: u128,
        /// The amount in the data.
        amount: u128,
    },
}

/// The state plus the writes of the entry being applied.
pub(super) struct Overlay<'a> {
    base: &'a State,
    /// Written leaves by key.
    pub writes: BTreeMap<Key, Leaf>,
    /// Next L1 queue index (deposits and forced withdrawals).
    pub next_deposit: u64,
    /// The forced withdrawals applied, in order.
    pub forced: Vec<ForcedWithdrawal>,
}

/// A forced withdrawal the data settled: what L1 credits its owner.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ForcedWithdrawal {
    /// Its L1 queue index.
    pub queue_index: u64,
    /// The account emptied.
    pub account: u32,
    /// The token.
    pub asset: u32,
    /// The amount moved (the whole balance; may be 0).
    pub amount: u128,
    /// The account's L1 owner, who claims it.
    pub l1_owner: [u8; 20],
}

impl<'a> Overlay<'a> {
    pub fn new(base: &'a State) -> Self {
        Self {
            base,
            writes: BTreeMap::new(),
            next_deposit: base.next_deposit,
            forced: Vec::new(),
        }
    }

    fn get(&self, key: Key) -> Leaf {
        self.writes
            .get(&key)
            .copied()
            .unwrap_or_else(|| self.base.get(key))
    }

    fn set(&mut self, key: Key, leaf: Leaf) {
        let leaf = match leaf {
            Leaf::Balance(0) => Leaf::Empty,
            other => other,
        };
        self.writes.insert(key, leaf);
    }

    fn wrong(key: Key, found: Leaf) -> ApplyError {
        ApplyError::WrongLeaf {
            index: key.index(),
            found: match found {
                Leaf::Empty => "nothing",
                Leaf::Account(_) => "an account",
                Leaf::Balance(_) => "a balance",
                Leaf::Pool(_) => "a pool",
            },
        }
    }

    fn account(&self, account: u32) -> Result<Option<Account>, ApplyError> {
        let key = Key::Account(account);
        match self.get(key) {
            Leaf::Empty => Ok(None),
            Leaf::Account(a) => Ok(Some(a)),
            other => Err(Self::wrong(key, other)),
        }
    }

    fn balance(&self, account: u32, asset: u32) -> Result<u128, ApplyError> {
        let key = Key::Balance(account, asset);
        match self.get(key) {
            Leaf::Empty => Ok(0),
            Leaf::Balance(b) => Ok(b),
            other => Err(Self::wrong(key, other)),
        }
    }

    fn pool(&self, pool: u32) -> Result<Option<Pool>, ApplyError> {
        let key = Key::Pool(pool);
        match self.get(key) {
            Leaf::Empty => Ok(None),
            Leaf::Pool(p) => Ok(Some(p)),
            other => Err(Self::wrong(key, other)),
        }
    }

    fn existing_pool(&self, pool: u32) -> Result<Pool, ApplyError> {
        self.pool(pool)?.ok_or(ApplyError::UnknownPool { pool })
    }

    /// Increments the signer's nonce.
    fn bump_nonce(&mut self, account: u32) -> Result<(), ApplyError> {
        let mut acc = self
            .account(account)?
            .ok_or(ApplyError::UnknownAccount { account })?;
        acc.nonce = acc
            .nonce
            .checked_add(1)
            .ok_or(ApplyError::NonceOverflow { account })?;
        self.set(Key::Account(account), Leaf::Account(acc));
        Ok(())
    }

    /// Adds `delta` (`credit`) to or takes it (`!credit`) from a balance.
    fn change(
        &mut self,
        account: u32,
        asset: u32,
        delta: u128,
        credit: bool,
    ) -> Result<(), ApplyError> {
        let balance = self.balance(account, asset)?;
        let new = if credit {
            balance
                .checked_add(delta)
                .filter(|b| *b <= MAX_BALANCE)
                .ok_or(ApplyError::BalanceOverflow { account, asset })?
        } else {
            balance
                .checked_sub(delta)
                .ok_or(ApplyError::InsufficientBalance {
                    account,
                    asset,
                    balance,
                    needed: delta,
                })?
        };
        self.set(Key::Balance(account, asset), Leaf::Balance(new));
        Ok(())
    }

    fn credit(&mut self, account: u32, asset: u32, amount: u128) -> Result<(), ApplyError> {
        self.change(account, asset, amount, true)
    }

    fn debit(&mut self, account: u32, asset: u32, amount: u128) -> Result<(), ApplyError> {
        self.change(account, asset, amount, false)
    }
}

/// `v + d` (`up`) or `v − d`, within `0..=MAX_BALANCE`.
fn pool_field(
    pool: u32,
    what: &'static str,
    v: u128,
    d: u128,
    up: bool,
) -> Result<u128, ApplyError> {
    let r = if up {
        v.checked_add(d).filter(|r| *r <= MAX_BALANCE)
    } else {
        v.checked_sub(d)
    };
    r.ok_or(ApplyError::PoolOutOfRange { pool, what })
}

/// The zero key's hash: what a top-up queues.
fn zero_key_hash() -> Fr {
    PublicKey {
        x: Fr::from(0u64),
        y: Fr::from(0u64),
    }
    .hash()
}

/// What an L1 queue event is, for [`ApplyError::QueueKindMismatch`].
fn event_kind(e: &DepositEvent) -> &'static str {
    if e.is_forced_withdrawal() {
        "forced withdrawal"
    } else {
        "deposit"
    }
}

/// Checks a forced withdrawal of the data against the L1 event at its
/// queue index: a forced withdrawal (amount 0) of the same account and
/// asset, sent by the same owner.
fn check_forced_event(
    e: &DepositEvent,
    account: u32,
    asset: u32,
    l1_owner: &[u8; 20],
) -> Result<(), ApplyError> {
    if !e.is_forced_withdrawal() {
        return Err(ApplyError::QueueKindMismatch {
            queue_index: e.queue_index,
            data: "forced withdrawal",
            l1: event_kind(e),
        });
    }
    let field = if e.account != account {
        "account"
    } else if e.asset != asset {
        "asset"
    } else if e.sender != *l1_owner {
        "owner"
    } else {
        return Ok(());
    };
    Err(ApplyError::ForcedWithdrawalMismatch {
        queue_index: e.queue_index,
        field,
    })
}

/// Checks a deposit of the data against the L1 event at its queue index.
fn check_event(
    e: &DepositEvent,
    account: u32,
    asset: u32,
    amount: u128,
    l1_sender: &[u8; 20],
    key_hash: Fr,
) -> Result<(), ApplyError> {
    if e.is_forced_withdrawal() {
        return Err(ApplyError::QueueKindMismatch {
            queue_index: e.queue_index,
            data: "deposit",
            l1: event_kind(e),
        });
    }
    let field = if e.account != account {
        "account"
    } else if e.asset != asset {
        "asset"
    } else if e.amount != amount {
        "amount"
    } else if e.sender != *l1_sender {
        "sender"
    } else if e.key_hash() != key_hash {
        "key hash"
    } else {
        return Ok(());
    };
    Err(ApplyError::DepositMismatch {
        queue_index: e.queue_index,
        field,
    })
}

/// Applies one operation to the overlay. `events` are the L1 queue's
/// events by queue index (checked where present, and the keys of new
/// accounts read from them).
/// On an error the overlay may hold part of the operation's writes.
pub(super) fn apply_op(
    o: &mut Overlay<'_>,
    op: &Op,
    events: &BTreeMap<u64, DepositEvent>,
) -> Result<(), ApplyError> {
    match *op {
        Op::Deposit {
            account,
            asset,
            amount,
            ref l1_sender,
            key_hash,
        } => {
            let queue_index = o.next_deposit;
            let event = events.get(&queue_index);
            if let Some(e) = event {
                check_event(e, account, asset, amount, l1_sender, key_hash)?;
            }
            if o.account(account)?.is_none() {
                if key_hash == zero_key_hash() {
                    return Err(ApplyError::ZeroKeyNewAccount { account });
                }
                // The full key where L1 told it, else only its hash (all the
                // leaf needs); `Reconstructed::public_key` tells them apart.
                let pubkey = event.map_or(
                    PublicKey {
                        x: Fr::from(0u64),
                        y: Fr::from(0u64),
                    },
                    DepositEvent::pubkey,
                );
                let acc = Account {
                    pubkey,
                    pubkey_hash: key_hash,
                    nonce: 0,
                };
                o.set(Key::Account(account), Leaf::Account(acc));
            }
            o.credit(account, asset, amount)?;
            o.next_deposit += 1;
        }
        Op::Transfer {
            from,
            to,
            asset,
            amount,
        } => {
            if from == to {
                return Err(ApplyError::SelfTransfer { account: from });
            }
            o.bump_nonce(from)?;
            if o.account(to)?.is_none() {
                return Err(ApplyError::UnknownAccount { account: to });
            }
            o.debit(from, asset, amount)?;
            o.credit(to, asset, amount)?;
        }
        Op::Swap {
            account,
            pool: id,
            a_to_b,
            amount_in,
            amount_out,
        } => {
            o.bump_nonce(account)?;
            let mut p = o.existing_pool(id)?;
            let (tin, tout) = if a_to_b {
                (p.token_a, p.token_b)
            } else {
                (p.token_b, p.token_a)
            };
            o.debit(account, tin, amount_in)?;
            o.credit(account, tout, amount_out)?;
            if a_to_b {
                p.reserve_a = pool_field(id, "reserve A", p.reserve_a, amount_in, true)?;
                p.reserve_b = pool_field(id, "reserve B", p.reserve_b, amount_out, false)?;
            } else {
                p.reserve_b = pool_field(id, "reserve B", p.reserve_b, amount_in, true)?;
                p.reserve_a = pool_field(id, "reserve A", p.reserve_a, amount_out, false)?;
            }
            o.set(Key::Pool(id), Leaf::Pool(p));
        }
        Op::AddLiquidity {
            account,
            pool: id,
            amount_a,
            amount_b,
            lp_minted,
        } => {
            o.bump_nonce(account)?;
            let mut p = o.existing_pool(id)?;
            let locked = if p.lp_supply == 0 {
                MINIMUM_LIQUIDITY
            } else {
                0
            };
            o.debit(account, p.token_a, amount_a)?;
            o.debit(account, p.token_b, amount_b)?;
            o.credit(account, Pool::lp_asset(id), lp_minted)?;
            p.reserve_a = pool_field(id, "reserve A", p.reserve_a, amount_a, true)?;
            p.reserve_b = pool_field(id, "reserve B", p.reserve_b, amount_b, true)?;
            p.lp_supply = pool_field(id, "LP supply", p.lp_supply, lp_minted + locked, true)?;
            o.set(Key::Pool(id), Leaf::Pool(p));
        }
        Op::RemoveLiquidity {
            account,
            pool: id,
            lp_amount,
            out_a,
            out_b,
        } => {
            o.bump_nonce(account)?;
            let mut p = o.existing_pool(id)?;
            o.debit(account, Pool::lp_asset(id), lp_amount)?;
            o.credit(account, p.token_a, out_a)?;
            o.credit(account, p.token_b, out_b)?;
            p.reserve_a = pool_field(id, "reserve A", p.reserve_a, out_a, false)?;
            p.reserve_b = pool_field(id, "reserve B", p.reserve_b, out_b, false)?;
            p.lp_supply = pool_field(id, "LP supply", p.lp_supply, lp_amount, false)?;
            o.set(Key::Pool(id), Leaf::Pool(p));
        }
        Op::Withdraw {
            account,
            asset,
            amount,
            ..
        } => {
            o.bump_nonce(account)?;
            o.debit(account, asset, amount)?;
        }
        Op::CreatePool {
            account,
            pool: id,
            token_a,
            token_b,
            fee_bps,
        } => {
            o.bump_nonce(account)?;
            if o.pool(id)?.is_some() {
                return Err(ApplyError::PoolExists { pool: id });
            }
            let p = Pool {
                token_a,
                token_b,
                fee_bps,
                reserve_a: 0,
                reserve_b: 0,
                lp_supply: 0,
            };
            o.set(Key::Pool(id), Leaf::Pool(p));
        }
        Op::ForcedWithdraw {
            account,
            asset,
            amount,
            ref l1_owner,
        } => {
            let queue_index = o.next_deposit;
            if let Some(e) = events.get(&queue_index) {
                check_forced_event(e, account, asset, l1_owner)?;
            }
            if o.account(account)?.is_none() {
                return Err(ApplyError::UnknownAccount { account });
            }
            let balance = o.balance(account, asset)?;
            if balance != amount {
                return Err(ApplyError::ForcedAmountMismatch {
                    account,
                    asset,
                    balance,
                    amount,
                });
            }
            o.set(Key::Balance(account, asset), Leaf::Balance(0));
            o.forced.push(ForcedWithdrawal {
                queue_index,
                account,
                asset,
                amount,
                l1_owner: *l1_owner,
            });
            o.next_deposit += 1;
        }
    }
    Ok(())
}
