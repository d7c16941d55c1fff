//! `zklanes exit-proof`: the proof of an account's balance (or LP shares)
//! built from an L1 log alone, as the Rollup contract's `exit` (or
//! `exitLiquidity`) takes it; refused for an account with nothing to exit
//! (a balance a forced withdrawal emptied included) and for a log whose
//! data does not rebuild its roots.

use std::process::Command;

use zklanes_executor::batch::BATCH_VERSION;
use zklanes_executor::field::fr_to_hex;
use zklanes_executor::genbatch::{generate, GenConfig, Workload};
use zklanes_executor::l1::L1Batch;
use zklanes_executor::params::{DEFAULT_CHAIN_ID, LP_ASSET_BASE, SLOT_BITS};
use zklanes_executor::state::{Key, Leaf};
use zklanes_executor::tx::TxBody;
use zklanes_executor::{Batch, Rollup, RollupConfig};
use zklanes_l1::exit::{state_tree, AnyExitProof};
use zklanes_l1::log::{DepositEvent, FinalizedBatch, L1Log};

fn zklanes() -> Command {
    Command::new(env!("CARGO_BIN_EXE_zklanes"))
}

/// Executes a compact workload (every transaction type, ending with a
/// forced withdrawal of account 4's token 2) as batch 0 and writes its L1
/// log (the L1 queue's events too); returns the executor and the log's
/// path.
fn settled(dir: &std::path::Path) -> (Rollup, std::path::PathBuf, L1Batch) {
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
    let out = rollup
        .apply(&Batch {
            version: BATCH_VERSION,
            number: 0,
            ..all
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
    log.record_batch(FinalizedBatch::new(0, 1, &out.state_root, &l1.data));
    let path = dir.join("l1.json");
    log.write(&path).unwrap();
    (rollup, path, l1)
}

fn exit_proof(log: &std::path::Path, account: u32, asset: u32) -> std::process::Output {
    zklanes()
        .args(["exit-proof", "--l1-data"])
        .arg(log)
        .args([
            "--account",
            &account.to_string(),
            "--asset",
            &asset.to_string(),
            "--json",
        ])
        .output()
        .unwrap()
}

#[test]
fn exit_proof_builds_the_contracts_arguments_from_the_l1_log() {
    let dir = tempfile::tempdir().unwrap();
    let (rollup, log, l1) = settled(dir.path());
    let state = rollup.state();
    let tree = state_tree(state);
    // One plain balance and one LP position of the final state.
    let balance = |lp: bool| {
        let mut keys: Vec<u64> = state
            .leaves
            .iter()
            .filter(|(i, l)| {
                matches!(l, Leaf::Balance(_))
                    && *i >> SLOT_BITS != 0
                    && ((*i & 0xfff) as u32 >= LP_ASSET_BASE) == lp
            })
            .map(|(i, _)| *i)
            .collect();
        keys.sort_unstable();
        let i = keys[0];
        ((i >> SLOT_BITS) as u32, (i & 0xfff) as u32)
    };
    for (lp, kind, function) in [
        (false, "balance", "exit"),
        (true, "liquidity", "exitLiquidity"),
    ] {
        let (account, asset) = balance(lp);
        let out = exit_proof(&log, account, asset);
        assert!(
            out.status.success(),
            "stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
        assert_eq!(json["kind"], kind);
        assert_eq!(json["function"], function);
        assert_eq!(json["root"], fr_to_hex(&rollup.root()));
        assert_eq!(json["batches"], 1);
        let proof: AnyExitProof = serde_json::from_value(json.clone()).expect("the proof");
        proof.verify().expect("verifies natively");
        let expected = AnyExitProof::new(state, &tree, account, asset).unwrap();
        assert_eq!(proof, expected, "the executor's state gives the same proof");
        assert_eq!(
            json["calldata"],
            format!("0x{}", hex::encode(expected.calldata()))
        );
    }

    // Nothing to exit: a clear error, no proof.
    let out = exit_proof(&log, 999, 1);
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("account 999 does not exist"), "{err}");

    // A balance a forced withdrawal emptied: nothing to exit, and the
    // error says where the funds went (claimable on L1 by the owner).
    let forced = l1.withdrawals.last().unwrap();
    assert_eq!((forced.account, forced.asset), (4, 2));
    assert!(forced.amount > 0);
    let queue_index = forced.forced.expect("a forced withdrawal");
    assert_eq!(state.get(Key::Balance(4, 2)), Leaf::Empty);
    let out = exit_proof(&log, 4, 2);
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("account 4 holds no asset 2"), "{err}");
    assert!(
        err.contains(&format!(
            "forced withdrawal, L1 queue index {}, moved {} to its L1 owner 0x{}",
            queue_index,
            forced.amount,
            hex::encode(forced.l1_address)
        )),
        "{err}"
    );
    // Its other balances still exit.
    let out = exit_proof(&log, 4, 1);
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    // A log whose data does not rebuild its root: refused.
    let mut tampered = L1Log::read(&log).unwrap();
    tampered.batches[0].new_root[31] ^= 1;
    let bad = dir.path().join("tampered.json");
    tampered.write(&bad).unwrap();
    let (account, asset) = balance(false);
    let out = exit_proof(&bad, account, asset);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("does not rebuild"), "{err}");
}
