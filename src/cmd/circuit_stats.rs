//! `zklanes circuit-stats`: advice and lookup cells per transaction type and
//! for the configured chunk.

use anyhow::{anyhow, Context as _, Result};
use clap::Args;
use halo2_base::gates::circuit::BaseCircuitParams;
use serde_json::{json, Value};
use zklanes_circuits::chunk::layout::chunk_layout;
use zklanes_circuits::chunk::{assign_chunk, empty_trace, ChunkChips, ChunkShape};
use zklanes_circuits::cost::{measure, measure_at, Cost};
use zklanes_circuits::eddsa;
use zklanes_circuits::field::to_halo2;
use zklanes_circuits::merkle::update;
use zklanes_circuits::{fixtures, poseidon, scalar_mul};
use zklanes_executor::params::{DEFAULT_CHAIN_ID, TREE_DEPTH};
use zklanes_executor::signature::SecretKey;
use zklanes_executor::trace::ChunkTrace;
use zklanes_executor::tx::{Transfer, TxBody, TxType};
use zklanes_executor::{Rollup, RollupConfig};

/// Arguments of `circuit-stats`.
#[derive(Args)]
pub struct CircuitStatsArgs {
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
    /// Transaction slots of the chunk to lay out.
    #[arg(long, default_value_t = zklanes_executor::params::PRODUCTION_CHUNK_CAPACITY)]
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

fn type_name(t: TxType) -> &'static str {
    match t {
        TxType::Deposit => "deposit",
        TxType::Transfer => "transfer",
        TxType::Swap => "swap",
        TxType::AddLiquidity => "add_liquidity",
        TxType::RemoveLiquidity => "remove_liquidity",
        TxType::Withdraw => "withdraw",
        TxType::CreatePool => "create_pool",
        TxType::ForcedWithdraw => "forced_withdraw",
    }
}

/// The showcase batch's chunk traces (capacity 1: one transaction each).
fn showcase_slots() -> Result<Vec<ChunkTrace>> {
    let mut r = Rollup::in_memory(RollupConfig {
        chunk_capacity: 1,
        threads: 1,
        ..Default::default()
    });
    Ok(r.apply(&fixtures::showcase_batch(DEFAULT_CHAIN_ID))
        .context("executing the showcase batch")?
        .chunks)
}

/// Cost of the chunk circuit for `trace` in `shape`, laid out at `2^k` rows.
fn chunk_cost(trace: &ChunkTrace, shape: &ChunkShape, k: usize) -> (Cost, BaseCircuitParams) {
    measure_at(k, |ctx, t| {
        let mut chips = ChunkChips {
            range: t.range,
            ecc: t.ecc,
            table: t.table,
            muls: t.muls,
        };
        assign_chunk(ctx, &mut chips, trace, shape).expect("executor traces build");
    })
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

    // Per type: a one-slot chunk holding one transaction of that type.
    let one = ChunkShape {
        capacity: 1,
        chain_id: DEFAULT_CHAIN_ID,
    };
    let mut per_type = serde_json::Map::new();
    for trace in showcase_slots()? {
        let name = type_name(trace.txs[0].tx.body.tx_type());
        if !per_type.contains_key(name) {
            per_type.insert(name.into(), cost_json(&chunk_cost(&trace, &one, 20).0));
        }
    }
    let empty = empty_trace(&one, Default::default());
    per_type.insert("noop".into(), cost_json(&chunk_cost(&empty, &one, 20).0));

    // The configured chunk (every slot costs the same; padding included).
    let shape = ChunkShape {
        capacity: a.capacity,
        chain_id: DEFAULT_CHAIN_ID,
    };
    let empty = empty_trace(&shape, Default::default());
    let (probe, k) = chunk_layout(&shape);
    let (cost, params) = chunk_cost(&empty, &shape, k);
    let generic_cols: usize = params.num_advice_per_phase.iter().sum();
    let lookup_cols: usize = params.num_lookup_advice_per_phase.iter().sum();
    let rows_used = cost
        .table_rows()
        .max(cost.generic_advice.div_ceil(generic_cols.max(1)));
    let report = json!({
        "per_tx_type": per_type,
        "building_blocks": {
            "poseidon_permutation": poseidon::CELLS_PER_PERMUTATION,
            "scalar_mul_per_bit": scalar_mul::COLUMNS * scalar_mul::ROWS_PER_BIT,
            "merkle_update": cost_json(&update_cost),
            "eddsa_verification": cost_json(&eddsa_cost),
        },
        "chunk": {
            "capacity": a.capacity,
            "k": k,
            "advice_columns": {
                "generic": generic_cols,
                "lookup": lookup_cols,
                "chips": poseidon::COLUMNS,
            },
            "fixed_columns": params.num_fixed,
            "lookup_bits": params.lookup_bits,
            "rows_used": rows_used,
            "advice_cells": cost.total_advice(),
            "cells_per_tx": cost.total_advice() / a.capacity,
            "rows_per_slot": probe.table_rows() / a.capacity,
        },
        "note": "every slot is the same universal slot (all types share its hashing and signature check), so every type costs the same cells",
    });
    if a.json {
        println!("{report}");
    } else {
        println!("{}", serde_json::to_string_pretty(&report)?);
    }
    Ok(())
}
