//! A custom-gate Poseidon permutation chip: exactly `zklanes_executor::poseidon`
//! (width 3, `x^5`, 8 full + 57 partial rounds, the same constants and MDS).
//!
//! # Layout
//!
//! Six advice columns `c0..c5`, three fixed columns `k0..k2` for round
//! constants in their *sparse* form ([`circuit_constants`]): a partial
//! round's constants on the two elements that skip the S-box are linear, so
//! they are pushed through the MDS matrix into the next round's constants,
//! and every partial round keeps one constant (the same permutation,
//! exactly; three fixed columns instead of six). With `tⱼ = sⱼ + kⱼ` in a
//! full round:
//!
//! - a **full round** is one row `[s0, s1, s2, q0, q1, q2]` with `qⱼ = tⱼ²`;
//!   the next row starts with `s'ᵢ = Σⱼ Mᵢⱼ·tⱼ·qⱼ²`;
//! - **two partial rounds** share one row `[s0, s1, s2, q0, u0, q0']`: with
//!   `t0 = s0 + k0`, `q0 = t0²`, the first round's state
//!   `s'ᵢ = Mᵢ₀·t0·q0² + Mᵢ₁·s1 + Mᵢ₂·s2` stays an expression except its
//!   S-box input `u0 = s'₀`; the second round uses `t'₀ = u0 + k1`,
//!   `q0' = t'₀²`, and the next row starts with
//!   `Mᵢ₀·t'₀·q0'² + Mᵢ₁·s'₁ + Mᵢ₂·s'₂`;
//! - the odd partial round left over is one row `[s0, s1, s2, q0, ·, ·]`.
//!
//! A permutation is 8 + 28 + 1 + 1 = [`BLOCK_ROWS`] = 38 rows: **228 advice
//! cells** (about 2,250 for halo2-base's generic-gate Poseidon). Every gate
//! has degree 4 with its selector, like halo2-base's own gate, so the
//! quotient domain does not grow. The cells marked `·` and the output row's
//! `c3..c5` are unused: assigned 0 and unconstrained ([`is_unused`]).
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

/// Advice columns of the chip.
pub const COLUMNS: usize = 6;
/// Rows holding two partial rounds.
const PAIR_ROWS: usize = PARTIAL_ROUNDS / 2;
/// Rows holding one partial round.
const SINGLE_ROWS: usize = PARTIAL_ROUNDS % 2;
/// Rows of one permutation block.
pub const BLOCK_ROWS: usize = FULL_ROUNDS + PAIR_ROWS + SINGLE_ROWS + 1;
/// Advice cells of one permutation.
pub const CELLS_PER_PERMUTATION: usize = BLOCK_ROWS * COLUMNS;

/// Columns and selectors of the chip.
#[derive(Clone, Debug)]
pub struct PoseidonConfig {
    /// Advice columns `c0..c5`.
    pub cols: [Column<Advice>; COLUMNS],
    /// Round constants `k0..k2` (sparse form, [`circuit_constants`]).
    pub constants: [Column<Fixed>; WIDTH],
    /// A full round.
    pub full: Selector,
    /// Two partial rounds.
    pub pair: Selector,
    /// One partial round.
    pub single: Selector,
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

/// What a row of a block holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RowKind {
    Full(usize),
    Pair(usize),
    Single(usize),
    Output,
}

fn row_kind(row: usize) -> RowKind {
    let half = FULL_ROUNDS / 2;
    let partial_rows = PAIR_ROWS + SINGLE_ROWS;
    if row < half {
        RowKind::Full(row)
    } else if row < half + PAIR_ROWS {
        RowKind::Pair(half + 2 * (row - half))
    } else if row < half + partial_rows {
        RowKind::Single(half + 2 * PAIR_ROWS)
    } else if row < half + partial_rows + half {
        RowKind::Full(half + PARTIAL_ROUNDS + (row - half - partial_rows))
    } else {
        RowKind::Output
    }
}

/// Whether the layout leaves cell `(row, col)` of a block unused (assigned 0,
/// read by no gate).
pub fn is_unused(row: usize, col: usize) -> bool {
    match row_kind(row) {
        RowKind::Single(_) => col >= 4,
        RowKind::Output => col >= WIDTH,
        _ => false,
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
        let pair = meta.selector();
        let single = meta.selector();
        let mds = spec()
            .mds
            .map(|row| row.map(|m| Expression::Constant(to_halo2(&m))));

        // tⱼ = sⱼ + kⱼ of the row's (first) round.
        let first_t = |meta: &mut halo2_base::halo2_proofs::plonk::VirtualCells<'_, Fr>| -> Vec<Expression<Fr>> {
            (0..WIDTH)
                .map(|j| meta.query_advice(cols[j], Rotation::cur()) + meta.query_fixed(constants[j], Rotation::cur()))
                .collect()
        };
        let next_state = |meta: &mut halo2_base::halo2_proofs::plonk::VirtualCells<'_, Fr>| -> Vec<Expression<Fr>> {
            (0..WIDTH).map(|i| meta.query_advice(cols[i], Rotation::next())).collect()
        };

        meta.create_gate("poseidon full round", |meta| {
            let q = meta.query_selector(full);
            let t = first_t(meta);
            let sq: Vec<Expression<Fr>> = (0..WIDTH)
                .map(|j| meta.query_advice(cols[WIDTH + j], Rotation::cur()))
                .collect();
            let next = next_state(meta);
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

        // A partial round's S-box input: t0 = s0 + k0 (sparse constants).
        let partial_t = |meta: &mut halo2_base::halo2_proofs::plonk::VirtualCells<'_, Fr>| -> Vec<Expression<Fr>> {
            (0..WIDTH)
                .map(|j| {
                    let s = meta.query_advice(cols[j], Rotation::cur());
                    if j == 0 {
                        s + meta.query_fixed(constants[0], Rotation::cur())
                    } else {
                        s
                    }
                })
                .collect()
        };

        meta.create_gate("poseidon partial round pair", |meta| {
            let q = meta.query_selector(pair);
            let t = partial_t(meta);
            let q0 = meta.query_advice(cols[3], Rotation::cur());
            let u0 = meta.query_advice(cols[4], Rotation::cur());
            let q0b = meta.query_advice(cols[5], Rotation::cur());
            let k_second = meta.query_fixed(constants[1], Rotation::cur());
            let next = next_state(meta);
            let sbox = t[0].clone() * q0.clone() * q0.clone();
            // The first round's state, as expressions of degree 3.
            let mid: Vec<Expression<Fr>> = (0..WIDTH)
                .map(|i| {
                    mds[i][0].clone() * sbox.clone()
                        + mds[i][1].clone() * t[1].clone()
                        + mds[i][2].clone() * t[2].clone()
                })
                .collect();
            let t0b = u0.clone() + k_second;
            let sbox_b = t0b.clone() * q0b.clone() * q0b.clone();
            let mut out = vec![
                q.clone() * (q0 - t[0].clone() * t[0].clone()),
                q.clone() * (u0 - mid[0].clone()),
                q.clone() * (q0b - t0b.clone() * t0b),
            ];
            for i in 0..WIDTH {
                let sum = mds[i][0].clone() * sbox_b.clone()
                    + mds[i][1].clone() * mid[1].clone()
                    + mds[i][2].clone() * mid[2].clone();
                out.push(q.clone() * (next[i].clone() - sum));
            }
            out
        });

        meta.create_gate("poseidon partial round", |meta| {
            let q = meta.query_selector(single);
            let t = partial_t(meta);
            let q0 = meta.query_advice(cols[3], Rotation::cur());
            let next = next_state(meta);
            let sbox = t[0].clone() * q0.clone() * q0.clone();
            let mut out = vec![q.clone() * (q0 - t[0].clone() * t[0].clone())];
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
            pair,
            single,
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
        let sparse = circuit_constants();
        let rc = |round: usize| sparse[round];
        let mix = |a: [Fr; WIDTH]| -> [Fr; WIDTH] {
            std::array::from_fn(|i| (0..WIDTH).map(|j| mds[i][j] * a[j]).sum())
        };
        let partial = |s: [Fr; WIDTH], k: [Fr; WIDTH]| -> ([Fr; WIDTH], Fr) {
            let t: [Fr; WIDTH] = std::array::from_fn(|j| s[j] + k[j]);
            let q0 = t[0] * t[0];
            (mix([t[0] * q0 * q0, t[1], t[2]]), q0)
        };
        let put = |region: &mut Region<'_, Fr>, col: usize, row: usize, v: Fr| {
            region
                .assign_advice(self.cols[col], row, Value::known(v))
                .cell()
        };
        let mut state = input;
        let mut first = None;
        for r in 0..BLOCK_ROWS {
            let row = offset + r;
            let cells: [Cell; WIDTH] = std::array::from_fn(|j| put(region, j, row, state[j]));
            if r == 0 {
                first = Some(cells);
            }
            let mut rest = [Fr::zero(); COLUMNS - WIDTH];
            match row_kind(r) {
                RowKind::Full(round) => {
                    let k = rc(round);
                    let t: [Fr; WIDTH] = std::array::from_fn(|j| state[j] + k[j]);
                    let sq: [Fr; WIDTH] = std::array::from_fn(|j| t[j] * t[j]);
                    rest = sq;
                    state = mix(std::array::from_fn(|j| t[j] * sq[j] * sq[j]));
                    self.set_constants(region, row, k);
                    self.full.enable(region, row)?;
                }
                RowKind::Pair(round) => {
                    let (k, k2) = (rc(round), rc(round + 1));
                    let (mid, q0) = partial(state, k);
                    let (next, q0b) = partial(mid, k2);
                    rest = [q0, mid[0], q0b];
                    state = next;
                    self.set_constants(region, row, [k[0], k2[0], Fr::zero()]);
                    self.pair.enable(region, row)?;
                }
                RowKind::Single(round) => {
                    let k = rc(round);
                    let (next, q0) = partial(state, k);
                    rest[0] = q0;
                    state = next;
                    self.set_constants(region, row, k);
                    self.single.enable(region, row)?;
                }
                RowKind::Output => {}
            }
            for (j, v) in rest.into_iter().enumerate() {
                put(region, WIDTH + j, row, v);
            }
            if r + 1 == BLOCK_ROWS {
                return Ok(PermutationCells {
                    input: first.expect("first row"),
                    output: cells,
                    output_values: state,
                });
            }
        }
        unreachable!("BLOCK_ROWS > 0")
    }

    fn set_constants(&self, region: &mut Region<'_, Fr>, row: usize, k: [Fr; WIDTH]) {
        for (c, v) in self.constants.iter().zip(k) {
            region.assign_fixed(*c, row, v);
        }
    }
}

/// The round constants in the chip's sparse form: full rounds as specified,
/// except the first full round after the partial rounds, which takes what
/// the partial rounds carried; every partial round keeps only its first
/// constant. In a partial round the elements 1 and 2 skip the S-box, so
/// adding `c₁, c₂` there equals adding `M·(0, c₁, c₂)` after the round:
/// with the carry `v` (0 before the first partial round), a partial round
/// with constants `c` takes `t = c + v`, keeps `t₀`, and passes on
/// `v' = M·(0, t₁, t₂)`. The states between differ from the specification's
/// by the carry; the first full round after them absorbs it, so the
/// permutation's output is the specification's exactly (checked against
/// `zklanes_executor::poseidon` by the chip tests).
pub fn circuit_constants() -> &'static [[Fr; WIDTH]] {
    static SPARSE: std::sync::OnceLock<Vec<[Fr; WIDTH]>> = std::sync::OnceLock::new();
    SPARSE.get_or_init(|| {
        let spec = spec();
        let mds = spec.mds.map(|row| row.map(|m| to_halo2(&m)));
        let half = FULL_ROUNDS / 2;
        let mut carry = [Fr::zero(); WIDTH];
        spec.constants
            .iter()
            .enumerate()
            .map(|(round, c)| {
                let c = c.map(|v| to_halo2(&v));
                let t: [Fr; WIDTH] = std::array::from_fn(|j| c[j] + carry[j]);
                if (half..half + PARTIAL_ROUNDS).contains(&round) {
                    carry = std::array::from_fn(|i| mds[i][1] * t[1] + mds[i][2] * t[2]);
                    [t[0], Fr::zero(), Fr::zero()]
                } else {
                    carry = [Fr::zero(); WIDTH];
                    t
                }
            })
            .collect()
    })
}
