//! The real path, end to end, through the binary, at the smallest
//! configuration that exercises every layer: a compact DeFi workload (every
//! transaction type) as two consecutive batches of one chunk of 29 slots
//! each (k = 18), proven as one bundle; `zklanes prove` proves both chunks on two workers, folds them in one
//! aggregation layer (fan-in 2, Poseidon transcript, k = 20) and one
//! recursive fold (fan-in 1, Keccak transcript, k = 22); `zklanes verify`
//! checks the final proof natively and through the generated Solidity
//! verifier (pinned solcjs) and the Rollup contract in revm. Tampered
//! proofs and public inputs fail both; at the Rollup contract unqueued
//! deposits, a tampered withdrawal, a skipped batch, a wrong previous root
//! and a replay revert too, and the batch's withdrawals become claimable. Then the keys are
//! loaded back from the on-disk cache and must be the same keys.
//! Development SRS (insecure).
//!
//! Keys are cached in `$ZKLANES_CACHE_DIR` (CI points it at the build
//! directory, so the demo smoke run after the tests reuses them), else in
//! a directory under Cargo's target tmp dir.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use zklanes::pipeline::{ProofConfig, Prover, ProverSetup, DEMO_CAPACITY};
use zklanes::proof_file::{fr_hex, vk_hex, FinalProof};
use zklanes_aggregator::evm::verifier_bytecode;
use zklanes_aggregator::l1_chain::L1Chain;
use zklanes_aggregator::layer::layer_protocol;
use zklanes_aggregator::node::ACCUMULATOR_LIMBS;
use zklanes_aggregator::rollup_sol::Genesis;
use zklanes_aggregator::tree::{expected_transition, padded, transition_fr};
use zklanes_circuits::field::to_halo2;
use zklanes_executor::batch::Encoding;
use zklanes_executor::{Rollup, RollupConfig};
use zklanes_prover::srs::{SrsSet, SrsSource};

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
    let (ok, json, _) = zklanes(&["verify", "--proof", path.to_str().unwrap(), "--json"]);
    (ok, json)
}

#[test]
fn a_bundle_of_two_batches_settles_through_the_evm_verifier() {
    let dir = tempfile::tempdir().unwrap();
    let config = ProofConfig::two_chunks(DEMO_CAPACITY);
    // Two consecutive batches of one chunk each, proven as one bundle.
    let batches = common::consecutive_batches(44, 4, 7, 2);
    let txs: usize = batches.iter().map(|b| b.txs.len()).sum();
    assert!(batches.iter().all(|b| b.txs.len() <= DEMO_CAPACITY) && txs > DEMO_CAPACITY);
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
    for f in ["chunk-0.json", "chunk-1.json", "layer-1-0.json"] {
        assert!(data.join("proofs/bundle-0-1").join(f).is_file(), "{f}");
    }

    // The final proof exposes the batch's folded transition.
    let mut reference = Rollup::in_memory(RollupConfig {
        chunk_capacity: DEMO_CAPACITY,
        threads: 2,
        ..Default::default()
    });
    let traces: Vec<_> = batches
        .iter()
        .flat_map(|b| reference.apply(b).expect("valid").chunks)
        .collect();
    assert_eq!(traces.len(), 2);
    let expected = expected_transition(
        &padded(&traces, &config.shape, config.width()).expect("fits"),
        &[2, 1],
    )
    .expect("chunks chain");
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

    // Verify through the binary: natively and in the EVM, with its gas.
    let (ok, report) = verify(&final_path);
    assert!(ok, "verify failed: {report}");
    assert_eq!(report["native"], true);
    assert_eq!(report["evm"], true);
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
    for i in [0, ACCUMULATOR_LIMBS + 1, ACCUMULATOR_LIMBS + 3] {
        let (ok, report) = tampered(&|f| {
            let mut inst = instances.clone();
            inst[i] += Fr::one();
            f.instances = inst.iter().map(fr_hex).collect();
            if i == ACCUMULATOR_LIMBS + 1 {
                f.transition.new_root = fr_hex(&inst[i]);
            }
        });
        assert!(
            !ok && report["native"] == false && report["evm"] == false,
            "instance {i}: {report}"
        );
    }

    // The proof is sound but the file's L1 data is not: the native check
    // passes, the Rollup contract refuses the withdrawal list.
    let (ok, report) = tampered(&|f| f.l1.withdrawals[0].amount += 1);
    assert!(
        !ok && report["native"] == true && report["evm"] == false,
        "{report}"
    );

    // The Rollup contract over the real verifier.
    let srs = SrsSet::new(SrsSource::Development(Some(
        zklanes_prover::cache::KeyCache::new(cache_dir()).unwrap(),
    )));
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
        Prover::open(config, &ProverSetup::with_workers(Some(cache_dir()), 1)).expect("keys");
    assert_eq!(prover.keys.loaded, 3, "every key set from the cache");
    assert_eq!(vk_hex(prover.keys.layers[1].vk()), file.vk);
    assert!(prover.verify_native(&instances, &proof).unwrap());
}

/// The Rollup contract over the real verifier: until the batch's deposits
/// are queued on L1, and with a tampered proof, a tampered public input, a
/// tampered withdrawal, a skipped batch or a wrong previous root, `finalize`
/// reverts; then the batch finalizes once, advances the stored root and the
/// deposit queue, and its withdrawals are claimable; a replay reverts.
fn settle_through_the_rollup_contract(
    verifier_code: &[u8],
    file: &FinalProof,
    instances: &[Fr],
    proof: &[u8],
    traces: &[zklanes_executor::trace::ChunkTrace],
) {
    let fan_ins = file.config.fan_ins();
    let genesis = to_halo2(&traces[0].prev_root);
    let deploy = |root: &Fr| {
        L1Chain::deploy(verifier_code, root, Genesis::default(), &fan_ins).expect("deploys")
    };
    let mut l1 = deploy(&genesis);
    let mut elsewhere = deploy(&(genesis + Fr::one()));
    let l1_data = &file.l1;
    assert!(!l1_data.deposits.is_empty() && !l1_data.withdrawals.is_empty());
    // The deposits are not queued yet.
    assert!(l1.finalize(0, 2, instances, l1_data, proof).is_err());
    for d in &l1_data.deposits {
        assert_eq!(l1.queue_deposit(d).expect("queued").0, d.queue_index);
        elsewhere.queue_deposit(d).expect("queued");
    }
    // A wrong previous root.
    assert!(elsewhere.finalize(0, 2, instances, l1_data, proof).is_err());
    // A skipped batch, and a bundle claimed to hold more batches than chunks.
    assert!(l1.finalize(1, 2, instances, l1_data, proof).is_err());
    assert!(l1.finalize(0, 3, instances, l1_data, proof).is_err());
    // A tampered proof.
    let mut bad_proof = proof.to_vec();
    bad_proof[64] ^= 1;
    assert!(l1.finalize(0, 2, instances, l1_data, &bad_proof).is_err());
    // A tampered public input (the new root, then the deposit commitment).
    for i in [ACCUMULATOR_LIMBS + 1, ACCUMULATOR_LIMBS + 3] {
        let mut bad = instances.to_vec();
        bad[i] += Fr::one();
        assert!(
            l1.finalize(0, 2, &bad, l1_data, proof).is_err(),
            "instance {i}"
        );
    }
    // A tampered withdrawal.
    let mut bad = l1_data.clone();
    bad.withdrawals[0].amount += 1;
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
        l1_data.deposits.len() as u64
    );
    let w = &l1_data.withdrawals[0];
    assert!(l1.claimable(&w.l1_address, w.asset).unwrap() >= w.amount);
    // Both batches are settled; a replay, under the same or the next number, reverts.
    assert_eq!(l1.counter("nextBatch").unwrap(), 2);
    assert!(l1.finalize(0, 2, instances, l1_data, proof).is_err());
    assert!(l1.finalize(2, 2, instances, l1_data, proof).is_err());
}
