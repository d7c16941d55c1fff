//! The service's errors. A driver error says whether it is fatal
//! ([`DriverError::is_fatal`]): a fatal one stops the service, because the
//! log, the executor's state or the configuration cannot be trusted to go
//! on; any other is retried with backoff (a full disk, too many open
//! files, a proof that failed, a stage that panicked).

use std::net::SocketAddr;

use zklanes_aggregator::tree::TreeError;
use zklanes_executor::StoreError;
use zklanes_pipeline::error::PipelineError;
use zklanes_pipeline::proof_file::ProofFileError;
use zklanes_prover::pool::PoolError;

use crate::event_log::LogError;

/// Why a driver step failed.
#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    /// The executor's store failed (fatal: the state is reopened, and
    /// rebuilt from the log if needed, only at startup).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The event log failed (fatal).
    #[error(transparent)]
    Log(#[from] LogError),
    /// A proof file could not be written (retryable).
    #[error("batch {batch}: {source}")]
    ProofFile {
        /// The batch.
        batch: u64,
        /// Why.
        source: ProofFileError,
    },
    /// Proving failed (retryable, unless the configuration cannot prove
    /// the batch at all).
    #[error("batches {batch}..={last}: {source}")]
    Prove {
        /// The bundle's first batch.
        batch: u64,
        /// Its last batch.
        last: u64,
        /// Why.
        source: PipelineError,
    },
    /// A chunk proof failed on every attempt (retryable).
    #[error("batch {batch}: {source}")]
    Pool {
        /// The batch.
        batch: u64,
        /// Why.
        source: PoolError,
    },
    /// The executor broke an internal invariant (the machine's failure:
    /// retried, then fatal; a transient fault is never stored as the
    /// batch's rejection).
    #[error("batch {batch}: {reason}")]
    Executor {
        /// The batch.
        batch: u64,
        /// Why.
        reason: String,
    },
    /// A stage panicked (retryable: the stage is redone from its last
    /// persisted state).
    #[error("batches {batch}..={last}: a stage panicked: {message}")]
    Panicked {
        /// The (first) batch.
        batch: u64,
        /// The last batch of the step.
        last: u64,
        /// The panic's message.
        message: String,
    },
    /// A proof step ran past its deadline (its batch's failure: the
    /// process exits for its supervisor to restart it, and the batch is
    /// parked once it has failed more than `--max-retries` times).
    #[error("batches {batch}..={last}: the proof ran past its deadline of {seconds:.1} s")]
    Deadline {
        /// The (first) batch.
        batch: u64,
        /// The last batch of the step.
        last: u64,
        /// The step's allowance.
        seconds: f64,
    },
    /// The state directory could not be removed for a rebuild (fatal).
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The log and the executor's state disagree in a way no crash leaves
    /// (fatal: a bug or a corrupted disk).
    #[error("batch {batch}: {reason}")]
    Inconsistent {
        /// The batch.
        batch: u64,
        /// What disagrees.
        reason: String,
    },
    /// The executor's state is not one the log explains (fatal: it is left
    /// as it is for the operator to move).
    #[error(
        "the executor state {path} does not belong to this event log ({reason}); \
         move it aside (or use another --data-dir) and restart"
    )]
    ForeignState {
        /// The state's directory.
        path: String,
        /// What disagrees.
        reason: String,
    },
    /// The job queue's workers could not prove the step: the queue is
    /// unreachable past its retries (retried), or its proofs are not the
    /// batch's (the batch's own failure).
    #[error("batches {batch}..={last}: {source}")]
    Remote {
        /// The (first) batch.
        batch: u64,
        /// The last batch of the step.
        last: u64,
        /// Why.
        source: zklanes_distributed::DistError,
    },
    /// The driver was started without a prover (fatal).
    #[error("no prover")]
    NoProver,
    /// L1's record cannot be trusted (fatal: no batch can be checked
    /// against it). An L1 that cannot be read now is not an error: the
    /// batch waits ([`crate::driver::l1_gate`]).
    #[error("batch {batch}: {source}")]
    L1 {
        /// The batch being checked.
        batch: u64,
        /// Why.
        source: crate::l1_view::L1ViewError,
    },
}

impl DriverError {
    /// Whether the service must stop: nothing it can retry fixes it.
    pub fn is_fatal(&self) -> bool {
        match self {
            Self::Store(_)
            | Self::Log(_)
            | Self::Io { .. }
            | Self::Inconsistent { .. }
            | Self::ForeignState { .. }
            | Self::NoProver => true,
            Self::L1 { source, .. } => !source.is_retryable(),
            Self::Prove { source, .. } => matches!(source, PipelineError::TooManyChunks { .. }),
            Self::ProofFile { .. }
            | Self::Pool { .. }
            | Self::Executor { .. }
            | Self::Deadline { .. }
            | Self::Remote { .. }
            | Self::Panicked { .. } => false,
        }
    }

    /// The batches (first, last) whose own content this failure may be
    /// due to (a poison batch among them): their proof does not fit the
    /// circuit or does not verify, the step panicked, or it ran past its
    /// deadline. Each is counted in its record across restarts, and parked
    /// after `--max-retries` retries; a batch that failed once is proven
    /// alone after that, so a bundle's failure ends up charged to the batch
    /// that causes it. `None` for failures of the machine (a proof file not
    /// written, keys or SRS not loaded, a lost worker, a halo2 resource
    /// failure, an executor fault): they are retried, then fatal.
    pub fn poison_batches(&self) -> Option<(u64, u64)> {
        match self {
            Self::Prove {
                batch,
                last,
                source,
            } if batchs_own(source) => Some((*batch, *last)),
            Self::Pool { batch, source } if !source.last.is_retryable() => Some((*batch, *batch)),
            Self::Remote {
                batch,
                last,
                source,
            } if !source.is_retryable() => Some((*batch, *last)),
            Self::Panicked { batch, last, .. } | Self::Deadline { batch, last, .. } => {
                Some((*batch, *last))
            }
            _ => None,
        }
    }

    /// Whether retrying the step may succeed (the opposite of
    /// [`is_fatal`](Self::is_fatal)).
    pub fn is_retryable(&self) -> bool {
        !self.is_fatal()
    }

    /// A short reason label for metrics.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Store(_) => "state",
            Self::Log(_) => "log",
            Self::ProofFile { .. } => "proof_file",
            Self::Prove { .. } => "prove",
            Self::Pool { .. } => "chunk_proof",
            Self::Executor { .. } => "executor",
            Self::Panicked { .. } => "panic",
            Self::Deadline { .. } => "deadline",
            Self::Io { .. } => "io",
            Self::Inconsistent { .. } => "inconsistent",
            Self::ForeignState { .. } => "foreign_state",
            Self::NoProver => "no_prover",
            Self::L1 { .. } => "l1",
            Self::Remote { .. } => "remote",
        }
    }
}

/// Whether a proving failure is the batch's own: a trace that does not fit
/// the circuit, or a proof that does not verify (not keys, SRS, the EVM, a
/// lost worker or a halo2 resource failure).
fn batchs_own(e: &PipelineError) -> bool {
    match e {
        PipelineError::Rejected => true,
        PipelineError::Tree(TreeError::Prove(p)) => !p.is_retryable(),
        PipelineError::Tree(TreeError::Pool(p)) => !p.last.is_retryable(),
        _ => false,
    }
}

/// Why the service could not start, or stopped.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The data directory could not be created.
    #[error("{path}: {source}")]
    DataDir {
        /// The directory.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The log could not be opened.
    #[error(transparent)]
    Log(#[from] LogError),
    /// Keys or the SRS could not be loaded.
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
    /// Loading the keys panicked.
    #[error("loading the keys panicked: {0}")]
    KeysPanicked(String),
    /// The listener could not bind, or the server failed.
    #[error("http {addr}: {source}")]
    Http {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The driver thread could not be started.
    #[error("starting the driver thread: {0}")]
    Thread(std::io::Error),
    /// The driver stopped on a fatal error.
    #[error(transparent)]
    Driver(#[from] DriverError),
    /// The bearer token could not be had.
    #[error(transparent)]
    Auth(#[from] crate::auth::AuthError),
    /// The embedded L1 could not be opened (`--l1 embedded`).
    #[error(transparent)]
    L1(#[from] crate::embedded_l1::EmbeddedL1Error),
    /// A non-loopback address without `--insecure-listen` (no TLS is served).
    #[error(
        "refusing to listen on {addr}: the service serves no TLS; listen on loopback behind a \
         TLS proxy, or pass --insecure-listen"
    )]
    InsecureListen {
        /// The address.
        addr: SocketAddr,
    },
    /// A stage failed fatally (the reason `/healthz` reported).
    #[error("the service failed: {0}")]
    Failed(String),
    /// Shut down with the driver mid-step (a proof in flight, most often)
    /// past the drain deadline: the step was abandoned (its batch's stage
    /// is persisted, so a restart redoes it). Exit code
    /// [`crate::serve::EXIT_ABANDONED`].
    #[error("stopped mid-step at batch {batch}: abandoned, a restart redoes it")]
    Abandoned {
        /// The batch of the step.
        batch: u64,
    },
}
