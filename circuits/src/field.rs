//! The executor computes over arkworks' BN254 `Fr`; halo2 over
//! halo2curves-axiom's. Both are the same field; this converts through the
//! canonical 32-byte little-endian encoding.

use ark_ff::{BigInteger, PrimeField};
use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use halo2_base::halo2_proofs::halo2curves::ff::PrimeField as _;

/// The executor's field type.
pub type NativeFr = zklanes_executor::field::Fr;

/// Converts an executor field element into halo2's.
pub fn to_halo2(f: &NativeFr) -> Fr {
    let mut repr = [0u8; 32];
    repr.copy_from_slice(&f.into_bigint().to_bytes_le());
    Fr::from_repr(repr).expect("canonical encodings agree for one field")
}

/// `2^bits` in halo2's field.
pub fn pow2(bits: u32) -> Fr {
    to_halo2(&zklanes_executor::pack::pow2(bits))
}

/// A `u128` in halo2's field.
pub fn from_u128(v: u128) -> Fr {
    to_halo2(&NativeFr::from(v))
}

/// Converts a halo2 field element into the executor's.
pub fn to_native(f: &Fr) -> NativeFr {
    NativeFr::from_le_bytes_mod_order(&f.to_repr())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversion_roundtrips() {
        for v in [0u64, 1, 2, u64::MAX] {
            let n = NativeFr::from(v) - NativeFr::from(7u64);
            assert_eq!(to_native(&to_halo2(&n)), n);
            assert_eq!(to_halo2(&n), Fr::from(v) - Fr::from(7u64));
        }
    }
}
