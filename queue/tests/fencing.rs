//! Fencing: a lease taken over is dead for its old holder, whatever it
//! does; exactly one proof per job is accepted.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{accept_all, chunk, count, proof_for, TestDb};
use zklanes_queue::{ClaimFilter, EventKind, JobState, QueueError, Timings};

const SHORT: Duration = Duration::from_millis(300);
const LONG: Duration = Duration::from_secs(120);

/// Waits until a lease of `SHORT` has surely expired on the server.
async fn past_expiry() {
    tokio::time::sleep(SHORT + Duration::from_millis(200)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_token_is_refused_at_heartbeat_and_submit_and_the_new_holder_wins() {
    let db = TestDb::new().await;
    let (qa, qb) = (db.queue().await, db.queue().await);
    let id = qa.enqueue(&[chunk(3, 0)]).await.unwrap()[0];
    let mut old = qa
        .claim("a", &ClaimFilter::all(), SHORT)
        .await
        .unwrap()
        .unwrap();
    past_expiry().await;

    // b takes the job over: a new token, the old holder named.
    let mut new = qb
        .claim("b", &ClaimFilter::all(), LONG)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(new.id(), id);
    assert!(new.token > old.token);
    assert_eq!(new.reassigned_from.as_deref(), Some("a"));
    assert_eq!(new.job.attempts, 2);

    // Whatever a does now is refused, and its proof is not even verified.
    let err = qa.heartbeat(&mut old).await.unwrap_err();
    assert!(
        matches!(err, QueueError::Stale { current: Some(t), state: JobState::Leased, .. } if t == new.token),
        "{err}"
    );
    let verified = Arc::new(AtomicBool::new(false));
    let flag = verified.clone();
    let err = qa
        .submit(
            &old,
            proof_for(&old.job, "a"),
            move |_, _| {
                flag.store(true, Ordering::SeqCst);
                Ok(())
            },
            Timings::default(),
        )
        .await
        .unwrap_err();
    assert!(err.is_stale() && !err.is_retryable(), "{err}");
    assert!(
        !verified.load(Ordering::SeqCst),
        "a stale proof is not verified"
    );
    assert!(qa.fail(&old, "late failure").await.unwrap_err().is_stale());
    assert!(qa.release(&old).await.unwrap_err().is_stale());

    // b's lease is untouched by all that.
    qb.heartbeat(&mut new).await.unwrap();
    let accepted = qb
        .submit(
            &new,
            proof_for(&new.job, "b"),
            accept_all,
            Timings::default(),
        )
        .await
        .unwrap();
    assert!(!accepted.duplicate);
    let proof = qb.proof(id).await.unwrap().unwrap();
    assert_eq!(
        (proof.worker.as_str(), proof.fencing_token),
        ("b", new.token)
    );
    assert_eq!(proof.proof, proof_for(&new.job, "b"));

    // After acceptance, a is still refused (the job is done).
    let err = qa
        .submit(
            &old,
            proof_for(&old.job, "a"),
            accept_all,
            Timings::default(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            QueueError::Stale {
                state: JobState::Done,
                ..
            }
        ),
        "{err}"
    );

    let events = qa.events(3).await.unwrap();
    let expired: Vec<_> = events
        .iter()
        .filter(|e| e.event == EventKind::Expired)
        .collect();
    assert_eq!(expired.len(), 1);
    assert_eq!(
        (expired[0].worker.as_deref(), expired[0].fencing_token),
        (Some("a"), Some(old.token))
    );
    let refused = events
        .iter()
        .filter(|e| e.event == EventKind::RefusedStale && e.worker.as_deref() == Some("a"))
        .count();
    assert_eq!(refused, 5, "heartbeat, submit, fail, release, late submit");
    let status = qa.batch_status(3).await.unwrap();
    let job = status.job(id).unwrap();
    assert_eq!((job.state, job.attempts), (JobState::Done, 2));
    assert!(
        job.last_error.as_deref().unwrap().contains("expired"),
        "{job:?}"
    );
}

/// The old holder passes the first token check, then the job is taken over
/// while it verifies: the check inside the accepting transaction refuses it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_takeover_during_verification_is_caught_by_the_second_check() {
    let db = TestDb::new().await;
    let (qa, qb) = (db.queue().await, db.queue().await);
    let id = qa.enqueue(&[chunk(4, 0)]).await.unwrap()[0];
    let old = qa
        .claim("a", &ClaimFilter::all(), SHORT)
        .await
        .unwrap()
        .unwrap();
    past_expiry().await;
    let slow_submit = {
        let qa = qa.clone();
        let old = old.clone();
        tokio::spawn(async move {
            qa.submit(
                &old,
                b"late".to_vec(),
                |_, _| {
                    std::thread::sleep(Duration::from_millis(800));
                    Ok(())
                },
                Timings::default(),
            )
            .await
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    let new = qb
        .claim("b", &ClaimFilter::all(), LONG)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(new.id(), id);
    let err = slow_submit.await.unwrap().unwrap_err();
    assert!(err.is_stale(), "{err}");
    assert!(qb.proof(id).await.unwrap().is_none());
    qb.submit(&new, b"b".to_vec(), accept_all, Timings::default())
        .await
        .unwrap();
    assert_eq!(qb.proof(id).await.unwrap().unwrap().worker, "b");
}

/// An expired lease nobody took over is still the current one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_lease_not_taken_over_is_still_current() {
    let db = TestDb::new().await;
    let q = db.queue().await;
    q.enqueue(&[chunk(1, 0)]).await.unwrap();
    let mut lease = q
        .claim("a", &ClaimFilter::all(), SHORT)
        .await
        .unwrap()
        .unwrap();
    past_expiry().await;
    let before = lease.expires_at_ms;
    q.heartbeat(&mut lease).await.unwrap();
    assert!(lease.expires_at_ms > before + 300.0);
    past_expiry().await;
    q.submit(&lease, b"p".to_vec(), accept_all, Timings::default())
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_submit_for_a_done_job_is_refused_and_one_proof_is_kept() {
    let db = TestDb::new().await;
    let q = db.queue().await;
    let id = q.enqueue(&[chunk(2, 0)]).await.unwrap()[0];
    let first = q
        .claim("a", &ClaimFilter::all(), SHORT)
        .await
        .unwrap()
        .unwrap();
    past_expiry().await;
    let second = q
        .claim("b", &ClaimFilter::all(), LONG)
        .await
        .unwrap()
        .unwrap();
    q.submit(&second, b"from b".to_vec(), accept_all, Timings::default())
        .await
        .unwrap();
    // Another lease's proof for the done job: refused.
    let err = q
        .submit(&first, b"from a".to_vec(), accept_all, Timings::default())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            QueueError::Stale {
                state: JobState::Done,
                ..
            }
        ),
        "{err}"
    );
    // The same lease again (a retry after a lost acknowledgement): reported
    // as a duplicate, nothing stored.
    let again = q
        .submit(
            &second,
            b"from b, again".to_vec(),
            accept_all,
            Timings::default(),
        )
        .await
        .unwrap();
    assert!(again.duplicate);
    assert_eq!(q.proof(id).await.unwrap().unwrap().proof, b"from b");
    assert_eq!(count(&db, "SELECT count(*) FROM proofs").await, 1);
    assert!(q
        .claim("c", &ClaimFilter::all(), LONG)
        .await
        .unwrap()
        .is_none());

    // And the database itself refuses a second proof row, whatever the code.
    let mut raw = db.raw().await;
    let err = sqlx::query(
        "INSERT INTO proofs (job_id, proof, worker, fencing_token, prove_ms, verify_ms) \
         VALUES ($1, 'x', 'rogue', 0, 0, 0)",
    )
    .bind(id.0)
    .execute(&mut raw)
    .await
    .unwrap_err();
    let code = err.as_database_error().and_then(|e| e.code()).unwrap();
    assert_eq!(code, "23505", "unique violation: {err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_lease_on_the_last_attempt_parks_the_job() {
    let db = TestDb::new().await;
    let q = db.queue().await;
    let id = q
        .enqueue(&[chunk(6, 0).with_max_attempts(1)])
        .await
        .unwrap()[0];
    let _dead = q
        .claim("a", &ClaimFilter::all(), SHORT)
        .await
        .unwrap()
        .unwrap();
    past_expiry().await;
    assert!(q
        .claim("b", &ClaimFilter::all(), LONG)
        .await
        .unwrap()
        .is_none());
    let status = q.batch_status(6).await.unwrap();
    let job = status.job(id).unwrap();
    assert_eq!(
        (job.state, job.attempts, job.owner.as_deref()),
        (JobState::Parked, 1, None)
    );
    assert!(
        job.last_error.as_deref().unwrap().contains("lease of a"),
        "{job:?}"
    );
    assert_eq!(status.parked().count(), 1);
    let events: Vec<EventKind> = q.events(6).await.unwrap().iter().map(|e| e.event).collect();
    assert_eq!(
        events,
        vec![
            EventKind::Enqueued,
            EventKind::Claimed,
            EventKind::Expired,
            EventKind::Parked
        ]
    );
}
