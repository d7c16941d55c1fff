//! Malformed and hostile input: typed errors, no panic, state untouched.

mod common;

use common::*;
use proptest::prelude::*;
use zklanes_executor::batch::{Batch, Encoding, BATCH_VERSION};
use zklanes_executor::params::*;
use zklanes_executor::tx::*;
use zklanes_executor::{BatchError, Rollup, RollupConfig, StoreError, TxError};

fn batch(txs: Vec<SignedTx>) -> Batch {
    Batch {
        version: BATCH_VERSION,
        chain_id: CHAIN,
        number: 0,
        txs,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Random bytes never panic the decoder, in either encoding.
    #[test]
    fn random_bytes_give_typed_errors(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        for enc in [Encoding::Json, Encoding::Binary] {
            if let Err(e) = Batch::decode_with(&bytes, enc, 1 << 20, 1000) {
                prop_assert!(matches!(e, BatchError::Malformed { .. } | BatchError::Version { .. }
                    | BatchError::Empty | BatchError::TooManyTxs { .. }), "{e:?}");
            }
        }
    }

    /// Corrupting a valid binary batch anywhere gives an error or a batch, never a panic,
    /// and whatever decodes is then executed without panicking.
    #[test]
    fn corrupted_batches_never_panic(pos in 0usize..4096, byte in any::<u8>()) {
        let b = batch(vec![deposit(0, 1, 1, 100), deposit(1, 2, 1, 100), transfer(1, 2, 1, 5, 0)]);
        let mut bytes = b.encode(Encoding::Binary);
        let p = pos % bytes.len();
        bytes[p] = byte;
        if let Ok(decoded) = Batch::decode_with(&bytes, Encoding::Binary, 1 << 20, 1000) {
            let mut r = Rollup::in_memory(RollupConfig { threads: 2, ..Default::default() });
            let root = r.root();
            if r.apply(&decoded).is_err() {
                prop_assert_eq!(r.root(), root);
                prop_assert_eq!(r.height(), 0);
            }
        }
    }
}

/// A length prefix claiming billions of transactions is refused without allocating them.
#[test]
fn huge_length_prefix_is_refused() {
    let mut bytes = Vec::new();
    bytes.extend_from_slice(&BATCH_VERSION.to_le_bytes());
    bytes.extend_from_slice(&CHAIN.to_le_bytes());
    bytes.extend_from_slice(&0u64.to_le_bytes());
    bytes.extend_from_slice(&u64::MAX.to_le_bytes());
    let e = Batch::decode_with(&bytes, Encoding::Binary, 1 << 20, 1000).unwrap_err();
    assert!(matches!(e, BatchError::Malformed { .. }), "{e:?}");
}

#[test]
fn oversized_input_is_refused() {
    let bytes = vec![b'{'; 2048];
    assert_eq!(
        Batch::decode_with(&bytes, Encoding::Json, 1024, 10),
        Err(BatchError::TooLarge {
            bytes: 2048,
            limit: 1024
        })
    );
}

#[test]
fn too_many_transactions_are_refused() {
    let b = batch((0..11).map(|i| deposit(i, 1, 1, 1)).collect());
    for enc in [Encoding::Json, Encoding::Binary] {
        let e = Batch::decode_with(&b.encode(enc), enc, 1 << 20, 10).unwrap_err();
        assert_eq!(e, BatchError::TooManyTxs { txs: 11, limit: 10 });
    }
}

#[test]
fn wrong_version_and_empty_batches_are_refused() {
    let mut b = batch(vec![deposit(0, 1, 1, 1)]);
    b.version = 99;
    assert_eq!(
        Batch::decode(&b.encode(Encoding::Json)),
        Err(BatchError::Version { version: 99 })
    );
    let b = batch(vec![]);
    assert_eq!(
        Batch::decode(&b.encode(Encoding::Binary)),
        Err(BatchError::Empty)
    );
}

fn rejected(txs: Vec<SignedTx>) -> (BatchError, Rollup) {
    let mut r = Rollup::in_memory(RollupConfig {
        threads: 2,
        ..Default::default()
    });
    let root = r.root();
    let e = match r.apply(&batch(txs)) {
        Err(StoreError::Batch(e)) => e,
        other => panic!(
            "expected a batch error, got {:?}",
            other.map(|o| o.state_root)
        ),
    };
    assert_eq!(r.root(), root, "state must be untouched");
    assert_eq!(r.height(), 0);
    (e, r)
}

#[test]
fn overflowing_amounts_are_refused() {
    let (e, _) = rejected(vec![deposit(0, 1, 1, MAX_AMOUNT + 1)]);
    assert!(
        matches!(
            e,
            BatchError::Tx {
                index: 0,
                reason: TxError::AmountTooLarge { .. }
            }
        ),
        "{e:?}"
    );
    // Signed over a valid amount, then inflated past the width.
    let mut t = transfer(1, 2, 1, 1, 0);
    if let TxBody::Transfer(tr) = &mut t.body {
        tr.amount = u128::MAX;
    }
    let (e, _) = rejected(vec![deposit(0, 1, 1, 100), t]);
    assert!(
        matches!(
            e,
            BatchError::Tx {
                index: 1,
                reason: TxError::AmountTooLarge { .. }
            }
        ),
        "{e:?}"
    );
}

/// Balances never pass their declared width: repeated maximal deposits overflow loudly.
#[test]
fn balance_overflow_is_refused() {
    let per = MAX_AMOUNT;
    let needed = (MAX_BALANCE / per) as u64 + 2;
    let txs: Vec<SignedTx> = (0..needed).map(|i| deposit(i, 1, 1, per)).collect();
    let (e, _) = rejected(txs);
    assert!(
        matches!(
            e,
            BatchError::Tx {
                reason: TxError::BalanceOverflow {
                    account: 1,
                    asset: 1
                },
                ..
            }
        ),
        "{e:?}"
    );
}

#[test]
fn bad_ids_are_refused() {
    let (e, _) = rejected(vec![deposit(0, 0, 1, 1)]);
    assert!(matches!(
        e,
        BatchError::Tx {
            reason: TxError::InvalidAccountIndex { account: 0 },
            ..
        }
    ));
    let (e, _) = rejected(vec![deposit(0, MAX_ACCOUNT + 1, 1, 1)]);
    assert!(matches!(
        e,
        BatchError::Tx {
            reason: TxError::InvalidAccountIndex { .. },
            ..
        }
    ));
    let (e, _) = rejected(vec![deposit(0, 1, MAX_TOKEN + 1, 1)]);
    assert!(matches!(
        e,
        BatchError::Tx {
            reason: TxError::InvalidAsset { .. },
            ..
        }
    ));
    // A withdrawal moves plain tokens only: L1 has no token for LP shares.
    let (e, _) = rejected(vec![
        deposit(0, 1, 1, 5),
        sign(TxBody::Withdraw(Withdraw {
            account: 1,
            asset: LP_ASSET_BASE + 1,
            amount: 1,
            l1_address: [9; 20],
            nonce: 0,
        })),
    ]);
    assert!(
        matches!(
            e,
            BatchError::Tx {
                index: 1,
                reason: TxError::InvalidAsset { .. }
            }
        ),
        "{e:?}"
    );
    let (e, _) = rejected(vec![
        deposit(0, 1, 1, 5),
        sign(TxBody::Swap(Swap {
            account: 1,
            pool: 9,
            a_to_b: true,
            amount_in: 1,
            min_out: 0,
            nonce: 0,
        })),
    ]);
    assert!(
        matches!(
            e,
            BatchError::Tx {
                index: 1,
                reason: TxError::UnknownPool { pool: 9 }
            }
        ),
        "{e:?}"
    );
}

#[test]
fn deposits_out_of_queue_order_are_refused() {
    let (e, _) = rejected(vec![deposit(0, 1, 1, 1), deposit(2, 1, 1, 1)]);
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
}

#[test]
fn wrong_chain_and_batch_number_are_refused() {
    let mut r = Rollup::in_memory(RollupConfig::default());
    let mut b = batch(vec![deposit(0, 1, 1, 1)]);
    b.chain_id = CHAIN + 1;
    assert!(matches!(
        r.apply(&b),
        Err(StoreError::Batch(BatchError::ChainId { .. }))
    ));
    let mut b = batch(vec![deposit(0, 1, 1, 1)]);
    b.number = 3;
    assert!(matches!(
        r.apply(&b),
        Err(StoreError::Batch(BatchError::OutOfOrder {
            expected: 0,
            got: 3
        }))
    ));
}

/// A transfer to oneself touches one balance key twice: it is rejected,
/// and it must not make the parallel schedule wait on the transaction
/// itself (it once hung the engine), on one thread or several.
#[test]
fn a_self_transfer_is_refused_without_hanging() {
    for threads in [1, 2, 4] {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut r = Rollup::in_memory(RollupConfig {
                threads,
                ..Default::default()
            });
            let b = batch(vec![
                deposit(0, 1, 1, 100),
                deposit(1, 2, 1, 100),
                transfer(1, 1, 1, 5, 0),
            ]);
            let _ = tx.send(r.apply(&b).err().map(|e| e.to_string()));
        });
        let got = rx
            .recv_timeout(std::time::Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("execution hung on {threads} threads"));
        let e = got.expect("a self-transfer is refused");
        assert!(e.contains("transaction 2"), "{e}");
    }
}
