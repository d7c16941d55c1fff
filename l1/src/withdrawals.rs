//! Withdrawal trees: what `finalize` commits to for the withdrawals of a
//! batch (or bundle), and the proofs `claim` takes.
//!
//! The withdrawals of a finalized entry's data (signed, type 6, and forced,
//! type 8), in data order, are the leaves `keccak256(to(20) ‖ asset(4) ‖
//! amount(16))` of a binary keccak tree: `node = keccak256(left ‖ right)`,
//! an odd last node paired with the zero word, up to the root (the leaf
//! itself for one withdrawal). A leaf hashes 40 bytes and a node 64, so no
//! node passes for a leaf; pairs are not sorted, so a path's direction bits
//! are its leaf's index. The contract stores the root's top 224 bits and
//! the number of leaves under the entry's first batch
//! ([`WithdrawalTree::stored_root`]) and pays a leaf once against them.
//!
//! The withdrawals are read with [`crate::reconstruct::decode`], from the
//! data alone, so a user builds their proof from the L1 record without the
//! operator (`zklanes claim-proof`).

use revm::primitives::keccak256;
use zklanes_executor::field::{fr_to_bytes, Fr};
use zklanes_executor::tx::L1Address;

use crate::log::Word;
use crate::reconstruct::{decode, DecodeError, Op};

/// Bytes of the root the contract stores (its top 224 bits); the last 4
/// bytes of [`WithdrawalTree::stored_root`] are zero.
pub const STORED_ROOT_BYTES: usize = 28;

/// One withdrawal as `finalize` reads it from the data: a leaf of the tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Withdrawal {
    /// The L1 address paid (a signed withdrawal's address, a forced one's
    /// owner).
    pub to: L1Address,
    /// The asset.
    pub asset: u32,
    /// The amount (0 for a forced withdrawal of an empty balance, which
    /// the contract refuses to pay: nothing to claim).
    pub amount: u128,
}

impl Withdrawal {
    /// Its leaf: `keccak256(to(20) ‖ asset(4) ‖ amount(16))`, as Solidity's
    /// `abi.encodePacked(address, uint32, uint128)`.
    pub fn leaf(&self) -> Word {
        let mut packed = [0u8; 40];
        packed[..20].copy_from_slice(&self.to);
        packed[20..24].copy_from_slice(&self.asset.to_be_bytes());
        packed[24..].copy_from_slice(&self.amount.to_be_bytes());
        keccak256(packed).0
    }
}

/// Why a withdrawal tree or a proof could not be built.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WithdrawalError {
    /// The data words do not decode.
    #[error("the data does not decode: {0}")]
    Decode(#[from] DecodeError),
    /// No leaf at that index.
    #[error("no withdrawal at index {index}: the tree has {count}")]
    IndexOutOfRange {
        /// The index asked for.
        index: usize,
        /// The number of leaves.
        count: usize,
    },
}

/// The depth of a tree of `count` leaves, `⌈log₂ count⌉` (0 for one leaf,
/// and for none): the length of every proof in it.
pub fn depth(count: usize) -> usize {
    count.max(1).next_power_of_two().trailing_zeros() as usize
}

/// `keccak256(left ‖ right)`.
fn node(left: &Word, right: &Word) -> Word {
    let mut pair = [0u8; 64];
    pair[..32].copy_from_slice(left);
    pair[32..].copy_from_slice(right);
    keccak256(pair).0
}

/// The root `leaf` at `index` hashes up to through `siblings` (leaf level
/// first): at level `l`, `keccak256(node ‖ sibling)` when bit `l` of the
/// index is 0, else `keccak256(sibling ‖ node)`, as the contract's `claim`.
pub fn root_from_path(leaf: &Word, index: usize, siblings: &[Word]) -> Word {
    siblings.iter().enumerate().fold(*leaf, |n, (l, s)| {
        if (index >> l) & 1 == 0 {
            node(&n, s)
        } else {
            node(s, &n)
        }
    })
}

/// The root's top 224 bits, as the contract stores it (the last 4 bytes
/// zero).
pub fn stored(root: &Word) -> Word {
    let mut w = *root;
    w[STORED_ROOT_BYTES..].fill(0);
    w
}

/// The withdrawal tree of one finalized entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WithdrawalTree {
    withdrawals: Vec<Withdrawal>,
    /// Every level, the leaves first; each level's odd last node paired
    /// with zero; the last level is the root alone (empty when there is no
    /// leaf).
    levels: Vec<Vec<Word>>,
}

impl WithdrawalTree {
    /// The tree of `withdrawals`, in that order.
    pub fn new(withdrawals: Vec<Withdrawal>) -> Self {
        let mut levels = vec![withdrawals.iter().map(Withdrawal::leaf).collect::<Vec<_>>()];
        while levels.last().expect("one level").len() > 1 {
            let next = levels
                .last()
                .expect("one level")
                .chunks(2)
                .map(|p| node(&p[0], p.get(1).unwrap_or(&[0u8; 32])))
                .collect();
            levels.push(next);
        }
        Self {
            withdrawals,
            levels,
        }
    }

    /// The tree of a finalized entry's data words (32-byte big-endian, as
    /// L1 holds them): its withdrawals, signed and forced, in data order.
    pub fn from_words(words: &[Word]) -> Result<Self, WithdrawalError> {
        let withdrawals = decode(words)?
            .into_iter()
            .filter_map(|t| match t.op {
                Op::Withdraw {
                    asset,
                    amount,
                    l1_address,
                    ..
                } => Some(Withdrawal {
                    to: l1_address,
                    asset,
                    amount,
                }),
                Op::ForcedWithdraw {
                    asset,
                    amount,
                    l1_owner,
                    ..
                } => Some(Withdrawal {
                    to: l1_owner,
                    asset,
                    amount,
                }),
                _ => None,
            })
            .collect();
        Ok(Self::new(withdrawals))
    }

    /// The tree of a batch's data elements (`L1Batch::data`).
    pub fn from_data(data: &[Fr]) -> Result<Self, WithdrawalError> {
        Self::from_words(&data.iter().map(fr_to_bytes).collect::<Vec<_>>())
    }

    /// The withdrawals, in data order (leaf `i` is the `i`-th).
    pub fn withdrawals(&self) -> &[Withdrawal] {
        &self.withdrawals
    }

    /// The number of leaves.
    pub fn len(&self) -> usize {
        self.withdrawals.len()
    }

    /// Whether there is no withdrawal (the contract then stores nothing).
    pub fn is_empty(&self) -> bool {
        self.withdrawals.is_empty()
    }

    /// The tree's depth ([`depth`]).
    pub fn depth(&self) -> usize {
        depth(self.len())
    }

    /// The root (`None` without a withdrawal), as `WithdrawalsFinalized`
    /// emits it.
    pub fn root(&self) -> Option<Word> {
        (!self.is_empty()).then(|| self.levels.last().expect("one level")[0])
    }

    /// What the contract stores for it: the root's top 224 bits ([`stored`];
    /// zero without a withdrawal) and the number of leaves.
    pub fn stored_root(&self) -> (Word, u32) {
        let root = self.root().map_or([0u8; 32], |r| stored(&r));
        (root, self.len() as u32)
    }

    /// The proof of leaf `index`: the withdrawal and its siblings, leaf
    /// level first ([`Self::depth`] of them).
    pub fn proof(&self, index: usize) -> Result<WithdrawalProof, WithdrawalError> {
        let withdrawal = *self
            .withdrawals
            .get(index)
            .ok_or(WithdrawalError::IndexOutOfRange {
                index,
                count: self.len(),
            })?;
        let siblings = self.levels[..self.depth()]
            .iter()
            .enumerate()
            .map(|(l, level)| level.get((index >> l) ^ 1).copied().unwrap_or([0u8; 32]))
            .collect();
        Ok(WithdrawalProof {
            index,
            withdrawal,
            siblings,
        })
    }
}

/// A leaf of a withdrawal tree and its path: what `claim` takes besides the
/// entry's first batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WithdrawalProof {
    /// The leaf's index (its position among the entry's withdrawals).
    pub index: usize,
    /// The withdrawal.
    pub withdrawal: Withdrawal,
    /// The siblings, leaf level first.
    pub siblings: Vec<Word>,
}

impl WithdrawalProof {
    /// The root the proof hashes up to ([`root_from_path`]).
    pub fn root(&self) -> Word {
        root_from_path(&self.withdrawal.leaf(), self.index, &self.siblings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(i: u8) -> Withdrawal {
        Withdrawal {
            to: [i; 20],
            asset: u32::from(i) + 1,
            amount: u128::from(i) * 1_000,
        }
    }

    #[test]
    fn depth_is_the_ceiling_of_log2() {
        let got: Vec<usize> = [0, 1, 2, 3, 4, 5, 8, 9, 16, 17].map(depth).to_vec();
        assert_eq!(got, [0, 0, 1, 2, 2, 3, 3, 4, 4, 5]);
    }

    /// The leaf packs `to ‖ asset ‖ amount` in 40 bytes, as
    /// `abi.encodePacked(address, uint32, uint128)`.
    #[test]
    fn a_leaf_hashes_the_packed_fields() {
        let leaf = Withdrawal {
            to: [0x11; 20],
            asset: 0x0203,
            amount: 0x0405,
        }
        .leaf();
        let mut packed = vec![0x11; 20];
        packed.extend([0, 0, 2, 3]);
        packed.extend([0; 14]);
        packed.extend([4, 5]);
        assert_eq!(leaf, keccak256(&packed).0);
    }

    /// One leaf is the root; three pair the last with zero; every proof of
    /// every shape hashes up to the root, with the tree's depth, and not
    /// under another index.
    #[test]
    fn proofs_hash_up_to_the_root() {
        let one = WithdrawalTree::new(vec![w(1)]);
        assert_eq!(one.root(), Some(w(1).leaf()));
        let three = WithdrawalTree::new(vec![w(1), w(2), w(3)]);
        let (l, z) = (|i| w(i).leaf(), [0u8; 32]);
        assert_eq!(
            three.root(),
            Some(node(&node(&l(1), &l(2)), &node(&l(3), &z)))
        );
        assert_eq!(WithdrawalTree::new(vec![]).root(), None);
        assert_eq!(WithdrawalTree::new(vec![]).stored_root(), ([0; 32], 0));
        for n in 1..=17u8 {
            let tree = WithdrawalTree::new((0..n).map(w).collect());
            let root = tree.root().unwrap();
            let (stored, count) = tree.stored_root();
            assert_eq!(
                (stored[..28].to_vec(), count),
                (root[..28].to_vec(), n as u32)
            );
            assert_eq!(stored[28..], [0; 4]);
            for i in 0..n as usize {
                let p = tree.proof(i).unwrap();
                assert_eq!(p.siblings.len(), depth(n as usize));
                assert_eq!(p.root(), root, "leaf {i} of {n}");
                if n > 1 {
                    let moved = WithdrawalProof {
                        index: i ^ 1,
                        ..p.clone()
                    };
                    assert_ne!(moved.root(), root, "leaf {i} of {n} under {}", i ^ 1);
                }
            }
            assert_eq!(
                tree.proof(n as usize),
                Err(WithdrawalError::IndexOutOfRange {
                    index: n as usize,
                    count: n as usize
                })
            );
        }
    }
}
