//! # zklanes distributed
//!
//! Distributed proving over the PostgreSQL job queue (`zklanes-queue`):
//! any number of prover processes, on any number of machines, prove the
//! jobs of a batch's proof tree, and the service assembles the result.
//!
//! - [`payload`]: what travels through the queue (a chunk job's trace, an
//!   aggregation job's layer, a proof with its instances), versioned and
//!   bounded;
//! - [`versions`]: the circuit version of each job (its key name), so a
//!   worker only claims jobs it holds the keys for;
//! - [`plan`]: a batch's proof DAG as jobs, the same tree the in-process
//!   pipeline proves;
//! - [`job_prover`]: proving a job, and the check its proof must pass
//!   before the queue accepts it (valid against the pinned key *and* the
//!   statement of this very job);
//! - [`worker`]: the claim, prove, heartbeat, submit loop of `zklanes
//!   worker`;
//! - [`coordinator`]: what `zklanes serve --queue` does instead of proving:
//!   enqueue, wait, read back and check the accepted proofs;
//! - [`failpoint`]: faults for tests.
//!
//! A worker needs nothing but the database URL and its key cache: traces
//! and proofs travel through the database (a chunk trace of the largest
//! shape is a few MB, a proof a few KB).

pub mod coordinator;
pub mod error;
pub mod failpoint;
pub mod job_prover;
pub mod payload;
pub mod plan;
pub mod versions;
pub mod worker;

pub use error::DistError;
