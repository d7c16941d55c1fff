//! Reading the queue: an aggregation job's inputs, accepted proofs, batch
//! status, depth, events and per-worker totals.

use sqlx::Row;

use crate::error::QueueError;
use crate::lease::ms;
use crate::model::{
    AcceptedProof, BatchStatus, Depth, DepthRow, EventKind, JobEvent, JobId, JobKind, JobState,
    JobStatus, WorkerTotals,
};
use crate::JobQueue;

impl JobQueue {
    /// The accepted proofs of `job`'s inputs, in input order (what an
    /// aggregation node folds). [`QueueError::InputsNotProven`] if some
    /// are missing; empty for a job without inputs.
    pub async fn inputs_of(&self, job: JobId) -> Result<Vec<(JobId, Vec<u8>)>, QueueError> {
        let rows = sqlx::query(
            "SELECT i.input_job_id, p.proof FROM jobs j \
             LEFT JOIN job_inputs i ON i.job_id = j.id \
             LEFT JOIN proofs p ON p.job_id = i.input_job_id \
             WHERE j.id = $1 ORDER BY i.slot",
        )
        .bind(job.0)
        .fetch_all(&self.pool)
        .await?;
        if rows.is_empty() {
            return Err(QueueError::NotFound(job));
        }
        let mut proofs = Vec::with_capacity(rows.len());
        let mut missing = Vec::new();
        for row in rows {
            let Some(input) = row.try_get::<Option<i64>, _>("input_job_id")? else {
                continue; // the job has no inputs
            };
            match row.try_get::<Option<Vec<u8>>, _>("proof")? {
                Some(proof) => proofs.push((JobId(input), proof)),
                None => missing.push(JobId(input)),
            }
        }
        if missing.is_empty() {
            Ok(proofs)
        } else {
            Err(QueueError::InputsNotProven { job, missing })
        }
    }

    /// The accepted proof of `job`, if any (the final job's is the batch's
    /// proof).
    pub async fn proof(&self, job: JobId) -> Result<Option<AcceptedProof>, QueueError> {
        let row = sqlx::query(concat!(
            "SELECT proof, worker, fencing_token, prove_ms, verify_ms, ",
            ms!("accepted_at"),
            " AS accepted_ms FROM proofs WHERE job_id = $1"
        ))
        .bind(job.0)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(AcceptedProof {
                job,
                proof: row.try_get("proof")?,
                worker: row.try_get("worker")?,
                fencing_token: row.try_get("fencing_token")?,
                prove_ms: row.try_get("prove_ms")?,
                verify_ms: row.try_get("verify_ms")?,
                accepted_at_ms: row.try_get("accepted_ms")?,
            })
        })
        .transpose()
    }

    /// Every job of `batch`: state, lease holder, attempts, last error,
    /// inputs, and who proved it (empty if the batch has no jobs).
    pub async fn batch_status(&self, batch: i64) -> Result<BatchStatus, QueueError> {
        let rows = sqlx::query(concat!(
            "SELECT j.id, j.kind, j.layer, j.position, j.circuit_version, j.state, j.owner, \
                    j.fencing_token, j.attempts, j.max_attempts, j.last_error, \
                    (j.state = 'leased' AND j.lease_expires_at < clock_timestamp()) AS expired, \
                    COALESCE((SELECT array_agg(i.input_job_id ORDER BY i.slot) \
                              FROM job_inputs i WHERE i.job_id = j.id), '{}') AS inputs, \
                    p.worker, p.prove_ms, p.verify_ms, octet_length(p.proof)::bigint AS bytes, ",
            ms!("j.created_at"),
            " AS created_ms, ",
            ms!("j.claimed_at"),
            " AS claimed_ms, ",
            ms!("j.done_at"),
            " AS done_ms \
             FROM jobs j LEFT JOIN proofs p ON p.job_id = j.id \
             WHERE j.batch = $1 ORDER BY j.layer, j.position, j.id"
        ))
        .bind(batch)
        .fetch_all(&self.pool)
        .await?;
        let jobs = rows
            .iter()
            .map(|row| {
                let inputs: Vec<i64> = row.try_get("inputs")?;
                Ok(JobStatus {
                    id: JobId(row.try_get("id")?),
                    kind: JobKind::parse(row.try_get("kind")?)?,
                    layer: row.try_get::<i32, _>("layer")? as u32,
                    position: row.try_get::<i32, _>("position")? as u32,
                    circuit_version: row.try_get("circuit_version")?,
                    state: JobState::parse(row.try_get("state")?)?,
                    owner: row.try_get("owner")?,
                    fencing_token: row.try_get("fencing_token")?,
                    lease_expired: row.try_get("expired")?,
                    attempts: row.try_get::<i32, _>("attempts")? as u32,
                    max_attempts: row.try_get::<i32, _>("max_attempts")? as u32,
                    last_error: row.try_get("last_error")?,
                    inputs: inputs.into_iter().map(JobId).collect(),
                    proved_by: row.try_get("worker")?,
                    prove_ms: row.try_get("prove_ms")?,
                    verify_ms: row.try_get("verify_ms")?,
                    proof_bytes: row.try_get("bytes")?,
                    created_at_ms: row.try_get("created_ms")?,
                    claimed_at_ms: row.try_get("claimed_ms")?,
                    done_at_ms: row.try_get("done_ms")?,
                })
            })
            .collect::<Result<_, QueueError>>()?;
        Ok(BatchStatus { batch, jobs })
    }

    /// Queue depth: jobs by kind and state, over all batches.
    pub async fn depth(&self) -> Result<Depth, QueueError> {
        let rows = sqlx::query(
            "SELECT kind, state, count(*) AS jobs FROM jobs GROUP BY kind, state \
             ORDER BY kind, state",
        )
        .fetch_all(&self.pool)
        .await?;
        let rows = rows
            .iter()
            .map(|row| {
                Ok(DepthRow {
                    kind: JobKind::parse(row.try_get("kind")?)?,
                    state: JobState::parse(row.try_get("state")?)?,
                    jobs: row.try_get("jobs")?,
                })
            })
            .collect::<Result<_, QueueError>>()?;
        Ok(Depth { rows })
    }

    /// Every event of `batch`'s jobs, in the order they happened.
    pub async fn events(&self, batch: i64) -> Result<Vec<JobEvent>, QueueError> {
        let rows = sqlx::query(concat!(
            "SELECT e.id, e.job_id, j.kind, j.layer, j.position, ",
            ms!("e.at"),
            " AS at_ms, e.worker, e.event, e.fencing_token, e.attempt, e.detail \
             FROM job_events e JOIN jobs j ON j.id = e.job_id \
             WHERE j.batch = $1 ORDER BY e.id"
        ))
        .bind(batch)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(JobEvent {
                    id: row.try_get("id")?,
                    job: JobId(row.try_get("job_id")?),
                    kind: JobKind::parse(row.try_get("kind")?)?,
                    layer: row.try_get::<i32, _>("layer")? as u32,
                    position: row.try_get::<i32, _>("position")? as u32,
                    at_ms: row.try_get("at_ms")?,
                    worker: row.try_get("worker")?,
                    event: EventKind::parse(row.try_get("event")?)?,
                    fencing_token: row.try_get("fencing_token")?,
                    attempt: row.try_get::<Option<i32>, _>("attempt")?.map(|a| a as u32),
                    detail: row.try_get("detail")?,
                })
            })
            .collect()
    }

    /// How many events of each kind were recorded, over all batches (lease
    /// expiries, reassignments, refused results, ...; absent kinds are 0).
    pub async fn event_counts(&self) -> Result<Vec<(EventKind, i64)>, QueueError> {
        let rows = sqlx::query("SELECT event, count(*) AS n FROM job_events GROUP BY event")
            .fetch_all(&self.pool)
            .await?;
        let mut counts: Vec<(EventKind, i64)> = EventKind::ALL.iter().map(|&k| (k, 0)).collect();
        for row in rows {
            let kind = EventKind::parse(row.try_get("event")?)?;
            let n: i64 = row.try_get("n")?;
            if let Some(slot) = counts.iter_mut().find(|(k, _)| *k == kind) {
                slot.1 = n;
            }
        }
        Ok(counts)
    }

    /// Accepted proofs and their proving and verification time, per worker.
    pub async fn worker_totals(&self) -> Result<Vec<WorkerTotals>, QueueError> {
        let rows = sqlx::query(
            "SELECT worker, count(*) AS proofs, sum(prove_ms) AS prove_ms, \
                    sum(verify_ms) AS verify_ms \
             FROM proofs GROUP BY worker ORDER BY worker",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(WorkerTotals {
                    worker: row.try_get("worker")?,
                    proofs: row.try_get("proofs")?,
                    prove_ms: row.try_get("prove_ms")?,
                    verify_ms: row.try_get("verify_ms")?,
                })
            })
            .collect()
    }

    /// Claim latency over every claim so far: how long each claimed job
    /// had waited since its previous event (enqueued, promoted, released,
    /// refused or failed): `(claims, total seconds, longest seconds)`.
    pub async fn claim_latency(&self) -> Result<(i64, f64, f64), QueueError> {
        let row = sqlx::query(
            "SELECT count(*) AS n, COALESCE(sum(wait), 0)::float8 AS total, \
                    COALESCE(max(wait), 0)::float8 AS longest \
             FROM (SELECT event, extract(epoch FROM at - lag(at) OVER \
                          (PARTITION BY job_id ORDER BY id)) AS wait \
                   FROM job_events \
                   WHERE event NOT IN ('heartbeat', 'expired', 'refused_stale')) w \
             WHERE event = 'claimed'",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok((
            row.try_get("n")?,
            row.try_get("total")?,
            row.try_get("longest")?,
        ))
    }

    /// The inputs of `batch`'s chunk jobs (layer 0), by position: what a
    /// restarted service reads to prove exactly the bundle it enqueued.
    /// Empty if the batch has no jobs.
    pub async fn chunk_inputs(&self, batch: i64) -> Result<Vec<Vec<u8>>, QueueError> {
        let rows = sqlx::query(
            "SELECT input FROM jobs WHERE batch = $1 AND kind = 'chunk' ORDER BY position",
        )
        .bind(batch)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| r.try_get("input").map_err(QueueError::from))
            .collect()
    }
}
