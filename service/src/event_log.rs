//! The service's durable log (sled, flushed and fsynced before every
//! acknowledgement, `zklanes_executor::db::flush_durable`):
//! each accepted batch event under its number, and each batch's stage
//! record. The executor's state lives in its own store; the event log is
//! the source of truth it can always be rebuilt from (the executor is
//! deterministic).

use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use zklanes_executor::batch::Encoding;
use zklanes_executor::db::flush_durable;
use zklanes_executor::trace::ChunkTrace;
use zklanes_executor::Batch;

/// Why the log failed.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// sled failed.
    #[error("event log: {0}")]
    Sled(#[from] sled::Error),
    /// A record does not decode (a bug or a corrupted disk).
    #[error("event log record {key}: {reason}")]
    Corrupt {
        /// The key.
        key: String,
        /// Why.
        reason: String,
    },
}

/// Where a batch is in the pipeline.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Persisted, waiting for its turn (or for a gap before it).
    Accepted,
    /// Executed; its chunk traces are persisted.
    Executed,
    /// Proven: the final proof (or the chunk proofs) are on disk.
    Proven,
    /// The executor rejected it (a bad signature, a replayed nonce, ...);
    /// a corrected batch under the same number may replace it.
    Rejected,
    /// A poison batch: its proof failed more than `--max-retries` times
    /// (did not fit, did not verify, panicked, or passed its deadline).
    /// Later batches are executed; nothing after it is proven until the
    /// operator retries it (`POST /v1/batches/{n}/retry`).
    Parked,
}

/// The record of one batch.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BatchRecord {
    /// Batch number.
    pub batch: u64,
    /// Stage.
    pub stage: Stage,
    /// SHA-256 of the canonical (binary) encoding of the event.
    pub hash: String,
    /// Transactions.
    pub txs: usize,
    /// Why the executor rejected it.
    pub error: Option<String>,
    /// State root after execution.
    pub state_root: Option<String>,
    /// Chunks.
    pub chunks: Option<usize>,
    /// Stage timings, ms (`execute`, `chunk_proofs`, `layer_1`, ...).
    pub timings: std::collections::BTreeMap<String, f64>,
    /// The final proof's transition (hex) once proven.
    pub commitments: Option<zklanes_pipeline::proof_file::Transition>,
    /// The proof file (or the directory of chunk proofs).
    pub proof: Option<String>,
    /// EVM verification gas of the final proof.
    pub gas: Option<u64>,
    /// The first and last batch of the bundle whose final proof settles
    /// this batch (itself alone when both are its number).
    #[serde(default)]
    pub bundle: Option<[u64; 2]>,
    /// When the event was accepted, seconds since the Unix epoch.
    #[serde(default)]
    pub accepted_at: Option<u64>,
    /// The sequencer's signature of the event (hex), when the service
    /// checks one (`--sequencer-key`).
    #[serde(default)]
    pub signature: Option<String>,
    /// Failed attempts at the batch's current step since it was accepted
    /// or last retried by the operator (persisted: a restart does not reset it).
    #[serde(default)]
    pub failures: u32,
    /// The last failure's reason.
    #[serde(default)]
    pub last_failure: Option<String>,
    /// The stage a parked batch was parked at (`Executed`: the failures
    /// that park a batch are its proof's): where an operator's retry
    /// resumes it.
    #[serde(default)]
    pub parked_from: Option<Stage>,
    /// Why an accepted batch waits before execution (`--l1 embedded`: a
    /// deposit L1 has not queued yet); cleared when it executes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiting: Option<String>,
}

impl BatchRecord {
    /// Whether the executor's state holds the batch: executed, proven, or
    /// parked after execution.
    pub fn is_executed(&self) -> bool {
        matches!(self.stage, Stage::Executed | Stage::Proven)
            || (self.stage == Stage::Parked && self.parked_from == Some(Stage::Executed))
    }

    /// Whether a new event under this number may replace the stored one:
    /// the executor rejected it. (A parked batch was executed, and later
    /// batches were executed on top of it: it is retried, never replaced.)
    pub fn replaceable(&self) -> bool {
        self.stage == Stage::Rejected
    }
}

/// The durable log.
pub struct EventLog {
    db: sled::Db,
    dir: std::path::PathBuf,
    events: sled::Tree,
    records: sled::Tree,
    traces: sled::Tree,
    commits: sled::Tree,
}

fn key(n: u64) -> [u8; 8] {
    n.to_be_bytes()
}

/// SHA-256 of a batch's canonical encoding.
pub fn batch_hash(batch: &Batch) -> String {
    hex::encode(Sha256::digest(batch.encode(Encoding::Binary)))
}

impl EventLog {
    /// Opens (or creates) the log in `dir`.
    pub fn open(dir: &Path) -> Result<Self, LogError> {
        let db = zklanes_executor::db::open_db(dir)?;
        Ok(Self {
            events: db.open_tree("events")?,
            records: db.open_tree("records")?,
            traces: db.open_tree("traces")?,
            commits: db.open_tree("commits")?,
            db,
            dir: dir.to_path_buf(),
        })
    }

    /// Persists an event (with the sequencer's signature, when checked)
    /// and its record, flushed to disk before returning.
    pub fn accept(
        &self,
        batch: &Batch,
        signature: Option<String>,
    ) -> Result<BatchRecord, LogError> {
        let record = BatchRecord {
            batch: batch.number,
            stage: Stage::Accepted,
            hash: batch_hash(batch),
            txs: batch.txs.len(),
            error: None,
            state_root: None,
            chunks: None,
            timings: Default::default(),
            commitments: None,
            proof: None,
            gas: None,
            bundle: None,
            accepted_at: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .ok()
                .map(|d| d.as_secs()),
            signature,
            failures: 0,
            last_failure: None,
            parked_from: None,
            waiting: None,
        };
        self.events
            .insert(key(batch.number), batch.encode(Encoding::Binary))?;
        self.put(&record)?;
        Ok(record)
    }

    /// Writes a record and flushes.
    pub fn put(&self, record: &BatchRecord) -> Result<(), LogError> {
        let bytes = serde_json::to_vec(record).map_err(|e| LogError::Corrupt {
            key: record.batch.to_string(),
            reason: e.to_string(),
        })?;
        self.records.insert(key(record.batch), bytes)?;
        flush_durable(&self.db, &self.dir)?;
        Ok(())
    }

    /// Marks proven batches: their records and one commit entry per batch,
    /// in one transaction, then flushes. The commit entries are append-only
    /// (each under a fresh id): a batch proven twice would have two, which
    /// [`commits`](Self::commits) counts.
    pub fn commit_proven(&self, records: &[BatchRecord]) -> Result<(), LogError> {
        use sled::Transactional;
        let mut entries = Vec::with_capacity(records.len());
        for r in records {
            let bytes = serde_json::to_vec(r).map_err(|e| LogError::Corrupt {
                key: r.batch.to_string(),
                reason: e.to_string(),
            })?;
            let mut ckey = key(r.batch).to_vec();
            ckey.extend_from_slice(&self.db.generate_id()?.to_be_bytes());
            let proof = r.proof.clone().unwrap_or_default().into_bytes();
            entries.push((key(r.batch), bytes, ckey, proof));
        }
        (&self.records, &self.commits)
            .transaction(|(records, commits)| {
                for (k, bytes, ckey, proof) in &entries {
                    records.insert(&k[..], bytes.clone())?;
                    commits.insert(ckey.clone(), proof.clone())?;
                }
                Ok(())
            })
            .map_err(|e: sled::transaction::TransactionError<()>| match e {
                sled::transaction::TransactionError::Storage(e) => LogError::Sled(e),
                sled::transaction::TransactionError::Abort(()) => LogError::Corrupt {
                    key: "commits".into(),
                    reason: "transaction aborted".into(),
                },
            })?;
        flush_durable(&self.db, &self.dir)?;
        Ok(())
    }

    /// How many times batch `n` was committed as proven (exactly once for
    /// a proven batch; a re-proof would add an entry).
    pub fn commits(&self, n: u64) -> Result<usize, LogError> {
        let mut count = 0;
        for kv in self.commits.scan_prefix(key(n)) {
            kv?;
            count += 1;
        }
        Ok(count)
    }

    /// The record of batch `n`.
    pub fn record(&self, n: u64) -> Result<Option<BatchRecord>, LogError> {
        self.records
            .get(key(n))?
            .map(|v| {
                serde_json::from_slice(&v).map_err(|e| LogError::Corrupt {
                    key: n.to_string(),
                    reason: e.to_string(),
                })
            })
            .transpose()
    }

    /// The event of batch `n`.
    pub fn event(&self, n: u64) -> Result<Option<Batch>, LogError> {
        self.events
            .get(key(n))?
            .map(|v| {
                Batch::decode_with(&v, Encoding::Binary, usize::MAX, usize::MAX).map_err(|e| {
                    LogError::Corrupt {
                        key: n.to_string(),
                        reason: e.to_string(),
                    }
                })
            })
            .transpose()
    }

    /// One above the highest batch number in the log (0 when empty).
    pub fn accepted_height(&self) -> Result<u64, LogError> {
        Ok(self.records.last()?.map_or(0, |(k, _)| {
            k.as_ref()
                .try_into()
                .map(u64::from_be_bytes)
                .map_or(0, |n| n + 1)
        }))
    }

    /// Every record, in batch order.
    pub fn records(&self) -> Result<Vec<BatchRecord>, LogError> {
        self.records
            .iter()
            .map(|kv| {
                let (k, v) = kv?;
                serde_json::from_slice(&v).map_err(|e| LogError::Corrupt {
                    key: hex::encode(k),
                    reason: e.to_string(),
                })
            })
            .collect()
    }

    /// Persists the chunk traces of batch `n` with its `Executed` record,
    /// atomically, and flushes.
    pub fn executed(&self, record: &BatchRecord, traces: &[ChunkTrace]) -> Result<(), LogError> {
        let bytes = bincode::serialize(traces).map_err(|e| LogError::Corrupt {
            key: record.batch.to_string(),
            reason: e.to_string(),
        })?;
        self.traces.insert(key(record.batch), bytes)?;
        self.put(record)
    }

    /// The chunk traces of batch `n`.
    pub fn traces(&self, n: u64) -> Result<Option<Vec<ChunkTrace>>, LogError> {
        self.traces
            .get(key(n))?
            .map(|v| {
                bincode::deserialize(&v).map_err(|e| LogError::Corrupt {
                    key: n.to_string(),
                    reason: e.to_string(),
                })
            })
            .transpose()
    }
}
