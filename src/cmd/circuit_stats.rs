//! `zklanes circuit-stats`: advice and lookup cells per transaction type and
//! for the configured chunk.

use anyhow::{anyhow, Context as _, Result};
use clap::Args;
use serde_json::{json, Value};
use zklanes_circuits::chunk::{assign_chunk, ChunkChips};
use zklanes_circuits::eddsa;
use zklanes_circuits::field::to_halo2;
use zklanes_circuits::merkle::update;
use zklanes_circuits::stats::{measure, measure_at, Cost};
use zklanes_circuits::{poseidon, scalar_mul};
use zklanes_executor::batch::{Batch, BATCH_VERSION};
use zklanes_executor::params::{DEFAULT_CHAIN_ID, TREE_DEPTH};
use zklanes_executor::signature::SecretKey;
use zklanes_executor::trace::ChunkTrace;
use zklanes_executor::tx::{Deposit, SignedTx, Transfer, TxBody};
use zklanes_executor::{Rollup, RollupConfig};

/// Arguments of `circuit-stats`.
#[derive(Args)]
pub struct CircuitStatsArgs {
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
    /// Transaction slots of the chunk to lay out.
    #[arg(long, default_value_t = 4)]
    capacity: usize,
}

fn cost_json(c: &Cost) -> Value {
    json!({
        "generic_advice": c.generic_advice,
        "lookup_advice": c.lookup_advice,
        "poseidon_permutations": c.poseidon_permutations,
        "scalar_mul_rows": c.scalar_mul_rows,
        "total_advice": c.total_advice(),
    })
}

fn per_slot(c: &Cost, n: usize) -> Cost {
    Cost {
        generic_advice: c.generic_advice / n,
        lookup_advice: c.lookup_advice / n,
        poseidon_permutations: c.poseidon_permutations / n,
        scalar_mul_rows: c.scalar_mul_rows / n,
    }
}

/// A chunk of `capacity` deposits (each creating an account), from the executor.
fn deposit_chunk(capacity: usize) -> Result<ChunkTrace> {
    let txs: Vec<SignedTx> = (0..capacity as u32)
        .map(|i| SignedTx {
            body: TxBody::Deposit(Deposit {
                queue_index: i as u64,
                l1_sender: [1; 20],
                account: i + 1,
                pubkey: SecretKey::from_seed(i as u64).public(),
                asset: 1,
                amount: 1_000,
            }),
            signature: None,
        })
        .collect();
    let batch = Batch {
        version: BATCH_VERSION,
        chain_id: DEFAULT_CHAIN_ID,
        number: 0,
        txs,
    };
    let mut r = Rollup::in_memory(RollupConfig {
        chunk_capacity: capacity,
        threads: 1,
        ..Default::default()
    });
    let out = r.apply(&batch).context("executing the deposit batch")?;
    out.chunks
        .into_iter()
        .next()
        .ok_or_else(|| anyhow!("no chunk"))
}

/// Runs `circuit-stats`.
pub fn run(a: CircuitStatsArgs) -> Result<()> {
    if a.capacity == 0 {
        return Err(anyhow!("--capacity must be positive"));
    }
    // Building blocks.
    let sk = SecretKey::from_seed(1);
    let body = TxBody::Transfer(Transfer {
        from: 1,
        to: 2,
        asset: 1,
        amount: 5,
        nonce: 0,
    });
    let msg = body.message(DEFAULT_CHAIN_ID).expect("signed type");
    let sig = sk.sign(&msg);
    let pk = sk.public();
    let eddsa_cost = measure(|ctx, t| {
        let pk = t.ecc.load_point(ctx, to_halo2(&pk.x), to_halo2(&pk.y));
        let hi = ctx.load_witness(to_halo2(&msg.hi));
        let lo = ctx.load_witness(to_halo2(&msg.lo));
        let s = eddsa::load_signature(ctx, t.ecc, &sig);
        eddsa::verify(ctx, t.ecc, t.table, t.muls, pk, s, hi, lo);
    });
    let update_cost = measure(|ctx, t| {
        let w = |ctx: &mut halo2_base::Context<_>| {
            ctx.load_witness(halo2_base::halo2_proofs::halo2curves::bn256::Fr::from(3u64))
        };
        let (i, o, n) = (w(ctx), w(ctx), w(ctx));
        let s = std::array::from_fn::<_, TREE_DEPTH, _>(|_| w(ctx));
        update(ctx, &t.range.gate, t.table, i, o, n, &s);
    });

    // The chunk: every slot runs the same gadgets (padding on zeros).
    let full = deposit_chunk(a.capacity)?;
    let mut empty = full.clone();
    empty.txs.clear();
    empty.deposits.clear();
    empty.new_root = empty.prev_root;
    let chunk_cost = |trace: &ChunkTrace, k: usize| {
        measure_at(k, |ctx, t| {
            let mut chips = ChunkChips {
                range: t.range,
                ecc: t.ecc,
                table: t.table,
                muls: t.muls,
            };
            assign_chunk(ctx, &mut chips, trace, a.capacity).expect("deposit chunks are supported");
        })
    };
    let (probe, _) = chunk_cost(&full, 22);
    let k = (probe.table_rows() + 64)
        .next_power_of_two()
        .trailing_zeros()
        .max(10) as usize;
    let (cost, params) = chunk_cost(&full, k);
    let (pad_cost, _) = chunk_cost(&empty, k);
    let generic_cols: usize = params.num_advice_per_phase.iter().sum();
    let lookup_cols: usize = params.num_lookup_advice_per_phase.iter().sum();
    let rows_used = cost
        .table_rows()
        .max(cost.generic_advice.div_ceil(generic_cols.max(1)));
    let report = json!({
        "per_tx_type": {
            "deposit": cost_json(&per_slot(&cost, a.capacity)),
            "noop": cost_json(&per_slot(&pad_cost, a.capacity)),
            "transfer": null, "swap": null, "add_liquidity": null, "remove_liquidity": null,
            "withdraw": null, "create_pool": null,
        },
        "building_blocks": {
            "poseidon_permutation": poseidon::CELLS_PER_PERMUTATION,
            "scalar_mul_per_bit": scalar_mul::COLUMNS,
            "merkle_update": cost_json(&update_cost),
            "eddsa_verification": cost_json(&eddsa_cost),
        },
        "chunk": {
            "capacity": a.capacity,
            "k": k,
            "advice_columns": {
                "generic": generic_cols,
                "lookup": lookup_cols,
                "poseidon": poseidon::COLUMNS,
                "scalar_mul": scalar_mul::COLUMNS,
            },
            "fixed_columns": params.num_fixed,
            "lookup_bits": params.lookup_bits,
            "rows_used": rows_used,
            "advice_cells": cost.total_advice(),
            "cells_per_tx": cost.total_advice() / a.capacity,
        },
        "note": "slots exist for deposits and padding only; the other types are not implemented yet (null)",
    });
    if a.json {
        println!("{report}");
    } else {
        println!("{}", serde_json::to_string_pretty(&report)?);
    }
    Ok(())
}
