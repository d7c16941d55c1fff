//! The BabyJubJub chip through its own interface: a point that is not on
//! the curve cannot be loaded, two different points cannot be asserted
//! equal, and a claimed sum other than `p + q` fails. Nothing else in these
//! circuits computes the same values, so a missing constraint shows.

use ark_ec::CurveGroup;
use halo2_base::gates::circuit::builder::BaseCircuitBuilder;
use halo2_base::gates::circuit::CircuitBuilderStage;
use halo2_base::halo2_proofs::dev::MockProver;
use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use halo2_base::Context;
use zklanes_circuits::ecc::EccChip;
use zklanes_circuits::field::to_halo2;
use zklanes_executor::signature::SecretKey;

const K: usize = 9;

fn point(seed: u64) -> (Fr, Fr) {
    let p = SecretKey::from_seed(seed).public();
    (to_halo2(&p.x), to_halo2(&p.y))
}

/// Runs `f` in a mock circuit and reports whether it is satisfied.
fn satisfied(f: impl FnOnce(&mut Context<Fr>, &EccChip)) -> bool {
    let mut builder = BaseCircuitBuilder::<Fr>::from_stage(CircuitBuilderStage::Mock).use_k(K);
    let ecc = EccChip::default();
    f(builder.main(0), &ecc);
    builder.calculate_params(Some(9));
    MockProver::run(K as u32, &builder, vec![])
        .expect("synthesis")
        .verify()
        .is_ok()
}

#[test]
fn only_curve_points_load() {
    let (x, y) = point(3);
    assert!(satisfied(|ctx, ecc| {
        ecc.load_point(ctx, x, y);
    }));
    // The identity is on the curve.
    assert!(satisfied(|ctx, ecc| {
        ecc.load_point(ctx, Fr::zero(), Fr::one());
    }));
    for (x, y) in [
        (x + Fr::one(), y),
        (x, y + Fr::one()),
        (Fr::one(), Fr::one()),
    ] {
        assert!(!satisfied(|ctx, ecc| {
            ecc.load_point(ctx, x, y);
        }));
    }
}

#[test]
fn distinct_points_are_not_equal() {
    let p = point(3);
    let q = point(4);
    assert!(satisfied(|ctx, ecc| {
        let a = ecc.load_point(ctx, p.0, p.1);
        let b = ecc.load_point(ctx, p.0, p.1);
        ecc.assert_equal(ctx, a, b);
    }));
    // Differing in both coordinates, then in y only (the negation: −(x, y)
    // is (−x, y), so differing in x only).
    for other in [q, (-p.0, p.1)] {
        assert!(!satisfied(|ctx, ecc| {
            let a = ecc.load_point(ctx, p.0, p.1);
            let b = ecc.load_point(ctx, other.0, other.1);
            ecc.assert_equal(ctx, a, b);
        }));
    }
}

#[test]
fn a_claimed_sum_other_than_p_plus_q_fails() {
    let pa = SecretKey::from_seed(3).public_point();
    let qa = SecretKey::from_seed(4).public_point();
    let s = (pa + qa).into_affine();
    let sum = (to_halo2(&s.x), to_halo2(&s.y));
    let (p, q) = (point(3), point(4));
    let run = |dx: Fr, dy: Fr| {
        satisfied(|ctx, ecc| {
            let a = ecc.load_point(ctx, p.0, p.1);
            let b = ecc.load_point(ctx, q.0, q.1);
            let out = ecc.add(ctx, a, b);
            // Claim a value in the chip's own output cells.
            out.x.debug_prank(ctx, sum.0 + dx);
            out.y.debug_prank(ctx, sum.1 + dy);
        })
    };
    assert!(run(Fr::zero(), Fr::zero()));
    assert!(!run(Fr::one(), Fr::zero()));
    assert!(!run(Fr::zero(), Fr::one()));
}
