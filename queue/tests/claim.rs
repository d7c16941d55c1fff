//! Claims: concurrent claimers never share a job; filters are honoured.

mod common;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use common::{chunk, count, TestDb};
use zklanes_queue::{ClaimFilter, JobKind, JobState, NewJob};

const LEASE: Duration = Duration::from_secs(120);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn eight_concurrent_claimers_take_each_of_twenty_jobs_exactly_once() {
    let db = TestDb::new().await;
    let q = db.queue().await;
    let jobs: Vec<NewJob> = (0..20).map(|i| chunk(1, i)).collect();
    let ids: HashSet<_> = q.enqueue(&jobs).await.unwrap().into_iter().collect();
    assert_eq!(ids.len(), 20);

    // Eight claimers, each with its own pool (like eight machines), start
    // together and claim until nothing is left.
    let start = Arc::new(tokio::sync::Barrier::new(8));
    let mut tasks = Vec::new();
    for w in 0..8 {
        let queue = db.queue().await;
        let start = start.clone();
        tasks.push(tokio::spawn(async move {
            let worker = format!("w{w}");
            let mut mine = Vec::new();
            start.wait().await;
            while let Some(lease) = queue
                .claim(&worker, &ClaimFilter::all(), LEASE)
                .await
                .unwrap()
            {
                assert_eq!(lease.worker, worker);
                assert_eq!(lease.job.attempts, 1);
                mine.push((lease.id(), lease.token));
            }
            mine
        }));
    }
    let mut claimed = Vec::new();
    for task in tasks {
        claimed.extend(task.await.unwrap());
    }
    let jobs: HashSet<_> = claimed.iter().map(|(id, _)| *id).collect();
    let tokens: HashSet<_> = claimed.iter().map(|(_, t)| *t).collect();
    assert_eq!(claimed.len(), 20, "20 claims in all: {claimed:?}");
    assert_eq!(jobs, ids, "each job claimed once");
    assert_eq!(tokens.len(), 20, "every lease has its own token");
    assert_eq!(
        q.depth()
            .await
            .unwrap()
            .get(JobKind::Chunk, JobState::Leased),
        20
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM job_events WHERE event = 'claimed'"
        )
        .await,
        20
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM jobs WHERE attempts <> 1").await,
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claims_honour_kinds_and_circuit_versions_and_prefer_older_batches() {
    let db = TestDb::new().await;
    let q = db.queue().await;
    q.enqueue(&[
        chunk(5, 0),
        NewJob::new(4, JobKind::Chunk, 0, 0, "chunk-v2", b"t".to_vec()),
        NewJob::new(4, JobKind::Final, 1, 0, "final-v1", b"f".to_vec()),
    ])
    .await
    .unwrap();
    // Oldest batch first, and within it the highest layer first.
    let lease = q
        .claim("w", &ClaimFilter::all(), LEASE)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((lease.job.batch, lease.job.kind), (4, JobKind::Final));
    let v1 = ClaimFilter::kinds(&[JobKind::Chunk]).with_versions(vec!["chunk-v1".into()]);
    let lease = q.claim("w", &v1, LEASE).await.unwrap().unwrap();
    assert_eq!(
        (lease.job.batch, lease.job.circuit_version.as_str()),
        (5, "chunk-v1")
    );
    assert!(
        q.claim("w", &v1, LEASE).await.unwrap().is_none(),
        "batch 4's chunk is v2"
    );
    assert!(q
        .claim("w", &ClaimFilter::kinds(&[JobKind::Aggregate]), LEASE)
        .await
        .unwrap()
        .is_none());
    let lease = q
        .claim("w", &ClaimFilter::kinds(&[JobKind::Chunk]), LEASE)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (lease.job.batch, lease.job.circuit_version.as_str()),
        (4, "chunk-v2")
    );
    let depth = q.depth().await.unwrap();
    assert_eq!(depth.in_state(JobState::Leased), 3);
    assert_eq!(depth.in_state(JobState::Ready), 0);
}
