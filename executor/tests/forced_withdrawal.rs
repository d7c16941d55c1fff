//! Forced withdrawals: an L1 queue operation, unsigned, in queue order with
//! the deposits, moving an existing account's whole balance of a plain
//! token; the same result on every engine and thread count.

mod common;

use common::*;
use zklanes_executor::exec::{Engine, Receipt};
use zklanes_executor::params::{LP_ASSET_BASE, MAX_TOKEN};
use zklanes_executor::signature::Signature;
use zklanes_executor::state::{Key, Leaf, State};
use zklanes_executor::tx::*;
use zklanes_executor::{BatchError, TxError};

fn rejected(txs: &[SignedTx]) -> BatchError {
    let seq = run(&State::default(), txs, Engine::Sequential, 1);
    for threads in [1, 2, 4] {
        let par = run(&State::default(), txs, Engine::Parallel, threads);
        assert!(same(&seq, &par), "engines differ on {threads} threads");
    }
    match seq {
        Ok(_) => panic!("the batch was accepted"),
        Err(e) => e,
    }
}

#[test]
fn it_moves_the_whole_balance_and_keeps_the_account() {
    let txs = vec![
        deposit(0, 1, 1, 1_000),
        deposit(1, 2, 1, 10),
        transfer(1, 2, 1, 300, 0),
        forced_withdraw(2, 1, 1),
        // A zero balance is withdrawn as zero.
        forced_withdraw(3, 1, 2),
        transfer(2, 1, 1, 5, 0),
    ];
    let seq = run(&State::default(), &txs, Engine::Sequential, 1);
    for threads in [1, 2, 4] {
        let par = run(&State::default(), &txs, Engine::Parallel, threads);
        assert!(same(&seq, &par), "engines differ on {threads} threads");
    }
    let out = seq.expect("valid");
    assert_eq!(
        out.receipts[3],
        Receipt {
            tx_type: TxType::ForcedWithdraw,
            outputs: [700, 0]
        }
    );
    assert_eq!(out.receipts[4].outputs, [0, 0]);
    assert_eq!(out.next_deposit, 4);
    // Account 1: token 1 is 0 + 5 after the last transfer; its nonce stays
    // at 1 (the forced withdrawal is no signed transaction).
    let mut state = State::default();
    for (k, leaf) in &out.diff {
        state.set(*k, *leaf);
    }
    assert_eq!(state.get(Key::Balance(1, 1)), Leaf::balance(5));
    match state.get(Key::Account(1)) {
        Leaf::Account(a) => assert_eq!(a.nonce, 1),
        other => panic!("account 1 is {other:?}"),
    }
}

#[test]
fn it_is_consumed_in_queue_order_with_the_deposits() {
    let e = rejected(&[deposit(0, 1, 1, 5), forced_withdraw(2, 1, 1)]);
    assert_eq!(
        e,
        BatchError::Tx {
            index: 1,
            reason: TxError::DepositOutOfOrder {
                expected: 1,
                got: 2
            }
        }
    );
    let e = rejected(&[forced_withdraw(0, 1, 1), deposit(0, 1, 1, 5)]);
    assert!(
        matches!(
            e,
            BatchError::Tx {
                index: 0,
                reason: TxError::UnknownAccount { account: 1 }
            }
        ) || matches!(
            e,
            BatchError::Tx {
                index: 1,
                reason: TxError::DepositOutOfOrder { .. }
            }
        ),
        "{e:?}"
    );
}

#[test]
fn it_needs_an_existing_account_a_plain_token_and_no_signature() {
    assert_eq!(
        rejected(&[forced_withdraw(0, 3, 1)]),
        BatchError::Tx {
            index: 0,
            reason: TxError::UnknownAccount { account: 3 }
        }
    );
    for asset in [0, LP_ASSET_BASE, LP_ASSET_BASE + 1, MAX_TOKEN + 1] {
        assert_eq!(
            rejected(&[deposit(0, 1, 1, 5), forced_withdraw(1, 1, asset)]),
            BatchError::Tx {
                index: 1,
                reason: TxError::InvalidAsset { asset }
            }
        );
    }
    let mut signed = forced_withdraw(1, 1, 1);
    signed.signature = Some(Signature {
        r_x: zklanes_executor::field::Fr::from(0u64),
        r_y: zklanes_executor::field::Fr::from(1u64),
        s: [0; 32],
    });
    assert_eq!(
        rejected(&[deposit(0, 1, 1, 5), signed]),
        BatchError::Tx {
            index: 1,
            reason: TxError::UnexpectedSignature
        }
    );
}
