//! `zklanes prove`: execute a batch (or several consecutive batches, a
//! bundle) into a data directory and prove it: chunk proofs on the worker
//! pool, the aggregation tree and one final proof, written with its public
//! inputs, verifying key and L1 data under `DATA_DIR/proofs/batch-{n}/`
//! (`bundle-{first}-{last}/` for a bundle) with its `finalize` calldata and
//! the proofs below it (`zklanes_pipeline::data_dir`).

use std::path::PathBuf;

use anyhow::{anyhow, Context, Result};
use clap::Args;
use serde_json::json;
use zklanes_executor::params::{DEFAULT_CHAIN_ID, DEMO_CHUNK_CAPACITY};
use zklanes_executor::{Batch, Rollup, RollupConfig};
use zklanes_pipeline::batch_prover::BatchProver;
use zklanes_pipeline::config::ProofConfig;
use zklanes_pipeline::data_dir::DataDir;
use zklanes_pipeline::setup::ProverSetup;
use zklanes_prover::rss::peak_rss_mb;

use super::progress::Progress;

/// Arguments of `prove`.
#[derive(Args)]
pub struct ProveArgs {
    /// Batch file (JSON or bincode), the next batch of the data directory.
    /// Repeat it for consecutive batches: they are proven together as one
    /// bundle, settled on L1 by one final proof.
    #[arg(long, required = true)]
    batch: Vec<PathBuf>,
    /// Data directory: state (sled), proofs, and the key cache (the same
    /// directory `serve`, `execute` and `status` take).
    #[arg(long)]
    data_dir: PathBuf,
    /// Prover workers.
    #[arg(long, default_value_t = 1)]
    workers: usize,
    /// Threads of each worker (default: the cores divided among the workers).
    #[arg(long)]
    threads_per_worker: Option<usize>,
    /// Powers-of-Tau-derived `kzg_bn254_{k}.srs` files (default: the
    /// development SRS, insecure).
    #[arg(long)]
    params_dir: Option<PathBuf>,
    /// Slots per chunk.
    #[arg(long, default_value_t = DEMO_CHUNK_CAPACITY)]
    capacity: usize,
    /// Chain id bound into the chunk circuit; every batch must be of it.
    #[arg(long, default_value_t = DEFAULT_CHAIN_ID)]
    chain_id: u32,
    /// Key cache (default: `$ZKLANES_CACHE_DIR`, else `DATA_DIR/keys`).
    #[arg(long)]
    cache_dir: Option<PathBuf>,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

/// Runs `prove`.
pub fn run(a: ProveArgs) -> Result<()> {
    let config = ProofConfig::two_chunks_on(a.capacity.max(1), a.chain_id);
    let data = DataDir::new(&a.data_dir);
    let batches = a
        .batch
        .iter()
        .map(|p| {
            let bytes = std::fs::read(p).with_context(|| format!("reading {}", p.display()))?;
            Batch::decode(&bytes).with_context(|| format!("invalid batch {}", p.display()))
        })
        .collect::<Result<Vec<_>>>()?;
    if let Some(b) = batches.iter().find(|b| b.chain_id != a.chain_id) {
        return Err(anyhow!(
            "batch {} is of chain {}, this prover's is {} (--chain-id)",
            b.number,
            b.chain_id,
            a.chain_id
        ));
    }
    // Every chunk of the bundle must fit the tree: checked before the state moves.
    let chunks: usize = batches
        .iter()
        .map(|b| b.txs.len().div_ceil(config.shape.capacity).max(1))
        .sum();
    if chunks > config.width() {
        return Err(anyhow!(
            "{} batch(es) make {chunks} chunks; one final proof holds {} chunks of {} slots (raise --capacity)",
            batches.len(),
            config.width(),
            config.shape.capacity
        ));
    }
    let mut setup = ProverSetup::with_workers(Some(data.keys(a.cache_dir.as_deref())), a.workers);
    if let Some(t) = a.threads_per_worker {
        setup.threads_per_worker = t.max(1);
    }
    setup.params_dir = a.params_dir.clone();
    if setup.params_dir.is_none() {
        eprintln!("SRS: development setup, INSECURE (its secret is public)");
    }
    let mut rollup = Rollup::open(
        &data.state(),
        RollupConfig {
            chain_id: a.chain_id,
            chunk_capacity: config.shape.capacity,
            ..Default::default()
        },
    )?;
    let mut traces = vec![];
    let mut last = None;
    for batch in &batches {
        let out = rollup
            .apply(batch)
            .with_context(|| format!("batch {} was rejected", batch.number))?;
        traces.extend(out.chunks.iter().cloned());
        last = Some(out);
    }
    let out = last.ok_or_else(|| anyhow!("no batch"))?;
    let first = batches[0].number;
    let txs: usize = batches.iter().map(|b| b.txs.len()).sum();
    if traces.len() > config.width() {
        return Err(anyhow!(
            "{} chunks; one final proof holds {}",
            traces.len(),
            config.width()
        ));
    }
    let p = Progress::new(1, "SRS and keys");
    let prover = BatchProver::open(config.clone(), &setup).context("loading or generating keys")?;
    p.done(&format!("keys in {:.1} s", prover.keys.keys_ms / 1e3));
    p.finish();
    let p = Progress::new(3, "proving");
    let proof = prover
        .prove(&traces, &|r| p.proof(r))
        .context("proving the batch")?;
    p.finish();
    let file = prover.final_proof_file(first, batches.len() as u64, txs, traces.len(), &proof)?;
    let final_path = data.write_proof(&file, &proof)?;
    let chunk_ms: Vec<f64> = proof
        .records
        .iter()
        .filter(|r| r.layer == 0)
        .map(|r| r.ms)
        .collect();
    let summary = json!({
        "batch": first,
        "batches": batches.len(),
        "txs": txs,
        "chunks": traces.len(),
        "proof": final_path,
        "state_root": out.state_root_hex(),
        "chunk_proofs_s": proof.chunks_ms / 1e3,
        "chunk_proof_ms": chunk_ms,
        "workers": setup.workers,
        "threads_per_worker": setup.threads_per_worker,
        "layers": proof.records.iter().filter(|r| r.layer > 0).collect::<Vec<_>>(),
        "keys_s": prover.keys.keys_ms / 1e3,
        "srs": prover.srs.label(),
        "srs_insecure": prover.srs.is_insecure(),
        "peak_rss_mb": peak_rss_mb(),
    });
    if a.json {
        println!("{summary}");
    } else {
        println!(
            "batches {first}..={} proven: {}",
            out.number,
            final_path.display()
        );
        println!("  state root  {}", out.state_root_hex());
        println!(
            "  chunk proofs {:.1} s on {} worker(s)",
            proof.chunks_ms / 1e3,
            setup.workers
        );
    }
    Ok(())
}
