//! Invalid proofs and failures: refused, retried, then parked with the
//! reason visible.

mod common;

use std::time::Duration;

use common::{accept_all, chunk, count, TestDb};
use zklanes_queue::{ClaimFilter, EventKind, JobState, QueueError, Timings};

const LEASE: Duration = Duration::from_secs(120);

fn bad_pairing(_: &zklanes_queue::JobRecord, _: &[u8]) -> Result<(), String> {
    Err("pairing check failed".into())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_proof_is_refused_retried_and_parked_after_max_attempts() {
    let db = TestDb::new().await;
    let q = db.queue().await;
    let id = q
        .enqueue(&[chunk(9, 0).with_max_attempts(2)])
        .await
        .unwrap()[0];

    let first = q
        .claim("liar", &ClaimFilter::all(), LEASE)
        .await
        .unwrap()
        .unwrap();
    let err = q
        .submit(&first, b"junk".to_vec(), bad_pairing, Timings::default())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, QueueError::InvalidProof { parked: false, reason, .. } if reason == "pairing check failed"),
        "{err}"
    );
    assert!(!err.is_retryable());
    let status = q.batch_status(9).await.unwrap();
    let job = status.job(id).unwrap();
    assert_eq!(
        (job.state, job.attempts, job.owner.as_deref()),
        (JobState::Ready, 1, None)
    );
    assert!(q.proof(id).await.unwrap().is_none(), "nothing accepted");

    // Claimable again, by another worker; its lease is a new one.
    let second = q
        .claim("liar2", &ClaimFilter::all(), LEASE)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((second.id(), second.job.attempts), (id, 2));
    assert!(second.token > first.token);
    let err = q
        .submit(&second, b"junk".to_vec(), bad_pairing, Timings::default())
        .await
        .unwrap_err();
    assert!(
        matches!(err, QueueError::InvalidProof { parked: true, .. }),
        "{err}"
    );
    assert!(q
        .claim("w", &ClaimFilter::all(), LEASE)
        .await
        .unwrap()
        .is_none());

    let status = q.batch_status(9).await.unwrap();
    let job = status.job(id).unwrap();
    assert_eq!((job.state, job.attempts), (JobState::Parked, 2));
    let error = job.last_error.as_deref().unwrap();
    assert!(
        error.contains("pairing check failed") && error.contains("liar2"),
        "{error}"
    );
    assert_eq!(status.parked().count(), 1);
    assert!(!status.complete());
    let events: Vec<EventKind> = q.events(9).await.unwrap().iter().map(|e| e.event).collect();
    assert_eq!(
        events,
        vec![
            EventKind::Enqueued,
            EventKind::Claimed,
            EventKind::RefusedInvalid,
            EventKind::Claimed,
            EventKind::RefusedInvalid,
            EventKind::Parked
        ]
    );
    let counts = q.event_counts().await.unwrap();
    assert!(
        counts.contains(&(EventKind::RefusedInvalid, 2)),
        "{counts:?}"
    );
    assert_eq!(count(&db, "SELECT count(*) FROM proofs").await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_verifier_refuses_the_proof() {
    let db = TestDb::new().await;
    let q = db.queue().await;
    q.enqueue(&[chunk(1, 0)]).await.unwrap();
    let lease = q
        .claim("w", &ClaimFilter::all(), LEASE)
        .await
        .unwrap()
        .unwrap();
    let err = q
        .submit(
            &lease,
            b"p".to_vec(),
            |_, _| panic!("verifier bug"),
            Timings::default(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, QueueError::InvalidProof { reason, .. } if reason.contains("panicked")),
        "{err}"
    );
    let again = q
        .claim("w", &ClaimFilter::all(), LEASE)
        .await
        .unwrap()
        .unwrap();
    q.submit(&again, b"p".to_vec(), accept_all, Timings::default())
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fail_spends_an_attempt_and_release_does_not() {
    let db = TestDb::new().await;
    let q = db.queue().await;
    let id = q
        .enqueue(&[chunk(2, 0).with_max_attempts(2)])
        .await
        .unwrap()[0];
    let all = ClaimFilter::all();

    // A graceful shutdown gives the job back without spending the attempt.
    let lease = q.claim("w1", &all, LEASE).await.unwrap().unwrap();
    q.release(&lease).await.unwrap();
    let job = q.batch_status(2).await.unwrap().jobs[0].clone();
    assert_eq!((job.state, job.attempts), (JobState::Ready, 0));
    assert!(
        q.release(&lease).await.unwrap_err().is_stale(),
        "released once"
    );

    let lease = q.claim("w2", &all, LEASE).await.unwrap().unwrap();
    assert_eq!(lease.job.attempts, 1);
    assert_eq!(
        q.fail(&lease, "out of memory").await.unwrap(),
        JobState::Ready
    );
    let lease = q.claim("w3", &all, LEASE).await.unwrap().unwrap();
    assert_eq!(lease.job.attempts, 2);
    assert_eq!(
        q.fail(&lease, "out of memory again").await.unwrap(),
        JobState::Parked
    );
    assert!(q.claim("w4", &all, LEASE).await.unwrap().is_none());
    let status = q.batch_status(2).await.unwrap();
    let job = status.job(id).unwrap();
    assert_eq!(job.state, JobState::Parked);
    assert_eq!(job.last_error.as_deref(), Some("out of memory again"));
    let events: Vec<(EventKind, Option<String>)> = q
        .events(2)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.event, e.worker))
        .collect();
    assert_eq!(
        events,
        vec![
            (EventKind::Enqueued, None),
            (EventKind::Claimed, Some("w1".into())),
            (EventKind::Released, Some("w1".into())),
            (EventKind::RefusedStale, Some("w1".into())),
            (EventKind::Claimed, Some("w2".into())),
            (EventKind::Failed, Some("w2".into())),
            (EventKind::Claimed, Some("w3".into())),
            (EventKind::Failed, Some("w3".into())),
            (EventKind::Parked, None),
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_requeues_a_parked_job_with_fresh_attempts() {
    let db = TestDb::new().await;
    let q = db.queue().await;
    let id = q
        .enqueue(&[chunk(4, 0).with_max_attempts(1)])
        .await
        .unwrap()[0];
    let lease = q
        .claim("w", &ClaimFilter::all(), LEASE)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        q.fail(&lease, "out of memory").await.unwrap(),
        JobState::Parked
    );
    // Another batch's parked job is not touched.
    let other = q
        .enqueue(&[chunk(5, 0).with_max_attempts(1)])
        .await
        .unwrap()[0];
    let l = q
        .claim("w", &ClaimFilter::all(), LEASE)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(l.id(), other);
    q.fail(&l, "boom").await.unwrap();

    assert_eq!(q.requeue_parked(4).await.unwrap(), 1);
    assert_eq!(q.requeue_parked(4).await.unwrap(), 0, "nothing left parked");
    let status = q.batch_status(4).await.unwrap();
    let job = status.job(id).unwrap();
    assert_eq!((job.state, job.attempts), (JobState::Ready, 0));
    assert_eq!(job.last_error.as_deref(), Some("out of memory"));
    assert_eq!(
        q.batch_status(5).await.unwrap().job(other).unwrap().state,
        JobState::Parked
    );
    // It is proven like any job now.
    let again = q
        .claim("w3", &ClaimFilter::all(), LEASE)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((again.id(), again.job.attempts), (id, 1));
    q.submit(&again, b"p".to_vec(), accept_all, Timings::default())
        .await
        .unwrap();
    let events = q.events(4).await.unwrap();
    assert!(events.iter().any(|e| e.event == EventKind::Promoted
        && e.detail.as_deref() == Some("parked job requeued by the operator")));
}
