//! The prover pool on real chunk proofs (small configuration, development
//! SRS): concurrent workers, proofs in order and verified, retries of
//! transient failures up to the cap, fatal failures stop the batch.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use zklanes_circuits::chunk::ChunkShape;
use zklanes_circuits::fixtures;
use zklanes_executor::params::DEFAULT_CHAIN_ID;
use zklanes_executor::trace::ChunkTrace;
use zklanes_prover::chunk::{chunk_k, keygen, verify, ChunkKeys, ChunkProof, ProveError};
use zklanes_prover::pool::{LocalWorker, ProverPool, Worker};
use zklanes_prover::srs::dev_params;

const SHAPE: ChunkShape = ChunkShape {
    capacity: 3,
    chain_id: DEFAULT_CHAIN_ID,
};

fn traces() -> Vec<ChunkTrace> {
    fixtures::showcase_chunks(DEFAULT_CHAIN_ID, SHAPE.capacity)
}

/// Fails its first `failures` attempts with `error`, then proves.
struct Flaky {
    inner: LocalWorker,
    failures: AtomicU32,
    fatal: bool,
}

impl Worker for Flaky {
    fn id(&self) -> usize {
        self.inner.id()
    }

    fn prove(&self, trace: &ChunkTrace) -> Result<ChunkProof, ProveError> {
        let left = self.failures.load(Ordering::SeqCst);
        if left > 0 {
            self.failures.store(left - 1, Ordering::SeqCst);
            return Err(if self.fatal {
                ProveError::Rejected { chunk: trace.chunk }
            } else {
                ProveError::WorkerLost {
                    worker: self.id(),
                    chunk: trace.chunk,
                    reason: "injected".into(),
                }
            });
        }
        self.inner.prove(trace)
    }
}

#[test]
fn workers_prove_retry_and_fail_as_specified() {
    let k = chunk_k(&SHAPE);
    let params = Arc::new(dev_params(k));
    let keys: Arc<ChunkKeys> = Arc::new(keygen(&params, &SHAPE).expect("keys"));
    let traces = traces();
    let flaky = |id, failures, fatal| -> Arc<dyn Worker> {
        Arc::new(Flaky {
            inner: LocalWorker::new(id, 1, params.clone(), keys.clone()).expect("worker"),
            failures: AtomicU32::new(failures),
            fatal,
        })
    };

    // Two workers, one losing its first two attempts: every chunk proven,
    // in order, each proof verifies against its own chunk's public inputs.
    let pool = ProverPool::new(vec![flaky(0, 2, false), flaky(1, 0, false)], 3);
    let (proofs, stats) = pool.prove_all(&traces).expect("proven");
    assert_eq!(stats.proofs, traces.len());
    assert_eq!(stats.retries, 2);
    for (p, t) in proofs.iter().zip(&traces) {
        assert_eq!(p.chunk, t.chunk);
        assert!(verify(&params, &keys, &p.snark));
        assert_eq!(
            p.snark.instances[0],
            zklanes_prover::chunk::instance(t),
            "proof of chunk {}",
            t.chunk
        );
    }

    // Transient failures beyond the cap fail the batch with the count.
    let pool = ProverPool::new(vec![flaky(0, 5, false)], 2);
    let err = pool.prove_all(&traces[..1]).expect_err("cap reached");
    assert_eq!((err.chunk, err.attempts), (traces[0].chunk, 2));

    // A fatal failure is not retried.
    let pool = ProverPool::new(vec![flaky(0, 1, true)], 5);
    let err = pool.prove_all(&traces[..1]).expect_err("fatal");
    assert_eq!(err.attempts, 1);
    assert!(!err.last.is_retryable());
}
