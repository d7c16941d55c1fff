//! The one hash of zklanes: the Poseidon permutation over BN254 Fr with width
//! `T = 3`, S-box `x^5`, `R_F = 8` full and `R_P = 57` partial rounds, round
//! constants and MDS matrix from the reference Grain generator (the instance
//! `poseidonperm_x5_254_3` of Grassi et al.; see [`grain`]).
//!
//! zklanes never runs a sponge over it. Every hash is a **single-permutation
//! compression** of three field elements, whose first element is a
//! domain-separation tag ([`Tag`]):
//!
//! ```text
//! compress(tag, a, b) = Poseidon([tag, a, b])[0]
//! ```
//!
//! The circuits implement exactly this function. Wider records are packed
//! into two field elements before hashing (see `state`), and variable-length
//! commitments are running hash chains `c' = compress(tag, c, item)` that
//! start from zero.

mod grain;

use std::sync::OnceLock;

use ark_ff::Field;

use crate::field::Fr;

/// State width.
pub const WIDTH: usize = 3;
/// Number of full rounds (half before, half after the partial rounds).
pub const FULL_ROUNDS: usize = 8;
/// Number of partial rounds.
pub const PARTIAL_ROUNDS: usize = 57;

/// Domain-separation tags, placed in the first state element of every compression.
///
/// The numbers are part of the protocol: leaves, internal nodes, keys,
/// signatures and commitments can never collide with each other.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u64)]
pub enum Tag {
    /// Internal node of the state tree: `compress(Node, left, right)`.
    Node = 1,
    /// Account leaf: `compress(AccountLeaf, pubkey_hash, nonce)`.
    AccountLeaf = 2,
    /// Balance leaf: `compress(BalanceLeaf, balance, 0)`.
    BalanceLeaf = 3,
    /// Pool leaf: `compress(PoolLeaf, packed_lo, packed_hi)`.
    PoolLeaf = 4,
    /// Public key: `compress(PubKey, x, y)`.
    PubKey = 5,
    /// Signature challenge. The tag element also carries packed message bits (see `signature`).
    Challenge = 6,
    /// Public-data commitment chain.
    Pubdata = 7,
    /// Retired (the deposit commitment chain, before L1 read deposits
    /// from the public data); kept so that no tag number is reused.
    Deposits = 8,
    /// Retired (the withdrawal commitment chain); not reused.
    Withdrawals = 9,
    /// Retired (a deposit record's fields); not reused.
    DepositItem = 11,
    /// Retired (a deposit record with its key); not reused.
    DepositKey = 12,
    /// Retired (a withdrawal record); not reused.
    WithdrawalItem = 13,
    /// Aggregation fold of two public-data commitments.
    FoldPubdata = 14,
    /// Retired (the fold of deposit commitments); not reused.
    FoldDeposits = 15,
    /// Retired (the fold of withdrawal commitments); not reused.
    FoldWithdrawals = 16,
}

impl Tag {
    /// The tag as a field element.
    pub fn fr(self) -> Fr {
        Fr::from(self as u64)
    }
}

type Matrix = [[Fr; WIDTH]; WIDTH];

/// One sparse partial round: moved constants, `a00`, `v` and `w` of
/// `[[a00, v0, v1], [w0, 1, 0], [w1, 0, 1]]`.
type SparseRound = ([Fr; WIDTH], Fr, [Fr; 2], [Fr; 2]);

/// Round constants and the MDS matrix of the instance, plus the derived
/// sparse form of the partial rounds used by the fast native permutation.
#[derive(Debug)]
pub struct Spec {
    /// `FULL_ROUNDS + PARTIAL_ROUNDS` rows of round constants.
    pub constants: Vec<[Fr; WIDTH]>,
    /// The MDS matrix.
    pub mds: Matrix,
    /// Per partial round: constants moved through the deferred matrix, and the
    /// sparse matrix `[[a00, v0, v1], [w0, 1, 0], [w1, 0, 1]]` as `(a00, v, w)`.
    sparse: Vec<SparseRound>,
    /// The matrix deferred out of the last partial round, `[[1, 0], [0, Â]]`, as `Â`.
    deferred: [[Fr; 2]; 2],
}

fn mat_mul(a: &Matrix, b: &Matrix) -> Matrix {
    let mut out = [[Fr::from(0u64); WIDTH]; WIDTH];
    for i in 0..WIDTH {
        for j in 0..WIDTH {
            out[i][j] = (0..WIDTH).map(|k| a[i][k] * b[k][j]).sum();
        }
    }
    out
}

fn inv2(m: &[[Fr; 2]; 2]) -> [[Fr; 2]; 2] {
    let det_inv = (m[0][0] * m[1][1] - m[0][1] * m[1][0])
        .inverse()
        .expect("MDS minors are invertible");
    [
        [m[1][1] * det_inv, -m[0][1] * det_inv],
        [-m[1][0] * det_inv, m[0][0] * det_inv],
    ]
}

/// Splits the partial rounds into sparse matrices (Poseidon paper, appendix B):
/// a dense `A = [[a00, v], [w, Â]]` factors as `M' · M''` with
/// `M' = [[1, 0], [0, Â]]` and `M'' = [[a00, v], [Â⁻¹w, I]]`. `M'` commutes
/// with the partial S-box, so it is deferred into the next round's matrix.
fn sparse_form(constants: &[[Fr; WIDTH]], mds: &Matrix) -> (Vec<SparseRound>, [[Fr; 2]; 2]) {
    let half = FULL_ROUNDS / 2;
    let one = Fr::from(1u64);
    let zero = Fr::from(0u64);
    let mut deferred_inv = [[one, zero], [zero, one]];
    let mut acc = *mds;
    let mut rounds = Vec::with_capacity(PARTIAL_ROUNDS);
    let mut hat = [[one, zero], [zero, one]];
    for c in &constants[half..half + PARTIAL_ROUNDS] {
        let moved = [
            c[0],
            deferred_inv[0][0] * c[1] + deferred_inv[0][1] * c[2],
            deferred_inv[1][0] * c[1] + deferred_inv[1][1] * c[2],
        ];
        hat = [[acc[1][1], acc[1][2]], [acc[2][1], acc[2][2]]];
        let hat_inv = inv2(&hat);
        let w = [
            hat_inv[0][0] * acc[1][0] + hat_inv[0][1] * acc[2][0],
            hat_inv[1][0] * acc[1][0] + hat_inv[1][1] * acc[2][0],
        ];
        rounds.push((moved, acc[0][0], [acc[0][1], acc[0][2]], w));
        let m_prime = [
            [one, zero, zero],
            [zero, hat[0][0], hat[0][1]],
            [zero, hat[1][0], hat[1][1]],
        ];
        acc = mat_mul(mds, &m_prime);
        deferred_inv = hat_inv;
    }
    (rounds, hat)
}

/// The instance's constants, derived once per process.
pub fn spec() -> &'static Spec {
    static SPEC: OnceLock<Spec> = OnceLock::new();
    SPEC.get_or_init(|| {
        let (constants, mds) = grain::generate::<WIDTH>(FULL_ROUNDS, PARTIAL_ROUNDS);
        let (sparse, deferred) = sparse_form(&constants, &mds);
        Spec {
            constants,
            mds,
            sparse,
            deferred,
        }
    })
}

#[inline(always)]
fn sbox(x: &mut Fr) {
    let x2 = x.square();
    let x4 = x2.square();
    *x *= x4;
}

#[inline(always)]
fn mix(state: &mut [Fr; WIDTH], mds: &[[Fr; WIDTH]; WIDTH]) {
    let [a, b, c] = *state;
    for (out, row) in state.iter_mut().zip(mds.iter()) {
        *out = row[0] * a + row[1] * b + row[2] * c;
    }
}

#[inline(always)]
fn full_round(state: &mut [Fr; WIDTH], rc: &[Fr; WIDTH], mds: &Matrix) {
    for (s, c) in state.iter_mut().zip(rc.iter()) {
        *s += c;
        sbox(s);
    }
    mix(state, mds);
}

/// The Poseidon permutation, in place (fast form: sparse partial rounds).
pub fn permute(state: &mut [Fr; WIDTH]) {
    let spec = spec();
    let half = FULL_ROUNDS / 2;
    for rc in &spec.constants[..half] {
        full_round(state, rc, &spec.mds);
    }
    for (c, a00, v, w) in &spec.sparse {
        state[0] += c[0];
        state[1] += c[1];
        state[2] += c[2];
        sbox(&mut state[0]);
        let s0 = state[0];
        state[0] = *a00 * s0 + v[0] * state[1] + v[1] * state[2];
        state[1] += w[0] * s0;
        state[2] += w[1] * s0;
    }
    let d = &spec.deferred;
    let (s1, s2) = (state[1], state[2]);
    state[1] = d[0][0] * s1 + d[0][1] * s2;
    state[2] = d[1][0] * s1 + d[1][1] * s2;
    for rc in &spec.constants[half + PARTIAL_ROUNDS..] {
        full_round(state, rc, &spec.mds);
    }
}

/// The Poseidon permutation written round by round as specified (reference
/// form, used to check [`permute`]).
pub fn permute_reference(state: &mut [Fr; WIDTH]) {
    let spec = spec();
    let half = FULL_ROUNDS / 2;
    for (round, rc) in spec.constants.iter().enumerate() {
        for (s, c) in state.iter_mut().zip(rc.iter()) {
            *s += c;
        }
        if round < half || round >= half + PARTIAL_ROUNDS {
            state.iter_mut().for_each(sbox);
        } else {
            sbox(&mut state[0]);
        }
        mix(state, &spec.mds);
    }
}

/// The single-permutation compression `Poseidon([tag, a, b])[0]`.
#[inline]
pub fn compress_fr(tag: Fr, a: Fr, b: Fr) -> Fr {
    let mut state = [tag, a, b];
    permute(&mut state);
    state[0]
}

/// [`compress_fr`] with a plain [`Tag`].
#[inline]
pub fn compress(tag: Tag, a: Fr, b: Fr) -> Fr {
    compress_fr(tag.fr(), a, b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ff::{BigInteger, PrimeField};

    fn hex(f: Fr) -> String {
        hex::encode(f.into_bigint().to_bytes_be())
    }

    /// `poseidonperm_x5_254_3` from the reference implementation's test vectors.
    #[test]
    fn reference_test_vector() {
        let mut state = [Fr::from(0u64), Fr::from(1u64), Fr::from(2u64)];
        permute_reference(&mut state);
        assert_eq!(
            hex(state[0]),
            "115cc0f5e7d690413df64c6b9662e9cf2a3617f2743245519e19607a4417189a"
        );
        assert_eq!(
            hex(state[1]),
            "0fca49b798923ab0239de1c9e7a4a9a2210312b6a2f616d18b5a87f9b628ae29"
        );
        assert_eq!(
            hex(state[2]),
            "0e7ae82e40091e63cbd4f16a6d16310b3729d4b6e138fcf54110e2867045a30c"
        );
    }

    #[test]
    fn fast_form_equals_reference_form() {
        for i in 0..50u64 {
            let mut a = [Fr::from(i), Fr::from(i * i + 3), -Fr::from(i + 11)];
            let mut b = a;
            permute(&mut a);
            permute_reference(&mut b);
            assert_eq!(a, b);
        }
    }

    #[test]
    fn tags_separate_domains() {
        let (a, b) = (Fr::from(7u64), Fr::from(9u64));
        assert_ne!(compress(Tag::Node, a, b), compress(Tag::AccountLeaf, a, b));
        assert_ne!(compress(Tag::Node, a, b), compress(Tag::Node, b, a));
    }
}
