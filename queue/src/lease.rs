//! Leases: claiming a job, heartbeats, failure and release.

use std::time::Duration;

use sqlx::postgres::PgRow;
use sqlx::Row;

use crate::error::QueueError;
use crate::model::{ClaimFilter, JobId, JobKind, JobRecord, JobState, Lease};
use crate::JobQueue;

/// A timestamp column as Unix milliseconds (`float8`).
macro_rules! ms {
    ($col:literal) => {
        concat!("(extract(epoch FROM ", $col, ") * 1000)::float8")
    };
}
pub(crate) use ms;

/// The claim: one statement. It locks the first claimable job (ready, or
/// leased past its expiry) that no other transaction holds (`SKIP LOCKED`:
/// concurrent claimers never wait for each other nor take the same row),
/// then either leases it (owner, a fresh token from the global sequence,
/// expiry, attempts + 1) or, if its attempts are spent, parks it; and
/// records the events (`expired` for a taken-over lease, then `claimed` or
/// `parked`) in the same statement.
const CLAIM: &str = concat!(
    "WITH candidate AS ( \
         SELECT id, state AS prev_state, owner AS prev_owner, fencing_token AS prev_token \
         FROM jobs \
         WHERE kind = ANY($2::text[]) \
           AND ($3::text[] IS NULL OR circuit_version = ANY($3::text[])) \
           AND (state = 'ready' OR (state = 'leased' AND lease_expires_at < clock_timestamp())) \
         ORDER BY batch, layer DESC, id \
         LIMIT 1 \
         FOR UPDATE SKIP LOCKED), \
     claimed AS ( \
         UPDATE jobs j SET \
             state = CASE WHEN j.attempts >= j.max_attempts THEN 'parked' ELSE 'leased' END, \
             owner = CASE WHEN j.attempts >= j.max_attempts THEN NULL ELSE $1 END, \
             fencing_token = CASE WHEN j.attempts >= j.max_attempts THEN j.fencing_token \
                                  ELSE nextval('fencing_tokens') END, \
             lease_expires_at = CASE WHEN j.attempts >= j.max_attempts THEN NULL \
                                     ELSE clock_timestamp() + make_interval(secs => $4) END, \
             attempts = CASE WHEN j.attempts >= j.max_attempts THEN j.attempts \
                             ELSE j.attempts + 1 END, \
             claimed_at = CASE WHEN j.attempts >= j.max_attempts THEN j.claimed_at \
                               ELSE clock_timestamp() END, \
             last_error = CASE WHEN c.prev_state = 'leased' \
                 THEN format('lease of %s (token %s) expired on attempt %s of %s', \
                             c.prev_owner, c.prev_token, j.attempts, j.max_attempts) \
                 ELSE j.last_error END \
         FROM candidate c \
         WHERE j.id = c.id \
         RETURNING j.id, j.batch, j.kind, j.layer, j.position, j.circuit_version, j.input, \
                   j.state, j.fencing_token, j.attempts, j.max_attempts, j.last_error, ",
    ms!("j.lease_expires_at"),
    " AS expires_ms, c.prev_state, c.prev_owner, c.prev_token), \
     logged AS ( \
         INSERT INTO job_events (job_id, worker, event, fencing_token, attempt, detail) \
         SELECT e.job_id, e.worker, e.event, e.token, e.attempt, e.detail \
         FROM claimed x CROSS JOIN LATERAL (VALUES \
             (1, x.id, x.prev_owner, 'expired', x.prev_token, \
              CASE WHEN x.state = 'leased' THEN x.attempts - 1 ELSE x.attempts END, \
              x.last_error), \
             (2, x.id, CASE WHEN x.state = 'leased' THEN $1 END, \
              CASE WHEN x.state = 'leased' THEN 'claimed' ELSE 'parked' END, \
              x.fencing_token, x.attempts, \
              CASE WHEN x.state = 'leased' THEN NULL ELSE x.last_error END) \
         ) AS e(ord, job_id, worker, event, token, attempt, detail) \
         WHERE e.ord = 2 OR x.prev_state = 'leased' \
         ORDER BY e.ord) \
     SELECT * FROM claimed"
);

/// At most this many exhausted jobs are parked by one `claim` call before
/// it gives up finding a lease (each is one statement).
const MAX_PARKED_PER_CLAIM: usize = 64;

impl JobQueue {
    /// Claims one job for `worker` among those `filter` allows, with a
    /// lease of `lease`: oldest batch first, higher layers first within a
    /// batch (a batch's tree is finished before new chunks are started).
    ///
    /// Takes a `ready` job, or a `leased` job whose lease expired (a
    /// reassignment: the previous holder's token becomes stale, an
    /// `expired` event is recorded and [`Lease::reassigned_from`] names
    /// it). Each claim is one atomic statement with `FOR UPDATE SKIP
    /// LOCKED`, so concurrent claimers never get the same job. A job whose
    /// attempts are spent is parked (with its last error) instead of
    /// leased, and the claim looks further.
    ///
    /// `None`: nothing is claimable now; poll again later.
    pub async fn claim(
        &self,
        worker: &str,
        filter: &ClaimFilter,
        lease: Duration,
    ) -> Result<Option<Lease>, QueueError> {
        let kinds: Vec<&str> = filter.kinds.iter().map(|k| k.as_str()).collect();
        for _ in 0..MAX_PARKED_PER_CLAIM {
            let row = sqlx::query(CLAIM)
                .bind(worker)
                .bind(&kinds)
                .bind(&filter.circuit_versions)
                .bind(lease.as_secs_f64())
                .fetch_optional(&self.pool)
                .await?;
            let Some(row) = row else { return Ok(None) };
            let job = job_record(&row)?;
            let state = JobState::parse(row.try_get("state")?)?;
            let prev_state: String = row.try_get("prev_state")?;
            let prev_owner: Option<String> = row.try_get("prev_owner")?;
            if state == JobState::Parked {
                let error: Option<String> = row.try_get("last_error")?;
                tracing::warn!(
                    job = job.id.0,
                    kind = %job.kind,
                    batch = job.batch,
                    attempts = job.attempts,
                    error = error.as_deref().unwrap_or(""),
                    "job parked: attempts exhausted"
                );
                continue;
            }
            let token: i64 = row.try_get("fencing_token")?;
            let reassigned_from = (prev_state == "leased").then_some(prev_owner).flatten();
            tracing::info!(
                job = job.id.0,
                kind = %job.kind,
                batch = job.batch,
                layer = job.layer,
                position = job.position,
                worker,
                attempt = job.attempts,
                token,
                reassigned_from = reassigned_from.as_deref().unwrap_or(""),
                "job claimed"
            );
            return Ok(Some(Lease {
                job,
                worker: worker.to_string(),
                token,
                duration: lease,
                expires_at_ms: row.try_get("expires_ms")?,
                reassigned_from,
            }));
        }
        Ok(None)
    }

    /// Extends the lease by its duration, if its token is still current
    /// (else [`QueueError::Stale`]: the job was reassigned, and the worker
    /// must stop). A lease that expired but was not claimed by anyone is
    /// still current and is extended.
    pub async fn heartbeat(&self, lease: &mut Lease) -> Result<(), QueueError> {
        let expires: Option<f64> = sqlx::query_scalar(concat!(
            "WITH hb AS ( \
                 UPDATE jobs SET lease_expires_at = clock_timestamp() + make_interval(secs => $3) \
                 WHERE id = $1 AND state = 'leased' AND fencing_token = $2 \
                 RETURNING id, fencing_token, attempts, lease_expires_at), \
             ev AS ( \
                 INSERT INTO job_events (job_id, worker, event, fencing_token, attempt) \
                 SELECT id, $4, 'heartbeat', fencing_token, attempts FROM hb) \
             SELECT ",
            ms!("lease_expires_at"),
            " FROM hb"
        ))
        .bind(lease.job.id.0)
        .bind(lease.token)
        .bind(lease.duration.as_secs_f64())
        .bind(&lease.worker)
        .fetch_optional(&self.pool)
        .await?;
        match expires {
            Some(ms) => {
                lease.expires_at_ms = ms;
                tracing::debug!(job = lease.job.id.0, worker = %lease.worker, "lease extended");
                Ok(())
            }
            None => Err(self.refuse_stale(lease, "heartbeat").await?),
        }
    }

    /// Reports that the worker could not prove the job: it returns to
    /// `ready` (the attempt is spent), or is parked if that was its last
    /// attempt; `error` becomes its `last_error`. Returns the job's new
    /// state, or [`QueueError::Stale`].
    pub async fn fail(&self, lease: &Lease, error: &str) -> Result<JobState, QueueError> {
        self.give_up(lease, Some(error)).await
    }

    /// Gives the job back (graceful shutdown): it returns to `ready` at
    /// once, and the attempt is **not** counted (`attempts - 1`), since
    /// nothing failed. A worker that releases the same job over and over
    /// therefore never parks it; use [`JobQueue::fail`] for failures.
    pub async fn release(&self, lease: &Lease) -> Result<(), QueueError> {
        self.give_up(lease, None).await.map(|_| ())
    }

    /// `fail` (with an error) or `release` (without), fenced by the token.
    async fn give_up(&self, lease: &Lease, error: Option<&str>) -> Result<JobState, QueueError> {
        let state: Option<String> = sqlx::query_scalar(
            "WITH g AS ( \
                 UPDATE jobs SET \
                     state = CASE WHEN $3::text IS NOT NULL AND attempts >= max_attempts \
                                  THEN 'parked' ELSE 'ready' END, \
                     owner = NULL, lease_expires_at = NULL, \
                     attempts = CASE WHEN $3::text IS NULL THEN attempts - 1 ELSE attempts END, \
                     last_error = COALESCE($3::text, last_error) \
                 WHERE id = $1 AND state = 'leased' AND fencing_token = $2 \
                 RETURNING id, state, fencing_token, attempts), \
             ev AS ( \
                 INSERT INTO job_events (job_id, worker, event, fencing_token, attempt, detail) \
                 SELECT g.id, e.worker, e.event, g.fencing_token, $5, $3::text \
                 FROM g CROSS JOIN LATERAL (VALUES \
                     (1, $4::text, CASE WHEN $3::text IS NULL THEN 'released' ELSE 'failed' END), \
                     (2, NULL::text, 'parked')) AS e(ord, worker, event) \
                 WHERE e.ord = 1 OR g.state = 'parked' \
                 ORDER BY e.ord) \
             SELECT state FROM g",
        )
        .bind(lease.job.id.0)
        .bind(lease.token)
        .bind(error)
        .bind(&lease.worker)
        .bind(lease.job.attempts as i32)
        .fetch_optional(&self.pool)
        .await?;
        let action = if error.is_some() { "fail" } else { "release" };
        match state {
            Some(state) => {
                let state = JobState::parse(&state)?;
                tracing::info!(
                    job = lease.job.id.0,
                    kind = %lease.job.kind,
                    batch = lease.job.batch,
                    worker = %lease.worker,
                    attempt = lease.job.attempts,
                    %state,
                    error = error.unwrap_or(""),
                    "job {action}ed"
                );
                Ok(state)
            }
            None => Err(self.refuse_stale(lease, action).await?),
        }
    }

    /// Records a `refused_stale` event for `lease` and builds the error
    /// (the job's current state and token).
    pub(crate) async fn refuse_stale(
        &self,
        lease: &Lease,
        action: &str,
    ) -> Result<QueueError, QueueError> {
        let row = sqlx::query(
            "WITH cur AS (SELECT id, state, fencing_token FROM jobs WHERE id = $1), \
             ev AS ( \
                 INSERT INTO job_events (job_id, worker, event, fencing_token, attempt, detail) \
                 SELECT id, $2, 'refused_stale', $3, $4, \
                        format('%s refused: job is %s with token %s', $5::text, state, \
                               fencing_token) \
                 FROM cur) \
             SELECT state, fencing_token FROM cur",
        )
        .bind(lease.job.id.0)
        .bind(&lease.worker)
        .bind(lease.token)
        .bind(lease.job.attempts as i32)
        .bind(action)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(QueueError::NotFound(lease.job.id))?;
        let state = JobState::parse(row.try_get("state")?)?;
        let current: Option<i64> = row.try_get("fencing_token")?;
        tracing::warn!(
            job = lease.job.id.0,
            kind = %lease.job.kind,
            batch = lease.job.batch,
            worker = %lease.worker,
            token = lease.token,
            current,
            %state,
            action,
            "stale lease refused"
        );
        Ok(QueueError::Stale {
            job: lease.job.id,
            token: lease.token,
            state,
            current,
        })
    }
}

/// The job columns of a claim's row.
fn job_record(row: &PgRow) -> Result<JobRecord, QueueError> {
    Ok(JobRecord {
        id: JobId(row.try_get("id")?),
        batch: row.try_get("batch")?,
        kind: JobKind::parse(row.try_get("kind")?)?,
        layer: row.try_get::<i32, _>("layer")? as u32,
        position: row.try_get::<i32, _>("position")? as u32,
        circuit_version: row.try_get("circuit_version")?,
        input: row.try_get("input")?,
        attempts: row.try_get::<i32, _>("attempts")? as u32,
        max_attempts: row.try_get::<i32, _>("max_attempts")? as u32,
    })
}
