//! The sequencer's batch and its wire formats (JSON or bincode), decoded
//! with hard limits so malformed or hostile input gives a typed error.

use bincode::Options;
use serde::{Deserialize, Serialize};

use crate::error::BatchError;
use crate::params::{MAX_BATCH_BYTES, MAX_BATCH_TXS};
use crate::tx::SignedTx;

/// Batch format version.
pub const BATCH_VERSION: u32 = 1;

/// A batch of transactions from the sequencer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Batch {
    /// Format version ([`BATCH_VERSION`]).
    pub version: u32,
    /// Chain id.
    pub chain_id: u32,
    /// Batch number: batches apply in order from 0.
    pub number: u64,
    /// Transactions, in order.
    pub txs: Vec<SignedTx>,
}

/// Wire encoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    /// JSON.
    Json,
    /// bincode (fixed-width integers, little-endian).
    Binary,
}

fn bincode_opts(limit: usize) -> impl Options {
    bincode::DefaultOptions::new()
        .with_fixint_encoding()
        .with_limit(limit as u64)
        .reject_trailing_bytes()
}

impl Batch {
    /// Encodes.
    pub fn encode(&self, enc: Encoding) -> Vec<u8> {
        match enc {
            Encoding::Json => serde_json::to_vec(self).expect("batches always encode"),
            Encoding::Binary => bincode_opts(usize::MAX)
                .serialize(self)
                .expect("batches always encode"),
        }
    }

    /// Decodes with the default limits, guessing the encoding (JSON starts with `{`).
    pub fn decode(bytes: &[u8]) -> Result<Self, BatchError> {
        let enc = if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') {
            Encoding::Json
        } else {
            Encoding::Binary
        };
        Self::decode_with(bytes, enc, MAX_BATCH_BYTES, MAX_BATCH_TXS)
    }

    /// Decodes with explicit limits on bytes and transactions.
    pub fn decode_with(
        bytes: &[u8],
        enc: Encoding,
        max_bytes: usize,
        max_txs: usize,
    ) -> Result<Self, BatchError> {
        if bytes.len() > max_bytes {
            return Err(BatchError::TooLarge {
                bytes: bytes.len(),
                limit: max_bytes,
            });
        }
        let batch: Batch = match enc {
            Encoding::Json => serde_json::from_slice(bytes).map_err(|e| BatchError::Malformed {
                reason: e.to_string(),
            })?,
            Encoding::Binary => {
                // The byte limit also bounds every length prefix bincode allocates for.
                bincode_opts(max_bytes)
                    .deserialize(bytes)
                    .map_err(|e| BatchError::Malformed {
                        reason: e.to_string(),
                    })?
            }
        };
        if batch.version != BATCH_VERSION {
            return Err(BatchError::Version {
                version: batch.version,
            });
        }
        if batch.txs.len() > max_txs {
            return Err(BatchError::TooManyTxs {
                txs: batch.txs.len(),
                limit: max_txs,
            });
        }
        if batch.txs.is_empty() {
            return Err(BatchError::Empty);
        }
        Ok(batch)
    }
}
