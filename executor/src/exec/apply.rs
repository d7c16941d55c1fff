//! The semantics of one transaction, shared by every executor.
//!
//! [`apply_tx`] reads state through a [`StateView`], checks everything, and
//! returns the leaf writes in a fixed order (the order the circuit updates the
//! tree) without writing anything. A failing transaction therefore leaves the
//! view untouched. Signatures and deposit queue order are checked by the caller.

use arrayvec::ArrayVec;

use crate::amm;
use crate::error::TxError;
use crate::params::*;
use crate::state::{Account, Key, Leaf, Pool};
use crate::tx::*;

/// Most leaves one transaction writes.
pub const MAX_WRITES: usize = 5;

/// Read access to state for one transaction.
pub trait StateView {
    /// The leaf at `key`. `Err` means the executor broke its own invariant
    /// (for example a key outside the declared access set).
    fn get(&self, key: Key) -> Result<Leaf, Invariant>;
}

/// An internal invariant failure; the caller falls back to sequential execution.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("executor invariant broken: {0}")]
pub struct Invariant(pub String);

/// Why `apply_tx` did not succeed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ApplyError {
    /// The transaction is invalid.
    Tx(TxError),
    /// The executor is broken.
    Invariant(Invariant),
}

impl From<TxError> for ApplyError {
    fn from(e: TxError) -> Self {
        ApplyError::Tx(e)
    }
}

impl From<Invariant> for ApplyError {
    fn from(e: Invariant) -> Self {
        ApplyError::Invariant(e)
    }
}

/// What a successful transaction produced.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Receipt {
    /// Transaction type.
    pub tx_type: TxType,
    /// Type-specific outputs: swap `[out, 0]` (`out ≤ MAX_AMOUNT`), add
    /// liquidity `[lp_minted, 0]`, remove liquidity `[out_a, out_b]`, forced
    /// withdrawal `[amount, 0]` (the whole balance; these four below
    /// 2^112), others `[0, 0]`.
    pub outputs: [u128; 2],
}

/// Leaf writes of one transaction, in circuit order.
pub type Writes = ArrayVec<(Key, Leaf), MAX_WRITES>;

/// The keys a transaction may read or write (its declared access set), in
/// the order of its writes. Pool tokens never change after creation, so pool
/// transactions resolve their balance keys through `pool_tokens` (known from
/// the pre-state and the batch's pool creations); an unresolved pool
/// declares only the account and pool keys (the transaction then fails).
pub fn access_keys(
    body: &TxBody,
    pool_tokens: impl Fn(u32) -> Option<(u32, u32)>,
) -> ArrayVec<Key, MAX_WRITES> {
    let mut k = ArrayVec::new();
    match body {
        TxBody::Deposit(d) => {
            k.push(Key::Account(d.account));
            k.push(Key::Balance(d.account, d.asset));
        }
        TxBody::Transfer(t) => {
            k.push(Key::Account(t.from));
            k.push(Key::Balance(t.from, t.asset));
            k.push(Key::Balance(t.to, t.asset));
            k.push(Key::Account(t.to));
        }
        TxBody::Swap(t) => {
            k.push(Key::Account(t.account));
            if let Some((a, b)) = pool_tokens(t.pool) {
                let (tin, tout) = if t.a_to_b { (a, b) } else { (b, a) };
                k.push(Key::Balance(t.account, tin));
                k.push(Key::Balance(t.account, tout));
            }
            k.push(Key::Pool(t.pool));
        }
        TxBody::AddLiquidity(AddLiquidity { account, pool, .. }) => {
            k.push(Key::Account(*account));
            if let Some((a, b)) = pool_tokens(*pool) {
                k.push(Key::Balance(*account, a));
                k.push(Key::Balance(*account, b));
                k.push(Key::Balance(*account, Pool::lp_asset(*pool)));
            }
            k.push(Key::Pool(*pool));
        }
        TxBody::RemoveLiquidity(RemoveLiquidity { account, pool, .. }) => {
            k.push(Key::Account(*account));
            if let Some((a, b)) = pool_tokens(*pool) {
                k.push(Key::Balance(*account, Pool::lp_asset(*pool)));
                k.push(Key::Balance(*account, a));
                k.push(Key::Balance(*account, b));
            }
            k.push(Key::Pool(*pool));
        }
        TxBody::Withdraw(t) => {
            k.push(Key::Account(t.account));
            k.push(Key::Balance(t.account, t.asset));
        }
        TxBody::ForcedWithdraw(f) => {
            k.push(Key::Account(f.account));
            k.push(Key::Balance(f.account, f.asset));
        }
        TxBody::CreatePool(t) => {
            k.push(Key::Account(t.account));
            k.push(Key::Pool(t.pool));
        }
    }
    k
}

fn balance_of(view: &impl StateView, account: u32, asset: u32) -> Result<u128, ApplyError> {
    match view.get(Key::Balance(account, asset))? {
        Leaf::Empty => Ok(0),
        Leaf::Balance(b) => Ok(b),
        other => Err(Invariant(format!("balance key holds {other:?}")).into()),
    }
}

fn account_of(view: &impl StateView, account: u32) -> Result<Option<Account>, ApplyError> {
    match view.get(Key::Account(account))? {
        Leaf::Empty => Ok(None),
        Leaf::Account(a) => Ok(Some(a)),
        other => Err(Invariant(format!("account key holds {other:?}")).into()),
    }
}

fn pool_of(view: &impl StateView, pool: u32) -> Result<Option<Pool>, ApplyError> {
    match view.get(Key::Pool(pool))? {
        Leaf::Empty => Ok(None),
        Leaf::Pool(p) => Ok(Some(p)),
        other => Err(Invariant(format!("pool key holds {other:?}")).into()),
    }
}

/// Checks the signer's nonce and returns its account with the nonce bumped.
fn bump_nonce(view: &impl StateView, account: u32, nonce: u32) -> Result<Account, ApplyError> {
    let mut acc = account_of(view, account)?.ok_or(TxError::UnknownAccount { account })?;
    if acc.nonce != nonce {
        return Err(TxError::BadNonce {
            account,
            expected: acc.nonce,
            got: nonce,
        }
        .into());
    }
    acc.nonce = acc
        .nonce
        .checked_add(1)
        .ok_or(TxError::NonceOverflow { account })?;
    Ok(acc)
}

fn debit(balance: u128, amount: u128, account: u32, asset: u32) -> Result<u128, TxError> {
    balance
        .checked_sub(amount)
        .ok_or(TxError::InsufficientBalance {
            account,
            asset,
            balance,
            needed: amount,
        })
}

fn credit(balance: u128, amount: u128, account: u32, asset: u32) -> Result<u128, TxError> {
    let b = balance + amount; // both below 2^112: no u128 overflow
    if b > MAX_BALANCE {
        return Err(TxError::BalanceOverflow { account, asset });
    }
    Ok(b)
}

fn nonzero(amount: u128) -> Result<u128, TxError> {
    if amount == 0 {
        Err(TxError::ZeroAmount)
    } else {
        Ok(amount)
    }
}

/// Applies one transaction's semantics: checks and computes its writes.
/// Widths must have been checked ([`TxBody::check_widths`]).
pub fn apply_tx(view: &impl StateView, body: &TxBody) -> Result<(Receipt, Writes), ApplyError> {
    let mut w = Writes::new();
    let mut outputs = [0u128; 2];
    match body {
        TxBody::Deposit(d) => {
            let acc = match account_of(view, d.account)? {
                Some(a) => a,
                None => {
                    if d.pubkey.point().is_none() {
                        return Err(TxError::InvalidPublicKey { account: d.account }.into());
                    }
                    Account::new(d.pubkey)
                }
            };
            let bal = credit(
                balance_of(view, d.account, d.asset)?,
                nonzero(d.amount)?,
                d.account,
                d.asset,
            )?;
            w.push((Key::Account(d.account), Leaf::Account(acc)));
            w.push((Key::Balance(d.account, d.asset), Leaf::balance(bal)));
        }
        TxBody::Transfer(t) => {
            if t.from == t.to {
                return Err(TxError::SelfTransfer.into());
            }
            nonzero(t.amount)?;
            let acc = bump_nonce(view, t.from, t.nonce)?;
            if account_of(view, t.to)?.is_none() {
                return Err(TxError::UnknownAccount { account: t.to }.into());
            }
            let from_bal = debit(
                balance_of(view, t.from, t.asset)?,
                t.amount,
                t.from,
                t.asset,
            )?;
            let to_bal = credit(balance_of(view, t.to, t.asset)?, t.amount, t.to, t.asset)?;
            w.push((Key::Account(t.from), Leaf::Account(acc)));
            w.push((Key::Balance(t.from, t.asset), Leaf::balance(from_bal)));
            w.push((Key::Balance(t.to, t.asset), Leaf::balance(to_bal)));
        }
        TxBody::Swap(t) => {
            let acc = bump_nonce(view, t.account, t.nonce)?;
            let mut pool = pool_of(view, t.pool)?.ok_or(TxError::UnknownPool { pool: t.pool })?;
            nonzero(t.amount_in)?;
            let (tin, tout) = if t.a_to_b {
                (pool.token_a, pool.token_b)
            } else {
                (pool.token_b, pool.token_a)
            };
            let (rin, rout) = if t.a_to_b {
                (pool.reserve_a, pool.reserve_b)
            } else {
                (pool.reserve_b, pool.reserve_a)
            };
            if rin == 0 || rout == 0 {
                return Err(TxError::InsufficientLiquidity { pool: t.pool }.into());
            }
            let out = amm::swap_out(t.amount_in, rin, rout, pool.fee_bps);
            if out == 0 {
                return Err(TxError::InsufficientLiquidity { pool: t.pool }.into());
            }
            // Public data gives a swap output 12 bytes, as every amount.
            if out > MAX_AMOUNT {
                return Err(TxError::OutputTooLarge {
                    got: out,
                    max: MAX_AMOUNT,
                }
                .into());
            }
            if out < t.min_out {
                return Err(TxError::SlippageExceeded {
                    min: t.min_out,
                    got: out,
                }
                .into());
            }
            let bal_in = debit(
                balance_of(view, t.account, tin)?,
                t.amount_in,
                t.account,
                tin,
            )?;
            let bal_out = credit(balance_of(view, t.account, tout)?, out, t.account, tout)?;
            let new_rin = credit(rin, t.amount_in, POOL_REGISTRY_ACCOUNT, t.pool)?;
            let new_rout = rout - out; // out < rout by the formula
            if t.a_to_b {
                (pool.reserve_a, pool.reserve_b) = (new_rin, new_rout);
            } else {
                (pool.reserve_b, pool.reserve_a) = (new_rin, new_rout);
            }
            outputs[0] = out;
            w.push((Key::Account(t.account), Leaf::Account(acc)));
            w.push((Key::Balance(t.account, tin), Leaf::balance(bal_in)));
            w.push((Key::Balance(t.account, tout), Leaf::balance(bal_out)));
            w.push((Key::Pool(t.pool), Leaf::Pool(pool)));
        }
        TxBody::AddLiquidity(t) => {
            let acc = bump_nonce(view, t.account, t.nonce)?;
            let mut pool = pool_of(view, t.pool)?.ok_or(TxError::UnknownPool { pool: t.pool })?;
            nonzero(t.amount_a)?;
            nonzero(t.amount_b)?;
            let minted = amm::lp_minted(
                t.amount_a,
                t.amount_b,
                pool.reserve_a,
                pool.reserve_b,
                pool.lp_supply,
            );
            let user_lp = if pool.lp_supply == 0 {
                if minted <= MINIMUM_LIQUIDITY {
                    return Err(TxError::InsufficientLiquidity { pool: t.pool }.into());
                }
                minted - MINIMUM_LIQUIDITY
            } else {
                if minted == 0 {
                    return Err(TxError::InsufficientLiquidity { pool: t.pool }.into());
                }
                minted
            };
            if user_lp < t.min_lp {
                return Err(TxError::SlippageExceeded {
                    min: t.min_lp,
                    got: user_lp,
                }
                .into());
            }
            let lp_asset = Pool::lp_asset(t.pool);
            let bal_a = debit(
                balance_of(view, t.account, pool.token_a)?,
                t.amount_a,
                t.account,
                pool.token_a,
            )?;
            let bal_b = debit(
                balance_of(view, t.account, pool.token_b)?,
                t.amount_b,
                t.account,
                pool.token_b,
            )?;
            let bal_lp = credit(
                balance_of(view, t.account, lp_asset)?,
                user_lp,
                t.account,
                lp_asset,
            )?;
            pool.reserve_a = credit(pool.reserve_a, t.amount_a, POOL_REGISTRY_ACCOUNT, t.pool)?;
            pool.reserve_b = credit(pool.reserve_b, t.amount_b, POOL_REGISTRY_ACCOUNT, t.pool)?;
            pool.lp_supply = credit(pool.lp_supply, minted, POOL_REGISTRY_ACCOUNT, t.pool)?;
            outputs[0] = user_lp;
            w.push((Key::Account(t.account), Leaf::Account(acc)));
            w.push((Key::Balance(t.account, pool.token_a), Leaf::balance(bal_a)));
            w.push((Key::Balance(t.account, pool.token_b), Leaf::balance(bal_b)));
            w.push((Key::Balance(t.account, lp_asset), Leaf::balance(bal_lp)));
            w.push((Key::Pool(t.pool), Leaf::Pool(pool)));
        }
        TxBody::RemoveLiquidity(t) => {
            let acc = bump_nonce(view, t.account, t.nonce)?;
            let mut pool = pool_of(view, t.pool)?.ok_or(TxError::UnknownPool { pool: t.pool })?;
            nonzero(t.lp_amount)?;
            let lp_asset = Pool::lp_asset(t.pool);
            let bal_lp = debit(
                balance_of(view, t.account, lp_asset)?,
                t.lp_amount,
                t.account,
                lp_asset,
            )?;
            // The locked minimum is never held by anyone, so lp_amount < supply here.
            let out_a = amm::mul_div(t.lp_amount, pool.reserve_a, pool.lp_supply);
            let out_b = amm::mul_div(t.lp_amount, pool.reserve_b, pool.lp_supply);
            if out_a == 0 || out_b == 0 {
                return Err(TxError::InsufficientLiquidity { pool: t.pool }.into());
            }
            if out_a < t.min_a {
                return Err(TxError::SlippageExceeded {
                    min: t.min_a,
                    got: out_a,
                }
                .into());
            }
            if out_b < t.min_b {
                return Err(TxError::SlippageExceeded {
                    min: t.min_b,
                    got: out_b,
                }
                .into());
            }
            let bal_a = credit(
                balance_of(view, t.account, pool.token_a)?,
                out_a,
                t.account,
                pool.token_a,
            )?;
            let bal_b = credit(
                balance_of(view, t.account, pool.token_b)?,
                out_b,
                t.account,
                pool.token_b,
            )?;
            pool.reserve_a -= out_a;
            pool.reserve_b -= out_b;
            pool.lp_supply -= t.lp_amount;
            outputs = [out_a, out_b];
            w.push((Key::Account(t.account), Leaf::Account(acc)));
            w.push((Key::Balance(t.account, lp_asset), Leaf::balance(bal_lp)));
            w.push((Key::Balance(t.account, pool.token_a), Leaf::balance(bal_a)));
            w.push((Key::Balance(t.account, pool.token_b), Leaf::balance(bal_b)));
            w.push((Key::Pool(t.pool), Leaf::Pool(pool)));
        }
        TxBody::Withdraw(t) => {
            let acc = bump_nonce(view, t.account, t.nonce)?;
            let bal = debit(
                balance_of(view, t.account, t.asset)?,
                nonzero(t.amount)?,
                t.account,
                t.asset,
            )?;
            w.push((Key::Account(t.account), Leaf::Account(acc)));
            w.push((Key::Balance(t.account, t.asset), Leaf::balance(bal)));
        }
        TxBody::ForcedWithdraw(f) => {
            // Queued on L1 for an account L1 created, so the account exists
            // unless the queue was built by someone else than L1.
            let acc = account_of(view, f.account)?
                .ok_or(TxError::UnknownAccount { account: f.account })?;
            outputs[0] = balance_of(view, f.account, f.asset)?;
            w.push((Key::Account(f.account), Leaf::Account(acc)));
            w.push((Key::Balance(f.account, f.asset), Leaf::balance(0)));
        }
        TxBody::CreatePool(t) => {
            let acc = bump_nonce(view, t.account, t.nonce)?;
            if pool_of(view, t.pool)?.is_some() {
                return Err(TxError::PoolExists { pool: t.pool }.into());
            }
            let pool = Pool {
                token_a: t.token_a,
                token_b: t.token_b,
                fee_bps: t.fee_bps,
                reserve_a: 0,
                reserve_b: 0,
                lp_supply: 0,
            };
            w.push((Key::Account(t.account), Leaf::Account(acc)));
            w.push((Key::Pool(t.pool), Leaf::Pool(pool)));
        }
    }
    Ok((
        Receipt {
            tx_type: body.tx_type(),
            outputs,
        },
        w,
    ))
}
