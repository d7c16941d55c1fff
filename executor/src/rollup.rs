//! The executor's front door: state, tree and store together, applying
//! batches in order: execute → commit (traces) → persist → publish.

use std::path::Path;
use std::time::Instant;

use serde::Serialize;

use crate::batch::Batch;
use crate::error::{BatchError, StoreError};
use crate::exec::{self, Engine, ExecConfig, ExecMetrics, Receipt};
use crate::field::{fr_to_hex, Fr};
use crate::params::DEMO_CHUNK_CAPACITY;
use crate::smt::Tree;
use crate::state::State;
use crate::store::{BatchWrite, Store};
use crate::trace::{self, ChunkTrace, CommitStats};

/// Rollup settings.
#[derive(Clone, Copy, Debug)]
pub struct RollupConfig {
    /// Chain id.
    pub chain_id: u32,
    /// Threads for execution and hashing.
    pub threads: usize,
    /// Transactions per chunk.
    pub chunk_capacity: usize,
    /// Engine.
    pub engine: Engine,
}

impl Default for RollupConfig {
    fn default() -> Self {
        Self {
            chain_id: crate::params::DEFAULT_CHAIN_ID,
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            chunk_capacity: DEMO_CHUNK_CAPACITY,
            engine: Engine::Parallel,
        }
    }
}

/// Metrics of one applied batch.
#[derive(Clone, Debug, Default, Serialize)]
pub struct BatchMetrics {
    /// Execution metrics (static checks, signatures, execution).
    pub exec: ExecMetrics,
    /// Commitment and trace generation, ms.
    pub commitment_ms: f64,
    /// Persisting to sled (atomic batch + flush), ms.
    pub persist_ms: f64,
    /// Commitment counters.
    pub commit: CommitStats,
}

/// The result of applying a batch.
pub struct BatchOutcome {
    /// Batch number.
    pub number: u64,
    /// Receipts.
    pub receipts: Vec<Receipt>,
    /// Chunk traces.
    pub chunks: Vec<ChunkTrace>,
    /// Root before.
    pub prev_root: Fr,
    /// Root after.
    pub state_root: Fr,
    /// SHA-256 over the chunk content hashes.
    pub trace_hash: [u8; 32],
    /// Metrics.
    pub metrics: BatchMetrics,
}

impl BatchOutcome {
    /// The root as hex.
    pub fn state_root_hex(&self) -> String {
        fr_to_hex(&self.state_root)
    }
}

/// State, tree and (optionally) durable storage.
pub struct Rollup {
    cfg: RollupConfig,
    state: State,
    tree: Tree,
    height: u64,
    store: Option<Store>,
}

impl Rollup {
    /// An empty in-memory rollup.
    pub fn in_memory(cfg: RollupConfig) -> Self {
        Self {
            cfg,
            state: State::default(),
            tree: Tree::default(),
            height: 0,
            store: None,
        }
    }

    /// Opens a rollup persisted in `dir`, loading its last committed state.
    pub fn open(dir: &Path, cfg: RollupConfig) -> Result<Self, StoreError> {
        let store = Store::open(dir)?;
        let (state, tree, height) = store.load()?;
        Ok(Self {
            cfg,
            state,
            tree,
            height,
            store: Some(store),
        })
    }

    /// The committed state.
    pub fn state(&self) -> &State {
        &self.state
    }

    /// The current root.
    pub fn root(&self) -> Fr {
        self.tree.root()
    }

    /// Number of applied batches (the next batch number).
    pub fn height(&self) -> u64 {
        self.height
    }

    /// The root after batch `n`, from storage.
    pub fn root_at(&self, n: u64) -> Result<Option<Fr>, StoreError> {
        match &self.store {
            Some(s) => s.root_at(n),
            None => Ok(None),
        }
    }

    /// Settings.
    pub fn config(&self) -> &RollupConfig {
        &self.cfg
    }

    /// Applies the next batch. On any error nothing changes, in memory or on disk.
    pub fn apply(&mut self, batch: &Batch) -> Result<BatchOutcome, StoreError> {
        if batch.chain_id != self.cfg.chain_id {
            return Err(BatchError::ChainId {
                expected: self.cfg.chain_id,
                got: batch.chain_id,
            }
            .into());
        }
        if batch.number != self.height {
            return Err(BatchError::OutOfOrder {
                expected: self.height,
                got: batch.number,
            }
            .into());
        }
        let ecfg = ExecConfig {
            threads: self.cfg.threads,
            chain_id: self.cfg.chain_id,
            engine: self.cfg.engine,
        };
        let out = exec::execute(&self.state, &batch.txs, &ecfg)?;

        let t = Instant::now();
        let prev_root = self.tree.root();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(self.cfg.threads.max(1))
            .build()
            .map_err(|e| BatchError::Internal {
                reason: e.to_string(),
            })?;
        let commitment = pool.install(|| {
            trace::commit(
                &self.state,
                &mut self.tree,
                &batch.txs,
                &out.receipts,
                batch.number,
                self.cfg.chain_id,
                self.cfg.chunk_capacity,
            )
        })?;
        let commitment_ms = t.elapsed().as_secs_f64() * 1e3;

        let t = Instant::now();
        if let Some(store) = &self.store {
            let written = store.commit(&BatchWrite {
                number: batch.number,
                leaves: &out.diff,
                nodes: &commitment.changed_nodes,
                root: self.tree.root(),
                next_deposit: out.next_deposit,
            });
            if let Err(e) = written {
                self.tree.set_nodes(&commitment.undo_nodes);
                return Err(e);
            }
        }
        let persist_ms = t.elapsed().as_secs_f64() * 1e3;

        for (k, leaf) in &out.diff {
            self.state.set(*k, *leaf);
        }
        self.state.next_deposit = out.next_deposit;
        self.height += 1;
        Ok(BatchOutcome {
            number: batch.number,
            receipts: out.receipts,
            trace_hash: trace::batch_trace_hash(&commitment.chunks),
            chunks: commitment.chunks,
            prev_root,
            state_root: self.tree.root(),
            metrics: BatchMetrics {
                exec: out.metrics,
                commitment_ms,
                persist_ms,
                commit: commitment.stats,
            },
        })
    }
}
