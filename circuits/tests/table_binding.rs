//! Every chip table binds the outputs it hands out, by itself.
//!
//! Each test claims a wrong output through the chip's own claim path and
//! computes nothing else from the same inputs: no generic-gate cross-check,
//! no public value derived from an honest computation. Only the table's
//! layout and copy constraints can refuse the claim, so a table that is
//! built and never laid out (the scalar-multiplication table once was)
//! makes these tests fail. Each has an honest control through the same
//! path, so the failure is the claim's.

use halo2_base::gates::circuit::builder::BaseCircuitBuilder;
use halo2_base::gates::circuit::CircuitBuilderStage;
use halo2_base::gates::GateInstructions;
use halo2_base::halo2_proofs::dev::MockProver;
use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use halo2_base::AssignedValue;
use zklanes_circuits::ecc::{EccChip, EdPoint};
use zklanes_circuits::field::{to_halo2, to_native};
use zklanes_circuits::hash_table::{HashTable, HashedCircuit};
use zklanes_circuits::scalar_mul::{native_mul, ScalarMulTable};
use zklanes_executor::poseidon::compress_fr;

const K: usize = 11;
const BITS: usize = 20;
const SCALAR: u64 = 0b1011_0110_0101_1100_1101;

fn satisfied(builder: BaseCircuitBuilder<Fr>, table: HashTable, muls: ScalarMulTable) -> bool {
    let mut builder = builder;
    builder.calculate_params(Some(9));
    let circuit = HashedCircuit::new(builder, table, muls);
    assert!(circuit.table_rows() < (1 << K) - 16, "k too small");
    MockProver::run(K as u32, &circuit, vec![])
        .expect("synthesis")
        .verify()
        .is_ok()
}

fn mock() -> BaseCircuitBuilder<Fr> {
    BaseCircuitBuilder::<Fr>::from_stage(CircuitBuilderStage::Mock).use_k(K)
}

/// A Poseidon compression claimed with output `honest + delta`.
fn poseidon_claim(delta: u64) -> bool {
    let mut builder = mock();
    let mut table = HashTable::default();
    let ctx = builder.main(0);
    let inputs = [Fr::from(7u64), Fr::from(123u64), Fr::from(456u64)];
    let cells = inputs.map(|v| ctx.load_witness(v));
    let [t, a, b] = inputs.map(|v| to_native(&v));
    let honest = to_halo2(&compress_fr(t, a, b));
    table.compress_claiming(ctx, cells, honest + Fr::from(delta));
    satisfied(builder, table, ScalarMulTable::default())
}

#[test]
fn a_claimed_poseidon_output_is_bound_by_the_table_alone() {
    assert!(poseidon_claim(0), "the honest claim must be satisfied");
    assert!(!poseidon_claim(1), "a wrong Poseidon output was accepted");
}

fn base() -> (Fr, Fr) {
    let p = zklanes_executor::signature::SecretKey::from_seed(5).public();
    (to_halo2(&p.x), to_halo2(&p.y))
}

fn msb_bits(k: u64, n: usize) -> Vec<bool> {
    (0..n).rev().map(|i| (k >> i) & 1 == 1).collect()
}

#[derive(Clone, Copy, Debug)]
enum Claim {
    /// The honest product.
    Honest,
    /// `x + 1`: off the curve.
    XPlusOne,
    /// The negated product, a valid curve point.
    Negated,
    /// The identity, what a forger claims for `h·A`.
    Identity,
    /// The base point itself.
    Base,
}

/// A prank applied to the request's bits and base after the product is taken.
type Prank<'a> = &'a dyn Fn(&mut halo2_base::Context<Fr>, &[AssignedValue<Fr>], EdPoint);

/// `SCALAR·P` through [`ScalarMulTable::mul_claiming`], and optionally a
/// bit or the base changed after the request. The base and the bits are
/// plain witnesses (no on-curve check, no decomposition of a scalar), so
/// nothing but the table constrains them or the product.
fn scalar_claim(claim: Claim, prank: Option<Prank<'_>>) -> bool {
    let mut builder = mock();
    let mut muls = ScalarMulTable::default();
    let ctx = builder.main(0);
    let (x, y) = base();
    let p = EdPoint {
        x: ctx.load_witness(x),
        y: ctx.load_witness(y),
    };
    let bits: Vec<AssignedValue<Fr>> = msb_bits(SCALAR, BITS)
        .into_iter()
        .rev()
        .map(|b| ctx.load_witness(Fr::from(b as u64)))
        .collect();
    let honest = native_mul(base(), &msb_bits(SCALAR, BITS));
    let claimed = match claim {
        Claim::Honest => honest,
        Claim::XPlusOne => (honest.0 + Fr::one(), honest.1),
        Claim::Negated => (-honest.0, honest.1),
        Claim::Identity => (Fr::zero(), Fr::one()),
        Claim::Base => base(),
    };
    muls.mul_claiming(ctx, p, &bits, claimed);
    if let Some(f) = prank {
        f(ctx, &bits, p);
    }
    satisfied(builder, HashTable::default(), muls)
}

#[test]
fn a_claimed_scalar_product_is_bound_by_the_table_alone() {
    assert!(
        scalar_claim(Claim::Honest, None),
        "the honest claim must be satisfied"
    );
    for c in [
        Claim::XPlusOne,
        Claim::Negated,
        Claim::Identity,
        Claim::Base,
    ] {
        assert!(!scalar_claim(c, None), "claimed product {c:?} was accepted");
    }
}

/// The request's bits and base are bound to the table too: changing one
/// after the (honest) product was taken fails. A flipped bit stays a bit,
/// and nothing else reads the bits or the base.
#[test]
fn the_bits_and_base_of_a_request_are_bound_by_the_table_alone() {
    for i in [0, 7, BITS - 1] {
        let flip =
            move |ctx: &mut halo2_base::Context<Fr>, bits: &[AssignedValue<Fr>], _: EdPoint| {
                let v = Fr::one() - bits[i].value();
                bits[i].debug_prank(ctx, v);
            };
        assert!(!scalar_claim(Claim::Honest, Some(&flip)), "bit {i}");
    }
    let move_base = |ctx: &mut halo2_base::Context<Fr>, _: &[AssignedValue<Fr>], p: EdPoint| {
        let v = *p.x.value() + Fr::one();
        p.x.debug_prank(ctx, v);
    };
    assert!(!scalar_claim(Claim::Honest, Some(&move_base)), "base");
}

/// The hook chunk-level tests use: `mul` witnessing a claimed product for a
/// given request index.
#[test]
fn a_product_claimed_through_mul_is_bound_by_the_table_alone() {
    let run = |claims: Vec<(usize, (Fr, Fr))>| {
        let mut builder = mock();
        let ecc = EccChip::default();
        let mut muls = ScalarMulTable::claiming(claims);
        let ctx = builder.main(0);
        let (x, y) = base();
        let p = ecc.load_point(ctx, x, y);
        let scalar = ctx.load_witness(Fr::from(SCALAR));
        let bits = ecc.gate.num_to_bits(ctx, scalar, BITS);
        muls.mul(ctx, p, &bits);
        muls.mul(ctx, p, &bits);
        satisfied(builder, HashTable::default(), muls)
    };
    let honest = native_mul(base(), &msb_bits(SCALAR, BITS));
    assert!(run(vec![]));
    assert!(run(vec![(1, honest)]));
    assert!(!run(vec![(1, (-honest.0, honest.1))]));
    assert!(!run(vec![(0, (Fr::zero(), Fr::one()))]));
}

/// Several compressions, one of them claimed wrong: each block has its own
/// rows (no block overwrites another), and the wrong claim is refused
/// wherever it sits.
#[test]
fn each_poseidon_request_has_its_own_block() {
    let run = |wrong: Option<usize>| {
        let mut builder = mock();
        let mut table = HashTable::default();
        let ctx = builder.main(0);
        for i in 0..5u64 {
            let inputs = [Fr::from(7u64), Fr::from(100 + i), Fr::from(200 + i)];
            let cells = inputs.map(|v| ctx.load_witness(v));
            let [t, a, b] = inputs.map(|v| to_native(&v));
            let honest = to_halo2(&compress_fr(t, a, b));
            let delta = if wrong == Some(i as usize) { 1 } else { 0 };
            table.compress_claiming(ctx, cells, honest + Fr::from(delta));
        }
        satisfied(builder, table, ScalarMulTable::default())
    };
    assert!(run(None), "honest compressions must be satisfied");
    for i in [0, 2, 4] {
        assert!(!run(Some(i)), "a wrong output of request {i} was accepted");
    }
}

/// Several products, one of them claimed wrong, likewise.
#[test]
fn each_scalar_product_has_its_own_block() {
    let run = |wrong: Option<usize>| {
        let mut builder = mock();
        let mut muls = ScalarMulTable::default();
        let ctx = builder.main(0);
        for i in 0..4u64 {
            let (x, y) = base();
            let p = EdPoint {
                x: ctx.load_witness(x),
                y: ctx.load_witness(y),
            };
            let k = SCALAR ^ (i << 3);
            let bits: Vec<AssignedValue<Fr>> = msb_bits(k, BITS)
                .into_iter()
                .rev()
                .map(|b| ctx.load_witness(Fr::from(b as u64)))
                .collect();
            let honest = native_mul(base(), &msb_bits(k, BITS));
            let claimed = if wrong == Some(i as usize) {
                (-honest.0, honest.1)
            } else {
                honest
            };
            muls.mul_claiming(ctx, p, &bits, claimed);
        }
        satisfied(builder, HashTable::default(), muls)
    };
    assert!(run(None), "honest products must be satisfied");
    for i in [0, 1, 3] {
        assert!(!run(Some(i)), "a wrong product of request {i} was accepted");
    }
}
