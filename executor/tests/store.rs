//! Durability: committed batches survive reopening, every root stays readable,
//! and a rejected batch writes nothing.

mod common;

use common::CHAIN;
use zklanes_executor::batch::{Batch, BATCH_VERSION};
use zklanes_executor::genbatch::{generate, GenConfig, Workload};
use zklanes_executor::{Rollup, RollupConfig};

#[test]
fn reopen_gives_the_last_committed_state() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = RollupConfig {
        threads: 2,
        ..Default::default()
    };
    let gen = generate(&GenConfig {
        workload: Workload::Mixed,
        txs: 200,
        accounts: 20,
        seed: 3,
        chain_id: CHAIN,
        sign: true,
    });
    let b0 = gen.into_batch(CHAIN);
    let (root0, root1);
    {
        let mut r = Rollup::open(dir.path(), cfg).unwrap();
        root0 = r.apply(&b0).unwrap().state_root;
        let b1 = Batch {
            version: BATCH_VERSION,
            chain_id: CHAIN,
            number: 1,
            txs: vec![gen_transfer(2, 3, 5, r_nonce(&r, 2))],
        };
        root1 = r.apply(&b1).unwrap().state_root;
        // A rejected batch writes nothing.
        let bad = Batch {
            version: BATCH_VERSION,
            chain_id: CHAIN,
            number: 2,
            txs: vec![gen_transfer(2, 3, 5, 0)],
        };
        assert!(r.apply(&bad).is_err());
    }
    let r = Rollup::open(dir.path(), cfg).unwrap();
    assert_eq!(r.height(), 2);
    assert_eq!(r.root(), root1);
    assert_eq!(r.root_at(0).unwrap(), Some(root0));
    assert_eq!(r.root_at(1).unwrap(), Some(root1));
    assert_eq!(r.root_at(2).unwrap(), None);
    // The reloaded tree is the real one: the next batch applies on top of it.
    let mut r = r;
    let b2 = Batch {
        version: BATCH_VERSION,
        chain_id: CHAIN,
        number: 2,
        txs: vec![gen_transfer(3, 2, 1, r_nonce(&r, 3))],
    };
    let out = r.apply(&b2).unwrap();
    assert_eq!(out.prev_root, root1);
}

/// A transfer signed with the generator's key for `from` (seed 3, 20 accounts).
fn gen_transfer(from: u32, to: u32, amount: u128, nonce: u32) -> zklanes_executor::tx::SignedTx {
    use zklanes_executor::tx::*;
    let body = TxBody::Transfer(Transfer {
        from,
        to,
        asset: 1,
        amount,
        nonce,
    });
    let keys = zklanes_executor::genbatch::Keys::new(3, 20);
    let signature = Some(keys.secret(from).sign(&body.message(CHAIN).unwrap()));
    SignedTx { body, signature }
}

fn r_nonce(r: &Rollup, account: u32) -> u32 {
    match r
        .state()
        .get(zklanes_executor::state::Key::Account(account))
    {
        zklanes_executor::state::Leaf::Account(a) => a.nonce,
        other => panic!("no account {account}: {other:?}"),
    }
}
