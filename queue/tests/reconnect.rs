//! Connections cut and databases away: the queue reconnects.

mod common;

use std::str::FromStr;
use std::time::{Duration, Instant};

use common::{accept_all, chunk, database_url, TestDb};
use sqlx::postgres::PgConnectOptions;
use sqlx::Executor;
use zklanes_queue::{ClaimFilter, JobQueue, QueueError, QueueOptions, Timings};

/// This test's backends (by `application_name`), from another connection.
async fn terminate_my_backends(db: &TestDb) -> u64 {
    let mut admin = db.raw().await;
    let killed: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid() \
           AND application_name = $1",
    )
    .bind(&db.schema)
    .fetch_all(&mut admin)
    .await
    .unwrap();
    killed.iter().filter(|k| **k).count() as u64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pool_whose_connections_are_terminated_recovers_on_the_next_call() {
    let db = TestDb::new().await;
    let options = QueueOptions {
        max_connections: 1,
        ..db.options()
    };
    let q = JobQueue::connect(&db.url, options).await.unwrap();
    q.enqueue(&[chunk(1, 0), chunk(1, 1)]).await.unwrap();
    let lease = q
        .claim("w", &ClaimFilter::all(), Duration::from_secs(60))
        .await
        .unwrap()
        .unwrap();
    let pid_before: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(q.pool())
        .await
        .unwrap();

    // Cut every connection of the pool, holding the (only) one to show it
    // is dead.
    let mut held = q.pool().acquire().await.unwrap();
    assert!(terminate_my_backends(&db).await >= 1);
    let err = held.execute("SELECT 1").await.unwrap_err();
    assert!(
        QueueError::from(err).is_retryable(),
        "a cut connection is a retryable error"
    );
    drop(held);

    // The next calls work on a fresh connection, and the queue's state is
    // intact: the lease taken before the cut is accepted.
    q.submit(&lease, b"p".to_vec(), accept_all, Timings::default())
        .await
        .unwrap();
    let pid_after: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(q.pool())
        .await
        .unwrap();
    assert_ne!(pid_before, pid_after, "a new backend");
    let next = q
        .claim("w", &ClaimFilter::all(), Duration::from_secs(60))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(next.job.position, 1);

    // Once more, without holding anything: all idle connections cut.
    assert!(terminate_my_backends(&db).await >= 1);
    q.submit(&next, b"p".to_vec(), accept_all, Timings::default())
        .await
        .unwrap();
    assert!(q.batch_status(1).await.unwrap().complete());
}

/// A free local port (nothing listens on it once this returns).
async fn free_port() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap().port()
}

/// The URL with the server replaced by `127.0.0.1:port`.
fn via_port(url: &str, port: u16) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}host=127.0.0.1&port={port}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_backs_off_until_the_database_appears() {
    let db = TestDb::new().await;
    let target = PgConnectOptions::from_str(&database_url()).unwrap();
    let upstream = format!("{}:{}", target.get_host(), target.get_port());
    let port = free_port().await;
    let url = via_port(&db.url, port);
    // The "database" appears on `port` after 800 ms: a TCP relay to the
    // real server.
    let relay = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(800)).await;
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .unwrap();
        loop {
            let (mut client, _) = listener.accept().await.unwrap();
            let upstream = upstream.clone();
            tokio::spawn(async move {
                let mut server = tokio::net::TcpStream::connect(upstream).await.unwrap();
                let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
            });
        }
    });
    let clock = Instant::now();
    let q = JobQueue::connect(&url, db.options()).await.unwrap();
    assert!(clock.elapsed() >= Duration::from_millis(700), "it waited");
    q.enqueue(&[chunk(1, 0)]).await.unwrap();
    assert_eq!(q.depth().await.unwrap().rows.len(), 1);
    relay.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_gives_up_after_its_budget_with_a_retryable_error_naming_the_url() {
    let port = free_port().await;
    let url = format!("postgres://postgres:secret@127.0.0.1:{port}/test");
    let options = QueueOptions {
        connect_budget: Duration::from_millis(600),
        initial_backoff: Duration::from_millis(50),
        ..QueueOptions::default()
    };
    let clock = Instant::now();
    let err = JobQueue::connect(&url, options).await.unwrap_err();
    assert!(clock.elapsed() >= Duration::from_millis(300), "it retried");
    assert!(
        clock.elapsed() < Duration::from_secs(5),
        "within its budget"
    );
    match &err {
        QueueError::Connect { attempts, .. } => assert!(*attempts >= 3, "{err}"),
        other => panic!("{other}"),
    }
    assert!(err.is_retryable());
    let text = err.to_string();
    assert!(text.contains(&format!("127.0.0.1:{port}")), "{text}");
    assert!(!text.contains("secret"), "password redacted: {text}");
}
