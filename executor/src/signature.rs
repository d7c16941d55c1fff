//! EdDSA over BabyJubJub with a Poseidon challenge (as Loopring and Hermez do),
//! with batch verification.
//!
//! - Curve: BabyJubJub in the twisted Edwards form of `ark-ed-on-bn254`
//!   (`a = 1`, `d = 168696/168700`), base field = BN254 Fr. [`base_point`] is
//!   a generator of the prime-order subgroup (order `l`, cofactor 8).
//! - Message: a transaction packs every signed field (chain id, type, nonce,
//!   all fields) into two field elements `(hi, lo)`, `hi < 2^245`
//!   ([`crate::tx::Message`]).
//! - Challenge: `h = Poseidon([6 + 2^8·hi, lo, R.y])[0]`, read as an integer and
//!   reduced modulo `l`. The signer's account index, hence its key, is in `lo`.
//! - Signature `(R, s)`: valid iff `R` is on the curve, `s < l`, the public key
//!   `A` is on the curve and in the subgroup (checked once, when the account is
//!   created), and `8·(s·B − R − h·A) = 0` (cofactored equation).
//! - Batch verification: `8·(Σ zᵢsᵢ·B − Σ zᵢ·Rᵢ − Σ zᵢhᵢ·Aᵢ) = 0` for random
//!   128-bit `zᵢ`, per sub-batch of 1,024 signatures: one MSM over the `Rᵢ`
//!   with the short `zᵢ`, one over `B` and the distinct keys (terms of one
//!   key summed first). A failing sub-batch is re-checked one by one to name
//!   the culprit.

use ark_ec::{twisted_edwards::TECurveConfig, AffineRepr, CurveGroup, VariableBaseMSM};
use ark_ed_on_bn254::{EdwardsAffine, EdwardsConfig, EdwardsProjective, Fr as Scalar};
use ark_ff::{BigInteger, PrimeField, UniformRand, Zero};
use rand::{RngCore, SeedableRng};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::field::{serde_fr, Fr};
use crate::poseidon::{self, Tag};
use crate::tx::Message;

/// A public key: a point of the prime-order subgroup, in affine coordinates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicKey {
    /// x coordinate.
    #[serde(with = "serde_fr")]
    pub x: Fr,
    /// y coordinate.
    #[serde(with = "serde_fr")]
    pub y: Fr,
}

impl PublicKey {
    /// The point, if it is on the curve and in the prime-order subgroup (and not the identity).
    pub fn point(&self) -> Option<EdwardsAffine> {
        let p = EdwardsAffine::new_unchecked(self.x, self.y);
        (p.is_on_curve() && p.is_in_correct_subgroup_assuming_on_curve() && !p.is_zero())
            .then_some(p)
    }

    /// `Poseidon(PubKey, x, y)`: what the account leaf stores.
    pub fn hash(&self) -> Fr {
        poseidon::compress(Tag::PubKey, self.x, self.y)
    }
}

/// A signature `(R, s)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signature {
    /// R.x
    #[serde(with = "serde_fr")]
    pub r_x: Fr,
    /// R.y
    #[serde(with = "serde_fr")]
    pub r_y: Fr,
    /// s, 32 bytes big-endian; must be below the subgroup order.
    pub s: [u8; 32],
}

/// A secret key (a scalar modulo `l`).
#[derive(Clone, Debug)]
pub struct SecretKey(Scalar);

/// The generator of the prime-order subgroup used by zklanes.
pub fn base_point() -> EdwardsAffine {
    EdwardsConfig::GENERATOR
}

/// The challenge scalar `h` of a signature over `msg` with nonce point y-coordinate `r_y`.
pub fn challenge(msg: &Message, r_y: Fr) -> Scalar {
    let h = poseidon::compress_fr(msg.tag_element(), msg.lo, r_y);
    Scalar::from_le_bytes_mod_order(&h.into_bigint().to_bytes_le())
}

impl SecretKey {
    /// A key derived deterministically from a seed (test and demo accounts).
    pub fn from_seed(seed: u64) -> Self {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed ^ 0x005e_c2e7);
        Self(Scalar::rand(&mut rng))
    }

    /// A key from a scalar.
    pub fn from_scalar(s: Scalar) -> Self {
        Self(s)
    }

    /// The scalar.
    pub fn scalar(&self) -> Scalar {
        self.0
    }

    /// The public point `sk·B`.
    pub fn public_point(&self) -> EdwardsAffine {
        (base_point() * self.0).into_affine()
    }

    /// The public key `sk·B`.
    pub fn public(&self) -> PublicKey {
        let p = (base_point() * self.0).into_affine();
        PublicKey { x: p.x, y: p.y }
    }

    /// Signs a message. The nonce is derived from the key and the message (RFC 8032 style).
    pub fn sign(&self, msg: &Message) -> Signature {
        let mut hasher = Sha256::new();
        hasher.update(b"zklanes-eddsa-nonce");
        hasher.update(self.0.into_bigint().to_bytes_le());
        hasher.update(crate::field::fr_to_bytes(&msg.hi));
        hasher.update(crate::field::fr_to_bytes(&msg.lo));
        let digest = hasher.finalize();
        let mut wide = digest.to_vec();
        wide.extend_from_slice(&Sha256::digest(digest));
        let r = Scalar::from_le_bytes_mod_order(&wide);
        let big_r = (base_point() * r).into_affine();
        let h = challenge(msg, big_r.y);
        let s = r + h * self.0;
        let mut s_bytes = [0u8; 32];
        s_bytes.copy_from_slice(&s.into_bigint().to_bytes_be());
        Signature {
            r_x: big_r.x,
            r_y: big_r.y,
            s: s_bytes,
        }
    }
}

/// Why a signature check failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// `s` is not below the subgroup order.
    #[error("signature scalar s is not below the subgroup order")]
    ScalarOutOfRange,
    /// `R` is not on the curve.
    #[error("signature point R is not on the curve")]
    PointNotOnCurve,
    /// The verification equation does not hold.
    #[error("signature equation does not hold")]
    Invalid,
}

/// Parsed parts of one signature check.
struct Prepared {
    r: EdwardsAffine,
    s: Scalar,
    h: Scalar,
}

fn prepare(msg: &Message, sig: &Signature) -> Result<Prepared, SignatureError> {
    let s = scalar_from_be(&sig.s).ok_or(SignatureError::ScalarOutOfRange)?;
    let r = EdwardsAffine::new_unchecked(sig.r_x, sig.r_y);
    if !r.is_on_curve() {
        return Err(SignatureError::PointNotOnCurve);
    }
    let h = challenge(msg, sig.r_y);
    Ok(Prepared { r, s, h })
}

/// A scalar from 32 big-endian bytes, `None` unless below the subgroup order.
fn scalar_from_be(bytes: &[u8; 32]) -> Option<Scalar> {
    let mut limbs = [0u64; 4];
    for (i, chunk) in bytes.chunks_exact(8).enumerate() {
        limbs[3 - i] = u64::from_be_bytes(chunk.try_into().expect("8-byte chunk"));
    }
    Scalar::from_bigint(ark_ff::BigInt(limbs))
}

/// Verifies one signature against a public key point (already checked valid).
pub fn verify(pk: &EdwardsAffine, msg: &Message, sig: &Signature) -> Result<(), SignatureError> {
    let p = prepare(msg, sig)?;
    let lhs = base_point() * p.s;
    let rhs = p.r.into_group() + *pk * p.h;
    if (lhs - rhs)
        .into_affine()
        .mul_by_cofactor_to_group()
        .is_zero()
    {
        Ok(())
    } else {
        Err(SignatureError::Invalid)
    }
}

/// One item of a batch verification.
pub struct BatchItem<'a> {
    /// The signer's key (a valid subgroup point).
    pub pk: EdwardsAffine,
    /// The signed message.
    pub msg: Message,
    /// The signature.
    pub sig: &'a Signature,
}

/// Sub-batch size of one multi-scalar multiplication.
const SUB_BATCH: usize = 1024;

/// Verifies many signatures; returns the position of the first invalid one (and why).
///
/// Sub-batches run in parallel on the current rayon pool, each as one MSM with
/// random weights drawn from the OS. A failing sub-batch is checked one by one.
pub fn verify_batch(items: &[BatchItem<'_>]) -> Result<(), (usize, SignatureError)> {
    let failures: Vec<(usize, SignatureError)> = items
        .par_chunks(SUB_BATCH)
        .enumerate()
        .filter_map(|(c, chunk)| {
            let base = c * SUB_BATCH;
            match verify_sub_batch(chunk) {
                Ok(()) => None,
                Err(()) => chunk.iter().enumerate().find_map(|(i, it)| {
                    verify(&it.pk, &it.msg, it.sig).err().map(|e| (base + i, e))
                }),
            }
        })
        .collect();
    match failures.into_iter().min_by_key(|(i, _)| *i) {
        Some(f) => Err(f),
        None => Ok(()),
    }
}

/// One sub-batch as two MSMs: `M1 = Σ zᵢ·Rᵢ` with 128-bit `zᵢ` (the upper
/// windows of Pippenger's method are then empty), and
/// `M2 = (Σ zᵢsᵢ)·B − Σⱼ (Σ_{i∈j} zᵢhᵢ)·Aⱼ` with the key terms of each
/// distinct key `Aⱼ` summed first. Valid iff `8·(M2 − M1) = 0`.
fn verify_sub_batch(items: &[BatchItem<'_>]) -> Result<(), ()> {
    let mut seed = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut seed);
    let mut rng = rand_chacha::ChaCha20Rng::from_seed(seed);
    let mut r_points = Vec::with_capacity(items.len());
    let mut r_scalars = Vec::with_capacity(items.len());
    let mut key_index: rustc_hash::FxHashMap<[u8; 32], usize> = rustc_hash::FxHashMap::default();
    let mut key_points = vec![base_point()];
    let mut key_scalars = vec![Scalar::zero()];
    for it in items {
        let p = prepare(&it.msg, it.sig).map_err(|_| ())?;
        let z = Scalar::from(((rng.next_u64() as u128) << 64) | rng.next_u64() as u128);
        key_scalars[0] += z * p.s;
        r_points.push(p.r);
        r_scalars.push(z);
        let j = *key_index
            .entry(crate::field::fr_to_bytes(&it.pk.x))
            .or_insert_with(|| {
                key_points.push(it.pk);
                key_scalars.push(Scalar::zero());
                key_points.len() - 1
            });
        if key_points[j] != it.pk {
            // Same x, other point (the negation): keep it separate.
            key_points.push(it.pk);
            key_scalars.push(-(z * p.h));
            continue;
        }
        key_scalars[j] -= z * p.h;
    }
    let m1 = EdwardsProjective::msm(&r_points, &r_scalars).map_err(|_| ())?;
    let m2 = EdwardsProjective::msm(&key_points, &key_scalars).map_err(|_| ())?;
    if (m2 - m1).into_affine().mul_by_cofactor_to_group().is_zero() {
        Ok(())
    } else {
        Err(())
    }
}

/// Checks that the crate's base point really generates the prime-order subgroup.
pub fn base_point_is_valid() -> bool {
    let b = base_point();
    b.is_on_curve() && b.is_in_correct_subgroup_assuming_on_curve() && !b.is_zero()
}
