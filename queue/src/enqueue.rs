//! Enqueueing a proof DAG, idempotently.

use std::time::Duration;

use sha2::{Digest, Sha256};
use sqlx::{Postgres, Row, Transaction};

use crate::error::QueueError;
use crate::model::{JobId, NewJob};
use crate::JobQueue;

/// Transactions lost to a deadlock (two enqueuers inserting overlapping
/// DAGs in different orders) are retried this many times.
const ENQUEUE_TRIES: u32 = 5;

impl JobQueue {
    /// Enqueues `jobs` (a batch's DAG, inputs before the jobs that consume
    /// them) in one transaction and returns their ids, in order.
    ///
    /// Idempotent: a job whose key `(batch, kind, layer, position,
    /// circuit_version)` exists is not created again, its id is returned
    /// (two services enqueueing the same batch concurrently create each
    /// job once). A job with no inputs starts `ready`, one with inputs
    /// `waiting` (or `ready` if they are all done already). An existing job
    /// with a different input or different input jobs is a
    /// [`QueueError::Conflict`] and nothing is enqueued.
    pub async fn enqueue(&self, jobs: &[NewJob]) -> Result<Vec<JobId>, QueueError> {
        validate(jobs)?;
        let mut tries = 0;
        loop {
            tries += 1;
            let mut tx = self.pool.begin().await?;
            match enqueue_in(&mut tx, jobs).await {
                Ok(ids) => {
                    tx.commit().await?;
                    return Ok(ids);
                }
                Err(QueueError::Database(sqlx::Error::Database(db)))
                    if tries < ENQUEUE_TRIES
                        && matches!(db.code().as_deref(), Some("40P01") | Some("40001")) =>
                {
                    tracing::debug!(tries, "enqueue lost a deadlock, retrying");
                    drop(tx);
                    tokio::time::sleep(Duration::from_millis(20 << tries)).await;
                }
                Err(e) => return Err(e),
            }
        }
    }
}

/// Checks what the database would refuse less clearly.
fn validate(jobs: &[NewJob]) -> Result<(), QueueError> {
    for (i, job) in jobs.iter().enumerate() {
        let bad = |why: String| {
            Err(QueueError::InvalidJob(format!(
                "job {i} ({} batch {} layer {} position {}): {why}",
                job.kind, job.batch, job.layer, job.position
            )))
        };
        if job.max_attempts == 0 || i32::try_from(job.max_attempts).is_err() {
            return bad(format!("max_attempts {} out of range", job.max_attempts));
        }
        if i32::try_from(job.layer).is_err() || i32::try_from(job.position).is_err() {
            return bad("layer or position above i32::MAX".into());
        }
        if let Some(&input) = job.inputs.iter().find(|&&input| input >= i) {
            return bad(format!("input {input} is not an earlier job of the call"));
        }
        let mut sorted = job.inputs.clone();
        sorted.sort_unstable();
        if sorted.windows(2).any(|w| w[0] == w[1]) {
            return bad("an input appears twice".into());
        }
    }
    Ok(())
}

/// The enqueue transaction's body.
async fn enqueue_in(
    tx: &mut Transaction<'_, Postgres>,
    jobs: &[NewJob],
) -> Result<Vec<JobId>, QueueError> {
    let mut ids: Vec<i64> = Vec::with_capacity(jobs.len());
    let mut created: Vec<bool> = Vec::with_capacity(jobs.len());
    for job in jobs {
        let digest = Sha256::digest(&job.input).to_vec();
        let state = if job.inputs.is_empty() {
            "ready"
        } else {
            "waiting"
        };
        // Insert, or find the existing job. Two statements: after the
        // INSERT waited for a concurrent enqueuer's row, only a new
        // statement's snapshot sees it.
        let inserted: Option<i64> = sqlx::query_scalar(
            "INSERT INTO jobs (batch, kind, layer, position, circuit_version, input, \
                               input_digest, state, max_attempts) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (batch, kind, layer, position, circuit_version) DO NOTHING \
             RETURNING id",
        )
        .bind(job.batch)
        .bind(job.kind.as_str())
        .bind(job.layer as i32)
        .bind(job.position as i32)
        .bind(&job.circuit_version)
        .bind(&job.input)
        .bind(&digest)
        .bind(state)
        .bind(job.max_attempts as i32)
        .fetch_optional(&mut **tx)
        .await?;
        let id = match inserted {
            Some(id) => id,
            None => {
                let row = sqlx::query(
                    "SELECT id, input_digest FROM jobs WHERE batch = $1 AND kind = $2 \
                     AND layer = $3 AND position = $4 AND circuit_version = $5",
                )
                .bind(job.batch)
                .bind(job.kind.as_str())
                .bind(job.layer as i32)
                .bind(job.position as i32)
                .bind(&job.circuit_version)
                .fetch_one(&mut **tx)
                .await?;
                let existing: Vec<u8> = row.try_get("input_digest")?;
                if existing != digest {
                    return Err(conflict(job, "input"));
                }
                row.try_get("id")?
            }
        };
        ids.push(id);
        created.push(inserted.is_some());
    }
    let mut waiting_new: Vec<i64> = Vec::new();
    let mut their_inputs: Vec<i64> = Vec::new();
    for (i, job) in jobs.iter().enumerate() {
        let inputs: Vec<i64> = job.inputs.iter().map(|&k| ids[k]).collect();
        if created[i] {
            if !inputs.is_empty() {
                sqlx::query(
                    "INSERT INTO job_inputs (job_id, slot, input_job_id) \
                     SELECT $1, (t.ord - 1)::int, t.id \
                     FROM UNNEST($2::bigint[]) WITH ORDINALITY AS t(id, ord)",
                )
                .bind(ids[i])
                .bind(&inputs)
                .execute(&mut **tx)
                .await?;
                waiting_new.push(ids[i]);
                their_inputs.extend(&inputs);
            }
        } else {
            let existing: Vec<i64> = sqlx::query_scalar(
                "SELECT input_job_id FROM job_inputs WHERE job_id = $1 ORDER BY slot",
            )
            .bind(ids[i])
            .fetch_all(&mut **tx)
            .await?;
            if existing != inputs {
                return Err(conflict(job, "input jobs"));
            }
        }
    }
    let new_ids: Vec<i64> = ids
        .iter()
        .zip(&created)
        .filter(|(_, &c)| c)
        .map(|(&id, _)| id)
        .collect();
    sqlx::query(
        "INSERT INTO job_events (job_id, event) \
         SELECT id, 'enqueued' FROM UNNEST($1::bigint[]) AS t(id) ORDER BY id",
    )
    .bind(&new_ids)
    .execute(&mut **tx)
    .await?;
    if !waiting_new.is_empty() {
        promote_new(tx, &waiting_new, &mut their_inputs).await?;
    }
    Ok(ids.into_iter().map(JobId).collect())
}

/// New waiting jobs whose inputs are all done already (inputs that existed
/// before this call) become ready. The inputs are locked first (`FOR
/// SHARE`): a concurrent acceptance of one of them (which locks it `FOR
/// UPDATE`) then either commits before this check, or runs after this
/// transaction and sees the new dependents.
async fn promote_new(
    tx: &mut Transaction<'_, Postgres>,
    waiting: &[i64],
    inputs: &mut Vec<i64>,
) -> Result<(), QueueError> {
    inputs.sort_unstable();
    inputs.dedup();
    sqlx::query("SELECT id FROM jobs WHERE id = ANY($1) ORDER BY id FOR SHARE")
        .bind(&*inputs)
        .execute(&mut **tx)
        .await?;
    sqlx::query(
        "WITH promoted AS ( \
             UPDATE jobs d SET state = 'ready' \
             WHERE d.id = ANY($1) AND d.state = 'waiting' AND NOT EXISTS ( \
                 SELECT 1 FROM job_inputs i JOIN jobs s ON s.id = i.input_job_id \
                 WHERE i.job_id = d.id AND s.state <> 'done') \
             RETURNING d.id) \
         INSERT INTO job_events (job_id, event) SELECT id, 'promoted' FROM promoted",
    )
    .bind(waiting)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The conflict error for `job`.
fn conflict(job: &NewJob, what: &'static str) -> QueueError {
    QueueError::Conflict {
        batch: job.batch,
        kind: job.kind,
        layer: job.layer,
        position: job.position,
        circuit_version: job.circuit_version.clone(),
        what,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::JobKind;

    #[test]
    fn inputs_must_be_earlier_jobs_of_the_call() {
        let chunk = NewJob::new(1, JobKind::Chunk, 0, 0, "v", vec![1]);
        let agg = NewJob::new(1, JobKind::Aggregate, 1, 0, "v", vec![]);
        assert!(validate(&[chunk.clone(), agg.clone().with_inputs(vec![0])]).is_ok());
        for bad in [vec![1], vec![2], vec![0, 0]] {
            let err = validate(&[chunk.clone(), agg.clone().with_inputs(bad)]).unwrap_err();
            assert!(matches!(err, QueueError::InvalidJob(_)), "{err}");
        }
        assert!(validate(&[chunk.with_max_attempts(0)]).is_err());
    }
}
