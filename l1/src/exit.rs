//! Exit proofs: what a user hands the Rollup contract in exit mode to take
//! its assets out of the final state without the operator.
//!
//! ```text
//!  State (the executor's, or rebuilt from L1) ──► smt::Tree ──► leaf + 32 siblings ──► exit / exitLiquidity calldata
//! ```
//!
//! - [`ExitProof`]: an account's balance of a plain token: the balance leaf
//!   `compress(BalanceLeaf, balance, 0)` at index `account << 12 | asset`
//!   and its Merkle path (leaf level first) to the root; the contract's
//!   `exit` recomputes the root with the Solidity Poseidon.
//! - [`LiquidityExitProof`]: an account's LP shares of a pool (asset
//!   `2048 + pool`) with the pool's leaf and both paths; the contract's
//!   `exitLiquidity` pays the pro-rata part of the pool's reserves.
//!
//! Both are checked natively ([`ExitProof::verify`],
//! [`LiquidityExitProof::verify`]) with `zklanes_executor::smt::
//! root_from_path`, exactly what the contract recomputes, and serialize to
//! JSON with field elements as `0x`-hex and amounts as decimal strings.

use revm::primitives::U256;
use serde::{Deserialize, Serialize};
use zklanes_executor::field::{fr_to_hex, serde_fr, Fr};
use zklanes_executor::params::{
    leaf_index, LP_ASSET_BASE, MAX_ACCOUNT, MAX_POOL, MAX_TOKEN, TREE_DEPTH,
};
use zklanes_executor::smt::{root_from_path, Tree};
use zklanes_executor::state::{Key, Leaf, Pool, State};

use crate::log::dec_u128;
use crate::reconstruct::Reconstructed;
use crate::rollup::{exit_calldata, exit_liquidity_calldata};

/// Why an exit proof cannot be built or does not verify.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ExitError {
    /// The account id is not one a deposit can create.
    #[error("account {account} is out of range 1..={MAX_ACCOUNT}")]
    AccountOutOfRange {
        /// The account.
        account: u32,
    },
    /// The asset is not a plain token.
    #[error("asset {asset} is not a plain token (1..={MAX_TOKEN}): LP shares (asset {LP_ASSET_BASE} + pool) exit with a liquidity exit proof")]
    NotPlainAsset {
        /// The asset.
        asset: u32,
    },
    /// The pool id is out of range.
    #[error("pool {pool} is out of range 1..={MAX_POOL}")]
    PoolOutOfRange {
        /// The pool.
        pool: u32,
    },
    /// The account is not in the state.
    #[error("account {account} does not exist in the state")]
    NoAccount {
        /// The account.
        account: u32,
    },
    /// The account holds none of the asset: nothing to exit.
    #[error("account {account} holds no asset {asset}: nothing to exit")]
    NoBalance {
        /// The account.
        account: u32,
        /// The asset.
        asset: u32,
    },
    /// The pool is not in the state.
    #[error("pool {pool} does not exist in the state")]
    NoPool {
        /// The pool.
        pool: u32,
    },
    /// The proof's leaf index is not its key's.
    #[error("leaf index {got} is not the key's index {expected}")]
    WrongLeafIndex {
        /// The index the key gives.
        expected: u64,
        /// The index in the proof.
        got: u64,
    },
    /// The Merkle path does not lead to the proof's root.
    #[error(
        "the {what} path leads to {}, not to the root {}",
        fr_to_hex(computed),
        fr_to_hex(root)
    )]
    PathMismatch {
        /// Which leaf (`balance`, `shares`, `pool`).
        what: &'static str,
        /// The proof's root.
        root: Fr,
        /// The root the path gives.
        computed: Fr,
    },
    /// The proof is against another root than the expected one.
    #[error(
        "the proof is against root {}, the contract holds {}",
        fr_to_hex(proof),
        fr_to_hex(expected)
    )]
    WrongRoot {
        /// The proof's root.
        proof: Fr,
        /// The expected root.
        expected: Fr,
    },
}

/// The state tree of `state`: every nonempty leaf's hash at its index.
pub fn state_tree(state: &State) -> Tree {
    let mut updates: Vec<(u64, Fr)> = state
        .leaves
        .iter()
        .map(|(index, leaf)| (*index, leaf.hash()))
        .collect();
    updates.sort_unstable_by_key(|(index, _)| *index);
    let mut tree = Tree::default();
    tree.apply(&updates);
    tree
}

/// An account's balance of a plain token in the final state, with its
/// Merkle path: the arguments of the contract's `exit`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExitProof {
    /// The state root the path leads to (the contract's last root).
    #[serde(with = "serde_fr")]
    pub root: Fr,
    /// The account.
    pub account: u32,
    /// The plain token (`1..=MAX_TOKEN`).
    pub asset: u32,
    /// The balance (what the account's L1 owner receives).
    #[serde(with = "dec_u128")]
    pub balance: u128,
    /// The balance leaf's index, `account << 12 | asset`.
    pub leaf_index: u64,
    /// The siblings of the leaf's path, leaf level first.
    #[serde(with = "serde_siblings")]
    pub siblings: [Fr; TREE_DEPTH],
}

fn check_account(state: &State, account: u32) -> Result<(), ExitError> {
    if account == 0 || account > MAX_ACCOUNT {
        return Err(ExitError::AccountOutOfRange { account });
    }
    match state.get(Key::Account(account)) {
        Leaf::Account(_) => Ok(()),
        _ => Err(ExitError::NoAccount { account }),
    }
}

fn balance_of(state: &State, account: u32, asset: u32) -> Result<u128, ExitError> {
    match state.get(Key::Balance(account, asset)) {
        Leaf::Balance(b) if b > 0 => Ok(b),
        _ => Err(ExitError::NoBalance { account, asset }),
    }
}

/// Checks a path from `leaf` at `index` to `root`.
fn check_path(
    what: &'static str,
    index: u64,
    leaf: Fr,
    siblings: &[Fr; TREE_DEPTH],
    root: Fr,
) -> Result<(), ExitError> {
    let computed = root_from_path(index, leaf, siblings);
    if computed == root {
        Ok(())
    } else {
        Err(ExitError::PathMismatch {
            what,
            root,
            computed,
        })
    }
}

impl ExitProof {
    /// The proof of `account`'s balance of `asset` in `state`, whose tree
    /// is `tree` ([`state_tree`], or a reconstruction's).
    pub fn new(state: &State, tree: &Tree, account: u32, asset: u32) -> Result<Self, ExitError> {
        if asset == 0 || asset > MAX_TOKEN {
            return Err(ExitError::NotPlainAsset { asset });
        }
        check_account(state, account)?;
        let balance = balance_of(state, account, asset)?;
        let index = Key::Balance(account, asset).index();
        let proof = Self {
            root: tree.root(),
            account,
            asset,
            balance,
            leaf_index: index,
            siblings: tree.siblings(index),
        };
        proof.verify()?;
        Ok(proof)
    }

    /// The proof from a state rebuilt from L1 ([`crate::reconstruct`]).
    pub fn from_reconstructed(
        r: &Reconstructed,
        account: u32,
        asset: u32,
    ) -> Result<Self, ExitError> {
        Self::new(&r.state, &r.tree, account, asset)
    }

    /// Checks the proof as the contract does (ranges, a nonzero balance,
    /// the leaf index, the path to `root`).
    pub fn verify(&self) -> Result<(), ExitError> {
        if self.account == 0 || self.account > MAX_ACCOUNT {
            return Err(ExitError::AccountOutOfRange {
                account: self.account,
            });
        }
        if self.asset == 0 || self.asset > MAX_TOKEN {
            return Err(ExitError::NotPlainAsset { asset: self.asset });
        }
        if self.balance == 0 {
            return Err(ExitError::NoBalance {
                account: self.account,
                asset: self.asset,
            });
        }
        let expected = leaf_index(self.account, self.asset);
        if self.leaf_index != expected {
            return Err(ExitError::WrongLeafIndex {
                expected,
                got: self.leaf_index,
            });
        }
        let leaf = Leaf::Balance(self.balance).hash();
        check_path("balance", expected, leaf, &self.siblings, self.root)
    }

    /// [`Self::verify`], and the proof is against `root` (the contract's).
    pub fn verify_against(&self, root: &Fr) -> Result<(), ExitError> {
        self.verify()?;
        check_root(&self.root, root)
    }

    /// Calldata of the contract's `exit` for this proof.
    pub fn calldata(&self) -> Vec<u8> {
        exit_calldata(self.account, self.asset, self.balance, &self.siblings)
    }
}

fn check_root(proof: &Fr, expected: &Fr) -> Result<(), ExitError> {
    if proof == expected {
        Ok(())
    } else {
        Err(ExitError::WrongRoot {
            proof: *proof,
            expected: *expected,
        })
    }
}

/// An account's LP shares of a pool in the final state, with the pool's
/// leaf and both Merkle paths: the arguments of the contract's
/// `exitLiquidity`, and what it pays.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiquidityExitProof {
    /// The state root both paths lead to (the contract's last root).
    #[serde(with = "serde_fr")]
    pub root: Fr,
    /// The account.
    pub account: u32,
    /// The pool (its shares are asset `2048 + pool`).
    pub pool: u32,
    /// The account's shares.
    #[serde(with = "dec_u128")]
    pub shares: u128,
    /// The shares' balance leaf index, `account << 12 | (2048 + pool)`.
    pub share_leaf_index: u64,
    /// The siblings of the shares' path, leaf level first.
    #[serde(with = "serde_siblings")]
    pub share_siblings: [Fr; TREE_DEPTH],
    /// The pool's leaf.
    pub pool_leaf: PoolLeaf,
    /// The siblings of the pool leaf's path (index `pool`), leaf level first.
    #[serde(with = "serde_siblings")]
    pub pool_siblings: [Fr; TREE_DEPTH],
    /// What the owner receives of the pool's first token: `shares ·
    /// reserve_a / lp_supply`, rounded down.
    #[serde(with = "dec_u128")]
    pub amount_a: u128,
    /// What the owner receives of the pool's second token.
    #[serde(with = "dec_u128")]
    pub amount_b: u128,
}

/// A pool leaf's fields (`zklanes_executor::state::Pool`), amounts as
/// decimal strings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolLeaf {
    /// Lower token id.
    pub token_a: u32,
    /// Higher token id.
    pub token_b: u32,
    /// Fee, basis points.
    pub fee_bps: u16,
    /// Reserve of token A.
    #[serde(with = "dec_u128")]
    pub reserve_a: u128,
    /// Reserve of token B.
    #[serde(with = "dec_u128")]
    pub reserve_b: u128,
    /// LP shares outstanding (the locked minimum included).
    #[serde(with = "dec_u128")]
    pub lp_supply: u128,
}

impl From<Pool> for PoolLeaf {
    fn from(p: Pool) -> Self {
        Self {
            token_a: p.token_a,
            token_b: p.token_b,
            fee_bps: p.fee_bps,
            reserve_a: p.reserve_a,
            reserve_b: p.reserve_b,
            lp_supply: p.lp_supply,
        }
    }
}

impl From<PoolLeaf> for Pool {
    fn from(p: PoolLeaf) -> Self {
        Self {
            token_a: p.token_a,
            token_b: p.token_b,
            fee_bps: p.fee_bps,
            reserve_a: p.reserve_a,
            reserve_b: p.reserve_b,
            lp_supply: p.lp_supply,
        }
    }
}

/// `shares · reserve / supply`, rounded down (0 for an empty supply), as
/// the contract computes it (in 256 bits).
fn pro_rata(shares: u128, reserve: u128, supply: u128) -> u128 {
    if supply == 0 {
        return 0;
    }
    let q = U256::from(shares) * U256::from(reserve) / U256::from(supply);
    // shares ≤ supply in a consistent state; saturate otherwise.
    q.saturating_to()
}

impl LiquidityExitProof {
    /// The proof of `account`'s shares of `pool` in `state`, whose tree is
    /// `tree` ([`state_tree`], or a reconstruction's).
    pub fn new(state: &State, tree: &Tree, account: u32, pool: u32) -> Result<Self, ExitError> {
        if pool == 0 || pool > MAX_POOL {
            return Err(ExitError::PoolOutOfRange { pool });
        }
        check_account(state, account)?;
        let lp = Pool::lp_asset(pool);
        let shares = balance_of(state, account, lp)?;
        let Leaf::Pool(p) = state.get(Key::Pool(pool)) else {
            return Err(ExitError::NoPool { pool });
        };
        let share_index = Key::Balance(account, lp).index();
        let pool_index = Key::Pool(pool).index();
        let proof = Self {
            root: tree.root(),
            account,
            pool,
            shares,
            share_leaf_index: share_index,
            share_siblings: tree.siblings(share_index),
            pool_leaf: p.into(),
            pool_siblings: tree.siblings(pool_index),
            amount_a: pro_rata(shares, p.reserve_a, p.lp_supply),
            amount_b: pro_rata(shares, p.reserve_b, p.lp_supply),
        };
        proof.verify()?;
        Ok(proof)
    }

    /// The proof from a state rebuilt from L1 ([`crate::reconstruct`]).
    pub fn from_reconstructed(
        r: &Reconstructed,
        account: u32,
        pool: u32,
    ) -> Result<Self, ExitError> {
        Self::new(&r.state, &r.tree, account, pool)
    }

    /// Checks the proof as the contract does (ranges, nonzero shares, the
    /// leaf indices, both paths to `root`), and its payouts.
    pub fn verify(&self) -> Result<(), ExitError> {
        if self.account == 0 || self.account > MAX_ACCOUNT {
            return Err(ExitError::AccountOutOfRange {
                account: self.account,
            });
        }
        if self.pool == 0 || self.pool > MAX_POOL {
            return Err(ExitError::PoolOutOfRange { pool: self.pool });
        }
        let lp = Pool::lp_asset(self.pool);
        if self.shares == 0 {
            return Err(ExitError::NoBalance {
                account: self.account,
                asset: lp,
            });
        }
        let expected = leaf_index(self.account, lp);
        if self.share_leaf_index != expected {
            return Err(ExitError::WrongLeafIndex {
                expected,
                got: self.share_leaf_index,
            });
        }
        let leaf = Leaf::Balance(self.shares).hash();
        check_path("shares", expected, leaf, &self.share_siblings, self.root)?;
        let pool = Leaf::Pool(self.pool_leaf.into()).hash();
        let pool_index = Key::Pool(self.pool).index();
        check_path("pool", pool_index, pool, &self.pool_siblings, self.root)
    }

    /// [`Self::verify`], and the proof is against `root` (the contract's).
    pub fn verify_against(&self, root: &Fr) -> Result<(), ExitError> {
        self.verify()?;
        check_root(&self.root, root)
    }

    /// Calldata of the contract's `exitLiquidity` for this proof.
    pub fn calldata(&self) -> Vec<u8> {
        exit_liquidity_calldata(
            self.account,
            self.pool,
            self.shares,
            &self.share_siblings,
            Pool::from(self.pool_leaf).packed(),
            &self.pool_siblings,
        )
    }
}

/// Either exit proof, by the asset asked for: a plain token's balance, or
/// the LP shares of pool `asset − 2048`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AnyExitProof {
    /// A plain token's balance (`exit`).
    Balance(Box<ExitProof>),
    /// LP shares (`exitLiquidity`).
    Liquidity(Box<LiquidityExitProof>),
}

impl AnyExitProof {
    /// The proof of `account`'s `asset` in `state` (tree `tree`): a plain
    /// token's balance, or LP shares for an LP asset.
    pub fn new(state: &State, tree: &Tree, account: u32, asset: u32) -> Result<Self, ExitError> {
        if asset >= LP_ASSET_BASE {
            LiquidityExitProof::new(state, tree, account, asset - LP_ASSET_BASE)
                .map(|p| Self::Liquidity(Box::new(p)))
        } else {
            ExitProof::new(state, tree, account, asset).map(|p| Self::Balance(Box::new(p)))
        }
    }

    /// The proof's root.
    pub fn root(&self) -> Fr {
        match self {
            Self::Balance(p) => p.root,
            Self::Liquidity(p) => p.root,
        }
    }

    /// Calldata of the contract function that takes it.
    pub fn calldata(&self) -> Vec<u8> {
        match self {
            Self::Balance(p) => p.calldata(),
            Self::Liquidity(p) => p.calldata(),
        }
    }

    /// Checks it natively ([`ExitProof::verify`], [`LiquidityExitProof::verify`]).
    pub fn verify(&self) -> Result<(), ExitError> {
        match self {
            Self::Balance(p) => p.verify(),
            Self::Liquidity(p) => p.verify(),
        }
    }
}

/// Serde adapter: a Merkle path's [`TREE_DEPTH`] siblings as `0x`-hex field
/// elements (canonical, exactly that many).
pub mod serde_siblings {
    use serde::{Deserializer, Serializer};
    use zklanes_executor::field::{serde_fr_vec, Fr};
    use zklanes_executor::params::TREE_DEPTH;

    /// Serializes.
    pub fn serialize<S: Serializer>(v: &[Fr; TREE_DEPTH], s: S) -> Result<S::Ok, S::Error> {
        serde_fr_vec::serialize(v, s)
    }

    /// Deserializes.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[Fr; TREE_DEPTH], D::Error> {
        let v = serde_fr_vec::deserialize(d)?;
        let n = v.len();
        v.try_into().map_err(|_| {
            serde::de::Error::custom(format!("a path has {TREE_DEPTH} siblings, got {n}"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pro_rata_rounds_down_in_256_bits() {
        assert_eq!(pro_rata(3, 10, 4), 7);
        assert_eq!(pro_rata(1, 10, 0), 0);
        let max = (1u128 << 112) - 1;
        assert_eq!(pro_rata(max, max, max), max);
        assert_eq!(pro_rata(max - 1, max, max), max - 1);
    }
}
