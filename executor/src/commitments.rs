//! Chunk commitments: public data, consumed deposits and withdrawals.
//!
//! Each is a running hash chain from zero over the chunk's transactions in order:
//! - **pubdata**: each transaction's public bytes ([`pubdata`]) padded to 62
//!   bytes, split into two 31-byte big-endian elements `e1, e2`;
//!   `c ← compress(Pubdata, compress(Pubdata, c, e1), e2)`.
//! - **deposits**: for each deposit, `p1 = queue_index(32) account(20)
//!   asset(12) amount(96)`, `p2 = l1_sender(160)`,
//!   `item = compress(DepositKey, compress(DepositItem, p1, p2), pubkey_hash)`,
//!   `c ← compress(Deposits, c, item)`.
//! - **withdrawals**: `p1 = account(20) asset(12) amount(96)`,
//!   `p2 = l1_address(160)`, `item = compress(WithdrawalItem, p1, p2)`,
//!   `c ← compress(Withdrawals, c, item)`.

use ark_ff::PrimeField;

use crate::exec::Receipt;
use crate::field::Fr;
use crate::pack::Packer;
use crate::params::*;
use crate::poseidon::{compress, Tag};
use crate::tx::{Deposit, TxBody, Withdraw};

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
/// - deposit: `account(3) asset(2) amount(12)`;
/// - transfer: `from(3) to(3) asset(2) amount(12)`;
/// - swap: `account(3) pool(2) a_to_b(1) amount_in(12) amount_out(12)`
///   (a swap output is bounded by `MAX_AMOUNT`, `TxError::OutputTooLarge`);
/// - add liquidity: `account(3) pool(2) amount_a(12) amount_b(12) lp_minted(14)`
///   (the user's share, a 112-bit balance credit);
/// - remove liquidity: `account(3) pool(2) lp_amount(12) out_a(14) out_b(14)`
///   (shares of 112-bit reserves);
/// - withdraw: `account(3) asset(2) amount(12) l1_address(20)`;
/// - create pool: `account(3) pool(2) token_a(2) token_b(2) fee_bps(2)`.
pub fn pubdata(body: &TxBody, receipt: &Receipt) -> Vec<u8> {
    let mut out = vec![body.tx_type() as u8];
    let [o1, o2] = receipt.outputs;
    match body {
        TxBody::Deposit(d) => out.extend(
            be(d.account as u128, 3)
                .chain(be(d.asset as u128, 2))
                .chain(be(d.amount, 12)),
        ),
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

/// The two field elements of one transaction's public data.
pub fn pubdata_elements(bytes: &[u8]) -> [Fr; 2] {
    let mut padded = [0u8; PUBDATA_BYTES_PER_TX];
    padded[..bytes.len()].copy_from_slice(bytes);
    [
        Fr::from_be_bytes_mod_order(&padded[..31]),
        Fr::from_be_bytes_mod_order(&padded[31..]),
    ]
}

/// One step of the pubdata chain.
pub fn chain_pubdata(c: Fr, bytes: &[u8]) -> Fr {
    let [e1, e2] = pubdata_elements(bytes);
    compress(Tag::Pubdata, compress(Tag::Pubdata, c, e1), e2)
}

/// The commitment item of a deposit.
pub fn deposit_item(d: &Deposit) -> Fr {
    let p1 = Packer::new()
        .push(d.queue_index as u128, QUEUE_INDEX_BITS)
        .push(d.account as u128, ACCOUNT_BITS)
        .push(d.asset as u128, SLOT_BITS)
        .push(d.amount, AMOUNT_BITS)
        .finish();
    let p2 = Packer::new().push_address(&d.l1_sender).finish();
    compress(
        Tag::DepositKey,
        compress(Tag::DepositItem, p1, p2),
        d.pubkey.hash(),
    )
}

/// One step of the deposit chain.
pub fn chain_deposit(c: Fr, d: &Deposit) -> Fr {
    compress(Tag::Deposits, c, deposit_item(d))
}

/// The commitment item of a withdrawal.
pub fn withdrawal_item(w: &Withdraw) -> Fr {
    let p1 = Packer::new()
        .push(w.account as u128, ACCOUNT_BITS)
        .push(w.asset as u128, SLOT_BITS)
        .push(w.amount, AMOUNT_BITS)
        .finish();
    let p2 = Packer::new().push_address(&w.l1_address).finish();
    compress(Tag::WithdrawalItem, p1, p2)
}

/// One step of the withdrawal chain.
pub fn chain_withdrawal(c: Fr, w: &Withdraw) -> Fr {
    compress(Tag::Withdrawals, c, withdrawal_item(w))
}

/// Number of public inputs of a proof of a state transition.
pub const PUBLIC_INPUTS: usize = 7;

/// Position of the first batch number in [`PublicInputs`].
pub const FIRST_BATCH: usize = 5;
/// Position of the last batch number in [`PublicInputs`].
pub const LAST_BATCH: usize = 6;

/// Public inputs of a proof of a state transition: `[prev_root, new_root,
/// pubdata, deposits, withdrawals, first_batch, last_batch]` (a chunk's,
/// whose two batch numbers are its own batch's, or an aggregation's).
pub type PublicInputs = [Fr; PUBLIC_INPUTS];

/// Folds consecutive transitions into one, as an aggregation node does:
/// the roots must chain (`new_root` of each is `prev_root` of the next),
/// the batch numbers must run on (each part's first batch is the previous
/// part's last batch, or the one after it), the result runs from the first
/// `prev_root` and batch to the last `new_root` and batch, and each
/// commitment folds left to right, `c ← compress(Fold*, c, cᵢ)` from the
/// first one. `None` when the roots or batch numbers do not chain or
/// `parts` is empty.
pub fn fold(parts: &[PublicInputs]) -> Option<PublicInputs> {
    let (first, rest) = parts.split_first()?;
    let mut acc = *first;
    for p in rest {
        if p[0] != acc[1] {
            return None;
        }
        let step = p[FIRST_BATCH] - acc[LAST_BATCH];
        if step != Fr::from(0u64) && step != Fr::from(1u64) {
            return None;
        }
        acc[1] = p[1];
        acc[2] = compress(Tag::FoldPubdata, acc[2], p[2]);
        acc[3] = compress(Tag::FoldDeposits, acc[3], p[3]);
        acc[4] = compress(Tag::FoldWithdrawals, acc[4], p[4]);
        acc[LAST_BATCH] = p[LAST_BATCH];
    }
    Some(acc)
}
