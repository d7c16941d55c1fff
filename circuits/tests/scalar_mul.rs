//! The scalar multiplication chip equals arkworks' `k·P` and the generic-gate
//! double-and-add; every cell of a block is constrained; a wrong claimed
//! result or a changed bit fails through the table binding.

use ark_ec::CurveGroup;
use halo2_base::gates::circuit::builder::BaseCircuitBuilder;
use halo2_base::gates::circuit::CircuitBuilderStage;
use halo2_base::gates::GateInstructions;
use halo2_base::halo2_proofs::circuit::{Layouter, SimpleFloorPlanner, Value};
use halo2_base::halo2_proofs::dev::MockProver;
use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use halo2_base::halo2_proofs::plonk::{Circuit, Column, ConstraintSystem, Error, Instance};
use zklanes_circuits::ecc::EccChip;
use zklanes_circuits::field::to_halo2;
use zklanes_circuits::hash_table::{HashTable, HashedCircuit};
use zklanes_circuits::poseidon::PoseidonConfig;
use zklanes_circuits::scalar_mul::{
    is_unused, native_mul, ScalarMulConfig, ScalarMulTable, COLUMNS, ROWS_PER_BIT,
};

const BITS: usize = 20;
const SCALAR: u64 = 0b1011_0110_0101_1100_1101;

fn base() -> (Fr, Fr) {
    let p = zklanes_executor::signature::SecretKey::from_seed(5).public();
    (to_halo2(&p.x), to_halo2(&p.y))
}

fn msb_bits(k: u64, n: usize) -> Vec<bool> {
    (0..n).rev().map(|i| (k >> i) & 1 == 1).collect()
}

#[test]
fn native_recurrence_equals_arkworks() {
    let pk = zklanes_executor::signature::SecretKey::from_seed(5).public_point();
    let expected = (pk * ark_ed_on_bn254::Fr::from(SCALAR)).into_affine();
    let got = native_mul(base(), &msb_bits(SCALAR, BITS));
    assert_eq!(got, (to_halo2(&expected.x), to_halo2(&expected.y)));
    let zero = native_mul(base(), &msb_bits(0, BITS));
    assert_eq!(zero, (Fr::zero(), Fr::one()));
    assert!(pk.is_on_curve());
}

#[derive(Clone, Copy)]
enum Prank {
    None,
    Claim,
    Bit(usize),
}

fn table_circuit(prank: Prank) -> bool {
    let k = 10;
    let mut builder = BaseCircuitBuilder::<Fr>::from_stage(CircuitBuilderStage::Mock).use_k(k);
    let ecc = EccChip::default();
    let mut muls = ScalarMulTable::default();
    let ctx = builder.main(0);
    let (x, y) = base();
    let p = ecc.load_point(ctx, x, y);
    let scalar = ctx.load_witness(Fr::from(SCALAR));
    let bits = ecc.gate.num_to_bits(ctx, scalar, BITS);
    let out = match prank {
        Prank::Claim => {
            let honest = native_mul(base(), &msb_bits(SCALAR, BITS));
            muls.mul_claiming(ctx, p, &bits, (honest.0 + Fr::one(), honest.1))
        }
        _ => muls.mul(ctx, p, &bits),
    };
    // The same product in the generic gate must agree.
    let generic = ecc.mul_bits(ctx, p, &bits);
    ecc.assert_equal(ctx, out, generic);
    if let Prank::Bit(i) = prank {
        let v = Fr::one() - bits[i].value();
        bits[i].debug_prank(ctx, v);
    }
    builder.calculate_params(Some(9));
    let circuit = HashedCircuit::new(builder, HashTable::default(), muls);
    MockProver::run(k as u32, &circuit, vec![])
        .expect("synthesis")
        .verify()
        .is_ok()
}

#[test]
fn chip_equals_generic_gate() {
    assert!(table_circuit(Prank::None));
}

#[test]
fn wrong_claimed_result_fails() {
    assert!(!table_circuit(Prank::Claim));
}

#[test]
fn changed_bit_fails() {
    for i in [0, 7, BITS - 1] {
        assert!(!table_circuit(Prank::Bit(i)), "bit {i}");
    }
}

/// A raw circuit with one block, exposing the result, where any cell can be
/// overwritten after honest assignment.
#[derive(Clone)]
struct Block {
    tamper: Option<(usize, usize)>,
}

impl Circuit<Fr> for Block {
    type Config = (ScalarMulConfig, Column<Instance>);
    type FloorPlanner = SimpleFloorPlanner;
    type Params = ();

    fn without_witnesses(&self) -> Self {
        self.clone()
    }

    fn configure(meta: &mut ConstraintSystem<Fr>) -> Self::Config {
        // The chip lives in the Poseidon chip's columns.
        let poseidon = PoseidonConfig::configure(meta);
        let c = ScalarMulConfig::configure(meta, poseidon.cols, poseidon.constants[0]);
        let i = meta.instance_column();
        meta.enable_equality(i);
        (c, i)
    }

    fn synthesize(
        &self,
        (config, instance): Self::Config,
        mut layouter: impl Layouter<Fr>,
    ) -> Result<(), Error> {
        let cells = layouter.assign_region(
            || "block",
            |mut region| {
                let cells = config.assign(&mut region, 0, base(), &msb_bits(SCALAR, BITS))?;
                if let Some((row, col)) = self.tamper {
                    region.assign_advice(config.cols[col], row, Value::known(Fr::from(777u64)));
                }
                Ok(cells)
            },
        )?;
        layouter.constrain_instance(cells.base[0], instance, 0);
        layouter.constrain_instance(cells.base[1], instance, 1);
        layouter.constrain_instance(cells.out[0], instance, 2);
        layouter.constrain_instance(cells.out[1], instance, 3);
        Ok(())
    }
}

fn block_ok(tamper: Option<(usize, usize)>) -> bool {
    let (x, y) = base();
    let (ox, oy) = native_mul(base(), &msb_bits(SCALAR, BITS));
    MockProver::run(8, &Block { tamper }, vec![vec![x, y, ox, oy]])
        .expect("synthesis")
        .verify()
        .is_ok()
}

#[test]
fn every_cell_of_a_block_is_constrained() {
    assert!(block_ok(None));
    let rows = ScalarMulConfig::block_rows(BITS);
    let mut checked = 0;
    for row in 0..rows {
        for col in 0..COLUMNS {
            if is_unused(BITS, row, col) {
                // Unused cells really are free: overwriting them is harmless.
                assert!(block_ok(Some((row, col))), "row {row} column {col} is read");
                continue;
            }
            assert!(
                !block_ok(Some((row, col))),
                "row {row} column {col} unconstrained"
            );
            checked += 1;
        }
    }
    // Eleven cells per bit and the four of the output rows.
    assert_eq!(checked, 11 * BITS + 4);
    assert_eq!(rows, ROWS_PER_BIT * (BITS + 1));
}

/// Two multiplications and permutations share the columns: the table
/// places them one after the other and each stays bound.
#[test]
fn blocks_after_permutations_stay_bound() {
    for prank in [Prank::None, Prank::Claim] {
        let k = 11;
        let mut builder = BaseCircuitBuilder::<Fr>::from_stage(CircuitBuilderStage::Mock).use_k(k);
        let ecc = EccChip::default();
        let mut muls = ScalarMulTable::default();
        let mut table = HashTable::default();
        let ctx = builder.main(0);
        let (x, y) = base();
        let p = ecc.load_point(ctx, x, y);
        let a = ctx.load_witness(Fr::from(3u64));
        let h = table.compress(ctx, [a, p.x, p.y]);
        let bits = ecc.gate.num_to_bits(ctx, h, 254);
        let _ = muls.mul(ctx, p, &bits[..BITS]);
        let scalar = ctx.load_witness(Fr::from(SCALAR));
        let bits = ecc.gate.num_to_bits(ctx, scalar, BITS);
        let out = match prank {
            Prank::Claim => {
                let honest = native_mul(base(), &msb_bits(SCALAR, BITS));
                muls.mul_claiming(ctx, p, &bits, (honest.0, honest.1 + Fr::one()))
            }
            _ => muls.mul(ctx, p, &bits),
        };
        // No generic cross-check: the claim is bound by the chip alone.
        let _ = table.compress(ctx, [a, out.x, out.y]);
        builder.calculate_params(Some(9));
        let circuit = HashedCircuit::new(builder, table, muls);
        // Both tables in the same columns, one after the other: two
        // permutations, then two 20-bit multiplications.
        assert_eq!(
            circuit.table_rows(),
            2 * zklanes_circuits::poseidon::BLOCK_ROWS + 2 * ScalarMulConfig::block_rows(BITS)
        );
        let ok = MockProver::run(k as u32, &circuit, vec![])
            .expect("synthesis")
            .verify()
            .is_ok();
        assert_eq!(ok, matches!(prank, Prank::None));
    }
}
