//! A custom-gate scalar multiplication chip for BabyJubJub: one row per bit,
//! and its table binding into halo2-base's builder (as [`HashTable`] does for
//! Poseidon).
//!
//! # Layout
//!
//! A multiplication by an `n`-bit scalar is a block of `n + 1` rows over 14
//! advice columns. Row `i` holds the accumulator `(ax, ay)` entering step
//! `i` (bits most significant first), the base `(px, py)`, the bit `b`, and
//! helpers. With `a = 1` and the curve's `d`, the `step` gate constrains:
//!
//! ```text
//! b·(b − 1) = 0                           bit
//! xx = ax², yy = ay², xy = ax·ay          doubling products
//! dx·(1 + d·xx·yy) = 2·xy                 D = 2·A
//! dy·(1 − d·xx·yy) = yy − xx
//! qx = b·px, qy = b·py + 1 − b            Q = b ? P : identity
//! s = dx·qx, t = dy·qy
//! ax'·(1 + d·s·t) = dx·qy + dy·qx         A' = D + Q (next row)
//! ay'·(1 − d·s·t) = t − s
//! px' = px, py' = py                      the base carries down
//! ```
//!
//! and the `start` gate fixes the first accumulator to the identity `(0, 1)`.
//! Every gate has degree 4 with its selector. The edwards law is complete for
//! BabyJubJub (`d` is not a square), so no exceptional case exists.
//! Cost: 14 advice cells per bit, about 3,600 for a 254-bit scalar
//! (against about 30,000 in the generic gate, [`crate::ecc::EccChip::mul_bits`]).
//!
//! # Assumptions
//!
//! The base point is on the curve (the caller checks it); the bits are bound
//! to the builder's cells by copy constraints, so their meaning (a canonical
//! decomposition, a range) is the caller's.

use halo2_base::halo2_proofs::circuit::{Cell, Layouter, Region, Value};
use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use halo2_base::halo2_proofs::plonk::{
    Advice, Column, ConstraintSystem, Error, Expression, Selector,
};
use halo2_base::halo2_proofs::poly::Rotation;
use halo2_base::virtual_region::copy_constraints::SharedCopyConstraintManager;
use halo2_base::{AssignedValue, Context};

use crate::ecc::EdPoint;

/// Advice columns of the chip.
pub const COLUMNS: usize = 14;

/// Columns and selectors.
#[derive(Clone, Debug)]
pub struct ScalarMulConfig {
    /// `[ax, ay, px, py, b, xx, yy, xy, dx, dy, qx, qy, s, t]`.
    pub cols: [Column<Advice>; COLUMNS],
    /// One double-and-add step.
    pub step: Selector,
    /// First row of a block.
    pub start: Selector,
    d: Fr,
}

const AX: usize = 0;
const AY: usize = 1;
const PX: usize = 2;
const PY: usize = 3;
const B: usize = 4;

fn inv(v: Fr) -> Fr {
    Option::from(v.invert()).unwrap_or(Fr::zero())
}

/// One step natively: `(2·A + b·P, row helpers)`.
fn step(d: Fr, a: (Fr, Fr), p: (Fr, Fr), b: bool) -> ((Fr, Fr), [Fr; COLUMNS]) {
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
        [ax, ay, p.0, p.1, bf, xx, yy, xy, dx, dy, qx, qy, s, t],
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
    /// Base point cells (first row).
    pub base: [Cell; 2],
    /// Bit cells, most significant first.
    pub bits: Vec<Cell>,
    /// Result cells (last row).
    pub out: [Cell; 2],
}

impl ScalarMulConfig {
    /// Allocates the columns and creates the gates.
    pub fn configure(meta: &mut ConstraintSystem<Fr>) -> Self {
        let cols = [(); COLUMNS].map(|_| meta.advice_column());
        for c in &cols[..=B] {
            meta.enable_equality(*c);
        }
        let step = meta.selector();
        let start = meta.selector();
        let d = crate::ecc::EccChip::default().d();
        meta.create_gate("scalar mul step", |meta| {
            let q = meta.query_selector(step);
            let c: Vec<Expression<Fr>> = cols
                .iter()
                .map(|c| meta.query_advice(*c, Rotation::cur()))
                .collect();
            let next = |meta: &mut halo2_base::halo2_proofs::plonk::VirtualCells<'_, Fr>,
                        i: usize| {
                meta.query_advice(cols[i], Rotation::next())
            };
            let (nx, ny, npx, npy) = (
                next(meta, AX),
                next(meta, AY),
                next(meta, PX),
                next(meta, PY),
            );
            let [ax, ay, px, py, b, xx, yy, xy, dx, dy, qx, qy, s, t] =
                <[Expression<Fr>; COLUMNS]>::try_from(c).expect("14");
            let one = Expression::Constant(Fr::one());
            let dc = Expression::Constant(d);
            vec![
                q.clone() * b.clone() * (b.clone() - one.clone()),
                q.clone() * (xx.clone() - ax.clone() * ax.clone()),
                q.clone() * (yy.clone() - ay.clone() * ay.clone()),
                q.clone() * (xy.clone() - ax * ay),
                q.clone()
                    * (dx.clone() * (one.clone() + dc.clone() * xx.clone() * yy.clone())
                        - (xy.clone() + xy)),
                q.clone()
                    * (dy.clone() * (one.clone() - dc.clone() * xx.clone() * yy.clone())
                        - (yy - xx)),
                q.clone() * (qx.clone() - b.clone() * px.clone()),
                q.clone() * (qy.clone() - (b.clone() * py.clone() + one.clone() - b)),
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
        meta.create_gate("scalar mul start", |meta| {
            let q = meta.query_selector(start);
            let ax = meta.query_advice(cols[AX], Rotation::cur());
            let ay = meta.query_advice(cols[AY], Rotation::cur());
            vec![q.clone() * ax, q * (ay - Expression::Constant(Fr::one()))]
        });
        Self {
            cols,
            step,
            start,
            d,
        }
    }

    /// Assigns `k·P` at `offset`; the block takes `bits.len() + 1` rows.
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
        for (i, b) in bits_msb_first.iter().enumerate() {
            let row = offset + i;
            let (next, vals) = step(self.d, a, p, *b);
            let mut cells = Vec::with_capacity(COLUMNS);
            for (c, v) in self.cols.iter().zip(vals) {
                cells.push(region.assign_advice(*c, row, Value::known(v)).cell());
            }
            if i == 0 {
                base = Some([cells[PX], cells[PY]]);
                self.start.enable(region, row)?;
            }
            bits.push(cells[B]);
            self.step.enable(region, row)?;
            a = next;
        }
        let last = offset + bits_msb_first.len();
        let out = [
            region
                .assign_advice(self.cols[AX], last, Value::known(a.0))
                .cell(),
            region
                .assign_advice(self.cols[AY], last, Value::known(a.1))
                .cell(),
        ];
        region.assign_advice(self.cols[PX], last, Value::known(p.0));
        region.assign_advice(self.cols[PY], last, Value::known(p.1));
        Ok(ScalarMulCells {
            base: base.expect("at least one bit"),
            bits,
            out,
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

    /// Rows the table needs.
    pub fn rows(&self) -> usize {
        self.requests
            .iter()
            .map(|r| r.bits_lsb_first.len() + 1)
            .sum()
    }

    /// Assigns the blocks and binds them to the requests by copy constraints.
    pub fn assign(
        &self,
        config: &ScalarMulConfig,
        layouter: &mut impl Layouter<Fr>,
        copy_manager: &SharedCopyConstraintManager<Fr>,
        witness_gen_only: bool,
    ) -> Result<(), Error> {
        let blocks = layouter.assign_region(
            || "scalar mul table",
            |mut region| {
                let mut offset = 0;
                let mut out = Vec::with_capacity(self.requests.len());
                for r in &self.requests {
                    let msb: Vec<bool> = r
                        .bits_lsb_first
                        .iter()
                        .rev()
                        .map(|b| *b.value() == Fr::one())
                        .collect();
                    out.push(config.assign(
                        &mut region,
                        offset,
                        (*r.base.x.value(), *r.base.y.value()),
                        &msb,
                    )?);
                    offset += msb.len() + 1;
                }
                Ok(out)
            },
        )?;
        if witness_gen_only {
            return Ok(());
        }
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
        Ok(())
    }
}
