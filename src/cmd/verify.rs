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
    let settled = settle(
        &code,
        file.batch,
        file.batches,
        &file.config.fan_ins(),
        &instances,
        &proof,
        &file.l1,
    );
    let (evm, error) = match &settled {
        Ok(s) if s.state_root != t.new_root => (false, Some("the L1 root differs".to_string())),
        Ok(s) if !s.withdrawals_claimable => (false, Some("withdrawals not claimable".into())),
        Ok(_) => (true, None),
        Err(e) => (false, Some(e.to_string())),
    };
    let s = settled.as_ref().ok();
    let vk_bytes = hex::decode(file.vk.trim_start_matches("0x"))?;
    let report = json!({
        "native": native,
        "evm": evm,
        "gas": s.map(|s| s.verify_gas),
        "finalize_gas": s.map(|s| s.finalize_gas),
        "deposits": file.l1.deposits.len(),
        "deposit_gas": s.map(|s| s.deposit_gas),
        "withdrawals": file.l1.withdrawals.len(),
        "withdrawals_claimable": s.map(|s| s.withdrawals_claimable),
        "batch": file.batch,
        "batches": file.batches,
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
            s.map_or("-".into(), |s| s.verify_gas.to_string())
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
