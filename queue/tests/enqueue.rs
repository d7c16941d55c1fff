//! Enqueue: idempotent under concurrency, conflicts refused whole.

mod common;

use std::collections::HashSet;
use std::time::Duration;

use common::{accept_all, aggregate, chunk, count, TestDb};
use zklanes_queue::{ClaimFilter, JobKind, JobState, NewJob, QueueError, Timings};

/// A batch's DAG: 8 chunks, a binary tree of 7 aggregation nodes, the final
/// job: 16 jobs.
fn dag(batch: i64) -> Vec<NewJob> {
    let mut jobs: Vec<NewJob> = (0..8).map(|i| chunk(batch, i)).collect();
    let (mut below, mut width, mut layer) = (0usize, 8usize, 1u32);
    while width > 1 {
        let start = jobs.len();
        for p in 0..width / 2 {
            let inputs = vec![below + 2 * p, below + 2 * p + 1];
            jobs.push(aggregate(batch, layer, p as u32, inputs));
        }
        below = start;
        width /= 2;
        layer += 1;
    }
    jobs.push(
        NewJob::new(batch, JobKind::Final, layer, 0, "final-v1", b"evm".to_vec())
            .with_inputs(vec![below]),
    );
    jobs
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_idempotent_enqueue_from_two_pools_creates_each_job_once() {
    let db = TestDb::new().await;
    let (a, b) = (db.queue().await, db.queue().await);
    for batch in 0..10 {
        let jobs = dag(batch);
        let (ra, rb) = tokio::join!(a.enqueue(&jobs), b.enqueue(&jobs));
        let (ia, ib) = (ra.unwrap(), rb.unwrap());
        assert_eq!(ia, ib, "batch {batch}: both callers get the same ids");
        assert_eq!(ia.iter().collect::<HashSet<_>>().len(), 16);
    }
    assert_eq!(count(&db, "SELECT count(*) FROM jobs").await, 160);
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM job_events WHERE event = 'enqueued'"
        )
        .await,
        160
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM job_inputs").await,
        10 * (14 + 1)
    );
    // And again, sequentially: still nothing new.
    let again = a.enqueue(&dag(3)).await.unwrap();
    assert_eq!(again, b.enqueue(&dag(3)).await.unwrap());
    assert_eq!(count(&db, "SELECT count(*) FROM jobs").await, 160);
    let depth = a.depth().await.unwrap();
    assert_eq!(depth.get(JobKind::Chunk, JobState::Ready), 80);
    assert_eq!(depth.get(JobKind::Aggregate, JobState::Waiting), 70);
    assert_eq!(depth.get(JobKind::Final, JobState::Waiting), 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_different_job_under_an_existing_key_is_refused_whole() {
    let db = TestDb::new().await;
    let q = db.queue().await;
    q.enqueue(&dag(1)).await.unwrap();
    // Another input for chunk 3 of batch 1, in a call that also adds jobs.
    let mut other = dag(1);
    other[3].input = b"a different trace".to_vec();
    other.push(chunk(2, 0));
    let err = q.enqueue(&other).await.unwrap_err();
    assert!(
        matches!(
            &err,
            QueueError::Conflict {
                batch: 1,
                position: 3,
                what: "input",
                ..
            }
        ),
        "{err}"
    );
    assert!(!err.is_retryable());
    // Another shape of tree over the same jobs.
    let mut rewired = dag(1);
    rewired[8].inputs = vec![1, 0];
    let err = q.enqueue(&rewired).await.unwrap_err();
    assert!(
        matches!(
            &err,
            QueueError::Conflict {
                what: "input jobs",
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM jobs").await,
        16,
        "nothing added"
    );
    assert!(q.batch_status(2).await.unwrap().jobs.is_empty());
    let err = q.enqueue(&[aggregate(3, 1, 0, vec![0])]).await.unwrap_err();
    assert!(matches!(err, QueueError::InvalidJob(_)), "{err}");
}

/// A node enqueued after its inputs are proven starts ready.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_node_over_proven_inputs_starts_ready() {
    let db = TestDb::new().await;
    let q = db.queue().await;
    let lease_time = Duration::from_secs(60);
    q.enqueue(&[chunk(1, 0), chunk(1, 1)]).await.unwrap();
    for _ in 0..2 {
        let lease = q
            .claim("w", &ClaimFilter::all(), lease_time)
            .await
            .unwrap()
            .unwrap();
        q.submit(&lease, b"p".to_vec(), accept_all, Timings::default())
            .await
            .unwrap();
    }
    let ids = q
        .enqueue(&[chunk(1, 0), chunk(1, 1), aggregate(1, 1, 0, vec![0, 1])])
        .await
        .unwrap();
    let status = q.batch_status(1).await.unwrap();
    assert_eq!(status.job(ids[2]).unwrap().state, JobState::Ready);
    let lease = q
        .claim("w", &ClaimFilter::all(), lease_time)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(lease.id(), ids[2]);
}
