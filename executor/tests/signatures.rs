//! Signature rules: bad signatures, wrong chain id, replays, malformed parts,
//! and batch verification naming the culprit.

mod common;

use ark_ed_on_bn254::EdwardsAffine;
use common::*;
use zklanes_executor::exec::Engine;
use zklanes_executor::signature::{self, base_point_is_valid, BatchItem, SignatureError};
use zklanes_executor::state::State;
use zklanes_executor::tx::*;
use zklanes_executor::{BatchError, TxError};

fn setup() -> Vec<SignedTx> {
    vec![deposit(0, 1, 1, 1_000), deposit(1, 2, 1, 1_000)]
}

fn expect_err(txs: &[SignedTx], index: usize, check: impl Fn(&TxError) -> bool) {
    let state = State::default();
    for (engine, threads) in [
        (Engine::Sequential, 1),
        (Engine::Parallel, 1),
        (Engine::Parallel, 4),
    ] {
        match run(&state, txs, engine, threads) {
            Err(BatchError::Tx { index: i, reason }) => {
                assert_eq!(i, index, "{engine:?}/{threads}: {reason}");
                assert!(
                    check(&reason),
                    "{engine:?}/{threads}: unexpected reason {reason:?}"
                );
            }
            other => panic!("{engine:?}/{threads}: expected a rejection, got {other:?}"),
        }
    }
}

#[test]
fn base_point_generates_the_prime_order_subgroup() {
    assert!(base_point_is_valid());
}

#[test]
fn valid_signature_is_accepted() {
    let mut txs = setup();
    txs.push(transfer(1, 2, 1, 10, 0));
    assert!(run(&State::default(), &txs, Engine::Parallel, 2).is_ok());
}

#[test]
fn tampered_amount_is_rejected() {
    let mut txs = setup();
    let mut t = transfer(1, 2, 1, 10, 0);
    if let TxBody::Transfer(tr) = &mut t.body {
        tr.amount = 11;
    }
    txs.push(t);
    expect_err(&txs, 2, |e| {
        matches!(
            e,
            TxError::BadSignature {
                reason: SignatureError::Invalid
            }
        )
    });
}

#[test]
fn signature_by_another_key_is_rejected() {
    let mut txs = setup();
    let body = TxBody::Transfer(Transfer {
        from: 1,
        to: 2,
        asset: 1,
        amount: 10,
        nonce: 0,
    });
    let sig = key(2).sign(&body.message(CHAIN).unwrap());
    txs.push(SignedTx {
        body,
        signature: Some(sig),
    });
    expect_err(&txs, 2, |e| matches!(e, TxError::BadSignature { .. }));
}

#[test]
fn wrong_chain_id_is_rejected() {
    let mut txs = setup();
    txs.push(sign_on(
        TxBody::Transfer(Transfer {
            from: 1,
            to: 2,
            asset: 1,
            amount: 10,
            nonce: 0,
        }),
        CHAIN + 1,
    ));
    expect_err(&txs, 2, |e| matches!(e, TxError::BadSignature { .. }));
}

#[test]
fn replayed_nonce_is_rejected() {
    let mut txs = setup();
    let t = transfer(1, 2, 1, 10, 0);
    txs.push(t.clone());
    txs.push(t);
    expect_err(&txs, 3, |e| {
        matches!(
            e,
            TxError::BadNonce {
                account: 1,
                expected: 1,
                got: 0
            }
        )
    });
}

#[test]
fn scalar_not_below_the_order_is_rejected() {
    let mut txs = setup();
    let mut t = transfer(1, 2, 1, 10, 0);
    t.signature.as_mut().unwrap().s = [0xff; 32];
    txs.push(t);
    expect_err(&txs, 2, |e| {
        matches!(
            e,
            TxError::BadSignature {
                reason: SignatureError::ScalarOutOfRange
            }
        )
    });
}

#[test]
fn nonce_point_off_the_curve_is_rejected() {
    let mut txs = setup();
    let mut t = transfer(1, 2, 1, 10, 0);
    let s = t.signature.as_mut().unwrap();
    s.r_x += zklanes_executor::field::Fr::from(1u64);
    txs.push(t);
    expect_err(&txs, 2, |e| {
        matches!(
            e,
            TxError::BadSignature {
                reason: SignatureError::PointNotOnCurve
            }
        )
    });
}

#[test]
fn missing_and_unexpected_signatures_are_rejected() {
    let mut txs = setup();
    let mut t = transfer(1, 2, 1, 10, 0);
    t.signature = None;
    txs.push(t);
    expect_err(&txs, 2, |e| matches!(e, TxError::MissingSignature));

    let mut d = deposit(2, 3, 1, 5);
    d.signature = transfer(1, 2, 1, 10, 0).signature;
    let txs = vec![deposit(0, 1, 1, 1_000), deposit(1, 2, 1, 1_000), d];
    expect_err(&txs, 2, |e| matches!(e, TxError::UnexpectedSignature));
}

#[test]
fn signer_created_later_in_the_batch_is_unknown() {
    let txs = vec![
        deposit(0, 1, 1, 1_000),
        transfer(2, 1, 1, 1, 0),
        deposit(1, 2, 1, 1_000),
    ];
    expect_err(&txs, 1, |e| {
        matches!(e, TxError::UnknownAccount { account: 2 })
    });
}

#[test]
fn invalid_key_for_a_new_account_is_rejected() {
    let mut d = deposit(0, 1, 1, 1_000);
    if let TxBody::Deposit(dep) = &mut d.body {
        dep.pubkey.y += zklanes_executor::field::Fr::from(1u64);
    }
    expect_err(&[d], 0, |e| {
        matches!(e, TxError::InvalidPublicKey { account: 1 })
    });
}

/// Batch verification finds the first bad signature among many, across sub-batches.
#[test]
fn batch_verification_names_the_culprit() {
    let bodies: Vec<TxBody> = (0..3000u32)
        .map(|i| {
            TxBody::Transfer(Transfer {
                from: 1 + i % 5,
                to: 9,
                asset: 1,
                amount: 1 + i as u128,
                nonce: i,
            })
        })
        .collect();
    let sigs: Vec<_> = bodies
        .iter()
        .map(|b| key(b.signer().unwrap().0).sign(&b.message(CHAIN).unwrap()))
        .collect();
    let mut sigs_bad = sigs.clone();
    sigs_bad[2500].s = sigs[2499].s;
    sigs_bad[1700].s = sigs[1699].s;
    let items =
        |sigs: &'_ [signature::Signature]| -> Vec<(EdwardsAffine, Message, signature::Signature)> {
            bodies
                .iter()
                .zip(sigs)
                .map(|(b, s)| {
                    let p = pk(b.signer().unwrap().0);
                    (
                        EdwardsAffine::new_unchecked(p.x, p.y),
                        b.message(CHAIN).unwrap(),
                        *s,
                    )
                })
                .collect()
        };
    let good = items(&sigs);
    let good_items: Vec<BatchItem<'_>> = good
        .iter()
        .map(|(pk, msg, sig)| BatchItem {
            pk: *pk,
            msg: *msg,
            sig,
        })
        .collect();
    assert_eq!(signature::verify_batch(&good_items), Ok(()));
    let bad = items(&sigs_bad);
    let bad_items: Vec<BatchItem<'_>> = bad
        .iter()
        .map(|(pk, msg, sig)| BatchItem {
            pk: *pk,
            msg: *msg,
            sig,
        })
        .collect();
    assert_eq!(
        signature::verify_batch(&bad_items),
        Err((1700, SignatureError::Invalid))
    );
}
