//! The Merkle path gadget, run through halo2-base's builder with the Poseidon
//! table: it reproduces the executor's roots, and every binding fails when
//! tampered with: the public root, a direction bit, a hash input, a claimed
//! hash output.

use halo2_base::gates::circuit::builder::BaseCircuitBuilder;
use halo2_base::gates::circuit::CircuitBuilderStage;
use halo2_base::gates::{GateChip, GateInstructions};
use halo2_base::halo2_proofs::dev::MockProver;
use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use halo2_base::AssignedValue;
mod common;

use zklanes_circuits::field::{to_halo2, NativeFr};
use zklanes_circuits::hash_table::{HashTable, HashedCircuit};
use zklanes_circuits::merkle::path;
use zklanes_executor::params::TREE_DEPTH;

const K: usize = 12;

#[derive(Clone, Copy)]
enum Prank {
    None,
    /// Flip a direction bit.
    Bit(usize),
    /// Make a bit 2 (not boolean).
    BitTwo(usize),
    /// Change the left input of a level's hash in the builder only.
    Input(usize),
    /// Claim a wrong hash output at a level (and propagate it honestly).
    Output(usize),
}

struct Case {
    index: u64,
    leaf: NativeFr,
    siblings: [NativeFr; TREE_DEPTH],
}

fn case() -> Case {
    Case {
        index: 0b1011_0000_1111_0000_1010_0101_1100_0011,
        leaf: NativeFr::from(77u64),
        siblings: std::array::from_fn(|i| {
            NativeFr::from(1_000 + i as u64) * NativeFr::from(3u64).pow_u64(i as u64)
        }),
    }
}

trait PowU64 {
    fn pow_u64(self, e: u64) -> Self;
}

impl PowU64 for NativeFr {
    fn pow_u64(self, e: u64) -> Self {
        ark_ff::Field::pow(&self, [e])
    }
}

fn native_root(c: &Case) -> Fr {
    to_halo2(&zklanes_executor::smt::root_from_path(
        c.index,
        c.leaf,
        &c.siblings,
    ))
}

/// Builds the circuit; returns it with the root the circuit computed.
fn build(c: &Case, prank: Prank) -> (HashedCircuit, Fr) {
    build_at(
        c,
        prank,
        BaseCircuitBuilder::<Fr>::from_stage(CircuitBuilderStage::Mock)
            .use_k(K)
            .use_instance_columns(1),
    )
}

fn build_at(c: &Case, prank: Prank, mut builder: BaseCircuitBuilder<Fr>) -> (HashedCircuit, Fr) {
    let gate = GateChip::<Fr>::default();
    let mut table = HashTable::default();
    let ctx = builder.main(0);
    let index = ctx.load_witness(Fr::from(c.index));
    let leaf = ctx.load_witness(to_halo2(&c.leaf));
    let siblings: [AssignedValue<Fr>; TREE_DEPTH] =
        std::array::from_fn(|i| ctx.load_witness(to_halo2(&c.siblings[i])));
    let root = match prank {
        Prank::Output(level) => {
            // Recompute the path by hand, claiming a wrong output at `level`.
            let bits = gate.num_to_bits(ctx, index, TREE_DEPTH);
            let tag = ctx.load_constant(Fr::from(1u64));
            let mut acc = leaf;
            for (l, (bit, sib)) in bits.iter().zip(&siblings).enumerate() {
                let left = gate.select(ctx, *sib, acc, *bit);
                let right = gate.select(ctx, acc, *sib, *bit);
                acc = if l == level {
                    let honest = zklanes_executor::poseidon::compress_fr(
                        zklanes_executor::poseidon::Tag::Node.fr(),
                        zklanes_circuits::field::to_native(left.value()),
                        zklanes_circuits::field::to_native(right.value()),
                    );
                    table.compress_claiming(
                        ctx,
                        [tag, left, right],
                        to_halo2(&honest) + Fr::from(1u64),
                    )
                } else {
                    table.compress(ctx, [tag, left, right])
                };
            }
            acc
        }
        _ => {
            let cells = path(ctx, &gate, &mut table, index, leaf, &siblings);
            match prank {
                Prank::Bit(l) => {
                    let v = Fr::from(1u64) - cells.bits[l].value();
                    cells.bits[l].debug_prank(ctx, v);
                }
                Prank::BitTwo(l) => cells.bits[l].debug_prank(ctx, Fr::from(2u64)),
                Prank::Input(l) => {
                    let v = *cells.inputs[l].0.value() + Fr::from(1u64);
                    cells.inputs[l].0.debug_prank(ctx, v);
                }
                _ => {}
            }
            cells.root
        }
    };
    builder.assigned_instances[0].push(root);
    if !builder.witness_gen_only() {
        builder.calculate_params(Some(9));
    }
    let computed = *root.value();
    (
        HashedCircuit::new(builder, table, Default::default()),
        computed,
    )
}

fn verifies(c: &Case, prank: Prank, instance: Fr) -> bool {
    let (circuit, _) = build(c, prank);
    MockProver::run(K as u32, &circuit, vec![vec![instance]])
        .expect("synthesis")
        .verify()
        .is_ok()
}

#[test]
fn gadget_reproduces_the_executor_root() {
    let c = case();
    let (_, computed) = build(&c, Prank::None);
    assert_eq!(computed, native_root(&c));
    assert!(verifies(&c, Prank::None, native_root(&c)));
}

#[test]
fn wrong_public_root_is_rejected() {
    let c = case();
    assert!(!verifies(&c, Prank::None, native_root(&c) + Fr::from(1u64)));
}

#[test]
fn direction_bits_are_bound_to_the_index() {
    let c = case();
    for l in [0, 7, 31] {
        assert!(
            !verifies(&c, Prank::Bit(l), native_root(&c)),
            "flipped bit {l}"
        );
        assert!(
            !verifies(&c, Prank::BitTwo(l), native_root(&c)),
            "bit {l} = 2"
        );
    }
}

#[test]
fn hash_inputs_are_bound_to_the_table() {
    let c = case();
    for l in [0, 16, 31] {
        assert!(!verifies(&c, Prank::Input(l), native_root(&c)), "level {l}");
    }
}

/// A wrong hash output claimed in the builder, even with the public root
/// computed from it, fails: the table proves the real permutation.
#[test]
fn claimed_hash_outputs_are_bound_to_the_table() {
    let c = case();
    for l in [0, 13, 31] {
        let (_, forged_root) = build(&c, Prank::Output(l));
        assert_ne!(forged_root, native_root(&c));
        assert!(!verifies(&c, Prank::Output(l), forged_root), "level {l}");
    }
}

/// The real path: keygen with the builder's Keygen stage, break points saved,
/// then a Prover-stage circuit proven with KZG and verified (dev SRS,
/// insecure, test only). A wrong public root does not verify.
#[test]
fn real_kzg_proof_through_keygen_and_prover_stages() {
    use halo2_base::halo2_proofs::plonk::{keygen_pk, keygen_vk, Circuit};

    let c = case();
    let keygen_builder = BaseCircuitBuilder::<Fr>::from_stage(CircuitBuilderStage::Keygen)
        .use_k(K)
        .use_instance_columns(1);
    let (keygen_circuit, _) = build_at(&c, Prank::None, keygen_builder);
    let config_params = keygen_circuit.builder.params();
    let params = common::dev_params(K as u32);
    let vk = keygen_vk(&params, &keygen_circuit).expect("vk");
    let pk = keygen_pk(&params, vk, &keygen_circuit).expect("pk");
    let break_points = keygen_circuit.builder.break_points();

    let prover_builder = BaseCircuitBuilder::<Fr>::prover(config_params, break_points);
    let (prover_circuit, root) = build_at(&c, Prank::None, prover_builder);
    assert_eq!(root, native_root(&c));
    let instance = vec![root];
    let proof = common::prove(&params, &pk, prover_circuit, &instance);
    assert!(common::verify(&params, &pk, &proof, &instance));
    assert!(!common::verify(
        &params,
        &pk,
        &proof,
        &[root + Fr::from(1u64)]
    ));
}
