//! Distributed proving through the real binaries: `zklanes serve --queue`
//! and `zklanes worker` processes on a real PostgreSQL (a schema per
//! test), on the small configuration (3-slot chunks at k = 15, chunk
//! proofs only, development SRS). Two and three workers share a batch and
//! the proofs are the pipeline's; a worker killed mid-proof loses its job
//! to another, and a paused one's late result is refused by its fencing
//! token; an invalid proof is refused and redone; a job that always fails
//! parks its batch until the operator retries it; connections cut
//! mid-batch are survived.
//!
//! The database is `ZKLANES_TEST_DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`); these tests fail, naming
//! it, when it is down: they are never skipped.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

mod common;

use serde_json::Value;
use sqlx::{Connection, Executor, PgConnection, Row};
use zklanes_executor::batch::Encoding;
use zklanes_executor::{Batch, Rollup, RollupConfig};
use zklanes_pipeline::hex::fr_hex;

const TOKEN: &str = "zklanes-test-token-distributed-0123";
const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

fn database_url() -> String {
    std::env::var("ZKLANES_TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_URL.to_string())
}

fn cache_dir() -> PathBuf {
    std::env::var_os("ZKLANES_CACHE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("zklanes-cache"))
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A schema of the test's own; its URL names the schema as the
/// `application_name`, so the test finds its processes' connections.
struct Db {
    url: String,
    schema: String,
}

impl Db {
    fn new(tag: &str) -> Db {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let schema = format!("zkd_{tag}_{}_{nanos}", std::process::id());
        let base = database_url();
        rt().block_on(async {
            let mut c = tokio::time::timeout(Duration::from_secs(10), PgConnection::connect(&base))
                .await
                .unwrap_or_else(|_| panic!("PostgreSQL at {base} did not answer in 10 s: the distributed tests need it (ZKLANES_TEST_DATABASE_URL)"))
                .unwrap_or_else(|e| panic!("PostgreSQL at {base} is not reachable ({e}): the distributed tests need it (ZKLANES_TEST_DATABASE_URL)"));
            c.execute(format!("CREATE SCHEMA \"{schema}\"").as_str())
                .await
                .unwrap();
        });
        let sep = if base.contains('?') { '&' } else { '?' };
        Db {
            url: format!("{base}{sep}application_name={schema}"),
            schema,
        }
    }

    /// One query's rows, in this test's schema.
    fn query(&self, sql: &str) -> Vec<sqlx::postgres::PgRow> {
        rt().block_on(async {
            let mut c = PgConnection::connect(&database_url()).await.unwrap();
            c.execute(format!("SET search_path TO \"{}\"", self.schema).as_str())
                .await
                .unwrap();
            sqlx::query(sql).fetch_all(&mut c).await.unwrap()
        })
    }

    fn count(&self, sql: &str) -> i64 {
        self.query(sql)[0].get::<i64, _>(0)
    }

    /// Cuts every connection the test's processes hold.
    fn cut_connections(&self) -> i64 {
        self.query(&format!(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
             WHERE application_name = '{}' AND pid <> pg_backend_pid()",
            self.schema
        ))[0]
            .get::<i64, _>(0)
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        let (base, schema) = (database_url(), self.schema.clone());
        let _ = std::thread::spawn(move || {
            rt().block_on(async {
                if let Ok(mut c) = PgConnection::connect(&base).await {
                    let _ = c
                        .execute(format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE").as_str())
                        .await;
                }
            })
        })
        .join();
    }
}

/// A child process whose stderr goes to a log file; killed when dropped.
struct Proc {
    child: Child,
    log: PathBuf,
}

impl Proc {
    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn wait_log(&self, needle: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while !self.log_text().contains(needle) {
            assert!(
                Instant::now() < deadline,
                "{needle:?} never logged in {}:\n{}",
                self.log.display(),
                tail(&self.log_text())
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([sig, &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill {sig}");
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn tail(s: &str) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

fn token_file(dir: &Path) -> PathBuf {
    let path = dir.join("token");
    std::fs::write(&path, TOKEN).unwrap();
    path
}

/// `zklanes serve --queue` on the small configuration.
struct Service {
    proc: Proc,
    addr: String,
}

impl Service {
    fn start(db: &Db, dir: &Path, extra: &[&str]) -> Service {
        let log = dir.join("serve.log");
        let stderr = std::fs::File::create(&log).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_zklanes"))
            .args(["serve", "--listen", "127.0.0.1:0", "--log-format", "json"])
            .args(["--capacity", "3", "--proof-level", "chunks"])
            .arg("--data-dir")
            .arg(dir.join("data"))
            .arg("--cache-dir")
            .arg(cache_dir())
            .arg("--auth-token-file")
            .arg(token_file(dir))
            .args(["--queue", &db.url, "--queue-schema", &db.schema])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("no address: {line:?}"))
            .to_string();
        let s = Service {
            proc: Proc { child, log },
            addr,
        };
        let deadline = Instant::now() + Duration::from_secs(600);
        while request(&s.addr, "GET", "/readyz", b"").map(|r| r.0) != Some(200) {
            assert!(
                Instant::now() < deadline,
                "never ready:\n{}",
                tail(&s.proc.log_text())
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        s
    }

    fn post(&self, batch: &Batch) {
        let (status, body) = request(
            &self.addr,
            "POST",
            "/v1/batches",
            &batch.encode(Encoding::Json),
        )
        .expect("post");
        assert_eq!(status, 202, "{body}");
    }

    fn record(&self, n: u64) -> Value {
        let (_, body) = request(&self.addr, "GET", &format!("/v1/batches/{n}"), b"").unwrap();
        serde_json::from_str(&body).unwrap_or(Value::Null)
    }

    fn wait_stage(&self, n: u64, stage: &str, timeout: Duration) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            let r = self.record(n);
            if r["stage"] == stage {
                return r;
            }
            assert!(
                Instant::now() < deadline,
                "batch {n} never reached {stage}: {r}\n{}",
                tail(&self.proc.log_text())
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

/// `zklanes worker` named `name` (chunk jobs, 3-slot chunks).
fn worker(db: &Db, dir: &Path, name: &str, extra: &[&str], failpoint: Option<&str>) -> Proc {
    let log = dir.join(format!("{name}.log"));
    let stderr = std::fs::File::create(&log).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_zklanes"));
    cmd.args([
        "worker",
        "--capacity",
        "3",
        "--kinds",
        "chunk",
        "--threads",
        "1",
    ])
    .args(["--queue", &db.url, "--queue-schema", &db.schema])
    .args(["--name", name, "--poll-ms", "100", "--log-format", "json"])
    .arg("--cache-dir")
    .arg(cache_dir())
    .args(extra)
    .stdout(Stdio::null())
    .stderr(stderr);
    if let Some(f) = failpoint {
        cmd.env("ZKLANES_FAILPOINT", f);
    }
    let p = Proc {
        child: cmd.spawn().unwrap(),
        log,
    };
    p.wait_log("worker started", Duration::from_secs(600));
    p
}

fn request(addr: &str, method: &str, path: &str, body: &[u8]) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(60))).ok()?;
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    if method == "POST" {
        head += &format!("Authorization: Bearer {TOKEN}\r\nContent-Type: application/json\r\n");
    }
    head += "\r\n";
    s.write_all(head.as_bytes()).ok()?;
    s.write_all(body).ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    let status = out.split_whitespace().nth(1)?.parse().ok()?;
    Some((status, out.split_once("\r\n\r\n")?.1.to_string()))
}

/// Batches of the compact workload, `chunks` 3-slot chunks each.
fn batches(count: usize, chunks: usize) -> Vec<Batch> {
    common::consecutive_batches(count * chunks * 3, 4, 23, count)
}

/// The public inputs of every chunk of `batches`, as the in-process
/// pipeline proves them (the executor's traces through `instance`).
fn expected_instances(batches: &[Batch]) -> Vec<Vec<Vec<String>>> {
    let mut r = Rollup::in_memory(RollupConfig {
        chunk_capacity: 3,
        threads: 2,
        ..Default::default()
    });
    batches
        .iter()
        .map(|b| {
            let out = r.apply(b).expect("valid");
            out.chunks
                .iter()
                .map(|t| {
                    zklanes_prover::chunk::instance(t)
                        .iter()
                        .map(fr_hex)
                        .collect()
                })
                .collect()
        })
        .collect()
}

/// The public inputs of the chunk proofs the service wrote for a proven
/// batch, by chunk index.
fn written_instances(record: &Value) -> Vec<Vec<String>> {
    let dir = PathBuf::from(record["proof"].as_str().expect("proof dir"));
    let chunks = record["chunks"].as_u64().expect("chunks") as usize;
    (0..chunks)
        .map(|i| {
            let path = dir.join(format!("chunk-{i}.json"));
            let v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            v["instances"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_str().unwrap().to_string())
                .collect()
        })
        .collect()
}

/// Every job of queue batch `n` is done with exactly one accepted proof;
/// the workers that proved them.
fn one_proof_per_job(db: &Db, n: i64) -> Vec<String> {
    let jobs = db.count(&format!("SELECT count(*) FROM jobs WHERE batch = {n}"));
    assert!(jobs > 0);
    assert_eq!(
        db.count(&format!(
            "SELECT count(*) FROM jobs WHERE batch = {n} AND state = 'done'"
        )),
        jobs
    );
    assert_eq!(
        db.count(&format!(
            "SELECT count(*) FROM proofs p JOIN jobs j ON j.id = p.job_id WHERE j.batch = {n}"
        )),
        jobs,
        "one accepted proof per job"
    );
    db.query(&format!(
        "SELECT DISTINCT p.worker FROM proofs p JOIN jobs j ON j.id = p.job_id \
         WHERE j.batch = {n} ORDER BY 1"
    ))
    .iter()
    .map(|r| r.get::<String, _>(0))
    .collect()
}

fn events_of(db: &Db, n: i64, event: &str, worker: Option<&str>) -> i64 {
    let w = worker.map_or(String::new(), |w| format!(" AND e.worker = '{w}'"));
    db.count(&format!(
        "SELECT count(*) FROM job_events e JOIN jobs j ON j.id = e.job_id \
         WHERE j.batch = {n} AND e.event = '{event}'{w}"
    ))
}

const PROVEN: Duration = Duration::from_secs(600);

#[test]
fn two_then_three_workers_share_batches_and_prove_what_the_pipeline_proves() {
    let db = Db::new("share");
    let dir = tempfile::tempdir().unwrap();
    let bs = batches(2, 6);
    let expected = expected_instances(&bs);
    let service = Service::start(&db, dir.path(), &[]);
    let _a = worker(&db, dir.path(), "w-a", &[], None);
    let _b = worker(&db, dir.path(), "w-b", &[], None);

    service.post(&bs[0]);
    let r = service.wait_stage(0, "proven", PROVEN);
    assert_eq!(written_instances(&r), expected[0]);
    assert_eq!(one_proof_per_job(&db, 0), ["w-a", "w-b"]);
    let first_chunks = r["chunks"].as_u64().unwrap();

    let _c = worker(&db, dir.path(), "w-c", &[], None);
    service.post(&bs[1]);
    let r = service.wait_stage(1, "proven", PROVEN);
    assert_eq!(written_instances(&r), expected[1]);
    let provers = one_proof_per_job(&db, 1);
    assert!(provers.len() >= 2, "{provers:?}");
    // The status names who proved what.
    let jobs = r["jobs"].as_array().expect("jobs in the status");
    assert_eq!(jobs.len() as u64, r["chunks"].as_u64().unwrap());
    let all = first_chunks + r["chunks"].as_u64().unwrap();
    assert!(jobs
        .iter()
        .all(|j| j["state"] == "done" && j["proved_by"].as_str().is_some()));
    // The metrics count the queue's work.
    let (_, m) = request(&service.addr, "GET", "/metrics", b"").unwrap();
    assert!(m.contains("zklanes_queue_up 1"), "{m}");
    assert!(
        m.contains(&format!(
            "zklanes_queue_jobs{{kind=\"chunk\",state=\"done\"}} {all}"
        )),
        "{m}"
    );
    assert!(
        m.contains(&format!(
            "zklanes_queue_events_total{{event=\"accepted\"}} {all}"
        )),
        "{m}"
    );
    assert!(
        m.contains("zklanes_queue_worker_proofs_total{worker=\"w-a\"}"),
        "{m}"
    );
    // The timeline picture: one lane per worker.
    let svg = dir.path().join("t.svg");
    let out = Command::new(env!("CARGO_BIN_EXE_zklanes"))
        .args(["timeline", "--queue", &db.url, "--queue-schema", &db.schema])
        .args(["--batch", "1", "--out"])
        .arg(&svg)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&svg).unwrap();
    for w in &provers {
        assert!(text.contains(w.as_str()), "{w} has no lane");
    }
}

#[test]
fn a_killed_worker_s_job_is_taken_over_and_a_paused_worker_s_late_result_is_refused() {
    let db = Db::new("kill");
    let dir = tempfile::tempdir().unwrap();
    let bs = batches(2, 2);
    let expected = expected_instances(&bs);
    let service = Service::start(&db, dir.path(), &[]);
    // The first proof of each doomed worker stalls 6 s: it is caught
    // mid-proof. Leases are 2 s.
    let lease = ["--lease-secs", "2"];
    let slow = Some("worker_prove:sleep=6000*1");

    // SIGKILL mid-proof.
    let doomed = worker(&db, dir.path(), "w-killed", &lease, slow);
    service.post(&bs[0]);
    doomed.wait_log("failpoint worker_prove fired", PROVEN);
    doomed.signal("-KILL");
    let _b = worker(&db, dir.path(), "w-b", &lease, None);
    let r = service.wait_stage(0, "proven", PROVEN);
    assert_eq!(written_instances(&r), expected[0]);
    assert_eq!(one_proof_per_job(&db, 0), ["w-b"]);
    assert!(events_of(&db, 0, "expired", Some("w-killed")) >= 1);
    drop(doomed);

    // SIGSTOP past the lease, then SIGCONT: the late result is refused.
    let paused = worker(&db, dir.path(), "w-paused", &lease, slow);
    service.post(&bs[1]);
    paused.wait_log("failpoint worker_prove fired", PROVEN);
    paused.signal("-STOP");
    let r = service.wait_stage(1, "proven", PROVEN);
    assert_eq!(written_instances(&r), expected[1]);
    paused.signal("-CONT");
    paused.wait_log("refused_stale", PROVEN);
    assert!(events_of(&db, 1, "refused_stale", Some("w-paused")) >= 1);
    assert_eq!(events_of(&db, 1, "accepted", Some("w-paused")), 0);
    assert!(!one_proof_per_job(&db, 1).contains(&"w-paused".to_string()));
}

#[test]
fn invalid_proofs_are_refused_and_a_failing_job_parks_its_batch_until_retried() {
    let db = Db::new("fail");
    let dir = tempfile::tempdir().unwrap();
    let bs = batches(2, 2);
    let expected = expected_instances(&bs);
    let service = Service::start(&db, dir.path(), &["--queue-max-attempts", "2"]);

    // The first proof is damaged before submission: refused, then redone.
    let liar = worker(
        &db,
        dir.path(),
        "w-liar",
        &[],
        Some("worker_submit:corrupt*1"),
    );
    service.post(&bs[0]);
    let r = service.wait_stage(0, "proven", PROVEN);
    assert_eq!(written_instances(&r), expected[0]);
    assert_eq!(events_of(&db, 0, "refused_invalid", Some("w-liar")), 1);
    one_proof_per_job(&db, 0);
    drop(liar);

    // Every proof fails: the job parks after 2 attempts, and the batch with it.
    let broken = worker(&db, dir.path(), "w-broken", &[], Some("worker_prove:error"));
    service.post(&bs[1]);
    let r = service.wait_stage(1, "parked", PROVEN);
    let why = r["last_failure"].as_str().unwrap_or_default();
    assert!(
        why.contains("parked") && why.contains("failpoint worker_prove"),
        "{r}"
    );
    let jobs = r["jobs"].as_array().unwrap();
    assert!(
        jobs.iter().any(|j| j["state"] == "parked"
            && j["last_error"]
                .as_str()
                .unwrap_or_default()
                .contains("failpoint")),
        "{r}"
    );
    drop(broken);

    // The operator retries the batch: its jobs get another round.
    let _good = worker(&db, dir.path(), "w-good", &[], None);
    let (status, body) = request(&service.addr, "POST", "/v1/batches/1/retry", b"").unwrap();
    assert_eq!(status, 200, "{body}");
    let r = service.wait_stage(1, "proven", PROVEN);
    assert_eq!(written_instances(&r), expected[1]);
    one_proof_per_job(&db, 1);
}

#[test]
fn connections_cut_mid_batch_are_survived() {
    let db = Db::new("cut");
    let dir = tempfile::tempdir().unwrap();
    let bs = batches(1, 6);
    let expected = expected_instances(&bs);
    let service = Service::start(&db, dir.path(), &[]);
    let a = worker(&db, dir.path(), "w-a", &[], None);
    let _b = worker(&db, dir.path(), "w-b", &[], None);
    service.post(&bs[0]);
    a.wait_log("\"outcome\":\"accepted\"", PROVEN);
    let mut cut = 0;
    for _ in 0..3 {
        cut += db.cut_connections();
        std::thread::sleep(Duration::from_millis(700));
    }
    assert!(cut > 0, "no connection was cut");
    let r = service.wait_stage(0, "proven", PROVEN);
    assert_eq!(written_instances(&r), expected[0]);
    one_proof_per_job(&db, 0);
}

#[test]
fn sigterm_finishes_the_job_in_flight_and_a_second_one_releases_it() {
    let db = Db::new("term");
    let dir = tempfile::tempdir().unwrap();
    let bs = batches(1, 2);
    let expected = expected_instances(&bs);
    let service = Service::start(&db, dir.path(), &[]);
    let slow = Some("worker_prove:sleep=4000*1");

    // One SIGTERM: the job in flight is proven and accepted, then it exits 0.
    let mut patient = worker(&db, dir.path(), "w-patient", &[], slow);
    service.post(&bs[0]);
    patient.wait_log("failpoint worker_prove fired", PROVEN);
    patient.signal("-TERM");
    let status = patient.child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    let log = patient.log_text();
    assert!(log.contains("\"outcome\":\"accepted\""), "{}", tail(&log));
    assert_eq!(events_of(&db, 0, "accepted", Some("w-patient")), 1);

    // Two: the job in flight is released at once (no attempt spent).
    let mut hasty = worker(&db, dir.path(), "w-hasty", &[], slow);
    hasty.wait_log("failpoint worker_prove fired", PROVEN);
    hasty.signal("-TERM");
    std::thread::sleep(Duration::from_millis(300));
    hasty.signal("-TERM");
    let status = hasty.child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    assert!(hasty.log_text().contains("\"outcome\":\"released\""));
    assert_eq!(events_of(&db, 0, "released", Some("w-hasty")), 1);
    assert_eq!(events_of(&db, 0, "accepted", Some("w-hasty")), 0);

    let _rest = worker(&db, dir.path(), "w-rest", &[], None);
    let r = service.wait_stage(0, "proven", PROVEN);
    assert_eq!(written_instances(&r), expected[0]);
    one_proof_per_job(&db, 0);
}
