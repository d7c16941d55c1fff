//! The pipeline loop of the service (one blocking thread): execute the
//! next batch once its predecessor is committed, persist its traces, prove
//! it, write the final proof and the Rollup calldata, then advance its
//! record. Every stage is persisted, so a restart resumes where it stopped:
//! the executor's state is rebuilt from the event log when it ran ahead of
//! the log (a crash between the two stores), and a final proof already on
//! disk is checked and adopted instead of proven again (exactly one final
//! proof per batch).

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use zklanes_aggregator::rollup_sol::finalize_calldata;
use zklanes_executor::{Rollup, RollupConfig, StoreError};

use super::failpoint::failpoint;
use super::metrics::Metrics;
use super::store::{BatchRecord, EventLog, Stage};
use crate::pipeline::{ProofConfig, Prover};
use crate::proof_file::{
    bundle_dir, bytes_hex, fr_hex, proof_dir, write_json, FinalProof, InnerProofFile,
};

/// How far the service proves each batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ProofLevel {
    /// Chunk proofs, aggregation, the final EVM proof and its L1 calldata.
    Final,
    /// Verified chunk proofs only (aggregation runs elsewhere, or a test
    /// configuration that exercises the stages in seconds).
    Chunks,
}

/// What the worker shares with the HTTP side.
pub struct Shared {
    /// The event log.
    pub log: EventLog,
    /// Metrics.
    pub metrics: Metrics,
    /// The next batch number to execute (the executor's height).
    pub next: AtomicU64,
    /// Set on shutdown: the worker stops between stages.
    pub stop: AtomicBool,
    /// Wakes the worker when an event arrives.
    pub wake: (std::sync::Mutex<bool>, std::sync::Condvar),
    /// Serializes ingestion (check then append).
    pub ingest: std::sync::Mutex<()>,
}

impl Shared {
    /// Wakes the worker.
    pub fn notify(&self) {
        let (m, c) = &self.wake;
        *m.lock().unwrap_or_else(|e| e.into_inner()) = true;
        c.notify_all();
    }

    fn wait(&self, timeout: Duration) {
        let (m, c) = &self.wake;
        let mut woken = m.lock().unwrap_or_else(|e| e.into_inner());
        if !*woken {
            woken = c
                .wait_timeout(woken, timeout)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        *woken = false;
    }
}

/// The worker's configuration.
pub struct WorkerConfig {
    /// Data directory.
    pub data_dir: PathBuf,
    /// Proof configuration.
    pub proof: ProofConfig,
    /// How far to prove.
    pub level: ProofLevel,
    /// Execution threads.
    pub threads: usize,
    /// Most batches one final proof settles (a bundle of consecutive
    /// executed batches, within the tree's width in chunks).
    pub max_bundle: usize,
}

/// Why the worker stopped.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    /// The executor's store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The log failed.
    #[error(transparent)]
    Log(#[from] super::store::LogError),
    /// A proof or file step failed for good.
    #[error("batch {batch}: {reason}")]
    Batch {
        /// Batch.
        batch: u64,
        /// Why.
        reason: String,
    },
}

fn rollup_config(cfg: &WorkerConfig) -> RollupConfig {
    RollupConfig {
        chain_id: cfg.proof.shape.chain_id,
        chunk_capacity: cfg.proof.shape.capacity,
        threads: cfg.threads,
        ..Default::default()
    }
}

/// Opens the executor's state, rebuilt from the log when it does not match
/// it (the state committed a batch whose record was not yet written).
pub fn open_state(cfg: &WorkerConfig, shared: &Shared) -> Result<Rollup, WorkerError> {
    let dir = cfg.data_dir.join("state");
    let records = shared.log.records()?;
    let executed = records
        .iter()
        .take_while(|r| matches!(r.stage, Stage::Executed | Stage::Proven))
        .count() as u64;
    let rollup = Rollup::open(&dir, rollup_config(cfg))?;
    if rollup.height() == executed {
        return Ok(rollup);
    }
    tracing::warn!(
        stage = "recover",
        state_height = rollup.height(),
        log_height = executed,
        "executor state and event log disagree: rebuilding the state from the log"
    );
    drop(rollup);
    std::fs::remove_dir_all(&dir).map_err(|e| WorkerError::Batch {
        batch: executed,
        reason: format!("removing {}: {e}", dir.display()),
    })?;
    let mut rollup = Rollup::open(&dir, rollup_config(cfg))?;
    for n in 0..executed {
        let batch = shared.log.event(n)?.ok_or_else(|| WorkerError::Batch {
            batch: n,
            reason: "executed batch missing from the log".into(),
        })?;
        rollup.apply(&batch)?;
    }
    Ok(rollup)
}

/// Runs the pipeline over `rollup` (from [`open_state`]) until `shared.stop`.
pub fn run(
    cfg: WorkerConfig,
    prover: Option<Arc<Prover>>,
    shared: Arc<Shared>,
    mut rollup: Rollup,
) -> Result<(), WorkerError> {
    shared.next.store(rollup.height(), Ordering::SeqCst);
    // Batches below the cursor are proven: every batch below the executor's
    // height is executed or proven, and proving goes in number order.
    let mut cursor = 0u64;
    while !shared.stop.load(Ordering::SeqCst) {
        let did = step(&cfg, prover.as_deref(), &shared, &mut rollup, &mut cursor)?;
        if !did {
            shared.wait(Duration::from_millis(500));
        }
    }
    tracing::info!(stage = "shutdown", "pipeline worker stopped");
    Ok(())
}

/// One unit of work: execute the next batch if it is there (execution
/// takes milliseconds, and batches executed while a proof runs can join the
/// next bundle), else prove the oldest executed batch (with the executed
/// batches after it, up to `max_bundle`). Returns whether there was work.
fn step(
    cfg: &WorkerConfig,
    prover: Option<&Prover>,
    shared: &Shared,
    rollup: &mut Rollup,
    cursor: &mut u64,
) -> Result<bool, WorkerError> {
    if execute_next(shared, rollup)? {
        return Ok(true);
    }
    while *cursor < rollup.height() {
        let record = shared
            .log
            .record(*cursor)?
            .ok_or_else(|| WorkerError::Batch {
                batch: *cursor,
                reason: "executed batch without a record".into(),
            })?;
        match record.stage {
            Stage::Proven => *cursor += 1,
            Stage::Executed => {
                prove(cfg, prover, shared, record, rollup.height())?;
                return Ok(true);
            }
            other => {
                return Err(WorkerError::Batch {
                    batch: *cursor,
                    reason: format!("below the executor's height but {other:?}"),
                })
            }
        }
    }
    Ok(false)
}

/// Executes the next batch if its event is there; returns whether it did.
fn execute_next(shared: &Shared, rollup: &mut Rollup) -> Result<bool, WorkerError> {
    let next = rollup.height();
    let Some(mut record) = shared.log.record(next)? else {
        return Ok(false);
    };
    if record.stage != Stage::Accepted {
        return Ok(false);
    }
    let batch = shared.log.event(next)?.ok_or_else(|| WorkerError::Batch {
        batch: next,
        reason: "record without event".into(),
    })?;
    let clock = Instant::now();
    match rollup.apply(&batch) {
        Ok(out) => {
            failpoint("after_execute");
            let ms = clock.elapsed().as_secs_f64() * 1e3;
            let txs = batch.txs.len();
            let tps = txs as f64 / (ms / 1e3).max(1e-9);
            record.stage = Stage::Executed;
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

/// A final proof on disk whose bundle covers batch `n` (written before a
/// crash), if one verifies and ends at its last batch's recorded root.
fn final_on_disk(
    cfg: &WorkerConfig,
    prover: &Prover,
    shared: &Shared,
    n: u64,
) -> Result<Option<(PathBuf, FinalProof, Vec<BatchRecord>)>, WorkerError> {
    let Ok(entries) = std::fs::read_dir(cfg.data_dir.join("proofs")) else {
        return Ok(None);
    };
    'dirs: for e in entries.flatten() {
        let path = e.path().join("final.json");
        let Ok(f) = FinalProof::read(&path) else {
            continue;
        };
        if !(f.batch <= n && n < f.batch + f.batches.max(1)) {
            continue;
        }
        let mut members = vec![];
        for m in f.batch..f.batch + f.batches.max(1) {
            match shared.log.record(m)? {
                Some(r) if matches!(r.stage, Stage::Executed | Stage::Proven) => members.push(r),
                _ => continue 'dirs,
            }
        }
        let last_root = members.last().and_then(|r| r.state_root.clone());
        let verified = last_root.as_deref() == Some(f.transition.new_root.as_str())
            && f.instances_fr(&path)
                .ok()
                .zip(f.proof_bytes(&path).ok())
                .is_some_and(|(i, p)| prover.verify_native(&i, &p).unwrap_or(false));
        if verified {
            return Ok(Some((path, f, members)));
        }
    }
    Ok(None)
}

/// The executed batches proven together from `n` on: `n`, then each next
/// executed batch while the bundle stays within `max_bundle` batches and
/// the tree's width in chunks.
fn bundle_members(
    cfg: &WorkerConfig,
    shared: &Shared,
    first: BatchRecord,
    height: u64,
) -> Result<Vec<BatchRecord>, WorkerError> {
    let width = cfg.proof.width();
    let mut chunks = first.chunks.unwrap_or(1);
    let mut members = vec![first];
    while members.len() < cfg.max_bundle.max(1) {
        let m = members[members.len() - 1].batch + 1;
        if m >= height {
            break;
        }
        match shared.log.record(m)? {
            Some(r) if r.stage == Stage::Executed && chunks + r.chunks.unwrap_or(1) <= width => {
                chunks += r.chunks.unwrap_or(1);
                members.push(r);
            }
            _ => break,
        }
    }
    Ok(members)
}

fn prove(
    cfg: &WorkerConfig,
    prover: Option<&Prover>,
    shared: &Shared,
    record: BatchRecord,
    height: u64,
) -> Result<(), WorkerError> {
    let n = record.batch;
    let fail = |reason: String| WorkerError::Batch { batch: n, reason };
    let prover = prover.ok_or_else(|| fail("no prover".into()))?;
    if cfg.level == ProofLevel::Chunks {
        return prove_chunks(cfg, prover, shared, record);
    }
    // A final proof written before a crash: adopt it for every batch of its
    // bundle (exactly one final proof per batch).
    if let Some((path, f, mut members)) = final_on_disk(cfg, prover, shared, n)? {
        tracing::info!(
            batch = n,
            stage = "recover",
            bundle = ?[f.batch, f.batch + f.batches.max(1) - 1],
            "final proof on disk adopted"
        );
        let bundle = [f.batch, f.batch + f.batches.max(1) - 1];
        for r in &mut members {
            r.stage = Stage::Proven;
            r.commitments = Some(f.transition.clone());
            r.proof = Some(path.display().to_string());
            r.bundle = Some(bundle);
        }
        shared.log.put_all(&members)?;
        return Ok(());
    }
    let mut members = bundle_members(cfg, shared, record, height)?;
    let last = members[members.len() - 1].batch;
    let mut traces = vec![];
    for r in &members {
        traces.extend(
            shared
                .log
                .traces(r.batch)?
                .ok_or_else(|| fail(format!("traces of batch {} missing", r.batch)))?,
        );
    }
    let dir = bundle_dir(&cfg.data_dir, n, last);
    std::fs::create_dir_all(&dir).map_err(|e| fail(e.to_string()))?;
    let final_path = dir.join("final.json");
    let clock = Instant::now();
    let proof = prover
        .prove(&traces, &|r| {
            shared.metrics.observe(
                "zklanes_proof_seconds",
                &format!("layer=\"{}\"", r.layer),
                r.ms / 1e3,
            );
            tracing::info!(
                batch = n,
                chunk = r.index,
                stage = "prove",
                worker = %r.worker.map_or("aggregator".to_string(), |w| w.to_string()),
                layer = r.layer,
                k = r.k,
                advice_cells = r.advice_cells,
                ms = r.ms,
                proof_bytes = r.proof_bytes,
                "proof"
            );
        })
        .map_err(|e| fail(e.to_string()))?;
    failpoint("after_prove");
    let batches = members.len() as u64;
    let txs = members.iter().map(|r| r.txs).sum();
    let file = prover
        .final_proof_file(n, batches, txs, traces.len(), &proof)
        .map_err(|e| fail(e.to_string()))?;
    file.write(&final_path).map_err(|e| fail(e.to_string()))?;
    std::fs::write(
        dir.join("finalize.calldata"),
        bytes_hex(&finalize_calldata(
            n,
            batches,
            &proof.instances,
            &proof.l1,
            &proof.proof,
        )),
    )
    .map_err(|e| fail(e.to_string()))?;
    failpoint("after_persist_proof");
    let ms = clock.elapsed().as_secs_f64() * 1e3;
    for r in &mut members {
        for p in proof.records.iter().filter(|p| p.layer > 0) {
            r.timings.insert(format!("layer_{}", p.layer), p.ms);
        }
        r.timings.insert("chunk_proofs".into(), proof.chunks_ms);
        r.timings.insert("prove".into(), ms);
        r.commitments = Some(file.transition.clone());
        r.proof = Some(final_path.display().to_string());
        r.bundle = Some([n, last]);
        r.stage = Stage::Proven;
    }
    shared.log.put_all(&members)?;
    shared
        .metrics
        .add("zklanes_batches_proven_total", "", batches);
    for r in &members {
        summary(r);
    }
    Ok(())
}

/// Chunk proofs only, per batch.
fn prove_chunks(
    cfg: &WorkerConfig,
    prover: &Prover,
    shared: &Shared,
    mut record: BatchRecord,
) -> Result<(), WorkerError> {
    let n = record.batch;
    let fail = |reason: String| WorkerError::Batch { batch: n, reason };
    let traces = shared
        .log
        .traces(n)?
        .ok_or_else(|| fail("traces missing".into()))?;
    let dir = proof_dir(&cfg.data_dir, n);
    std::fs::create_dir_all(&dir).map_err(|e| fail(e.to_string()))?;
    let clock = Instant::now();
    let (proofs, stats) = prover
        .pool()
        .prove_all(&traces)
        .map_err(|e| fail(e.to_string()))?;
    shared
        .metrics
        .add("zklanes_retries_total", "", stats.retries as u64);
    for (p, worker) in proofs.iter().zip(&stats.workers) {
        let ms = p.timings.witness_ms + p.timings.prove_ms + p.timings.verify_ms;
        shared
            .metrics
            .observe("zklanes_proof_seconds", "layer=\"0\"", ms / 1e3);
        tracing::info!(
            batch = n,
            chunk = p.chunk,
            stage = "prove",
            worker = %worker,
            layer = 0,
            k = prover.keys.chunk.k,
            advice_cells = prover.keys.chunk.advice_cells,
            ms,
            proof_bytes = p.snark.proof.len(),
            "proof"
        );
        write_json(
            &dir.join(format!("chunk-{}.json", p.chunk)),
            &InnerProofFile {
                layer: 0,
                index: p.chunk as usize,
                instances: p.snark.instances[0].iter().map(fr_hex).collect(),
                proof: bytes_hex(&p.snark.proof),
            },
        )
        .map_err(|e| fail(e.to_string()))?;
    }
    failpoint("after_chunk_proofs");
    record.proof = Some(dir.display().to_string());
    record
        .timings
        .insert("prove".into(), clock.elapsed().as_secs_f64() * 1e3);
    record.stage = Stage::Proven;
    shared.log.put(&record)?;
    shared.metrics.add("zklanes_batches_proven_total", "", 1);
    summary(&record);
    Ok(())
}

/// The summary line of a finished batch.
fn summary(record: &BatchRecord) {
    let total: f64 = record.timings.values().sum();
    tracing::info!(
        batch = record.batch,
        stage = "done",
        ms = total,
        txs = record.txs,
        chunks = record.chunks.unwrap_or(0),
        bundle = ?record.bundle,
        peak_rss_mb = zklanes_prover::rss::peak_rss_mb(),
        "batch summary"
    );
}
