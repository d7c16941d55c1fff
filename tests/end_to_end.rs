//! The real path, end to end, through the binary, at the smallest
//! configuration that exercises every layer: a compact DeFi batch (every
//! transaction type) executed into two chunks of 29 slots (k = 18);
//! `zklanes prove` proves both chunks on two workers, folds them in one
//! aggregation layer (fan-in 2, Poseidon transcript, k = 20) and one
//! recursive fold (fan-in 1, Keccak transcript, k = 21); `zklanes verify`
//! checks the final proof natively and through the generated Solidity
//! verifier (pinned solcjs) and the Rollup contract in revm. Tampered
//! proofs and public inputs fail both; at the Rollup contract a skipped
//! batch, a wrong previous root and a replay revert too. Then the keys are
//! loaded back from the on-disk cache and must be the same keys.
//! Development SRS (insecure).
//!
//! Keys are cached in `$ZKLANES_CACHE_DIR` (CI points it at the build
//! directory, so the demo smoke run after the tests reuses them), else in
//! a directory under Cargo's target tmp dir.

use std::path::{Path, PathBuf};
use std::process::Command;

use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use zklanes::pipeline::{ProofConfig, Prover, ProverSetup, DEMO_CAPACITY};
use zklanes::proof_file::{fr_hex, vk_hex, FinalProof};
use zklanes_aggregator::evm::verifier_bytecode;
use zklanes_aggregator::evm_host::{selector, EvmHost};
use zklanes_aggregator::layer::layer_protocol;
use zklanes_aggregator::node::ACCUMULATOR_LIMBS;
use zklanes_aggregator::rollup_sol::{deployment, finalize_calldata};
use zklanes_aggregator::tree::{expected_transition, padded, transition_fr};
use zklanes_circuits::field::to_halo2;
use zklanes_executor::batch::Encoding;
use zklanes_executor::genbatch::{generate, GenConfig, Workload};
use zklanes_executor::params::DEFAULT_CHAIN_ID;
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
fn a_batch_settles_through_the_evm_verifier() {
    let dir = tempfile::tempdir().unwrap();
    let config = ProofConfig::two_chunks(DEMO_CAPACITY);
    let batch = generate(&GenConfig {
        workload: Workload::Compact,
        txs: 44,
        accounts: 4,
        seed: 7,
        chain_id: DEFAULT_CHAIN_ID,
        sign: true,
    })
    .into_batch(DEFAULT_CHAIN_ID);
    assert!(batch.txs.len() > DEMO_CAPACITY && batch.txs.len() <= config.max_txs());
    let batch_path = dir.path().join("batch.bin");
    std::fs::write(&batch_path, batch.encode(Encoding::Binary)).unwrap();
    let data = dir.path().join("data");

    // Prove through the binary: two workers of one thread.
    let (ok, summary, stderr) = zklanes(&[
        "prove",
        "--batch",
        batch_path.to_str().unwrap(),
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
    eprintln!("prove: {summary}");
    let final_path = data.join("proofs/batch-0/final.json");
    for f in ["chunk-0.json", "chunk-1.json", "layer-1-0.json"] {
        assert!(data.join("proofs/batch-0").join(f).is_file(), "{f}");
    }

    // The final proof exposes the batch's folded transition.
    let mut reference = Rollup::in_memory(RollupConfig {
        chunk_capacity: DEMO_CAPACITY,
        threads: 2,
        ..Default::default()
    });
    let traces = reference.apply(&batch).expect("valid").chunks;
    assert_eq!(traces.len(), 2);
    let expected = expected_transition(
        &padded(&traces, &config.shape, config.width()).expect("fits"),
        &[2, 1],
    )
    .expect("chunks chain");
    let file = FinalProof::read(&final_path).expect("proof file");
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

    // The Rollup contract over the real verifier.
    let srs = SrsSet::new(SrsSource::Development(Some(
        zklanes_prover::cache::KeyCache::new(cache_dir()).unwrap(),
    )));
    let params = srs.get(config.final_k()).unwrap();
    let vk = file.verifying_key(&final_path).unwrap();
    let code = verifier_bytecode(&params, &vk).expect("verifier compiles");
    settle_through_the_rollup_contract(&code, &instances, &proof, &traces);
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

/// The Rollup contract over the real verifier: a tampered proof, a tampered
/// public input, a skipped batch, a wrong previous root and a replayed
/// batch revert; the batch finalizes once and advances the stored root.
fn settle_through_the_rollup_contract(
    verifier_code: &[u8],
    instances: &[Fr],
    proof: &[u8],
    traces: &[zklanes_executor::trace::ChunkTrace],
) {
    let mut host = EvmHost::new();
    let verifier = host.deploy(verifier_code).expect("verifier deploys");
    let genesis = to_halo2(&traces[0].prev_root);
    let rollup = host
        .deploy(&deployment(verifier, &genesis).expect("compiles"))
        .expect("rollup deploys");
    let elsewhere = host
        .deploy(&deployment(verifier, &(genesis + Fr::one())).expect("compiles"))
        .expect("rollup deploys");
    let finalize = |batch, inst: &[Fr], p: &[u8]| finalize_calldata(batch, inst, p);
    // A wrong previous root.
    assert!(host.call(elsewhere, finalize(0, instances, proof)).is_err());
    // A skipped batch.
    assert!(host.call(rollup, finalize(1, instances, proof)).is_err());
    // A tampered proof.
    let mut bad_proof = proof.to_vec();
    bad_proof[64] ^= 1;
    assert!(host
        .call(rollup, finalize(0, instances, &bad_proof))
        .is_err());
    // A tampered public input (the new root, then the deposit commitment).
    for i in [ACCUMULATOR_LIMBS + 1, ACCUMULATOR_LIMBS + 3] {
        let mut bad = instances.to_vec();
        bad[i] += Fr::one();
        assert!(
            host.call(rollup, finalize(0, &bad, proof)).is_err(),
            "instance {i}"
        );
    }
    // The batch settles, and the stored root advances.
    let done = host
        .call(rollup, finalize(0, instances, proof))
        .expect("finalizes");
    eprintln!("Rollup.finalize: {} gas (transaction included)", done.gas);
    let root = host
        .call(rollup, selector("stateRoot()").to_vec())
        .expect("reads");
    let mut expected = to_halo2(&traces[traces.len() - 1].new_root).to_bytes();
    expected.reverse();
    assert_eq!(root.output, expected.to_vec());
    // A replay, under the same or the next number.
    assert!(host.call(rollup, finalize(0, instances, proof)).is_err());
    assert!(host.call(rollup, finalize(1, instances, proof)).is_err());
}
