//! The L1 record of a rollup, as an indexer reads it from the chain: the
//! genesis, every deposit event of the queue and every `finalize` call's
//! batch numbers, new root and data words.
//!
//! This is all [`crate::reconstruct`] needs to rebuild the state. Values
//! stay as L1 holds them: roots and data as 32-byte big-endian words
//! (`0x`-hex in JSON; a word that is not a field element is the
//! reconstruction's typed error, not a parse error), addresses as 20-byte
//! hex, amounts as decimal strings (JSON numbers lose precision past 2^53).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use zklanes_executor::field::{fr_to_bytes as word, serde_fr, Fr};
use zklanes_executor::signature::PublicKey;
use zklanes_executor::tx::{hex_addr, Deposit, ForcedWithdraw, L1Address};

/// A 32-byte big-endian EVM word.
pub type Word = [u8; 32];

/// Why an L1 log could not be read, written or merged.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// Reading or writing the file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not an L1 log.
    #[error("{path}: not an L1 log: {source}")]
    Json {
        /// The file.
        path: PathBuf,
        /// The JSON error.
        source: serde_json::Error,
    },
    /// Two logs of different chains were merged.
    #[error("L1 logs of different chains: chain id {first} and {other}")]
    ChainId {
        /// The first log's chain id.
        first: u32,
        /// The other one's.
        other: u32,
    },
    /// Two logs with different genesis roots were merged.
    #[error(
        "L1 logs with different genesis roots: 0x{} and 0x{}",
        hex::encode(first),
        hex::encode(other)
    )]
    Genesis {
        /// The first log's genesis root.
        first: Word,
        /// The other one's.
        other: Word,
    },
    /// Two different deposit events claim one queue index.
    #[error("two different deposit events at queue index {queue_index}")]
    ConflictingDeposit {
        /// The queue index.
        queue_index: u64,
    },
    /// Two different finalized entries start at one batch number.
    #[error("two different finalized entries start at batch {first_batch}")]
    ConflictingBatch {
        /// The batch number.
        first_batch: u64,
    },
}

/// An operation the Rollup contract queued: a deposit (its `deposit` or
/// `depositNewAccount` call), or a forced withdrawal (`forceWithdraw`, by
/// the account's L1 owner), which L1 queues as an entry of amount 0 (a
/// deposit's amount is at least 1) with the zero key. A top-up carries the
/// zero key `(0, 0)`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DepositEvent {
    /// Position in the L1 deposit queue.
    pub queue_index: u64,
    /// The L1 address that sent it.
    #[serde(with = "hex_addr")]
    pub sender: L1Address,
    /// The account it credits (assigned by L1 when it creates one).
    pub account: u32,
    /// The new account's key, x coordinate (0 for a top-up).
    #[serde(with = "serde_fr")]
    pub pubkey_x: Fr,
    /// The new account's key, y coordinate (0 for a top-up).
    #[serde(with = "serde_fr")]
    pub pubkey_y: Fr,
    /// The token.
    pub asset: u32,
    /// The amount.
    #[serde(with = "dec_u128")]
    pub amount: u128,
}

impl DepositEvent {
    /// The event L1 emits for a deposit the executor consumes.
    pub fn from_deposit(d: &Deposit) -> Self {
        Self {
            queue_index: d.queue_index,
            sender: d.l1_sender,
            account: d.account,
            pubkey_x: d.pubkey.x,
            pubkey_y: d.pubkey.y,
            asset: d.asset,
            amount: d.amount,
        }
    }

    /// The event L1 emits for a forced withdrawal the executor consumes:
    /// amount 0, the zero key, its owner as the sender.
    pub fn from_forced(f: &ForcedWithdraw) -> Self {
        Self {
            queue_index: f.queue_index,
            sender: f.l1_owner,
            account: f.account,
            pubkey_x: Fr::from(0u64),
            pubkey_y: Fr::from(0u64),
            asset: f.asset,
            amount: 0,
        }
    }

    /// Whether it is a forced withdrawal (amount 0) rather than a deposit.
    pub fn is_forced_withdrawal(&self) -> bool {
        self.amount == 0
    }

    /// The key it names.
    pub fn pubkey(&self) -> PublicKey {
        PublicKey {
            x: self.pubkey_x,
            y: self.pubkey_y,
        }
    }

    /// The key hash L1 queues with it (`PublicKey::hash`).
    pub fn key_hash(&self) -> Fr {
        self.pubkey().hash()
    }
}

/// One successful `finalize` call: the batches it settled, the root it
/// set and the data words it was given.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FinalizedBatch {
    /// Number of the first batch settled.
    pub first_batch: u64,
    /// How many batches it settled (a bundle settles several).
    pub batches: u64,
    /// The state root after them, as the contract stores it.
    #[serde(with = "hex_word")]
    pub new_root: Word,
    /// The data words, in calldata order.
    #[serde(with = "hex_words")]
    pub data: Vec<Word>,
}

impl FinalizedBatch {
    /// From field elements (the executor's root and data elements).
    pub fn new(first_batch: u64, batches: u64, new_root: &Fr, data: &[Fr]) -> Self {
        Self {
            first_batch,
            batches,
            new_root: word(new_root),
            data: data.iter().map(word).collect(),
        }
    }

    /// Number of the last batch settled.
    pub fn last_batch(&self) -> u64 {
        self.first_batch
            .saturating_add(self.batches.saturating_sub(1))
    }
}

/// What an indexer reads from L1: everything needed to rebuild the state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct L1Log {
    /// The rollup's chain id.
    pub chain_id: u32,
    /// The root the contract was deployed with.
    #[serde(with = "hex_word")]
    pub genesis_root: Word,
    /// Deposit events, in queue order.
    pub deposits: Vec<DepositEvent>,
    /// Finalized entries, in order.
    pub batches: Vec<FinalizedBatch>,
}

impl L1Log {
    /// An empty log of a chain deployed with `genesis_root`.
    pub fn new(chain_id: u32, genesis_root: &Fr) -> Self {
        Self {
            chain_id,
            genesis_root: word(genesis_root),
            deposits: Vec::new(),
            batches: Vec::new(),
        }
    }

    /// Records a deposit event.
    pub fn record_deposit(&mut self, event: DepositEvent) {
        self.deposits.push(event);
    }

    /// Records a successful `finalize`.
    pub fn record_batch(&mut self, batch: FinalizedBatch) {
        self.batches.push(batch);
    }

    /// Reads a log from a JSON file.
    pub fn read(path: &Path) -> Result<Self, LogError> {
        let bytes = std::fs::read(path).map_err(|source| LogError::Io {
            path: path.to_owned(),
            source,
        })?;
        serde_json::from_slice(&bytes).map_err(|source| LogError::Json {
            path: path.to_owned(),
            source,
        })
    }

    /// Writes the log as pretty JSON (to a temporary file renamed into place).
    pub fn write(&self, path: &Path) -> Result<(), LogError> {
        let io = |source| LogError::Io {
            path: path.to_owned(),
            source,
        };
        let json = serde_json::to_vec_pretty(self).expect("an L1 log always encodes");
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        std::fs::write(&tmp, json).map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)
    }

    /// Merges logs of one chain (for example one file per indexing run):
    /// same chain id and genesis root, deposits by queue index and entries
    /// by first batch, each kept once (identical duplicates allowed,
    /// conflicting ones refused), both sorted. Gaps are left for the
    /// reconstruction to report.
    pub fn merge(logs: impl IntoIterator<Item = L1Log>) -> Result<Option<L1Log>, LogError> {
        let mut logs = logs.into_iter();
        let Some(first) = logs.next() else {
            return Ok(None);
        };
        let mut deposits = BTreeMap::new();
        let mut batches = BTreeMap::new();
        let (chain_id, genesis_root) = (first.chain_id, first.genesis_root);
        for log in std::iter::once(first).chain(logs) {
            if log.chain_id != chain_id {
                return Err(LogError::ChainId {
                    first: chain_id,
                    other: log.chain_id,
                });
            }
            if log.genesis_root != genesis_root {
                return Err(LogError::Genesis {
                    first: genesis_root,
                    other: log.genesis_root,
                });
            }
            for d in log.deposits {
                if let Some(old) = deposits.get(&d.queue_index) {
                    if *old != d {
                        return Err(LogError::ConflictingDeposit {
                            queue_index: d.queue_index,
                        });
                    }
                }
                deposits.insert(d.queue_index, d);
            }
            for b in log.batches {
                if let Some(old) = batches.get(&b.first_batch) {
                    if *old != b {
                        return Err(LogError::ConflictingBatch {
                            first_batch: b.first_batch,
                        });
                    }
                }
                batches.insert(b.first_batch, b);
            }
        }
        Ok(Some(L1Log {
            chain_id,
            genesis_root,
            deposits: deposits.into_values().collect(),
            batches: batches.into_values().collect(),
        }))
    }
}

/// Serde adapter: a [`Word`] as `0x` + 64 hex digits.
pub mod hex_word {
    use super::Word;
    use serde::{Deserialize, Deserializer, Serializer};

    /// Serializes.
    pub fn serialize<S: Serializer>(w: &Word, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("0x{}", hex::encode(w)))
    }

    /// Parses `0x`-hex of exactly 32 bytes.
    pub fn parse(s: &str) -> Result<Word, String> {
        let raw = hex::decode(s.strip_prefix("0x").unwrap_or(s)).map_err(|e| e.to_string())?;
        raw.try_into()
            .map_err(|r: Vec<u8>| format!("a word has 32 bytes, got {}", r.len()))
    }

    /// Deserializes.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Word, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        parse(&s).map_err(serde::de::Error::custom)
    }
}

/// Serde adapter: a list of [`Word`]s as hex strings.
pub mod hex_words {
    use super::Word;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize, Deserialize)]
    struct W(#[serde(with = "super::hex_word")] Word);

    /// Serializes.
    pub fn serialize<S: Serializer>(v: &[Word], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(v.iter().map(|w| W(*w)))
    }

    /// Deserializes.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Word>, D::Error> {
        Ok(Vec::<W>::deserialize(d)?.into_iter().map(|w| w.0).collect())
    }
}

/// Serde adapter: a `u128` as a decimal string.
pub mod dec_u128 {
    use serde::{Deserialize, Deserializer, Serializer};

    /// Serializes.
    pub fn serialize<S: Serializer>(v: &u128, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&v.to_string())
    }

    /// Deserializes (digits only).
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u128, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(serde::de::Error::custom(format!(
                "an amount is a decimal string, got {s:?}"
            )));
        }
        s.parse().map_err(serde::de::Error::custom)
    }
}
