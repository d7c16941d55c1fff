//! `zklanes execute`: apply one batch and report the result.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{anyhow, Context, Result};
use clap::{Args, ValueEnum};
use serde_json::json;
use zklanes_executor::exec::Engine;
use zklanes_executor::params::{DEFAULT_CHAIN_ID, DEMO_CHUNK_CAPACITY};
use zklanes_executor::{Batch, Rollup, RollupConfig};
use zklanes_pipeline::data_dir::DataDir;

/// The execution engine (`--engine`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum EngineArg {
    /// The parallel engine.
    Parallel,
    /// The sequential reference.
    Sequential,
}

impl From<EngineArg> for Engine {
    fn from(e: EngineArg) -> Self {
        match e {
            EngineArg::Parallel => Engine::Parallel,
            EngineArg::Sequential => Engine::Sequential,
        }
    }
}

/// Arguments of `execute`.
#[derive(Args)]
pub struct ExecuteArgs {
    /// Batch file (JSON or bincode).
    #[arg(long)]
    batch: PathBuf,
    /// Threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Persist the state in this data directory (`DATA_DIR/state`, as
    /// `prove`, `serve` and `status` use it); else in memory from an empty
    /// state.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
    /// The execution engine.
    #[arg(long, value_enum, default_value_t = EngineArg::Parallel)]
    engine: EngineArg,
    /// Transactions per chunk trace (as `prove --capacity`).
    #[arg(long, alias = "chunk-capacity", default_value_t = DEMO_CHUNK_CAPACITY)]
    capacity: usize,
    /// Chain id.
    #[arg(long, default_value_t = DEFAULT_CHAIN_ID)]
    chain_id: u32,
    /// Write the chunk traces (JSON) into this directory.
    #[arg(long)]
    traces_out: Option<PathBuf>,
}

/// Runs `execute`.
pub fn run(a: ExecuteArgs) -> Result<()> {
    let threads = a
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    if threads == 0 || a.capacity == 0 {
        return Err(anyhow!("--threads and --capacity must be positive"));
    }
    let bytes =
        std::fs::read(&a.batch).with_context(|| format!("reading {}", a.batch.display()))?;
    let batch = Batch::decode(&bytes).context("invalid batch")?;
    let cfg = RollupConfig {
        chain_id: a.chain_id,
        threads,
        chunk_capacity: a.capacity,
        engine: a.engine.into(),
    };
    let mut rollup = match &a.data_dir {
        Some(d) => {
            let state = DataDir::new(d).state();
            Rollup::open(&state, cfg).with_context(|| format!("opening {}", state.display()))?
        }
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
        "engine": format!("{:?}", a.engine).to_lowercase(),
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
