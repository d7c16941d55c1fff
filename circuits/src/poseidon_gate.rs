//! The executor's Poseidon compression in halo2-base's generic gate, for
//! circuits that cannot host the [`crate::poseidon`] chip (the aggregation
//! circuits of snark-verifier-sdk, which own their configuration). It costs
//! about 1,900 generic-gate cells per compression, fine for the handful of
//! hashes an aggregation layer needs (its own size is millions of cells).
//!
//! Round by round as specified: add the round constants, the x⁵ S-box on
//! every element (full rounds) or the first (partial rounds), then the MDS
//! matrix; the result is the first element, as
//! `zklanes_executor::poseidon::compress`.

use halo2_base::gates::GateInstructions;
use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use halo2_base::{AssignedValue, Context, QuantumCell::Constant};
use zklanes_executor::poseidon::{spec, FULL_ROUNDS, PARTIAL_ROUNDS, WIDTH};

use crate::field::to_halo2;

fn sbox(
    ctx: &mut Context<Fr>,
    gate: &impl GateInstructions<Fr>,
    x: AssignedValue<Fr>,
) -> AssignedValue<Fr> {
    let x2 = gate.mul(ctx, x, x);
    let x4 = gate.mul(ctx, x2, x2);
    gate.mul(ctx, x4, x)
}

/// `Poseidon([a, b, c])[0]` over assigned cells (the caller passes the tag
/// as a cell, typically a constant).
pub fn compress(
    ctx: &mut Context<Fr>,
    gate: &impl GateInstructions<Fr>,
    input: [AssignedValue<Fr>; WIDTH],
) -> AssignedValue<Fr> {
    let spec = spec();
    let half = FULL_ROUNDS / 2;
    let mds: Vec<Vec<Fr>> = spec
        .mds
        .iter()
        .map(|row| row.iter().map(to_halo2).collect())
        .collect();
    let mut state = input;
    for (round, rc) in spec.constants.iter().enumerate() {
        let full = round < half || round >= half + PARTIAL_ROUNDS;
        for (i, s) in state.iter_mut().enumerate() {
            *s = gate.add(ctx, *s, Constant(to_halo2(&rc[i])));
            if full || i == 0 {
                *s = sbox(ctx, gate, *s);
            }
        }
        state = std::array::from_fn(|i| {
            gate.inner_product(ctx, state, mds[i].iter().map(|m| Constant(*m)))
        });
    }
    state[0]
}
