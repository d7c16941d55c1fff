//! What an operator does to the queue: give parked jobs another round.

use crate::error::QueueError;
use crate::JobQueue;

impl JobQueue {
    /// Returns every parked job of `batch` to `ready` with its attempts
    /// reset (its last error is kept until it is proven), recording a
    /// `promoted` event that says so. The service calls it when the
    /// operator retries a parked batch. Returns how many jobs were
    /// requeued.
    pub async fn requeue_parked(&self, batch: i64) -> Result<u64, QueueError> {
        let n: i64 = sqlx::query_scalar(
            "WITH r AS ( \
                 UPDATE jobs SET state = 'ready', attempts = 0 \
                 WHERE batch = $1 AND state = 'parked' \
                 RETURNING id), \
             ev AS ( \
                 INSERT INTO job_events (job_id, event, detail) \
                 SELECT id, 'promoted', 'parked job requeued by the operator' FROM r) \
             SELECT count(*) FROM r",
        )
        .bind(batch)
        .fetch_one(&self.pool)
        .await?;
        if n > 0 {
            tracing::warn!(batch, jobs = n, "parked jobs requeued");
        }
        Ok(n as u64)
    }
}
