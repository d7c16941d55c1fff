//! In-circuit EdDSA-Poseidon equals the executor's rule: a valid signature
//! verifies; a wrong message, scalar, nonce point or key does not; `s + l`
//! (the same point, out of range) is refused; and the bound check itself
//! rejects values at or above its bound.

use halo2_base::gates::circuit::builder::BaseCircuitBuilder;
use halo2_base::gates::circuit::CircuitBuilderStage;
use halo2_base::gates::{GateChip, GateInstructions};
use halo2_base::halo2_proofs::dev::MockProver;
use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use zklanes_circuits::ecc::{assert_bits_below, EccChip};
use zklanes_circuits::eddsa::{load_signature, verify, AssignedSignature};
use zklanes_circuits::field::to_halo2;
use zklanes_circuits::hash_table::{HashTable, HashedCircuit};
use zklanes_circuits::scalar_mul::ScalarMulTable;
use zklanes_executor::params::DEFAULT_CHAIN_ID;
use zklanes_executor::signature::{SecretKey, Signature};
use zklanes_executor::tx::{Message, Transfer, TxBody};

const K: usize = 16;

#[derive(Clone, Copy)]
enum Bad {
    None,
    MessageLo,
    MessageHi,
    ScalarPlusOne,
    ScalarPlusOrder,
    NonceOffCurve,
    OtherKey,
}

fn signed() -> (SecretKey, Message, Signature) {
    let sk = SecretKey::from_seed(99);
    let body = TxBody::Transfer(Transfer {
        from: 3,
        to: 4,
        asset: 1,
        amount: 12345,
        nonce: 7,
    });
    let msg = body.message(DEFAULT_CHAIN_ID).unwrap();
    let sig = sk.sign(&msg);
    (sk, msg, sig)
}

fn run(bad: Bad) -> bool {
    let (sk, msg, sig) = signed();
    let mut builder = BaseCircuitBuilder::<Fr>::from_stage(CircuitBuilderStage::Mock).use_k(K);
    let ecc = EccChip::default();
    let mut table = HashTable::default();
    let mut muls = ScalarMulTable::default();
    let ctx = builder.main(0);
    let pk = match bad {
        Bad::OtherKey => SecretKey::from_seed(100).public(),
        _ => sk.public(),
    };
    let pk = ecc.load_point(ctx, to_halo2(&pk.x), to_halo2(&pk.y));
    let mut lo = to_halo2(&msg.lo);
    let mut hi = to_halo2(&msg.hi);
    match bad {
        Bad::MessageLo => lo += Fr::one(),
        Bad::MessageHi => hi += Fr::one(),
        _ => {}
    }
    let lo = ctx.load_witness(lo);
    let hi = ctx.load_witness(hi);
    let mut assigned: AssignedSignature = load_signature(ctx, &ecc, &sig);
    match bad {
        Bad::ScalarPlusOne => {
            let v = *assigned.s.value() + Fr::one();
            assigned.s = ctx.load_witness(v);
        }
        Bad::ScalarPlusOrder => {
            let l = to_halo2(
                &<zklanes_executor::field::Fr as ark_ff::PrimeField>::from_le_bytes_mod_order(
                    &ark_ed_on_bn254_order(),
                ),
            );
            let v = *assigned.s.value() + l;
            assigned.s = ctx.load_witness(v);
        }
        Bad::NonceOffCurve => {
            let v = *assigned.r.x.value() + Fr::one();
            assigned.r.x.debug_prank(ctx, v);
        }
        _ => {}
    }
    verify(ctx, &ecc, &mut table, &mut muls, pk, assigned, hi, lo);
    builder.calculate_params(Some(9));
    let circuit = HashedCircuit::new(builder, table, muls);
    MockProver::run(K as u32, &circuit, vec![])
        .expect("synthesis")
        .verify()
        .is_ok()
}

fn ark_ed_on_bn254_order() -> Vec<u8> {
    use ark_ff::{BigInteger, PrimeField};
    ark_ed_on_bn254::Fr::MODULUS.to_bytes_le()
}

#[test]
fn valid_signature_verifies() {
    assert!(run(Bad::None));
}

#[test]
fn tampered_message_fails() {
    assert!(!run(Bad::MessageLo));
    assert!(!run(Bad::MessageHi));
}

#[test]
fn tampered_scalar_fails() {
    assert!(!run(Bad::ScalarPlusOne));
}

/// `s + l` gives the same point `s·B`, so only the range check stops it.
#[test]
fn scalar_at_or_above_the_order_fails() {
    assert!(!run(Bad::ScalarPlusOrder));
}

#[test]
fn nonce_point_off_the_curve_fails() {
    assert!(!run(Bad::NonceOffCurve));
}

#[test]
fn other_key_fails() {
    assert!(!run(Bad::OtherKey));
}

fn below(value: u64, bound: u64) -> bool {
    let mut builder = BaseCircuitBuilder::<Fr>::from_stage(CircuitBuilderStage::Mock).use_k(10);
    let gate = GateChip::<Fr>::default();
    let ctx = builder.main(0);
    let v = ctx.load_witness(Fr::from(value));
    let bits = gate.num_to_bits(ctx, v, 16);
    let bound_bits: Vec<bool> = (0..16).map(|i| (bound >> i) & 1 == 1).collect();
    assert_bits_below(ctx, &gate, &bits, &bound_bits);
    builder.calculate_params(Some(9));
    MockProver::run(10, &builder, vec![])
        .expect("synthesis")
        .verify()
        .is_ok()
}

#[test]
fn bound_check_is_strict() {
    assert!(below(0, 1));
    assert!(below(40_000, 40_001));
    assert!(!below(40_001, 40_001));
    assert!(!below(40_002, 40_001));
    assert!(!below(65_535, 40_001));
    assert!(below(0b0111_1111_1111_1111, 0b1000_0000_0000_0000));
    assert!(!below(0b1000_0000_0000_0000, 0b1000_0000_0000_0000));
}

/// Prints the cost of one verification (run with `--nocapture`), and keeps it
/// from silently growing past a budget.
#[test]
fn verification_cost_is_within_budget() {
    let (sk, msg, sig) = signed();
    let mut builder = BaseCircuitBuilder::<Fr>::from_stage(CircuitBuilderStage::Mock).use_k(K);
    let ecc = EccChip::default();
    let mut table = HashTable::default();
    let mut muls = ScalarMulTable::default();
    let ctx = builder.main(0);
    let pk = sk.public();
    let pk = ecc.load_point(ctx, to_halo2(&pk.x), to_halo2(&pk.y));
    let lo = ctx.load_witness(to_halo2(&msg.lo));
    let hi = ctx.load_witness(to_halo2(&msg.hi));
    let s = load_signature(ctx, &ecc, &sig);
    verify(ctx, &ecc, &mut table, &mut muls, pk, s, hi, lo);
    let stats = builder.statistics();
    let advice: usize = stats.gate.total_advice_per_phase.iter().sum();
    let table_cells = table.len() * zklanes_circuits::poseidon::CELLS_PER_PERMUTATION;
    let mul_cells = muls.rows() * zklanes_circuits::scalar_mul::COLUMNS;
    println!(
        "eddsa verification: {advice} generic-gate advice cells + {table_cells} Poseidon table cells + {mul_cells} scalar-mul chip cells = {}",
        advice + table_cells + mul_cells
    );
    assert!(advice + table_cells + mul_cells < 30_000, "{advice}");
}

/// A signature nobody made: `R = B`, `s = 0`, with the two products claimed
/// self-consistently through the chip (`s·B := R`, `h·A := O`), so the
/// verification equation `8·(s·B) = 8·(R + h·A)` holds on the claimed
/// values. Only the scalar-multiplication table can refuse it. With the
/// honest products (`claims = []`) it fails the equation instead; both
/// must fail.
fn forged(claims: Vec<(usize, (Fr, Fr))>) -> bool {
    let (sk, msg, _) = signed();
    let mut builder = BaseCircuitBuilder::<Fr>::from_stage(CircuitBuilderStage::Mock).use_k(K);
    let ecc = EccChip::default();
    let mut table = HashTable::default();
    let mut muls = ScalarMulTable::claiming(claims);
    let ctx = builder.main(0);
    let pk = sk.public();
    let pk = ecc.load_point(ctx, to_halo2(&pk.x), to_halo2(&pk.y));
    let lo = ctx.load_witness(to_halo2(&msg.lo));
    let hi = ctx.load_witness(to_halo2(&msg.hi));
    let b = zklanes_executor::signature::base_point();
    let sig = Signature {
        r_x: b.x,
        r_y: b.y,
        s: [0; 32],
    };
    let s = load_signature(ctx, &ecc, &sig);
    verify(ctx, &ecc, &mut table, &mut muls, pk, s, hi, lo);
    builder.calculate_params(Some(9));
    let circuit = HashedCircuit::new(builder, table, muls);
    MockProver::run(K as u32, &circuit, vec![])
        .expect("synthesis")
        .verify()
        .is_ok()
}

#[test]
fn forged_products_do_not_verify() {
    let b = zklanes_executor::signature::base_point();
    let r = (to_halo2(&b.x), to_halo2(&b.y));
    let identity = (Fr::zero(), Fr::one());
    assert!(
        !forged(vec![(0, r), (1, identity)]),
        "a signature by nobody verified: the scalar products are not bound"
    );
    assert!(
        !forged(vec![]),
        "R = B, s = 0 verified with honest products"
    );
}

/// The claim hook itself: claiming the honest products of a valid signature
/// verifies, so the forgery above fails for its products, not for the hook.
#[test]
fn claiming_the_honest_products_verifies() {
    let (sk, msg, sig) = signed();
    let run_with = |mut muls: ScalarMulTable| {
        let mut builder = BaseCircuitBuilder::<Fr>::from_stage(CircuitBuilderStage::Mock).use_k(K);
        let ecc = EccChip::default();
        let mut table = HashTable::default();
        let ctx = builder.main(0);
        let pk = sk.public();
        let pk = ecc.load_point(ctx, to_halo2(&pk.x), to_halo2(&pk.y));
        let lo = ctx.load_witness(to_halo2(&msg.lo));
        let hi = ctx.load_witness(to_halo2(&msg.hi));
        let s = load_signature(ctx, &ecc, &sig);
        verify(ctx, &ecc, &mut table, &mut muls, pk, s, hi, lo);
        builder.calculate_params(Some(9));
        let products = muls.products();
        let circuit = HashedCircuit::new(builder, table, muls);
        let ok = MockProver::run(K as u32, &circuit, vec![])
            .expect("synthesis")
            .verify()
            .is_ok();
        (ok, products)
    };
    let (ok, products) = run_with(ScalarMulTable::default());
    assert!(ok);
    assert_eq!(products.len(), 2);
    let (ok, _) = run_with(ScalarMulTable::claiming(products.into_iter().enumerate()));
    assert!(ok);
}
