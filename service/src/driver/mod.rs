//! The driver: the service's one pipeline thread. It executes the next
//! batch once its predecessor is committed ([`execute`]), proves the oldest
//! executed batch, bundled with the executed batches after it ([`prove`]),
//! writes the proof directory whole and advances the batches' records.
//! Every stage is persisted, so a restart resumes where it stopped
//! ([`recover`]): the executor's state is rebuilt from the event log when
//! it ran ahead of the log, and a final proof already on disk is checked
//! and adopted instead of proven again (exactly one final proof per batch).
//!
//! A failed step is retried with backoff unless its error is fatal
//! ([`DriverError::is_fatal`]). A failure of the batches' own (a proof
//! that does not fit or does not verify, a panic while proving, a deadline
//! passed: [`DriverError::poison_batches`]) is counted in their records,
//! across restarts ([`note_failure`]); past `max_retries` a batch is
//! parked ([`park`]) and waits for the operator. Any other failure is the
//! machine's: fatal once it has been retried `max_retries` times in a row.

pub mod execute;
pub mod l1_gate;
pub mod prove;
pub mod recover;
pub mod remote;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use zklanes_executor::{Rollup, RollupConfig};
use zklanes_pipeline::batch_prover::BatchProver;

use crate::config::DriverConfig;
use crate::error::DriverError;
use crate::event_log::{BatchRecord, Stage};
use crate::l1_view::L1View;
use crate::state::Shared;
use l1_gate::L1Gate;

/// The executor's configuration for the driver's proof configuration.
pub fn rollup_config(cfg: &DriverConfig) -> RollupConfig {
    RollupConfig {
        chain_id: cfg.proof.shape.chain_id,
        chunk_capacity: cfg.proof.shape.capacity,
        threads: cfg.threads,
        ..Default::default()
    }
}

/// The pause before retry `attempt` (1, 2, ...): doubling from 1 s, at
/// most 30 s.
pub fn backoff(attempt: u32) -> Duration {
    Duration::from_secs(1u64 << attempt.saturating_sub(1).min(5)).min(Duration::from_secs(30))
}

/// Runs the driver over `rollup` (from [`recover::open_state`]) until
/// `shared.stop`, or until a fatal error. With an L1 view, each batch's
/// deposits are checked against it before execution ([`l1_gate`]).
pub fn run(
    cfg: DriverConfig,
    prover: Option<Arc<BatchProver>>,
    shared: Arc<Shared>,
    mut rollup: Rollup,
    l1: Option<Arc<dyn L1View>>,
) -> Result<(), DriverError> {
    let mut gate = l1.map(L1Gate::new);
    shared.next.store(rollup.height(), Ordering::SeqCst);
    // Batches below the cursor are proven: every batch below the executor's
    // height is executed or proven, and proving goes in number order.
    let mut cursor = 0u64;
    let mut failures = 0u32;
    while !shared.stop.load(Ordering::SeqCst) {
        match step(
            &cfg,
            prover.as_deref(),
            &shared,
            &mut rollup,
            &mut cursor,
            gate.as_mut(),
        ) {
            Ok(did) => {
                failures = 0;
                if !did {
                    shared.wait(Duration::from_millis(500));
                }
            }
            Err(e) if e.is_fatal() => return Err(e),
            Err(e) => {
                shared.metrics.add(
                    "zklanes_failures_total",
                    &format!("reason=\"{}\"", e.reason()),
                    1,
                );
                if let Some(batches) = e.poison_batches() {
                    let noted =
                        note_failure(&shared, batches, &e.to_string(), cfg.max_retries, None)?;
                    if noted == Noted::Parked {
                        failures = 0;
                        continue;
                    }
                } else if failures >= cfg.max_retries {
                    return Err(e);
                }
                failures += 1;
                let delay = backoff(failures);
                tracing::warn!(
                    stage = "retry",
                    error = %e,
                    attempt = failures,
                    delay_s = delay.as_secs(),
                    "step failed: retrying"
                );
                shared.pause(delay);
            }
        }
    }
    tracing::info!(stage = "shutdown", "pipeline driver stopped");
    Ok(())
}

/// One unit of work: execute the next batch if it is there (execution
/// takes milliseconds, and batches executed while a proof runs can join the
/// next bundle), else prove the oldest executed batch (with the executed
/// batches after it, up to `max_bundle`). Returns whether there was work.
fn step(
    cfg: &DriverConfig,
    prover: Option<&BatchProver>,
    shared: &Shared,
    rollup: &mut Rollup,
    cursor: &mut u64,
    gate: Option<&mut L1Gate>,
) -> Result<bool, DriverError> {
    if execute::execute_next(shared, rollup, gate)? {
        return Ok(true);
    }
    while *cursor < rollup.height() {
        let record = shared
            .log
            .record(*cursor)?
            .ok_or_else(|| DriverError::Inconsistent {
                batch: *cursor,
                reason: "executed batch without a record".into(),
            })?;
        match record.stage {
            Stage::Proven => {
                *cursor += 1;
                shared.proven.store(*cursor, Ordering::SeqCst);
            }
            Stage::Executed if record.failures > cfg.max_retries => {
                // Failed past its allowance before a restart (a deadline).
                park(shared, record)?;
                return Ok(true);
            }
            Stage::Executed => {
                let prover = prover.ok_or(DriverError::NoProver)?;
                let batch = record.batch;
                // A panic while proving leaves nothing half-done: the stage
                // is redone from the persisted traces.
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    prove::prove(cfg, prover, shared, record, rollup.height())
                }))
                .map_err(|p| DriverError::Panicked {
                    batch,
                    last: batch,
                    message: panic_message(p.as_ref()),
                })??;
                return Ok(true);
            }
            // Proving waits for the operator; execution goes on.
            Stage::Parked => return Ok(false),
            other => {
                return Err(DriverError::Inconsistent {
                    batch: *cursor,
                    reason: format!("below the executor's height but {other:?}"),
                })
            }
        }
    }
    Ok(false)
}

/// What [`note_failure`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Noted {
    /// Nothing: the step it was about is over.
    Skipped,
    /// The failure is counted.
    Counted,
    /// A batch failed past its allowance and is parked.
    Parked,
}

/// Counts a failure (`reason`) in the records of batches `first..=last`
/// that are still waiting (`accepted` or `executed`); parks each that has
/// failed more than `max_retries` times. Under the ingest lock, so the
/// driver's commit, the operator's retry and the watchdog never interleave
/// their read-modify-writes; with `step`, only while that step (its start)
/// is still the one in flight.
pub fn note_failure(
    shared: &Shared,
    (first, last): (u64, u64),
    reason: &str,
    max_retries: u32,
    step: Option<std::time::Instant>,
) -> Result<Noted, DriverError> {
    let _guard = shared.ingest.lock().unwrap_or_else(|e| e.into_inner());
    if step.is_some() && shared.in_flight().map(|f| f.since) != step {
        return Ok(Noted::Skipped);
    }
    let mut noted = Noted::Counted;
    for n in first..=last {
        let Some(mut record) = shared.log.record(n)? else {
            continue;
        };
        if !matches!(record.stage, Stage::Accepted | Stage::Executed) {
            continue;
        }
        record.failures += 1;
        record.last_failure = Some(reason.to_string());
        if record.failures > max_retries {
            park(shared, record)?;
            noted = Noted::Parked;
        } else {
            shared.log.put(&record)?;
        }
    }
    Ok(noted)
}

/// Parks a poison batch: its record says so (with the stage to resume and
/// the last failure), `/healthz` and the `zklanes_parked_batches` gauge
/// show it, and nothing after it is proven until the operator retries it.
pub fn park(shared: &Shared, mut record: BatchRecord) -> Result<(), DriverError> {
    let reason = record
        .last_failure
        .clone()
        .unwrap_or_else(|| "failed".into());
    record.parked_from = Some(record.stage);
    record.stage = Stage::Parked;
    // Health first: whoever reads the record as parked then finds
    // `/healthz` saying so too (a failed write stops the service anyway).
    shared.set_parked(record.batch, Some(reason.clone()));
    shared.log.put(&record)?;
    shared.metrics.add("zklanes_batches_parked_total", "", 1);
    tracing::error!(
        alert = true,
        batch = record.batch,
        stage = "park",
        failures = record.failures,
        reason,
        "poison batch parked: POST /v1/batches/N/retry (or replace it) once the cause is fixed"
    );
    Ok(())
}

/// The message of a caught panic.
pub fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a non-string panic".into())
}
