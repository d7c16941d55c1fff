//! The aggregation node's own constraints, on small mock circuits: roots
//! must chain, batch numbers must run on by 0 or 1, every part must use the
//! same challenge, the evaluations concatenate, and the in-circuit fold
//! equals the executor's.

use halo2_base::gates::circuit::builder::BaseCircuitBuilder;
use halo2_base::gates::circuit::CircuitBuilderStage;
use halo2_base::gates::GateChip;
use halo2_base::halo2_proofs::dev::MockProver;
use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use zklanes_aggregator::node::fold_cells;
use zklanes_circuits::field::to_halo2;
use zklanes_executor::commitments::{
    evaluate, fold, PublicInputs, CHALLENGE, CHALLENGE_POWER, EVALUATION, FIRST_BATCH, LAST_BATCH,
    PUBLIC_INPUTS,
};
use zklanes_executor::field::Fr as NativeFr;

fn part(prev: u64, new: u64, seed: u64) -> PublicInputs {
    in_batches(prev, new, seed, 4, 4)
}

fn in_batches(prev: u64, new: u64, seed: u64, first: u64, last: u64) -> PublicInputs {
    [prev, new, seed, 5, seed + 1, seed + 2, first, last].map(NativeFr::from)
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
    assert_eq!(expected[FIRST_BATCH], NativeFr::from(7u64));
    assert_eq!(expected[LAST_BATCH], NativeFr::from(9u64));
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

/// The parts of one proof share its challenge: a part evaluated at another
/// point is refused by both the executor and the circuit.
#[test]
fn every_part_uses_the_same_challenge() {
    let mut other = part(2, 3, 20);
    other[CHALLENGE] += NativeFr::from(1u64);
    let bad = [part(1, 2, 10), other];
    assert!(fold(&bad).is_none());
    assert!(fold_in_circuit(&bad).is_none());
}

/// Folding the evaluations of consecutive data gives the evaluation of the
/// concatenated data, in-circuit as natively, whatever the split (empty
/// parts included): what lets L1 check one `(x, y, xn)` for the whole.
#[test]
fn folded_evaluations_are_the_evaluation_of_the_whole_data() {
    let x = NativeFr::from(0x1234_5678_9abc_u64);
    let data: Vec<NativeFr> = (1..=9u64).map(|i| NativeFr::from(i * 1_000_003)).collect();
    let (y_all, xn_all) = evaluate(x, &data);
    for splits in [[0, 4, 9], [3, 3, 9], [2, 7, 9], [0, 0, 9], [9, 9, 9]] {
        let ranges = [0..splits[0], splits[0]..splits[1], splits[1]..splits[2]];
        let parts: Vec<PublicInputs> = ranges
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let (y, xn) = evaluate(x, &data[r.clone()]);
                let mut p = part(i as u64, i as u64 + 1, 10 * i as u64);
                p[CHALLENGE] = x;
                p[EVALUATION] = y;
                p[CHALLENGE_POWER] = xn;
                p
            })
            .collect();
        let native = fold(&parts).expect("chains");
        assert_eq!(native[EVALUATION], y_all, "{splits:?}");
        assert_eq!(native[CHALLENGE_POWER], xn_all, "{splits:?}");
        let got = fold_in_circuit(&parts).expect("satisfied");
        assert_eq!(got, native.iter().map(to_halo2).collect::<Vec<_>>());
    }
    // Reordering the parts changes the evaluation.
    let (y1, xn1) = evaluate(x, &data[..4]);
    let (y2, xn2) = evaluate(x, &data[4..]);
    let mk = |y, xn| {
        let mut p = part(1, 1, 10);
        p[CHALLENGE] = x;
        p[EVALUATION] = y;
        p[CHALLENGE_POWER] = xn;
        p
    };
    let straight = fold(&[mk(y1, xn1), mk(y2, xn2)]).expect("chains");
    let swapped = fold(&[mk(y2, xn2), mk(y1, xn1)]).expect("chains");
    assert_ne!(straight[EVALUATION], swapped[EVALUATION]);
}
