//! The real path, end to end, through the binary, at the smallest
//! configuration that exercises every layer: a compact DeFi workload (every
//! transaction type) as two consecutive batches of one chunk of 29 slots
//! each (k = 19), proven as one bundle; `zklanes prove` proves both chunks on two workers and folds them
//! directly in the final layer (fan-in 2, Keccak transcript, k = 22: a
//! batch this small takes one aggregation layer); `zklanes verify`
//! checks the final proof natively and through the generated Solidity
//! verifier (pinned solcjs) and the Rollup contract in revm, against the
//! final verifying key it derives itself (read from the key cache), or one
//! pinned by its SHA-256. Tampered
//! proofs and public inputs fail both; a file whose verifying key or
//! layout is not the derived one, a file of another configuration and a
//! verifier configured for another tree are refused; at the Rollup contract unqueued
//! deposits, tampered public data, a skipped batch, a wrong previous root
//! and a replay revert too, and the batch's withdrawals become claimable. Then the keys are
//! loaded back from the on-disk cache and must be the same keys.
//! Development SRS (insecure).
//!
//! Keys are cached in `$ZKLANES_CACHE_DIR` (CI points it outside the
//! clone, so a later run reuses them), else in a directory under Cargo's
//! target tmp dir. The final verifying key is a golden fixture.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use zklanes_aggregator::layer::layer_protocol;
use zklanes_aggregator::node::ACCUMULATOR_LIMBS;
use zklanes_aggregator::tree::{expected_transition, padded, transition_fr};
use zklanes_circuits::field::to_halo2;
use zklanes_executor::batch::Encoding;
use zklanes_executor::commitments::LAST_BATCH;
use zklanes_executor::params::DEMO_CHUNK_CAPACITY;
use zklanes_executor::{Rollup, RollupConfig};
use zklanes_l1::chain::L1Chain;
use zklanes_l1::rollup::Genesis;
use zklanes_l1::settle::claim_all;
use zklanes_l1::verifier::verifier_bytecode;
use zklanes_l1::withdrawals::WithdrawalTree;
use zklanes_pipeline::batch_prover::BatchProver;
use zklanes_pipeline::config::ProofConfig;
use zklanes_pipeline::hex::fr_hex;
use zklanes_pipeline::keys::{key_names, vk_entry_name};
use zklanes_pipeline::proof_file::FinalProof;
use zklanes_pipeline::setup::ProverSetup;
use zklanes_pipeline::vk_file::{read_vk_file, vk_hex};
use zklanes_prover::srs::{SrsSet, SrsSource};

/// SHA-256 of the final verifying key's VK file (layout, then the raw key)
/// for this test's tree, chunks of [`DEMO_CHUNK_CAPACITY`] slots, the default
/// chain id and the development SRS: what `zklanes verify` reports as
/// `vk_sha256`, and `sha256sum` of the key cache's `layer_2_22_….vk` entry.
const GOLDEN_FINAL_VK: &str = "0xdf0d09e7d0dfaa9d88896ff712e4ff4a637daacf9635207ffc373a80277aba0f";

fn cache_dir() -> PathBuf {
    std::env::var_os("ZKLANES_CACHE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("zklanes-cache"))
}

fn zklanes(args: &[&str]) -> (bool, serde_json::Value, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_zklanes"))
        .args(args)
        .env("ZKLANES_CACHE_DIR", cache_dir())
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    eprintln!("zklanes {}:\n{stderr}", args.join(" "));
    let json = stdout
        .lines()
        .last()
        .and_then(|l| serde_json::from_str(l).ok())
        .unwrap_or(serde_json::Value::Null);
    (out.status.success(), json, stderr)
}

fn verify(path: &Path) -> (bool, serde_json::Value) {
    let (ok, json, _) = verify_with(path, &[]);
    (ok, json)
}

/// `zklanes verify --proof PATH --json EXTRA...`: success, report, stderr.
fn verify_with(path: &Path, extra: &[&str]) -> (bool, serde_json::Value, String) {
    let mut args = vec!["verify", "--proof", path.to_str().unwrap(), "--json"];
    args.extend_from_slice(extra);
    zklanes(&args)
}

#[test]
fn a_bundle_of_two_batches_settles_through_the_evm_verifier() {
    let dir = tempfile::tempdir().unwrap();
    let config = ProofConfig::two_chunks(DEMO_CHUNK_CAPACITY);
    // Two consecutive batches of one chunk each, proven as one bundle.
    let batches = common::consecutive_batches(44, 4, 7, 2);
    let txs: usize = batches.iter().map(|b| b.txs.len()).sum();
    assert!(
        batches.iter().all(|b| b.txs.len() <= DEMO_CHUNK_CAPACITY) && txs > DEMO_CHUNK_CAPACITY
    );
    let paths: Vec<PathBuf> = batches
        .iter()
        .map(|b| {
            let p = dir.path().join(format!("batch-{}.bin", b.number));
            std::fs::write(&p, b.encode(Encoding::Binary)).unwrap();
            p
        })
        .collect();
    let data = dir.path().join("data");

    // Prove the bundle through the binary: two workers of one thread.
    let (ok, summary, stderr) = zklanes(&[
        "prove",
        "--batch",
        paths[0].to_str().unwrap(),
        "--batch",
        paths[1].to_str().unwrap(),
        "--data-dir",
        data.to_str().unwrap(),
        "--workers",
        "2",
        "--threads-per-worker",
        "1",
        "--json",
    ]);
    assert!(ok, "prove failed: {stderr}");
    assert_eq!(summary["chunks"], 2);
    assert_eq!(summary["batches"], 2);
    eprintln!("prove: {summary}");
    let final_path = data.join("proofs/bundle-0-1/final.json");
    for f in ["chunk-0.json", "chunk-1.json", "finalize.calldata"] {
        assert!(data.join("proofs/bundle-0-1").join(f).is_file(), "{f}");
    }
    // `status` reads the same data directory `prove` wrote.
    let status = Command::new(env!("CARGO_BIN_EXE_zklanes"))
        .args(["status", "--data-dir", data.to_str().unwrap()])
        .output()
        .expect("status runs");
    assert!(status.status.success(), "{status:?}");
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).expect("json");
    assert_eq!(status["height"], 2, "{status}");
    assert_eq!(status["state_root"], summary["state_root"], "{status}");

    // The final proof exposes the batch's folded transition.
    let mut reference = Rollup::in_memory(RollupConfig {
        chunk_capacity: DEMO_CHUNK_CAPACITY,
        threads: 2,
        ..Default::default()
    });
    let traces: Vec<_> = batches
        .iter()
        .flat_map(|b| reference.apply(b).expect("valid").chunks)
        .collect();
    assert_eq!(traces.len(), 2);
    // The prover draws the proof's challenge from the data of all chunks.
    let mut chunks = padded(&traces, &config.shape, config.width()).expect("fits");
    zklanes_executor::l1::set_challenge(&mut chunks, &config.fan_ins()).expect("chunks chain");
    let expected = expected_transition(&chunks, &config.fan_ins()).expect("chunks chain");
    // The file's calldata is the chunks' data, which L1 evaluates.
    assert_eq!(
        FinalProof::read(&final_path).expect("proof file").l1.data,
        zklanes_executor::l1::L1Batch::from_padded(&chunks).data
    );
    let file = FinalProof::read(&final_path).expect("proof file");
    assert_eq!((file.batch, file.batches), (0, 2));
    let instances = file.instances_fr(&final_path).unwrap();
    let proof = file.proof_bytes(&final_path).unwrap();
    assert_eq!(
        &instances[ACCUMULATOR_LIMBS..],
        transition_fr(&expected).as_slice()
    );
    assert_eq!(
        file.transition.new_root,
        fr_hex(&to_halo2(&traces[1].new_root))
    );

    // Verify through the binary: natively and in the EVM, with its gas,
    // against the final key it derives (its cache entry, written by
    // `prove`), on the development SRS, loudly labelled from its own source.
    let (ok, report, stderr) = verify_with(&final_path, &[]);
    assert!(ok, "verify failed: {report}");
    assert_eq!(report["native"], true);
    assert_eq!(report["evm"], true);
    assert_eq!(report["vk_matches"], true, "{report}");
    assert_eq!(report["vk_sha256"], report["file_vk_sha256"], "{report}");
    assert!(
        report["vk_source"]
            .as_str()
            .unwrap()
            .starts_with("derived: cache entry"),
        "{report}"
    );
    assert_eq!(
        report["srs"],
        zklanes_prover::srs::DEVELOPMENT_LABEL,
        "{report}"
    );
    assert_eq!(report["srs_insecure"], true);
    assert!(stderr.contains("WARNING: SRS: development"), "{stderr}");
    assert_eq!(report["l1"], "replayed from the file");
    assert!(report["deposits"].as_u64().unwrap() > 0, "{report}");
    assert!(report["withdrawals"].as_u64().unwrap() > 0, "{report}");
    assert_eq!(report["withdrawals_claimable"], true);
    let gas = report["gas"].as_u64().expect("gas");
    assert!(gas > 100_000, "{gas}");
    eprintln!("verify: {report}");

    // A tampered proof, a tampered public input (a root, a commitment):
    // both checks fail and the command exits non-zero.
    let tampered = |edit: &dyn Fn(&mut FinalProof)| {
        let mut f = file.clone();
        edit(&mut f);
        let p = dir.path().join("tampered.json");
        f.write(&p).unwrap();
        verify(&p)
    };
    let (ok, report) = tampered(&|f| {
        let mut b = hex::decode(f.proof.trim_start_matches("0x")).unwrap();
        b[100] ^= 1;
        f.proof = format!("0x{}", hex::encode(b));
    });
    assert!(
        !ok && report["native"] == false && report["evm"] == false,
        "{report}"
    );
    for i in [
        0,
        ACCUMULATOR_LIMBS + 1,
        ACCUMULATOR_LIMBS + 3,
        ACCUMULATOR_LIMBS + LAST_BATCH,
    ] {
        let (ok, report) = tampered(&|f| {
            let mut inst = instances.clone();
            inst[i] += Fr::one();
            f.instances = inst.iter().map(fr_hex).collect();
            if i == ACCUMULATOR_LIMBS + 1 {
                f.transition.new_root = fr_hex(&inst[i]);
            }
            if i == ACCUMULATOR_LIMBS + LAST_BATCH {
                f.transition.last_batch = fr_hex(&inst[i]);
                f.batches += 1;
            }
        });
        assert!(
            !ok && report["native"] == false && report["evm"] == false,
            "instance {i}: {report}"
        );
    }

    // The proof is sound but the file's public data is not (one byte of
    // its first element): the native check passes, the Rollup contract
    // refuses data that is not the data the proof binds.
    let (ok, report) = tampered(&|f| f.l1.data[0] += zklanes_executor::field::Fr::from(1u64 << 8));
    assert!(
        !ok && report["native"] == true && report["evm"] == false,
        "{report}"
    );

    // The verifying key pinned by its SHA-256 (the derived key's cache
    // entry): accepted; under a wrong SHA-256, refused.
    let cache = zklanes_prover::cache::KeyCache::new(cache_dir()).unwrap();
    let srs = SrsSet::new(SrsSource::Development(Some(cache.clone())));
    let names = key_names(&config, &srs).expect("key names");
    let final_vk_path = cache.path(&vk_entry_name(names.last().expect("final key")));
    let vk_sha = report["vk_sha256"].as_str().unwrap().to_string();
    // A golden fixture (beside tests/golden.rs, which pins the chunk key
    // and the encodings): the final key covers every circuit of the tree,
    // so a change to any of them, or to their layout, moves it.
    assert_eq!(
        vk_sha, GOLDEN_FINAL_VK,
        "the final verifying key moved: if the change is deliberate, pin the new SHA-256"
    );
    let pin = |sha: &str| {
        verify_with(
            &final_path,
            &["--vk", final_vk_path.to_str().unwrap(), "--vk-sha256", sha],
        )
    };
    let (ok, pinned, stderr) = pin(&vk_sha);
    assert!(ok, "pinned verify failed: {pinned} {stderr}");
    assert_eq!(pinned["vk_sha256"], vk_sha.as_str());
    assert!(pinned["vk_source"].as_str().unwrap().starts_with("pinned"));
    let wrong = format!("0x{}", "ab".repeat(32));
    let (ok, _, stderr) = pin(&wrong);
    assert!(
        !ok && stderr.contains(&wrong) && stderr.contains(&vk_sha),
        "{stderr}"
    );

    // The file's verifying key replaced by another valid key of the same
    // layout (the final key with its first two fixed commitments swapped:
    // it decodes, and it is the key of another circuit): refused, naming
    // both SHA-256s. The proof still verifies natively and in the EVM,
    // because the check used the derived key, never the file's.
    let (final_layout, final_vk) =
        read_vk_file(&std::fs::read(&final_vk_path).expect("final VK cached"))
            .expect("final VK file");
    let swapped = {
        let mut raw = hex::decode(vk_hex(&final_vk).trim_start_matches("0x")).unwrap();
        // Version, k, compress flag, count; then 64-byte raw points.
        let (a, b) = (10..74, 74..138);
        assert_ne!(raw[a.clone()], raw[b.clone()], "two distinct commitments");
        let first = raw[a.clone()].to_vec();
        raw.copy_within(b.clone(), a.start);
        raw[b].copy_from_slice(&first);
        let mut f = file.clone();
        f.vk = format!("0x{}", hex::encode(&raw));
        f.final_circuit = final_layout;
        assert!(
            f.verifying_key(&final_path).is_ok(),
            "the swapped key decodes"
        );
        let p = dir.path().join("swapped-vk.json");
        f.write(&p).unwrap();
        p
    };
    let (ok, report, stderr) = verify_with(&swapped, &[]);
    assert!(!ok, "{report}");
    assert_eq!(report["vk_matches"], false, "{report}");
    assert_eq!(report["native"], true, "{report}");
    assert_eq!(report["vk_sha256"], vk_sha.as_str());
    let file_sha = report["file_vk_sha256"].as_str().unwrap();
    assert_ne!(file_sha, vk_sha);
    assert!(
        stderr.contains("not the one this verifier uses")
            && stderr.contains(file_sha)
            && stderr.contains(&vk_sha),
        "{stderr}"
    );
    // The final key with another layout: its identity differs, refused.
    let (ok, report) = tampered(&|f| f.final_circuit.lookup_bits -= 1);
    assert!(!ok && report["vk_matches"] == false, "{report}");

    // A file made for another configuration, and a verifier configured for
    // another tree (capacity, chain id): refused before any key is derived.
    let (ok, _, stderr) = {
        let mut f = file.clone();
        f.config.layers[0].fan_in = 1;
        let p = dir.path().join("other-config.json");
        f.write(&p).unwrap();
        verify_with(&p, &[])
    };
    assert!(
        !ok && stderr.contains("another proof configuration"),
        "{stderr}"
    );
    for flags in [["--capacity", "30"], ["--chain-id", "1"]] {
        let (ok, _, stderr) = verify_with(&final_path, &flags);
        assert!(
            !ok && stderr.contains("another proof configuration"),
            "{flags:?}: {stderr}"
        );
    }

    // The Rollup contract over the real verifier.
    let params = srs.get(config.final_k()).unwrap();
    let vk = file.verifying_key(&final_path).unwrap();
    let code = verifier_bytecode(&params, &vk).expect("verifier compiles");
    settle_through_the_rollup_contract(&code, &file, &instances, &proof, &traces);
    assert!(zklanes_aggregator::verify::verify_aggregation(
        &params,
        &layer_protocol(&params, &vk),
        &instances,
        &proof,
        true
    ));

    // The keys come back from the cache, and they are the same keys.
    let prover =
        BatchProver::open(config, &ProverSetup::with_workers(Some(cache_dir()), 1)).expect("keys");
    assert_eq!(prover.keys.loaded, 2, "every key set from the cache");
    assert_eq!(vk_hex(prover.keys.layers[0].vk()), file.vk);
    assert!(prover.verify_native(&instances, &proof).unwrap());
}

/// The Rollup contract over the real verifier: until the batch's deposits
/// are queued on L1, and with a tampered proof, a tampered public input, a
/// tampered data, a skipped batch or a wrong previous root, `finalize`
/// reverts; then the batch finalizes once, advances the stored root and the
/// deposit queue, and its withdrawals are claimed against its withdrawal
/// root; a replay reverts.
fn settle_through_the_rollup_contract(
    verifier_code: &[u8],
    file: &FinalProof,
    instances: &[Fr],
    proof: &[u8],
    traces: &[zklanes_executor::trace::ChunkTrace],
) {
    let genesis = to_halo2(&traces[0].prev_root);
    let deploy =
        |root: &Fr| L1Chain::deploy(verifier_code, root, Genesis::default()).expect("deploys");
    let mut l1 = deploy(&genesis);
    let mut elsewhere = deploy(&(genesis + Fr::one()));
    let l1_data = &file.l1;
    assert!(!l1_data.deposits.is_empty() && !l1_data.withdrawals.is_empty());
    // The deposits (and the forced withdrawal) are not queued yet.
    assert!(l1.finalize(0, 2, instances, l1_data, proof).is_err());
    for op in &l1_data.queue() {
        assert_eq!(l1.queue_op(op).expect("queued").0, op.queue_index());
        elsewhere.queue_op(op).expect("queued");
    }
    // A wrong previous root.
    assert!(elsewhere.finalize(0, 2, instances, l1_data, proof).is_err());
    // A skipped batch, and a bundle claimed to hold more or fewer batches
    // than it proves (the proof binds its first and last batch number).
    assert!(l1.finalize(1, 2, instances, l1_data, proof).is_err());
    assert!(l1.finalize(0, 3, instances, l1_data, proof).is_err());
    assert!(l1.finalize(0, 1, instances, l1_data, proof).is_err());
    // The batch numbers are public inputs of the proof: claiming three
    // batches with a last batch moved to match is refused by the verifier.
    let mut longer = instances.to_vec();
    longer[ACCUMULATOR_LIMBS + LAST_BATCH] += Fr::one();
    assert!(l1.finalize(0, 3, &longer, l1_data, proof).is_err());
    // A tampered proof.
    let mut bad_proof = proof.to_vec();
    bad_proof[64] ^= 1;
    assert!(l1.finalize(0, 2, instances, l1_data, &bad_proof).is_err());
    // A tampered public input (the new root, then the data's evaluation).
    for i in [ACCUMULATOR_LIMBS + 1, ACCUMULATOR_LIMBS + 4] {
        let mut bad = instances.to_vec();
        bad[i] += Fr::one();
        assert!(
            l1.finalize(0, 2, &bad, l1_data, proof).is_err(),
            "instance {i}"
        );
    }
    // Tampered public data (one byte of the first element).
    let mut bad = l1_data.clone();
    bad.data[0] += zklanes_executor::field::Fr::from(1u64 << 8);
    assert!(l1.finalize(0, 2, instances, &bad, proof).is_err());
    // The batch settles: the stored root, the queue head and the claims advance.
    let done = l1
        .finalize(0, 2, instances, l1_data, proof)
        .expect("finalizes");
    eprintln!(
        "Rollup.finalize: {} gas (transaction included; {} deposits, {} withdrawals)",
        done.gas,
        l1_data.deposits.len(),
        l1_data.withdrawals.len()
    );
    let mut expected = to_halo2(&traces[traces.len() - 1].new_root).to_bytes();
    expected.reverse();
    assert_eq!(l1.state_root().expect("reads"), expected);
    assert_eq!(
        l1.counter("depositHead").unwrap(),
        l1_data.queue().len() as u64
    );
    // The withdrawal root is the data's, the contract holds what its
    // leaves pay, and each leaf is claimed with its proof, paying exactly
    // its amount to its recipient.
    let tree = WithdrawalTree::from_data(&l1_data.data).expect("the data decodes");
    let mut owed = std::collections::BTreeMap::new();
    for w in tree.withdrawals() {
        *owed.entry(w.asset).or_insert(0u128) += w.amount;
    }
    for (asset, amount) in owed {
        let token = l1.asset(asset).unwrap().expect("a deposited asset");
        assert!(l1.balance(token, l1.rollup).unwrap() >= amount);
    }
    let claims = claim_all(&mut l1, 0, &tree)
        .expect("reads")
        .expect("every withdrawal claimed with its proof");
    assert_eq!(
        claims.len(),
        tree.withdrawals().iter().filter(|w| w.amount > 0).count()
    );
    // Both batches are settled; a replay, under the same or the next number, reverts.
    assert_eq!(l1.counter("nextBatch").unwrap(), 2);
    assert!(l1.finalize(0, 2, instances, l1_data, proof).is_err());
    assert!(l1.finalize(2, 2, instances, l1_data, proof).is_err());
}
