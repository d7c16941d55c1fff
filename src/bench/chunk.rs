//! `zklanes bench chunk`: one real chunk proof at a given capacity, phase by
//! phase: development SRS, keygen, witness, proof, verification, and the
//! process's peak memory. The chunk is a full chunk of the signed mixed
//! workload (transfers, swaps, liquidity, withdrawals).

use std::time::Instant;

use anyhow::{anyhow, Context as _, Result};
use clap::Args;
use serde_json::json;
use zklanes_circuits::chunk::layout::chunk_layout;
use zklanes_circuits::chunk::ChunkShape;
use zklanes_executor::genbatch::{generate, GenConfig, Workload};
use zklanes_executor::params::DEFAULT_CHAIN_ID;
use zklanes_executor::{Rollup, RollupConfig};
use zklanes_prover::chunk::{keygen, prove};
use zklanes_prover::rss::peak_rss_mb;
use zklanes_prover::srs::dev_params;

/// Arguments of `bench chunk`.
#[derive(Args)]
pub struct ChunkBench {
    /// Print one JSON line only.
    #[arg(long)]
    json: bool,
    /// Transaction slots.
    #[arg(long, default_value_t = zklanes_executor::params::TEST_CHUNK_CAPACITY)]
    capacity: usize,
}

/// Runs `bench chunk`.
pub fn run(b: ChunkBench) -> Result<()> {
    if b.capacity == 0 {
        return Err(anyhow!("--capacity must be positive"));
    }
    let shape = ChunkShape {
        capacity: b.capacity,
        chain_id: DEFAULT_CHAIN_ID,
    };
    let (cost, k) = chunk_layout(&shape);
    let gen = generate(&GenConfig {
        workload: Workload::Mixed,
        txs: 3 * b.capacity,
        accounts: 20,
        seed: 7,
        chain_id: DEFAULT_CHAIN_ID,
        sign: true,
    });
    let mut rollup = Rollup::in_memory(RollupConfig {
        chunk_capacity: b.capacity,
        ..Default::default()
    });
    let mut chunks = rollup
        .apply(&gen.into_batch(DEFAULT_CHAIN_ID))
        .context("executing the mixed batch")?
        .chunks;
    // The second-to-last chunk is full and holds workload transactions only.
    let trace = chunks.remove(chunks.len().saturating_sub(2));
    let log = |m: &str| {
        if !b.json {
            eprintln!("{m}");
        }
    };
    log(&format!(
        "chunk of {} slots at k={k}: development SRS (INSECURE) ...",
        b.capacity
    ));
    let clock = Instant::now();
    let params = dev_params(k as u32);
    let srs_s = clock.elapsed().as_secs_f64();
    log("keygen ...");
    let clock = Instant::now();
    let keys = keygen(&params, &shape)?;
    let keygen_s = clock.elapsed().as_secs_f64();
    log("proving ...");
    let proof = prove(&params, &keys, &trace)?;
    let t = proof.timings;
    let line = json!({
        "bench": "chunk",
        "capacity": b.capacity,
        "txs": trace.txs.len(),
        "k": k,
        "advice_cells": cost.total_advice(),
        "threads": rayon::current_num_threads(),
        "srs_s": srs_s,
        "keygen_s": keygen_s,
        "witness_s": t.witness_ms / 1e3,
        "prove_s": t.prove_ms / 1e3,
        "verify_ms": t.verify_ms,
        "proof_bytes": proof.snark.proof.len(),
        "peak_rss_mb": peak_rss_mb(),
        "srs": "development (insecure)",
    });
    println!("{line}");
    Ok(())
}
