//! `zklanes bench pool`: chunk-proof throughput of the prover pool with
//! `W` workers sharing this machine's cores (each worker on its own rayon
//! pool of `cores / W` threads), measured side by side in one run over the
//! same chunks, with the same keys (cached).

use std::sync::Arc;
use std::time::Instant;

use anyhow::{anyhow, Context as _, Result};
use clap::Args;
use serde_json::json;
use zklanes_circuits::chunk::ChunkShape;
use zklanes_executor::genbatch::{generate, GenConfig, Workload};
use zklanes_executor::params::DEFAULT_CHAIN_ID;
use zklanes_executor::{Rollup, RollupConfig};
use zklanes_prover::cache::KeyCache;
use zklanes_prover::chunk::{chunk_k, keygen_cached};
use zklanes_prover::pool::ProverPool;
use zklanes_prover::rss::peak_rss_mb;
use zklanes_prover::srs::{SrsSet, SrsSource};

/// Arguments of `bench pool`.
#[derive(Args)]
pub struct PoolBench {
    /// Print JSON lines only.
    #[arg(long)]
    json: bool,
    /// Transaction slots per chunk.
    #[arg(long, default_value_t = 7)]
    capacity: usize,
    /// Chunks to prove per run.
    #[arg(long, default_value_t = 4)]
    chunks: usize,
    /// Worker counts to compare (comma-separated).
    #[arg(long, default_value = "1,2")]
    workers: String,
    /// Key cache (default: the demo's).
    #[arg(long)]
    cache_dir: Option<std::path::PathBuf>,
}

/// Runs `bench pool`.
pub fn run(b: PoolBench) -> Result<()> {
    let shape = ChunkShape {
        capacity: b.capacity.max(1),
        chain_id: DEFAULT_CHAIN_ID,
    };
    let workers: Vec<usize> = b
        .workers
        .split(',')
        .map(|w| {
            w.trim()
                .parse()
                .map_err(|_| anyhow!("bad worker count {w:?}"))
        })
        .collect::<Result<_>>()?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let gen = generate(&GenConfig {
        workload: Workload::Compact,
        txs: shape.capacity * (b.chunks + 1),
        accounts: 8,
        seed: 3,
        chain_id: DEFAULT_CHAIN_ID,
        sign: true,
    });
    let mut rollup = Rollup::in_memory(RollupConfig {
        chunk_capacity: shape.capacity,
        ..Default::default()
    });
    let mut traces = rollup
        .apply(&gen.into_batch(DEFAULT_CHAIN_ID))
        .context("executing the batch")?
        .chunks;
    traces.truncate(b.chunks);
    let cache = KeyCache::new(
        b.cache_dir
            .unwrap_or_else(zklanes_pipeline::data_dir::user_cache_dir),
    )?;
    let srs = SrsSet::new(SrsSource::Development(Some(cache.clone())));
    let k = chunk_k(&shape);
    let params = srs.get(k)?;
    let (keys, _) = keygen_cached(&params, &shape, Some(&cache))?;
    let keys = Arc::new(keys);
    let mut base = None;
    for w in workers {
        let pool = ProverPool::local(
            w,
            (cores / w.max(1)).max(1),
            params.clone(),
            keys.clone(),
            1,
        )?;
        let clock = Instant::now();
        let (proofs, _) = pool.prove_all(&traces)?;
        let s = clock.elapsed().as_secs_f64();
        let per_min = proofs.len() as f64 / s * 60.0;
        let speedup = per_min / *base.get_or_insert(per_min);
        let line = json!({
            "bench": "pool",
            "workers": w,
            "threads_per_worker": (cores / w.max(1)).max(1),
            "capacity": shape.capacity,
            "k": k,
            "chunks": proofs.len(),
            "wall_s": s,
            "proofs_per_min": per_min,
            "speedup": speedup,
            "peak_rss_mb": peak_rss_mb(),
        });
        println!("{line}");
    }
    Ok(())
}
