//! Stale reads must never surface: a transaction whose input comes from an
//! earlier transaction in the same batch sees that input, however the work
//! is split between threads.

mod common;

use common::*;
use zklanes_executor::exec::Engine;
use zklanes_executor::state::State;
use zklanes_executor::tx::SignedTx;

/// Account `k` can only pay `k+1` after `k-1` paid it: a balance that looks
/// insufficient if read too early.
#[test]
fn funds_received_earlier_in_the_batch_are_spendable() {
    let n = 64u32;
    let mut txs: Vec<SignedTx> = (1..=n)
        .map(|a| deposit(a as u64 - 1, a, 1, if a == 1 { 1_000 } else { 1 }))
        .collect();
    // A long chain 1 → 2 → … → n, each hop spending what it just received.
    for a in 1..n {
        let amount = 1_000 + (a as u128 - 1);
        txs.push(transfer(a, a + 1, 1, amount, 0));
    }
    let state = State::default();
    let reference = run(&state, &txs, Engine::Sequential, 1);
    assert!(reference.is_ok(), "{reference:?}");
    for threads in 1..=8 {
        for _ in 0..5 {
            assert!(same(
                &reference,
                &run(&state, &txs, Engine::Parallel, threads)
            ));
        }
    }
}

/// Consecutive nonces of one account interleaved with independent work: a
/// nonce read too early would look like a replay or a gap.
#[test]
fn consecutive_nonces_are_never_misread() {
    let mut txs: Vec<SignedTx> = (1..=20u32)
        .map(|a| deposit(a as u64 - 1, a, 1, 1_000_000))
        .collect();
    let mut nonces = [0u32; 21];
    for i in 0..600u32 {
        let from = if i % 3 == 0 { 1 } else { 2 + i % 19 };
        let to = if from == 20 { 2 } else { from + 1 };
        txs.push(transfer(from, to, 1, 1, nonces[from as usize]));
        nonces[from as usize] += 1;
    }
    let state = State::default();
    let reference = run(&state, &txs, Engine::Sequential, 1);
    assert!(reference.is_ok(), "{reference:?}");
    for threads in 1..=8 {
        assert!(same(
            &reference,
            &run(&state, &txs, Engine::Parallel, threads)
        ));
    }
}

/// A truly insufficient balance late in a chain is reported at the same
/// index as sequential execution, with the same reason.
#[test]
fn real_failures_report_the_same_index_and_reason() {
    let mut txs: Vec<SignedTx> = (1..=8u32)
        .map(|a| deposit(a as u64 - 1, a, 1, 10))
        .collect();
    for a in 1..8 {
        txs.push(transfer(a, a + 1, 1, 10 * a as u128, 0));
    }
    txs.push(transfer(8, 1, 1, 1_000, 0)); // 8 holds 80
    txs.push(transfer(3, 1, 1, 1, 5)); // bad nonce, later
    let state = State::default();
    let reference = run(&state, &txs, Engine::Sequential, 1);
    assert!(
        matches!(
            reference,
            Err(zklanes_executor::BatchError::Tx { index: 15, .. })
        ),
        "{reference:?}"
    );
    for threads in 1..=8 {
        assert!(same(
            &reference,
            &run(&state, &txs, Engine::Parallel, threads)
        ));
    }
}

/// A transaction that touches a key outside its declared access set is an
/// invariant failure, detected rather than silently racing. (The driver then
/// falls back to the sequential engine.)
#[test]
fn undeclared_key_is_detected() {
    use zklanes_executor::exec::parallel::execute_parallel;
    use zklanes_executor::tx::{AddLiquidity, CreatePool, Swap, TxBody};
    let txs = vec![
        deposit(0, 1, 1, 1_000_000),
        deposit(1, 1, 2, 1_000_000),
        sign(TxBody::CreatePool(CreatePool {
            account: 1,
            pool: 1,
            token_a: 1,
            token_b: 2,
            fee_bps: 30,
            nonce: 0,
        })),
        sign(TxBody::AddLiquidity(AddLiquidity {
            account: 1,
            pool: 1,
            amount_a: 100_000,
            amount_b: 100_000,
            min_lp: 0,
            nonce: 1,
        })),
        sign(TxBody::Swap(Swap {
            account: 1,
            pool: 1,
            a_to_b: true,
            amount_in: 1_000,
            min_out: 0,
            nonce: 2,
        })),
    ];
    let state = State::default();
    // A lying token map makes the swap declare balances of tokens 3 and 4.
    let mut tokens = rustc_hash::FxHashMap::default();
    tokens.insert(1u32, (3u32, 4u32));
    for threads in [1, 2] {
        assert!(execute_parallel(&state, &txs, txs.len(), &tokens, threads).is_err());
    }
    // The honest map executes.
    tokens.insert(1, (1, 2));
    let r = execute_parallel(&state, &txs, txs.len(), &tokens, 2).expect("no invariant failure");
    assert!(r.failure.is_none());
}
