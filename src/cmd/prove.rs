//! `zklanes prove`: execute a batch into a data directory and prove it:
//! chunk proofs on the worker pool, the aggregation tree and the final
//! proof, written with its public inputs and verifying key under
//! `DATA_DIR/proofs/batch-{n}/`.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context, Result};
use clap::Args;
use serde_json::json;
use zklanes::pipeline::{ProofConfig, Prover, ProverSetup, DEMO_CAPACITY};
use zklanes::proof_file::{bytes_hex, fr_hex, write_json, InnerProofFile};
use zklanes_aggregator::tree::BatchProof;
use zklanes_executor::{Batch, Rollup, RollupConfig};
use zklanes_prover::rss::peak_rss_mb;

use super::progress::Progress;

/// Arguments of `prove`.
#[derive(Args)]
pub struct ProveArgs {
    /// Batch file (JSON or bincode), the next batch of the data directory.
    #[arg(long)]
    batch: PathBuf,
    /// Data directory: state (sled), proofs, and the key cache.
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
    #[arg(long, default_value_t = DEMO_CAPACITY)]
    capacity: usize,
    /// Key cache (default: `$ZKLANES_CACHE_DIR`, else `DATA_DIR/keys`).
    #[arg(long)]
    cache_dir: Option<PathBuf>,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

/// Runs `prove`.
pub fn run(a: ProveArgs) -> Result<()> {
    let config = ProofConfig::two_chunks(a.capacity.max(1));
    let bytes =
        std::fs::read(&a.batch).with_context(|| format!("reading {}", a.batch.display()))?;
    let batch = Batch::decode(&bytes).context("invalid batch")?;
    let mut setup = ProverSetup::with_workers(
        Some(
            a.cache_dir
                .clone()
                .or_else(super::demo::env_cache_dir)
                .unwrap_or_else(|| a.data_dir.join("keys")),
        ),
        a.workers,
    );
    if let Some(t) = a.threads_per_worker {
        setup.threads_per_worker = t.max(1);
    }
    setup.params_dir = a.params_dir.clone();
    if setup.params_dir.is_none() {
        eprintln!("SRS: development setup, INSECURE (its secret is public)");
    }
    let mut rollup = Rollup::open(
        &a.data_dir.join("state"),
        RollupConfig {
            chain_id: batch.chain_id,
            chunk_capacity: config.shape.capacity,
            ..Default::default()
        },
    )?;
    let out = rollup.apply(&batch).context("the batch was rejected")?;
    if out.chunks.len() > config.width() {
        return Err(anyhow!(
            "batch {} has {} chunks; one final proof holds {} chunks of {} slots (raise --capacity)",
            out.number,
            out.chunks.len(),
            config.width(),
            config.shape.capacity
        ));
    }
    let p = Progress::new(1, "SRS and keys");
    let prover = Prover::open(config.clone(), &setup).context("loading or generating keys")?;
    p.done(&format!("keys in {:.1} s", prover.keys.keys_ms / 1e3));
    p.finish();
    let p = Progress::new(3, "proving");
    let proof = prover
        .prove(&out.chunks, &|r| p.proof(r))
        .context("proving the batch")?;
    p.finish();
    let dir = a
        .data_dir
        .join("proofs")
        .join(format!("batch-{}", out.number));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let file = prover.final_proof_file(out.number, batch.txs.len(), out.chunks.len(), &proof)?;
    let final_path = dir.join("final.json");
    write_inner(&dir, &proof)?;
    file.write(&final_path)?;
    let chunk_ms: Vec<f64> = proof
        .records
        .iter()
        .filter(|r| r.layer == 0)
        .map(|r| r.ms)
        .collect();
    let summary = json!({
        "batch": out.number,
        "txs": batch.txs.len(),
        "chunks": out.chunks.len(),
        "proof": final_path,
        "state_root": out.state_root_hex(),
        "chunk_proofs_s": proof.chunks_ms / 1e3,
        "chunk_proof_ms": chunk_ms,
        "workers": setup.workers,
        "threads_per_worker": setup.threads_per_worker,
        "layers": proof.records.iter().filter(|r| r.layer > 0).collect::<Vec<_>>(),
        "keys_s": prover.keys.keys_ms / 1e3,
        "peak_rss_mb": peak_rss_mb(),
    });
    if a.json {
        println!("{summary}");
    } else {
        println!("batch {} proven: {}", out.number, final_path.display());
        println!("  state root  {}", out.state_root_hex());
        println!(
            "  chunk proofs {:.1} s on {} worker(s)",
            proof.chunks_ms / 1e3,
            setup.workers
        );
    }
    Ok(())
}

/// Writes the chunk and aggregation proofs below the final one.
fn write_inner(dir: &Path, proof: &BatchProof) -> Result<()> {
    for p in &proof.inner {
        let name = if p.layer == 0 {
            format!("chunk-{}.json", p.index)
        } else {
            format!("layer-{}-{}.json", p.layer, p.index)
        };
        write_json(
            &dir.join(name),
            &InnerProofFile {
                layer: p.layer,
                index: p.index,
                instances: p.instances.iter().map(fr_hex).collect(),
                proof: bytes_hex(&p.proof),
            },
        )?;
    }
    Ok(())
}
