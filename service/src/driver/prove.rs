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
    fn start(shared: &'a Shared, batch: u64, last: u64, deadline: Duration) -> Self {
        shared.set_in_flight(Some(InFlight {
            batch,
            last,
            since: Instant::now(),
            deadline,
        }));
        Tracked(shared)
    }
}

/// Runs a proving call, a panic in it becoming [`DriverError::Panicked`]
/// for the batches `first..=last`.
fn guarded<T>(
    first: u64,
    last: u64,
    f: impl FnOnce() -> Result<T, DriverError>,
) -> Result<T, DriverError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).map_err(|p| {
        DriverError::Panicked {
            batch: first,
            last,
            message: super::panic_message(p.as_ref()),
        }
    })?
}

/// Commits `members` as proven, under the ingest lock (see
/// [`super::note_failure`]); a batch the watchdog parked meanwhile is
/// proven after all and no longer parked.
pub(super) fn commit(shared: &Shared, members: &[BatchRecord]) -> Result<(), DriverError> {
    let _guard = shared.ingest.lock().unwrap_or_else(|e| e.into_inner());
    shared.log.commit_proven(members)?;
    for r in members {
        shared.set_parked(r.batch, None);
    }
    Ok(())
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
    // A batch that failed before is proven alone, and no bundle takes it
    // in: a bundle's failure is charged to each member, and proving them
    // one by one finds the one that causes it.
    let alone = first.failures > 0;
    let mut members = vec![first];
    while !alone && members.len() < cfg.max_bundle.max(1) {
        let m = members[members.len() - 1].batch + 1;
        if m >= height {
            break;
        }
        match shared.log.record(m)? {
            Some(r)
                if r.stage == Stage::Executed
                    && r.failures == 0
                    && chunks + r.chunks.unwrap_or(1) <= width =>
            {
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
    let enqueued = match &cfg.remote {
        Some(remote) => super::remote::enqueued_last(remote, n)?,
        None => None,
    };
    let mut members = match enqueued {
        Some(last) if last > n => {
            let mut members = vec![record];
            for m in n + 1..=last {
                match shared.log.record(m)? {
                    Some(r) if r.stage == Stage::Executed => members.push(r),
                    other => {
                        return Err(DriverError::Inconsistent {
                            batch: m,
                            reason: format!(
                                "enqueued in the bundle of batch {n} but {:?}",
                                other.map(|r| r.stage)
                            ),
                        })
                    }
                }
            }
            members
        }
        _ => bundle_members(cfg, shared, record, height)?,
    };
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
    let clock = Instant::now();
    let mut remote_provers = Vec::new();
    let proof = if let Some(remote) = &cfg.remote {
        match super::remote::prove_final(cfg, remote, prover, shared, (n, last), &traces)? {
            super::remote::Outcome::Proven(p, provers) => {
                remote_provers = provers;
                p
            }
            super::remote::Outcome::Stopped => return Ok(()),
        }
    } else {
        let tracked = Tracked::start(shared, n, last, deadline(cfg, prover, traces.len()));
        let proof = guarded(n, last, || {
            failpoint("prove");
            prover
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
                .map_err(|source| DriverError::Prove {
                    batch: n,
                    last,
                    source,
                })
        })?;
        drop(tracked);
        proof
    };
    failpoint("after_prove");
    let batches = members.len() as u64;
    let txs = members.iter().map(|r| r.txs).sum();
    let file = prover
        .final_proof_file(n, batches, txs, traces.len(), &proof)
        .map_err(|source| DriverError::Prove {
            batch: n,
            last,
            source,
        })?;
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
    commit(shared, &members)?;
    shared
        .metrics
        .add("zklanes_batches_proven_total", "", batches);
    let mut workers: Vec<usize> = proof.records.iter().filter_map(|p| p.worker).collect();
    workers.sort_unstable();
    workers.dedup();
    summary(&members, proof.proof.len(), &workers, 0);
    record_remote(shared, &remote_provers);
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
    let clock = Instant::now();
    let mut remote_provers = Vec::new();
    let (inner, workers, retries, bytes) = if let Some(remote) = &cfg.remote {
        match super::remote::prove_chunks(cfg, remote, prover, shared, n, &traces)? {
            super::remote::Outcome::Proven(inner, provers) => {
                remote_provers = provers;
                let bytes = inner.iter().map(|p| p.proof.len()).sum();
                (inner, Vec::new(), 0, bytes)
            }
            super::remote::Outcome::Stopped => return Ok(()),
        }
    } else {
        let tracked = Tracked::start(shared, n, n, deadline(cfg, prover, traces.len()));
        let (proofs, stats) = guarded(n, n, || {
            failpoint("prove");
            prover
                .pool()
                .prove_all(&traces)
                .map_err(|source| DriverError::Pool { batch: n, source })
        })?;
        drop(tracked);
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
        let mut workers = stats.workers.clone();
        workers.sort_unstable();
        workers.dedup();
        let bytes = proofs.iter().map(|p| p.snark.proof.len()).sum();
        (inner, workers, stats.retries, bytes)
    };
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
    commit(shared, std::slice::from_ref(&record))?;
    shared.metrics.add("zklanes_batches_proven_total", "", 1);
    summary(std::slice::from_ref(&record), bytes, &workers, retries);
    record_remote(shared, &remote_provers);
    Ok(())
}

/// Counts the proofs the queue's workers made, per worker.
fn record_remote(shared: &Shared, provers: &[(u32, u32, String)]) {
    for (layer, _, worker) in provers {
        shared.metrics.add(
            "zklanes_remote_proofs_total",
            &format!("layer=\"{layer}\",worker=\"{}\"", worker.escape_default()),
            1,
        );
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use zklanes_executor::batch::BATCH_VERSION;
    use zklanes_executor::params::DEFAULT_CHAIN_ID;
    use zklanes_executor::Batch;
    use zklanes_pipeline::config::ProofConfig;
    use zklanes_pipeline::data_dir::DataDir;

    use crate::event_log::EventLog;

    /// Three executed batches of one chunk each, on a tree two chunks wide;
    /// `failed` have failed once.
    fn setup(dir: &std::path::Path, failed: &[u64]) -> (DriverConfig, Shared) {
        let shared = Shared::new(EventLog::open(&dir.join("events")).unwrap());
        for n in 0..3 {
            let batch = Batch {
                version: BATCH_VERSION,
                chain_id: DEFAULT_CHAIN_ID,
                number: n,
                txs: vec![],
            };
            let mut r = shared.log.accept(&batch, None).unwrap();
            r.stage = Stage::Executed;
            r.chunks = Some(1);
            r.failures = u32::from(failed.contains(&n));
            shared.log.put(&r).unwrap();
        }
        let cfg = DriverConfig {
            data_dir: DataDir::new(dir),
            proof: ProofConfig::two_chunks_on(3, DEFAULT_CHAIN_ID),
            level: ProofLevel::Final,
            threads: 1,
            max_bundle: 3,
            max_retries: 1,
            workers: 1,
            proof_deadline: Duration::from_secs(1),
            remote: None,
        };
        (cfg, shared)
    }

    fn members(cfg: &DriverConfig, shared: &Shared, first: u64) -> Vec<u64> {
        let r = shared.log.record(first).unwrap().unwrap();
        bundle_members(cfg, shared, r, 3)
            .unwrap()
            .iter()
            .map(|r| r.batch)
            .collect()
    }

    #[test]
    fn a_bundle_fills_the_trees_width() {
        let dir = tempfile::tempdir().unwrap();
        let (cfg, shared) = setup(dir.path(), &[]);
        assert_eq!(cfg.proof.width(), 2);
        assert_eq!(members(&cfg, &shared, 0), vec![0, 1]);
    }

    /// After a bundle's failure (counted on every member) each member is
    /// proven alone, so the failure ends up charged to the batch causing it.
    #[test]
    fn a_batch_that_failed_is_proven_alone() {
        let dir = tempfile::tempdir().unwrap();
        let (cfg, shared) = setup(dir.path(), &[1]);
        assert_eq!(members(&cfg, &shared, 0), vec![0]);
        assert_eq!(members(&cfg, &shared, 1), vec![1]);
        let (cfg, shared) = setup(&dir.path().join("b"), &[0]);
        assert_eq!(members(&cfg, &shared, 0), vec![0]);
    }

    /// A bundle's failure counts on each waiting member, parks those past
    /// the allowance, and is skipped once the step it was about is over.
    #[test]
    fn a_failure_counts_on_every_member_and_parks_past_the_allowance() {
        use super::super::{note_failure, Noted};
        let dir = tempfile::tempdir().unwrap();
        let (_, shared) = setup(dir.path(), &[1]);
        assert_eq!(
            note_failure(&shared, (0, 1), "bad", 1, None).unwrap(),
            Noted::Parked
        );
        let r0 = shared.log.record(0).unwrap().unwrap();
        let r1 = shared.log.record(1).unwrap().unwrap();
        assert_eq!((r0.stage, r0.failures), (Stage::Executed, 1));
        assert_eq!((r1.stage, r1.failures), (Stage::Parked, 2));
        assert_eq!(r1.parked_from, Some(Stage::Executed));
        assert_eq!(r1.last_failure.as_deref(), Some("bad"));
        assert_eq!(shared.parked().keys().copied().collect::<Vec<_>>(), vec![1]);
        // A parked batch is not counted again.
        note_failure(&shared, (1, 1), "again", 1, None).unwrap();
        assert_eq!(shared.log.record(1).unwrap().unwrap().failures, 2);
        // The watchdog's count for a step no longer in flight is skipped.
        let since = Instant::now();
        assert_eq!(
            note_failure(&shared, (2, 2), "late", 1, Some(since)).unwrap(),
            Noted::Skipped
        );
        assert_eq!(shared.log.record(2).unwrap().unwrap().failures, 0);
        let _t = Tracked::start(&shared, 2, 2, Duration::from_secs(1));
        let since = shared.in_flight().unwrap().since;
        assert_eq!(
            note_failure(&shared, (2, 2), "late", 1, Some(since)).unwrap(),
            Noted::Counted
        );
        assert_eq!(shared.log.record(2).unwrap().unwrap().failures, 1);
    }
}
