//! `zklanes verify`: checks a final proof file natively (the proof and the
//! KZG accumulator of every proof below it) and in the EVM (the verifier
//! generated from the file's verifying key, compiled with the pinned solc,
//! then the Rollup contract's `finalize`), and reports the gas. Exits
//! non-zero when either check fails.

use std::path::PathBuf;

use anyhow::{anyhow, Context, Result};
use clap::Args;
use serde_json::json;
use sha2::{Digest, Sha256};
use zklanes::pipeline::settle;
use zklanes::proof_file::{fr_from_hex, FinalProof};
use zklanes_aggregator::evm::verifier_bytecode;
use zklanes_aggregator::layer::layer_protocol;
use zklanes_aggregator::node::ACCUMULATOR_LIMBS;
use zklanes_aggregator::verify::verify_aggregation;
use zklanes_circuits::field::to_native;
use zklanes_prover::cache::KeyCache;
use zklanes_prover::srs::{SrsSet, SrsSource};

/// Arguments of `verify`.
#[derive(Args)]
pub struct VerifyArgs {
    /// The final proof file (`final.json` from `zklanes prove`).
    #[arg(long)]
    proof: PathBuf,
    /// Powers-of-Tau-derived params (default: the development SRS).
    #[arg(long)]
    params_dir: Option<PathBuf>,
    /// Cache of the development SRS (default: the demo's cache).
    #[arg(long)]
    cache_dir: Option<PathBuf>,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

/// Runs `verify`.
pub fn run(a: VerifyArgs) -> Result<()> {
    let file = FinalProof::read(&a.proof)?;
    let instances = file.instances_fr(&a.proof)?;
    let proof = file.proof_bytes(&a.proof)?;
    let vk = file.verifying_key(&a.proof)?;
    let k = file.config.final_k();
    let srs = match &a.params_dir {
        Some(d) => SrsSet::new(SrsSource::Files(d.clone())),
        None => {
            let dir = a
                .cache_dir
                .clone()
                .unwrap_or_else(super::demo::default_cache_dir);
            SrsSet::new(SrsSource::Development(Some(KeyCache::new(dir)?)))
        }
    };
    let params = srs.get(k)?;
    // The transition in the file is the one the proof exposes.
    let t = &file.transition;
    let claimed = [
        &t.prev_root,
        &t.new_root,
        &t.pubdata,
        &t.deposits,
        &t.withdrawals,
    ];
    let consistent = instances.len() == ACCUMULATOR_LIMBS + claimed.len()
        && claimed
            .iter()
            .zip(&instances[ACCUMULATOR_LIMBS..])
            .all(|(h, f)| fr_from_hex(h) == Some(*f));
    let protocol = layer_protocol(&params, &vk);
    let native = consistent && verify_aggregation(&params, &protocol, &instances, &proof, true);
    let code = verifier_bytecode(&params, &vk).context("generating the EVM verifier")?;
    let prev_root = to_native(&instances[ACCUMULATOR_LIMBS]);
    let (evm, gas, finalize_gas, error) = match settle(&code, &prev_root, &instances, &proof) {
        Ok(s) => (
            s.state_root == t.new_root,
            Some(s.verify_gas),
            Some(s.finalize_gas),
            None,
        ),
        Err(e) => (false, None, None, Some(e.to_string())),
    };
    let vk_bytes = hex::decode(file.vk.trim_start_matches("0x"))?;
    let report = json!({
        "native": native,
        "evm": evm,
        "gas": gas,
        "finalize_gas": finalize_gas,
        "batch": file.batch,
        "new_root": t.new_root,
        "transition_matches_instances": consistent,
        "vk_sha256": format!("0x{}", hex::encode(Sha256::digest(&vk_bytes))),
        "verifier_bytes": code.len(),
        "srs": file.srs,
        "error": error,
    });
    if a.json {
        println!("{report}");
    } else {
        println!(
            "native: {native}, evm: {evm}, gas: {}",
            gas.map_or("-".into(), |g| g.to_string())
        );
    }
    if native && evm {
        Ok(())
    } else {
        Err(anyhow!(
            "the proof does not verify (native: {native}, evm: {evm})"
        ))
    }
}
