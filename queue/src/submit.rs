//! Submitting a proof: fenced, verified, accepted once.

use std::time::Instant;

use sqlx::Row;

use crate::error::QueueError;
use crate::model::{Accepted, JobId, JobRecord, JobState, Lease, Timings};
use crate::JobQueue;

impl JobQueue {
    /// Submits `proof` for the leased job.
    ///
    /// 1. Refuses ([`QueueError::Stale`], `refused_stale` event) if the
    ///    lease's token is not the job's current one. If the job is already
    ///    done *with this very token* (a retry after a lost commit
    ///    acknowledgement), returns the acceptance again, marked
    ///    `duplicate`.
    /// 2. Runs `verify(job, proof)` on a blocking thread (a panic counts as
    ///    a refusal). `Err(reason)`: [`QueueError::InvalidProof`],
    ///    `refused_invalid` event, and the job returns to `ready` (the
    ///    attempt is spent) or is parked if that was its last attempt.
    /// 3. In one transaction: locks the job row (`FOR UPDATE`) and checks
    ///    the token again (a claim may have taken the job over during
    ///    verification), inserts the proof (the `proofs` primary key
    ///    admits one per job), marks the job done, and promotes every
    ///    dependent job whose inputs are now all done to `ready`.
    ///
    /// A lease past its expiry that nobody has taken over is still current:
    /// its proof is accepted.
    pub async fn submit<F>(
        &self,
        lease: &Lease,
        proof: Vec<u8>,
        verify: F,
        timings: Timings,
    ) -> Result<Accepted, QueueError>
    where
        F: FnOnce(&JobRecord, &[u8]) -> Result<(), String> + Send + 'static,
    {
        let id = lease.job.id;
        // 1. The token, before spending time on verification.
        let row = sqlx::query(
            "SELECT j.state, j.fencing_token, p.fencing_token AS proof_token \
             FROM jobs j LEFT JOIN proofs p ON p.job_id = j.id WHERE j.id = $1",
        )
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(QueueError::NotFound(id))?;
        let state = JobState::parse(row.try_get("state")?)?;
        let current: Option<i64> = row.try_get("fencing_token")?;
        let proof_token: Option<i64> = row.try_get("proof_token")?;
        if state == JobState::Done && proof_token == Some(lease.token) {
            return Ok(Accepted {
                job: id,
                promoted: Vec::new(),
                verify_ms: 0.0,
                duplicate: true,
            });
        }
        if state != JobState::Leased || current != Some(lease.token) {
            return Err(self.refuse_stale(lease, "submit").await?);
        }
        // 2. Verification, off the async threads.
        let (verdict, verify_ms, proof) = verify_blocking(lease.job.clone(), proof, verify).await;
        if let Err(reason) = verdict {
            return Err(self.refuse_invalid(lease, &reason).await?);
        }
        // 3. Acceptance.
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query("SELECT state, fencing_token FROM jobs WHERE id = $1 FOR UPDATE")
            .bind(id.0)
            .fetch_one(&mut *tx)
            .await?;
        let state = JobState::parse(row.try_get("state")?)?;
        let current: Option<i64> = row.try_get("fencing_token")?;
        if state != JobState::Leased || current != Some(lease.token) {
            tx.rollback().await?;
            return Err(self.refuse_stale(lease, "submit").await?);
        }
        sqlx::query(
            "INSERT INTO proofs (job_id, proof, worker, fencing_token, prove_ms, verify_ms) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id.0)
        .bind(&proof)
        .bind(&lease.worker)
        .bind(lease.token)
        .bind(timings.prove_ms)
        .bind(verify_ms)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "WITH done AS ( \
                 UPDATE jobs SET state = 'done', owner = NULL, lease_expires_at = NULL, \
                                 done_at = clock_timestamp() \
                 WHERE id = $1 RETURNING id) \
             INSERT INTO job_events (job_id, worker, event, fencing_token, attempt, detail) \
             SELECT id, $2, 'accepted', $3, $4, \
                    format('%s bytes, prove %s ms, verify %s ms', $5::bigint, \
                           round($6::numeric), round($7::numeric)) \
             FROM done",
        )
        .bind(id.0)
        .bind(&lease.worker)
        .bind(lease.token)
        .bind(lease.job.attempts as i32)
        .bind(proof.len() as i64)
        .bind(timings.prove_ms)
        .bind(verify_ms)
        .execute(&mut *tx)
        .await?;
        // Lock the dependents before reading their inputs' states: two
        // inputs of one node accepted at once then serialize here, and the
        // second sees the first done (a fresh snapshot after the lock).
        let dependents: Vec<i64> = sqlx::query_scalar(
            "SELECT d.id FROM jobs d JOIN job_inputs i ON i.job_id = d.id \
             WHERE i.input_job_id = $1 ORDER BY d.id FOR UPDATE OF d",
        )
        .bind(id.0)
        .fetch_all(&mut *tx)
        .await?;
        let promoted: Vec<i64> = if dependents.is_empty() {
            Vec::new()
        } else {
            sqlx::query_scalar(
                "WITH promoted AS ( \
                     UPDATE jobs d SET state = 'ready' \
                     WHERE d.id = ANY($1) AND d.state = 'waiting' AND NOT EXISTS ( \
                         SELECT 1 FROM job_inputs i JOIN jobs s ON s.id = i.input_job_id \
                         WHERE i.job_id = d.id AND s.state <> 'done') \
                     RETURNING d.id), \
                 ev AS (INSERT INTO job_events (job_id, event) \
                        SELECT id, 'promoted' FROM promoted) \
                 SELECT id FROM promoted ORDER BY id",
            )
            .bind(&dependents)
            .fetch_all(&mut *tx)
            .await?
        };
        tx.commit().await?;
        tracing::info!(
            job = id.0,
            kind = %lease.job.kind,
            batch = lease.job.batch,
            layer = lease.job.layer,
            position = lease.job.position,
            worker = %lease.worker,
            attempt = lease.job.attempts,
            token = lease.token,
            prove_ms = timings.prove_ms,
            verify_ms,
            proof_bytes = proof.len(),
            promoted = promoted.len(),
            "proof accepted"
        );
        Ok(Accepted {
            job: id,
            promoted: promoted.into_iter().map(JobId).collect(),
            verify_ms,
            duplicate: false,
        })
    }

    /// Records a refused invalid proof. With the token still current, the
    /// job returns to `ready` or is parked (its last attempt); otherwise
    /// only the event is recorded (the job has moved on).
    async fn refuse_invalid(&self, lease: &Lease, reason: &str) -> Result<QueueError, QueueError> {
        let error = format!("invalid proof from {}: {reason}", lease.worker);
        let state: Option<String> = sqlx::query_scalar(
            "WITH r AS ( \
                 UPDATE jobs SET \
                     state = CASE WHEN attempts >= max_attempts THEN 'parked' ELSE 'ready' END, \
                     owner = NULL, lease_expires_at = NULL, last_error = $3 \
                 WHERE id = $1 AND state = 'leased' AND fencing_token = $2 \
                 RETURNING id, state), \
             ev AS ( \
                 INSERT INTO job_events (job_id, worker, event, fencing_token, attempt, detail) \
                 SELECT $1, e.worker, e.event, $2, $5, $3 \
                 FROM (VALUES (1, $4::text, 'refused_invalid'), (2, NULL::text, 'parked')) \
                      AS e(ord, worker, event) \
                 WHERE e.ord = 1 OR EXISTS (SELECT 1 FROM r WHERE r.state = 'parked') \
                 ORDER BY e.ord) \
             SELECT state FROM r",
        )
        .bind(lease.job.id.0)
        .bind(lease.token)
        .bind(&error)
        .bind(&lease.worker)
        .bind(lease.job.attempts as i32)
        .fetch_optional(&self.pool)
        .await?;
        let parked = state.as_deref() == Some("parked");
        tracing::warn!(
            job = lease.job.id.0,
            kind = %lease.job.kind,
            batch = lease.job.batch,
            worker = %lease.worker,
            attempt = lease.job.attempts,
            token = lease.token,
            parked,
            reason,
            "invalid proof refused"
        );
        Ok(QueueError::InvalidProof {
            job: lease.job.id,
            reason: reason.to_string(),
            parked,
        })
    }
}

/// Runs `verify` on a blocking thread; returns the verdict (a panic is a
/// refusal), its time in ms and the proof back (empty after a panic).
async fn verify_blocking<F>(
    job: JobRecord,
    proof: Vec<u8>,
    verify: F,
) -> (Result<(), String>, f64, Vec<u8>)
where
    F: FnOnce(&JobRecord, &[u8]) -> Result<(), String> + Send + 'static,
{
    let outcome = tokio::task::spawn_blocking(move || {
        let clock = Instant::now();
        let verdict = verify(&job, &proof);
        (verdict, clock.elapsed().as_secs_f64() * 1e3, proof)
    })
    .await;
    outcome.unwrap_or_else(|e| (Err(format!("the verifier panicked: {e}")), 0.0, Vec::new()))
}
