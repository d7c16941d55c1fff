//! `zklanes worker`: a prover worker on the PostgreSQL job queue
//! (`zklanes-distributed`). Run any number, on any number of machines:
//! each needs the database URL and a key cache, nothing else.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Args;
use zklanes_distributed::job_prover::JobProver;
use zklanes_distributed::worker::{run_worker, WorkerConfig};
use zklanes_executor::params::{DEFAULT_CHAIN_ID, DEMO_CHUNK_CAPACITY};
use zklanes_pipeline::batch_prover::BatchProver;
use zklanes_pipeline::config::ProofConfig;
use zklanes_pipeline::data_dir::user_cache_dir;
use zklanes_pipeline::setup::ProverSetup;
use zklanes_queue::{JobKind, JobQueue, QueueOptions};

/// Arguments of `worker`.
#[derive(Args)]
pub struct WorkerArgs {
    /// The job queue's PostgreSQL URL (`postgres://USER@HOST:PORT/DB`).
    #[arg(long)]
    queue: String,
    /// Schema of the queue's tables (the service's `--queue-schema`).
    #[arg(long)]
    queue_schema: Option<String>,
    /// Key cache (default: `$ZKLANES_CACHE_DIR`, else `~/.cache/zklanes`).
    #[arg(long)]
    cache_dir: Option<PathBuf>,
    /// Powers-of-Tau params directory (default: development SRS, insecure).
    #[arg(long)]
    params_dir: Option<PathBuf>,
    /// Job kinds to take, comma-separated: chunk, aggregate, final. Keys
    /// are loaded for these only (chunk alone needs no aggregation keys).
    #[arg(long, value_delimiter = ',', default_value = "chunk,aggregate,final")]
    kinds: Vec<String>,
    /// Proving threads (default: every core).
    #[arg(long)]
    threads: Option<usize>,
    /// Slots per chunk (the service's `--capacity`).
    #[arg(long, default_value_t = DEMO_CHUNK_CAPACITY)]
    capacity: usize,
    /// Chain id (the service's `--chain-id`).
    #[arg(long, default_value_t = DEFAULT_CHAIN_ID)]
    chain_id: u32,
    /// This worker's name in the queue (default: host name and process id).
    #[arg(long)]
    name: Option<String>,
    /// Lease length, seconds; a heartbeat every third of it extends it.
    #[arg(long, default_value_t = 60.0)]
    lease_secs: f64,
    /// Wait between claims when nothing is claimable, ms.
    #[arg(long, default_value_t = 500)]
    poll_ms: u64,
    /// Stop after this many jobs.
    #[arg(long)]
    max_jobs: Option<usize>,
    /// Stop once nothing has been claimable for this many seconds.
    #[arg(long)]
    idle_exit_secs: Option<f64>,
    /// Log format (`pretty` or `json`).
    #[arg(long, default_value = "pretty")]
    pub log_format: String,
}

fn kinds(names: &[String]) -> Result<Vec<JobKind>> {
    names
        .iter()
        .map(|n| JobKind::parse(n.trim()).map_err(|e| anyhow::anyhow!("--kinds: {e}")))
        .collect()
}

fn default_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "worker".into());
    format!("{host}-{}", std::process::id())
}

/// Runs `worker`.
pub fn run(a: WorkerArgs) -> Result<()> {
    let kinds = kinds(&a.kinds)?;
    if kinds.is_empty() {
        anyhow::bail!("--kinds: no job kind");
    }
    if let Some(t) = a.threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(t.max(1))
            .build_global()
            .context("setting the proving threads")?;
    }
    let lease = Duration::try_from_secs_f64(a.lease_secs)
        .ok()
        .filter(|d| *d >= Duration::from_secs(1))
        .context("--lease-secs: at least 1 second")?;
    let name = a.name.clone().unwrap_or_else(default_name);
    let config = ProofConfig::two_chunks_on(a.capacity.max(1), a.chain_id);
    let mut setup =
        ProverSetup::with_workers(Some(a.cache_dir.clone().unwrap_or_else(user_cache_dir)), 1);
    setup.params_dir = a.params_dir.clone();
    if setup.params_dir.is_none() {
        tracing::warn!("SRS: development setup, INSECURE (its secret is public)");
    }
    let layers = kinds.iter().any(|k| *k != JobKind::Chunk);
    tracing::info!(worker = %name, layers, "loading SRS and keys");
    let prover = if layers {
        BatchProver::open(config, &setup)?
    } else {
        BatchProver::open_chunks(config, &setup)?
    };
    let prover = Arc::new(JobProver::new(Arc::new(prover))?);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the runtime")?;
    let stop = Arc::new(AtomicBool::new(false));
    let abandon = Arc::new(AtomicBool::new(false));
    let cfg = WorkerConfig {
        name,
        kinds,
        lease,
        poll: Duration::from_millis(a.poll_ms.max(10)),
        max_jobs: a.max_jobs,
        idle_exit: a
            .idle_exit_secs
            .and_then(|s| Duration::try_from_secs_f64(s).ok()),
    };
    let summary = rt.block_on(async {
        let options = QueueOptions {
            schema: a.queue_schema.clone(),
            ..Default::default()
        };
        let queue = JobQueue::connect(&a.queue, options).await?;
        // First SIGTERM or Ctrl-C: finish the job in flight, then stop.
        // Second: release its lease and stop now.
        let (s, ab) = (stop.clone(), abandon.clone());
        tokio::spawn(async move {
            let mut term =
                match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                    Ok(t) => t,
                    Err(_) => return,
                };
            for _ in 0..2 {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
                if s.swap(true, Ordering::SeqCst) {
                    tracing::warn!("second signal: releasing the job in flight");
                    ab.store(true, Ordering::SeqCst);
                } else {
                    tracing::info!("signal: finishing the job in flight, then stopping");
                }
            }
        });
        let r = run_worker(queue.clone(), prover, cfg, stop, abandon).await;
        queue.close().await;
        r.map_err(anyhow::Error::from)
    })?;
    println!(
        "{}",
        serde_json::json!({
            "accepted": summary.accepted,
            "refused_stale": summary.refused_stale,
            "refused_invalid": summary.refused_invalid,
            "failed": summary.failed,
            "released": summary.released,
            "prove_ms": summary.prove_ms,
        })
    );
    rt.shutdown_timeout(Duration::from_secs(1));
    Ok(())
}
