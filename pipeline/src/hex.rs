//! The hex forms of the proof files: field elements as 0x-prefixed
//! big-endian hex, bytes and SHA-256 digests as 0x-prefixed hex.

use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use halo2_base::halo2_proofs::halo2curves::ff::PrimeField;

/// A field element as 0x-prefixed big-endian hex.
pub fn fr_hex(f: &Fr) -> String {
    let mut b = f.to_repr();
    b.as_mut().reverse();
    format!("0x{}", hex::encode(b.as_ref()))
}

/// Parses [`fr_hex`]'s form; `None` unless canonical.
pub fn fr_from_hex(s: &str) -> Option<Fr> {
    let bytes = hex::decode(s.strip_prefix("0x").unwrap_or(s)).ok()?;
    let mut repr = <Fr as PrimeField>::Repr::default();
    if bytes.len() != repr.as_ref().len() {
        return None;
    }
    repr.as_mut().copy_from_slice(&bytes);
    repr.as_mut().reverse();
    Option::from(Fr::from_repr(repr))
}

/// Bytes as 0x-prefixed hex.
pub fn bytes_hex(b: &[u8]) -> String {
    format!("0x{}", hex::encode(b))
}

/// `0x`-prefixed hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    format!("0x{}", hex::encode(Sha256::digest(bytes)))
}
