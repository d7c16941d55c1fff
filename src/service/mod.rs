//! `zklanes serve`: the batch pipeline service.
//!
//! Sequencer batch events arrive over HTTP ([`http`]) or as files in a
//! watched folder ([`watch`]); [`ingest`] validates them and appends them
//! to the durable log ([`store`], sled, flushed before the acknowledgement).
//! One pipeline thread ([`worker`]) executes batches in number order,
//! persists their traces, proves them on the worker pool and writes the
//! final proof with its L1 calldata; every stage is persisted, so a restart
//! resumes where it stopped. [`metrics`] serves Prometheus text;
//! [`failpoint`]s let crash tests abort at named points.

pub mod failpoint;
pub mod http;
pub mod ingest;
pub mod metrics;
pub mod store;
pub mod watch;
pub mod worker;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::pipeline::{ProofConfig, Prover, ProverSetup};
use ingest::IngestRules;
use worker::{ProofLevel, Shared, WorkerConfig};

/// Why the service could not run.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The log could not be opened.
    #[error(transparent)]
    Log(#[from] store::LogError),
    /// Keys or the SRS could not be loaded.
    #[error(transparent)]
    Pipeline(#[from] crate::pipeline::PipelineError),
    /// The listener could not bind, or the server failed.
    #[error("http {addr}: {source}")]
    Http {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The pipeline thread failed.
    #[error(transparent)]
    Worker(#[from] worker::WorkerError),
}

/// The service's configuration.
#[derive(Clone, Debug)]
pub struct ServiceConfig {
    /// Data directory (log, executor state, proofs, key cache).
    pub data_dir: PathBuf,
    /// Listen address.
    pub listen: SocketAddr,
    /// Watched folder.
    pub watch: Option<PathBuf>,
    /// Proof configuration.
    pub proof: ProofConfig,
    /// How far to prove.
    pub level: ProofLevel,
    /// Prover setup.
    pub setup: ProverSetup,
    /// Largest event, bytes.
    pub max_bytes: usize,
    /// Execution threads.
    pub threads: usize,
    /// Most batches one final proof settles (see [`WorkerConfig`]).
    pub max_bundle: usize,
}

/// Runs the service until SIGTERM or Ctrl-C.
pub async fn run(cfg: ServiceConfig) -> Result<(), ServiceError> {
    std::fs::create_dir_all(&cfg.data_dir).map_err(|source| ServiceError::Http {
        addr: cfg.listen,
        source,
    })?;
    let log = store::EventLog::open(&cfg.data_dir.join("events"))?;
    let shared = Arc::new(Shared {
        log,
        metrics: Default::default(),
        next: AtomicU64::new(0),
        stop: AtomicBool::new(false),
        wake: Default::default(),
        ingest: Default::default(),
    });
    let max_txs = match cfg.level {
        ProofLevel::Final => cfg.proof.max_txs(),
        ProofLevel::Chunks => zklanes_executor::params::MAX_BATCH_TXS,
    };
    let rules = IngestRules {
        chain_id: cfg.proof.shape.chain_id,
        max_bytes: cfg.max_bytes,
        max_txs,
        max_ahead: 1_000,
    };
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
    let (proof, setup) = (cfg.proof.clone(), cfg.setup.clone());
    tracing::info!(stage = "keys", "loading SRS and keys");
    let level = cfg.level;
    let prover = tokio::task::spawn_blocking(move || match level {
        ProofLevel::Final => Prover::open(proof, &setup),
        ProofLevel::Chunks => Prover::open_chunks(proof, &setup),
    })
    .await
    .map_err(|e| worker::WorkerError::Batch {
        batch: 0,
        reason: e.to_string(),
    })??;
    let worker_cfg = WorkerConfig {
        data_dir: cfg.data_dir.clone(),
        proof: cfg.proof.clone(),
        level: cfg.level,
        threads: cfg.threads,
        max_bundle: cfg.max_bundle,
    };
    // The state is opened (and rebuilt if needed) before we listen, once:
    // the pipeline thread takes it over.
    let rollup = worker::open_state(&worker_cfg, &shared)?;
    shared.next.store(rollup.height(), Ordering::SeqCst);
    let w_shared = shared.clone();
    let prover = Arc::new(prover);
    let worker = std::thread::Builder::new()
        .name("pipeline".into())
        .spawn(move || {
            let r = worker::run(worker_cfg, Some(prover), w_shared.clone(), rollup);
            if let Err(e) = &r {
                tracing::error!(alert = true, stage = "pipeline", error = %e, "pipeline worker failed");
                w_shared.metrics.add("zklanes_failures_total", "reason=\"worker\"", 1);
            }
            r
        })
        .map_err(|source| ServiceError::Http {
            addr: cfg.listen,
            source,
        })?;
    let api = http::Api {
        shared: shared.clone(),
        rules,
    };
    if let Some(dir) = cfg.watch.clone() {
        tokio::spawn(watch::watch(api.clone(), dir));
    }
    tracing::info!(stage = "listen", addr = %addr, "zklanes service ready");
    println!("listening on {addr}");
    let stop_shared = shared.clone();
    axum::serve(listener, http::router(api))
        .with_graceful_shutdown(async move {
            shutdown_signal().await;
            tracing::info!(
                stage = "shutdown",
                "stopping: no new events; a proof in flight is finished or redone after restart"
            );
            stop_shared.stop.store(true, Ordering::SeqCst);
            stop_shared.notify();
        })
        .await
        .map_err(|source| ServiceError::Http { addr, source })?;
    // Give the pipeline a moment to reach a stage boundary; whatever is in
    // flight after that is redone on restart (every stage is persisted).
    for _ in 0..20 {
        if worker.is_finished() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    if worker.is_finished() {
        if let Ok(r) = worker.join() {
            r?;
        }
    }
    Ok(())
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
