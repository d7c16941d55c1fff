//! `zklanes bench prover`: the proving cost of a proof tree (development
//! SRS), measured on real proofs: one chunk proof per chunk of a full node
//! (the first layer's fan-in, proven one after another on every core), one
//! real first-layer aggregation node over them, and, with `--final`, the
//! final (EVM) node over that.
//!
//! Two shapes: the deployed one (default: two chunk proofs folded directly
//! by the final EVM layer, so the first node *is* the final node), and with
//! `--tree F` a Poseidon-transcript first layer of fan-in `F` (at
//! `--layer-k`) under a final node of fan-in 1, the shape of batches too
//! large for one layer; its first node measures the aggregation cells per
//! verified chunk proof.
//!
//! Derived figure: proven transactions per core-second **including the
//! aggregation share**. A chunk proves `capacity` transactions in
//! `chunk_s` seconds on `cores` cores; a first-layer node costs
//! `node_s / fan_in` per chunk; with `--final`, the final node costs
//! `final_s / width` per chunk (width = chunks under one final proof). So
//! `tx_per_core_s = capacity / (cores × (chunk_s + node_s / fan_in
//! [+ final_s / width]))`. In the tree without `--final` the final layer's
//! share is left out (said by `includes_final: false`).

use std::time::Instant;

use anyhow::{anyhow, Context as _, Result};
use clap::Args;
use serde_json::json;
use zklanes_aggregator::layer::{prove_node, NodeProof};
use zklanes_aggregator::tree::padded;
use zklanes_executor::genbatch::{generate, GenConfig, Workload};
use zklanes_executor::l1::set_challenge;
use zklanes_executor::params::{DEFAULT_CHAIN_ID, DEMO_CHUNK_CAPACITY};
use zklanes_executor::{Rollup, RollupConfig};
use zklanes_pipeline::batch_prover::BatchProver;
use zklanes_pipeline::config::ProofConfig;
use zklanes_pipeline::data_dir::user_cache_dir;
use zklanes_pipeline::setup::ProverSetup;
use zklanes_prover::rss::peak_rss_mb;

/// Arguments of `bench prover`.
#[derive(Args)]
pub struct ProverBench {
    /// Print JSON lines only.
    #[arg(long)]
    json: bool,
    /// Transaction slots per chunk.
    #[arg(long, default_value_t = DEMO_CHUNK_CAPACITY)]
    capacity: usize,
    /// Also prove the final (EVM) node and include its share (with
    /// `--tree`; in the deployed shape the first node is the final node).
    #[arg(long = "final")]
    with_final: bool,
    /// Bench the tree shape: a Poseidon-transcript first layer of this
    /// fan-in, then the final layer of fan-in 1.
    #[arg(long, value_name = "FAN_IN")]
    tree: Option<usize>,
    /// `k` of the tree's first layer.
    #[arg(long, default_value_t = 20)]
    layer_k: u32,
    /// Key cache (default: `$ZKLANES_CACHE_DIR`, else `~/.cache/zklanes`).
    #[arg(long)]
    cache_dir: Option<std::path::PathBuf>,
}

/// Runs `bench prover`.
pub fn run(b: ProverBench) -> Result<()> {
    if b.capacity == 0 {
        return Err(anyhow!("--capacity must be positive"));
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let config = match b.tree {
        Some(0) => return Err(anyhow!("--tree needs a positive fan-in")),
        Some(fan_in) => ProofConfig::tree_on(b.capacity, DEFAULT_CHAIN_ID, fan_in, b.layer_k),
        None => ProofConfig::two_chunks_on(b.capacity, DEFAULT_CHAIN_ID),
    };
    let setup = ProverSetup::with_workers(Some(b.cache_dir.unwrap_or_else(user_cache_dir)), 1);
    let line = |v: serde_json::Value| {
        if b.json {
            println!("{v}");
        } else {
            println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
        }
    };
    let clock = Instant::now();
    let prover = BatchProver::open(config.clone(), &setup)?;
    let keys_s = clock.elapsed().as_secs_f64();
    let chunk = &prover.keys.chunk;
    line(json!({
        "figure": "keys",
        "keys_s": keys_s,
        "key_sets_cached": prover.keys.loaded,
        "chunk_k": chunk.k,
        "chunk_advice_cells": chunk.advice_cells,
        "advice_cells_per_tx": chunk.advice_cells / b.capacity,
        "layers": prover.keys.layers.iter().map(|l| json!({
            "k": l.spec.k,
            "fan_in": l.spec.fan_in,
            "evm": l.spec.evm,
            "advice_cells": l.advice_cells,
            "advice_cells_per_inner_proof": l.advice_cells / l.spec.fan_in.max(1),
        })).collect::<Vec<_>>(),
        "note": "every slot is the universal slot: per-type cells are equal (zklanes circuit-stats --json)",
    }));

    // Full chunks of transfers (a small genesis), padded to the tree.
    let fan_in = config.layers[0].fan_in;
    let gen = generate(&GenConfig {
        workload: Workload::Transfers,
        txs: fan_in * b.capacity - 9,
        accounts: 8,
        seed: 3,
        chain_id: DEFAULT_CHAIN_ID,
        sign: true,
    });
    let mut rollup = Rollup::in_memory(RollupConfig {
        chunk_capacity: b.capacity,
        ..Default::default()
    });
    let traces = rollup
        .apply(&gen.into_batch(DEFAULT_CHAIN_ID))
        .context("executing the batch")?
        .chunks;
    let mut chunks = padded(&traces, &config.shape, config.width())?;
    set_challenge(&mut chunks, &config.fan_ins()).ok_or_else(|| anyhow!("roots do not chain"))?;
    let txs: usize = chunks.iter().map(|t| t.txs.len()).sum();

    let clock = Instant::now();
    let (proofs, _) = prover.pool().prove_all(&chunks[..fan_in])?;
    let chunks_s = clock.elapsed().as_secs_f64();
    let chunk_s = chunks_s / fan_in as f64;
    line(json!({
        "figure": "chunk_proofs",
        "chunks": fan_in,
        "txs": txs,
        "prove_s_each": chunk_s,
        "witness_ms": proofs.iter().map(|p| p.timings.witness_ms).collect::<Vec<_>>(),
        "prove_ms": proofs.iter().map(|p| p.timings.prove_ms).collect::<Vec<_>>(),
        "peak_rss_mb": peak_rss_mb(),
    }));

    let layer = &prover.keys.layers[0];
    let params = prover.srs.get(layer.spec.k)?;
    let clock = Instant::now();
    let node = prove_node(
        &params,
        layer,
        proofs.into_iter().map(|p| p.snark).collect(),
    )?;
    let node_s = clock.elapsed().as_secs_f64();
    line(json!({
        "figure": "aggregation_node",
        "layer": 1,
        "evm": layer.spec.evm,
        "k": layer.spec.k,
        "fan_in": fan_in,
        "advice_cells": layer.advice_cells,
        "advice_cells_per_inner_proof": layer.advice_cells / fan_in.max(1),
        "prove_s": node_s,
        "peak_rss_mb": peak_rss_mb(),
    }));

    let mut per_chunk_s = chunk_s + node_s / fan_in as f64;
    let direct = prover.keys.layers.len() == 1;
    let mut final_s = direct.then_some(0.0);
    if b.with_final && !direct {
        let last = prover
            .keys
            .layers
            .last()
            .ok_or_else(|| anyhow!("no final layer"))?;
        if prover.keys.layers.len() != 2 || last.spec.fan_in != 1 {
            return Err(anyhow!(
                "--final expects the two-layer tree (fan-in F, then 1)"
            ));
        }
        let NodeProof::Snark(inner) = node else {
            return Err(anyhow!("the first layer made an EVM proof"));
        };
        let params = prover.srs.get(last.spec.k)?;
        let clock = Instant::now();
        prove_node(&params, last, vec![*inner])?;
        let s = clock.elapsed().as_secs_f64();
        per_chunk_s += s / config.width() as f64;
        final_s = Some(s);
        line(json!({
            "figure": "final_node",
            "k": last.spec.k,
            "advice_cells": last.advice_cells,
            "prove_s": s,
            "peak_rss_mb": peak_rss_mb(),
        }));
    }
    line(json!({
        "figure": "summary",
        "capacity": b.capacity,
        "cores": cores,
        "chunk_prove_s": chunk_s,
        "node_prove_s": node_s,
        "final_prove_s": final_s,
        "includes_final": final_s.is_some(),
        "core_s_per_chunk": per_chunk_s * cores as f64,
        "tx_per_core_s": b.capacity as f64 / (per_chunk_s * cores as f64),
        "shape": if direct { "direct: the final (EVM) node folds the chunk proofs" } else { "tree: a Poseidon layer, then the final node" },
        "derivation": "capacity / (cores × (chunk_s + node_s / fan_in [+ final_s / width])); in the direct shape the node is the final node (final_prove_s 0)",
        "peak_rss_mb": peak_rss_mb(),
    }));
    Ok(())
}
