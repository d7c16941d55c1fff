//! `zklanes verify`: checks a final proof file against the final verifying
//! key **this build derives** for the configured proof tree (the same
//! options and defaults as `prove`: `--capacity`, `--chain-id`; the tree's
//! fan-ins and final `k` are the code's), or against a key pinned by its
//! SHA-256 (`--vk FILE --vk-sha256 HEX`); never against the key, layout or
//! fan-ins the file carries. The proof is checked natively (the proof and
//! the KZG accumulator of every proof below it) and in the EVM (the
//! verifier generated from the derived key, compiled with the pinned solc,
//! then the Rollup contract's `finalize`), and the gas is reported. A file
//! made for another configuration, or whose key is not the derived one,
//! exits non-zero with both SHA-256s.
//!
//! The L1 side (genesis root, first batch, the queued deposits) is
//! replayed from the file, as there is no real L1 view: the report says so
//! (`"l1": "replayed from the file"`). The setup is reported from this
//! command's own source (the development one, loudly, or the params files
//! with the hash of their points), never copied from the file.

use std::path::PathBuf;

use anyhow::{anyhow, bail, Context, Result};
use clap::Args;
use serde_json::json;
use zklanes_executor::params::{DEFAULT_CHAIN_ID, DEMO_CHUNK_CAPACITY};
use zklanes_l1::verifier::verifier_bytecode;
use zklanes_pipeline::config::ProofConfig;
use zklanes_pipeline::data_dir::user_cache_dir;
use zklanes_pipeline::hex::sha256_hex;
use zklanes_pipeline::keys::final_vk;
use zklanes_pipeline::proof_file::FinalProof;
use zklanes_pipeline::verify::{verify_final, FinalKey};
use zklanes_pipeline::vk_file::read_vk_file;
use zklanes_prover::cache::KeyCache;
use zklanes_prover::srs::{SrsSet, SrsSource, DEVELOPMENT_LABEL};

/// Arguments of `verify`.
#[derive(Args)]
pub struct VerifyArgs {
    /// The final proof file (`final.json` from `zklanes prove`).
    #[arg(long)]
    proof: PathBuf,
    /// Powers-of-Tau-derived params, the ones the proof was made with
    /// (default: the development SRS, insecure). Files holding the
    /// development setup are refused.
    #[arg(long)]
    params_dir: Option<PathBuf>,
    /// Key cache, where the derived verifying key is read from (or its keys
    /// generated into); default: `$ZKLANES_CACHE_DIR`, else the demo's cache.
    #[arg(long)]
    cache_dir: Option<PathBuf>,
    /// Slots per chunk of the configured tree (as `prove --capacity`).
    #[arg(long, default_value_t = DEMO_CHUNK_CAPACITY)]
    capacity: usize,
    /// Chain id bound into the chunk circuit (as `prove`).
    #[arg(long, default_value_t = DEFAULT_CHAIN_ID)]
    chain_id: u32,
    /// Verify against this VK file (as the key cache writes it beside each
    /// layer key, `layer_….vk`) instead of deriving the key; it must hash
    /// to `--vk-sha256`.
    #[arg(long, requires = "vk_sha256")]
    vk: Option<PathBuf>,
    /// The SHA-256 of the `--vk` file (hex, as `verify` prints `vk_sha256`).
    #[arg(long, requires = "vk")]
    vk_sha256: Option<String>,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

/// `0x`-prefixed lowercase hex of a SHA-256 given by the user, if well formed.
fn normalize_sha256(s: &str) -> Option<String> {
    let h = s.trim();
    let h = h
        .strip_prefix("0x")
        .or_else(|| h.strip_prefix("0X"))
        .unwrap_or(h);
    (h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| format!("0x{}", h.to_ascii_lowercase()))
}

/// Runs `verify`.
pub fn run(a: VerifyArgs) -> Result<()> {
    // A pinned key is checked before anything else is read or computed.
    let pinned = match (&a.vk, &a.vk_sha256) {
        (Some(path), Some(expected)) => {
            let expected = normalize_sha256(expected)
                .ok_or_else(|| anyhow!("--vk-sha256 {expected:?} is not a SHA-256 in hex"))?;
            let bytes =
                std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
            let actual = sha256_hex(&bytes);
            if actual != expected {
                bail!(
                    "refused: the --vk file {} has sha256 {actual}, --vk-sha256 pins {expected}",
                    path.display()
                );
            }
            let (layout, vk) = read_vk_file(&bytes)
                .with_context(|| format!("{}: not a verifying key file", path.display()))?;
            Some((layout, vk, path.clone()))
        }
        _ => None,
    };
    let file = FinalProof::read(&a.proof)?;
    let config = ProofConfig::two_chunks_on(a.capacity.max(1), a.chain_id);
    if file.config != config {
        bail!(
            "refused: {} was made for another proof configuration than this verifier's \
             (--capacity {}, --chain-id {}, fan-ins {:?}, final k {}); the file says capacity {}, \
             chain id {}, fan-ins {:?}, final k {}",
            a.proof.display(),
            config.shape.capacity,
            config.shape.chain_id,
            config.fan_ins(),
            config.final_k(),
            file.config.shape.capacity,
            file.config.shape.chain_id,
            file.config.fan_ins(),
            file.config.final_k(),
        );
    }
    // The file's fields decode before any key is derived.
    file.instances_fr(&a.proof)?;
    file.proof_bytes(&a.proof)?;
    file.vk_sha256(&a.proof)?;

    let cache_dir = a.cache_dir.clone().unwrap_or_else(user_cache_dir);
    let srs = match &a.params_dir {
        Some(d) => SrsSet::new(SrsSource::files(d.clone())),
        None => {
            eprintln!(
                "WARNING: SRS: {DEVELOPMENT_LABEL}. Anyone can forge proofs under it: this check \
                 means nothing for a real deployment (pass --params-dir)."
            );
            SrsSet::new(SrsSource::Development(Some(KeyCache::new(&cache_dir)?)))
        }
    };
    let k = config.final_k();
    let (layout, vk, vk_source) = match pinned {
        Some((layout, vk, path)) => (layout, vk, format!("pinned: {}", path.display())),
        None => {
            let cache = KeyCache::new(&cache_dir)?;
            let d = final_vk(&config, &srs, Some(&cache))
                .context("deriving the final verifying key of the configured tree")?;
            let from = match (&d.entry, d.cached) {
                (Some(e), true) => format!("derived: cache entry {}", e.display()),
                _ => "derived: from the tree's keys".to_string(),
            };
            (d.config, d.vk, from)
        }
    };
    if vk.get_domain().k() != k {
        bail!(
            "refused: the verifying key ({vk_source}) is of a circuit of k={}, the configured tree's final layer has k={k}",
            vk.get_domain().k()
        );
    }
    let key = FinalKey {
        layout,
        vk,
        params: srs.get(k)?,
    };
    let srs_label = srs.label();
    let code = verifier_bytecode(&key.params, &key.vk).context("generating the EVM verifier")?;
    let v = verify_final(&file, &a.proof, &config, &key, Some(&code))?;
    let native = v.native;
    let evm = v.evm == Some(true);
    let vk_sha = &v.vk_sha256;
    let vk_error = (!v.vk_matches).then(|| {
        format!(
            "the proof file's verifying key (sha256 {}) is not the one this verifier uses \
             (sha256 {vk_sha}, {vk_source})",
            v.file_vk_sha256
        )
    });
    let error = match (&vk_error, &v.evm_error) {
        (Some(e), Some(other)) => Some(format!("{e}; {other}")),
        (Some(e), None) => Some(e.clone()),
        (None, other) => other.clone(),
    };
    let s = v.settlement.as_ref();
    let t = &file.transition;
    let report = json!({
        "native": native,
        "evm": evm,
        "vk_matches": v.vk_matches,
        "gas": s.map(|s| s.verify_gas),
        "finalize_gas": s.map(|s| s.finalize_gas),
        "deposits": file.l1.deposits.len(),
        "deposit_gas": s.map(|s| s.deposit_gas),
        "withdrawals": file.l1.withdrawals.len(),
        "withdrawals_claimable": s.map(|s| s.withdrawals_claimable),
        "batch": file.batch,
        "batches": file.batches,
        "new_root": t.new_root,
        "transition_matches_instances": v.transition_matches_instances,
        "vk_sha256": vk_sha,
        "file_vk_sha256": v.file_vk_sha256,
        "vk_source": vk_source,
        "config": {
            "capacity": config.shape.capacity,
            "chain_id": config.shape.chain_id,
            "fan_ins": config.fan_ins(),
            "final_k": k,
        },
        "verifier_bytes": code.len(),
        "srs": srs_label,
        "srs_insecure": srs.is_insecure(),
        "l1": "replayed from the file",
        "error": error,
    });
    if a.json {
        println!("{report}");
    } else {
        println!(
            "native: {native}, evm: {evm}, vk: {}, gas: {}",
            if v.vk_matches { "matches" } else { "DIFFERS" },
            s.map_or("-".into(), |s| s.verify_gas.to_string())
        );
        println!("  verifying key {vk_sha} ({vk_source})");
        println!("  srs {srs_label}");
        println!("  l1 replayed from the file");
    }
    if let Some(e) = vk_error {
        return Err(anyhow!("refused: {e}"));
    }
    if native && evm {
        Ok(())
    } else {
        Err(anyhow!(
            "the proof does not verify (native: {native}, evm: {evm})"
        ))
    }
}
