//! The L1 gate of the execute stage (`--l1 embedded`): before the next
//! batch is executed, its L1 queue operations (deposits and forced
//! withdrawals, one queue) are checked against the L1 view
//! ([`crate::deposit_check`]).
//!
//! - All match: the batch goes on to the executor.
//! - An operation L1 has not queued yet, or L1 cannot be read now (a
//!   retryable view error): the batch waits, accepted, its record's
//!   `waiting` saying why (`GET /v1/batches/{n}`), counted in
//!   `zklanes_l1_waits_total`; the check is retried with backoff (from
//!   250 ms, doubling, at most [`MAX_WAIT`]). Waiting is no failure: it
//!   never parks the batch, and executed batches are proven meanwhile.
//! - An operation that differs: the batch is refused (`Rejected`, its
//!   error starting with [`crate::deposit_check::MISMATCH_REASON`] for a
//!   deposit, [`crate::deposit_check::FORCED_MISMATCH_REASON`] for a forced
//!   withdrawal), so the sequencer can replace it. Not retryable: the
//!   same batch never matches.
//! - L1's record is corrupt (a view error that is not retryable): fatal.

use std::sync::Arc;
use std::time::{Duration, Instant};

use zklanes_executor::Batch;

use crate::deposit_check::{check_queue, queue_ops, Mismatch, Verdict};
use crate::error::DriverError;
use crate::event_log::BatchRecord;
use crate::l1_view::L1View;
use crate::state::Shared;

/// The longest pause between two checks of a waiting batch.
pub const MAX_WAIT: Duration = Duration::from_secs(4);

/// What the gate says of a batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Gate {
    /// Execute it.
    Go,
    /// Not yet: it waits for L1.
    Wait,
    /// Refuse it: an operation differs from L1's (its
    /// [`Mismatch::reason`] is the failure's label, its text the batch's
    /// error).
    Refuse(Mismatch),
}

/// The batch waiting for L1, if any.
#[derive(Clone, Copy, Debug)]
struct Waiting {
    batch: u64,
    checks: u32,
    next: Instant,
}

/// The gate: the view and the backoff of the batch it holds.
pub struct L1Gate {
    view: Arc<dyn L1View>,
    waiting: Option<Waiting>,
}

impl L1Gate {
    /// A gate over `view`.
    pub fn new(view: Arc<dyn L1View>) -> Self {
        Self {
            view,
            waiting: None,
        }
    }

    /// Checks `batch`'s deposits and forced withdrawals (its record
    /// `record`, stage accepted) against L1, from queue index
    /// `next_deposit`; records why it waits.
    pub fn check(
        &mut self,
        shared: &Shared,
        record: &mut BatchRecord,
        batch: &Batch,
        next_deposit: u64,
    ) -> Result<Gate, DriverError> {
        let n = batch.number;
        let held = self.waiting.filter(|w| w.batch == n);
        if held.is_some_and(|w| Instant::now() < w.next) {
            return Ok(Gate::Wait);
        }
        let reason = match check_queue(self.view.as_ref(), queue_ops(batch), next_deposit) {
            Ok(Verdict::Matches) => {
                self.waiting = None;
                return Ok(Gate::Go);
            }
            Ok(Verdict::Mismatch(m)) => {
                self.waiting = None;
                return Ok(Gate::Refuse(m));
            }
            Ok(Verdict::NotQueued { queue_index, kind }) => format!(
                "waiting for L1 ({}) to queue the {kind} at queue index {queue_index}",
                self.view.name()
            ),
            Err(e) if e.is_retryable() => format!("waiting for L1 ({}): {e}", self.view.name()),
            Err(source) => return Err(DriverError::L1 { batch: n, source }),
        };
        let checks = held.map_or(0, |w| w.checks) + 1;
        let pause = (Duration::from_millis(250) * (1u32 << checks.min(8))).min(MAX_WAIT);
        self.waiting = Some(Waiting {
            batch: n,
            checks,
            next: Instant::now() + pause,
        });
        shared.metrics.add("zklanes_l1_waits_total", "", 1);
        if record.waiting.as_deref() != Some(reason.as_str()) {
            tracing::info!(batch = n, stage = "l1", reason, "batch waits for L1");
            record.waiting = Some(reason);
            shared.log.put(record)?;
        }
        Ok(Gate::Wait)
    }
}
