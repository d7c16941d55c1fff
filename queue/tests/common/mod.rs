//! Test support: a fresh schema per test on a real PostgreSQL.
//!
//! The server is `ZKLANES_TEST_DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`). A test that cannot reach it
//! fails, naming the URL: these tests are never skipped silently.

#![allow(dead_code)]

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sqlx::{Connection, Executor, PgConnection};
use zklanes_queue::{JobKind, JobQueue, JobRecord, NewJob, QueueOptions};

/// The default test database.
pub const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// The test database's URL.
pub fn database_url() -> String {
    std::env::var("ZKLANES_TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_URL.to_string())
}

/// A schema of its own for one test, dropped when the value is dropped
/// (even after a panic), so tests run in parallel on one database.
pub struct TestDb {
    /// The server URL, `application_name` set to the schema (so a test can
    /// find its own backends in `pg_stat_activity`).
    pub url: String,
    /// The schema.
    pub schema: String,
}

impl TestDb {
    /// Checks the server is up, and creates a fresh schema.
    pub async fn new() -> TestDb {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock")
            .subsec_nanos();
        let schema = format!(
            "zkq_t_{}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            nanos
        );
        let base = database_url();
        let mut conn = tokio::time::timeout(Duration::from_secs(10), PgConnection::connect(&base))
            .await
            .unwrap_or_else(|_| panic!("{}", unreachable(&base, "timed out after 10 s")))
            .unwrap_or_else(|e| panic!("{}", unreachable(&base, &e.to_string())));
        conn.execute(format!("CREATE SCHEMA \"{schema}\"").as_str())
            .await
            .expect("create the test schema");
        conn.close().await.ok();
        let sep = if base.contains('?') { '&' } else { '?' };
        TestDb {
            url: format!("{base}{sep}application_name={schema}"),
            schema,
        }
    }

    /// Options that put the queue in this test's schema.
    pub fn options(&self) -> QueueOptions {
        QueueOptions {
            connect_budget: Duration::from_secs(20),
            ..QueueOptions::default()
        }
        .with_schema(self.schema.clone())
    }

    /// A queue (its own pool) in this test's schema.
    pub async fn queue(&self) -> JobQueue {
        JobQueue::connect(&self.url, self.options())
            .await
            .expect("connect the queue")
    }

    /// A plain connection with this test's `search_path`.
    pub async fn raw(&self) -> PgConnection {
        let mut conn = PgConnection::connect(&self.url).await.expect("connect");
        conn.execute(format!("SET search_path TO \"{}\"", self.schema).as_str())
            .await
            .expect("search_path");
        conn
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let url = database_url();
        let schema = self.schema.clone();
        // A thread with its own runtime: `drop` cannot await, and may run
        // inside the test's runtime.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                let mut conn = PgConnection::connect(&url).await?;
                conn.execute("SET lock_timeout = '10s'").await?;
                conn.execute(format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE").as_str())
                    .await?;
                conn.close().await
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("could not drop test schema {}: {dropped:?}", self.schema);
        }
    }
}

fn unreachable(url: &str, why: &str) -> String {
    format!(
        "PostgreSQL is not reachable at {url} ({why}). These tests need a real server: \
         start it, or set ZKLANES_TEST_DATABASE_URL to one (.ci/run checks it first)."
    )
}

/// A chunk job of `batch` at `position`.
pub fn chunk(batch: i64, position: u32) -> NewJob {
    NewJob::new(
        batch,
        JobKind::Chunk,
        0,
        position,
        "chunk-v1",
        format!("trace {batch}/{position}").into_bytes(),
    )
}

/// An aggregation job over `inputs` (indexes into the same call).
pub fn aggregate(batch: i64, layer: u32, position: u32, inputs: Vec<usize>) -> NewJob {
    NewJob::new(
        batch,
        JobKind::Aggregate,
        layer,
        position,
        format!("layer{layer}-v1"),
        format!("node {batch}/{layer}/{position}").into_bytes(),
    )
    .with_inputs(inputs)
}

/// A verifier that accepts everything.
pub fn accept_all(_: &JobRecord, _: &[u8]) -> Result<(), String> {
    Ok(())
}

/// The test's proof bytes for a job.
pub fn proof_for(job: &JobRecord, worker: &str) -> Vec<u8> {
    format!("proof of {} by {worker}", job.id).into_bytes()
}

/// Rows of a query counting something in the test's schema.
pub async fn count(db: &TestDb, sql: &str) -> i64 {
    let mut conn = db.raw().await;
    let n: i64 = sqlx::query_scalar(sql)
        .fetch_one(&mut conn)
        .await
        .expect("count");
    conn.close().await.ok();
    n
}
