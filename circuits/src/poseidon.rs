//! A custom-gate Poseidon permutation chip: exactly `zklanes_executor::poseidon`
//! (width 3, `x^5`, 8 full + 57 partial rounds, the same constants and MDS).
//!
//! # Layout
//!
//! Four advice columns `c0..c3`, round constants in fixed columns `k0..k2`.
//! With `tⱼ = sⱼ + kⱼ` (the state plus the round's constants):
//!
//! - a **partial round** is one row `[s0, s1, s2, q0]` with `q0 = t0²`, and
//!   the next row starts with `s'ᵢ = Mᵢ₀·t0·q0² + Mᵢ₁·t1 + Mᵢ₂·t2`;
//! - a **full round** is two rows `[s0, s1, s2, q0]`, `[q1, q2, ·, ·]` with
//!   `qⱼ = tⱼ²`, and the row after them starts with `s'ᵢ = Σⱼ Mᵢⱼ·tⱼ·qⱼ²`.
//!
//! A permutation is 8·2 + 57 + 1 = [`BLOCK_ROWS`] = 74 rows: **296 advice
//! cells** (about 2,250 for halo2-base's generic-gate Poseidon). Every gate has
//! degree 4 with its selector, like halo2-base's own gate, so the quotient
//! domain does not grow. The cells marked `·` (two per full round) and the
//! output row's `c3` are unused: assigned 0 and unconstrained.
//!
//! # Assumptions
//!
//! The caller binds the inputs (first row) and outputs (last row) to the rest
//! of the circuit with copy constraints; `c0..c2` have equality enabled.

use halo2_base::halo2_proofs::circuit::{Cell, Region, Value};
use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use halo2_base::halo2_proofs::plonk::{
    Advice, Column, ConstraintSystem, Error, Expression, Fixed, Selector,
};
use halo2_base::halo2_proofs::poly::Rotation;
use zklanes_executor::poseidon::{spec, FULL_ROUNDS, PARTIAL_ROUNDS, WIDTH};

use crate::field::to_halo2;

/// Rounds of the permutation.
pub const ROUNDS: usize = FULL_ROUNDS + PARTIAL_ROUNDS;
/// Advice columns of the chip.
pub const COLUMNS: usize = 4;
/// Rows of one permutation block.
pub const BLOCK_ROWS: usize = 2 * FULL_ROUNDS + PARTIAL_ROUNDS + 1;
/// Advice cells of one permutation.
pub const CELLS_PER_PERMUTATION: usize = BLOCK_ROWS * COLUMNS;

/// Columns and selectors of the chip.
#[derive(Clone, Debug)]
pub struct PoseidonConfig {
    /// Advice columns `c0..c3`.
    pub cols: [Column<Advice>; COLUMNS],
    /// Round constants.
    pub constants: [Column<Fixed>; WIDTH],
    /// First row of a full round.
    pub full: Selector,
    /// A partial round.
    pub partial: Selector,
}

/// The assigned input and output cells of one permutation.
#[derive(Clone, Debug)]
pub struct PermutationCells {
    /// First-row state cells.
    pub input: [Cell; WIDTH],
    /// Last-row state cells.
    pub output: [Cell; WIDTH],
    /// Output values.
    pub output_values: [Fr; WIDTH],
}

fn is_full(round: usize) -> bool {
    !(FULL_ROUNDS / 2..FULL_ROUNDS / 2 + PARTIAL_ROUNDS).contains(&round)
}

/// The row of each round inside a block.
pub fn round_row(round: usize) -> usize {
    let half = FULL_ROUNDS / 2;
    if round <= half {
        2 * round
    } else if round <= half + PARTIAL_ROUNDS {
        2 * half + (round - half)
    } else {
        2 * half + PARTIAL_ROUNDS + 2 * (round - half - PARTIAL_ROUNDS)
    }
}

impl PoseidonConfig {
    /// Allocates the columns and creates the gates.
    pub fn configure(meta: &mut ConstraintSystem<Fr>) -> Self {
        let cols = [(); COLUMNS].map(|_| meta.advice_column());
        let constants = [(); WIDTH].map(|_| meta.fixed_column());
        for c in &cols[..WIDTH] {
            meta.enable_equality(*c);
        }
        let full = meta.selector();
        let partial = meta.selector();
        let mds = spec()
            .mds
            .map(|row| row.map(|m| Expression::Constant(to_halo2(&m))));

        meta.create_gate("poseidon full round", |meta| {
            let q = meta.query_selector(full);
            let t: Vec<Expression<Fr>> = (0..WIDTH)
                .map(|j| {
                    meta.query_advice(cols[j], Rotation::cur())
                        + meta.query_fixed(constants[j], Rotation::cur())
                })
                .collect();
            let sq = [
                meta.query_advice(cols[3], Rotation::cur()),
                meta.query_advice(cols[0], Rotation::next()),
                meta.query_advice(cols[1], Rotation::next()),
            ];
            let next: Vec<Expression<Fr>> = (0..WIDTH)
                .map(|i| meta.query_advice(cols[i], Rotation(2)))
                .collect();
            let mut out: Vec<Expression<Fr>> = (0..WIDTH)
                .map(|j| q.clone() * (sq[j].clone() - t[j].clone() * t[j].clone()))
                .collect();
            for i in 0..WIDTH {
                let sum = (0..WIDTH)
                    .map(|j| mds[i][j].clone() * t[j].clone() * sq[j].clone() * sq[j].clone())
                    .reduce(|a, b| a + b)
                    .expect("width > 0");
                out.push(q.clone() * (next[i].clone() - sum));
            }
            out
        });

        meta.create_gate("poseidon partial round", |meta| {
            let q = meta.query_selector(partial);
            let t: Vec<Expression<Fr>> = (0..WIDTH)
                .map(|j| {
                    meta.query_advice(cols[j], Rotation::cur())
                        + meta.query_fixed(constants[j], Rotation::cur())
                })
                .collect();
            let sq0 = meta.query_advice(cols[3], Rotation::cur());
            let next: Vec<Expression<Fr>> = (0..WIDTH)
                .map(|i| meta.query_advice(cols[i], Rotation::next()))
                .collect();
            let sbox = t[0].clone() * sq0.clone() * sq0.clone();
            let mut out = vec![q.clone() * (sq0 - t[0].clone() * t[0].clone())];
            for i in 0..WIDTH {
                let sum = mds[i][0].clone() * sbox.clone()
                    + mds[i][1].clone() * t[1].clone()
                    + mds[i][2].clone() * t[2].clone();
                out.push(q.clone() * (next[i].clone() - sum));
            }
            out
        });

        Self {
            cols,
            constants,
            full,
            partial,
        }
    }

    /// Assigns one permutation of `input` at `offset` (its block takes
    /// [`BLOCK_ROWS`] rows). Returns the input and output cells.
    pub fn assign(
        &self,
        region: &mut Region<'_, Fr>,
        offset: usize,
        input: [Fr; WIDTH],
    ) -> Result<PermutationCells, Error> {
        let spec = spec();
        let mds = spec.mds.map(|row| row.map(|m| to_halo2(&m)));
        let mut state = input;
        let mut first = None;
        let put = |region: &mut Region<'_, Fr>, col: usize, row: usize, v: Fr| {
            region
                .assign_advice(self.cols[col], row, Value::known(v))
                .cell()
        };
        for round in 0..ROUNDS {
            let row = offset + round_row(round);
            let rc = spec.constants[round].map(|c| to_halo2(&c));
            let cells: [Cell; WIDTH] = std::array::from_fn(|j| put(region, j, row, state[j]));
            if round == 0 {
                first = Some(cells);
            }
            for (j, c) in self.constants.iter().enumerate() {
                region.assign_fixed(*c, row, rc[j]);
            }
            let t: [Fr; WIDTH] = std::array::from_fn(|j| state[j] + rc[j]);
            let sq: [Fr; WIDTH] = std::array::from_fn(|j| t[j] * t[j]);
            put(region, 3, row, sq[0]);
            let full = is_full(round);
            if full {
                put(region, 0, row + 1, sq[1]);
                put(region, 1, row + 1, sq[2]);
                put(region, 2, row + 1, Fr::zero());
                put(region, 3, row + 1, Fr::zero());
                self.full.enable(region, row)?;
            } else {
                self.partial.enable(region, row)?;
            }
            let sboxed: [Fr; WIDTH] = std::array::from_fn(|j| {
                if full || j == 0 {
                    t[j] * sq[j] * sq[j]
                } else {
                    t[j]
                }
            });
            state = std::array::from_fn(|i| (0..WIDTH).map(|j| mds[i][j] * sboxed[j]).sum());
        }
        let last = offset + BLOCK_ROWS - 1;
        let output: [Cell; WIDTH] = std::array::from_fn(|j| put(region, j, last, state[j]));
        put(region, 3, last, Fr::zero());
        Ok(PermutationCells {
            input: first.expect("ROUNDS > 0"),
            output,
            output_values: state,
        })
    }
}
