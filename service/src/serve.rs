//! `zklanes serve`: start the service ([`run`]) and stop it on SIGTERM or
//! Ctrl-C.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use zklanes_pipeline::batch_prover::BatchProver;

use crate::config::{DriverConfig, ProofLevel, ServiceConfig};
use crate::driver::{self, recover};
use crate::error::ServiceError;
use crate::event_log::EventLog;
use crate::http::{router, Api};
use crate::ingest::IngestRules;
use crate::state::Shared;
use crate::watch::watch;

/// Runs the service until SIGTERM or Ctrl-C.
pub async fn run(cfg: ServiceConfig) -> Result<(), ServiceError> {
    let root = cfg.data_dir.root();
    std::fs::create_dir_all(root).map_err(|source| ServiceError::DataDir {
        path: root.display().to_string(),
        source,
    })?;
    let log = EventLog::open(&cfg.data_dir.events())?;
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
        ProofLevel::Final => BatchProver::open(proof, &setup),
        ProofLevel::Chunks => BatchProver::open_chunks(proof, &setup),
    })
    .await
    .map_err(|e| ServiceError::KeysPanicked(e.to_string()))??;
    let driver_cfg = DriverConfig::of(&cfg);
    // The state is opened (and rebuilt if needed) before we listen, once:
    // the driver thread takes it over.
    let rollup = recover::open_state(&driver_cfg, &shared)?;
    shared.next.store(rollup.height(), Ordering::SeqCst);
    let d_shared = shared.clone();
    let prover = Arc::new(prover);
    let driver = std::thread::Builder::new()
        .name("driver".into())
        .spawn(move || {
            let r = driver::run(driver_cfg, Some(prover), d_shared.clone(), rollup);
            if let Err(e) = &r {
                tracing::error!(alert = true, stage = "driver", error = %e, "pipeline driver failed");
                d_shared.metrics.add("zklanes_failures_total", "reason=\"driver\"", 1);
            }
            r
        })
        .map_err(ServiceError::Thread)?;
    let api = Api {
        shared: shared.clone(),
        rules,
    };
    if let Some(dir) = cfg.watch.clone() {
        tokio::spawn(watch(api.clone(), dir));
    }
    tracing::info!(stage = "listen", addr = %addr, "zklanes service ready");
    println!("listening on {addr}");
    let stop_shared = shared.clone();
    axum::serve(listener, router(api))
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
        if driver.is_finished() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    if driver.is_finished() {
        if let Ok(r) = driver.join() {
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
