//! `zklanes serve`: the batch pipeline service (see `zklanes::service`).

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use zklanes::pipeline::{ProofConfig, ProverSetup, DEMO_CAPACITY};
use zklanes::service::worker::ProofLevel;
use zklanes::service::{run as serve, ServiceConfig};

/// Arguments of `serve`.
#[derive(Args)]
pub struct ServeArgs {
    /// Data directory: event log, executor state, proofs, key cache.
    #[arg(long)]
    data_dir: PathBuf,
    /// Listen address (port 0 picks a free port; the address is printed).
    #[arg(long, default_value = "127.0.0.1:8545")]
    listen: SocketAddr,
    /// Also ingest batch files dropped into this folder.
    #[arg(long)]
    watch: Option<PathBuf>,
    /// Prover workers.
    #[arg(long, default_value_t = 1)]
    workers: usize,
    /// Slots per chunk.
    #[arg(long, default_value_t = DEMO_CAPACITY)]
    capacity: usize,
    /// How far to prove each batch.
    #[arg(long, value_enum, default_value_t = ProofLevel::Final)]
    proof_level: ProofLevel,
    /// Most batches one final proof settles: consecutive batches already
    /// executed when a proof starts are bundled (within the tree's width in
    /// chunks), so one L1 verification settles them all.
    #[arg(long, default_value_t = 1)]
    max_bundle: usize,
    /// Log format.
    #[arg(long, default_value = "pretty")]
    pub log_format: String,
    /// Largest batch event, bytes.
    #[arg(long, default_value_t = 16 << 20)]
    max_event_bytes: usize,
    /// Key cache (default: `$ZKLANES_CACHE_DIR`, else `DATA_DIR/keys`).
    #[arg(long)]
    cache_dir: Option<PathBuf>,
    /// Powers-of-Tau params directory (default: development SRS, insecure).
    #[arg(long)]
    params_dir: Option<PathBuf>,
}

/// Runs `serve`.
pub fn run(a: ServeArgs) -> Result<()> {
    let mut setup = ProverSetup::with_workers(
        Some(super::demo::data_cache_dir(
            a.cache_dir.as_ref(),
            &a.data_dir,
        )),
        a.workers,
    );
    setup.params_dir = a.params_dir.clone();
    if setup.params_dir.is_none() {
        tracing::warn!("SRS: development setup, INSECURE (its secret is public)");
    }
    let cfg = ServiceConfig {
        data_dir: a.data_dir,
        listen: a.listen,
        watch: a.watch,
        proof: ProofConfig::two_chunks(a.capacity.max(1)),
        level: a.proof_level,
        setup,
        max_bytes: a.max_event_bytes,
        threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
        max_bundle: a.max_bundle.max(1),
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the runtime")?;
    rt.block_on(serve(cfg))?;
    Ok(())
}
