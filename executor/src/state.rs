//! The rollup state: accounts, balances and pools, as leaves of one tree.
//!
//! Leaf index `account << SLOT_BITS | slot` (see [`crate::params`]):
//! - `(a, 0)`: account leaf `compress(AccountLeaf, pubkey_hash, nonce)`;
//! - `(a, asset)`: balance leaf `compress(BalanceLeaf, balance, 0)`;
//! - `(0, pool)`: pool leaf `compress(PoolLeaf, lo, hi)` with
//!   `lo = token_a(12) token_b(12) fee_bps(14) reserve_a(112)` and
//!   `hi = reserve_b(112) lp_supply(112)`.
//!
//! A leaf whose value is the default (no account, zero balance, no pool)
//! hashes to 0, the empty leaf, so the tree is canonical.

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::field::{serde_fr, Fr};
use crate::pack::Packer;
use crate::params::*;
use crate::poseidon::{self, Tag};
use crate::signature::PublicKey;

/// An account.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    /// Its key.
    pub pubkey: PublicKey,
    /// Cached `pubkey.hash()`.
    #[serde(with = "serde_fr")]
    pub pubkey_hash: Fr,
    /// Next nonce.
    pub nonce: u32,
}

impl Account {
    /// A fresh account (nonce 0).
    pub fn new(pubkey: PublicKey) -> Self {
        Self {
            pubkey,
            pubkey_hash: pubkey.hash(),
            nonce: 0,
        }
    }
}

/// A constant-product pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pool {
    /// Lower token id.
    pub token_a: u32,
    /// Higher token id.
    pub token_b: u32,
    /// Fee in basis points.
    pub fee_bps: u16,
    /// Reserve of token A.
    pub reserve_a: u128,
    /// Reserve of token B.
    pub reserve_b: u128,
    /// LP shares outstanding (including the locked minimum).
    pub lp_supply: u128,
}

/// One leaf's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Leaf {
    /// Nothing there (hashes to 0).
    Empty,
    /// An account leaf.
    Account(Account),
    /// A nonzero balance.
    Balance(u128),
    /// A pool.
    Pool(Pool),
}

impl Leaf {
    /// The leaf hash stored in the tree.
    pub fn hash(&self) -> Fr {
        match self {
            Leaf::Empty | Leaf::Balance(0) => Fr::from(0u64),
            Leaf::Account(a) => {
                poseidon::compress(Tag::AccountLeaf, a.pubkey_hash, Fr::from(a.nonce as u64))
            }
            Leaf::Balance(b) => poseidon::compress(Tag::BalanceLeaf, Fr::from(*b), Fr::from(0u64)),
            Leaf::Pool(p) => {
                let (lo, hi) = p.packed();
                poseidon::compress(Tag::PoolLeaf, lo, hi)
            }
        }
    }

    /// Normalises a zero balance to `Empty`.
    pub fn balance(b: u128) -> Leaf {
        if b == 0 {
            Leaf::Empty
        } else {
            Leaf::Balance(b)
        }
    }
}

impl Pool {
    /// The two packed elements of the pool leaf.
    pub fn packed(&self) -> (Fr, Fr) {
        let lo = Packer::new()
            .push(self.token_a as u128, SLOT_BITS)
            .push(self.token_b as u128, SLOT_BITS)
            .push(self.fee_bps as u128, FEE_BITS)
            .push(self.reserve_a, BALANCE_BITS)
            .finish();
        let hi = Packer::new()
            .push(self.reserve_b, BALANCE_BITS)
            .push(self.lp_supply, BALANCE_BITS)
            .finish();
        (lo, hi)
    }

    /// The LP asset id of pool `pool`.
    pub fn lp_asset(pool: u32) -> u32 {
        LP_ASSET_BASE + pool
    }
}

/// A state key, as the leaf index it names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Key {
    /// The account leaf of an account.
    Account(u32),
    /// A balance.
    Balance(u32, u32),
    /// A pool record.
    Pool(u32),
}

impl Key {
    /// Leaf index in the tree.
    #[inline]
    pub fn index(self) -> u64 {
        match self {
            Key::Account(a) => leaf_index(a, 0),
            Key::Balance(a, asset) => leaf_index(a, asset),
            Key::Pool(p) => leaf_index(POOL_REGISTRY_ACCOUNT, p),
        }
    }
}

/// The whole state in memory: every nonempty leaf by index.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct State {
    /// Nonempty leaves.
    pub leaves: FxHashMap<u64, Leaf>,
    /// Next L1 queue index to consume (deposits and forced withdrawals
    /// share the queue).
    pub next_deposit: u64,
}

impl State {
    /// The leaf at `key` (`Empty` when absent).
    #[inline]
    pub fn get(&self, key: Key) -> Leaf {
        self.leaves
            .get(&key.index())
            .copied()
            .unwrap_or(Leaf::Empty)
    }

    /// Sets a leaf (removing it when empty).
    #[inline]
    pub fn set(&mut self, key: Key, leaf: Leaf) {
        match leaf {
            Leaf::Empty | Leaf::Balance(0) => {
                self.leaves.remove(&key.index());
            }
            _ => {
                self.leaves.insert(key.index(), leaf);
            }
        }
    }
}
