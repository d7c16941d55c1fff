//! Traces are consistent witnesses: every update's path opens the running
//! root before and after, chunks chain, commitments recompute, and the
//! content hash catches tampering.

mod common;

use common::*;
use zklanes_executor::commitments;
use zklanes_executor::field::Fr;
use zklanes_executor::genbatch::{generate, GenConfig, Workload};
use zklanes_executor::smt::root_from_path;
use zklanes_executor::trace::ChunkTrace;
use zklanes_executor::tx::TxBody;
use zklanes_executor::{Rollup, RollupConfig};

fn traces() -> (Vec<ChunkTrace>, Fr, Fr) {
    let gen = generate(&GenConfig {
        workload: Workload::Mixed,
        txs: 150,
        accounts: 12,
        seed: 21,
        chain_id: CHAIN,
        sign: true,
    });
    let batch = gen.into_batch(CHAIN);
    let mut r = Rollup::in_memory(RollupConfig {
        threads: 2,
        chunk_capacity: 16,
        ..Default::default()
    });
    let out = r.apply(&batch).unwrap();
    (out.chunks, out.prev_root, out.state_root)
}

#[test]
fn paths_open_the_running_root() {
    let (chunks, first, last) = traces();
    let mut root = first;
    for c in &chunks {
        assert_eq!(c.prev_root, root);
        for tx in &c.txs {
            assert_eq!(tx.root_before, root);
            for u in &tx.updates {
                let sibs: [Fr; 32] = u.siblings.clone().try_into().unwrap();
                assert_eq!(
                    root_from_path(u.index, u.old.hash(), &sibs),
                    root,
                    "old leaf opens the running root"
                );
                root = root_from_path(u.index, u.new.hash(), &sibs);
            }
        }
        assert_eq!(c.new_root, root);
    }
    assert_eq!(root, last);
}

#[test]
fn commitments_recompute() {
    let (chunks, _, _) = traces();
    for c in &chunks {
        let mut p = Fr::from(0u64);
        let mut data = vec![];
        for tx in &c.txs {
            let bytes = commitments::pubdata(&tx.tx.body, &tx.receipt);
            let [e1, e2] = commitments::pubdata_elements(&bytes);
            let mut elements = vec![e1, e2];
            if let TxBody::Deposit(dep) = &tx.tx.body {
                // A deposit's data carries its L1 sender and key hash.
                assert_eq!(&bytes[18..38], &dep.l1_sender);
                elements.push(dep.pubkey.hash());
            }
            for e in elements {
                p = commitments::chain_data(p, e);
                data.push(e);
            }
        }
        assert_eq!(c.data(), data);
        let mut c = c.clone();
        c.challenge = Fr::from(7u64);
        let (mut y, mut xn) = (Fr::from(0u64), Fr::from(1u64));
        for d in &data {
            y = y * Fr::from(7u64) + d;
            xn *= Fr::from(7u64);
        }
        let b = Fr::from(c.batch);
        assert_eq!(
            c.public_inputs(),
            [c.prev_root, c.new_root, p, Fr::from(7u64), y, xn, b, b]
        );
    }
    assert!(chunks.iter().any(|c| !c.deposits.is_empty()));
}

#[test]
fn traces_roundtrip_and_detect_tampering() {
    let (chunks, _, _) = traces();
    let c = &chunks[1];
    assert!(c.verify_hash());
    let json: ChunkTrace = serde_json::from_slice(&serde_json::to_vec(c).unwrap()).unwrap();
    assert_eq!(&json, c);
    let bin: ChunkTrace = bincode::deserialize(&bincode::serialize(c).unwrap()).unwrap();
    assert_eq!(&bin, c);
    let mut t = c.clone();
    t.txs[0].updates[0].siblings[3] += Fr::from(1u64);
    assert!(!t.verify_hash());
    let mut t = c.clone();
    t.version = 1;
    assert!(!t.verify_hash());
}
