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
