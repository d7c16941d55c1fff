//! BabyJubJub arithmetic in the native field (BN254 Fr), in halo2-base's
//! generic gate: the curve of `zklanes_executor::signature`, twisted Edwards
//! `x² + y² = 1 + d·x²·y²` (`a = 1`, `d = 168696/168700`).
//!
//! # Layout
//!
//! - [`EccChip::add`]: the complete addition law. The sum `(x₃, y₃)` is a
//!   witness constrained by `x₃·(1 + d·t) = x₁y₂ + y₁x₂` and
//!   `y₃·(1 − d·t) = y₁y₂ − x₁x₂` with `t = x₁x₂y₁y₂`: 7 multiplications.
//!   Since `d` is not a square the denominators never vanish, so the law
//!   holds for every pair of curve points, the identity `(0, 1)` included.
//! - [`EccChip::mul_bits`]: double-and-add from the most significant bit,
//!   with `select` on each bit.
//!
//! # Assumptions
//!
//! Points passed in are on the curve ([`EccChip::load_point`] checks it);
//! bits are constrained boolean by whoever produced them.

use halo2_base::gates::{GateChip, GateInstructions};
use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use halo2_base::{AssignedValue, Context, QuantumCell::Constant};

use crate::field::to_halo2;

/// An assigned curve point.
#[derive(Clone, Copy, Debug)]
pub struct EdPoint {
    /// x coordinate.
    pub x: AssignedValue<Fr>,
    /// y coordinate.
    pub y: AssignedValue<Fr>,
}

/// BabyJubJub operations over a [`GateChip`].
#[derive(Clone, Debug)]
pub struct EccChip {
    /// The generic gate.
    pub gate: GateChip<Fr>,
    d: Fr,
}

impl Default for EccChip {
    fn default() -> Self {
        use ark_ec::twisted_edwards::TECurveConfig;
        Self {
            gate: GateChip::default(),
            d: to_halo2(&ark_ed_on_bn254::EdwardsConfig::COEFF_D),
        }
    }
}

fn inv(v: Fr) -> Fr {
    Option::from(v.invert()).unwrap_or(Fr::zero())
}

impl EccChip {
    /// The curve's `d`.
    pub fn d(&self) -> Fr {
        self.d
    }

    /// Loads a point as a witness and constrains it to the curve.
    pub fn load_point(&self, ctx: &mut Context<Fr>, x: Fr, y: Fr) -> EdPoint {
        let p = EdPoint {
            x: ctx.load_witness(x),
            y: ctx.load_witness(y),
        };
        self.assert_on_curve(ctx, p);
        p
    }

    /// A constant point.
    pub fn load_constant(&self, ctx: &mut Context<Fr>, x: Fr, y: Fr) -> EdPoint {
        EdPoint {
            x: ctx.load_constant(x),
            y: ctx.load_constant(y),
        }
    }

    /// Constrains `x² + y² = 1 + d·x²·y²`.
    pub fn assert_on_curve(&self, ctx: &mut Context<Fr>, p: EdPoint) {
        let g = &self.gate;
        let x2 = g.mul(ctx, p.x, p.x);
        let y2 = g.mul(ctx, p.y, p.y);
        let lhs = g.add(ctx, x2, y2);
        let x2y2 = g.mul(ctx, x2, y2);
        let rhs = g.mul_add(ctx, x2y2, Constant(self.d), Constant(Fr::one()));
        ctx.constrain_equal(&lhs, &rhs);
    }

    /// `p + q` (complete).
    pub fn add(&self, ctx: &mut Context<Fr>, p: EdPoint, q: EdPoint) -> EdPoint {
        let g = &self.gate;
        let x1y2 = g.mul(ctx, p.x, q.y);
        let y1x2 = g.mul(ctx, p.y, q.x);
        let x1x2 = g.mul(ctx, p.x, q.x);
        let y1y2 = g.mul(ctx, p.y, q.y);
        let t = g.mul(ctx, x1x2, y1y2);
        let num_x = g.add(ctx, x1y2, y1x2);
        let num_y = g.sub(ctx, y1y2, x1x2);
        let den_x = g.mul_add(ctx, t, Constant(self.d), Constant(Fr::one()));
        let den_y = g.mul_add(ctx, t, Constant(-self.d), Constant(Fr::one()));
        let x3 = ctx.load_witness(*num_x.value() * inv(*den_x.value()));
        let y3 = ctx.load_witness(*num_y.value() * inv(*den_y.value()));
        let cx = g.mul(ctx, x3, den_x);
        ctx.constrain_equal(&cx, &num_x);
        let cy = g.mul(ctx, y3, den_y);
        ctx.constrain_equal(&cy, &num_y);
        EdPoint { x: x3, y: y3 }
    }

    /// `bit ? a : b`.
    pub fn select(
        &self,
        ctx: &mut Context<Fr>,
        a: EdPoint,
        b: EdPoint,
        bit: AssignedValue<Fr>,
    ) -> EdPoint {
        EdPoint {
            x: self.gate.select(ctx, a.x, b.x, bit),
            y: self.gate.select(ctx, a.y, b.y, bit),
        }
    }

    /// `k·p` for `k = Σ bitsᵢ·2ⁱ` (bits least significant first).
    pub fn mul_bits(
        &self,
        ctx: &mut Context<Fr>,
        p: EdPoint,
        bits: &[AssignedValue<Fr>],
    ) -> EdPoint {
        let mut acc = self.load_constant(ctx, Fr::zero(), Fr::one());
        for bit in bits.iter().rev() {
            acc = self.add(ctx, acc, acc);
            let sum = self.add(ctx, acc, p);
            acc = self.select(ctx, sum, acc, *bit);
        }
        acc
    }

    /// `8·p`.
    pub fn mul_cofactor(&self, ctx: &mut Context<Fr>, p: EdPoint) -> EdPoint {
        let p2 = self.add(ctx, p, p);
        let p4 = self.add(ctx, p2, p2);
        self.add(ctx, p4, p4)
    }

    /// Constrains `p = q`.
    pub fn assert_equal(&self, ctx: &mut Context<Fr>, p: EdPoint, q: EdPoint) {
        ctx.constrain_equal(&p.x, &q.x);
        ctx.constrain_equal(&p.y, &q.y);
    }
}

/// Constrains the integer with little-endian `bits` to be below the constant
/// `bound` (given as little-endian bits of the same length), by a
/// most-significant-first comparison. `bits` must be boolean.
pub fn assert_bits_below(
    ctx: &mut Context<Fr>,
    gate: &GateChip<Fr>,
    bits: &[AssignedValue<Fr>],
    bound: &[bool],
) {
    assert_eq!(bits.len(), bound.len(), "bit lengths");
    // eq: all higher bits equal so far; lt: already strictly below.
    let mut eq = ctx.load_constant(Fr::one());
    let mut lt = ctx.load_constant(Fr::zero());
    for (bit, &c) in bits.iter().zip(bound).rev() {
        if c {
            // A 0 here where the bound has 1, with equal higher bits: below.
            let below_here = gate.mul_not(ctx, *bit, eq);
            lt = gate.add(ctx, lt, below_here);
            eq = gate.mul(ctx, eq, *bit);
        } else {
            eq = gate.mul_not(ctx, *bit, eq);
        }
    }
    gate.assert_is_const(ctx, &lt, &Fr::one());
}
