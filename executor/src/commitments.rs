//! The public data of a chunk and what binds it: its Poseidon commitment
//! and its evaluation at a challenge.
//!
//! - **data**: each transaction's public bytes ([`pubdata`]) padded to 62
//!   bytes and split into two 31-byte big-endian elements `e1, e2`; a
//!   deposit adds a third, its key hash ([`data_elements`]). A chunk's data
//!   is its transactions' elements in order, a batch's its chunks' data in
//!   order.
//! - **commitment** `P`: a chain from zero, `c ← compress(Pubdata, c, e)`
//!   over the elements; aggregation folds it, `compress(FoldPubdata, P₁, P₂)`.
//! - **evaluation**: at a challenge `x` (one per proof, the same in every
//!   chunk), `y = Σ dᵢ·x^(n−1−i)` by Horner and `xn = xⁿ`; two parts fold
//!   as `y = y₁·xn₂ + y₂`, `xn = xn₁·xn₂`, so the final proof exposes the
//!   evaluation of the whole data. L1 recomputes `x` from `P` and the
//!   calldata ([`challenge`]) and `y`, `xn` from the calldata; a prover that
//!   posts other data than it proved would need the two polynomials to agree
//!   at a point chosen after both were fixed (Schwartz–Zippel: probability
//!   at most `n/r`).
//!
//! Deposits and withdrawals are read by L1 from the same data: a deposit's
//! elements carry its account, asset, amount, L1 sender and key hash (what
//! the L1 queue holds), a withdrawal's its account, asset, amount and L1
//! address, a forced withdrawal's its account, asset, amount (the whole
//! balance) and L1 owner (the queue holds all but the amount).

use ark_ff::{BigInteger, PrimeField};

use crate::exec::Receipt;
use crate::field::Fr;
use crate::poseidon::{compress, Tag};
use crate::tx::TxBody;
use sha3::{Digest, Keccak256};

/// Bytes of public data one transaction may carry.
pub const PUBDATA_BYTES_PER_TX: usize = 62;

/// `v` as `bytes` big-endian bytes. Every value fits its field (the executor
/// bounds it, the circuit range-checks the same width), so the encoding is
/// injective; a value that does not fit is an executor bug, never truncated.
fn be(v: u128, bytes: usize) -> impl Iterator<Item = u8> {
    assert!(
        bytes >= 16 || v >> (8 * bytes) == 0,
        "public data field of {bytes} bytes given {v}"
    );
    v.to_be_bytes().into_iter().skip(16 - bytes)
}

/// The public data of one transaction: what a third party needs to rebuild
/// the state. All integers big-endian: `type(1)` then
/// - deposit: `account(3) asset(2) amount(12) l1_sender(20)`;
/// - transfer: `from(3) to(3) asset(2) amount(12)`;
/// - swap: `account(3) pool(2) a_to_b(1) amount_in(12) amount_out(12)`
///   (a swap output is bounded by `MAX_AMOUNT`, `TxError::OutputTooLarge`);
/// - add liquidity: `account(3) pool(2) amount_a(12) amount_b(12) lp_minted(14)`
///   (the user's share, a 112-bit balance credit);
/// - remove liquidity: `account(3) pool(2) lp_amount(12) out_a(14) out_b(14)`
///   (shares of 112-bit reserves);
/// - withdraw: `account(3) asset(2) amount(12) l1_address(20)`;
/// - create pool: `account(3) pool(2) token_a(2) token_b(2) fee_bps(2)`;
/// - forced withdrawal: `account(3) asset(2) amount(14) l1_owner(20)` (the
///   whole balance, a 112-bit value).
pub fn pubdata(body: &TxBody, receipt: &Receipt) -> Vec<u8> {
    let mut out = vec![body.tx_type() as u8];
    let [o1, o2] = receipt.outputs;
    match body {
        TxBody::Deposit(d) => {
            out.extend(
                be(d.account as u128, 3)
                    .chain(be(d.asset as u128, 2))
                    .chain(be(d.amount, 12)),
            );
            out.extend_from_slice(&d.l1_sender);
        }
        TxBody::Transfer(t) => out.extend(
            be(t.from as u128, 3)
                .chain(be(t.to as u128, 3))
                .chain(be(t.asset as u128, 2))
                .chain(be(t.amount, 12)),
        ),
        TxBody::Swap(s) => out.extend(
            be(s.account as u128, 3)
                .chain(be(s.pool as u128, 2))
                .chain(be(s.a_to_b as u128, 1))
                .chain(be(s.amount_in, 12))
                .chain(be(o1, 12)),
        ),
        TxBody::AddLiquidity(a) => out.extend(
            be(a.account as u128, 3)
                .chain(be(a.pool as u128, 2))
                .chain(be(a.amount_a, 12))
                .chain(be(a.amount_b, 12))
                .chain(be(o1, 14)),
        ),
        TxBody::RemoveLiquidity(r) => out.extend(
            be(r.account as u128, 3)
                .chain(be(r.pool as u128, 2))
                .chain(be(r.lp_amount, 12))
                .chain(be(o1, 14))
                .chain(be(o2, 14)),
        ),
        TxBody::Withdraw(w) => {
            out.extend(
                be(w.account as u128, 3)
                    .chain(be(w.asset as u128, 2))
                    .chain(be(w.amount, 12)),
            );
            out.extend_from_slice(&w.l1_address);
        }
        TxBody::ForcedWithdraw(f) => {
            out.extend(
                be(f.account as u128, 3)
                    .chain(be(f.asset as u128, 2))
                    .chain(be(o1, 14)),
            );
            out.extend_from_slice(&f.l1_owner);
        }
        TxBody::CreatePool(c) => out.extend(
            be(c.account as u128, 3)
                .chain(be(c.pool as u128, 2))
                .chain(be(c.token_a as u128, 2))
                .chain(be(c.token_b as u128, 2))
                .chain(be(c.fee_bps as u128, 2)),
        ),
    }
    debug_assert!(out.len() <= PUBDATA_BYTES_PER_TX);
    out
}

/// The two 31-byte elements of one transaction's public bytes.
pub fn pubdata_elements(bytes: &[u8]) -> [Fr; 2] {
    let mut padded = [0u8; PUBDATA_BYTES_PER_TX];
    padded[..bytes.len()].copy_from_slice(bytes);
    [
        Fr::from_be_bytes_mod_order(&padded[..31]),
        Fr::from_be_bytes_mod_order(&padded[31..]),
    ]
}

/// The data elements of one transaction: the two elements of its public
/// bytes, then, for a deposit, the hash of its key (`PublicKey::hash`; the
/// zero key's for a top-up, whose key is ignored).
pub fn data_elements(body: &TxBody, receipt: &Receipt) -> Vec<Fr> {
    let mut out = pubdata_elements(&pubdata(body, receipt)).to_vec();
    if let TxBody::Deposit(d) = body {
        out.push(d.pubkey.hash());
    }
    out
}

/// One step of the data commitment.
pub fn chain_data(c: Fr, element: Fr) -> Fr {
    compress(Tag::Pubdata, c, element)
}

/// An element as a 32-byte big-endian word (as L1 reads it).
pub fn word(f: &Fr) -> [u8; 32] {
    let be = f.into_bigint().to_bytes_be();
    let mut out = [0u8; 32];
    out[32 - be.len()..].copy_from_slice(&be);
    out
}

/// The challenge of a proof's data: `keccak256(P ‖ keccak256(data) ‖ n)`
/// reduced mod r, every value a 32-byte big-endian word (Solidity's
/// `uint256(keccak256(abi.encodePacked(P, keccak256(abi.encodePacked(data)), n))) % R`).
pub fn challenge(commitment: Fr, data: &[Fr]) -> Fr {
    let mut h = Keccak256::new();
    for d in data {
        h.update(word(d));
    }
    let data_hash = h.finalize();
    let mut n = [0u8; 32];
    n[24..].copy_from_slice(&(data.len() as u64).to_be_bytes());
    let mut h = Keccak256::new();
    h.update(word(&commitment));
    h.update(data_hash);
    h.update(n);
    Fr::from_be_bytes_mod_order(&h.finalize())
}

/// The evaluation of `data` at `x`: `(y, xn)` with `y = Σ dᵢ·x^(n−1−i)`
/// (Horner, first element highest) and `xn = xⁿ`.
pub fn evaluate(x: Fr, data: &[Fr]) -> (Fr, Fr) {
    let mut y = Fr::from(0u64);
    let mut xn = Fr::from(1u64);
    for d in data {
        y = y * x + d;
        xn *= x;
    }
    (y, xn)
}

/// Number of public inputs of a proof of a state transition.
pub const PUBLIC_INPUTS: usize = 8;

/// Position of the data commitment `P` in [`PublicInputs`].
pub const DATA_COMMITMENT: usize = 2;
/// Position of the challenge `x`.
pub const CHALLENGE: usize = 3;
/// Position of the evaluation `y`.
pub const EVALUATION: usize = 4;
/// Position of `xⁿ`.
pub const CHALLENGE_POWER: usize = 5;
/// Position of the first batch number in [`PublicInputs`].
pub const FIRST_BATCH: usize = 6;
/// Position of the last batch number in [`PublicInputs`].
pub const LAST_BATCH: usize = 7;

/// Public inputs of a proof of a state transition: `[prev_root, new_root,
/// P, x, y, xn, first_batch, last_batch]` (a chunk's, whose two batch
/// numbers are its own batch's, or an aggregation's).
pub type PublicInputs = [Fr; PUBLIC_INPUTS];

/// Folds consecutive transitions into one, as an aggregation node does:
/// the roots must chain (`new_root` of each is `prev_root` of the next),
/// every part must use the same challenge, the batch numbers must run on
/// (each part's first batch is the previous part's last batch, or the one
/// after it), the result runs from the first `prev_root` and batch to the
/// last `new_root` and batch, the commitment folds left to right,
/// `P ← compress(FoldPubdata, P, Pᵢ)`, and the evaluation concatenates,
/// `y ← y·xnᵢ + yᵢ`, `xn ← xn·xnᵢ`. `None` when the roots, challenges or
/// batch numbers do not chain or `parts` is empty.
pub fn fold(parts: &[PublicInputs]) -> Option<PublicInputs> {
    let (first, rest) = parts.split_first()?;
    let mut acc = *first;
    for p in rest {
        if p[0] != acc[1] || p[CHALLENGE] != acc[CHALLENGE] {
            return None;
        }
        let step = p[FIRST_BATCH] - acc[LAST_BATCH];
        if step != Fr::from(0u64) && step != Fr::from(1u64) {
            return None;
        }
        acc[1] = p[1];
        acc[DATA_COMMITMENT] = compress(Tag::FoldPubdata, acc[DATA_COMMITMENT], p[DATA_COMMITMENT]);
        acc[EVALUATION] = acc[EVALUATION] * p[CHALLENGE_POWER] + p[EVALUATION];
        acc[CHALLENGE_POWER] *= p[CHALLENGE_POWER];
        acc[LAST_BATCH] = p[LAST_BATCH];
    }
    Some(acc)
}
