//! # zklanes queue
//!
//! The durable proof job queue on PostgreSQL: a batch's proof tree (chunk
//! proofs, aggregation nodes, the final EVM proof) becomes a DAG of jobs
//! that any number of prover machines claim, prove and submit, knowing only
//! the database URL. Inputs and proofs are opaque bytes to the queue; what
//! they mean (a serialized chunk trace, a snark with its instances) is
//! agreed between the service that enqueues and the workers.
//!
//! - [`JobQueue::connect`] ([`connect`](mod@connect)): the pool, backoff
//!   while the database is unreachable, the embedded migrations
//!   (`queue/migrations/`), an optional schema;
//! - [`JobQueue::enqueue`] ([`enqueue`](mod@enqueue)): a DAG, idempotently;
//! - [`JobQueue::claim`], [`JobQueue::heartbeat`], [`JobQueue::fail`],
//!   [`JobQueue::release`] ([`lease`](mod@lease)): leases;
//! - [`JobQueue::submit`] ([`submit`](mod@submit)): fenced, verified,
//!   accepted once;
//! - [`JobQueue::inputs_of`], [`JobQueue::batch_status`],
//!   [`JobQueue::depth`], [`JobQueue::events`] ([`status`](mod@status)):
//!   what an aggregation job consumes, and what operators and metrics see;
//! - [`JobQueue::requeue_parked`] ([`operator`](mod@operator)): parked
//!   jobs get another round when the operator retries their batch;
//! - [`timeline::spans`], [`timeline::render_svg`] ([`timeline`](mod@timeline)):
//!   a batch's events as worker lanes of lease spans, rendered to SVG.
//!
//! ## States
//!
//! ```text
//! enqueue ─┬─ no inputs ────────────► ready ◄─────────────────┐
//!          └─ inputs ─► waiting ───────┘ (last input           │ fail or invalid proof
//!                                      │  accepted)            │ (attempts left),
//!                                      │ claim                 │ release
//!                                      ▼                       │
//!                                   leased ────────────────────┘
//!                                    │  ▲ │
//!   submit: verified, token current  │  └─┘ claim after expiry: new owner, new token
//!                                    ▼
//!                                   done
//!
//! fail or invalid proof on the last attempt, or a claim finding an expired
//! lease with no attempt left ──► parked (last_error says why; needs an operator)
//! ```
//!
//! Every transition is recorded in `job_events` (enqueued, promoted,
//! claimed, heartbeat, expired, accepted, refused_stale, refused_invalid,
//! failed, parked, released), with the worker, the fencing token and the
//! attempt: the source of the batch status, the metrics and the timeline.
//!
//! ## The lease and fencing protocol
//!
//! A claim is one statement: it locks a claimable row with `FOR UPDATE
//! SKIP LOCKED` (concurrent claimers skip each other's rows instead of
//! waiting or sharing them), and sets the owner, the expiry, `attempts + 1`
//! and a **fencing token** drawn from one global sequence: a token is never
//! issued twice, so it names exactly one lease. A job is claimable when
//! `ready`, or `leased` past its expiry (its holder died or stalled): the
//! new claim issues a new token, which makes the old one stale.
//!
//! The holder heartbeats to extend its lease, then submits. Every call
//! that acts on a lease (heartbeat, submit, fail, release) is conditioned
//! on `state = 'leased' AND fencing_token = <the lease's token>` in the
//! same statement, or under the row lock: a stale caller changes nothing
//! and is told [`QueueError::Stale`] (and a `refused_stale` event counts
//! it). Submission checks the token, runs the verifier the caller passes
//! (natively, against the pinned key of the job's kind), refuses an invalid
//! proof (the job goes back to `ready`, or is parked on its last attempt),
//! and accepts in one transaction that locks the job row `FOR UPDATE`,
//! checks the token again, inserts the proof, marks the job done and
//! promotes the dependents whose inputs are now all done.
//!
//! ## Why it is safe
//!
//! - **At most one accepted proof per job**, by the database: `proofs` has
//!   the job id as primary key. The token check under the row lock means
//!   a second insert is never even attempted; if it were, the key refuses
//!   it.
//! - **Stale results are refused.** Between a token check and the proof's
//!   insertion the job row is locked, so no claim can reassign the job in
//!   between (a claim skips locked rows); once reassigned, the old token
//!   never matches again, since tokens are never reused. A paused worker
//!   that wakes up after its lease was taken over changes nothing.
//! - **Only verified proofs are accepted**: verification runs before the
//!   accepting transaction, and a refusal never marks the job done.
//! - **Nothing is lost**: a dead worker's lease expires and the next claim
//!   takes the job over; a failing job is retried up to `max_attempts`,
//!   then parked with its error, visible in [`JobQueue::batch_status`].
//! - **Readiness cannot be missed**: accepting a proof locks the dependent
//!   jobs before checking their inputs, so two inputs of one node accepted
//!   at once serialize, and the second sees the first done.
//!
//! Clocks: expiry uses the database's clock only, never a worker's.
//! Expiry alone does not revoke a lease: a lease past its expiry that no
//! one has taken over is still current (its proof is accepted, its
//! heartbeat extends it). A lease is revoked by a new claim.
//!
//! ## Failures of the database itself
//!
//! Pooled connections are tested before use, so connections cut by a
//! restart are replaced by the next call. While the database is down, calls
//! fail with errors whose [`QueueError::is_retryable`] is true; the caller
//! backs off and calls again. Every multi-statement change is one
//! transaction, so a cut in the middle leaves nothing half done; a submit
//! whose commit acknowledgement was lost can be repeated with the same
//! lease and reports the acceptance again ([`Accepted::duplicate`]).

pub mod connect;
pub mod enqueue;
pub mod error;
pub mod lease;
pub mod model;
pub mod operator;
pub mod status;
pub mod submit;
pub mod timeline;

pub use connect::{redact_url, QueueOptions};
pub use error::QueueError;
pub use model::{
    Accepted, AcceptedProof, BatchStatus, ClaimFilter, Depth, DepthRow, EventKind, JobEvent, JobId,
    JobKind, JobRecord, JobState, JobStatus, Lease, NewJob, Timings, WorkerTotals,
    DEFAULT_MAX_ATTEMPTS,
};

/// A handle on the queue: a connection pool over the queue's schema.
/// Cheap to clone; every method is safe to call concurrently, from any
/// number of processes.
#[derive(Clone, Debug)]
pub struct JobQueue {
    pool: sqlx::PgPool,
}
