//! The service, through the real binary, on a small configuration (3-slot
//! chunks at k = 15, chunk proofs only, development SRS): every kind of bad
//! event gets its status code and a clear message and nothing is lost; and
//! a crash loop (SIGKILL at random moments and at named failpoints, dozens
//! of restarts) ends with every accepted batch proven exactly once and the
//! reference state root. Behind a flag (`-- --ignored soak`): the soak test.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

mod common;

use rand::{Rng, SeedableRng};
use serde_json::Value;
use zklanes_executor::batch::Encoding;
use zklanes_executor::{Batch, Rollup, RollupConfig};
use zklanes_service::event_log::EventLog;
use zklanes_service::sequencer::SequencerSecret;

/// The operator's token every test server is started with.
const TOKEN: &str = "zklanes-test-token-0123456789";

fn token_file() -> PathBuf {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("zklanes-test-token");
    std::fs::write(&path, TOKEN).expect("token file");
    path
}

fn cache_dir() -> PathBuf {
    std::env::var_os("ZKLANES_CACHE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("zklanes-cache"))
}

/// Consecutive batches of a compact workload, numbered from 0.
fn batches(workload_txs: usize, count: usize) -> Vec<Batch> {
    common::consecutive_batches(workload_txs, 3, 11, count)
}

fn reference_root(batches: &[Batch]) -> String {
    let mut r = Rollup::in_memory(RollupConfig {
        chunk_capacity: 3,
        threads: 2,
        ..Default::default()
    });
    let mut root = String::new();
    for b in batches {
        root = r.apply(b).expect("valid").state_root_hex();
    }
    root
}

struct Server {
    child: Child,
    addr: String,
    /// The service's log (stderr of every run on this data directory).
    log: PathBuf,
}

impl Server {
    /// The small configuration: 3-slot chunks, chunk proofs only.
    fn start(data: &Path, extra: &[&str], failpoint: Option<&str>) -> Server {
        let mut args = vec!["--capacity", "3", "--proof-level", "chunks"];
        args.extend(extra);
        Self::start_with(data, &args, failpoint)
    }

    fn start_with(data: &Path, args: &[&str], failpoint: Option<&str>) -> Server {
        std::fs::create_dir_all(data).unwrap();
        let log = data.join("serve.log");
        let stderr = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_zklanes"));
        cmd.args(["serve", "--data-dir"])
            .arg(data)
            .args([
                "--listen",
                "127.0.0.1:0",
                "--log-format",
                "json",
                "--cache-dir",
            ])
            .arg(cache_dir())
            .arg("--auth-token-file")
            .arg(token_file())
            .args(args)
            .stdout(Stdio::piped())
            .stderr(stderr);
        if let Some(f) = failpoint {
            cmd.env("ZKLANES_FAILPOINT", f);
        }
        let mut child = cmd.spawn().expect("starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("no address: {line:?}"))
            .to_string();
        let mut server = Server { child, addr, log };
        server.wait_ready();
        server
    }

    /// Everything the service logged on this data directory so far.
    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits for `/readyz` (the port opens before the keys are loaded), or
    /// for the process to exit (a failpoint may fire as soon as the
    /// driver starts; the requests that follow then fail).
    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(1200);
        while Instant::now() < deadline {
            if let Some((200, _)) = request(&self.addr, "GET", "/readyz", None, b"") {
                return;
            }
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("the service at {} never became ready", self.addr);
    }

    /// Waits for the process to exit on its own; its exit status.
    fn wait_exit(mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(st)) = self.child.try_wait() {
                return Some(st);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        None
    }

    fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    fn terminate(self) -> bool {
        self.terminate_status(Duration::from_secs(30))
            .is_some_and(|(st, _)| st.success())
    }

    /// SIGTERM; the exit status and how long the exit took (`None`: not
    /// within `timeout`, then killed).
    fn terminate_status(
        mut self,
        timeout: Duration,
    ) -> Option<(std::process::ExitStatus, Duration)> {
        let clock = Instant::now();
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        while clock.elapsed() < timeout {
            if let Ok(Some(st)) = self.child.try_wait() {
                return Some((st, clock.elapsed()));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        None
    }
}

/// One HTTP/1.1 request as the operator sends it (the service's own host,
/// the token on writes); `None` when the connection fails.
fn request(
    addr: &str,
    method: &str,
    path: &str,
    ct: Option<&str>,
    body: &[u8],
) -> Option<(u16, String)> {
    let mut headers = vec![format!("Host: {addr}")];
    if method == "POST" {
        headers.push(format!("Authorization: Bearer {TOKEN}"));
    }
    if let Some(ct) = ct {
        headers.push(format!("Content-Type: {ct}"));
    }
    raw_request(addr, method, path, &headers, body)
}

/// One HTTP/1.1 request with exactly `headers` (and the body's length).
fn raw_request(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[String],
    body: &[u8],
) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(60))).ok()?;
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for h in headers {
        head.push_str(h);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    let _ = s.write_all(head.as_bytes());
    let _ = s.write_all(body);
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out).to_string();
    let status = text.split_whitespace().nth(1)?.parse().ok()?;
    let body = text
        .split_once("\r\n\r\n")
        .map(|x| x.1.to_string())
        .unwrap_or_default();
    Some((status, body))
}

/// A slow uploader: a write's headers, then its body one byte a second,
/// for at most `secs` seconds (or until the server closes).
fn trickle(addr: &str, secs: u64) {
    let Ok(mut s) = TcpStream::connect(addr) else {
        return;
    };
    let head = format!(
        "POST /v1/batches HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {TOKEN}\r\n\
         Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
    );
    let _ = s.write_all(head.as_bytes());
    for _ in 0..secs {
        if s.write_all(b" ").is_err() {
            return;
        }
        std::thread::sleep(Duration::from_secs(1));
    }
}

/// The service's resident memory, from `/metrics`.
fn resident_bytes(addr: &str) -> f64 {
    let (_, m) = request(addr, "GET", "/metrics", None, b"").expect("metrics");
    m.lines()
        .find_map(|l| l.strip_prefix("zklanes_process_resident_memory_bytes "))
        .and_then(|v| v.trim().parse().ok())
        .expect("the RSS gauge")
}

/// What the hostile-clients test allows the service's resident memory.
const MEMORY_BOUND: f64 = 1024.0 * 1024.0 * 1024.0;

fn post(addr: &str, batch: &Batch, enc: Encoding) -> Option<(u16, String)> {
    let ct = match enc {
        Encoding::Json => "application/json",
        Encoding::Binary => "application/octet-stream",
    };
    request(addr, "POST", "/v1/batches", Some(ct), &batch.encode(enc))
}

fn record(addr: &str, n: u64) -> Value {
    let (_, body) = request(addr, "GET", &format!("/v1/batches/{n}"), None, b"").expect("status");
    serde_json::from_str(&body).unwrap_or(Value::Null)
}

fn wait_for(addr: &str, n: u64, stage: &str, timeout: Duration) -> Value {
    let deadline = Instant::now() + timeout;
    loop {
        let r = record(addr, n);
        if r["stage"] == stage {
            return r;
        }
        assert!(
            Instant::now() < deadline,
            "batch {n} never reached {stage}: {r}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn bad_events_get_their_status_and_nothing_is_lost() {
    let dir = tempfile::tempdir().unwrap();
    let bs = batches(6, 3);
    let server = Server::start(dir.path(), &["--max-event-bytes", "100000"], None);
    let a = server.addr.clone();
    let expect = |got: Option<(u16, String)>, status: u16, needle: &str| {
        let (s, body) = got.expect("response");
        assert_eq!(s, status, "{body}");
        assert!(body.contains(needle), "{needle:?} not in {body}");
    };
    // Malformed JSON, a lying content type, an unknown one, an oversized body.
    expect(
        request(
            &a,
            "POST",
            "/v1/batches",
            Some("application/json"),
            b"{\"version\": 1,",
        ),
        400,
        "malformed",
    );
    expect(
        request(
            &a,
            "POST",
            "/v1/batches",
            Some("application/json"),
            &bs[0].encode(Encoding::Binary),
        ),
        415,
        "wrong_encoding",
    );
    expect(
        request(&a, "POST", "/v1/batches", Some("text/html"), b"<html>"),
        415,
        "wrong_encoding",
    );
    // What a web page can send without a preflight: a text/plain or typeless
    // JSON body, never sniffed.
    let json = bs[0].encode(Encoding::Json);
    expect(
        request(&a, "POST", "/v1/batches", Some("text/plain"), &json),
        415,
        "wrong_encoding",
    );
    expect(
        request(&a, "POST", "/v1/batches", None, &json),
        415,
        "wrong_encoding",
    );
    // Writes without the token, with a wrong one, or naming a foreign host
    // (DNS rebinding) are refused and store nothing.
    let ct = "Content-Type: application/json".to_string();
    let host = format!("Host: {a}");
    for (headers, status, needle) in [
        (vec![host.clone(), ct.clone()], 401, "unauthorized"),
        (
            vec![
                host.clone(),
                ct.clone(),
                format!("Authorization: Bearer {TOKEN}x"),
            ],
            401,
            "unauthorized",
        ),
        (
            vec![
                host.clone(),
                ct.clone(),
                format!("Authorization: Basic {TOKEN}"),
            ],
            401,
            "unauthorized",
        ),
        (
            vec![
                "Host: attacker.example:8545".into(),
                ct.clone(),
                format!("Authorization: Bearer {TOKEN}"),
            ],
            403,
            "host",
        ),
    ] {
        expect(
            raw_request(&a, "POST", "/v1/batches", &headers, &json),
            status,
            needle,
        );
    }
    expect(
        request(&a, "GET", "/v1/batches/0", None, b""),
        404,
        "no batch 0",
    );
    expect(
        request(
            &a,
            "POST",
            "/v1/batches",
            Some("application/octet-stream"),
            &vec![7u8; 150_000],
        ),
        413,
        "exceeds",
    );
    // Another chain.
    let mut other = bs[0].clone();
    other.chain_id += 1;
    expect(post(&a, &other, Encoding::Json), 400, "chain id");
    // A signature that is not a curve point.
    let mut bad = bs[1].clone();
    let i = bad
        .txs
        .iter()
        .position(|t| t.signature.is_some())
        .expect("a signed tx");
    if let Some(s) = bad.txs[i].signature.as_mut() {
        s.r_y += zklanes_executor::field::Fr::from(1u64);
    }
    expect(post(&a, &bad, Encoding::Json), 422, "bad signature");

    // Out of order: batch 2 first waits for the gap.
    expect(post(&a, &bs[2], Encoding::Binary), 202, "accepted");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(record(&a, 2)["stage"], "accepted");
    // Batch 1 with two signatures swapped: valid encodings, wrong
    // signatures; the executor rejects it with a clear reason once batch 0
    // is in.
    let mut forged = bs[1].clone();
    let signed: Vec<usize> = (0..forged.txs.len())
        .filter(|&i| forged.txs[i].signature.is_some())
        .collect();
    assert!(signed.len() >= 2, "batch 1 has two signed transactions");
    let (x, y) = (signed[0], signed[1]);
    let sx = forged.txs[x].signature;
    forged.txs[x].signature = forged.txs[y].signature;
    forged.txs[y].signature = sx;
    expect(post(&a, &forged, Encoding::Json), 202, "accepted");
    expect(post(&a, &bs[0], Encoding::Json), 202, "accepted");
    // The same event again: a no-op, whatever its encoding.
    expect(post(&a, &bs[0], Encoding::Binary), 200, "duplicate");
    let rejected = wait_for(&a, 1, "rejected", Duration::from_secs(120));
    assert!(
        rejected["error"].as_str().unwrap().contains("signature"),
        "{rejected}"
    );
    // The corrected batch 1 replaces the rejected one; 0, 1, 2 all prove.
    expect(post(&a, &bs[1], Encoding::Json), 202, "accepted");
    // Another batch under number 0: a conflict.
    let mut conflict = bs[0].clone();
    conflict.txs.pop();
    expect(post(&a, &conflict, Encoding::Json), 409, "conflict");
    for n in 0..3 {
        wait_for(&a, n, "proven", Duration::from_secs(300));
    }
    let last = record(&a, 2);
    assert_eq!(last["state_root"], reference_root(&bs));
    // The gauges catch up with the last proof within a driver step.
    let deadline = Instant::now() + Duration::from_secs(10);
    let metrics = loop {
        let (s, m) = request(&a, "GET", "/metrics", None, b"").unwrap();
        assert_eq!(s, 200);
        if m.contains("zklanes_proven_height 3") || Instant::now() > deadline {
            break m;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    for needle in [
        "# HELP zklanes_up ",
        "zklanes_up 1",
        "zklanes_committed_height 3",
        "zklanes_proven_height 3",
        "zklanes_unproven_batches 0",
        "zklanes_oldest_unproven_age_seconds 0",
        "# TYPE zklanes_process_open_fds gauge",
        "zklanes_http_refused_total{reason=\"unauthorized\"} 3",
        "zklanes_http_refused_total{reason=\"host\"} 1",
        "zklanes_events_rejected_total{reason=\"conflict\"} 1",
        "zklanes_events_rejected_total{reason=\"bad_signature\"} 1",
        "zklanes_events_rejected_total{reason=\"too_large\"} 1",
        "zklanes_failures_total{reason=\"invalid_batch\"} 1",
        "zklanes_execution_seconds_count",
        "zklanes_proof_seconds_bucket{layer=\"0\",le=\"+Inf\"}",
    ] {
        assert!(metrics.contains(needle), "{needle} not in\n{metrics}");
    }
    let (s, health) = request(&a, "GET", "/healthz", None, b"").unwrap();
    assert_eq!(s, 200);
    assert!(health.contains("\"next_batch\":3"), "{health}");
    expect(
        request(&a, "GET", "/v1/batches/9", None, b""),
        404,
        "no batch 9",
    );
    assert!(server.terminate(), "SIGTERM exits cleanly");
}

/// Hostile clients do not starve the service: a hundred half-open
/// connections and a burst of oversized bodies leave `/healthz` answering
/// within a second, every oversized body gets 413, and a legitimate batch
/// still goes through.
#[test]
fn hostile_clients_do_not_starve_the_service() {
    let dir = tempfile::tempdir().unwrap();
    let bs = batches(4, 1);
    let server = Server::start(dir.path(), &["--max-event-bytes", "100000"], None);
    let a = server.addr.clone();
    // Half-open: a request line and nothing more, held open.
    let held: Vec<TcpStream> = (0..100)
        .filter_map(|_| {
            let mut s = TcpStream::connect(&a).ok()?;
            s.write_all(b"POST /v1/batches HTTP/1.1\r\nHost: 127.0.0.1\r\n")
                .ok()?;
            Some(s)
        })
        .collect();
    assert!(held.len() >= 50, "the half-open connections were made");
    let clock = Instant::now();
    let (s, _) = request(&a, "GET", "/healthz", None, b"").expect("healthz answers");
    assert_eq!(s, 200);
    assert!(
        clock.elapsed() < Duration::from_secs(1),
        "healthz took {:?} beside {} half-open connections",
        clock.elapsed(),
        held.len()
    );
    // A burst of oversized bodies from concurrent clients.
    let big = vec![7u8; 400_000];
    let codes: Vec<u16> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..16)
            .map(|_| {
                scope.spawn(|| {
                    request(
                        &a,
                        "POST",
                        "/v1/batches",
                        Some("application/octet-stream"),
                        &big,
                    )
                    .map_or(0, |r| r.0)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    // A client may see the connection closed after the 413 while it still
    // writes (0); none is accepted.
    assert!(codes.iter().all(|c| *c == 413 || *c == 0), "{codes:?}");
    assert!(codes.contains(&413), "{codes:?}");
    let clock = Instant::now();
    assert_eq!(request(&a, "GET", "/healthz", None, b"").unwrap().0, 200);
    assert!(clock.elapsed() < Duration::from_secs(1));
    // Slow uploaders trickle bodies one byte a second while many valid
    // clients write and read at once.
    let trickling: Vec<_> = (0..8)
        .map(|_| {
            let a = a.clone();
            std::thread::spawn(move || trickle(&a, 20))
        })
        .collect();
    std::thread::sleep(Duration::from_secs(2));
    let clock = Instant::now();
    assert_eq!(request(&a, "GET", "/healthz", None, b"").unwrap().0, 200);
    assert!(
        clock.elapsed() < Duration::from_secs(1),
        "healthz took {:?} beside slow uploaders",
        clock.elapsed()
    );
    let codes: Vec<u16> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..32)
            .map(|i| {
                let (a, b) = (&a, &bs[0]);
                scope.spawn(move || {
                    if i % 2 == 0 {
                        post(a, b, Encoding::Json).map_or(0, |r| r.0)
                    } else {
                        request(a, "GET", "/metrics", None, b"").map_or(0, |r| r.0)
                    }
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    // One write stores the batch, the others are duplicates (or, past 64
    // requests in flight, told to come back); every read answers.
    let stored = codes.iter().step_by(2).filter(|c| **c == 202).count();
    assert_eq!(stored, 1, "{codes:?}");
    assert!(
        codes.iter().step_by(2).all(|c| [200, 202, 503].contains(c)),
        "{codes:?}"
    );
    assert!(
        codes.iter().skip(1).step_by(2).all(|c| *c == 200),
        "{codes:?}"
    );
    wait_for(&a, 0, "proven", Duration::from_secs(300));
    let rss = resident_bytes(&a);
    println!(
        "resident memory under hostile clients: {:.0} MiB",
        rss / 1048576.0
    );
    assert!(rss < MEMORY_BOUND, "resident memory {rss} over the bound");
    for t in trickling {
        let _ = t.join();
    }
    drop(held);
    assert!(server.terminate(), "SIGTERM exits cleanly");
}

/// Startup never destroys a state it does not recognise: an executor state
/// written by `zklanes execute` into the data directory (height 1, an
/// empty event log) makes `serve` refuse, non-zero and with a clear
/// error, and the state is left at height 1.
#[test]
fn a_foreign_state_is_refused_and_left_as_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let bs = batches(4, 1);
    let file = dir.path().join("b0.bin");
    std::fs::write(&file, bs[0].encode(Encoding::Binary)).unwrap();
    let data = dir.path().join("data");
    let exe = env!("CARGO_BIN_EXE_zklanes");
    let out = Command::new(exe)
        .args(["execute", "--capacity", "3", "--json", "--batch"])
        .arg(&file)
        .arg("--data-dir")
        .arg(&data)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let out = Command::new(exe)
        .args(["serve", "--listen", "127.0.0.1:0", "--capacity", "3"])
        .args(["--proof-level", "chunks", "--data-dir"])
        .arg(&data)
        .arg("--cache-dir")
        .arg(cache_dir())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "serve refuses: {stderr}");
    assert!(
        stderr.contains("does not belong to this event log"),
        "{stderr}"
    );
    let status = Command::new(exe)
        .args(["status", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&status.stdout).expect("status json");
    assert_eq!(v["height"], 1, "the state is left as it was: {v}");
}

/// A fatal fault (the proofs directory cannot be made: a file stands in
/// its place) is never silent: once the retries are spent `/healthz`
/// answers 503 with the reason, writes are refused, and the process exits
/// non-zero. With the fault removed, a restart proves the batch.
#[test]
fn a_fatal_fault_is_visible_and_the_process_exits_non_zero() {
    let dir = tempfile::tempdir().unwrap();
    let bs = batches(4, 2);
    std::fs::write(dir.path().join("proofs"), b"not a directory").unwrap();
    let server = Server::start(dir.path(), &["--max-retries", "1"], None);
    let a = server.addr.clone();
    assert_eq!(post(&a, &bs[0], Encoding::Json).unwrap().0, 202);
    // The driver retries once, then gives up.
    let deadline = Instant::now() + Duration::from_secs(300);
    let mut saw_failed = false;
    while Instant::now() < deadline {
        match request(&a, "GET", "/healthz", None, b"") {
            Some((503, body)) => {
                assert!(body.contains("failed"), "{body}");
                assert!(
                    body.contains("proofs"),
                    "the reason names the fault: {body}"
                );
                saw_failed = true;
                break;
            }
            Some(_) => std::thread::sleep(Duration::from_millis(50)),
            // The process may exit before the poll sees the 503.
            None => break,
        }
    }
    if saw_failed {
        if let Some((s, body)) = post(&a, &bs[1], Encoding::Json) {
            assert_eq!(s, 503, "writes are refused once failed: {body}");
        }
    }
    let status = server
        .wait_exit(Duration::from_secs(60))
        .expect("the process exits after a fatal failure");
    assert!(
        !status.success(),
        "a fatal failure exits non-zero: {status}"
    );
    // Fault removed: the restart proves batch 0.
    std::fs::remove_file(dir.path().join("proofs")).unwrap();
    let server = Server::start(dir.path(), &[], None);
    let r = wait_for(&server.addr, 0, "proven", Duration::from_secs(300));
    assert!(r["proof"].as_str().unwrap().contains("batch-0"), "{r}");
    assert!(server.terminate(), "SIGTERM exits cleanly");
}

/// The crash loop: `rounds` starts of the service on one data directory,
/// each ended by SIGKILL at a random moment or by a failpoint's abort
/// (after execution, before an acknowledgement, with a proof in flight,
/// after the chunk proofs are written); the sequencer resends whatever was
/// not acknowledged. Every failpoint is shown to have fired (the log says
/// so), and at the end every batch is proven exactly once: the log's
/// append-only commit entries, which a re-proof would add to, number one
/// per batch, one set of chunk proofs is on disk per batch, and the state
/// root is the reference run's.
fn crash_loop(rounds: usize, seed: u64) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let bs = batches(16, 5);
    let reference = reference_root(&bs);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let failpoints = [
        Some("before_ack"),
        Some("after_execute"),
        Some("prove"),
        Some("after_chunk_proofs"),
        None,
        None,
    ];
    for round in 0..rounds {
        let fp = failpoints[round % failpoints.len()];
        let server = Server::start(&data, &["--max-retries", "1000"], fp);
        // The sequencer produces a new batch every few rounds (so each
        // cycle of failpoints finds new work: an event to acknowledge, a
        // batch to execute, one to prove); it resends every one it has no
        // acknowledgement for, and resending acknowledged ones is harmless
        // (duplicates).
        let produced = (1 + round / 3).min(bs.len());
        for b in &bs[..produced] {
            if post(&server.addr, b, Encoding::Binary).is_none() {
                break;
            }
        }
        if fp.is_some() {
            // Wait for the failpoint to abort the process, however long the
            // work before it takes on a loaded machine; give up only when
            // nothing is left to do (every produced batch proven).
            let mut server = server;
            let deadline = Instant::now() + Duration::from_secs(300);
            let mut checked = Instant::now();
            while Instant::now() < deadline {
                if let Ok(Some(_)) = server.child.try_wait() {
                    break;
                }
                if checked.elapsed() > Duration::from_secs(2) {
                    checked = Instant::now();
                    // (A request may fail: the process is aborting.)
                    let done = (0..produced as u64).all(|n| {
                        request(&server.addr, "GET", &format!("/v1/batches/{n}"), None, b"")
                            .and_then(|(_, body)| serde_json::from_str::<Value>(&body).ok())
                            .is_some_and(|r| r["stage"] == "proven")
                    });
                    if done {
                        break;
                    }
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            server.kill();
        } else {
            std::thread::sleep(Duration::from_millis(rng.gen_range(0..3000)));
            server.kill();
        }
    }
    // A last run without crashes finishes the work.
    let server = Server::start(&data, &[], None);
    for b in &bs {
        let (s, body) = post(&server.addr, b, Encoding::Binary).expect("accepts");
        assert!(s == 200 || s == 202, "{s} {body}");
    }
    let mut last = Value::Null;
    for n in 0..bs.len() as u64 {
        last = wait_for(&server.addr, n, "proven", Duration::from_secs(600));
        // Exactly one set of chunk proofs per batch.
        let dir = data.join(format!("proofs/batch-{n}"));
        let files = std::fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().ends_with(".json"))
            .count();
        assert_eq!(
            Some(files as u64),
            last["chunks"].as_u64(),
            "batch {n}: {files} files"
        );
    }
    assert_eq!(last["state_root"], reference);
    let log = server.log_text();
    for fp in failpoints.iter().flatten() {
        assert!(
            log.contains(&format!("failpoint {fp} fired")),
            "failpoint {fp} never fired in {rounds} rounds"
        );
    }
    assert!(server.terminate());
    let events = EventLog::open(&data.join("events")).expect("the log opens");
    for n in 0..bs.len() as u64 {
        assert_eq!(
            events.commits(n).unwrap(),
            1,
            "batch {n} was committed as proven more than once"
        );
    }
}

#[test]
fn a_crash_loop_loses_nothing_and_proves_each_batch_once() {
    let rounds = std::env::var("ZKLANES_CRASH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(24);
    crash_loop(rounds, 5);
}

/// The long crash loop, behind a flag (`cargo test --release --test
/// service -- --ignored crash_loop_long`): 60 rounds.
#[test]
#[ignore = "slow (60 crash rounds): cargo test --release --test service -- --ignored crash_loop_long"]
fn crash_loop_long() {
    crash_loop(60, 6);
}

/// The sequencer's key, fixed for the tests.
fn sequencer() -> SequencerSecret {
    SequencerSecret::from_bytes(&[0x42; 32]).unwrap()
}

fn post_signed(addr: &str, batch: &Batch, signature: Option<&str>) -> Option<(u16, String)> {
    let mut headers = vec![
        format!("Host: {addr}"),
        format!("Authorization: Bearer {TOKEN}"),
        "Content-Type: application/octet-stream".to_string(),
    ];
    if let Some(sig) = signature {
        headers.push(format!("Zklanes-Signature: {sig}"));
    }
    raw_request(
        addr,
        "POST",
        "/v1/batches",
        &headers,
        &batch.encode(Encoding::Binary),
    )
}

/// With `--sequencer-key`, only batches the sequencer signed are stored:
/// an unsigned batch (401), one signed by another key or whose signature
/// is of another batch (403) change nothing; the signed batch goes through
/// with its signature in its record, and a watched-folder batch needs its
/// `NAME.sig` (made by `zklanes sequencer sign --sidecar`).
#[test]
fn only_the_sequencers_signed_batches_are_stored() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let watch = dir.path().join("watch");
    std::fs::create_dir_all(&watch).unwrap();
    let bs = batches(4, 3);
    let seq = sequencer();
    let key_file = dir.path().join("sequencer.key");
    seq.write_new(&key_file).unwrap();
    let exe = env!("CARGO_BIN_EXE_zklanes");
    let out = Command::new(exe)
        .args(["sequencer", "address", "--key"])
        .arg(&key_file)
        .output()
        .unwrap();
    let address = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert_eq!(address, seq.public().to_string());
    let server = Server::start(
        &data,
        &[
            "--sequencer-key",
            &address,
            "--watch",
            watch.to_str().unwrap(),
        ],
        None,
    );
    let a = server.addr.clone();
    let other = SequencerSecret::from_bytes(&[0x43; 32]).unwrap();
    let expect = |got: Option<(u16, String)>, status: u16, needle: &str| {
        let (s, body) = got.expect("response");
        assert_eq!(s, status, "{body}");
        assert!(body.contains(needle), "{needle:?} not in {body}");
    };
    expect(post_signed(&a, &bs[0], None), 401, "unsigned");
    expect(
        post_signed(&a, &bs[0], Some(&other.sign(&bs[0]))),
        403,
        "not by the sequencer",
    );
    expect(
        post_signed(&a, &bs[0], Some(&seq.sign(&bs[1]))),
        403,
        "sequencer_signature",
    );
    expect(post_signed(&a, &bs[0], Some("0x1234")), 403, "65 bytes");
    let (s, body) = request(&a, "GET", "/v1/batches/0", None, b"").unwrap();
    assert_eq!(s, 404, "nothing was stored: {body}");
    let sig0 = seq.sign(&bs[0]);
    expect(post_signed(&a, &bs[0], Some(&sig0)), 202, "accepted");
    // The folder: batch 2 without its signature is refused, batch 1 with
    // it is taken.
    let unsigned = watch.join("2.bin");
    std::fs::write(&unsigned, bs[2].encode(Encoding::Binary)).unwrap();
    let file = watch.join("1.json");
    std::fs::write(dir.path().join("1.json"), bs[1].encode(Encoding::Json)).unwrap();
    let out = Command::new(exe)
        .args(["sequencer", "sign", "--sidecar", "--key"])
        .arg(&key_file)
        .arg("--batch")
        .arg(dir.path().join("1.json"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    std::fs::rename(dir.path().join("1.json.sig"), watch.join("1.json.sig")).unwrap();
    std::fs::rename(dir.path().join("1.json"), &file).unwrap();
    let r0 = wait_for(&a, 0, "proven", Duration::from_secs(300));
    assert_eq!(r0["signature"], sig0.to_ascii_lowercase(), "{r0}");
    let r1 = wait_for(&a, 1, "proven", Duration::from_secs(300));
    assert_eq!(r1["signature"], seq.sign(&bs[1]), "{r1}");
    let deadline = Instant::now() + Duration::from_secs(30);
    let reason = watch.join("rejected/2.reason");
    while !reason.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    let why = std::fs::read_to_string(&reason).expect("the unsigned file is rejected");
    assert!(why.contains("not signed by the sequencer"), "{why}");
    assert!(
        watch.join("done/1.json.sig").exists(),
        "the signature moves with its batch"
    );
    assert!(server.terminate());
}

/// A poison batch (its proof panics every time: a failpoint) is retried
/// `--max-retries` times, then parked: its record says why, `/healthz`
/// answers 503 "parked", the gauge counts it, later batches are still
/// accepted and executed; the operator's retry (token required, 409 for a
/// batch that is not parked) resumes it and everything is proven once.
#[test]
fn a_poison_batch_is_parked_until_the_operator_retries_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let bs = batches(4, 2);
    let server = Server::start(&data, &["--max-retries", "1"], Some("prove:panic*2"));
    let a = server.addr.clone();
    assert_eq!(post(&a, &bs[0], Encoding::Binary).unwrap().0, 202);
    let r = wait_for(&a, 0, "parked", Duration::from_secs(120));
    assert_eq!(r["parked_from"], "executed", "{r}");
    assert_eq!(r["failures"], 2, "{r}");
    assert!(
        r["last_failure"].as_str().unwrap().contains("panicked"),
        "{r}"
    );
    let (s, body) = request(&a, "GET", "/healthz", None, b"").unwrap();
    assert_eq!(s, 503, "{body}");
    assert!(
        body.contains("parked") && body.contains("panicked"),
        "{body}"
    );
    let (_, metrics) = request(&a, "GET", "/metrics", None, b"").unwrap();
    assert!(metrics.contains("zklanes_parked_batches 1"), "{metrics}");
    // Later batches are accepted and executed; proving waits.
    assert_eq!(post(&a, &bs[1], Encoding::Binary).unwrap().0, 202);
    wait_for(&a, 1, "executed", Duration::from_secs(60));
    // The retry needs the token, and a parked batch.
    let (s, _) = raw_request(
        &a,
        "POST",
        "/v1/batches/0/retry",
        &[format!("Host: {a}")],
        b"",
    )
    .unwrap();
    assert_eq!(s, 401);
    let (s, body) = request(&a, "POST", "/v1/batches/1/retry", None, b"").unwrap();
    assert_eq!(s, 409, "{body}");
    let (s, body) = request(&a, "POST", "/v1/batches/0/retry", None, b"").unwrap();
    assert_eq!(s, 200, "{body}");
    wait_for(&a, 0, "proven", Duration::from_secs(120));
    wait_for(&a, 1, "proven", Duration::from_secs(120));
    let (s, body) = request(&a, "GET", "/healthz", None, b"").unwrap();
    assert_eq!(s, 200, "{body}");
    assert!(server.terminate());
    let events = EventLog::open(&data.join("events")).unwrap();
    assert_eq!(events.commits(0).unwrap(), 1);
    assert_eq!(events.commits(1).unwrap(), 1);
}

/// A proof past its deadline (a stalled proof: a failpoint sleeps) fails
/// the service: `/healthz` names the deadline and the process exits 1;
/// the failure is counted in the batch's record, so after `--max-retries`
/// restarts the batch is parked rather than stalling every restart. With
/// the stall gone, the operator's retry proves it.
#[test]
fn a_proof_past_its_deadline_exits_and_the_batch_is_parked_after_the_retries() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let bs = batches(4, 1);
    let stalled = ["--proof-deadline", "0.001", "--max-retries", "1"];
    for attempt in 1..=2 {
        let server = Server::start(&data, &stalled, Some("prove:sleep=30000"));
        let a = server.addr.clone();
        let _ = post(&a, &bs[0], Encoding::Binary);
        // `/healthz` names the deadline while the listener drains (the
        // process may exit before a poll sees it; the log says it too).
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            match request(&a, "GET", "/healthz", None, b"") {
                Some((503, body)) => {
                    assert!(body.contains("deadline"), "{body}");
                    break;
                }
                None => break,
                _ => std::thread::sleep(Duration::from_millis(50)),
            }
        }
        let log = server.log.clone();
        let st = server
            .wait_exit(Duration::from_secs(30))
            .expect("the service exits after a deadline");
        assert_eq!(st.code(), Some(1), "attempt {attempt}: {st}");
        let text = std::fs::read_to_string(&log).unwrap();
        assert_eq!(
            text.matches("proof deadline passed").count(),
            attempt,
            "attempt {attempt}"
        );
    }
    let server = Server::start(&data, &[], None);
    let a = server.addr.clone();
    let r = record(&a, 0);
    assert_eq!(r["stage"], "parked", "{r}");
    assert!(
        r["last_failure"].as_str().unwrap().contains("deadline"),
        "{r}"
    );
    let (s, body) = request(&a, "POST", "/v1/batches/0/retry", None, b"").unwrap();
    assert_eq!(s, 200, "{body}");
    wait_for(&a, 0, "proven", Duration::from_secs(120));
    assert!(server.terminate());
}

/// SIGTERM while a proof is in flight (a failpoint stalls it) and a client
/// trickles a body one byte a second: the connections are cut after 5 s,
/// the proof gets `--drain-secs`, then the process exits with status 3
/// (abandoned); the restart proves the batch. SIGTERM with nothing in
/// flight exits 0.
#[test]
fn sigterm_mid_proof_abandons_it_with_its_exit_code_and_a_restart_proves_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let bs = batches(4, 1);
    let server = Server::start(&data, &["--drain-secs", "1"], Some("prove:sleep=60000"));
    let a = server.addr.clone();
    assert_eq!(post(&a, &bs[0], Encoding::Binary).unwrap().0, 202);
    wait_for(&a, 0, "executed", Duration::from_secs(60));
    let deadline = Instant::now() + Duration::from_secs(30);
    while !server.log_text().contains("failpoint prove fired") {
        assert!(Instant::now() < deadline, "the proof never started");
        std::thread::sleep(Duration::from_millis(50));
    }
    // A slow uploader: headers, then one byte a second.
    let trickle = {
        let a = a.clone();
        std::thread::spawn(move || trickle(&a, 60))
    };
    std::thread::sleep(Duration::from_secs(2));
    let (st, took) = server
        .terminate_status(Duration::from_secs(30))
        .expect("exits within the drain deadline");
    assert_eq!(st.code(), Some(3), "abandoned: {st}");
    assert!(took < Duration::from_secs(5 + 1 + 3), "took {took:?}");
    let _ = trickle.join();
    let server = Server::start(&data, &[], None);
    wait_for(&server.addr, 0, "proven", Duration::from_secs(120));
    let (st, _) = server
        .terminate_status(Duration::from_secs(30))
        .expect("exits");
    assert_eq!(st.code(), Some(0), "nothing in flight: {st}");
}

/// The soak test, behind a flag (`cargo test --release --test service --
/// --ignored soak`; `ZKLANES_SOAK_BATCHES` batches, default 40): a bounded
/// load generator sends consecutive batches, about 1% of its events
/// invalid (at least one of each kind: malformed JSON, oversized, another
/// chain, a signature off the curve), while the service (and with it every
/// prover worker) is SIGKILLed at random moments and restarted; the
/// generator resends whatever was not acknowledged. At the end every batch
/// is proven exactly once, no invalid event was stored, and the state root
/// equals the reference run's. Prints one JSON line with what was lost and
/// duplicated (both must be zero).
#[test]
#[ignore = "soak test: cargo test --release --test service -- --ignored soak"]
fn soak_many_batches_with_invalid_events_and_kills() {
    let n: usize = std::env::var("ZKLANES_SOAK_BATCHES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(40);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let bs = batches(3 * n, n);
    let n = bs.len(); // the split may round to fewer batches
    let reference = reference_root(&bs);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(13);
    let started = Instant::now();

    // The invalid events, each refused at ingest with its status.
    let invalid = |kind: usize, b: &Batch| -> (Vec<u8>, &'static str, u16) {
        match kind % 4 {
            0 => (b"{\"version\": 1,".to_vec(), "application/json", 400),
            1 => (vec![7u8; 300_000], "application/octet-stream", 413),
            2 => {
                let mut other = b.clone();
                other.chain_id += 1;
                (other.encode(Encoding::Json), "application/json", 400)
            }
            _ => {
                // A batch with a signed transaction (the first ones hold
                // only unsigned deposits), one signature off the curve.
                let mut bad = bs
                    .iter()
                    .rev()
                    .find(|x| x.txs.iter().any(|t| t.signature.is_some()))
                    .expect("a signed batch")
                    .clone();
                if let Some(t) = bad.txs.iter_mut().find(|t| t.signature.is_some()) {
                    if let Some(s) = t.signature.as_mut() {
                        s.r_y += zklanes_executor::field::Fr::from(1u64);
                    }
                }
                (bad.encode(Encoding::Json), "application/json", 422)
            }
        }
    };
    let total_events = n + (n / 100).max(4);
    let invalid_at: Vec<usize> = (0..(n / 100).max(4))
        .map(|i| (i * total_events) / (n / 100).max(4) + 1)
        .collect();

    let start = |data: &Path| Server::start(data, &["--max-event-bytes", "200000"], None);
    let mut server = start(&data);
    let mut acked = 0usize; // batches 0..acked are acknowledged
    let (mut sent, mut invalid_sent, mut invalid_refused, mut kills) = (0usize, 0, 0, 0);
    let mut event = 0usize;
    while acked < n {
        event += 1;
        if invalid_at.contains(&event) {
            let (body, ct, status) = invalid(invalid_sent, &bs[acked]);
            invalid_sent += 1;
            loop {
                match request(&server.addr, "POST", "/v1/batches", Some(ct), &body) {
                    Some((s, reply)) => {
                        assert_eq!(s, status, "invalid event {invalid_sent}: {reply}");
                        invalid_refused += 1;
                        break;
                    }
                    None => {
                        server.kill();
                        server = start(&data);
                    }
                }
            }
            continue;
        }
        sent += 1;
        match post(&server.addr, &bs[acked], Encoding::Binary) {
            Some((s, body)) => {
                assert!(s == 200 || s == 202, "batch {acked}: {s} {body}");
                acked += 1;
            }
            None => {
                // The service is down: restart it and resend.
                server.kill();
                server = start(&data);
                continue;
            }
        }
        if rng.gen_bool(0.1) {
            std::thread::sleep(Duration::from_millis(rng.gen_range(0..2000)));
            server.kill();
            kills += 1;
            server = start(&data);
        }
    }
    // Let the pipeline finish (with a few more kills on the way).
    let mut lost = vec![];
    for _ in 0..2 {
        std::thread::sleep(Duration::from_millis(rng.gen_range(1000..4000)));
        server.kill();
        kills += 1;
        server = start(&data);
    }
    let mut duplicated = 0usize;
    let mut last = Value::Null;
    for b in 0..n as u64 {
        let r = wait_for_any(
            &server.addr,
            b,
            &["proven", "rejected"],
            Duration::from_secs(1800),
        );
        if r["stage"] != "proven" {
            lost.push(b);
            continue;
        }
        let files = std::fs::read_dir(data.join(format!("proofs/batch-{b}")))
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().ends_with(".json"))
            .count() as u64;
        if Some(files) != r["chunks"].as_u64() {
            duplicated += 1;
        }
        last = r;
    }
    // Nothing beyond the last batch was stored, no extra proof directory.
    let (status, _) =
        request(&server.addr, "GET", &format!("/v1/batches/{n}"), None, b"").expect("status");
    let proof_dirs = std::fs::read_dir(data.join("proofs")).unwrap().count();
    let summary = serde_json::json!({
        "soak": true,
        "batches": n,
        "valid_events_sent": sent,
        "invalid_events": invalid_sent,
        "invalid_refused": invalid_refused,
        "kills": kills,
        "lost": lost.len(),
        "duplicated": duplicated,
        "extra_records": status != 404,
        "proof_dirs": proof_dirs,
        "state_root_matches": last["state_root"] == reference,
        "wall_s": started.elapsed().as_secs_f64(),
    });
    println!("{summary}");
    assert!(lost.is_empty(), "lost batches {lost:?}");
    assert_eq!(duplicated, 0);
    assert_eq!(status, 404);
    assert_eq!(proof_dirs, n);
    assert_eq!(invalid_refused, invalid_sent, "every invalid event refused");
    assert_eq!(last["state_root"], reference);
    assert!(server.terminate());
}

fn wait_for_any(addr: &str, n: u64, stages: &[&str], timeout: Duration) -> Value {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some((_, body)) = request(addr, "GET", &format!("/v1/batches/{n}"), None, b"") {
            let r: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
            if stages.iter().any(|s| r["stage"] == *s) {
                return r;
            }
        }
        assert!(Instant::now() < deadline, "batch {n} never finished");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Behind a flag (`cargo test --release --test service -- --ignored
/// final_level`, about 12 minutes and 13 GB on 2 cores): at the final
/// level, with `--max-bundle 2`, two batches of one 29-slot chunk each are
/// executed before their proof starts and settled by one bundle proof; the
/// service is killed after the proof is written and before the records
/// move (`after_persist_proof`); after the restart the proof on disk is
/// adopted for both batches (no second final proof), and it verifies
/// natively and through the Rollup contract as a bundle of two batches.
#[test]
#[ignore = "slow (one final proof): cargo test --release --test service -- --ignored final_level"]
fn final_level_bundles_two_batches_and_adopts_the_proof_after_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let bs = common::consecutive_batches(44, 4, 7, 2);
    let mut reference = Rollup::in_memory(RollupConfig {
        chunk_capacity: 29,
        threads: 2,
        ..Default::default()
    });
    let root = bs
        .iter()
        .map(|b| reference.apply(b).expect("valid").state_root_hex())
        .last()
        .unwrap();
    let args = [
        "--capacity",
        "29",
        "--proof-level",
        "final",
        "--max-bundle",
        "2",
    ];
    let server = Server::start_with(&data, &args, Some("after_persist_proof"));
    // Batch 1 first (it waits for the gap), then batch 0: both execute
    // before the proof starts, so they form one bundle.
    for b in [&bs[1], &bs[0]] {
        let (s, body) = post(&server.addr, b, Encoding::Binary).expect("accepts");
        assert_eq!(s, 202, "{body}");
    }
    let mut server = server;
    let deadline = Instant::now() + Duration::from_secs(1800);
    while server.child.try_wait().ok().flatten().is_none() {
        assert!(Instant::now() < deadline, "the failpoint never fired");
        std::thread::sleep(Duration::from_millis(500));
    }
    server.kill();
    let final_path = data.join("proofs/bundle-0-1/final.json");
    assert!(final_path.is_file(), "the bundle's proof was written");
    let server = Server::start_with(&data, &args, None);
    let r0 = wait_for(&server.addr, 0, "proven", Duration::from_secs(120));
    let r1 = wait_for(&server.addr, 1, "proven", Duration::from_secs(120));
    assert_eq!(r0["bundle"], serde_json::json!([0, 1]));
    assert_eq!(r1["bundle"], serde_json::json!([0, 1]));
    assert_eq!(r0["proof"], r1["proof"]);
    assert_eq!(r1["state_root"], root);
    let finals = std::fs::read_dir(data.join("proofs"))
        .unwrap()
        .flatten()
        .filter(|e| e.path().join("final.json").is_file())
        .count();
    assert_eq!(finals, 1, "exactly one final proof");
    assert!(server.terminate());
    let out = Command::new(env!("CARGO_BIN_EXE_zklanes"))
        .args(["verify", "--json", "--cache-dir"])
        .arg(cache_dir())
        .arg("--proof")
        .arg(&final_path)
        .output()
        .expect("runs");
    let report: Value = serde_json::from_slice(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .last()
            .unwrap_or("null")
            .as_bytes(),
    )
    .unwrap_or(Value::Null);
    eprintln!("verify: {report}");
    assert!(out.status.success(), "{report}");
    assert_eq!(report["batches"], 2);
    assert_eq!(report["evm"], true);
}

/// The deposits of `batch`, in order.
fn deposits_of(batch: &Batch) -> Vec<zklanes_executor::tx::Deposit> {
    batch
        .txs
        .iter()
        .filter_map(|t| match &t.body {
            zklanes_executor::tx::TxBody::Deposit(d) => Some(d.clone()),
            _ => None,
        })
        .collect()
}

/// Queues `d` on the service's embedded L1 (`POST /v1/l1/deposits`) as
/// L1 takes it (a new account names its key, a top-up its account) and
/// checks that L1 queued it at its queue index, for its account.
fn queue_on_l1(addr: &str, d: &zklanes_executor::tx::Deposit) {
    let creates = d.pubkey.x != zklanes_executor::field::Fr::from(0u64)
        || d.pubkey.y != zklanes_executor::field::Fr::from(0u64);
    let mut body = serde_json::json!({
        "sender": format!("0x{}", hex::encode(d.l1_sender)),
        "asset": d.asset,
        "amount": d.amount.to_string(),
    });
    if creates {
        body["pubkey"] = serde_json::to_value(d.pubkey).unwrap();
    } else {
        body["account"] = d.account.into();
    }
    let (s, r) = request(
        addr,
        "POST",
        "/v1/l1/deposits",
        Some("application/json"),
        body.to_string().as_bytes(),
    )
    .expect("response");
    assert_eq!(s, 200, "{r}");
    let r: Value = serde_json::from_str(&r).unwrap();
    assert_eq!(r["queue_index"], d.queue_index, "{r}");
    assert_eq!(r["account"], d.account, "{r}");
}

/// The forced withdrawals of `batch`, in order.
fn forced_of(batch: &Batch) -> Vec<zklanes_executor::tx::ForcedWithdraw> {
    batch
        .txs
        .iter()
        .filter_map(|t| match &t.body {
            zklanes_executor::tx::TxBody::ForcedWithdraw(f) => Some(f.clone()),
            _ => None,
        })
        .collect()
}

/// Asks the service's embedded L1 for the forced withdrawal `f`
/// (`POST /v1/l1/deposits` with amount 0, sent by `f`'s owner); returns
/// the status and the answer.
fn force_on_l1(addr: &str, f: &zklanes_executor::tx::ForcedWithdraw) -> (u16, String) {
    let body = serde_json::json!({
        "sender": format!("0x{}", hex::encode(f.l1_owner)),
        "account": f.account,
        "asset": f.asset,
        "amount": "0",
    });
    request(
        addr,
        "POST",
        "/v1/l1/deposits",
        Some("application/json"),
        body.to_string().as_bytes(),
    )
    .expect("response")
}

/// The lines of the embedded L1's journal in `data`.
fn journal_lines(data: &Path) -> usize {
    std::fs::read_to_string(data.join("l1").join("deposits.jsonl"))
        .unwrap_or_default()
        .lines()
        .count()
}

/// `--l1 embedded`: the operator queues deposits and forced withdrawals on
/// the embedded L1 chain (`POST /v1/l1/deposits`, L1's rules applied: a
/// forced withdrawal only from the account's owner); a batch whose deposit
/// or forced withdrawal differs from L1's is rejected with the field named
/// (`l1_deposit_mismatch`, `l1_forced_withdrawal_mismatch`), and a
/// corrected one replaces it; a batch whose deposit or forced withdrawal
/// L1 has not queued waits (its record says why) and executes once L1
/// queues it; the L1 journal survives a restart (a batch checks against
/// deposits queued before it).
#[test]
fn with_the_embedded_l1_deposits_are_checked_against_its_queue() {
    let dir = tempfile::tempdir().unwrap();
    // Batch 0: deposits 0..=3; batch 1: deposits 4 and 5, then pools;
    // batch 3 ends with the forced withdrawal at queue index 6 (account
    // 3's token 2, queued by its owner). (A workload of 5: with the forced
    // withdrawal, the batches split as they did before it with 6.)
    let bs = batches(5, 4);
    let ds: Vec<_> = bs.iter().map(deposits_of).collect();
    assert_eq!(
        (ds[0].len(), ds[1].len(), ds[2].len(), ds[3].len()),
        (4, 2, 0, 0)
    );
    let fs: Vec<_> = bs.iter().map(forced_of).collect();
    assert_eq!(
        (fs[0].len(), fs[1].len(), fs[2].len(), fs[3].len()),
        (0, 0, 0, 1)
    );
    let forced = fs[3][0].clone();
    assert_eq!(
        (forced.queue_index, forced.account, forced.asset),
        (6, 3, 2)
    );
    let server = Server::start(dir.path(), &["--l1", "embedded"], None);
    let a = server.addr.clone();
    for d in &ds[0] {
        queue_on_l1(&a, d);
    }
    // L1's rules: a top-up of an account L1 has not assigned is refused.
    let (s, r) = request(
        &a,
        "POST",
        "/v1/l1/deposits",
        Some("application/json"),
        br#"{"sender":"0x0000000000000000000000000000000000000009","account":77,"asset":1,"amount":"5"}"#,
    )
    .unwrap();
    assert_eq!(s, 422, "{r}");
    assert!(r.contains("account not assigned"), "{r}");
    let (s, r) = request(&a, "POST", "/v1/l1/deposits", None, b"{\"asset\":1}").unwrap();
    assert_eq!(s, 400, "{r}");
    let (s, _) = request(&a, "POST", "/v1/l1/deposits", None, &[b' '; 5000]).unwrap();
    assert_eq!(s, 413);
    // Amount 0 is a forced withdrawal: L1 queues one only from the
    // account's owner, naming its account (not a key); a refused one
    // leaves nothing in the journal.
    let mut stranger = forced.clone();
    stranger.l1_owner[0] ^= 1;
    let (s, r) = force_on_l1(&a, &stranger);
    assert_eq!(s, 422, "{r}");
    assert!(r.contains("not the account's owner"), "{r}");
    let mut keyed = serde_json::json!({
        "sender": format!("0x{}", hex::encode(forced.l1_owner)),
        "pubkey": serde_json::to_value(ds[0][0].pubkey).unwrap(),
        "asset": 1,
        "amount": "0",
    });
    let (s, r) = request(
        &a,
        "POST",
        "/v1/l1/deposits",
        Some("application/json"),
        keyed.to_string().as_bytes(),
    )
    .unwrap();
    assert_eq!(s, 400, "{r}");
    keyed["account"] = forced.account.into();
    let (s, r) = request(
        &a,
        "POST",
        "/v1/l1/deposits",
        Some("application/json"),
        keyed.to_string().as_bytes(),
    )
    .unwrap();
    assert_eq!(s, 400, "{r}");
    assert_eq!(journal_lines(dir.path()), ds[0].len());

    // An amount L1 did not queue: rejected, and replaceable.
    let mut forged = bs[0].clone();
    for t in &mut forged.txs {
        if let zklanes_executor::tx::TxBody::Deposit(d) = &mut t.body {
            if d.queue_index == 2 {
                d.amount += 1;
            }
        }
    }
    assert_eq!(post(&a, &forged, Encoding::Json).unwrap().0, 202);
    let r = wait_for(&a, 0, "rejected", Duration::from_secs(60));
    let error = r["error"].as_str().unwrap_or_default();
    assert!(
        error.starts_with("l1_deposit_mismatch") && error.contains("queue index 2"),
        "{r}"
    );
    assert!(error.contains("its amount"), "{r}");
    assert_eq!(post(&a, &bs[0], Encoding::Json).unwrap().0, 202);
    wait_for_any(&a, 0, &["executed", "proven"], Duration::from_secs(120));

    // Deposit 4 is queued before the restart, deposit 5 after it.
    queue_on_l1(&a, &ds[1][0]);
    wait_for(&a, 0, "proven", Duration::from_secs(600));
    assert!(server.terminate(), "clean shutdown");
    let journal = dir.path().join("l1").join("deposits.jsonl");
    assert_eq!(
        std::fs::read_to_string(&journal).unwrap().lines().count(),
        5
    );
    let server = Server::start(dir.path(), &["--l1", "embedded"], None);
    let a = server.addr.clone();
    assert_eq!(post(&a, &bs[1], Encoding::Json).unwrap().0, 202);
    // Deposit 4 checks against the journal's; batch 1 waits for deposit 5.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let r = record(&a, 1);
        if r["waiting"]
            .as_str()
            .is_some_and(|w| w.contains("queue index 5"))
        {
            assert_eq!(r["stage"], "accepted", "{r}");
            break;
        }
        assert!(Instant::now() < deadline, "batch 1 never waited: {r}");
        std::thread::sleep(Duration::from_millis(200));
    }
    let (_, m) = request(&a, "GET", "/metrics", None, b"").unwrap();
    assert!(m.contains("zklanes_l1_waits_total"), "{m}");
    queue_on_l1(&a, &ds[1][1]);
    let r = wait_for_any(&a, 1, &["executed", "proven"], Duration::from_secs(120));
    assert!(r.get("waiting").is_none(), "{r}");
    assert_eq!(post(&a, &bs[2], Encoding::Json).unwrap().0, 202);

    // Batch 3's forced withdrawal, of another asset than the owner asks
    // L1 for: it waits while L1 has queued nothing at its index, then is
    // rejected with the field named once L1 queues the owner's.
    let mut other_asset = bs[3].clone();
    for t in &mut other_asset.txs {
        if let zklanes_executor::tx::TxBody::ForcedWithdraw(f) = &mut t.body {
            f.asset = 1;
        }
    }
    assert_eq!(post(&a, &other_asset, Encoding::Json).unwrap().0, 202);
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let r = record(&a, 3);
        if r["waiting"]
            .as_str()
            .is_some_and(|w| w.contains("forced withdrawal at queue index 6"))
        {
            assert_eq!(r["stage"], "accepted", "{r}");
            break;
        }
        assert!(Instant::now() < deadline, "batch 3 never waited: {r}");
        std::thread::sleep(Duration::from_millis(200));
    }
    let (s, r) = force_on_l1(&a, &forced);
    assert_eq!(s, 200, "{r}");
    let event: Value = serde_json::from_str(&r).unwrap();
    assert_eq!(
        (
            &event["queue_index"],
            &event["account"],
            &event["asset"],
            &event["amount"]
        ),
        (&6.into(), &3.into(), &2.into(), &"0".into()),
        "{r}"
    );
    let r = wait_for(&a, 3, "rejected", Duration::from_secs(60));
    let error = r["error"].as_str().unwrap_or_default();
    assert!(
        error.starts_with("l1_forced_withdrawal_mismatch")
            && error.contains("the forced withdrawal at queue index 6")
            && error.contains("its asset: the batch has 1, L1 queued 2"),
        "{r}"
    );
    let (_, m) = request(&a, "GET", "/metrics", None, b"").unwrap();
    assert!(
        m.contains("reason=\"l1_forced_withdrawal_mismatch\"")
            && m.contains("zklanes_l1_forced_withdrawals_total"),
        "{m}"
    );
    // The batch as L1 queued it replaces it.
    assert_eq!(post(&a, &bs[3], Encoding::Json).unwrap().0, 202);
    for n in 0..4 {
        wait_for(&a, n, "proven", Duration::from_secs(600));
    }
    assert_eq!(record(&a, 3)["state_root"], reference_root(&bs));
    assert_eq!(journal_lines(dir.path()), 7);
    assert!(server.terminate(), "clean shutdown");
}
