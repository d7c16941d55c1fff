//! One aggregation node: verify `fan_in` proofs, chain their roots and
//! batch numbers, require one challenge, fold their data commitments and
//! evaluations, expose the folded transition.

use halo2_base::gates::circuit::CircuitBuilderStage;
use halo2_base::gates::{GateChip, GateInstructions};
use halo2_base::halo2_proofs::halo2curves::bn256::{Bn256, Fr};
use halo2_base::halo2_proofs::poly::kzg::commitment::ParamsKZG;
use halo2_base::{AssignedValue, Context};
use snark_verifier_sdk::halo2::aggregation::{
    AggregationCircuit, AggregationConfigParams, VerifierUniversality,
};
use snark_verifier_sdk::{Snark, LIMBS, SHPLONK};
use zklanes_circuits::field::to_halo2;
use zklanes_circuits::poseidon_gate;
use zklanes_executor::commitments::{
    CHALLENGE, CHALLENGE_POWER, DATA_COMMITMENT, EVALUATION, FIRST_BATCH, LAST_BATCH,
};
use zklanes_executor::poseidon::Tag;

/// Accumulator limbs at the front of an aggregation proof's instances.
pub const ACCUMULATOR_LIMBS: usize = 4 * LIMBS;
/// The transition's public values: `[prev_root, new_root, P, x, y, xn,
/// first_batch, last_batch]`
/// (`zklanes_executor::commitments::PublicInputs`).
pub const TRANSITION: usize = zklanes_executor::commitments::PUBLIC_INPUTS;
/// Instances of an aggregation proof.
pub const NODE_INSTANCES: usize = ACCUMULATOR_LIMBS + TRANSITION;

/// Chains the transitions (roots equal, the same challenge, each batch
/// number the previous one or the next), folds their data commitments
/// (`compress(FoldPubdata, P, Pᵢ)`) and concatenates their evaluations
/// (`y ← y·xnᵢ + yᵢ`, `xn ← xn·xnᵢ`) in-circuit, as
/// `zklanes_executor::commitments::fold`.
pub fn fold_cells(
    ctx: &mut Context<Fr>,
    gate: &GateChip<Fr>,
    parts: &[[AssignedValue<Fr>; TRANSITION]],
) -> [AssignedValue<Fr>; TRANSITION] {
    let tag = ctx.load_constant(to_halo2(&Tag::FoldPubdata.fr()));
    let mut acc = parts[0];
    for p in &parts[1..] {
        ctx.constrain_equal(&acc[1], &p[0]);
        // The next part starts in the same batch or the one after.
        let step = gate.sub(ctx, p[FIRST_BATCH], acc[LAST_BATCH]);
        gate.assert_bit(ctx, step);
        acc[LAST_BATCH] = p[LAST_BATCH];
        acc[1] = p[1];
        ctx.constrain_equal(&acc[CHALLENGE], &p[CHALLENGE]);
        acc[DATA_COMMITMENT] =
            poseidon_gate::compress(ctx, gate, [tag, acc[DATA_COMMITMENT], p[DATA_COMMITMENT]]);
        acc[EVALUATION] = gate.mul_add(ctx, acc[EVALUATION], p[CHALLENGE_POWER], p[EVALUATION]);
        acc[CHALLENGE_POWER] = gate.mul(ctx, acc[CHALLENGE_POWER], p[CHALLENGE_POWER]);
    }
    acc
}

/// The aggregation circuit of one node over `snarks` (all of one verifying
/// key, pinned). `inner_is_aggregation`: the snarks are aggregation proofs
/// (their accumulators are folded in by the sdk and skipped here).
pub fn node_circuit(
    stage: CircuitBuilderStage,
    config: AggregationConfigParams,
    params: &ParamsKZG<Bn256>,
    snarks: Vec<Snark>,
    inner_is_aggregation: bool,
) -> AggregationCircuit {
    assert!(!snarks.is_empty(), "a node aggregates at least one proof");
    let mut agg = AggregationCircuit::new::<SHPLONK>(
        stage,
        config,
        params,
        snarks,
        VerifierUniversality::None,
    );
    let start = if inner_is_aggregation {
        ACCUMULATOR_LIMBS
    } else {
        0
    };
    let parts: Vec<[AssignedValue<Fr>; TRANSITION]> = agg
        .previous_instances()
        .iter()
        .map(|p| std::array::from_fn(|i| p[start + i]))
        .collect();
    let gate = GateChip::<Fr>::default();
    let out = fold_cells(agg.builder.main(0), &gate, &parts);
    agg.builder.assigned_instances[0].extend(out);
    agg
}
