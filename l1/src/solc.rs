//! The project's pinned Solidity compiler: solcjs from `tools/solc`,
//! installed by `npm ci` in the project's setup step (or on first use).

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Mutex, OnceLock};

use crate::error::EvmError;

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

/// Compiles `source` with the pinned solcjs, the optimizer off; returns the
/// deployment bytecode of `contract` (the last contract of the source when
/// `None`). The result is kept for the process (a chain deploys the same
/// contracts again).
pub fn compile_solidity(source: &str, contract: Option<&str>) -> Result<Vec<u8>, EvmError> {
    compile_solidity_with(source, contract, false)
}

/// [`compile_solidity`], with the optimizer (200 runs) when `optimize`: the
/// Rollup contract's runtime code only fits EIP-170's 24,576 bytes
/// optimized (the generated verifier is compiled without: solcjs runs out
/// of memory optimizing it).
pub fn compile_solidity_with(
    source: &str,
    contract: Option<&str>,
    optimize: bool,
) -> Result<Vec<u8>, EvmError> {
    type Compiled = HashMap<(String, Option<String>, bool), Vec<u8>>;
    static COMPILED: OnceLock<Mutex<Compiled>> = OnceLock::new();
    let key = (source.to_string(), contract.map(str::to_string), optimize);
    let cache = COMPILED.get_or_init(Default::default);
    if let Some(code) = cache.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
        return Ok(code.clone());
    }
    let code = compile_uncached(source, contract, optimize)?;
    cache
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(key, code.clone());
    Ok(code)
}

fn compile_uncached(
    source: &str,
    contract: Option<&str>,
    optimize: bool,
) -> Result<Vec<u8>, EvmError> {
    let dir = solc_dir();
    let fail = |reason: String| EvmError::Solc {
        dir: dir.display().to_string(),
        reason,
    };
    ensure_installed(&dir).map_err(fail)?;
    let mut cmd = Command::new("node");
    cmd.arg(dir.join("compile.js"));
    if optimize {
        cmd.arg("--optimize");
    }
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
