//! `zklanes serve`: start the service ([`run`]) and stop it on SIGTERM or
//! Ctrl-C, or when a stage fails fatally (then `/healthz` answers 503
//! with the reason while the listener drains, and `run` returns the error:
//! the process exits non-zero for its supervisor to restart it).
//!
//! Shutdown: no new connections; open ones get [`DRAIN`] to finish; then
//! the proof in flight gets the configured drain time (`--drain-secs`).
//! Exit status: 0 when every stage stopped at a boundary (everything done
//! is persisted); [`EXIT_ABANDONED`] when a proof was still in flight and
//! was abandoned (its batch stays `executed`, and a restart proves it
//! again); 1 after a fatal failure (a proof past its deadline included).

use std::future::IntoFuture;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;
use zklanes_pipeline::batch_prover::BatchProver;

use crate::auth::Token;
use crate::config::{DriverConfig, L1Source, ProofLevel, ServiceConfig};
use crate::driver::{self, recover};
use crate::embedded_l1::EmbeddedL1;
use crate::error::{DriverError, ServiceError};
use crate::event_log::EventLog;
use crate::http::{router, Api, MAX_IN_FLIGHT};
use crate::ingest::IngestRules;
use crate::json_rpc_l1::JsonRpcL1;
use crate::l1_view::L1View;
use crate::listener::{Bounded, Limits};
use crate::state::{Health, Shared};
use crate::watch::watch;

/// How long the listener may take to drain its connections once it stops.
pub const DRAIN: Duration = Duration::from_secs(5);

/// The exit status of a shutdown that abandoned a proof in flight.
pub const EXIT_ABANDONED: i32 = 3;

/// Runs the service until SIGTERM or Ctrl-C (`Ok`), or until a stage fails
/// fatally (`Err`, after `/healthz` has said so while the listener drained).
pub async fn run(cfg: ServiceConfig) -> Result<(), ServiceError> {
    let root = cfg.data_dir.root();
    std::fs::create_dir_all(root).map_err(|source| ServiceError::DataDir {
        path: root.display().to_string(),
        source,
    })?;
    if !cfg.listen.ip().is_loopback() && !cfg.insecure_listen {
        return Err(ServiceError::InsecureListen { addr: cfg.listen });
    }
    let (token, token_path) = Token::load(
        cfg.auth_token_file.as_deref(),
        &cfg.data_dir.root().join("auth-token"),
    )?;
    tracing::info!(
        stage = "auth",
        path = %token_path.display(),
        "writes need the bearer token in this file"
    );
    let shared = Arc::new(Shared::new(EventLog::open(&cfg.data_dir.events())?));
    let max_txs = match cfg.level {
        ProofLevel::Final => cfg.proof.max_txs(),
        ProofLevel::Chunks => zklanes_executor::params::MAX_BATCH_TXS,
    };
    let rules = IngestRules {
        chain_id: cfg.proof.shape.chain_id,
        max_bytes: cfg.max_bytes,
        max_txs,
        max_ahead: 1_000,
        sequencer: cfg.sequencer,
    };
    match cfg.sequencer {
        Some(k) => {
            tracing::info!(stage = "auth", sequencer = %k, "batches must carry this sequencer's signature")
        }
        None => tracing::warn!(
            stage = "auth",
            "no --sequencer-key: the bearer token alone admits a batch"
        ),
    }
    match &cfg.l1 {
        L1Source::None => tracing::warn!(
            stage = "l1",
            "no --l1: a batch's deposits are not checked against L1 before execution"
        ),
        L1Source::Embedded => tracing::info!(
            stage = "l1",
            "deposits are checked against the embedded L1 chain (DATA_DIR/l1)"
        ),
        L1Source::JsonRpc(c) => tracing::info!(
            stage = "l1",
            url = %c.url,
            rollup = %format!("0x{}", hex::encode(c.rollup_address)),
            from_block = c.from_block,
            block_tag = %c.block_tag,
            "deposits are checked against the Rollup contract's events over JSON-RPC"
        ),
    }
    let json_rpc: Option<Arc<dyn L1View>> = match &cfg.l1 {
        L1Source::JsonRpc(c) => Some(Arc::new(
            JsonRpcL1::new(c.clone()).map_err(|e| ServiceError::Failed(e.to_string()))?,
        )),
        _ => None,
    };
    let embedded = (cfg.l1 == L1Source::Embedded).then(|| Arc::new(std::sync::OnceLock::new()));
    let listener = tokio::net::TcpListener::bind(cfg.listen)
        .await
        .map_err(|source| ServiceError::Http {
            addr: cfg.listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| ServiceError::Http {
        addr: cfg.listen,
        source,
    })?;
    let api = Api {
        shared: shared.clone(),
        rules,
        token,
        loopback: addr.ip().is_loopback(),
        in_flight: Arc::new(Semaphore::new(MAX_IN_FLIGHT)),
        l1: embedded.clone(),
        queue: Arc::new(std::sync::OnceLock::new()),
    };
    // The port opens first: `/healthz` and `/readyz` answer while the keys
    // load; writes wait for readiness.
    println!("listening on {addr}");
    let server = tokio::spawn(serve_http(listener, cfg.limits, api.clone()));

    tracing::info!(stage = "keys", "loading SRS and keys");
    let (proof, setup, level) = (cfg.proof.clone(), cfg.setup.clone(), cfg.level);
    let remote = cfg.queue.is_some();
    let opened = tokio::task::spawn_blocking(move || match level {
        // The workers prove: the service only checks, with verifying keys.
        ProofLevel::Final if remote => BatchProver::open_verifier(proof, &setup),
        ProofLevel::Final => BatchProver::open(proof, &setup),
        ProofLevel::Chunks => BatchProver::open_chunks(proof, &setup),
    })
    .await;
    let prover = match opened {
        Ok(Ok(p)) => p,
        Ok(Err(e)) => return fail_start(&shared, server, e.into()).await,
        Err(e) => {
            return fail_start(&shared, server, ServiceError::KeysPanicked(e.to_string())).await
        }
    };
    let l1: Option<Arc<dyn L1View>> = match embedded {
        None => json_rpc,
        Some(cell) => {
            let dir = cfg.data_dir.root().join("l1");
            match tokio::task::spawn_blocking(move || EmbeddedL1::open(&dir)).await {
                Ok(Ok(chain)) => {
                    let chain = Arc::new(chain);
                    let _ = cell.set(chain.clone());
                    Some(chain)
                }
                Ok(Err(e)) => return fail_start(&shared, server, e.into()).await,
                Err(e) => {
                    return fail_start(
                        &shared,
                        server,
                        ServiceError::Failed(format!("opening the embedded L1 panicked: {e}")),
                    )
                    .await
                }
            }
        }
    };
    let prover = Arc::new(prover);
    let mut driver_cfg = DriverConfig::of(&cfg);
    if let Some(q) = &cfg.queue {
        match connect_queue(q, prover.clone(), cfg.level).await {
            Ok(remote) => {
                let _ = api.queue.set(remote.coordinator.queue().clone());
                driver_cfg.remote = Some(remote);
            }
            Err(e) => return fail_start(&shared, server, e).await,
        }
    }
    // The state is reconciled with the log once, then the driver takes it.
    let rollup = match recover::open_state(&driver_cfg, &shared) {
        Ok(r) => r,
        Err(e) => return fail_start(&shared, server, e.into()).await,
    };
    shared.next.store(rollup.height(), Ordering::SeqCst);
    shared.set_health(Health::Ready);
    let d_shared = shared.clone();
    let driver = std::thread::Builder::new()
        .name("driver".into())
        .spawn(move || {
            let batch = d_shared.next.load(Ordering::SeqCst);
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                driver::run(driver_cfg, Some(prover), d_shared.clone(), rollup, l1)
            }))
            .unwrap_or_else(|p| {
                Err(DriverError::Panicked {
                    batch,
                    last: batch,
                    message: driver::panic_message(p.as_ref()),
                })
            });
            if let Err(e) = &r {
                tracing::error!(alert = true, stage = "driver", error = %e, "pipeline driver failed");
                d_shared
                    .metrics
                    .add("zklanes_failures_total", "reason=\"driver\"", 1);
                d_shared.fail(e.to_string());
            }
            r
        })
        .map_err(ServiceError::Thread)?;
    if let Some(dir) = cfg.watch.clone() {
        tokio::spawn(watch(api.clone(), dir));
    }
    tokio::spawn(watchdog(shared.clone(), cfg.max_retries));
    tracing::info!(stage = "listen", addr = %addr, "zklanes service ready");
    let served = server.await;
    // The driver stops at its next stage boundary; a proof in flight gets
    // the drain time, then is abandoned (redone on restart: every stage
    // is persisted).
    let until = std::time::Instant::now() + cfg.drain;
    while !driver.is_finished() && std::time::Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let finished = driver.is_finished();
    if finished {
        if let Ok(r) = driver.join() {
            r?;
        }
    }
    if let Health::Failed(reason) = shared.health() {
        return Err(ServiceError::Failed(reason));
    }
    if !finished {
        let batch = shared
            .in_flight()
            .map_or(shared.next.load(Ordering::SeqCst), |f| f.batch);
        tracing::warn!(
            stage = "shutdown",
            batch,
            "drain deadline passed with the driver mid-step: abandoned (a restart redoes the step)"
        );
        return Err(ServiceError::Abandoned { batch });
    }
    match served {
        Ok(r) => r.map_err(|source| ServiceError::Http { addr, source }),
        Err(e) => Err(ServiceError::Failed(format!("the listener panicked: {e}"))),
    }
}

/// Connects the job queue (`--queue`) and derives the circuit version of
/// every job this service enqueues from its keys.
async fn connect_queue(
    q: &crate::config::QueueConfig,
    prover: Arc<BatchProver>,
    level: ProofLevel,
) -> Result<crate::driver::remote::Remote, ServiceError> {
    let options = zklanes_queue::QueueOptions {
        schema: q.schema.clone(),
        ..Default::default()
    };
    tracing::info!(stage = "queue", url = %zklanes_queue::redact_url(&q.url), "connecting the job queue");
    let queue = zklanes_queue::JobQueue::connect(&q.url, options)
        .await
        .map_err(|e| ServiceError::Failed(format!("the job queue: {e}")))?;
    let versions = tokio::task::spawn_blocking(move || {
        zklanes_distributed::versions::CircuitVersions::of(
            &prover.config,
            &prover.srs,
            level == ProofLevel::Final,
        )
    })
    .await
    .map_err(|e| ServiceError::Failed(format!("circuit versions: {e}")))?
    .map_err(|e| ServiceError::Failed(format!("circuit versions: {e}")))?;
    tracing::info!(stage = "queue", chunk = %versions.chunk, layers = ?versions.layers, "batches are proven by the queue's workers");
    Ok(crate::driver::remote::Remote {
        coordinator: zklanes_distributed::coordinator::Coordinator::new(
            queue,
            crate::driver::remote::POLL,
        ),
        versions,
        handle: tokio::runtime::Handle::current(),
        max_attempts: q.max_attempts,
    })
}

/// Fails the service when the proof in flight runs past its deadline: the
/// failure is counted in the batch's record (parking it past
/// `max_retries`), `/healthz` says why, and the process exits non-zero (a
/// halo2 proof cannot be interrupted; the supervisor's restart is the retry).
async fn watchdog(shared: Arc<Shared>, max_retries: u32) {
    while !shared.stop.load(Ordering::SeqCst) {
        if let Some(f) = shared.in_flight().filter(|f| f.overdue()) {
            let reason = DriverError::Deadline {
                batch: f.batch,
                last: f.last,
                seconds: f.deadline.as_secs_f64(),
            }
            .to_string();
            let (s, r) = (shared.clone(), reason.clone());
            let noted = tokio::task::spawn_blocking(move || {
                driver::note_failure(&s, (f.batch, f.last), &r, max_retries, Some(f.since))
            })
            .await;
            match noted {
                // The step ended meanwhile.
                Ok(Ok(driver::Noted::Skipped)) => continue,
                Ok(Err(e)) => tracing::error!(
                    stage = "deadline",
                    error = %e,
                    "the failure could not be recorded"
                ),
                _ => {}
            }
            shared
                .metrics
                .add("zklanes_proof_deadline_exceeded_total", "", 1);
            tracing::error!(
                alert = true,
                stage = "deadline",
                batch = f.batch,
                reason,
                "proof deadline passed"
            );
            shared.fail(reason);
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A start that failed after the port opened: `/healthz` says why while the
/// listener drains, then the error is returned.
async fn fail_start(
    shared: &Shared,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
    e: ServiceError,
) -> Result<(), ServiceError> {
    tracing::error!(alert = true, stage = "start", error = %e, "the service cannot start");
    shared.fail(e.to_string());
    let _ = server.await;
    Err(e)
}

/// Serves the API until SIGTERM, Ctrl-C or a fatal failure, then drains
/// the connections for at most [`DRAIN`].
async fn serve_http(
    listener: tokio::net::TcpListener,
    limits: Limits,
    api: Api,
) -> std::io::Result<()> {
    let shared = api.shared.clone();
    let stopping = Arc::new(tokio::sync::Notify::new());
    let signal = stopping.clone();
    let serve = axum::serve(Bounded::new(listener, limits), router(api)).with_graceful_shutdown(
        async move {
            tokio::select! {
                _ = shutdown_signal() => tracing::info!(
                    stage = "shutdown",
                    "stopping: no new events; a proof in flight is finished or redone after restart"
                ),
                _ = shared.shutdown.notified() => tracing::error!(
                    stage = "shutdown",
                    "stopping after a fatal failure"
                ),
            }
            shared.stop.store(true, Ordering::SeqCst);
            shared.notify();
            signal.notify_one();
        },
    );
    let drain = async {
        stopping.notified().await;
        tokio::time::sleep(DRAIN).await;
    };
    tokio::select! {
        r = serve.into_future() => r,
        _ = drain => {
            tracing::warn!(stage = "shutdown", "drain deadline passed: open connections closed");
            Ok(())
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
