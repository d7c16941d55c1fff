//! The service's errors. A driver error says whether it is fatal
//! ([`DriverError::is_fatal`]): a fatal one stops the service, because the
//! log, the executor's state or the configuration cannot be trusted to go
//! on; any other is retried with backoff (a full disk, too many open
//! files, a proof that failed, a stage that panicked).

use std::net::SocketAddr;

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
    #[error("batch {batch}: {source}")]
    Prove {
        /// The (first) batch.
        batch: u64,
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
    /// The executor broke an internal invariant (retryable: a transient
    /// fault is never stored as the batch's rejection).
    #[error("batch {batch}: {reason}")]
    Executor {
        /// The batch.
        batch: u64,
        /// Why.
        reason: String,
    },
    /// A stage panicked (retryable: the stage is redone from its last
    /// persisted state).
    #[error("batch {batch}: a stage panicked: {message}")]
    Panicked {
        /// The batch.
        batch: u64,
        /// The panic's message.
        message: String,
    },
    /// A proof step ran past its deadline (its batch's failure: the
    /// process exits for its supervisor to restart it, and the batch is
    /// parked once it has failed more than `--max-retries` times).
    #[error("batch {batch}: the proof ran past its deadline of {seconds:.1} s")]
    Deadline {
        /// The (first) batch.
        batch: u64,
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
    /// The driver was started without a prover (fatal).
    #[error("no prover")]
    NoProver,
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
            Self::Prove { source, .. } => matches!(source, PipelineError::TooManyChunks { .. }),
            Self::ProofFile { .. }
            | Self::Pool { .. }
            | Self::Executor { .. }
            | Self::Deadline { .. }
            | Self::Panicked { .. } => false,
        }
    }

    /// The batch whose own content this failure may be due to (a poison
    /// batch): proving it failed or panicked or ran past its deadline, or
    /// the executor faulted on it. Such a batch is parked after
    /// `--max-retries` retries, counted in its record across restarts.
    /// `None` for failures of the machine (a proof file not written): they
    /// are retried, then fatal.
    pub fn poison_batch(&self) -> Option<u64> {
        match self {
            Self::Prove { batch, .. }
            | Self::Pool { batch, .. }
            | Self::Executor { batch, .. }
            | Self::Panicked { batch, .. }
            | Self::Deadline { batch, .. }
                if !self.is_fatal() =>
            {
                Some(*batch)
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
        }
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
    /// Shut down with a proof in flight past the drain deadline: the proof
    /// was abandoned (its batch's stage is persisted, so a restart proves
    /// it again). Exit code [`crate::serve::EXIT_ABANDONED`].
    #[error("stopped with the proof of batch {batch} in flight: abandoned, a restart redoes it")]
    Abandoned {
        /// The batch in flight.
        batch: u64,
    },
}
