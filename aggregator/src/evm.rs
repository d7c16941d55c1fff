//! The L1 side: the Solidity verifier of the final layer, compiled with the
//! project's pinned solcjs (`tools/solc`, installed by `npm ci` in the
//! project's setup step), and its execution in revm.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use halo2_base::halo2_proofs::halo2curves::bn256::{Bn256, Fr, G1Affine};
use halo2_base::halo2_proofs::plonk::VerifyingKey;
use halo2_base::halo2_proofs::poly::kzg::commitment::ParamsKZG;
use snark_verifier_sdk::evm::{encode_calldata, gen_evm_verifier_sol_code};
use snark_verifier_sdk::halo2::aggregation::AggregationCircuit;
use snark_verifier_sdk::snark_verifier::loader::evm::deploy_and_call;
use snark_verifier_sdk::SHPLONK;

use crate::node::NODE_INSTANCES;

/// Why an EVM step failed.
#[derive(Debug, thiserror::Error)]
pub enum EvmError {
    /// The Solidity compiler failed or is not installed.
    #[error("solc ({dir}): {reason}")]
    Solc {
        /// Where the compiler was looked for.
        dir: String,
        /// What went wrong.
        reason: String,
    },
    /// Deployment or the call reverted or halted.
    #[error("EVM: {0}")]
    Reverted(String),
}

/// Where the pinned solcjs lives: `$ZKLANES_SOLC_DIR`, else the repository's `tools/solc`.
pub fn solc_dir() -> PathBuf {
    std::env::var_os("ZKLANES_SOLC_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../tools/solc")))
}

/// Installs the pinned solcjs from the project's lock file (`npm ci`, from
/// the npm registry) unless it is there already. Runs once per process.
fn ensure_installed(dir: &std::path::Path) -> Result<(), String> {
    static INSTALL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _guard = INSTALL.lock().unwrap_or_else(|e| e.into_inner());
    if dir.join("node_modules/solc").exists() {
        return Ok(());
    }
    let status = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(dir)
        .stdout(Stdio::null())
        .status()
        .map_err(|e| format!("solcjs is not installed and npm cannot run: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`npm ci` in {} failed: {status}", dir.display()))
    }
}

/// Compiles `source` with the pinned solcjs; returns the deployment bytecode
/// of `contract` (the last contract of the source when `None`).
pub fn compile_solidity(source: &str, contract: Option<&str>) -> Result<Vec<u8>, EvmError> {
    let dir = solc_dir();
    let fail = |reason: String| EvmError::Solc {
        dir: dir.display().to_string(),
        reason,
    };
    ensure_installed(&dir).map_err(fail)?;
    let mut cmd = Command::new("node");
    cmd.arg(dir.join("compile.js"));
    if let Some(c) = contract {
        cmd.arg(c);
    }
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| fail(format!("cannot run node: {e}")))?;
    child
        .stdin
        .take()
        .ok_or_else(|| fail("no stdin".into()))?
        .write_all(source.as_bytes())
        .map_err(|e| fail(e.to_string()))?;
    let out = child.wait_with_output().map_err(|e| fail(e.to_string()))?;
    if !out.status.success() {
        return Err(fail(String::from_utf8_lossy(&out.stderr).into_owned()));
    }
    hex::decode(String::from_utf8_lossy(&out.stdout).trim()).map_err(|e| fail(e.to_string()))
}

/// The Solidity source of the verifier of the final layer's key.
pub fn verifier_source(params: &ParamsKZG<Bn256>, vk: &VerifyingKey<G1Affine>) -> String {
    gen_evm_verifier_sol_code::<AggregationCircuit, SHPLONK>(params, vk, vec![NODE_INSTANCES])
}

/// The verifier's deployment bytecode.
pub fn verifier_bytecode(
    params: &ParamsKZG<Bn256>,
    vk: &VerifyingKey<G1Affine>,
) -> Result<Vec<u8>, EvmError> {
    compile_solidity(&verifier_source(params, vk), None)
}

/// The verifier's calldata for a final proof.
pub fn calldata(instances: &[Fr], proof: &[u8]) -> Vec<u8> {
    encode_calldata(&[instances.to_vec()], proof)
}

/// Deploys the verifier in a fresh revm and calls it: the gas of the call,
/// or why it reverted.
pub fn verify_in_evm(bytecode: &[u8], instances: &[Fr], proof: &[u8]) -> Result<u64, EvmError> {
    deploy_and_call(bytecode.to_vec(), calldata(instances, proof)).map_err(EvmError::Reverted)
}
