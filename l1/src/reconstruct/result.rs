//! The rebuilt state, and Merkle proofs of its leaves against its root
//! (what an exit needs).

use zklanes_executor::field::Fr;
use zklanes_executor::params::TREE_DEPTH;
use zklanes_executor::signature::PublicKey;
use zklanes_executor::smt::{root_from_path, Tree};
use zklanes_executor::state::{Account, Key, Leaf, Pool, State};

use super::{BatchCheck, ForcedWithdrawal};
use crate::log::DepositEvent;

/// The state rebuilt from an L1 log.
#[derive(Clone, Debug)]
pub struct Reconstructed {
    /// The rollup's chain id.
    pub chain_id: u32,
    /// The state root (the contract's last root).
    pub root: Fr,
    /// The next batch number the contract expects.
    pub next_batch: u64,
    /// Every nonempty leaf; `next_deposit` is the number of L1 queue
    /// operations (deposits and forced withdrawals) consumed.
    pub state: State,
    /// The tree over `state`, for Merkle paths.
    pub tree: Tree,
    /// One check per finalized entry, in order.
    pub checks: Vec<BatchCheck>,
    /// The forced withdrawals the settled data made, in queue order.
    pub forced: Vec<ForcedWithdrawal>,
    /// L1 queue events the log holds that no settled batch consumed yet
    /// (exit mode refunds the deposits among them; a forced withdrawal,
    /// amount 0, has nothing to refund).
    pub pending_deposits: Vec<DepositEvent>,
}

/// A leaf and its Merkle path against a root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MerkleProof {
    /// The leaf's key.
    pub key: Key,
    /// Its index in the tree.
    pub index: u64,
    /// Its value.
    pub leaf: Leaf,
    /// Its hash.
    pub leaf_hash: Fr,
    /// Siblings from the leaf level up.
    pub siblings: [Fr; TREE_DEPTH],
    /// The root.
    pub root: Fr,
}

impl MerkleProof {
    /// Whether the path leads from the leaf hash to the root.
    pub fn verify(&self) -> bool {
        self.leaf.hash() == self.leaf_hash
            && root_from_path(self.index, self.leaf_hash, &self.siblings) == self.root
    }
}

impl Reconstructed {
    fn count(&self, f: impl Fn(&Leaf) -> bool) -> usize {
        self.state.leaves.values().filter(|l| f(l)).count()
    }

    /// Accounts.
    pub fn accounts(&self) -> usize {
        self.count(|l| matches!(l, Leaf::Account(_)))
    }

    /// Nonzero balances.
    pub fn balances(&self) -> usize {
        self.count(|l| matches!(l, Leaf::Balance(_)))
    }

    /// Pools.
    pub fn pools(&self) -> usize {
        self.count(|l| matches!(l, Leaf::Pool(_)))
    }

    /// Batches settled.
    pub fn batches(&self) -> u64 {
        self.checks
            .iter()
            .map(|c| c.batches.last + 1 - c.batches.first)
            .sum()
    }

    /// Transactions in the settled data.
    pub fn txs(&self) -> usize {
        self.checks.iter().map(|c| c.txs).sum()
    }

    /// L1 queue operations (deposits and forced withdrawals) consumed by
    /// settled batches: the next queue index.
    pub fn deposits_consumed(&self) -> u64 {
        self.state.next_deposit
    }

    /// The pending queue events exit mode refunds (`refundDeposit`): the
    /// deposits among them (a pending forced withdrawal, amount 0, has
    /// nothing to refund).
    pub fn pending_refunds(&self) -> impl Iterator<Item = &DepositEvent> {
        self.pending_deposits
            .iter()
            .filter(|e| !e.is_forced_withdrawal())
    }

    /// Forced withdrawals in the settled data.
    pub fn forced_withdrawals(&self) -> usize {
        self.forced.len()
    }

    /// The last settled forced withdrawal of `account`'s `asset`, if any
    /// (what emptied the balance, when it is empty).
    pub fn forced_withdrawal(&self, account: u32, asset: u32) -> Option<&ForcedWithdrawal> {
        self.forced
            .iter()
            .rev()
            .find(|f| f.account == account && f.asset == asset)
    }

    /// An account, if it exists.
    pub fn account(&self, account: u32) -> Option<Account> {
        match self.state.get(Key::Account(account)) {
            Leaf::Account(a) => Some(a),
            _ => None,
        }
    }

    /// An account's full key, where an L1 deposit event told it (the
    /// account leaf itself only holds its hash).
    pub fn public_key(&self, account: u32) -> Option<PublicKey> {
        self.account(account)
            .filter(|a| a.pubkey.hash() == a.pubkey_hash)
            .map(|a| a.pubkey)
    }

    /// A balance (0 when none).
    pub fn balance(&self, account: u32, asset: u32) -> u128 {
        match self.state.get(Key::Balance(account, asset)) {
            Leaf::Balance(b) => b,
            _ => 0,
        }
    }

    /// A pool, if it exists.
    pub fn pool(&self, pool: u32) -> Option<Pool> {
        match self.state.get(Key::Pool(pool)) {
            Leaf::Pool(p) => Some(p),
            _ => None,
        }
    }

    /// The Merkle proof of the leaf at `key` (an empty one too: a proof
    /// that nothing is there).
    pub fn proof(&self, key: Key) -> MerkleProof {
        let leaf = self.state.get(key);
        MerkleProof {
            key,
            index: key.index(),
            leaf,
            leaf_hash: leaf.hash(),
            siblings: self.tree.siblings(key.index()),
            root: self.root,
        }
    }
}
