//! The prover worker: claims jobs it has keys for, proves them, keeps its
//! lease alive while it proves, and submits each proof fenced and verified.
//!
//! One job at a time per worker process (a proof uses every core it is
//! given; run more processes, or more machines, for more jobs at once).
//! Each job ends in a log line with stable fields: `job`, `kind`, `batch`,
//! `layer`, `position`, `worker`, `attempt`, `token`, `outcome`
//! (`accepted`, `duplicate`, `refused_stale`, `refused_invalid`, `failed`,
//! `released`), `prove_ms`, `verify_ms`, `proof_bytes`, `claim_ms` (the
//! claim call), `inputs_ms` (reading the input proofs), `submit_ms` (the
//! submit call, verification included).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use zklanes_queue::{ClaimFilter, JobKind, JobQueue, Lease, QueueError, Timings};

use crate::error::DistError;
use crate::failpoint::{failpoint, Fired};
use crate::job_prover::JobProver;
use crate::payload::ProofPayload;

/// How a worker runs.
#[derive(Clone, Debug)]
pub struct WorkerConfig {
    /// The worker's name in the queue (unique per process: host and pid).
    pub name: String,
    /// Job kinds it takes (among those it has keys for).
    pub kinds: Vec<JobKind>,
    /// Lease length; a heartbeat every third of it extends it.
    pub lease: Duration,
    /// Wait between claims when nothing is claimable.
    pub poll: Duration,
    /// Stop after this many jobs (tests, benchmarks); `None`: run until stopped.
    pub max_jobs: Option<usize>,
    /// Stop when nothing has been claimable for this long; `None`: never.
    pub idle_exit: Option<Duration>,
}

impl WorkerConfig {
    /// Defaults for `name`: every kind, 60 s leases, 500 ms polls.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            kinds: JobKind::ALL.to_vec(),
            lease: Duration::from_secs(60),
            poll: Duration::from_millis(500),
            max_jobs: None,
            idle_exit: None,
        }
    }
}

/// What a worker did, when it stops.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WorkerSummary {
    /// Proofs accepted.
    pub accepted: usize,
    /// Results refused as stale (the lease was taken over).
    pub refused_stale: usize,
    /// Results refused as invalid.
    pub refused_invalid: usize,
    /// Jobs that failed (reported to the queue).
    pub failed: usize,
    /// Jobs released unproven (shutdown).
    pub released: usize,
    /// Proving time, ms.
    pub prove_ms: f64,
}

/// How one job ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    Accepted,
    Duplicate,
    RefusedStale,
    RefusedInvalid,
    Failed,
    Released,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Self::Accepted => "accepted",
            Self::Duplicate => "duplicate",
            Self::RefusedStale => "refused_stale",
            Self::RefusedInvalid => "refused_invalid",
            Self::Failed => "failed",
            Self::Released => "released",
        }
    }
}

/// Runs the worker until `stop` is set (the job in flight is finished and
/// submitted first, unless `abandon` is set too: then its lease is
/// released), `max_jobs` jobs are done, or it has been idle `idle_exit`.
/// A database that is down is waited for with backoff; other queue
/// failures end the worker with an error.
pub async fn run_worker(
    queue: JobQueue,
    prover: Arc<JobProver>,
    cfg: WorkerConfig,
    stop: Arc<AtomicBool>,
    abandon: Arc<AtomicBool>,
) -> Result<WorkerSummary, DistError> {
    let versions = prover.versions().for_kinds(&cfg.kinds);
    let kinds: Vec<JobKind> = cfg
        .kinds
        .iter()
        .copied()
        .filter(|k| !prover.versions().for_kinds(&[*k]).is_empty())
        .collect();
    if kinds.is_empty() {
        return Err(DistError::Mismatch {
            batch: -1,
            reason: format!("no keys for any of the kinds {:?}", cfg.kinds),
        });
    }
    let filter = ClaimFilter::kinds(&kinds).with_versions(versions.clone());
    tracing::info!(
        worker = %cfg.name,
        kinds = ?kinds,
        versions = ?versions,
        lease_s = cfg.lease.as_secs_f64(),
        "worker started"
    );
    let mut summary = WorkerSummary::default();
    let mut idle_since = Instant::now();
    let mut backoff = Duration::from_millis(100);
    let mut jobs = 0usize;
    while !stop.load(Ordering::SeqCst) && cfg.max_jobs.is_none_or(|m| jobs < m) {
        let clock = Instant::now();
        let lease = match queue.claim(&cfg.name, &filter, cfg.lease).await {
            Ok(l) => {
                backoff = Duration::from_millis(100);
                l
            }
            Err(e) if e.is_retryable() => {
                tracing::warn!(worker = %cfg.name, error = %e, backoff_ms = backoff.as_millis() as u64, "queue unavailable: retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        let claim_ms = clock.elapsed().as_secs_f64() * 1e3;
        let Some(lease) = lease else {
            if cfg.idle_exit.is_some_and(|d| idle_since.elapsed() >= d) {
                tracing::info!(worker = %cfg.name, "idle: stopping");
                break;
            }
            tokio::time::sleep(cfg.poll).await;
            continue;
        };
        jobs += 1;
        let (outcome, prove_ms) = run_job(&queue, &prover, &cfg, lease, claim_ms, &abandon).await?;
        summary.prove_ms += prove_ms;
        match outcome {
            Outcome::Accepted | Outcome::Duplicate => summary.accepted += 1,
            Outcome::RefusedStale => summary.refused_stale += 1,
            Outcome::RefusedInvalid => summary.refused_invalid += 1,
            Outcome::Failed => summary.failed += 1,
            Outcome::Released => summary.released += 1,
        }
        idle_since = Instant::now();
    }
    tracing::info!(
        worker = %cfg.name,
        accepted = summary.accepted,
        refused_stale = summary.refused_stale,
        refused_invalid = summary.refused_invalid,
        failed = summary.failed,
        released = summary.released,
        prove_ms = summary.prove_ms,
        "worker stopped"
    );
    Ok(summary)
}

/// Calls `f` until it succeeds or fails for good, backing off while the
/// database is unreachable (at most `budget`).
async fn retrying<T, F, Fut>(what: &str, budget: Duration, mut f: F) -> Result<T, QueueError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, QueueError>>,
{
    let until = Instant::now() + budget;
    let mut delay = Duration::from_millis(100);
    loop {
        match f().await {
            Err(e) if e.is_retryable() && Instant::now() < until => {
                tracing::warn!(call = what, error = %e, "queue unavailable: retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
            r => return r,
        }
    }
}

/// Proves and submits one leased job.
async fn run_job(
    queue: &JobQueue,
    prover: &Arc<JobProver>,
    cfg: &WorkerConfig,
    lease: Lease,
    claim_ms: f64,
    abandon: &Arc<AtomicBool>,
) -> Result<(Outcome, f64), DistError> {
    let job = lease.job.clone();
    // Calls that act on the lease retry a down database for the lease's
    // length: past it, the lease is lost anyway.
    let budget = cfg.lease;
    let clock = Instant::now();
    let inputs = if job.kind == JobKind::Chunk {
        Vec::new()
    } else {
        let raw = retrying("inputs", budget, || queue.inputs_of(job.id)).await?;
        let mut inputs = Vec::with_capacity(raw.len());
        for (_, bytes) in raw {
            inputs.push(ProofPayload::decode(&bytes)?);
        }
        inputs
    };
    let inputs_ms = clock.elapsed().as_secs_f64() * 1e3;
    let inputs = Arc::new(inputs);

    // Heartbeats while the proof runs.
    let lost = Arc::new(AtomicBool::new(false));
    let done = Arc::new(tokio::sync::Notify::new());
    let heartbeat = {
        let (queue, mut lease, lost, done) =
            (queue.clone(), lease.clone(), lost.clone(), done.clone());
        let every = (cfg.lease / 3).max(Duration::from_millis(100));
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = done.notified() => return,
                    _ = tokio::time::sleep(every) => {}
                }
                match queue.heartbeat(&mut lease).await {
                    Ok(()) => {}
                    Err(e) if e.is_stale() => {
                        tracing::warn!(job = lease.job.id.0, worker = %lease.worker, "lease lost: the job was reassigned");
                        lost.store(true, Ordering::SeqCst);
                        return;
                    }
                    Err(e) => tracing::warn!(job = lease.job.id.0, error = %e, "heartbeat failed"),
                }
            }
        })
    };
    let proving = {
        let (prover, job, inputs) = (prover.clone(), job.clone(), inputs.clone());
        tokio::task::spawn_blocking(move || {
            let fired = failpoint("worker_prove");
            if fired == Fired::Error {
                return Err(DistError::Prove {
                    job: job.id,
                    reason: "failpoint worker_prove".into(),
                    retryable: true,
                });
            }
            prover.prove(&job, &inputs)
        })
    };
    // Wait for the proof, or for an abandoning shutdown.
    tokio::pin!(proving);
    let made = loop {
        tokio::select! {
            r = &mut proving => break Some(r),
            _ = tokio::time::sleep(Duration::from_millis(200)) => {
                if abandon.load(Ordering::SeqCst) {
                    break None;
                }
            }
        }
    };
    done.notify_one();
    let _ = heartbeat.await;
    let log = |outcome: Outcome, prove_ms: f64, verify_ms: f64, bytes: usize, submit_ms: f64| {
        tracing::info!(
            job = job.id.0,
            kind = %job.kind,
            batch = job.batch,
            layer = job.layer,
            position = job.position,
            worker = %cfg.name,
            attempt = job.attempts,
            token = lease.token,
            outcome = outcome.as_str(),
            prove_ms,
            verify_ms,
            proof_bytes = bytes,
            claim_ms,
            inputs_ms,
            submit_ms,
            "job"
        );
    };
    let made = match made {
        None => {
            let _ = retrying("release", budget, || queue.release(&lease)).await;
            log(Outcome::Released, 0.0, 0.0, 0, 0.0);
            return Ok((Outcome::Released, 0.0));
        }
        Some(Err(join)) => Err(DistError::Prove {
            job: job.id,
            reason: format!("the prover panicked: {join}"),
            retryable: true,
        }),
        Some(Ok(r)) => r,
    };
    let made = match made {
        Ok(m) => m,
        Err(e) => {
            let reason = e.to_string();
            tracing::warn!(job = job.id.0, worker = %cfg.name, error = %reason, "proof failed");
            let outcome = match retrying("fail", budget, || queue.fail(&lease, &reason)).await {
                Ok(_) => Outcome::Failed,
                Err(e) if e.is_stale() => Outcome::RefusedStale,
                Err(e) => return Err(e.into()),
            };
            log(outcome, 0.0, 0.0, 0, 0.0);
            return Ok((outcome, 0.0));
        }
    };
    if lost.load(Ordering::SeqCst) {
        // Submitted all the same: the queue refuses it by its fencing token
        // (and counts it), which is the only authority on the lease.
        tracing::warn!(job = job.id.0, worker = %cfg.name, "submitting a proof whose lease was lost");
    }
    let mut bytes = made.payload.encode();
    if failpoint("worker_submit") == Fired::Corrupt {
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
    }
    let proof_bytes = bytes.len();
    let clock = Instant::now();
    let timings = Timings {
        prove_ms: made.prove_ms,
    };
    // Retried while the database is down: a submit whose acknowledgement
    // was lost is reported again as a duplicate acceptance, never twice.
    let result = retrying("submit", budget, || {
        let (checker, checked) = (prover.clone(), inputs.clone());
        queue.submit(
            &lease,
            bytes.clone(),
            move |job: &zklanes_queue::JobRecord, proof: &[u8]| {
                checker.verify(job, &checked, proof)
            },
            timings,
        )
    })
    .await;
    let submit_ms = clock.elapsed().as_secs_f64() * 1e3;
    let outcome = match result {
        Ok(a) => {
            log(
                if a.duplicate {
                    Outcome::Duplicate
                } else {
                    Outcome::Accepted
                },
                made.prove_ms,
                a.verify_ms,
                proof_bytes,
                submit_ms,
            );
            return Ok((Outcome::Accepted, made.prove_ms));
        }
        Err(e) if e.is_stale() => Outcome::RefusedStale,
        Err(QueueError::InvalidProof { .. }) => Outcome::RefusedInvalid,
        Err(e) => return Err(e.into()),
    };
    log(outcome, made.prove_ms, 0.0, proof_bytes, submit_ms);
    Ok((outcome, made.prove_ms))
}
