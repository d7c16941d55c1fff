//! The binary's contract: `gen-batch`, `execute --json` and its failure
//! modes, and durability under `kill -9`.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

fn zklanes() -> Command {
    Command::new(env!("CARGO_BIN_EXE_zklanes"))
}

fn gen(
    dir: &Path,
    name: &str,
    workload: &str,
    txs: usize,
    accounts: u32,
    format: &str,
) -> std::path::PathBuf {
    let out = dir.join(name);
    let st = zklanes()
        .args([
            "gen-batch",
            "--workload",
            workload,
            "--txs",
            &txs.to_string(),
            "--accounts",
            &accounts.to_string(),
        ])
        .args(["--seed", "4", "--format", format, "--out"])
        .arg(&out)
        .status()
        .unwrap();
    assert!(st.success());
    out
}

fn execute_json(args: &[&str]) -> serde_json::Value {
    let out = zklanes()
        .arg("execute")
        .args(args)
        .arg("--json")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("one JSON object")
}

#[test]
fn execute_reports_required_fields_and_is_thread_independent() {
    let dir = tempfile::tempdir().unwrap();
    let batch = gen(dir.path(), "b.bin", "mixed", 120, 10, "bin");
    let b = batch.to_str().unwrap();
    let one = execute_json(&["--batch", b, "--threads", "1"]);
    let two = execute_json(&["--batch", b, "--threads", "2"]);
    for key in [
        "txs",
        "state_root",
        "trace_hash",
        "exec_ms",
        "tps",
        "reexecutions",
    ] {
        assert!(one.get(key).is_some(), "missing {key}");
    }
    assert_eq!(one["state_root"], two["state_root"]);
    assert_eq!(one["trace_hash"], two["trace_hash"]);
    let seq = execute_json(&["--batch", b, "--threads", "2", "--engine", "sequential"]);
    assert_eq!(one["state_root"], seq["state_root"]);
    // JSON and binary encodings of the same batch agree.
    let json_batch = gen(dir.path(), "b.json", "mixed", 120, 10, "json");
    let j = execute_json(&["--batch", json_batch.to_str().unwrap(), "--threads", "2"]);
    assert_eq!(one["state_root"], j["state_root"]);
}

#[test]
fn invalid_batches_exit_nonzero_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.bin");
    std::fs::write(&junk, b"\x01\x02not a batch").unwrap();
    let out = zklanes()
        .args(["execute", "--batch"])
        .arg(&junk)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("malformed batch"), "{err}");

    // A valid batch applied twice to one data dir: the second is out of order.
    let batch = gen(dir.path(), "t.bin", "transfers", 20, 5, "bin");
    let data = dir.path().join("data");
    let args = |_: ()| {
        let mut c = zklanes();
        c.args(["execute", "--batch"])
            .arg(&batch)
            .arg("--data-dir")
            .arg(&data);
        c
    };
    assert!(args(()).output().unwrap().status.success());
    let out = args(()).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not the next batch"));
}

/// `kill -9` at random moments while a batch commits: reopening always finds
/// either the state before the batch or the state after it, never a mix.
#[test]
fn kill_dash_nine_leaves_a_consistent_store() {
    let dir = tempfile::tempdir().unwrap();
    let batch = gen(dir.path(), "k.bin", "mixed", 300, 30, "bin");
    let b = batch.to_str().unwrap();
    let reference = execute_json(&["--batch", b, "--threads", "2"]);
    let mut outcomes = (0, 0);
    for round in 0..6u64 {
        let data = dir.path().join(format!("d{round}"));
        let mut child = zklanes()
            .args([
                "execute",
                "--batch",
                b,
                "--threads",
                "2",
                "--json",
                "--data-dir",
            ])
            .arg(&data)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(150 + 170 * round));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        // Reopen and apply again: a committed batch is refused as out of order,
        // an uncommitted one applies and must give the reference root.
        let out = zklanes()
            .args([
                "execute",
                "--batch",
                b,
                "--threads",
                "2",
                "--json",
                "--data-dir",
            ])
            .arg(&data)
            .output()
            .unwrap();
        if out.status.success() {
            let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            assert_eq!(v["state_root"], reference["state_root"]);
            outcomes.0 += 1;
        } else {
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(
                err.contains("not the next batch"),
                "unexpected failure after kill: {err}"
            );
            outcomes.1 += 1;
        }
        // Either way the store now holds exactly the reference transition.
        let st = zklanes()
            .args(["status", "--data-dir"])
            .arg(&data)
            .output()
            .unwrap();
        assert!(st.status.success());
        let v: serde_json::Value = serde_json::from_slice(&st.stdout).unwrap();
        assert_eq!(v["height"], 1);
        assert_eq!(v["state_root"], reference["state_root"]);
        assert_eq!(v["roots"][0], reference["state_root"]);
    }
    eprintln!(
        "kill -9 rounds: {} before commit, {} after",
        outcomes.0, outcomes.1
    );
}

/// `circuit-stats --json` reports per-type and chunk figures for every type.
#[test]
fn circuit_stats_reports_cells() {
    let out = zklanes()
        .args(["circuit-stats", "--json", "--capacity", "2"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for t in [
        "deposit",
        "transfer",
        "swap",
        "add_liquidity",
        "remove_liquidity",
        "withdraw",
        "create_pool",
        "noop",
    ] {
        assert!(v["per_tx_type"][t]["total_advice"].as_u64().unwrap() > 10_000);
    }
    assert_eq!(v["chunk"]["capacity"], 2);
    assert!(v["chunk"]["k"].as_u64().unwrap() >= 10);
    assert!(
        v["building_blocks"]["eddsa_verification"]["total_advice"]
            .as_u64()
            .unwrap()
            > 0
    );
}

/// A final proof file of `config` with no proof in it (enough for the
/// refusals that come before any verification).
fn empty_final_proof(
    config: zklanes_pipeline::config::ProofConfig,
) -> zklanes_pipeline::proof_file::FinalProof {
    let zero = format!("0x{}", "00".repeat(32));
    zklanes_pipeline::proof_file::FinalProof {
        version: zklanes_pipeline::proof_file::PROOF_FILE_VERSION,
        batch: 0,
        batches: 1,
        txs: 0,
        chunks: 1,
        config,
        srs: "whatever the prover claims".into(),
        transition: zklanes_pipeline::proof_file::Transition {
            prev_root: zero.clone(),
            new_root: zero.clone(),
            pubdata: zero.clone(),
            challenge: zero.clone(),
            evaluation: zero.clone(),
            challenge_power: zero.clone(),
            first_batch: zero.clone(),
            last_batch: zero,
        },
        instances: vec![],
        proof: "0x".into(),
        final_circuit: Default::default(),
        vk: "0x".into(),
        l1: Default::default(),
    }
}

/// `verify --vk FILE --vk-sha256 HEX` refuses a key file whose SHA-256 is
/// not the pinned one, before reading the proof or doing any proving work;
/// a pinned file that is not a key, a malformed hash and `--vk` without its
/// hash are refused too.
#[test]
fn verify_refuses_a_vk_file_that_is_not_the_pinned_one() {
    use sha2::{Digest, Sha256};
    let dir = tempfile::tempdir().unwrap();
    let vk = dir.path().join("final.vk");
    std::fs::write(&vk, b"not the key you pinned").unwrap();
    let actual = format!(
        "0x{}",
        hex::encode(Sha256::digest(b"not the key you pinned"))
    );
    let pinned = format!("0x{}", hex::encode(Sha256::digest(b"the key")));
    let run = |sha: Option<&str>| {
        let mut c = zklanes();
        c.args(["verify", "--proof"])
            .arg(dir.path().join("missing.json"))
            .arg("--vk")
            .arg(&vk)
            .env("ZKLANES_CACHE_DIR", dir.path().join("cache"));
        if let Some(sha) = sha {
            c.args(["--vk-sha256", sha]);
        }
        let out = c.output().unwrap();
        (out.status, String::from_utf8_lossy(&out.stderr).to_string())
    };
    let (st, err) = run(Some(&pinned));
    assert!(!st.success());
    assert!(
        err.contains("refused") && err.contains(&pinned) && err.contains(&actual),
        "{err}"
    );
    // The hash matches, but the file is no key.
    let (st, err) = run(Some(&actual.to_uppercase().replace("0X", "")));
    assert!(!st.success());
    assert!(err.contains("not a verifying key file"), "{err}");
    let (st, err) = run(Some("0x1234"));
    assert!(!st.success() && err.contains("not a SHA-256"), "{err}");
    let (st, _) = run(None);
    assert!(!st.success(), "--vk needs --vk-sha256");
    assert!(!dir.path().join("cache").exists(), "no key work was done");
}

/// `verify` refuses a proof file made for another configuration than the
/// one it is given (its own flags, with `prove`'s defaults), before any key
/// is derived: the file's own configuration is never used.
#[test]
fn verify_refuses_a_proof_file_of_another_configuration() {
    use zklanes_executor::params::DEMO_CHUNK_CAPACITY;
    use zklanes_pipeline::config::ProofConfig;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("final.json");
    empty_final_proof(ProofConfig::two_chunks(DEMO_CHUNK_CAPACITY + 1))
        .write(&path)
        .unwrap();
    let out = zklanes()
        .args(["verify", "--json", "--proof"])
        .arg(&path)
        .env("ZKLANES_CACHE_DIR", dir.path().join("cache"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("another proof configuration"), "{err}");
    assert!(!dir.path().join("cache").exists(), "no key work was done");
}

/// `verify --params-dir` refuses a params directory holding the
/// development setup (its secret is public), with a clear message.
#[test]
fn verify_refuses_development_params_in_a_params_dir() {
    use zklanes_pipeline::config::ProofConfig;
    use zklanes_prover::srs::{dev_params, params_file_name};
    let dir = tempfile::tempdir().unwrap();
    let config = ProofConfig::two_chunks(1);
    let params = dir.path().join("params");
    std::fs::create_dir_all(&params).unwrap();
    let mut bytes = Vec::new();
    halo2_base::halo2_proofs::poly::commitment::Params::write(
        &dev_params(config.chunk_k),
        &mut bytes,
    )
    .unwrap();
    std::fs::write(params.join(params_file_name(config.chunk_k)), bytes).unwrap();
    let path = dir.path().join("final.json");
    empty_final_proof(config).write(&path).unwrap();
    let out = zklanes()
        .args(["verify", "--capacity", "1", "--proof"])
        .arg(&path)
        .arg("--params-dir")
        .arg(&params)
        .env("ZKLANES_CACHE_DIR", dir.path().join("cache"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("holds the development setup") && err.contains("refused"),
        "{err}"
    );
}
