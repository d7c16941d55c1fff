//! The proof DAG: a node is claimable exactly when all its inputs are
//! accepted, and its inputs' proofs come back in order.

mod common;

use std::time::Duration;

use common::{accept_all, aggregate, chunk, proof_for, TestDb};
use zklanes_queue::{ClaimFilter, EventKind, JobKind, JobState, NewJob, QueueError, Timings};

const LEASE: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_aggregate_is_claimable_only_once_both_chunk_inputs_are_accepted() {
    let db = TestDb::new().await;
    let q = db.queue().await;
    let ids = q
        .enqueue(&[
            chunk(7, 0),
            chunk(7, 1),
            aggregate(7, 1, 0, vec![0, 1]),
            NewJob::new(7, JobKind::Final, 2, 0, "final-v1", b"evm".to_vec()).with_inputs(vec![2]),
        ])
        .await
        .unwrap();
    let (c0, c1, node, fin) = (ids[0], ids[1], ids[2], ids[3]);
    let upper = ClaimFilter::kinds(&[JobKind::Aggregate, JobKind::Final]);
    let chunks = ClaimFilter::kinds(&[JobKind::Chunk]);

    let status = q.batch_status(7).await.unwrap();
    assert_eq!(status.job(c0).unwrap().state, JobState::Ready);
    assert_eq!(status.job(node).unwrap().state, JobState::Waiting);
    assert_eq!(status.job(node).unwrap().inputs, vec![c0, c1]);
    assert!(q.claim("agg", &upper, LEASE).await.unwrap().is_none());

    // The first chunk's acceptance is not enough.
    let first = q.claim("w1", &chunks, LEASE).await.unwrap().unwrap();
    assert_eq!(first.id(), c0, "positions in order");
    let accepted = q
        .submit(
            &first,
            proof_for(&first.job, "w1"),
            accept_all,
            Timings { prove_ms: 5.0 },
        )
        .await
        .unwrap();
    assert!(accepted.promoted.is_empty());
    assert!(q.claim("agg", &upper, LEASE).await.unwrap().is_none());
    match q.inputs_of(node).await {
        Err(QueueError::InputsNotProven { missing, .. }) => assert_eq!(missing, vec![c1]),
        other => panic!("inputs of a half-proven node: {other:?}"),
    }

    // The second makes it ready, and only it.
    let second = q.claim("w2", &chunks, LEASE).await.unwrap().unwrap();
    assert_eq!(second.id(), c1);
    let accepted = q
        .submit(
            &second,
            proof_for(&second.job, "w2"),
            accept_all,
            Timings::default(),
        )
        .await
        .unwrap();
    assert_eq!(accepted.promoted, vec![node]);
    let lease = q.claim("agg", &upper, LEASE).await.unwrap().unwrap();
    assert_eq!(lease.id(), node, "the final job still waits");
    assert_eq!(lease.job.input, b"node 7/1/0");
    let inputs = q.inputs_of(node).await.unwrap();
    assert_eq!(
        inputs,
        vec![
            (c0, proof_for(&first.job, "w1")),
            (c1, proof_for(&second.job, "w2"))
        ]
    );
    assert!(q.claim("agg", &upper, LEASE).await.unwrap().is_none());

    // The node's acceptance readies the final job; the batch completes.
    let accepted = q
        .submit(
            &lease,
            b"node proof".to_vec(),
            accept_all,
            Timings::default(),
        )
        .await
        .unwrap();
    assert_eq!(accepted.promoted, vec![fin]);
    let last = q.claim("agg", &upper, LEASE).await.unwrap().unwrap();
    assert_eq!((last.id(), last.job.kind), (fin, JobKind::Final));
    assert_eq!(
        q.inputs_of(fin).await.unwrap(),
        vec![(node, b"node proof".to_vec())]
    );
    q.submit(&last, b"evm proof".to_vec(), accept_all, Timings::default())
        .await
        .unwrap();
    let status = q.batch_status(7).await.unwrap();
    assert!(status.complete());
    assert_eq!(status.job(c0).unwrap().proved_by.as_deref(), Some("w1"));
    assert_eq!(status.job(c1).unwrap().proved_by.as_deref(), Some("w2"));
    assert_eq!(status.job(c0).unwrap().prove_ms, Some(5.0));
    assert_eq!(q.proof(fin).await.unwrap().unwrap().proof, b"evm proof");

    // The events tell the story, in order.
    let events: Vec<(zklanes_queue::JobId, EventKind)> = q
        .events(7)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.job, e.event))
        .collect();
    let of_node: Vec<EventKind> = events
        .iter()
        .filter(|(j, _)| *j == node)
        .map(|(_, e)| *e)
        .collect();
    assert_eq!(
        of_node,
        vec![
            EventKind::Enqueued,
            EventKind::Promoted,
            EventKind::Claimed,
            EventKind::Accepted
        ]
    );
    let promoted_at = events
        .iter()
        .position(|e| *e == (node, EventKind::Promoted))
        .unwrap();
    let c1_accepted_at = events
        .iter()
        .position(|e| *e == (c1, EventKind::Accepted))
        .unwrap();
    assert!(c1_accepted_at < promoted_at);
}

/// Two inputs of one node accepted at the same moment by two workers: the
/// node must become ready (each acceptance alone sees the other input
/// unfinished unless they serialize on the node's row).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_inputs_accepted_at_once_still_promote_their_node() {
    let db = TestDb::new().await;
    let (a, b) = (db.queue().await, db.queue().await);
    let chunks = ClaimFilter::kinds(&[JobKind::Chunk]);
    for batch in 0..25 {
        let ids = a
            .enqueue(&[
                chunk(batch, 0),
                chunk(batch, 1),
                aggregate(batch, 1, 0, vec![0, 1]),
            ])
            .await
            .unwrap();
        let la = a.claim("a", &chunks, LEASE).await.unwrap().unwrap();
        let lb = b.claim("b", &chunks, LEASE).await.unwrap().unwrap();
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(2));
        let (ba, bb) = (barrier.clone(), barrier);
        // The verifiers release both acceptances at once.
        let (ra, rb) = tokio::join!(
            a.submit(
                &la,
                b"pa".to_vec(),
                move |_, _| {
                    ba.wait();
                    Ok(())
                },
                Timings::default()
            ),
            b.submit(
                &lb,
                b"pb".to_vec(),
                move |_, _| {
                    bb.wait();
                    Ok(())
                },
                Timings::default()
            ),
        );
        let promoted: Vec<_> = [ra.unwrap(), rb.unwrap()]
            .into_iter()
            .flat_map(|r| r.promoted)
            .collect();
        assert_eq!(
            promoted,
            vec![ids[2]],
            "batch {batch}: promoted exactly once"
        );
        let status = a.batch_status(batch).await.unwrap();
        assert_eq!(
            status.job(ids[2]).unwrap().state,
            JobState::Ready,
            "batch {batch}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_s_chunk_inputs_come_back_by_position() {
    let db = TestDb::new().await;
    let q = db.queue().await;
    assert!(q.chunk_inputs(3).await.unwrap().is_empty());
    // Enqueued out of order, with a node: only the chunks, by position.
    q.enqueue(&[
        chunk(3, 1),
        chunk(3, 0),
        aggregate(3, 1, 0, vec![1, 0]),
        chunk(4, 0),
    ])
    .await
    .unwrap();
    let inputs = q.chunk_inputs(3).await.unwrap();
    assert_eq!(inputs, vec![chunk(3, 0).input, chunk(3, 1).input]);
}
