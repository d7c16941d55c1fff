//! Cell accounting: what a piece of circuit costs in halo2-base's generic
//! gate, its range lookups, and the two chip tables. The chunk layout sizes
//! its circuit with it (`chunk::layout`), and `zklanes circuit-stats`
//! reports it.

use halo2_base::gates::circuit::builder::BaseCircuitBuilder;
use halo2_base::gates::circuit::{BaseCircuitParams, CircuitBuilderStage};
use halo2_base::gates::RangeChip;
use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use halo2_base::Context;
use serde::Serialize;

use crate::chunk::layout::{LOOKUP_BITS, MIN_UNUSABLE_ROWS};
use crate::ecc::EccChip;
use crate::hash_table::HashTable;
use crate::poseidon;
use crate::scalar_mul::{self, ScalarMulTable};

/// Advice cells of one measured piece of circuit.
#[derive(Clone, Copy, Debug, Default, Serialize, PartialEq, Eq)]
pub struct Cost {
    /// Generic-gate advice cells.
    pub generic_advice: usize,
    /// Cells copied into lookup columns for range checks.
    pub lookup_advice: usize,
    /// Poseidon permutations (each [`poseidon::CELLS_PER_PERMUTATION`] cells).
    pub poseidon_permutations: usize,
    /// Scalar-multiplication chip rows (each [`scalar_mul::COLUMNS`] cells of
    /// the Poseidon chip's columns, [`scalar_mul::ROWS_PER_BIT`] per bit).
    pub scalar_mul_rows: usize,
}

impl Cost {
    /// All advice cells: generic, lookup and both chips.
    pub fn total_advice(&self) -> usize {
        self.generic_advice
            + self.lookup_advice
            + self.poseidon_permutations * poseidon::CELLS_PER_PERMUTATION
            + self.scalar_mul_rows * scalar_mul::COLUMNS
    }

    /// Rows the chip tables need: both chips share the Poseidon chip's
    /// columns, one table after the other.
    pub fn table_rows(&self) -> usize {
        self.poseidon_permutations * poseidon::BLOCK_ROWS + self.scalar_mul_rows
    }
}

/// Tools handed to a measured closure.
pub struct Tools<'a> {
    /// Range chip (lookup bits 8).
    pub range: &'a RangeChip<Fr>,
    /// Curve chip.
    pub ecc: &'a EccChip,
    /// Poseidon requests.
    pub table: &'a mut HashTable,
    /// Scalar multiplication requests.
    pub muls: &'a mut ScalarMulTable,
}

/// Runs `f` in a fresh mock builder and reports what it cost.
pub fn measure(f: impl FnOnce(&mut Context<Fr>, &mut Tools<'_>)) -> Cost {
    measure_at(20, f).0
}

/// Like [`measure`], also laying the generic cells out for `2^k` rows and
/// returning the resulting circuit parameters (columns per kind).
pub fn measure_at(
    k: usize,
    f: impl FnOnce(&mut Context<Fr>, &mut Tools<'_>),
) -> (Cost, BaseCircuitParams) {
    let mut builder = BaseCircuitBuilder::<Fr>::from_stage(CircuitBuilderStage::Mock)
        .use_k(k)
        .use_lookup_bits(LOOKUP_BITS);
    let range = builder.range_chip();
    let ecc = EccChip::default();
    let mut table = HashTable::default();
    let mut muls = ScalarMulTable::default();
    {
        let mut tools = Tools {
            range: &range,
            ecc: &ecc,
            table: &mut table,
            muls: &mut muls,
        };
        f(builder.main(0), &mut tools);
    }
    let stats = builder.statistics();
    let cost = Cost {
        generic_advice: stats.gate.total_advice_per_phase.iter().sum(),
        lookup_advice: stats.total_lookup_advice_per_phase.iter().sum(),
        poseidon_permutations: table.len(),
        scalar_mul_rows: muls.rows(),
    };
    let params = builder.calculate_params(Some(MIN_UNUSABLE_ROWS));
    builder.clear();
    (cost, params)
}
