//! A custom-gate Poseidon permutation chip: exactly `zklanes_executor::poseidon`
//! (width 3, `x^5`, 8 full + 57 partial rounds, the same constants and MDS).
//!
//! # Layout
//!
//! One permutation is a block of `ROUNDS + 1 = 66` rows over 6 advice
//! columns: the state `s0, s1, s2` and the S-box squares `q0, q1, q2`. Row `r`
//! holds the state entering round `r` and fixed columns `c0, c1, c2` hold that
//! round's constants; row 65 holds the output. With `tⱼ = sⱼ + cⱼ`:
//!
//! - full round (selector `full`): `qⱼ = tⱼ²` and
//!   `s'ᵢ = Σⱼ Mᵢⱼ·tⱼ·qⱼ²` for every `i`;
//! - partial round (selector `partial`): `q0 = t0²` and
//!   `s'ᵢ = Mᵢ₀·t0·q0² + Mᵢ₁·t1 + Mᵢ₂·t2`.
//!
//! Every gate has degree 4 (selector included), the degree of halo2-base's
//! own gate, so the chip does not enlarge the quotient domain. Unused
//! squares in partial rounds are assigned 0 and unconstrained.
//!
//! Cost: 66 rows × 6 advice cells = 396 advice cells per permutation, against
//! about 2,250 per permutation for halo2-base's generic-gate Poseidon.
//!
//! # Assumptions
//!
//! The caller binds the inputs (row 0) and outputs (row 65) to the rest of
//! the circuit with copy constraints; the state columns have equality enabled.

use halo2_base::halo2_proofs::circuit::{AssignedCell, Cell, Region, Value};
use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use halo2_base::halo2_proofs::plonk::{
    Advice, Assigned, Column, ConstraintSystem, Error, Expression, Fixed, Selector,
};
use halo2_base::halo2_proofs::poly::Rotation;
use zklanes_executor::poseidon::{spec, FULL_ROUNDS, PARTIAL_ROUNDS, WIDTH};

use crate::field::to_halo2;

/// Rounds of the permutation.
pub const ROUNDS: usize = FULL_ROUNDS + PARTIAL_ROUNDS;
/// Rows of one permutation block.
pub const BLOCK_ROWS: usize = ROUNDS + 1;
/// Advice cells of one permutation.
pub const CELLS_PER_PERMUTATION: usize = BLOCK_ROWS * 2 * WIDTH;

/// Columns and selectors of the chip.
#[derive(Clone, Debug)]
pub struct PoseidonConfig {
    /// State columns.
    pub state: [Column<Advice>; WIDTH],
    /// S-box squares.
    pub squares: [Column<Advice>; WIDTH],
    /// Round constants.
    pub constants: [Column<Fixed>; WIDTH],
    /// Full-round selector.
    pub full: Selector,
    /// Partial-round selector.
    pub partial: Selector,
}

/// The assigned input and output cells of one permutation.
#[derive(Clone, Debug)]
pub struct PermutationCells {
    /// Row-0 state cells.
    pub input: [Cell; WIDTH],
    /// Row-65 state cells.
    pub output: [Cell; WIDTH],
    /// Output values.
    pub output_values: [Fr; WIDTH],
}

fn is_full(round: usize) -> bool {
    !(FULL_ROUNDS / 2..FULL_ROUNDS / 2 + PARTIAL_ROUNDS).contains(&round)
}

impl PoseidonConfig {
    /// Allocates the columns and creates the gates.
    pub fn configure(meta: &mut ConstraintSystem<Fr>) -> Self {
        let state = [(); WIDTH].map(|_| meta.advice_column());
        let squares = [(); WIDTH].map(|_| meta.advice_column());
        let constants = [(); WIDTH].map(|_| meta.fixed_column());
        for c in state {
            meta.enable_equality(c);
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
                    meta.query_advice(state[j], Rotation::cur())
                        + meta.query_fixed(constants[j], Rotation::cur())
                })
                .collect();
            let sq: Vec<Expression<Fr>> = squares
                .iter()
                .map(|c| meta.query_advice(*c, Rotation::cur()))
                .collect();
            let next: Vec<Expression<Fr>> = state
                .iter()
                .map(|c| meta.query_advice(*c, Rotation::next()))
                .collect();
            let mut out = Vec::new();
            for j in 0..WIDTH {
                out.push(q.clone() * (sq[j].clone() - t[j].clone() * t[j].clone()));
            }
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
                    meta.query_advice(state[j], Rotation::cur())
                        + meta.query_fixed(constants[j], Rotation::cur())
                })
                .collect();
            let sq0 = meta.query_advice(squares[0], Rotation::cur());
            let next: Vec<Expression<Fr>> = state
                .iter()
                .map(|c| meta.query_advice(*c, Rotation::next()))
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
            state,
            squares,
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
        for round in 0..ROUNDS {
            let row = offset + round;
            let rc = spec.constants[round].map(|c| to_halo2(&c));
            let cells = self.assign_state(region, row, &state);
            if round == 0 {
                first = Some(cells);
            }
            for (j, c) in self.constants.iter().enumerate() {
                region.assign_fixed(*c, row, rc[j]);
            }
            let t: [Fr; WIDTH] = std::array::from_fn(|j| state[j] + rc[j]);
            let sq: [Fr; WIDTH] = std::array::from_fn(|j| t[j] * t[j]);
            let full = is_full(round);
            for (j, c) in self.squares.iter().enumerate() {
                let v = if full || j == 0 { sq[j] } else { Fr::zero() };
                region.assign_advice(*c, row, Value::known(v));
            }
            let sboxed: [Fr; WIDTH] = std::array::from_fn(|j| {
                if full || j == 0 {
                    t[j] * sq[j] * sq[j]
                } else {
                    t[j]
                }
            });
            state = std::array::from_fn(|i| (0..WIDTH).map(|j| mds[i][j] * sboxed[j]).sum());
            if full {
                self.full.enable(region, row)?;
            } else {
                self.partial.enable(region, row)?;
            }
        }
        let last = self.assign_state(region, offset + ROUNDS, &state);
        Ok(PermutationCells {
            input: first.expect("ROUNDS > 0"),
            output: last,
            output_values: state,
        })
    }

    fn assign_state(
        &self,
        region: &mut Region<'_, Fr>,
        row: usize,
        state: &[Fr; WIDTH],
    ) -> [Cell; WIDTH] {
        std::array::from_fn(|j| {
            let cell: AssignedCell<&Assigned<Fr>, Fr> =
                region.assign_advice(self.state[j], row, Value::known(state[j]));
            cell.cell()
        })
    }
}
