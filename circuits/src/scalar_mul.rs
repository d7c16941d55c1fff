//! A custom-gate scalar multiplication chip for BabyJubJub, laid in the
//! Poseidon chip's six advice columns (two rows per bit), and its table
//! binding into halo2-base's builder (as [`HashTable`] does for Poseidon).
//!
//! [`HashTable`]: crate::hash_table::HashTable
//!
//! # Layout
//!
//! A multiplication by an `n`-bit scalar is a block of `2·(n + 1)` rows over
//! the Poseidon chip's columns `c0..c5` (no columns of its own: an advice
//! column costs every proof about 1.5 committed polynomials and every
//! aggregation of it about 280k cells, and the Poseidon rows already set
//! `k`). Step `i` (bits most significant first) takes rows `2i` (A) and
//! `2i + 1` (B):
//!
//! ```text
//!        c0   c1   c2   c3   c4   c5
//! A      ax   ay   b    xx   yy   dx
//! B      px   py   dy   s    t    ·
//! ```
//!
//! With `a = 1` and the curve's `d`, the `step` gate (enabled on row A)
//! constrains, where `qx = b·px` and `qy = b·py + 1 − b` (`Q = b ? P : O`)
//! stay expressions:
//!
//! ```text
//! b·(b − 1) = 0                           bit
//! xx = ax², yy = ay²                      doubling products
//! dx·(1 + d·xx·yy) = 2·ax·ay              D = 2·A
//! dy·(1 − d·xx·yy) = yy − xx
//! s = dx·qx, t = dy·qy
//! ax'·(1 + d·s·t) = dx·qy + dy·qx         A' = D + Q (row A of the next step)
//! ay'·(1 − d·s·t) = t − s
//! px' = px, py' = py                      the base carries down (row B)
//! ```
//!
//! The block ends with an output pair of rows `[ax, ay, 0…]`, `[px, py, 0…]`,
//! and the first accumulator is the identity: on the first step's row A
//! the chip's `start` flag, the Poseidon chip's round-constant column `k0`
//! (no Poseidon gate is enabled on the block's rows, so the column is free
//! there), holds 1 and the step gate also constrains `start·ax = 0` and
//! `start·(ay − 1) = 0` (degree 3 with the selector). A flag in a fixed
//! column the chip already has costs no commitment, where a selector of its
//! own would cost one in every proof and its verification.
//! Every gate has degree 4 with its selector, as the Poseidon chip's and
//! halo2-base's. The Edwards law is complete for BabyJubJub (`d` is not a
//! square), so no exceptional case exists. Cost: 12 advice cells (two rows)
//! per bit, one of them unused ([`is_unused`]): about 3,000 cells for a
//! 254-bit scalar, against about 30,000 in the generic gate
//! ([`crate::ecc::EccChip::mul_bits`]).
//!
//! # Assumptions
//!
//! The base point is on the curve (the caller checks it); the bits are bound
//! to the builder's cells by copy constraints, so their meaning (a canonical
//! decomposition, a range) is the caller's. The columns are the Poseidon
//! chip's: `c0..c2` have equality enabled, and no other gate is enabled on
//! the block's rows (the table lays the blocks after the permutations).

use halo2_base::halo2_proofs::circuit::{Cell, Region, Value};
use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use halo2_base::halo2_proofs::plonk::{
    Advice, Column, ConstraintSystem, Error, Expression, Fixed, Selector, VirtualCells,
};
use halo2_base::halo2_proofs::poly::Rotation;
use halo2_base::virtual_region::copy_constraints::SharedCopyConstraintManager;
use halo2_base::{AssignedValue, Context};

use crate::ecc::EdPoint;

/// Advice columns the chip is laid in (the Poseidon chip's).
pub const COLUMNS: usize = crate::poseidon::COLUMNS;
/// Rows per bit.
pub const ROWS_PER_BIT: usize = 2;

/// The chip's selectors over the Poseidon chip's columns.
#[derive(Clone, Debug)]
pub struct ScalarMulConfig {
    /// The columns, `c0..c2` with equality (see the module docs).
    pub cols: [Column<Advice>; COLUMNS],
    /// One double-and-add step (rows A and B of a step).
    pub step: Selector,
    /// 1 on the first row of a block, 0 on the other rows A (the Poseidon
    /// chip's `k0`).
    pub start: Column<Fixed>,
    d: Fr,
}

// Row A of a step.
const AX: usize = 0;
const AY: usize = 1;
const B: usize = 2;
const XX: usize = 3;
const YY: usize = 4;
const DX: usize = 5;
// Row B of a step.
const PX: usize = 0;
const PY: usize = 1;
const DY: usize = 2;
const S: usize = 3;
const T: usize = 4;

/// Whether the layout leaves cell `(row, col)` of a block of `bits` bits
/// unused (assigned 0, read by no gate): `c5` of every row B, and
/// `c2..c5` of the output rows.
pub fn is_unused(bits: usize, row: usize, col: usize) -> bool {
    if row >= ROWS_PER_BIT * bits {
        col >= 2
    } else {
        row % 2 == 1 && col == 5
    }
}

fn inv(v: Fr) -> Fr {
    Option::from(v.invert()).unwrap_or(Fr::zero())
}

/// One step natively: `(2·A + b·P, [row A, row B])`.
fn step(d: Fr, a: (Fr, Fr), p: (Fr, Fr), b: bool) -> ((Fr, Fr), [[Fr; COLUMNS]; 2]) {
    let (ax, ay) = a;
    let (xx, yy, xy) = (ax * ax, ay * ay, ax * ay);
    let dx = (xy + xy) * inv(Fr::one() + d * xx * yy);
    let dy = (yy - xx) * inv(Fr::one() - d * xx * yy);
    let bf = if b { Fr::one() } else { Fr::zero() };
    let (qx, qy) = (bf * p.0, bf * p.1 + Fr::one() - bf);
    let (s, t) = (dx * qx, dy * qy);
    let nx = (dx * qy + dy * qx) * inv(Fr::one() + d * s * t);
    let ny = (t - s) * inv(Fr::one() - d * s * t);
    (
        (nx, ny),
        [[ax, ay, bf, xx, yy, dx], [p.0, p.1, dy, s, t, Fr::zero()]],
    )
}

/// `k·P` natively with the chip's recurrence (bits most significant first).
pub fn native_mul(p: (Fr, Fr), bits_msb_first: &[bool]) -> (Fr, Fr) {
    let d = crate::ecc::EccChip::default().d();
    bits_msb_first
        .iter()
        .fold((Fr::zero(), Fr::one()), |a, b| step(d, a, p, *b).0)
}

/// Cells of one assigned multiplication.
#[derive(Clone, Debug)]
pub struct ScalarMulCells {
    /// Base point cells (first step's row B).
    pub base: [Cell; 2],
    /// Bit cells, most significant first.
    pub bits: Vec<Cell>,
    /// Result cells (the output row A).
    pub out: [Cell; 2],
}

impl ScalarMulConfig {
    /// Creates the gate over `cols`, the Poseidon chip's columns
    /// ([`crate::poseidon::PoseidonConfig::cols`]), whose first three must
    /// have equality enabled, with `start` (the Poseidon chip's first
    /// round-constant column) as the block's first-row flag.
    pub fn configure(
        meta: &mut ConstraintSystem<Fr>,
        cols: [Column<Advice>; COLUMNS],
        start: Column<Fixed>,
    ) -> Self {
        let step = meta.selector();
        let d = crate::ecc::EccChip::default().d();
        meta.create_gate("scalar mul step", |meta| {
            let q = meta.query_selector(step);
            let at = |meta: &mut VirtualCells<'_, Fr>, col: usize, rot: i32| {
                meta.query_advice(cols[col], Rotation(rot))
            };
            let (ax, ay, b, xx, yy, dx) = (
                at(meta, AX, 0),
                at(meta, AY, 0),
                at(meta, B, 0),
                at(meta, XX, 0),
                at(meta, YY, 0),
                at(meta, DX, 0),
            );
            let (px, py, dy, s, t) = (
                at(meta, PX, 1),
                at(meta, PY, 1),
                at(meta, DY, 1),
                at(meta, S, 1),
                at(meta, T, 1),
            );
            let (nx, ny) = (at(meta, AX, 2), at(meta, AY, 2));
            let (npx, npy) = (at(meta, PX, 3), at(meta, PY, 3));
            let one = Expression::Constant(Fr::one());
            let dc = Expression::Constant(d);
            let first = meta.query_fixed(start, Rotation::cur());
            let qx = b.clone() * px.clone();
            let qy = b.clone() * py.clone() + one.clone() - b.clone();
            vec![
                q.clone() * first.clone() * ax.clone(),
                q.clone() * first * (ay.clone() - one.clone()),
                q.clone() * b.clone() * (b - one.clone()),
                q.clone() * (xx.clone() - ax.clone() * ax.clone()),
                q.clone() * (yy.clone() - ay.clone() * ay.clone()),
                q.clone()
                    * (dx.clone() * (one.clone() + dc.clone() * xx.clone() * yy.clone())
                        - (ax.clone() * ay.clone() + ax * ay)),
                q.clone()
                    * (dy.clone() * (one.clone() - dc.clone() * xx.clone() * yy.clone())
                        - (yy - xx)),
                q.clone() * (s.clone() - dx.clone() * qx.clone()),
                q.clone() * (t.clone() - dy.clone() * qy.clone()),
                q.clone()
                    * (nx * (one.clone() + dc.clone() * s.clone() * t.clone())
                        - (dx * qy + dy * qx)),
                q.clone() * (ny * (one - dc * s.clone() * t.clone()) - (t - s)),
                q.clone() * (npx - px),
                q * (npy - py),
            ]
        });
        Self {
            cols,
            step,
            start,
            d,
        }
    }

    /// Rows of the block of an `n`-bit multiplication.
    pub fn block_rows(n: usize) -> usize {
        ROWS_PER_BIT * (n + 1)
    }

    /// Assigns `k·P` at `offset`; the block takes
    /// [`block_rows`](Self::block_rows)`(bits.len())` rows.
    pub fn assign(
        &self,
        region: &mut Region<'_, Fr>,
        offset: usize,
        p: (Fr, Fr),
        bits_msb_first: &[bool],
    ) -> Result<ScalarMulCells, Error> {
        let mut a = (Fr::zero(), Fr::one());
        let mut bits = Vec::with_capacity(bits_msb_first.len());
        let mut base = None;
        let put = |region: &mut Region<'_, Fr>, row: usize, vals: [Fr; COLUMNS]| {
            self.cols
                .iter()
                .zip(vals)
                .map(|(c, v)| region.assign_advice(*c, row, Value::known(v)).cell())
                .collect::<Vec<Cell>>()
        };
        for (i, b) in bits_msb_first.iter().enumerate() {
            let row = offset + ROWS_PER_BIT * i;
            let (next, [row_a, row_b]) = step(self.d, a, p, *b);
            let cells_a = put(region, row, row_a);
            let cells_b = put(region, row + 1, row_b);
            if i == 0 {
                base = Some([cells_b[PX], cells_b[PY]]);
            }
            let flag = if i == 0 { Fr::one() } else { Fr::zero() };
            region.assign_fixed(self.start, row, flag);
            bits.push(cells_a[B]);
            self.step.enable(region, row)?;
            a = next;
        }
        let last = offset + ROWS_PER_BIT * bits_msb_first.len();
        let mut out_a = [Fr::zero(); COLUMNS];
        out_a[AX] = a.0;
        out_a[AY] = a.1;
        let mut out_b = [Fr::zero(); COLUMNS];
        out_b[PX] = p.0;
        out_b[PY] = p.1;
        let cells = put(region, last, out_a);
        put(region, last + 1, out_b);
        Ok(ScalarMulCells {
            base: base.expect("at least one bit"),
            bits,
            out: [cells[AX], cells[AY]],
        })
    }
}

#[derive(Clone, Debug)]
struct Request {
    base: EdPoint,
    bits_lsb_first: Vec<AssignedValue<Fr>>,
    out: EdPoint,
}

/// Scalar multiplications requested while building, proven by the chip.
///
/// Every product it returns is a witness that only the chip's table binds:
/// the circuit holding the table must lay it out (see
/// [`crate::hash_table::ChipTables`]), or the products are free.
#[derive(Clone, Debug, Default)]
pub struct ScalarMulTable {
    requests: Vec<Request>,
    /// Test hook: products to claim instead of computing them, by request
    /// index (see [`ScalarMulTable::claiming`]).
    claims: std::collections::BTreeMap<usize, (Fr, Fr)>,
}

impl ScalarMulTable {
    /// A table whose `i`-th request ([`mul`](Self::mul)) witnesses
    /// `claims[i]` instead of the honest product. Only for negative tests
    /// of circuits that call `mul` internally (a forged signature in a chunk
    /// slot): a wrong claim must fail the circuit.
    #[doc(hidden)]
    pub fn claiming(claims: impl IntoIterator<Item = (usize, (Fr, Fr))>) -> Self {
        Self {
            requests: vec![],
            claims: claims.into_iter().collect(),
        }
    }

    /// `k·P` for `k = Σ bitsᵢ·2ⁱ` (bits least significant first): witnesses the
    /// result and records the request.
    pub fn mul(
        &mut self,
        ctx: &mut Context<Fr>,
        base: EdPoint,
        bits_lsb_first: &[AssignedValue<Fr>],
    ) -> EdPoint {
        if let Some(claimed) = self.claims.get(&self.requests.len()).copied() {
            return self.mul_claiming(ctx, base, bits_lsb_first, claimed);
        }
        let msb: Vec<bool> = bits_lsb_first
            .iter()
            .rev()
            .map(|b| *b.value() == Fr::one())
            .collect();
        let out = native_mul((*base.x.value(), *base.y.value()), &msb);
        self.mul_claiming(ctx, base, bits_lsb_first, out)
    }

    /// Number of requested multiplications.
    pub fn len(&self) -> usize {
        self.requests.len()
    }

    /// Whether nothing was requested.
    pub fn is_empty(&self) -> bool {
        self.requests.is_empty()
    }

    /// The products witnessed so far, in request order.
    pub fn products(&self) -> Vec<(Fr, Fr)> {
        self.requests
            .iter()
            .map(|r| (*r.out.x.value(), *r.out.y.value()))
            .collect()
    }

    /// Like [`mul`](Self::mul) but witnesses `claimed` as the result. Only for
    /// negative tests: a wrong claim must fail the circuit.
    #[doc(hidden)]
    pub fn mul_claiming(
        &mut self,
        ctx: &mut Context<Fr>,
        base: EdPoint,
        bits_lsb_first: &[AssignedValue<Fr>],
        claimed: (Fr, Fr),
    ) -> EdPoint {
        let (x, y) = claimed;
        let out = EdPoint {
            x: ctx.load_witness(x),
            y: ctx.load_witness(y),
        };
        self.requests.push(Request {
            base,
            bits_lsb_first: bits_lsb_first.to_vec(),
            out,
        });
        out
    }

    /// Rows the table needs (in the Poseidon chip's columns, after the
    /// permutations).
    pub fn rows(&self) -> usize {
        self.requests
            .iter()
            .map(|r| ScalarMulConfig::block_rows(r.bits_lsb_first.len()))
            .sum()
    }

    /// Assigns the blocks from `offset` of `region` (taking
    /// [`rows`](Self::rows) rows); [`bind`](Self::bind) then ties them to
    /// the requests.
    pub fn assign_blocks(
        &self,
        config: &ScalarMulConfig,
        region: &mut Region<'_, Fr>,
        mut offset: usize,
    ) -> Result<Vec<ScalarMulCells>, Error> {
        let mut out = Vec::with_capacity(self.requests.len());
        for r in &self.requests {
            let msb: Vec<bool> = r
                .bits_lsb_first
                .iter()
                .rev()
                .map(|b| *b.value() == Fr::one())
                .collect();
            out.push(config.assign(
                region,
                offset,
                (*r.base.x.value(), *r.base.y.value()),
                &msb,
            )?);
            offset += ScalarMulConfig::block_rows(msb.len());
        }
        Ok(out)
    }

    /// Binds assigned blocks (from [`assign_blocks`](Self::assign_blocks))
    /// to the requests by copy constraints: base, bits and result.
    pub fn bind(
        &self,
        blocks: Vec<ScalarMulCells>,
        copy_manager: &SharedCopyConstraintManager<Fr>,
    ) {
        let mut cm = copy_manager.lock().expect("copy manager lock");
        for (r, block) in self.requests.iter().zip(blocks) {
            let mut pairs: Vec<(&AssignedValue<Fr>, Cell)> = vec![
                (&r.base.x, block.base[0]),
                (&r.base.y, block.base[1]),
                (&r.out.x, block.out[0]),
                (&r.out.y, block.out[1]),
            ];
            pairs.extend(
                r.bits_lsb_first
                    .iter()
                    .rev()
                    .zip(block.bits.iter().copied()),
            );
            for (v, raw) in pairs {
                let external = cm.load_external_cell(raw);
                cm.advice_equalities
                    .push((v.cell.expect("builder cells are tagged"), external));
            }
        }
    }
}
