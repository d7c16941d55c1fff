//! What the queue stores and returns: jobs, leases, events and status rows.
//!
//! Times are milliseconds since the Unix epoch (`f64`, microsecond
//! precision), as the database's clock gave them.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::QueueError;

/// Attempts a job gets unless its [`NewJob`] says otherwise.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 3;

/// A job's id (the `jobs.id` column).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct JobId(pub i64);

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Declares a `text`-backed enum: its SQL spelling, parsing and display.
macro_rules! sql_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The value as stored in the database.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }

            /// Parses the database spelling.
            pub fn parse(text: &str) -> Result<Self, QueueError> {
                match text {
                    $($text => Ok($name::$variant),)+
                    other => Err(QueueError::Corrupt(format!(
                        concat!("unknown ", stringify!($name), " {:?}"),
                        other
                    ))),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

sql_enum! {
    /// What a job proves.
    JobKind {
        /// A chunk proof (Poseidon transcript) of one chunk trace.
        Chunk = "chunk",
        /// An aggregation node over proofs of the layer below.
        Aggregate = "aggregate",
        /// The final, EVM-transcript aggregation proof of a batch.
        Final = "final",
    }
}

sql_enum! {
    /// Where a job is in its life.
    JobState {
        /// Some input jobs are not done yet.
        Waiting = "waiting",
        /// Claimable.
        Ready = "ready",
        /// Held by a worker under a lease (owner, fencing token, expiry).
        Leased = "leased",
        /// Its proof is accepted (exactly one, in `proofs`).
        Done = "done",
        /// Out of attempts; `last_error` says why. Needs an operator.
        Parked = "parked",
    }
}

sql_enum! {
    /// What a [`JobEvent`] records.
    EventKind {
        /// The job was created by an enqueue.
        Enqueued = "enqueued",
        /// Its last input was accepted: the job became ready.
        Promoted = "promoted",
        /// A worker took a lease.
        Claimed = "claimed",
        /// The lease holder extended its lease.
        Heartbeat = "heartbeat",
        /// The lease ran out and the job was claimed again (by `worker` of
        /// the event: the holder whose lease expired).
        Expired = "expired",
        /// A proof was accepted.
        Accepted = "accepted",
        /// A call with a fencing token that is no longer current.
        RefusedStale = "refused_stale",
        /// A proof that did not verify.
        RefusedInvalid = "refused_invalid",
        /// The worker reported a failure.
        Failed = "failed",
        /// The job ran out of attempts.
        Parked = "parked",
        /// The worker gave the lease back (graceful shutdown).
        Released = "released",
    }
}

/// A job to enqueue.
///
/// Its key is `(batch, kind, layer, position, circuit_version)`: enqueueing
/// the same key again returns the existing job (idempotent), and refuses
/// with [`QueueError::Conflict`] if the input or the input jobs differ.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewJob {
    /// The batch (or bundle) the job belongs to.
    pub batch: i64,
    /// What the job proves.
    pub kind: JobKind,
    /// 0 for chunks, then the aggregation layer from 1 (the final layer is
    /// the last).
    pub layer: u32,
    /// Index within the layer.
    pub position: u32,
    /// Digest of the keys that prove and verify this job (a worker claims
    /// only versions it has keys for).
    pub circuit_version: String,
    /// Opaque input (a serialized chunk trace, a layer description).
    pub input: Vec<u8>,
    /// The jobs whose proofs this one consumes, in order, as indexes into
    /// the same [`JobQueue::enqueue`](crate::JobQueue::enqueue) call; each
    /// must come before this job in the slice.
    pub inputs: Vec<usize>,
    /// Attempts before the job is parked (at least 1).
    pub max_attempts: u32,
}

impl NewJob {
    /// A job with no inputs and [`DEFAULT_MAX_ATTEMPTS`].
    pub fn new(
        batch: i64,
        kind: JobKind,
        layer: u32,
        position: u32,
        circuit_version: impl Into<String>,
        input: Vec<u8>,
    ) -> Self {
        Self {
            batch,
            kind,
            layer,
            position,
            circuit_version: circuit_version.into(),
            input,
            inputs: Vec::new(),
            max_attempts: DEFAULT_MAX_ATTEMPTS,
        }
    }

    /// The same job consuming the proofs of `inputs` (indexes into the
    /// enqueued slice, each before this job).
    pub fn with_inputs(mut self, inputs: Vec<usize>) -> Self {
        self.inputs = inputs;
        self
    }

    /// The same job with `max_attempts` attempts.
    pub fn with_max_attempts(mut self, max_attempts: u32) -> Self {
        self.max_attempts = max_attempts;
        self
    }
}

/// A job as a worker receives it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobRecord {
    /// The job.
    pub id: JobId,
    /// Its batch.
    pub batch: i64,
    /// What it proves.
    pub kind: JobKind,
    /// Its layer (0 for chunks).
    pub layer: u32,
    /// Its index within the layer.
    pub position: u32,
    /// The keys it needs.
    pub circuit_version: String,
    /// Its opaque input.
    pub input: Vec<u8>,
    /// Attempts so far, this one included.
    pub attempts: u32,
    /// Attempts before it is parked.
    pub max_attempts: u32,
}

/// A worker's hold on a job, from [`JobQueue::claim`](crate::JobQueue::claim).
///
/// The fencing token is the lease's identity: the queue accepts a
/// heartbeat, a proof, a failure or a release only while `token` is the
/// job's current token.
#[derive(Clone, Debug)]
pub struct Lease {
    /// The job.
    pub job: JobRecord,
    /// The worker holding the lease.
    pub worker: String,
    /// The fencing token, unique over the whole queue.
    pub token: i64,
    /// Lease length; each heartbeat extends the lease by this much.
    pub duration: Duration,
    /// When the lease runs out unless extended (Unix ms).
    pub expires_at_ms: f64,
    /// The worker whose expired lease this claim took over, if any.
    pub reassigned_from: Option<String>,
}

impl Lease {
    /// The leased job's id.
    pub fn id(&self) -> JobId {
        self.job.id
    }
}

/// Which jobs a worker can take.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClaimFilter {
    /// Job kinds the worker proves.
    pub kinds: Vec<JobKind>,
    /// Circuit versions the worker has keys for; `None`: any.
    pub circuit_versions: Option<Vec<String>>,
}

impl ClaimFilter {
    /// Any job of these kinds, whatever its circuit version.
    pub fn kinds(kinds: &[JobKind]) -> Self {
        Self {
            kinds: kinds.to_vec(),
            circuit_versions: None,
        }
    }

    /// Any job of any kind.
    pub fn all() -> Self {
        Self::kinds(JobKind::ALL)
    }

    /// Only jobs of these circuit versions.
    pub fn with_versions(mut self, versions: Vec<String>) -> Self {
        self.circuit_versions = Some(versions);
        self
    }
}

/// How long the worker spent on a proof (the verification time is measured
/// by [`JobQueue::submit`](crate::JobQueue::submit) itself).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Timings {
    /// Witness generation and proving, ms.
    pub prove_ms: f64,
}

/// An accepted proof.
#[derive(Clone, Debug, PartialEq)]
pub struct Accepted {
    /// The job, now done.
    pub job: JobId,
    /// Jobs that became ready because this was their last missing input.
    pub promoted: Vec<JobId>,
    /// Verification time, ms (0 for a duplicate).
    pub verify_ms: f64,
    /// The proof had already been accepted under this very lease (a retry
    /// after a lost acknowledgement); nothing changed.
    pub duplicate: bool,
}

/// A stored proof, from [`JobQueue::proof`](crate::JobQueue::proof).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AcceptedProof {
    /// The job.
    pub job: JobId,
    /// The proof bytes as submitted.
    #[serde(skip)]
    pub proof: Vec<u8>,
    /// The worker that proved it.
    pub worker: String,
    /// The lease's fencing token.
    pub fencing_token: i64,
    /// Proving time reported by the worker, ms.
    pub prove_ms: f64,
    /// Verification time, ms.
    pub verify_ms: f64,
    /// When it was accepted (Unix ms).
    pub accepted_at_ms: f64,
}

/// One job of a batch, from [`JobQueue::batch_status`](crate::JobQueue::batch_status).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct JobStatus {
    /// The job.
    pub id: JobId,
    /// What it proves.
    pub kind: JobKind,
    /// Its layer.
    pub layer: u32,
    /// Its index within the layer.
    pub position: u32,
    /// The keys it needs.
    pub circuit_version: String,
    /// Its state.
    pub state: JobState,
    /// The lease holder while leased.
    pub owner: Option<String>,
    /// The last fencing token issued for it.
    pub fencing_token: Option<i64>,
    /// Whether it is leased past its expiry (the next claim takes it over).
    pub lease_expired: bool,
    /// Attempts so far.
    pub attempts: u32,
    /// Attempts before it is parked.
    pub max_attempts: u32,
    /// The last failure, refusal or expiry.
    pub last_error: Option<String>,
    /// Its input jobs, in order.
    pub inputs: Vec<JobId>,
    /// The worker whose proof was accepted.
    pub proved_by: Option<String>,
    /// That proof's proving time, ms.
    pub prove_ms: Option<f64>,
    /// That proof's verification time, ms.
    pub verify_ms: Option<f64>,
    /// That proof's size.
    pub proof_bytes: Option<i64>,
    /// Created (Unix ms).
    pub created_at_ms: f64,
    /// Last claimed (Unix ms).
    pub claimed_at_ms: Option<f64>,
    /// Done (Unix ms).
    pub done_at_ms: Option<f64>,
}

/// Every job of a batch, in layer then position order.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BatchStatus {
    /// The batch.
    pub batch: i64,
    /// Its jobs.
    pub jobs: Vec<JobStatus>,
}

impl BatchStatus {
    /// Whether the batch has jobs and all are done.
    pub fn complete(&self) -> bool {
        !self.jobs.is_empty() && self.jobs.iter().all(|j| j.state == JobState::Done)
    }

    /// Its parked jobs (each with its `last_error`).
    pub fn parked(&self) -> impl Iterator<Item = &JobStatus> {
        self.jobs.iter().filter(|j| j.state == JobState::Parked)
    }

    /// The job with this id.
    pub fn job(&self, id: JobId) -> Option<&JobStatus> {
        self.jobs.iter().find(|j| j.id == id)
    }
}

/// Jobs of one kind in one state, from [`JobQueue::depth`](crate::JobQueue::depth).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct DepthRow {
    /// The kind.
    pub kind: JobKind,
    /// The state.
    pub state: JobState,
    /// How many jobs.
    pub jobs: i64,
}

/// Queue depth: job counts by kind and state (absent pairs are 0).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Depth {
    /// Non-zero counts.
    pub rows: Vec<DepthRow>,
}

impl Depth {
    /// Jobs of `kind` in `state`.
    pub fn get(&self, kind: JobKind, state: JobState) -> i64 {
        self.rows
            .iter()
            .find(|r| r.kind == kind && r.state == state)
            .map_or(0, |r| r.jobs)
    }

    /// Jobs in `state`, all kinds.
    pub fn in_state(&self, state: JobState) -> i64 {
        self.rows
            .iter()
            .filter(|r| r.state == state)
            .map(|r| r.jobs)
            .sum()
    }
}

/// One recorded event of a job.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct JobEvent {
    /// Event order (global).
    pub id: i64,
    /// The job.
    pub job: JobId,
    /// Its kind.
    pub kind: JobKind,
    /// Its layer.
    pub layer: u32,
    /// Its position.
    pub position: u32,
    /// When (Unix ms).
    pub at_ms: f64,
    /// The worker concerned (the lease holder, or the refused caller).
    pub worker: Option<String>,
    /// What happened.
    pub event: EventKind,
    /// The fencing token concerned.
    pub fencing_token: Option<i64>,
    /// The attempt concerned.
    pub attempt: Option<u32>,
    /// Details (an error, sizes and times).
    pub detail: Option<String>,
}

/// Totals of one worker's accepted proofs, from
/// [`JobQueue::worker_totals`](crate::JobQueue::worker_totals).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct WorkerTotals {
    /// The worker.
    pub worker: String,
    /// Accepted proofs.
    pub proofs: i64,
    /// Their proving time, ms.
    pub prove_ms: f64,
    /// Their verification time, ms.
    pub verify_ms: f64,
}
