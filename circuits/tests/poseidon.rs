//! The Poseidon chip computes exactly the executor's hash, and every part of
//! its witness is constrained: tampering with any used cell, or with the
//! public output, makes MockProver fail. A real KZG proof of the chip
//! verifies.

mod common;

use halo2_base::halo2_proofs::circuit::{Layouter, SimpleFloorPlanner, Value};
use halo2_base::halo2_proofs::dev::MockProver;
use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use halo2_base::halo2_proofs::plonk::{
    keygen_pk, keygen_vk, Circuit, Column, ConstraintSystem, Error, Instance,
};
use zklanes_circuits::field::{to_halo2, NativeFr};
use zklanes_circuits::poseidon::{is_unused, PoseidonConfig, BLOCK_ROWS, COLUMNS};
use zklanes_executor::poseidon::{compress_fr, Tag};

/// Where to overwrite a witness cell after honest assignment.
#[derive(Clone, Copy, Debug)]
enum Tamper {
    None,
    Cell { perm: usize, row: usize, col: usize },
}

#[derive(Clone)]
struct HashCircuit {
    inputs: Vec<[Fr; 3]>,
    tamper: Tamper,
}

impl Circuit<Fr> for HashCircuit {
    type Config = (PoseidonConfig, Column<Instance>);
    type FloorPlanner = SimpleFloorPlanner;
    type Params = ();

    fn without_witnesses(&self) -> Self {
        self.clone()
    }

    fn configure(meta: &mut ConstraintSystem<Fr>) -> Self::Config {
        let p = PoseidonConfig::configure(meta);
        let instance = meta.instance_column();
        meta.enable_equality(instance);
        (p, instance)
    }

    fn synthesize(
        &self,
        (config, instance): Self::Config,
        mut layouter: impl Layouter<Fr>,
    ) -> Result<(), Error> {
        let cells = layouter.assign_region(
            || "poseidon",
            |mut region| {
                let mut out = Vec::new();
                for (i, input) in self.inputs.iter().enumerate() {
                    out.push(config.assign(&mut region, i * BLOCK_ROWS, *input)?);
                }
                if let Tamper::Cell { perm, row, col } = self.tamper {
                    let at = perm * BLOCK_ROWS + row;
                    region.assign_advice(config.cols[col], at, Value::known(Fr::from(12345u64)));
                }
                Ok(out)
            },
        )?;
        for (i, c) in cells.iter().enumerate() {
            for j in 0..3 {
                layouter.constrain_instance(c.input[j], instance, 4 * i + j);
            }
            layouter.constrain_instance(c.output[0], instance, 4 * i + 3);
        }
        Ok(())
    }
}

const K: u32 = 9;

fn inputs() -> (Vec<[Fr; 3]>, Vec<Fr>) {
    let natives: Vec<[NativeFr; 3]> = vec![
        [Tag::Node.fr(), NativeFr::from(1u64), NativeFr::from(2u64)],
        [
            Tag::AccountLeaf.fr(),
            -NativeFr::from(5u64),
            NativeFr::from(1u64 << 40),
        ],
        [
            NativeFr::from(0u64),
            NativeFr::from(1u64),
            NativeFr::from(2u64),
        ],
    ];
    let mut instance = Vec::new();
    let mut ins = Vec::new();
    for n in &natives {
        let h = n.map(|x| to_halo2(&x));
        instance.extend_from_slice(&h);
        instance.push(to_halo2(&compress_fr(n[0], n[1], n[2])));
        ins.push(h);
    }
    (ins, instance)
}

fn mock(tamper: Tamper, instance: Option<Vec<Fr>>) -> bool {
    let (ins, honest) = inputs();
    let circuit = HashCircuit {
        inputs: ins,
        tamper,
    };
    MockProver::run(K, &circuit, vec![instance.unwrap_or(honest)])
        .expect("synthesis")
        .verify()
        .is_ok()
}

#[test]
fn chip_equals_native_hash() {
    assert!(mock(Tamper::None, None));
}

#[test]
fn wrong_output_is_rejected() {
    let (_, mut inst) = inputs();
    inst[3] += Fr::from(1u64);
    assert!(!mock(Tamper::None, Some(inst)));
    let (_, mut inst) = inputs();
    inst[11] -= Fr::from(1u64);
    assert!(!mock(Tamper::None, Some(inst)));
}

#[test]
fn wrong_input_is_rejected() {
    let (_, mut inst) = inputs();
    inst[5] += Fr::from(1u64);
    assert!(!mock(Tamper::None, Some(inst)));
}

/// Cells no gate reads, as the chip's layout declares them.
fn unused(row: usize, col: usize) -> bool {
    is_unused(row, col)
}

/// Every cell of a block that the layout uses is constrained: tampering with
/// any of them, in any row, fails.
#[test]
fn every_used_cell_is_constrained() {
    for row in 0..BLOCK_ROWS {
        for col in 0..COLUMNS {
            if !unused(row, col) {
                assert!(
                    !mock(Tamper::Cell { perm: 1, row, col }, None),
                    "row {row} col {col} unconstrained"
                );
            }
        }
    }
}

/// A real KZG proof (dev setup, insecure toxic waste; test only) of the chip
/// verifies, and fails against a wrong public output.
#[test]
fn real_kzg_proof_verifies() {
    let (ins, instance) = inputs();
    let circuit = HashCircuit {
        inputs: ins,
        tamper: Tamper::None,
    };
    let params = common::dev_params(K);
    let vk = keygen_vk(&params, &circuit).expect("vk");
    let pk = keygen_pk(&params, vk, &circuit).expect("pk");
    let proof = common::prove(&params, &pk, circuit, &instance);
    assert!(common::verify(&params, &pk, &proof, &instance));
    let mut bad = instance.clone();
    bad[3] += Fr::from(1u64);
    assert!(!common::verify(&params, &pk, &proof, &bad));
}

/// Control for the negative tests: overwriting a cell no gate reads still
/// verifies, so the failures above come from the constraints, not from the
/// overwrite itself.
#[test]
fn overwriting_an_unused_cell_is_not_itself_an_error() {
    for row in 0..BLOCK_ROWS {
        for col in 0..COLUMNS {
            if unused(row, col) {
                assert!(
                    mock(Tamper::Cell { perm: 2, row, col }, None),
                    "row {row} col {col}"
                );
            }
        }
    }
}

/// The generic-gate compression (for aggregation circuits) equals the
/// executor's, and a pranked output fails.
#[test]
fn generic_gate_compression_matches_the_executor() {
    use halo2_base::gates::circuit::builder::BaseCircuitBuilder;
    use halo2_base::gates::circuit::CircuitBuilderStage;
    use halo2_base::halo2_proofs::dev::MockProver;
    use zklanes_circuits::field::to_halo2;
    use zklanes_executor::field::Fr as NativeFr;
    use zklanes_executor::poseidon::{compress, Tag};

    let (a, b) = (NativeFr::from(12345u64), NativeFr::from(678u64));
    let expected = to_halo2(&compress(Tag::Node, a, b));
    for prank in [false, true] {
        let mut builder = BaseCircuitBuilder::<Fr>::from_stage(CircuitBuilderStage::Mock)
            .use_k(12)
            .use_lookup_bits(8);
        let gate = halo2_base::gates::GateChip::<Fr>::default();
        let ctx = builder.main(0);
        let inputs = [Tag::Node.fr(), a, b].map(|x| ctx.load_witness(to_halo2(&x)));
        let out = zklanes_circuits::poseidon_gate::compress(ctx, &gate, inputs);
        assert_eq!(*out.value(), expected);
        if prank {
            out.debug_prank(ctx, expected + Fr::one());
        }
        builder.calculate_params(Some(9));
        let ok = MockProver::run(12, &builder, vec![])
            .expect("synthesis")
            .verify()
            .is_ok();
        assert_eq!(ok, !prank);
    }
}
