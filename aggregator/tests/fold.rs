//! The aggregation node's own constraints, on small mock circuits: roots
//! must chain, batch numbers must run on by 0 or 1, and the in-circuit fold
//! equals the executor's.

use halo2_base::gates::circuit::builder::BaseCircuitBuilder;
use halo2_base::gates::circuit::CircuitBuilderStage;
use halo2_base::gates::GateChip;
use halo2_base::halo2_proofs::dev::MockProver;
use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use zklanes_aggregator::node::fold_cells;
use zklanes_circuits::field::to_halo2;
use zklanes_executor::commitments::{fold, PublicInputs, PUBLIC_INPUTS};
use zklanes_executor::field::Fr as NativeFr;

fn part(prev: u64, new: u64, seed: u64) -> PublicInputs {
    in_batches(prev, new, seed, 4, 4)
}

fn in_batches(prev: u64, new: u64, seed: u64, first: u64, last: u64) -> PublicInputs {
    [prev, new, seed, seed + 1, seed + 2, first, last].map(NativeFr::from)
}

/// Folds `parts` in-circuit; `Some(output)` when the mock circuit is satisfied.
fn fold_in_circuit(parts: &[PublicInputs]) -> Option<Vec<Fr>> {
    let mut builder = BaseCircuitBuilder::<Fr>::from_stage(CircuitBuilderStage::Mock)
        .use_k(14)
        .use_lookup_bits(8);
    let gate = GateChip::<Fr>::default();
    let ctx = builder.main(0);
    let cells: Vec<[_; PUBLIC_INPUTS]> = parts
        .iter()
        .map(|p| std::array::from_fn(|i| ctx.load_witness(to_halo2(&p[i]))))
        .collect();
    let out = fold_cells(ctx, &gate, &cells);
    let values: Vec<Fr> = out.iter().map(|c| *c.value()).collect();
    builder.calculate_params(Some(9));
    MockProver::run(14, &builder, vec![])
        .expect("synthesis")
        .verify()
        .is_ok()
        .then_some(values)
}

#[test]
fn the_fold_matches_the_executor_and_roots_must_chain() {
    let good = [part(1, 2, 10), part(2, 3, 20), part(3, 9, 30)];
    let expected = fold(&good).expect("chains");
    let got = fold_in_circuit(&good).expect("satisfied");
    assert_eq!(got, expected.iter().map(to_halo2).collect::<Vec<_>>());
    // A gap in the roots: the executor refuses, the circuit is unsatisfied.
    let broken = [part(1, 2, 10), part(5, 3, 20)];
    assert!(fold(&broken).is_none());
    assert!(fold_in_circuit(&broken).is_none());
    // Order matters: swapping two transitions changes the fold.
    let swapped = [part(1, 1, 20), part(1, 1, 10)];
    let straight = [part(1, 1, 10), part(1, 1, 20)];
    assert_ne!(fold(&swapped), fold(&straight));
}

/// Batch numbers chain: each part starts in the previous part's last batch
/// or the next one; the fold exposes the first and the last. A gap, a step
/// back, or a claimed first batch that does not follow is refused by both
/// the executor and the circuit.
#[test]
fn batch_numbers_must_run_on() {
    let good = [
        in_batches(1, 2, 10, 7, 7),
        in_batches(2, 3, 20, 7, 8),
        in_batches(3, 4, 30, 9, 9),
        in_batches(4, 4, 40, 9, 9),
    ];
    let expected = fold(&good).expect("chains");
    assert_eq!(expected[5], NativeFr::from(7u64));
    assert_eq!(expected[6], NativeFr::from(9u64));
    let got = fold_in_circuit(&good).expect("satisfied");
    assert_eq!(got, expected.iter().map(to_halo2).collect::<Vec<_>>());
    for (name, bad) in [
        (
            "a skipped batch",
            [in_batches(1, 2, 10, 7, 7), in_batches(2, 3, 20, 9, 9)],
        ),
        (
            "a step back",
            [in_batches(1, 2, 10, 7, 8), in_batches(2, 3, 20, 7, 7)],
        ),
        (
            "a step of p - 1",
            [in_batches(1, 2, 10, 7, 7), in_batches(2, 3, 20, 6, 6)],
        ),
    ] {
        assert!(fold(&bad).is_none(), "{name}: executor");
        assert!(fold_in_circuit(&bad).is_none(), "{name}: circuit");
    }
}
