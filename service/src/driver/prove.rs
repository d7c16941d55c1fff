//! The prove stage: the oldest executed batch, bundled with the executed
//! batches after it, is proven into one final proof (or, at
//! [`ProofLevel::Chunks`], into verified chunk proofs), its proof directory
//! written whole, and the records of its batches advanced to `Proven`.

use std::time::{Duration, Instant};

use zklanes_aggregator::tree::InnerProof;
use zklanes_pipeline::batch_prover::BatchProver;

use super::recover::adopt;
use crate::config::{DriverConfig, ProofLevel};
use crate::deadline::step_deadline;
use crate::error::DriverError;
use crate::event_log::{BatchRecord, Stage};
use crate::failpoint::failpoint;
use crate::state::{InFlight, Shared};

/// Marks a proof step in flight (for the deadline watchdog and the
/// shutdown drain) until dropped, however the step ends.
struct Tracked<'a>(&'a Shared);

impl<'a> Tracked<'a> {
    fn start(shared: &'a Shared, batch: u64, deadline: Duration) -> Self {
        shared.set_in_flight(Some(InFlight {
            batch,
            since: Instant::now(),
            deadline,
        }));
        Tracked(shared)
    }
}

impl Drop for Tracked<'_> {
    fn drop(&mut self) {
        self.0.set_in_flight(None);
    }
}

/// The allowance of proving `chunks` chunks of a bundle (padded to the
/// tree's width at the final level).
fn deadline(cfg: &DriverConfig, prover: &BatchProver, chunks: usize) -> Duration {
    let layers: Vec<(u32, usize)> = match cfg.level {
        ProofLevel::Final => prover
            .keys
            .layers
            .iter()
            .map(|l| (l.spec.k, l.spec.fan_in))
            .collect(),
        ProofLevel::Chunks => vec![],
    };
    let chunks = match cfg.level {
        ProofLevel::Final => cfg.proof.width().max(chunks),
        ProofLevel::Chunks => chunks,
    };
    step_deadline(
        cfg.proof_deadline,
        prover.keys.chunk.k,
        chunks,
        cfg.workers,
        &layers,
    )
}

/// The executed batches proven together from `first` on: `first`, then
/// each next executed batch while the bundle stays within `max_bundle`
/// batches and the tree's width in chunks.
fn bundle_members(
    cfg: &DriverConfig,
    shared: &Shared,
    first: BatchRecord,
    height: u64,
) -> Result<Vec<BatchRecord>, DriverError> {
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

/// Proves the executed batch `record` (with its bundle), unless a final
/// proof written before a crash covers it.
pub fn prove(
    cfg: &DriverConfig,
    prover: &BatchProver,
    shared: &Shared,
    record: BatchRecord,
    height: u64,
) -> Result<(), DriverError> {
    let n = record.batch;
    if cfg.level == ProofLevel::Chunks {
        return prove_chunks(cfg, prover, shared, record);
    }
    if adopt(cfg, prover, shared, n)? {
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
                .ok_or_else(|| DriverError::Inconsistent {
                    batch: r.batch,
                    reason: "executed batch without traces".into(),
                })?,
        );
    }
    let _tracked = Tracked::start(shared, n, deadline(cfg, prover, traces.len()));
    failpoint("prove");
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
        .map_err(|source| DriverError::Prove { batch: n, source })?;
    failpoint("after_prove");
    let batches = members.len() as u64;
    let txs = members.iter().map(|r| r.txs).sum();
    let file = prover
        .final_proof_file(n, batches, txs, traces.len(), &proof)
        .map_err(|source| DriverError::Prove { batch: n, source })?;
    let final_path = cfg
        .data_dir
        .write_proof(&file, &proof)
        .map_err(|source| DriverError::ProofFile { batch: n, source })?;
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
    shared.log.commit_proven(&members)?;
    shared
        .metrics
        .add("zklanes_batches_proven_total", "", batches);
    let mut workers: Vec<usize> = proof.records.iter().filter_map(|p| p.worker).collect();
    workers.sort_unstable();
    workers.dedup();
    summary(&members, proof.proof.len(), &workers, 0);
    Ok(())
}

/// Chunk proofs only, per batch.
fn prove_chunks(
    cfg: &DriverConfig,
    prover: &BatchProver,
    shared: &Shared,
    mut record: BatchRecord,
) -> Result<(), DriverError> {
    let n = record.batch;
    let traces = shared
        .log
        .traces(n)?
        .ok_or_else(|| DriverError::Inconsistent {
            batch: n,
            reason: "executed batch without traces".into(),
        })?;
    let _tracked = Tracked::start(shared, n, deadline(cfg, prover, traces.len()));
    failpoint("prove");
    let clock = Instant::now();
    let (proofs, stats) = prover
        .pool()
        .prove_all(&traces)
        .map_err(|source| DriverError::Pool { batch: n, source })?;
    shared
        .metrics
        .add("zklanes_retries_total", "", stats.retries as u64);
    let mut inner = Vec::with_capacity(proofs.len());
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
        inner.push(InnerProof {
            layer: 0,
            index: p.chunk as usize,
            instances: p.snark.instances[0].clone(),
            proof: p.snark.proof.clone(),
        });
    }
    let dir = cfg.data_dir.batch_dir(n);
    cfg.data_dir
        .write_inner(&dir, &inner)
        .map_err(|source| DriverError::ProofFile { batch: n, source })?;
    failpoint("after_chunk_proofs");
    record.proof = Some(dir.display().to_string());
    record
        .timings
        .insert("prove".into(), clock.elapsed().as_secs_f64() * 1e3);
    record.stage = Stage::Proven;
    shared.log.commit_proven(std::slice::from_ref(&record))?;
    shared.metrics.add("zklanes_batches_proven_total", "", 1);
    let mut workers = stats.workers.clone();
    workers.sort_unstable();
    workers.dedup();
    let bytes = proofs.iter().map(|p| p.snark.proof.len()).sum();
    summary(
        std::slice::from_ref(&record),
        bytes,
        &workers,
        stats.retries,
    );
    Ok(())
}

/// The summary line of a finished proof: one per proof (a bundle's
/// batches share one line, so summing lines counts nothing twice), with
/// stable fields: `batch` (the first), `last_batch`, `txs`, `chunks`,
/// `execute_ms` (the members' sum), `prove_ms`, `chunk_proofs_ms`,
/// `layers_ms` (bottom up), `proof_bytes` (the final proof, or the chunk
/// proofs' sum), `workers` (the pool workers that proved chunks),
/// `retries` (chunk proof attempts the pool retried), `failures` (failed
/// attempts of the step before this one), `peak_rss_mb`.
fn summary(members: &[BatchRecord], proof_bytes: usize, workers: &[usize], retries: usize) {
    let (Some(first), Some(last)) = (members.first(), members.last()) else {
        return;
    };
    let t = |r: &BatchRecord, k: &str| r.timings.get(k).copied().unwrap_or(0.0);
    let layers_ms: Vec<f64> = (1..)
        .map_while(|l| first.timings.get(&format!("layer_{l}")).copied())
        .collect();
    tracing::info!(
        batch = first.batch,
        last_batch = last.batch,
        stage = "done",
        txs = members.iter().map(|r| r.txs).sum::<usize>(),
        chunks = members.iter().map(|r| r.chunks.unwrap_or(0)).sum::<usize>(),
        execute_ms = members.iter().map(|r| t(r, "execute")).sum::<f64>(),
        prove_ms = t(first, "prove"),
        chunk_proofs_ms = t(first, "chunk_proofs"),
        layers_ms = ?layers_ms,
        proof_bytes,
        workers = ?workers,
        retries,
        failures = first.failures,
        peak_rss_mb = zklanes_prover::rss::peak_rss_mb(),
        "batch summary"
    );
}
