//! Durable state in sled.
//!
//! One sled tree, prefixed keys:
//! - `L` + leaf index (u64 BE) → bincode [`Leaf`];
//! - `N` + level (u8) + node index (u64 BE) → 32-byte node;
//! - `R` + batch number (u64 BE) → 32-byte state root after that batch;
//! - `Mheight` → number of committed batches (u64 BE);
//! - `Mnext_deposit` → next L1 deposit queue index (u64 BE).
//!
//! A batch commits with one atomic `apply_batch` followed by a durable flush
//! (`db::flush_durable`: sled's flush, then fsync), so after
//! a crash (even `kill -9`) the store holds either all of a batch or none of it.

use std::path::Path;

use crate::error::StoreError;
use crate::field::{fr_from_bytes, fr_to_bytes, Fr};
use crate::smt::Tree;
use crate::state::{Key, Leaf, State};

/// The sled-backed store.
pub struct Store {
    db: sled::Db,
    dir: std::path::PathBuf,
    tree: sled::Tree,
}

fn corrupt(key: &str, reason: impl ToString) -> StoreError {
    StoreError::Corrupt {
        key: key.to_string(),
        reason: reason.to_string(),
    }
}

fn u64_of(v: &[u8], key: &str) -> Result<u64, StoreError> {
    Ok(u64::from_be_bytes(
        v.try_into().map_err(|_| corrupt(key, "not 8 bytes"))?,
    ))
}

fn fr_of(v: &[u8], key: &str) -> Result<Fr, StoreError> {
    let b: [u8; 32] = v.try_into().map_err(|_| corrupt(key, "not 32 bytes"))?;
    fr_from_bytes(&b).ok_or_else(|| corrupt(key, "not a field element"))
}

/// Everything a committed batch changes.
pub struct BatchWrite<'a> {
    /// Batch number (must be the store's height).
    pub number: u64,
    /// Changed leaves.
    pub leaves: &'a [(Key, Leaf)],
    /// Changed nodes.
    pub nodes: &'a [(usize, u64, Fr)],
    /// Root after the batch.
    pub root: Fr,
    /// Next deposit index after the batch.
    pub next_deposit: u64,
}

impl Store {
    /// Opens (or creates) the store in `dir`.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        let db = crate::db::open_db(dir)?;
        let tree = db.open_tree("state")?;
        Ok(Self {
            db,
            dir: dir.to_path_buf(),
            tree,
        })
    }

    /// Loads the committed state and tree.
    pub fn load(&self) -> Result<(State, Tree, u64), StoreError> {
        let mut state = State::default();
        for kv in self.tree.scan_prefix(b"L") {
            let (k, v) = kv?;
            let index = u64_of(&k[1..], "leaf")?;
            let leaf: Leaf = bincode::deserialize(&v).map_err(|e| corrupt("leaf", e))?;
            state.leaves.insert(index, leaf);
        }
        let mut tree = Tree::default();
        for kv in self.tree.scan_prefix(b"N") {
            let (k, v) = kv?;
            let level = *k.get(1).ok_or_else(|| corrupt("node", "short key"))? as usize;
            let index = u64_of(&k[2..], "node")?;
            tree.set_node(level, index, fr_of(&v, "node")?);
        }
        state.next_deposit = self.meta("next_deposit")?.unwrap_or(0);
        let height = self.meta("height")?.unwrap_or(0);
        Ok((state, tree, height))
    }

    fn meta(&self, name: &str) -> Result<Option<u64>, StoreError> {
        let key = [b"M".as_slice(), name.as_bytes()].concat();
        self.tree.get(key)?.map(|v| u64_of(&v, name)).transpose()
    }

    /// Number of committed batches.
    pub fn height(&self) -> Result<u64, StoreError> {
        Ok(self.meta("height")?.unwrap_or(0))
    }

    /// The root after batch `number`, if committed.
    pub fn root_at(&self, number: u64) -> Result<Option<Fr>, StoreError> {
        let key = [b"R".as_slice(), &number.to_be_bytes()].concat();
        self.tree.get(key)?.map(|v| fr_of(&v, "root")).transpose()
    }

    /// Commits a batch atomically and durably.
    pub fn commit(&self, w: &BatchWrite<'_>) -> Result<(), StoreError> {
        let height = self.height()?;
        if w.number != height {
            return Err(crate::error::BatchError::OutOfOrder {
                expected: height,
                got: w.number,
            }
            .into());
        }
        let mut b = sled::Batch::default();
        for (k, leaf) in w.leaves {
            let key = [b"L".as_slice(), &k.index().to_be_bytes()].concat();
            match leaf {
                Leaf::Empty | Leaf::Balance(0) => b.remove(key),
                _ => b.insert(key, bincode::serialize(leaf).expect("leaves encode")),
            }
        }
        for (level, index, value) in w.nodes {
            let key = [b"N".as_slice(), &[*level as u8], &index.to_be_bytes()].concat();
            if *value == crate::smt::empty_hashes()[*level] {
                b.remove(key);
            } else {
                b.insert(key, fr_to_bytes(value).to_vec());
            }
        }
        b.insert(
            [b"R".as_slice(), &w.number.to_be_bytes()].concat(),
            fr_to_bytes(&w.root).to_vec(),
        );
        b.insert(b"Mheight".to_vec(), (w.number + 1).to_be_bytes().to_vec());
        b.insert(
            b"Mnext_deposit".to_vec(),
            w.next_deposit.to_be_bytes().to_vec(),
        );
        self.tree.apply_batch(b)?;
        crate::db::flush_durable(&self.db, &self.dir)?;
        Ok(())
    }
}
