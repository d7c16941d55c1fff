//! The prove stage on the job queue (`zklanes serve --queue`): the batch's
//! proof tree is enqueued as jobs, prover workers anywhere prove them, and
//! the driver waits, then reads the proofs back and checks them
//! ([`zklanes_distributed::coordinator`]) before the same files and
//! records as the in-process stage are written.
//!
//! The in-process deadline does not apply (the service does not prove;
//! the queue's leases bound each worker), a shutdown stops the wait at
//! once (the jobs stay queued; a restart enqueues the same jobs again and
//! waits for them), and a job parked after its attempts parks the batch at
//! once with the job's error (the queue already retried it); the
//! operator's retry gives its parked jobs another round.

use std::sync::atomic::Ordering;
use std::time::Duration;

use zklanes_aggregator::tree::{BatchProof, InnerProof};
use zklanes_distributed::coordinator::{Collected, Coordinator};
use zklanes_distributed::plan::{plan, Level};
use zklanes_distributed::versions::CircuitVersions;
use zklanes_distributed::DistError;
use zklanes_executor::trace::ChunkTrace;
use zklanes_pipeline::batch_prover::BatchProver;

use super::{note_failure, Noted};
use crate::config::{DriverConfig, ProofLevel};
use crate::error::DriverError;
use crate::state::Shared;

/// The queue as the driver uses it.
#[derive(Clone, Debug)]
pub struct Remote {
    /// Enqueues and collects.
    pub coordinator: Coordinator,
    /// The circuit version of each job this service enqueues.
    pub versions: CircuitVersions,
    /// The runtime the queue's calls run on (the driver is a plain thread).
    pub handle: tokio::runtime::Handle,
    /// Attempts per job before it is parked.
    pub max_attempts: u32,
}

/// What the queue gave back for a step.
pub(super) enum Outcome<T> {
    /// The proofs, checked.
    Proven(T, Vec<(u32, u32, String)>),
    /// The step ended without proofs (shutdown, or the batch was parked).
    Stopped,
}

fn run(
    cfg: &DriverConfig,
    remote: &Remote,
    prover: &BatchProver,
    shared: &Shared,
    (first, last): (u64, u64),
    traces: &[ChunkTrace],
) -> Result<Outcome<Collected>, DriverError> {
    let level = match cfg.level {
        ProofLevel::Final => Level::Final,
        ProofLevel::Chunks => Level::Chunks,
    };
    let err = |source: DistError| DriverError::Remote {
        batch: first,
        last,
        source,
    };
    let plan = plan(
        first as i64,
        traces,
        &cfg.proof,
        &remote.versions,
        level,
        remote.max_attempts,
    )
    .map_err(err)?;
    tracing::info!(
        batch = first,
        last_batch = last,
        stage = "enqueue",
        jobs = plan.jobs.len(),
        "batch enqueued for the prover workers"
    );
    let stop = || shared.stop.load(Ordering::SeqCst);
    // The step reached here for an executed batch that is not parked: the
    // batch's parked jobs, if any, were retried by the operator.
    let collected = remote
        .handle
        .block_on(remote.coordinator.prove(&plan, level, prover, true, &stop));
    match collected {
        Ok(c) => {
            let provers = c.provers.clone();
            Ok(Outcome::Proven(c, provers))
        }
        Err(DistError::Interrupted { .. }) => Ok(Outcome::Stopped),
        Err(e @ DistError::Parked { .. }) => {
            let reason = e.to_string();
            tracing::error!(batch = first, last_batch = last, stage = "prove", error = %reason, "a proof job is parked");
            shared
                .metrics
                .add("zklanes_failures_total", "reason=\"remote\"", 1);
            // The queue spent the job's attempts already: park now.
            if note_failure(shared, (first, last), &reason, 0, None)? != Noted::Parked {
                return Err(err(e));
            }
            Ok(Outcome::Stopped)
        }
        Err(e) => Err(err(e)),
    }
}

/// The final proof of the bundle `first..=last` from the queue.
pub(super) fn prove_final(
    cfg: &DriverConfig,
    remote: &Remote,
    prover: &BatchProver,
    shared: &Shared,
    span: (u64, u64),
    traces: &[ChunkTrace],
) -> Result<Outcome<BatchProof>, DriverError> {
    Ok(match run(cfg, remote, prover, shared, span, traces)? {
        Outcome::Proven(c, provers) => match c.proof {
            Some(p) => {
                log(span, &provers, c.wall_ms);
                Outcome::Proven(p, provers)
            }
            None => {
                return Err(DriverError::Remote {
                    batch: span.0,
                    last: span.1,
                    source: DistError::Mismatch {
                        batch: span.0 as i64,
                        reason: "no final proof".into(),
                    },
                })
            }
        },
        Outcome::Stopped => Outcome::Stopped,
    })
}

/// The chunk proofs of batch `n` from the queue.
pub(super) fn prove_chunks(
    cfg: &DriverConfig,
    remote: &Remote,
    prover: &BatchProver,
    shared: &Shared,
    n: u64,
    traces: &[ChunkTrace],
) -> Result<Outcome<Vec<InnerProof>>, DriverError> {
    Ok(match run(cfg, remote, prover, shared, (n, n), traces)? {
        Outcome::Proven(c, provers) => {
            log((n, n), &provers, c.wall_ms);
            Outcome::Proven(c.chunks, provers)
        }
        Outcome::Stopped => Outcome::Stopped,
    })
}

/// The last batch of the bundle already enqueued from `first`, if any: a
/// restarted service proves exactly the bundle it enqueued (re-planned
/// from the same traces, the same jobs), not one that more executed
/// batches would make now.
pub(super) fn enqueued_last(remote: &Remote, first: u64) -> Result<Option<u64>, DriverError> {
    let err = |source: DistError| DriverError::Remote {
        batch: first,
        last: first,
        source,
    };
    let inputs = remote
        .handle
        .block_on(remote.coordinator.queue().chunk_inputs(first as i64))
        .map_err(|e| err(e.into()))?;
    let mut last = None;
    for bytes in &inputs {
        let trace = zklanes_distributed::payload::decode_chunk(bytes).map_err(|e| err(e.into()))?;
        last = Some(last.map_or(trace.batch, |l: u64| l.max(trace.batch)));
    }
    Ok(last)
}

/// One line naming who proved what.
fn log((first, last): (u64, u64), provers: &[(u32, u32, String)], wall_ms: f64) {
    let mut workers: Vec<&str> = provers.iter().map(|(_, _, w)| w.as_str()).collect();
    workers.sort_unstable();
    workers.dedup();
    tracing::info!(
        batch = first,
        last_batch = last,
        stage = "prove",
        jobs = provers.len(),
        workers = ?workers,
        wall_ms,
        "batch proven by the prover workers"
    );
}

/// How often the driver looks at a batch's jobs.
pub const POLL: Duration = Duration::from_millis(250);
