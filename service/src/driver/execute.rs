//! The execute stage: the next batch, once its event is in the log, is
//! applied to the executor's state; its chunk traces are persisted with its
//! `Executed` record, or it is recorded `Rejected` with the executor's
//! reason. With an L1 view, its deposits and forced withdrawals are
//! checked against L1's queue first ([`super::l1_gate`]): it may wait for
//! L1, or be rejected for an operation L1 did not queue as the batch has
//! it.

use std::sync::atomic::Ordering;
use std::time::Instant;

use zklanes_executor::{BatchError, Rollup, StoreError};

use super::l1_gate::{Gate, L1Gate};
use crate::error::DriverError;
use crate::event_log::Stage;
use crate::failpoint::failpoint;
use crate::state::Shared;

/// Executes the next batch if its event is there (and, with an L1 `gate`,
/// once L1 has queued its deposits and forced withdrawals as the batch has
/// them); returns
/// whether it did (a batch rejected counts; one waiting for L1 does not).
pub fn execute_next(
    shared: &Shared,
    rollup: &mut Rollup,
    gate: Option<&mut L1Gate>,
) -> Result<bool, DriverError> {
    let next = rollup.height();
    let Some(mut record) = shared.log.record(next)? else {
        return Ok(false);
    };
    if record.stage != Stage::Accepted {
        return Ok(false);
    }
    let batch = shared
        .log
        .event(next)?
        .ok_or_else(|| DriverError::Inconsistent {
            batch: next,
            reason: "record without event".into(),
        })?;
    if let Some(gate) = gate {
        let next_deposit = rollup.state().next_deposit;
        match gate.check(shared, &mut record, &batch, next_deposit)? {
            Gate::Go => record.waiting = None,
            Gate::Wait => return Ok(false),
            Gate::Refuse(mismatch) => {
                let error = mismatch.to_string();
                record.stage = Stage::Rejected;
                record.waiting = None;
                record.error = Some(error.clone());
                shared.log.put(&record)?;
                shared.metrics.add(
                    "zklanes_failures_total",
                    &format!("reason=\"{}\"", mismatch.reason()),
                    1,
                );
                tracing::warn!(batch = next, stage = "l1", error = %error, "batch refused: its L1 queue operations are not L1's");
                return Ok(true);
            }
        }
    }
    let clock = Instant::now();
    match rollup.apply(&batch) {
        Ok(out) => {
            failpoint("after_execute");
            let ms = clock.elapsed().as_secs_f64() * 1e3;
            let txs = batch.txs.len();
            let tps = txs as f64 / (ms / 1e3).max(1e-9);
            record.stage = Stage::Executed;
            // The count is of failures at the current step.
            record.failures = 0;
            record.state_root = Some(out.state_root_hex());
            record.chunks = Some(out.chunks.len());
            record.timings.insert("execute".into(), ms);
            shared.log.executed(&record, &out.chunks)?;
            shared.next.store(rollup.height(), Ordering::SeqCst);
            shared.metrics.add("zklanes_batches_executed_total", "", 1);
            shared
                .metrics
                .add("zklanes_transactions_total", "", txs as u64);
            shared
                .metrics
                .observe("zklanes_execution_seconds", "", ms / 1e3);
            tracing::info!(
                batch = next,
                stage = "execute",
                ms,
                txs,
                tps,
                chunks = out.chunks.len(),
                "batch executed"
            );
        }
        Err(StoreError::Batch(BatchError::Internal { reason })) => {
            return Err(DriverError::Executor {
                batch: next,
                reason,
            })
        }
        Err(StoreError::Batch(e)) => {
            record.stage = Stage::Rejected;
            record.error = Some(e.to_string());
            shared.log.put(&record)?;
            shared
                .metrics
                .add("zklanes_failures_total", "reason=\"invalid_batch\"", 1);
            tracing::warn!(batch = next, stage = "execute", error = %e, "batch rejected by the executor");
        }
        Err(e) => return Err(e.into()),
    }
    Ok(true)
}
