//! Errors of distributed proving, each saying whether a retry may help.

use zklanes_queue::{JobId, JobKind, QueueError};

use crate::payload::PayloadError;

/// Why a worker or the coordinator could not go on.
#[derive(Debug, thiserror::Error)]
pub enum DistError {
    /// The queue failed ([`QueueError::is_retryable`] says whether to retry).
    #[error(transparent)]
    Queue(#[from] QueueError),
    /// A payload could not be read (not retryable: the same bytes fail again).
    #[error(transparent)]
    Payload(#[from] PayloadError),
    /// Keys, SRS or a proof failed.
    #[error(transparent)]
    Pipeline(#[from] zklanes_pipeline::error::PipelineError),
    /// Proving a job failed.
    #[error("job {job}: {reason}")]
    Prove {
        /// The job.
        job: JobId,
        /// Why.
        reason: String,
        /// Whether another attempt may succeed (resources) or the job's
        /// input is at fault (a trace that does not fit the circuit).
        retryable: bool,
    },
    /// A job exhausted its attempts and is parked: the batch cannot complete
    /// until an operator retries it (not retryable by the caller).
    #[error("job {job} ({kind} layer {layer} position {position}) is parked: {error}")]
    Parked {
        /// The job.
        job: JobId,
        /// Its kind.
        kind: JobKind,
        /// Its layer.
        layer: u32,
        /// Its position.
        position: u32,
        /// Its last error.
        error: String,
    },
    /// The queue's proofs do not make the batch's proof: a missing proof, or
    /// a result that is not the statement the batch needs (not retryable).
    #[error("batch {batch}: {reason}")]
    Mismatch {
        /// The batch.
        batch: i64,
        /// What disagrees.
        reason: String,
    },
    /// This process has no keys for the job (a misrouted claim).
    #[error("job {job}: no keys for {kind} layer {layer} version {version}")]
    NoKeys {
        /// The job.
        job: JobId,
        /// Its kind.
        kind: JobKind,
        /// Its layer.
        layer: u32,
        /// Its circuit version.
        version: String,
    },
    /// The caller asked to stop while waiting (not a failure).
    #[error("stopped while waiting for batch {batch}")]
    Interrupted {
        /// The batch waited for.
        batch: i64,
    },
}

impl DistError {
    /// Whether retrying the same call may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Queue(e) => e.is_retryable(),
            Self::Prove { retryable, .. } => *retryable,
            Self::Pipeline(_) => true,
            Self::Payload(_)
            | Self::Parked { .. }
            | Self::Mismatch { .. }
            | Self::NoKeys { .. }
            | Self::Interrupted { .. } => false,
        }
    }
}
