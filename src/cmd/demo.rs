//! `zklanes demo`: the pipeline on an embedded default batch.
//!
//! Today the pipeline runs its first stage: a mixed DeFi batch (deposits,
//! transfers, swaps, liquidity, withdrawals) is executed in parallel into a
//! temporary sled store and split into chunk traces. Proving, aggregation and
//! EVM verification are the next stages of the pipeline and are reported as
//! not yet available.

use std::time::Instant;

use anyhow::{Context, Result};
use clap::Args;
use serde_json::json;
use zklanes_executor::genbatch::{generate, GenConfig, Workload};
use zklanes_executor::params::DEFAULT_CHAIN_ID;
use zklanes_executor::{Rollup, RollupConfig};

/// Arguments of `demo`.
#[derive(Args)]
pub struct DemoArgs {
    /// Workload transactions on top of the genesis.
    #[arg(long, default_value_t = 2_000)]
    txs: usize,
    /// Accounts.
    #[arg(long, default_value_t = 200)]
    accounts: u32,
    /// Threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Print a JSON object as the last line.
    #[arg(long)]
    json: bool,
}

/// Runs `demo`.
pub fn run(a: DemoArgs) -> Result<()> {
    let threads = a
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let started = Instant::now();
    eprintln!(
        "zklanes demo: generating a mixed DeFi batch ({} txs, {} accounts)...",
        a.txs,
        a.accounts.max(2)
    );
    let cfg = GenConfig {
        workload: Workload::Mixed,
        txs: a.txs,
        accounts: a.accounts.max(2),
        seed: 42,
        chain_id: DEFAULT_CHAIN_ID,
        sign: true,
    };
    let gen = generate(&cfg);
    let genesis_txs = gen.genesis.len();
    let batch = gen.into_batch(DEFAULT_CHAIN_ID);
    let dir = tempfile::tempdir().context("creating a temporary data directory")?;
    let mut rollup = Rollup::open(
        dir.path(),
        RollupConfig {
            threads,
            ..Default::default()
        },
    )?;
    eprintln!(
        "executing {} transactions on {threads} threads...",
        batch.txs.len()
    );
    let out = rollup
        .apply(&batch)
        .context("the demo batch was rejected")?;
    let m = &out.metrics;
    let n = batch.txs.len();
    let exec_tps = n as f64 / (m.exec.execution_ms / 1e3).max(1e-9);
    let mut kinds = std::collections::BTreeMap::<String, usize>::new();
    for tx in &batch.txs {
        *kinds.entry(format!("{:?}", tx.body.tx_type())).or_default() += 1;
    }
    println!("zklanes demo (stage 1 of 4: execution and traces)");
    println!("  transactions        {n} ({genesis_txs} genesis)");
    for (k, v) in &kinds {
        println!("    {k:<17} {v}");
    }
    println!("  signatures          {:>10.1} ms", m.exec.signatures_ms);
    println!(
        "  execution           {:>10.1} ms  ({exec_tps:.0} tx/s, {threads} threads)",
        m.exec.execution_ms
    );
    println!(
        "  commitment+traces   {:>10.1} ms  ({} leaf updates, {} Poseidon hashes)",
        m.commitment_ms, m.commit.updates, m.commit.hashes
    );
    println!("  persist (sled)      {:>10.1} ms", m.persist_ms);
    println!("  chunk traces        {}", out.chunks.len());
    println!("  state root          {}", out.state_root_hex());
    println!("  chunk proofs, aggregation, EVM verification: not yet implemented (later pipeline stages)");
    println!(
        "  wall time           {:>10.1} s",
        started.elapsed().as_secs_f64()
    );
    if a.json {
        println!(
            "{}",
            json!({
                "txs": n,
                "exec_tps": exec_tps,
                "chunks": out.chunks.len(),
                "state_root": out.state_root_hex(),
                "trace_hash": format!("0x{}", hex::encode(out.trace_hash)),
                "chunk_prove_s": null,
                "aggregate_s": null,
                "evm_gas": null,
                "verified": false,
            })
        );
    }
    Ok(())
}
