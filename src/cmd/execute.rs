//! `zklanes execute`: apply one batch and report the result.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{anyhow, Context, Result};
use clap::Args;
use serde_json::json;
use zklanes_executor::exec::Engine;
use zklanes_executor::params::{DEFAULT_CHAIN_ID, DEFAULT_CHUNK_CAPACITY};
use zklanes_executor::{Batch, Rollup, RollupConfig};

/// Arguments of `execute`.
#[derive(Args)]
pub struct ExecuteArgs {
    /// Batch file (JSON or bincode).
    #[arg(long)]
    batch: PathBuf,
    /// Threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Persist state in this sled directory (else in memory from an empty state).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
    /// parallel | sequential
    #[arg(long, default_value = "parallel")]
    engine: String,
    /// Transactions per chunk trace.
    #[arg(long, default_value_t = DEFAULT_CHUNK_CAPACITY)]
    chunk_capacity: usize,
    /// Chain id.
    #[arg(long, default_value_t = DEFAULT_CHAIN_ID)]
    chain_id: u32,
    /// Write the chunk traces (JSON) into this directory.
    #[arg(long)]
    traces_out: Option<PathBuf>,
}

/// Runs `execute`.
pub fn run(a: ExecuteArgs) -> Result<()> {
    let engine = match a.engine.as_str() {
        "parallel" => Engine::Parallel,
        "sequential" => Engine::Sequential,
        e => return Err(anyhow!("unknown engine {e:?}: use parallel or sequential")),
    };
    let threads = a
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    if threads == 0 || a.chunk_capacity == 0 {
        return Err(anyhow!("--threads and --chunk-capacity must be positive"));
    }
    let bytes =
        std::fs::read(&a.batch).with_context(|| format!("reading {}", a.batch.display()))?;
    let batch = Batch::decode(&bytes).context("invalid batch")?;
    let cfg = RollupConfig {
        chain_id: a.chain_id,
        threads,
        chunk_capacity: a.chunk_capacity,
        engine,
    };
    let mut rollup = match &a.data_dir {
        Some(d) => Rollup::open(d, cfg).with_context(|| format!("opening {}", d.display()))?,
        None => Rollup::in_memory(cfg),
    };
    let t = Instant::now();
    let out = rollup.apply(&batch).context("batch rejected")?;
    let total_ms = t.elapsed().as_secs_f64() * 1e3;
    if let Some(dir) = &a.traces_out {
        std::fs::create_dir_all(dir)?;
        for c in &out.chunks {
            let path = dir.join(format!("batch{}_chunk{}.json", c.batch, c.chunk));
            std::fs::write(&path, serde_json::to_vec(c)?)
                .with_context(|| format!("writing {}", path.display()))?;
        }
    }
    let m = &out.metrics;
    let exec_ms = m.exec.execution_ms;
    let n = batch.txs.len();
    let report = json!({
        "batch": out.number,
        "txs": n,
        "threads": threads,
        "engine": a.engine,
        "state_root": out.state_root_hex(),
        "trace_hash": format!("0x{}", hex::encode(out.trace_hash)),
        "chunks": out.chunks.len(),
        "exec_ms": exec_ms,
        "tps": n as f64 / (exec_ms / 1e3).max(1e-9),
        "signatures_ms": m.exec.signatures_ms,
        "static_ms": m.exec.static_ms,
        "commitment_ms": m.commitment_ms,
        "replay_ms": m.commit.replay_ms,
        "tree_ms": m.commit.tree_ms,
        "traces_ms": m.commit.traces_ms,
        "persist_ms": m.persist_ms,
        "total_ms": total_ms,
        "reexecutions": m.exec.reexecutions,
        "conflicts": m.exec.conflicts,
        "waits": m.exec.waits,
        "fell_back": m.exec.fell_back,
        "leaf_updates": m.commit.updates,
        "hashes": m.commit.hashes,
    });
    if a.json {
        println!("{report}");
    } else {
        println!("{}", serde_json::to_string_pretty(&report)?);
    }
    Ok(())
}
