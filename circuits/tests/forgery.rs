//! Chunk-level forgeries through the scalar-multiplication chip: a
//! withdrawal signed by nobody, and an account created with a key outside
//! the prime-order subgroup. In both, the forger claims the products that
//! make every other check pass (the chip is the only thing that can refuse
//! them), and the circuit is checked against its own computed public
//! inputs, so only internal constraints decide.

use halo2_base::gates::circuit::builder::BaseCircuitBuilder;
use halo2_base::gates::circuit::CircuitBuilderStage;
use halo2_base::halo2_proofs::dev::MockProver;
use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use zklanes_circuits::chunk::{build_circuit_claiming, ChunkShape};
use zklanes_circuits::field::to_halo2;
use zklanes_circuits::fixtures;
use zklanes_circuits::scalar_mul::ScalarMulTable;
use zklanes_executor::field::Fr as NativeFr;
use zklanes_executor::params::DEFAULT_CHAIN_ID;
use zklanes_executor::signature::{PublicKey, Signature};
use zklanes_executor::state::Leaf;
use zklanes_executor::trace::ChunkTrace;
use zklanes_executor::tx::TxBody;

const K: usize = 15;
const SHAPE: ChunkShape = ChunkShape {
    capacity: 3,
    chain_id: DEFAULT_CHAIN_ID,
};

fn traces() -> Vec<ChunkTrace> {
    fixtures::showcase_chunks(DEFAULT_CHAIN_ID, SHAPE.capacity)
}

/// MockProver on `trace` with `claims` (request index → product) against
/// the circuit's own public cells.
fn consistent_claiming(trace: &ChunkTrace, claims: Vec<(usize, (Fr, Fr))>) -> bool {
    let builder = BaseCircuitBuilder::<Fr>::from_stage(CircuitBuilderStage::Mock)
        .use_k(K)
        .use_lookup_bits(8)
        .use_instance_columns(1);
    let mut own = vec![];
    let circuit = build_circuit_claiming(
        builder,
        trace,
        &SHAPE,
        ScalarMulTable::claiming(claims),
        |_, cells| own = cells.public.iter().map(|c| *c.value()).collect(),
    )
    .expect("builds");
    assert!(circuit.table_rows() < (1 << K) - 64, "k too small");
    MockProver::run(K as u32, &circuit, vec![own])
        .expect("synthesis")
        .verify()
        .is_ok()
}

/// Slot `i` requests products `2i` (`s·B`, or `(l − 1)·key` for a created
/// key) and `2i + 1` (`h·A`).
fn first_product(slot: usize) -> usize {
    2 * slot
}

/// The showcase chunk holding a withdrawal, and the withdrawal's slot.
fn withdrawal_chunk() -> (ChunkTrace, usize) {
    traces()
        .into_iter()
        .find_map(|t| {
            let i = t
                .txs
                .iter()
                .position(|x| matches!(x.tx.body, TxBody::Withdraw(_)))?;
            Some((t, i))
        })
        .expect("the showcase has a withdrawal")
}

/// A withdrawal with the signature `(R, s) = (B, 0)`, which nobody made,
/// and the claimed products `s·B := R`, `h·A := O` that satisfy the
/// verification equation. With a bound table it is refused.
#[test]
fn a_withdrawal_signed_by_nobody_is_refused() {
    let (honest, slot) = withdrawal_chunk();
    assert!(
        consistent_claiming(&honest, vec![]),
        "the honest chunk proves"
    );
    let b = zklanes_executor::signature::base_point();
    let mut forged = honest.clone();
    forged.txs[slot].tx.signature = Some(Signature {
        r_x: b.x,
        r_y: b.y,
        s: [0; 32],
    });
    let r = (to_halo2(&b.x), to_halo2(&b.y));
    let identity = (Fr::zero(), Fr::one());
    assert!(
        !consistent_claiming(
            &forged,
            vec![
                (first_product(slot), r),
                (first_product(slot) + 1, identity)
            ]
        ),
        "a withdrawal signed by nobody was proven: the scalar products are free"
    );
    assert!(
        !consistent_claiming(&forged, vec![]),
        "(B, 0) verified honestly"
    );
}

/// The claim hook reaches the slot's products: claiming the honest ones
/// (taken from the honest build) is satisfied.
#[test]
fn claiming_a_slots_honest_products_is_satisfied() {
    let (honest, slot) = withdrawal_chunk();
    let builder = BaseCircuitBuilder::<Fr>::from_stage(CircuitBuilderStage::Mock)
        .use_k(K)
        .use_lookup_bits(8)
        .use_instance_columns(1);
    let circuit = build_circuit_claiming(
        builder,
        &honest,
        &SHAPE,
        ScalarMulTable::default(),
        |_, _| {},
    )
    .expect("builds");
    let products = circuit.tables.scalar_muls.products();
    assert_eq!(products.len(), 2 * SHAPE.capacity);
    let claims = (0..2)
        .map(|j| (first_product(slot) + j, products[first_product(slot) + j]))
        .collect();
    assert!(consistent_claiming(&honest, claims));
}

/// BabyJubJub points of small order (the curve as the executor uses it,
/// `a = 1`): `(0, −1)` of order 2, `(±1, 0)` of order 4.
fn torsion() -> Vec<(NativeFr, NativeFr)> {
    let one = NativeFr::from(1u64);
    let zero = NativeFr::from(0u64);
    vec![(zero, -one), (one, zero), (-one, zero)]
}

fn add(p: (NativeFr, NativeFr), q: (NativeFr, NativeFr)) -> (NativeFr, NativeFr) {
    use ark_ec::twisted_edwards::Affine;
    use ark_ec::CurveGroup;
    let a = Affine::<ark_ed_on_bn254::EdwardsConfig>::new_unchecked(p.0, p.1);
    let b = Affine::<ark_ed_on_bn254::EdwardsConfig>::new_unchecked(q.0, q.1);
    let s = (a + b).into_affine();
    (s.x, s.y)
}

/// `trace` with the account created at `slot` given `key` instead: the
/// created account leaf, and the sibling that leaf is for the
/// transaction's later leaves (the balance next to it), follow the key, so
/// the trace stays consistent apart from the key itself.
fn with_created_key(trace: &ChunkTrace, slot: usize, key: PublicKey) -> ChunkTrace {
    let mut t = trace.clone();
    let tx = &mut t.txs[slot];
    let TxBody::Deposit(d) = &mut tx.tx.body else {
        panic!("a deposit")
    };
    d.pubkey = key;
    let Leaf::Account(mut account) = tx.updates[0].new else {
        panic!("the deposit creates an account")
    };
    let before = Leaf::Account(account).hash();
    account.pubkey = key;
    account.pubkey_hash = key.hash();
    let after = Leaf::Account(account).hash();
    tx.updates[0].new = Leaf::Account(account);
    let mut replaced = 0;
    for u in &mut tx.updates[1..] {
        for s in &mut u.siblings {
            if *s == before {
                *s = after;
                replaced += 1;
            }
        }
    }
    assert!(
        replaced > 0,
        "the balance leaf sits next to the account leaf"
    );
    t.content_hash = t.compute_hash();
    t
}

/// A deposit that creates an account with a key off the prime-order
/// subgroup (a low-order point, or a valid key plus a torsion point), with
/// the subgroup check's product claimed as `(l − 1)·K := −K`, which is what
/// a key in the subgroup would give. With a bound table it is refused.
#[test]
fn a_created_key_outside_the_subgroup_is_refused() {
    let c0 = &traces()[0];
    // The last transaction of the first chunk creates its account and is
    // the last to touch it, so the circuit's own roots stay consistent.
    let slot = 2;
    let TxBody::Deposit(d) = &c0.txs[slot].tx.body else {
        panic!("a deposit")
    };
    let valid = (d.pubkey.x, d.pubkey.y);
    // Control: another valid key through the same substitution and claim.
    let other = fixtures::key(99).public();
    let t = with_created_key(c0, slot, other);
    let claim = (to_halo2(&-other.x), to_halo2(&other.y));
    assert!(consistent_claiming(&t, vec![(first_product(slot), claim)]));
    let mut keys = torsion();
    keys.extend(torsion().into_iter().map(|t| add(valid, t)));
    for (x, y) in keys {
        let key = PublicKey { x, y };
        assert!(key.point().is_none(), "the executor refuses it");
        let t = with_created_key(c0, slot, key);
        let claim = (to_halo2(&-x), to_halo2(&y));
        assert!(
            !consistent_claiming(&t, vec![(first_product(slot), claim)]),
            "an account was created with the key ({x}, {y}) outside the subgroup"
        );
        assert!(
            !consistent_claiming(&t, vec![]),
            "({x}, {y}) passed honestly"
        );
    }
    // The valid key, claimed honestly through the same path, is satisfied.
    let claim = (to_halo2(&-valid.0), to_halo2(&valid.1));
    assert!(consistent_claiming(c0, vec![(first_product(slot), claim)]));
}
