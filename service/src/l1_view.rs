//! The pipeline's view of L1: where the service reads the operations L1
//! queued (deposits and forced withdrawals share one queue), to check a
//! batch's against them before executing it ([`crate::deposit_check`]).
//!
//! Two implementations: [`crate::embedded_l1::EmbeddedL1`], the project's
//! own L1 chain in revm, persisted in the data directory (`zklanes serve
//! --l1 embedded`), and [`crate::json_rpc_l1::JsonRpcL1`], the production
//! one, reading the Rollup contract's `DepositQueued` events from an
//! Ethereum node (`--l1 json-rpc`).

use zklanes_l1::log::DepositEvent;

/// Why the view could not answer.
#[derive(Debug, thiserror::Error)]
pub enum L1ViewError {
    /// L1 cannot be read now (a node unreachable, a timeout, a lock held
    /// too long). Retryable: the batch waits and the check is retried with
    /// backoff; nothing is parked.
    #[error("L1 unavailable: {reason}")]
    Unavailable {
        /// Why.
        reason: String,
    },
    /// L1's record is not what it must be (an event at the wrong queue
    /// index, an event that does not decode). Not retryable: the service
    /// stops, because no batch can be checked against it.
    #[error("L1 record corrupt: {reason}")]
    Corrupt {
        /// What is wrong.
        reason: String,
    },
}

impl L1ViewError {
    /// Whether asking again later may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Unavailable { .. })
    }
}

/// A source of L1 queue events.
pub trait L1View: Send + Sync {
    /// The operation L1 queued at `queue_index`, as L1 queued it: a deposit
    /// (its account as L1 assigned it; the zero key for a top-up) or a
    /// forced withdrawal (amount 0, the zero key, its owner as the sender:
    /// [`DepositEvent::is_forced_withdrawal`]); `None` if L1 has not queued
    /// it yet.
    fn deposit(&self, queue_index: u64) -> Result<Option<DepositEvent>, L1ViewError>;

    /// A short name for logs (`embedded`, `json-rpc`).
    fn name(&self) -> &'static str;
}
