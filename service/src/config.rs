//! The service's configuration.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use zklanes_pipeline::config::ProofConfig;
use zklanes_pipeline::data_dir::DataDir;
use zklanes_pipeline::setup::ProverSetup;

use crate::listener::Limits;
use crate::sequencer::SequencerKey;

/// How far the service proves each batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProofLevel {
    /// Chunk proofs, aggregation, the final EVM proof and its L1 calldata.
    Final,
    /// Verified chunk proofs only (aggregation runs elsewhere, or a test
    /// configuration that exercises the stages in seconds).
    Chunks,
}

/// Where the service reads L1 from (`--l1`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum L1Source {
    /// Nowhere: a batch's deposits are not checked against L1 before
    /// execution (a warning at start says so).
    #[default]
    None,
    /// The embedded L1 chain in revm, persisted in `DATA_DIR/l1`
    /// ([`crate::embedded_l1`]); deposits enter it through
    /// `POST /v1/l1/deposits`.
    Embedded,
    /// The Rollup contract's `DepositQueued` events, read from an Ethereum
    /// node over JSON-RPC ([`crate::json_rpc_l1`]).
    JsonRpc(crate::json_rpc_l1::JsonRpcL1Config),
}

/// The service's configuration.
#[derive(Clone, Debug)]
pub struct ServiceConfig {
    /// Data directory (log, executor state, proofs, key cache).
    pub data_dir: DataDir,
    /// Listen address.
    pub listen: SocketAddr,
    /// Watched folder.
    pub watch: Option<PathBuf>,
    /// Proof configuration.
    pub proof: ProofConfig,
    /// How far to prove.
    pub level: ProofLevel,
    /// Prover setup.
    pub setup: ProverSetup,
    /// Largest event, bytes.
    pub max_bytes: usize,
    /// Execution threads.
    pub threads: usize,
    /// Most batches one final proof settles (see [`DriverConfig`]).
    pub max_bundle: usize,
    /// The bearer token's file (default: `DATA_DIR/auth-token`, generated).
    pub auth_token_file: Option<PathBuf>,
    /// Listen on a non-loopback address without TLS.
    pub insecure_listen: bool,
    /// Connection bounds of the listener.
    pub limits: Limits,
    /// Retries of a failed step: then a batch's own failure parks it, and
    /// any other failure is fatal.
    pub max_retries: u32,
    /// The sequencer whose signature every batch must carry.
    pub sequencer: Option<SequencerKey>,
    /// The allowance of one proof at k = 18 ([`crate::deadline`]).
    pub proof_deadline: Duration,
    /// How long a shutdown waits for the proof in flight before abandoning
    /// it (exit code [`crate::serve::EXIT_ABANDONED`]).
    pub drain: Duration,
    /// Where L1 is read from: the deposits of every batch are checked
    /// against it before execution, unless [`L1Source::None`].
    pub l1: L1Source,
    /// The PostgreSQL job queue (`--queue`): batches are proven by prover
    /// workers (`zklanes worker`) instead of in process. `None`: the
    /// embedded default, which needs nothing installed.
    pub queue: Option<QueueConfig>,
}

/// Where the job queue is (`serve --queue`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueConfig {
    /// `postgres://` URL.
    pub url: String,
    /// Schema of the queue's tables (`None`: the connection's default).
    pub schema: Option<String>,
    /// Attempts per job before it is parked.
    pub max_attempts: u32,
}

/// What the driver needs of the configuration.
#[derive(Clone, Debug)]
pub struct DriverConfig {
    /// Data directory.
    pub data_dir: DataDir,
    /// Proof configuration.
    pub proof: ProofConfig,
    /// How far to prove.
    pub level: ProofLevel,
    /// Execution threads.
    pub threads: usize,
    /// Most batches one final proof settles (a bundle of consecutive
    /// executed batches, within the tree's width in chunks).
    pub max_bundle: usize,
    /// Retries of a failed step before its batch is parked (a failure of
    /// the batch's own) or the driver gives up (any other).
    pub max_retries: u32,
    /// Prover workers (chunk proofs run in rounds over them).
    pub workers: usize,
    /// The allowance of one proof at k = 18.
    pub proof_deadline: Duration,
    /// The job queue, when the workers prove (set by the service once the
    /// queue is connected).
    pub remote: Option<crate::driver::remote::Remote>,
}

impl DriverConfig {
    /// The driver's part of `cfg`.
    pub fn of(cfg: &ServiceConfig) -> Self {
        Self {
            data_dir: cfg.data_dir.clone(),
            proof: cfg.proof.clone(),
            level: cfg.level,
            threads: cfg.threads,
            max_bundle: cfg.max_bundle.max(1),
            max_retries: cfg.max_retries,
            workers: cfg.setup.workers.max(1),
            proof_deadline: cfg.proof_deadline,
            remote: None,
        }
    }
}
