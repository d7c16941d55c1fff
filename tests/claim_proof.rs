//! `zklanes claim-proof`: the proof of a finalized withdrawal built from an
//! L1 log alone, as the Rollup contract's `claim` takes it: for every
//! withdrawal of a two-batch history (signed ones and a forced one), the
//! leaf, its path and the calldata equal what `zklanes_l1::withdrawals`
//! builds from the executor's own L1 data; an index past the entry's
//! withdrawals and a batch the log does not hold are refused.

use std::process::Command;

use zklanes_executor::batch::BATCH_VERSION;
use zklanes_executor::genbatch::{generate, GenConfig, Workload};
use zklanes_executor::l1::L1Batch;
use zklanes_executor::params::DEFAULT_CHAIN_ID;
use zklanes_executor::tx::TxBody;
use zklanes_executor::{Batch, Rollup, RollupConfig};
use zklanes_l1::log::{DepositEvent, FinalizedBatch, L1Log};
use zklanes_l1::rollup::claim_calldata;
use zklanes_l1::withdrawals::{root_from_path, Withdrawal, WithdrawalTree};

fn claim_proof(log: &std::path::Path, batch: u64, index: usize) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_zklanes"))
        .args(["claim-proof", "--l1-data"])
        .arg(log)
        .args([
            "--batch",
            &batch.to_string(),
            "--index",
            &index.to_string(),
            "--json",
        ])
        .output()
        .unwrap()
}

fn hex_word(s: &serde_json::Value) -> [u8; 32] {
    let raw = hex::decode(s.as_str().unwrap().trim_start_matches("0x")).unwrap();
    raw.try_into().unwrap()
}

/// The compact workload (every transaction type, ending with a forced
/// withdrawal) executed as batches 0 and 1; their L1 log written to `dir`.
fn settled(dir: &std::path::Path) -> (std::path::PathBuf, Vec<L1Batch>) {
    let all = generate(&GenConfig {
        workload: Workload::Compact,
        txs: 40,
        accounts: 4,
        seed: 7,
        chain_id: DEFAULT_CHAIN_ID,
        sign: true,
    })
    .into_batch(DEFAULT_CHAIN_ID);
    let mut rollup = Rollup::in_memory(RollupConfig {
        chunk_capacity: 8,
        threads: 2,
        ..Default::default()
    });
    let mut log = L1Log::new(DEFAULT_CHAIN_ID, &rollup.root());
    let half = all.txs.len() / 2;
    let mut batches = Vec::new();
    for (number, txs) in [&all.txs[..half], &all.txs[half..]].into_iter().enumerate() {
        let out = rollup
            .apply(&Batch {
                version: BATCH_VERSION,
                number: number as u64,
                txs: txs.to_vec(),
                ..all.clone()
            })
            .expect("a valid batch");
        let l1 = L1Batch::from_padded(&out.chunks);
        for t in out.chunks.iter().flat_map(|c| &c.txs) {
            match &t.tx.body {
                TxBody::Deposit(d) => log.record_deposit(DepositEvent::from_deposit(d)),
                TxBody::ForcedWithdraw(f) => log.record_deposit(DepositEvent::from_forced(f)),
                _ => {}
            }
        }
        log.record_batch(FinalizedBatch::new(
            number as u64,
            1,
            &out.state_root,
            &l1.data,
        ));
        batches.push(l1);
    }
    let path = dir.join("l1.json");
    log.write(&path).unwrap();
    (path, batches)
}

#[test]
fn claim_proof_builds_the_contracts_arguments_from_the_l1_log() {
    let dir = tempfile::tempdir().unwrap();
    let (log, batches) = settled(dir.path());
    let mut forced = 0;
    for (number, l1) in batches.iter().enumerate() {
        let number = number as u64;
        let tree = WithdrawalTree::from_data(&l1.data).unwrap();
        let records: Vec<Withdrawal> = l1
            .withdrawals
            .iter()
            .map(|w| Withdrawal {
                to: w.l1_address,
                asset: w.asset,
                amount: w.amount,
            })
            .collect();
        assert_eq!(tree.withdrawals(), records);
        forced += l1.withdrawals.iter().filter(|w| w.forced.is_some()).count();
        for index in 0..tree.len() {
            let out = claim_proof(&log, number, index);
            assert!(
                out.status.success(),
                "stderr: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let json: serde_json::Value =
                serde_json::from_slice(&out.stdout).expect("one JSON object");
            let expected = tree.proof(index).unwrap();
            let w = expected.withdrawal;
            assert_eq!(json["function"], "claim");
            assert_eq!(json["first_batch"], number);
            assert_eq!(json["index"], index);
            assert_eq!(json["to"], format!("0x{}", hex::encode(w.to)));
            assert_eq!(json["asset"], w.asset);
            assert_eq!(json["amount"], w.amount.to_string());
            assert_eq!(json["count"], tree.len());
            let siblings: Vec<[u8; 32]> = json["proof"]
                .as_array()
                .unwrap()
                .iter()
                .map(hex_word)
                .collect();
            assert_eq!(siblings, expected.siblings);
            let root = hex_word(&json["root"]);
            assert_eq!(Some(root), tree.root());
            assert_eq!(root_from_path(&w.leaf(), index, &siblings), root);
            assert_eq!(
                json["calldata"],
                format!("0x{}", hex::encode(claim_calldata(number, &expected)))
            );
        }
        // Past the entry's withdrawals.
        let out = claim_proof(&log, number, tree.len());
        assert!(!out.status.success());
        assert!(out.stdout.is_empty());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(&format!(
                "no withdrawal at index {}: the tree has {}",
                tree.len(),
                tree.len()
            )),
            "{err}"
        );
    }
    assert_eq!(forced, 1, "the history ends with a forced withdrawal");
    // A batch the log does not hold.
    let out = claim_proof(&log, 2, 0);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no finalized entry in the L1 log holds batch 2"),
        "{err}"
    );
}
