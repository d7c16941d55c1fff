//! The queue's errors, and whether repeating the call may help.

use crate::model::{JobId, JobKind, JobState};

/// Why a queue operation did not succeed.
///
/// [`QueueError::is_retryable`] tells a worker or the service whether the
/// same call may succeed if repeated later (the database was unreachable, a
/// transaction lost a deadlock); everything else is final for that call.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// The database could not be reached within the connect budget.
    #[error("PostgreSQL unreachable at {url} after {attempts} attempts: {source}")]
    Connect {
        /// The URL, password removed.
        url: String,
        /// Connection attempts made.
        attempts: u32,
        /// The last attempt's error.
        #[source]
        source: sqlx::Error,
    },
    /// A statement failed (connection lost, constraint, ...).
    #[error("queue database error: {0}")]
    Database(#[from] sqlx::Error),
    /// The migrations could not be applied (or an applied one was edited).
    #[error("queue migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The lease's fencing token is no longer the job's current one: the
    /// job was reassigned (its lease expired and another worker claimed
    /// it), released, failed or already done. The holder must drop the job.
    #[error(
        "job {job}: fencing token {token} is stale (job is {state}, current token {current:?})"
    )]
    Stale {
        /// The job.
        job: JobId,
        /// The token presented.
        token: i64,
        /// The job's state now.
        state: JobState,
        /// The job's current token, if any.
        current: Option<i64>,
    },
    /// The proof did not verify; the job went back to the queue, or was
    /// parked if that was its last attempt.
    #[error("job {job}: invalid proof refused ({reason}){}", if *.parked { "; job parked" } else { "" })]
    InvalidProof {
        /// The job.
        job: JobId,
        /// The verifier's reason.
        reason: String,
        /// Whether the job is now parked (attempts exhausted).
        parked: bool,
    },
    /// An enqueued job has the key of an existing job but a different input
    /// or different input jobs: a different batch under the same number.
    #[error("conflict: {kind} job (batch {batch}, layer {layer}, position {position}, circuit {circuit_version}) exists with a different {what}")]
    Conflict {
        /// The batch.
        batch: i64,
        /// The job kind.
        kind: JobKind,
        /// The layer.
        layer: u32,
        /// The position in the layer.
        position: u32,
        /// The circuit version.
        circuit_version: String,
        /// `"input"` or `"input jobs"`.
        what: &'static str,
    },
    /// The URL or the options are unusable.
    #[error("queue configuration: {0}")]
    Config(String),
    /// A job description is malformed (an input index not before the job,
    /// a value out of range).
    #[error("invalid job description: {0}")]
    InvalidJob(String),
    /// No job has this id.
    #[error("job {0} not found")]
    NotFound(JobId),
    /// Some inputs of the job have no accepted proof yet.
    #[error("job {job}: inputs {missing:?} are not proven yet")]
    InputsNotProven {
        /// The job.
        job: JobId,
        /// Its unproven inputs.
        missing: Vec<JobId>,
    },
    /// A row held a value this version does not know (a newer schema?).
    #[error("queue row not understood: {0}")]
    Corrupt(String),
}

/// SQLSTATEs after which the same call may succeed: connection exceptions
/// (class 08), serialization failure and deadlock (40001, 40P01), the
/// server shutting down or starting (57P01..57P03), too many connections
/// and other resource shortages (class 53).
fn retryable_sqlstate(code: &str) -> bool {
    code.starts_with("08")
        || code.starts_with("53")
        || matches!(code, "40001" | "40P01" | "57P01" | "57P02" | "57P03")
}

/// Whether a sqlx error is transient.
pub(crate) fn sqlx_retryable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::Protocol(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|c| retryable_sqlstate(&c)),
        _ => false,
    }
}

impl QueueError {
    /// Whether the same call may succeed if repeated later: true for an
    /// unreachable or restarting database, a lost connection, a deadlock or
    /// serialization failure; false for a stale lease, an invalid proof, a
    /// conflict or a malformed job.
    pub fn is_retryable(&self) -> bool {
        match self {
            QueueError::Connect { source, .. } => sqlx_retryable(source),
            QueueError::Database(e) => sqlx_retryable(e),
            QueueError::Migrate(sqlx::migrate::MigrateError::Execute(e)) => sqlx_retryable(e),
            _ => false,
        }
    }

    /// Whether the lease was stale (the holder must drop the job).
    pub fn is_stale(&self) -> bool {
        matches!(self, QueueError::Stale { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_errors_are_retryable_and_protocol_outcomes_are_not() {
        let io = QueueError::Database(sqlx::Error::Io(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "reset",
        )));
        assert!(io.is_retryable());
        assert!(QueueError::Database(sqlx::Error::PoolTimedOut).is_retryable());
        assert!(!QueueError::Database(sqlx::Error::RowNotFound).is_retryable());
        let stale = QueueError::Stale {
            job: JobId(1),
            token: 3,
            state: JobState::Leased,
            current: Some(4),
        };
        assert!(!stale.is_retryable() && stale.is_stale());
        let invalid = QueueError::InvalidProof {
            job: JobId(1),
            reason: "bad".into(),
            parked: true,
        };
        assert!(!invalid.is_retryable());
        assert!(invalid.to_string().contains("parked"));
        for code in ["08006", "40P01", "40001", "57P01", "53300"] {
            assert!(retryable_sqlstate(code), "{code}");
        }
        for code in ["23505", "42P01", "22001"] {
            assert!(!retryable_sqlstate(code), "{code}");
        }
    }
}
