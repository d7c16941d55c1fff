//! EdDSA-Poseidon signature verification in-circuit, the rule of
//! `zklanes_executor::signature`:
//!
//! `h = compress(6 + 2⁸·hi, lo, R.y)`, `s < l`, `R` on the curve, and
//! `8·(s·B) = 8·(R + h·A)`.
//!
//! `h` is used as the 254-bit integer, not reduced modulo `l`: for a key in
//! the subgroup `h·A = (h mod l)·A`, and for any curve point the cofactor 8
//! removes the difference, so the check equals the native one. Its bits are
//! constrained canonical (below the field modulus), so no second decomposition
//! `h + p` exists; `s` is decomposed into 251 bits and constrained below `l`.
//!
//! # Cost
//!
//! One table compression, two scalar multiplications in the
//! [`crate::scalar_mul`] chip (251 and 254 rows), three doublings on each
//! side and the bit decompositions and bound checks in the generic gate.
//!
//! # Assumptions
//!
//! `pk` is the signer's key, loaded with [`EccChip::load_point`] and bound to
//! the account leaf by the caller; `hi < 2^245` and `lo` are the packed
//! message, bound to the transaction fields by the caller.

use ark_ff::{BigInteger, PrimeField};
use halo2_base::gates::GateInstructions;
use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use halo2_base::{AssignedValue, Context, QuantumCell::Constant};

use crate::ecc::{assert_bits_below, EccChip, EdPoint};
use crate::field::to_halo2;
use crate::hash_table::HashTable;
use crate::scalar_mul::ScalarMulTable;

/// Bits of the subgroup order `l`.
pub const SCALAR_BITS: usize = 251;
/// Bits of the BN254 scalar field modulus.
pub const FIELD_BITS: usize = 254;

/// The bits of the subgroup order `l`, least significant first.
pub fn subgroup_order_bits() -> Vec<bool> {
    let bits = ark_ed_on_bn254::Fr::MODULUS.to_bits_le();
    debug_assert!(bits[SCALAR_BITS..].iter().all(|b| !b));
    bits[..SCALAR_BITS].to_vec()
}

fn field_modulus_bits() -> Vec<bool> {
    ark_bn254::Fr::MODULUS.to_bits_le()[..FIELD_BITS].to_vec()
}

/// Assigned parts of one signature.
#[derive(Clone, Copy, Debug)]
pub struct AssignedSignature {
    /// The nonce point `R` (on the curve).
    pub r: EdPoint,
    /// The scalar `s`.
    pub s: AssignedValue<Fr>,
}

/// Loads a signature: `R` constrained on the curve, `s` as a witness.
pub fn load_signature(
    ctx: &mut Context<Fr>,
    ecc: &EccChip,
    sig: &zklanes_executor::signature::Signature,
) -> AssignedSignature {
    let r = ecc.load_point(ctx, to_halo2(&sig.r_x), to_halo2(&sig.r_y));
    let mut le = sig.s;
    le.reverse();
    let s = ctx.load_witness(Fr::from_bytes(&le).unwrap_or(Fr::zero()));
    AssignedSignature { r, s }
}

/// Constrains `sig` to be a valid signature by `pk` on the message `(hi, lo)`.
#[allow(clippy::too_many_arguments)]
pub fn verify(
    ctx: &mut Context<Fr>,
    ecc: &EccChip,
    table: &mut HashTable,
    muls: &mut ScalarMulTable,
    pk: EdPoint,
    sig: AssignedSignature,
    hi: AssignedValue<Fr>,
    lo: AssignedValue<Fr>,
) {
    let one = ctx.load_constant(Fr::one());
    let zero = ctx.load_constant(Fr::zero());
    let key = ecc.load_constant(ctx, Fr::zero(), Fr::one());
    verify_if(
        ctx,
        ecc,
        table,
        muls,
        pk,
        sig,
        (hi, lo),
        one,
        KeyCheck { key, on: zero },
    );
}

/// A subgroup check that shares the signature's first scalar multiplication
/// (a chunk slot either verifies a signature or checks a deposit's new key,
/// never both).
#[derive(Clone, Copy, Debug)]
pub struct KeyCheck {
    /// The key to check.
    pub key: EdPoint,
    /// Boolean: compute `(l − 1)·key` instead of `s·B`.
    pub on: AssignedValue<Fr>,
}

/// The signature rule, asserted only when `enabled` (a boolean the caller
/// constrains). Returns the first product: `s·B`, or `(l − 1)·key` when
/// `key_check.on`, which equals `−key = (−x, y)` exactly when `l·key = O`.
/// The caller asserts that when it needs the check; `enabled` and
/// `key_check.on` must not both be 1.
#[allow(clippy::too_many_arguments)]
pub fn verify_if(
    ctx: &mut Context<Fr>,
    ecc: &EccChip,
    table: &mut HashTable,
    muls: &mut ScalarMulTable,
    pk: EdPoint,
    sig: AssignedSignature,
    (hi, lo): (AssignedValue<Fr>, AssignedValue<Fr>),
    enabled: AssignedValue<Fr>,
    key_check: KeyCheck,
) -> EdPoint {
    let gate = &ecc.gate;
    // The first scalar, s or l − 1, below l.
    let l_minus_1 = to_halo2(&ark_bn254::Fr::from(ark_ed_on_bn254::Fr::MODULUS)) - Fr::one();
    let scalar = gate.select(ctx, Constant(l_minus_1), sig.s, key_check.on);
    let s_bits = gate.num_to_bits(ctx, scalar, SCALAR_BITS);
    assert_bits_below(ctx, gate, &s_bits, &subgroup_order_bits());
    // h = compress(6 + 2^8·hi, lo, R.y), with canonical bits.
    let tag = gate.mul_add(
        ctx,
        hi,
        Constant(Fr::from(256u64)),
        Constant(Fr::from(6u64)),
    );
    let h = table.compress(ctx, [tag, lo, sig.r.y]);
    let h_bits = gate.num_to_bits(ctx, h, FIELD_BITS);
    assert_bits_below(ctx, gate, &h_bits, &field_modulus_bits());
    // 8·(s·B) = 8·(R + h·A).
    let base = zklanes_executor::signature::base_point();
    let b = ecc.load_constant(ctx, to_halo2(&base.x), to_halo2(&base.y));
    let first_base = ecc.select(ctx, key_check.key, b, key_check.on);
    let first = muls.mul(ctx, first_base, &s_bits);
    let ha = muls.mul(ctx, pk, &h_bits);
    let rhs = ecc.add(ctx, sig.r, ha);
    let l8 = ecc.mul_cofactor(ctx, first);
    let r8 = ecc.mul_cofactor(ctx, rhs);
    for (a, b) in [(l8.x, r8.x), (l8.y, r8.y)] {
        let d = gate.sub(ctx, a, b);
        let gated = gate.mul(ctx, d, enabled);
        gate.assert_is_const(ctx, &gated, &Fr::zero());
    }
    first
}
