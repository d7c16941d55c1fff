//! The prover pool: `W` workers prove a batch's chunks concurrently, each on
//! its own rayon pool of `T` threads, sharing one copy of the keys and the
//! SRS. Every proof is verified by the worker before it is returned
//! ([`crate::chunk::prove`]); retryable failures are retried up to a cap,
//! fatal ones stop the batch.
//!
//! The coordinator only sees the [`Worker`] trait: a worker on another
//! machine implements it (send the trace, receive the verified snark) and
//! the pool does not change. Memory is bounded by `W` proofs in flight.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use halo2_base::halo2_proofs::halo2curves::bn256::Bn256;
use halo2_base::halo2_proofs::poly::kzg::commitment::ParamsKZG;

use crate::chunk::{prove, ChunkKeys, ChunkProof, ProveError};
use crate::rss::peak_rss_mb;
use zklanes_executor::trace::ChunkTrace;

/// Something that proves chunks.
pub trait Worker: Send + Sync {
    /// The worker's id (for metrics and errors).
    fn id(&self) -> usize;
    /// Proves one chunk; the returned proof must already be verified.
    fn prove(&self, trace: &ChunkTrace) -> Result<ChunkProof, ProveError>;
}

/// A worker in this process, on its own rayon pool.
pub struct LocalWorker {
    id: usize,
    threads: rayon::ThreadPool,
    params: Arc<ParamsKZG<Bn256>>,
    keys: Arc<ChunkKeys>,
}

impl LocalWorker {
    /// A worker with `threads` threads over shared keys.
    pub fn new(
        id: usize,
        threads: usize,
        params: Arc<ParamsKZG<Bn256>>,
        keys: Arc<ChunkKeys>,
    ) -> Result<Self, ProveError> {
        let threads = rayon::ThreadPoolBuilder::new()
            .num_threads(threads.max(1))
            .thread_name(move |i| format!("prover-{id}-{i}"))
            .build()
            .map_err(|e| ProveError::WorkerLost {
                worker: id,
                chunk: 0,
                reason: format!("cannot start its thread pool: {e}"),
            })?;
        Ok(Self {
            id,
            threads,
            params,
            keys,
        })
    }
}

impl Worker for LocalWorker {
    fn id(&self) -> usize {
        self.id
    }

    fn prove(&self, trace: &ChunkTrace) -> Result<ChunkProof, ProveError> {
        let span = tracing::info_span!(
            "chunk_proof",
            worker = self.id,
            chunk = trace.chunk,
            k = self.keys.k,
            advice_cells = tracing::field::Empty,
            witness_ms = tracing::field::Empty,
            prove_ms = tracing::field::Empty,
            verify_ms = tracing::field::Empty,
            proof_bytes = tracing::field::Empty,
            peak_rss_mb = tracing::field::Empty,
        );
        let _enter = span.enter();
        let proof = self
            .threads
            .install(|| prove(&self.params, &self.keys, trace))?;
        let t = proof.timings;
        span.record("advice_cells", self.keys.advice_cells);
        span.record("witness_ms", t.witness_ms.round() as u64);
        span.record("prove_ms", t.prove_ms.round() as u64);
        span.record("verify_ms", t.verify_ms.round() as u64);
        span.record("proof_bytes", proof.snark.proof.len());
        span.record("peak_rss_mb", peak_rss_mb().unwrap_or(0.0).round() as u64);
        tracing::info!("chunk proof verified");
        Ok(proof)
    }
}

/// Why a batch's chunks could not all be proven.
#[derive(Debug, thiserror::Error)]
#[error("chunk {chunk} failed after {attempts} attempt(s): {last}")]
pub struct PoolError {
    /// The chunk that failed.
    pub chunk: u32,
    /// Attempts made.
    pub attempts: u32,
    /// The last error.
    pub last: ProveError,
}

/// Counters of a pool run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// Proofs accepted.
    pub proofs: usize,
    /// Attempts that failed and were retried.
    pub retries: usize,
    /// The id of the worker that proved each chunk, in input order.
    pub workers: Vec<usize>,
}

/// The coordinator.
pub struct ProverPool {
    workers: Vec<Arc<dyn Worker>>,
    max_attempts: u32,
}

impl ProverPool {
    /// A pool over `workers`; each chunk gets at most `max_attempts` tries.
    pub fn new(workers: Vec<Arc<dyn Worker>>, max_attempts: u32) -> Self {
        assert!(!workers.is_empty(), "a pool needs a worker");
        Self {
            workers,
            max_attempts: max_attempts.max(1),
        }
    }

    /// `workers` local workers of `threads_per_worker` threads sharing `keys`.
    pub fn local(
        workers: usize,
        threads_per_worker: usize,
        params: Arc<ParamsKZG<Bn256>>,
        keys: Arc<ChunkKeys>,
        max_attempts: u32,
    ) -> Result<Self, ProveError> {
        let ws = (0..workers.max(1))
            .map(|id| {
                LocalWorker::new(id, threads_per_worker, params.clone(), keys.clone())
                    .map(|w| Arc::new(w) as Arc<dyn Worker>)
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self::new(ws, max_attempts))
    }

    /// Proves every trace; the proofs come back in input order. The first
    /// chunk that fails fatally, or exhausts its attempts, fails the batch
    /// (the other workers stop taking new chunks).
    pub fn prove_all(
        &self,
        traces: &[ChunkTrace],
    ) -> Result<(Vec<ChunkProof>, PoolStats), PoolError> {
        let next = AtomicUsize::new(0);
        let results: Mutex<Vec<Option<(ChunkProof, usize)>>> = Mutex::new(vec![None; traces.len()]);
        let failure: Mutex<Option<PoolError>> = Mutex::new(None);
        let retries = AtomicUsize::new(0);
        std::thread::scope(|scope| {
            for worker in &self.workers {
                let (next, results, failure, retries) = (&next, &results, &failure, &retries);
                scope.spawn(move || loop {
                    if failure.lock().map(|f| f.is_some()).unwrap_or(true) {
                        return;
                    }
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(trace) = traces.get(i) else { return };
                    let mut attempts = 0;
                    let outcome = loop {
                        attempts += 1;
                        match worker.prove(trace) {
                            Ok(p) => break Ok(p),
                            Err(e) if e.is_retryable() && attempts < self.max_attempts => {
                                tracing::warn!(chunk = trace.chunk, worker = worker.id(), attempts, error = %e, "retrying chunk proof");
                                retries.fetch_add(1, Ordering::SeqCst);
                            }
                            Err(e) => break Err(e),
                        }
                    };
                    match outcome {
                        Ok(p) => {
                            if let Ok(mut r) = results.lock() {
                                r[i] = Some((p, worker.id()));
                            }
                        }
                        Err(last) => {
                            tracing::error!(chunk = trace.chunk, attempts, error = %last, "chunk proof failed");
                            if let Ok(mut f) = failure.lock() {
                                f.get_or_insert(PoolError {
                                    chunk: trace.chunk,
                                    attempts,
                                    last,
                                });
                            }
                            return;
                        }
                    }
                });
            }
        });
        if let Some(e) = failure.into_inner().unwrap_or_else(|e| e.into_inner()) {
            return Err(e);
        }
        let (proofs, workers): (Vec<ChunkProof>, Vec<usize>) = results
            .into_inner()
            .unwrap_or_else(|e| e.into_inner())
            .into_iter()
            .map(|p| p.expect("every chunk proven when nothing failed"))
            .unzip();
        let stats = PoolStats {
            proofs: proofs.len(),
            retries: retries.load(Ordering::SeqCst),
            workers,
        };
        Ok((proofs, stats))
    }
}
