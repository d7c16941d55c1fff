//! `zklanes demo`: the whole pipeline on an embedded default batch.
//!
//! A compact mixed DeFi batch (deposits, transfers, swaps, liquidity,
//! withdrawals) is executed in parallel into a temporary sled store and
//! split into chunk traces; the chunks are proven on the worker pool,
//! folded by the aggregation tree into one final proof, verified natively
//! and then settled on L1: the generated verifier and the Rollup contract
//! run in revm. The SRS is the development one (**insecure**). Keys and the
//! SRS are cached (`--cache-dir`), so only the first run generates them.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{anyhow, Context, Result};
use clap::Args;
use serde_json::json;
use zklanes_circuits::field::to_halo2;
use zklanes_executor::genbatch::{generate, GenConfig, Workload};
use zklanes_executor::params::{DEFAULT_CHAIN_ID, DEMO_CHUNK_CAPACITY};
use zklanes_executor::{Rollup, RollupConfig};
use zklanes_l1::settle::settle;
use zklanes_pipeline::batch_prover::BatchProver;
use zklanes_pipeline::config::ProofConfig;
use zklanes_pipeline::data_dir::user_cache_dir;
use zklanes_pipeline::hex::fr_hex;
use zklanes_pipeline::setup::ProverSetup;
use zklanes_prover::rss::peak_rss_mb;

use super::progress::Progress;

/// Arguments of `demo`.
#[derive(Args)]
pub struct DemoArgs {
    /// Workload transactions on top of the genesis (the batch must fit one
    /// final proof: two chunks of `--capacity` slots).
    #[arg(long, default_value_t = 44)]
    txs: usize,
    /// Accounts.
    #[arg(long, default_value_t = 4)]
    accounts: u32,
    /// Slots per chunk (every capacity has its own keys).
    #[arg(long, default_value_t = DEMO_CHUNK_CAPACITY)]
    capacity: usize,
    /// Prover workers for the chunk proofs (the cores are shared among them).
    #[arg(long, default_value_t = 1)]
    workers: usize,
    /// Threads for execution (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Key and SRS cache (default: `$ZKLANES_CACHE_DIR`, else
    /// `$XDG_CACHE_HOME/zklanes`, else `~/.cache/zklanes`).
    #[arg(long)]
    cache_dir: Option<PathBuf>,
    /// Print a JSON object as the last line.
    #[arg(long)]
    json: bool,
    /// Also write what L1 holds after the settlement (deposit events and
    /// finalized data) to this file, for `zklanes reconstruct` and
    /// `zklanes exit-proof`.
    #[arg(long)]
    l1_data_out: Option<PathBuf>,
}

/// Runs `demo`.
pub fn run(a: DemoArgs) -> Result<()> {
    let started = Instant::now();
    let threads = a
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let config = ProofConfig::two_chunks(a.capacity.max(1));
    let cache_dir = a.cache_dir.clone().unwrap_or_else(user_cache_dir);
    eprintln!(
        "zklanes demo: SRS = development setup, INSECURE (its secret is public): for demonstration only"
    );

    // 1. Execution.
    let gen = generate(&GenConfig {
        workload: Workload::Compact,
        txs: a.txs,
        accounts: a.accounts.clamp(2, 1 << 20),
        seed: 42,
        chain_id: DEFAULT_CHAIN_ID,
        sign: true,
    });
    let genesis_txs = gen.genesis.len();
    let batch = gen.into_batch(DEFAULT_CHAIN_ID);
    let n = batch.txs.len();
    if n > config.max_txs() {
        return Err(anyhow!(
            "{n} transactions ({genesis_txs} genesis) do not fit one final proof of {} chunks of {} slots: lower --txs or raise --capacity",
            config.width(),
            config.shape.capacity
        ));
    }
    let dir = tempfile::tempdir().context("creating a temporary data directory")?;
    let mut rollup = Rollup::open(
        dir.path(),
        RollupConfig {
            threads,
            chunk_capacity: config.shape.capacity,
            ..Default::default()
        },
    )?;
    eprintln!("executing {n} transactions ({genesis_txs} genesis) on {threads} threads...");
    let out = rollup
        .apply(&batch)
        .context("the demo batch was rejected")?;
    let m = &out.metrics;
    let exec_tps = n as f64 / (m.exec.execution_ms / 1e3).max(1e-9);

    // 2. Keys (first run: SRS and keygen; then from the cache).
    eprintln!(
        "keys: chunk circuit {} slots (k={}), layers {:?} (cache {})",
        config.shape.capacity,
        config.chunk_k,
        config
            .layers
            .iter()
            .map(|l| format!("fan-in {} k={}", l.fan_in, l.k))
            .collect::<Vec<_>>(),
        cache_dir.display()
    );
    let steps = 1 + config.layers.len() as u64;
    let p = Progress::new(steps, "SRS and keys (a first run generates them: minutes)");
    let setup = ProverSetup::with_workers(Some(cache_dir.clone()), a.workers);
    let prover = BatchProver::open(config.clone(), &setup).context("loading or generating keys")?;
    let keys_s = prover.keys.keys_ms / 1e3;
    let keys_cached = prover.keys.loaded == steps as usize;
    p.done(&format!(
        "keys {} in {keys_s:.1} s",
        if keys_cached {
            "loaded from the cache"
        } else {
            "generated and cached"
        }
    ));
    p.step("EVM verifier (pinned solc)");
    let verifier = prover
        .verifier_bytecode()
        .context("building the EVM verifier")?;
    p.done(&format!("EVM verifier: {} bytes", verifier.len()));
    p.finish();

    // 3. Proofs.
    let p = Progress::new(
        (config.width() + nodes(&config)) as u64,
        &format!(
            "{} chunk proofs on {} worker(s), then aggregation",
            config.width(),
            setup.workers
        ),
    );
    let proof = prover
        .prove(&out.chunks, &|r| p.proof(r))
        .context("proving the batch")?;
    p.finish();
    let chunk_prove_s = proof.chunks_ms / 1e3;
    let aggregate_s: f64 = proof
        .records
        .iter()
        .filter(|r| r.layer > 0)
        .map(|r| r.ms / 1e3)
        .sum();

    // 4. L1 settlement in revm.
    let settlement = settle(
        config.shape.chain_id,
        &verifier,
        batch.number,
        1,
        &proof.instances,
        &proof.proof,
        &proof.l1,
    )
    .context("settling on L1 (revm)")?;
    let expected_root = fr_hex(&to_halo2(&out.state_root));
    // 5. The state rebuilt from nothing but what L1 holds (the deposit
    // events and the finalized data), as a user or an exit tool would.
    let reconstructed = zklanes_l1::reconstruct::reconstruct(&settlement.log);
    let reconstructed_root_matches = match &reconstructed {
        Ok(r) => r.root == out.state_root,
        Err(e) => {
            eprintln!("reconstruction from the L1 data failed: {e}");
            false
        }
    };
    if let Some(path) = &a.l1_data_out {
        settlement
            .log
            .write(path)
            .with_context(|| format!("writing the L1 data to {}", path.display()))?;
    }
    let l1_gas_per_tx = settlement.finalize_gas as f64 / n.max(1) as f64;
    let verified = settlement.state_root == expected_root
        && settlement.withdrawals_claimable
        && reconstructed_root_matches;

    let wall_s = started.elapsed().as_secs_f64();
    let peak = peak_rss_mb().unwrap_or(0.0);
    println!("zklanes demo (development SRS: insecure)");
    println!(
        "  transactions          {n} ({genesis_txs} genesis, {} accounts)",
        a.accounts
    );
    println!(
        "  execution             {:>9.1} ms  ({exec_tps:.0} tx/s, {threads} threads)",
        m.exec.execution_ms
    );
    println!(
        "  chunks                {} of {} slots (k={}), padded to {}",
        out.chunks.len(),
        config.shape.capacity,
        config.chunk_k,
        config.width()
    );
    println!(
        "  keys                  {keys_s:>9.1} s   ({})",
        if keys_cached {
            "cached"
        } else {
            "first run: SRS + keygen, now cached"
        }
    );
    println!(
        "  chunk proofs          {chunk_prove_s:>9.1} s   ({} worker(s))",
        setup.workers
    );
    for r in proof.records.iter().filter(|r| r.layer > 0) {
        println!(
            "  layer {} proof {}       {:>9.1} s   (k={}, {} advice cells)",
            r.layer,
            r.index,
            r.ms / 1e3,
            r.k,
            r.advice_cells
        );
    }
    println!(
        "  EVM verification      {:>9} gas (verifier {} bytes)",
        settlement.verify_gas, settlement.verifier_bytes
    );
    println!(
        "  Rollup.finalize       {:>9} gas ({} bytes of public data; {l1_gas_per_tx:.0} gas per transaction)",
        settlement.finalize_gas, settlement.l1_data_bytes
    );
    println!(
        "  L1 deposits queued    {:>9} gas ({} deposits); {} withdrawals {}",
        settlement.deposit_gas,
        settlement.deposits,
        settlement.withdrawals,
        if settlement.withdrawals_claimable {
            "claimable"
        } else {
            "NOT CLAIMABLE"
        }
    );
    println!("  state root            {}", out.state_root_hex());
    println!(
        "  L1 root after settle  {} ({})",
        settlement.state_root,
        if verified { "matches" } else { "MISMATCH" }
    );
    println!(
        "  state rebuilt from L1 {}",
        if reconstructed_root_matches {
            "root matches"
        } else {
            "ROOT MISMATCH"
        }
    );
    println!("  peak memory           {peak:>9.0} MB");
    println!("  wall time             {wall_s:>9.1} s");
    if a.json {
        println!(
            "{}",
            json!({
                "txs": n,
                "genesis_txs": genesis_txs,
                "exec_tps": exec_tps,
                "chunks": out.chunks.len(),
                "capacity": config.shape.capacity,
                "chunk_k": config.chunk_k,
                "workers": setup.workers,
                "keys_s": keys_s,
                "keys_cached": keys_cached,
                "chunk_prove_s": chunk_prove_s,
                "aggregate_s": aggregate_s,
                "layers": proof.records.iter().filter(|r| r.layer > 0).collect::<Vec<_>>(),
                "evm_gas": settlement.verify_gas,
                "finalize_gas": settlement.finalize_gas,
                "deposits": settlement.deposits,
                "deposit_gas": settlement.deposit_gas,
                "deposit_gas_each": settlement.deposit_gas_each,
                "l1_data_bytes": settlement.l1_data_bytes,
                "l1_gas_per_tx": l1_gas_per_tx,
                "reconstructed_root_matches": reconstructed_root_matches,
                "withdrawals": settlement.withdrawals,
                "withdrawals_claimable": settlement.withdrawals_claimable,
                "verifier_bytes": settlement.verifier_bytes,
                "state_root": out.state_root_hex(),
                "l1_state_root": settlement.state_root,
                "verified": verified,
                "peak_rss_mb": peak,
                "wall_s": wall_s,
                "srs": "development (insecure)",
            })
        );
    }
    if !verified {
        return Err(anyhow!(
            "L1 settlement: the Rollup contract's root {} (executor: {expected_root}), withdrawals claimable: {}, state rebuilt from L1: {}",
            settlement.state_root,
            settlement.withdrawals_claimable,
            reconstructed_root_matches
        ));
    }
    Ok(())
}

/// Aggregation proofs of one tree.
fn nodes(config: &ProofConfig) -> usize {
    let mut width = config.width();
    let mut total = 0;
    for l in &config.layers {
        width /= l.fan_in.max(1);
        total += width;
    }
    total
}
