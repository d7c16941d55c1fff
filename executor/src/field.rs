//! The field of the whole protocol and conversions into and out of it.
//!
//! `Fr` is the BN254 scalar field, which is also the base field of BabyJubJub
//! (`ark_ed_on_bn254::Fq`), so signatures, hashes and tree nodes share it.

use ark_ff::{BigInteger, PrimeField};
use serde::{Deserialize, Deserializer, Serializer};

/// The BN254 scalar field.
pub type Fr = ark_bn254::Fr;

/// Canonical 32-byte big-endian encoding.
pub fn fr_to_bytes(f: &Fr) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(&f.into_bigint().to_bytes_be());
    out
}

/// Decodes a canonical 32-byte big-endian encoding; `None` when not below the modulus.
pub fn fr_from_bytes(bytes: &[u8; 32]) -> Option<Fr> {
    let mut bits = Vec::with_capacity(256);
    for byte in bytes.iter().rev() {
        for i in 0..8 {
            bits.push((byte >> i) & 1 == 1);
        }
    }
    Fr::from_bigint(<Fr as PrimeField>::BigInt::from_bits_le(&bits))
}

/// `0x`-prefixed hex of the canonical encoding.
pub fn fr_to_hex(f: &Fr) -> String {
    format!("0x{}", hex::encode(fr_to_bytes(f)))
}

/// Parses [`fr_to_hex`] output.
pub fn fr_from_hex(s: &str) -> Option<Fr> {
    let raw = hex::decode(s.strip_prefix("0x").unwrap_or(s)).ok()?;
    let bytes: [u8; 32] = raw.try_into().ok()?;
    fr_from_bytes(&bytes)
}

/// Serde adapter: a field element as a hex string.
pub mod serde_fr {
    use super::*;

    /// Serializes as `0x…` hex (human-readable formats) or 32 raw bytes.
    pub fn serialize<S: Serializer>(f: &Fr, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            s.serialize_str(&fr_to_hex(f))
        } else {
            serde::Serialize::serialize(&fr_to_bytes(f), s)
        }
    }

    /// Deserializes, rejecting non-canonical values.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Fr, D::Error> {
        let parsed = if d.is_human_readable() {
            let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
            fr_from_hex(&s)
        } else {
            fr_from_bytes(&<[u8; 32]>::deserialize(d)?)
        };
        parsed.ok_or_else(|| serde::de::Error::custom("invalid field element"))
    }
}

/// Serde adapter for `Vec<Fr>`.
pub mod serde_fr_vec {
    use super::*;
    use serde::Serialize;

    #[derive(Serialize, Deserialize)]
    struct W(#[serde(with = "super::serde_fr")] Fr);

    /// Serializes element by element with [`super::serde_fr`].
    pub fn serialize<S: Serializer>(v: &[Fr], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(v.iter().map(|f| W(*f)))
    }

    /// Deserializes element by element with [`super::serde_fr`].
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Fr>, D::Error> {
        Ok(Vec::<W>::deserialize(d)?.into_iter().map(|w| w.0).collect())
    }
}
