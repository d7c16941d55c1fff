//! Batch execution: static checks, batch signature verification and the
//! state transition, with the sequential reference and the parallel engine.
//!
//! Both engines produce the same [`ExecOutput`] for any batch and thread
//! count. The parallel driver runs three phases (static checks, signatures,
//! execution) and reports the first failing transaction exactly as the
//! sequential engine would: the lowest index, and at equal index the check
//! the sequential engine runs first.

pub mod apply;
pub mod overlay;
pub mod parallel;
pub mod sequential;

use std::time::Instant;

use ark_ed_on_bn254::EdwardsAffine;
use rayon::prelude::*;
use rustc_hash::FxHashMap;
use serde::Serialize;

use crate::error::{BatchError, TxError};
use crate::signature::{self, BatchItem};
use crate::state::{Key, Leaf, State};
use crate::tx::{SignedTx, TxBody};
pub use apply::Receipt;

/// Which engine runs the state transition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize)]
pub enum Engine {
    /// The parallel engine (falls back to sequential on an invariant failure).
    #[default]
    Parallel,
    /// The sequential reference engine.
    Sequential,
}

/// Execution settings.
#[derive(Clone, Copy, Debug)]
pub struct ExecConfig {
    /// Worker threads.
    pub threads: usize,
    /// Chain id bound into signatures.
    pub chain_id: u32,
    /// Engine.
    pub engine: Engine,
}

/// Per-batch execution metrics.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct ExecMetrics {
    /// Threads used.
    pub threads: usize,
    /// Static checks (widths, signature presence, deposit order), ms.
    pub static_ms: f64,
    /// Signature verification, ms.
    pub signatures_ms: f64,
    /// State transition, ms.
    pub execution_ms: f64,
    /// Dependency edges between transactions.
    pub conflicts: u64,
    /// Times a transaction had to wait for a predecessor.
    pub waits: u64,
    /// Re-executions (0: the engine never speculates).
    pub reexecutions: u64,
    /// Whether the engine fell back to sequential execution.
    pub fell_back: bool,
}

/// Result of executing a batch (the state itself is not modified).
#[derive(Clone, Debug)]
pub struct ExecOutput {
    /// One receipt per transaction.
    pub receipts: Vec<Receipt>,
    /// Changed leaves with their final values, sorted by leaf index.
    pub diff: Vec<(Key, Leaf)>,
    /// Next deposit queue index after the batch.
    pub next_deposit: u64,
    /// Metrics.
    pub metrics: ExecMetrics,
}

impl ExecOutput {
    /// Drops unchanged entries and sorts by leaf index, so equal transitions compare equal.
    fn normalise(mut self, base: &State) -> Self {
        self.diff.retain(|(k, l)| base.get(*k) != *l);
        self.diff.par_sort_unstable_by_key(|(k, _)| k.index());
        self
    }
}

/// Executes a batch over `state` without modifying it.
pub fn execute(
    state: &State,
    txs: &[SignedTx],
    cfg: &ExecConfig,
) -> Result<ExecOutput, BatchError> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(cfg.threads.max(1))
        .build()
        .map_err(|e| BatchError::Internal {
            reason: e.to_string(),
        })?;
    pool.install(|| match cfg.engine {
        Engine::Sequential => {
            let t = Instant::now();
            let mut out = sequential::execute_sequential(state, txs, cfg.chain_id)?;
            out.metrics.execution_ms = t.elapsed().as_secs_f64() * 1e3;
            out.metrics.threads = 1;
            Ok(out.normalise(state))
        }
        Engine::Parallel => execute_parallel_driver(state, txs, cfg).map(|o| o.normalise(state)),
    })
}

/// First failure of a phase: (index, phase rank, reason). Lower rank = checked earlier.
type Failure = (usize, u8, TxError);

fn first(a: Option<Failure>, b: Option<Failure>) -> Option<Failure> {
    match (a, b) {
        (Some(x), Some(y)) => Some(if (y.0, y.1) < (x.0, x.1) { y } else { x }),
        (x, None) => x,
        (None, y) => y,
    }
}

/// Static phase: widths and signature presence (rank 0), deposit order (rank 1).
fn static_phase(state: &State, txs: &[SignedTx]) -> (Option<Failure>, u64) {
    let bad = txs
        .par_iter()
        .position_first(|tx| sequential::static_check(tx).is_err())
        .map(|i| {
            (
                i,
                0u8,
                sequential::static_check(&txs[i]).expect_err("found above"),
            )
        });
    let mut next = state.next_deposit;
    let mut order = None;
    for (i, tx) in txs.iter().enumerate() {
        if let Some(got) = tx.body.queue_index() {
            if got != next {
                order = Some((
                    i,
                    1u8,
                    TxError::DepositOutOfOrder {
                        expected: next,
                        got,
                    },
                ));
                break;
            }
            next += 1;
        }
    }
    (first(bad, order), next)
}

/// Signature phase (rank 1 at a signed index; deposits have none): signer
/// exists at that point, then the batch-verified signature.
fn signature_phase(
    state: &State,
    txs: &[SignedTx],
    limit: usize,
    chain_id: u32,
) -> Option<Failure> {
    // Keys of accounts created by deposits in this batch: first creation wins.
    let mut created: FxHashMap<u32, (usize, crate::signature::PublicKey)> = FxHashMap::default();
    for (i, tx) in txs[..limit].iter().enumerate() {
        if let TxBody::Deposit(d) = &tx.body {
            if matches!(state.get(Key::Account(d.account)), Leaf::Empty) {
                created.entry(d.account).or_insert((i, d.pubkey));
            }
        }
    }
    let items: Vec<Result<(usize, BatchItem<'_>), Failure>> = txs[..limit]
        .par_iter()
        .enumerate()
        .filter(|(_, tx)| tx.body.signer().is_some())
        .map(|(i, tx)| {
            let (account, _) = tx.body.signer().expect("signed type");
            let pk = match state.get(Key::Account(account)) {
                Leaf::Account(a) => a.pubkey,
                _ => match created.get(&account) {
                    Some((at, pk)) if *at < i => *pk,
                    _ => return Err((i, 1u8, TxError::UnknownAccount { account })),
                },
            };
            let msg = tx.body.message(chain_id).expect("signed type");
            let sig = tx
                .signature
                .as_ref()
                .expect("static phase checked presence");
            Ok((
                i,
                BatchItem {
                    pk: EdwardsAffine::new_unchecked(pk.x, pk.y),
                    msg,
                    sig,
                },
            ))
        })
        .collect();
    let mut unknown = None;
    let mut index = Vec::with_capacity(items.len());
    let mut batch = Vec::with_capacity(items.len());
    for it in items {
        match it {
            Ok((i, b)) => {
                index.push(i);
                batch.push(b);
            }
            Err(f) => {
                unknown = first(unknown, Some(f));
            }
        }
    }
    let bad_sig = signature::verify_batch(&batch)
        .err()
        .map(|(pos, reason)| (index[pos], 1u8, TxError::BadSignature { reason }));
    first(unknown, bad_sig)
}

/// The execution phase alone: the parallel engine without static or
/// signature checks. Callers must have run those (benchmarks time this phase
/// separately). Runs on `threads` threads.
pub fn execution_phase(
    state: &State,
    txs: &[SignedTx],
    threads: usize,
) -> Result<parallel::ParallelResult, apply::Invariant> {
    let tokens = pool_tokens(state, txs);
    parallel::execute_parallel(state, txs, txs.len(), &tokens, threads)
}

/// Pool tokens known before execution: pre-state pools and the batch's creations.
fn pool_tokens(state: &State, txs: &[SignedTx]) -> FxHashMap<u32, (u32, u32)> {
    let mut map = FxHashMap::default();
    for tx in txs {
        if let TxBody::CreatePool(c) = &tx.body {
            map.entry(c.pool).or_insert((c.token_a, c.token_b));
        }
        let pool = match &tx.body {
            TxBody::Swap(s) => s.pool,
            TxBody::AddLiquidity(a) => a.pool,
            TxBody::RemoveLiquidity(r) => r.pool,
            _ => continue,
        };
        if let Leaf::Pool(p) = state.get(Key::Pool(pool)) {
            map.insert(pool, (p.token_a, p.token_b));
        }
    }
    map
}

fn execute_parallel_driver(
    state: &State,
    txs: &[SignedTx],
    cfg: &ExecConfig,
) -> Result<ExecOutput, BatchError> {
    let mut metrics = ExecMetrics {
        threads: cfg.threads,
        ..Default::default()
    };
    let t = Instant::now();
    let (static_fail, next_deposit) = static_phase(state, txs);
    metrics.static_ms = t.elapsed().as_secs_f64() * 1e3;
    let limit = static_fail.as_ref().map_or(txs.len(), |f| f.0);

    let t = Instant::now();
    let sig_fail = signature_phase(state, txs, limit, cfg.chain_id);
    metrics.signatures_ms = t.elapsed().as_secs_f64() * 1e3;
    let limit = sig_fail.as_ref().map_or(limit, |f| f.0);
    let pre_fail = first(static_fail, sig_fail);

    let t = Instant::now();
    let tokens = pool_tokens(state, &txs[..limit]);
    let result = match parallel::execute_parallel(state, txs, limit, &tokens, cfg.threads) {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "parallel executor invariant broken; falling back to sequential");
            let mut out = sequential::execute_sequential(state, txs, cfg.chain_id)?;
            metrics.fell_back = true;
            metrics.execution_ms = t.elapsed().as_secs_f64() * 1e3;
            out.metrics = metrics;
            return Ok(out);
        }
    };
    metrics.execution_ms = t.elapsed().as_secs_f64() * 1e3;
    metrics.conflicts = result.stats.conflicts;
    metrics.waits = result.stats.waits;
    let exec_fail = result.failure.map(|(i, e)| (i, 2u8, e));
    if let Some((index, _, reason)) = first(pre_fail, exec_fail) {
        return Err(BatchError::Tx { index, reason });
    }
    Ok(ExecOutput {
        receipts: result.receipts,
        diff: result.diff,
        next_deposit,
        metrics,
    })
}
