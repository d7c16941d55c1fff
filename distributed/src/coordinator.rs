//! The coordinator: what the service does with a batch instead of proving
//! it in process. It enqueues the batch's plan, waits for the workers, then
//! reads the accepted proofs back and checks them again before it builds
//! the same [`BatchProof`] (or chunk proofs) the in-process pipeline
//! returns: every chunk proof against the pinned chunk key and its trace,
//! the final proof natively with its accumulator, and its transition
//! against the one the batch's traces determine.

use std::time::{Duration, Instant};

use snark_verifier_sdk::Snark;
use zklanes_aggregator::tree::{transition_fr, BatchProof, InnerProof, ProofRecord};
use zklanes_pipeline::batch_prover::BatchProver;
use zklanes_prover::chunk::instance;
use zklanes_queue::{BatchStatus, JobKind, JobQueue, JobState, JobStatus};

use crate::error::DistError;
use crate::payload::ProofPayload;
use crate::plan::{Level, Plan};

/// Enqueues batches and collects their proofs.
#[derive(Clone, Debug)]
pub struct Coordinator {
    queue: JobQueue,
    poll: Duration,
}

/// A batch proven by the workers, checked, in the in-process forms.
pub struct Collected {
    /// The final proof (final level).
    pub proof: Option<BatchProof>,
    /// Chunk proofs (chunk level; at the final level, every proof below
    /// the final one is in `proof.inner`).
    pub chunks: Vec<InnerProof>,
    /// Who proved what: (layer, position, worker), one per job.
    pub provers: Vec<(u32, u32, String)>,
    /// From the call to the last acceptance, ms.
    pub wall_ms: f64,
}

impl Coordinator {
    /// A coordinator on `queue`, polling the batch's state every `poll`.
    pub fn new(queue: JobQueue, poll: Duration) -> Self {
        Self { queue, poll }
    }

    /// The queue.
    pub fn queue(&self) -> &JobQueue {
        &self.queue
    }

    /// Enqueues `plan` (idempotent: a restart enqueues the same jobs again
    /// and gets the existing ones) and, when `requeue`, gives the batch's
    /// parked jobs another round (the operator retried the batch).
    pub async fn enqueue(&self, plan: &Plan, requeue: bool) -> Result<(), DistError> {
        self.queue.enqueue(&plan.jobs).await?;
        if requeue {
            self.queue.requeue_parked(plan.batch).await?;
        }
        Ok(())
    }

    /// Waits until every job of `batch` is done. A parked job ends the wait
    /// with [`DistError::Parked`]; `stop()` with [`DistError::Interrupted`];
    /// a database that is down is waited for (with backoff).
    pub async fn wait(
        &self,
        batch: i64,
        stop: &(dyn Fn() -> bool + Send + Sync),
    ) -> Result<BatchStatus, DistError> {
        let mut delay = self.poll;
        loop {
            if stop() {
                return Err(DistError::Interrupted { batch });
            }
            match self.queue.batch_status(batch).await {
                Ok(s) if s.jobs.is_empty() => {
                    return Err(DistError::Mismatch {
                        batch,
                        reason: "no jobs enqueued".into(),
                    })
                }
                Ok(s) => {
                    delay = self.poll;
                    if let Some(j) = s.parked().next() {
                        return Err(DistError::Parked {
                            job: j.id,
                            kind: j.kind,
                            layer: j.layer,
                            position: j.position,
                            error: j.last_error.clone().unwrap_or_default(),
                        });
                    }
                    if s.complete() {
                        return Ok(s);
                    }
                }
                Err(e) if e.is_retryable() => {
                    tracing::warn!(batch, error = %e, "queue unavailable: waiting");
                    delay = (delay * 2).min(Duration::from_secs(5));
                }
                Err(e) => return Err(e.into()),
            }
            tokio::time::sleep(delay).await;
        }
    }

    /// The accepted proof of each job of `status`, in its order.
    async fn proofs(
        &self,
        batch: i64,
        status: &BatchStatus,
    ) -> Result<Vec<(JobStatus, ProofPayload, String)>, DistError> {
        let mut out = Vec::with_capacity(status.jobs.len());
        for job in &status.jobs {
            let accepted = self
                .queue
                .proof(job.id)
                .await?
                .ok_or_else(|| DistError::Mismatch {
                    batch,
                    reason: format!("job {} is done without a proof", job.id),
                })?;
            out.push((
                job.clone(),
                ProofPayload::decode(&accepted.proof)?,
                accepted.worker,
            ));
        }
        Ok(out)
    }

    /// Enqueues `plan`, waits for it and collects it, checked against
    /// `prover`'s pinned keys.
    pub async fn prove(
        &self,
        plan: &Plan,
        level: Level,
        prover: &BatchProver,
        requeue: bool,
        stop: &(dyn Fn() -> bool + Send + Sync),
    ) -> Result<Collected, DistError> {
        let clock = Instant::now();
        self.enqueue(plan, requeue).await?;
        let status = self.wait(plan.batch, stop).await?;
        let proofs = self.proofs(plan.batch, &status).await?;
        let wall_ms = clock.elapsed().as_secs_f64() * 1e3;
        collect(plan, level, prover, &proofs, wall_ms)
    }
}

/// Checks the accepted proofs of `plan` and builds the in-process forms.
fn collect(
    plan: &Plan,
    level: Level,
    prover: &BatchProver,
    proofs: &[(JobStatus, ProofPayload, String)],
    wall_ms: f64,
) -> Result<Collected, DistError> {
    let batch = plan.batch;
    let mismatch = |reason: String| DistError::Mismatch { batch, reason };
    let expected_jobs = plan.jobs.len();
    if proofs.len() != expected_jobs {
        return Err(mismatch(format!(
            "{} jobs in the queue, {expected_jobs} planned",
            proofs.len()
        )));
    }
    let chunk_params = prover
        .srs
        .get(prover.config.chunk_k)
        .map_err(|e| mismatch(e.to_string()))?;
    let mut chunks = Vec::new();
    let mut inner = Vec::new();
    let mut records = Vec::new();
    let mut provers = Vec::new();
    let mut last = None;
    let mut last_chunk_done = 0f64;
    let first_created = proofs
        .iter()
        .map(|(j, _, _)| j.created_at_ms)
        .fold(f64::INFINITY, f64::min);
    for (job, p, worker) in proofs {
        if job.state != JobState::Done {
            return Err(mismatch(format!("job {} is {}", job.id, job.state)));
        }
        provers.push((job.layer, job.position, worker.clone()));
        match job.kind {
            JobKind::Chunk => {
                let trace = plan
                    .chunks
                    .get(job.position as usize)
                    .ok_or_else(|| mismatch(format!("no chunk {}", job.position)))?;
                let snark = Snark::new(
                    prover.keys.chunk.protocol.clone(),
                    vec![p.instances.clone()],
                    p.proof.clone(),
                );
                if p.instances != instance(trace)
                    || !zklanes_prover::chunk::verify(&chunk_params, &prover.keys.chunk, &snark)
                {
                    return Err(mismatch(format!(
                        "the accepted proof of chunk {} does not verify against its trace",
                        job.position
                    )));
                }
                last_chunk_done = last_chunk_done.max(job.done_at_ms.unwrap_or(0.0));
                records.push(ProofRecord {
                    layer: 0,
                    index: job.position as usize,
                    k: prover.keys.chunk.k,
                    advice_cells: prover.keys.chunk.advice_cells,
                    ms: job.prove_ms.unwrap_or(0.0),
                    proof_bytes: p.proof.len(),
                    worker: None,
                });
                let proof = InnerProof {
                    layer: 0,
                    index: job.position as usize,
                    instances: p.instances.clone(),
                    proof: p.proof.clone(),
                };
                chunks.push(proof.clone());
                inner.push(proof);
            }
            JobKind::Aggregate | JobKind::Final => {
                let spec = prover
                    .config
                    .layers
                    .get(job.layer as usize - 1)
                    .ok_or_else(|| mismatch(format!("no layer {}", job.layer)))?;
                // Advice cells are known where the layer's keys are loaded.
                let cells = prover
                    .keys
                    .layers
                    .get(job.layer as usize - 1)
                    .map_or(0, |k| k.advice_cells);
                records.push(ProofRecord {
                    layer: job.layer as usize,
                    index: job.position as usize,
                    k: spec.k,
                    advice_cells: cells,
                    ms: job.prove_ms.unwrap_or(0.0),
                    proof_bytes: p.proof.len(),
                    worker: None,
                });
                if job.kind == JobKind::Final {
                    last = Some(p.clone());
                } else {
                    inner.push(InnerProof {
                        layer: job.layer as usize,
                        index: job.position as usize,
                        instances: p.instances.clone(),
                        proof: p.proof.clone(),
                    });
                }
            }
        }
    }
    let chunks_ms = (last_chunk_done - first_created).max(0.0);
    let proof = match level {
        Level::Chunks => None,
        Level::Final => {
            let last = last.ok_or_else(|| mismatch("no final proof".into()))?;
            let expected = plan
                .expected
                .as_ref()
                .ok_or_else(|| mismatch("no expected transition".into()))?;
            let limbs = zklanes_aggregator::node::ACCUMULATOR_LIMBS;
            if last.instances.get(limbs..) != Some(&transition_fr(expected)[..]) {
                return Err(mismatch(
                    "the final proof's transition is not the batch's".into(),
                ));
            }
            if !prover.verify_native(&last.instances, &last.proof)? {
                return Err(mismatch("the final proof does not verify natively".into()));
            }
            Some(BatchProof {
                instances: last.instances,
                proof: last.proof,
                records,
                inner,
                chunks_ms,
                l1: plan
                    .l1
                    .clone()
                    .ok_or_else(|| mismatch("no L1 data".into()))?,
            })
        }
    };
    Ok(Collected {
        proof,
        chunks,
        provers,
        wall_ms,
    })
}
