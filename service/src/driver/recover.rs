//! Recovery at startup and before each proof: the executor's state is
//! rebuilt from the event log when the two disagree ([`open_state`]), and a
//! final proof written before a crash is found and checked
//! ([`final_on_disk`]) so that it is adopted instead of proven again.

use std::path::PathBuf;

use zklanes_executor::Rollup;
use zklanes_pipeline::batch_prover::BatchProver;
use zklanes_pipeline::proof_file::FinalProof;
use zklanes_pipeline::verify::verify_final;

use super::rollup_config;
use crate::config::DriverConfig;
use crate::error::DriverError;
use crate::event_log::{BatchRecord, Stage};
use crate::state::Shared;

/// Opens the executor's state, rebuilt from the log when it does not match
/// it (the state committed a batch whose record was not yet written).
pub fn open_state(cfg: &DriverConfig, shared: &Shared) -> Result<Rollup, DriverError> {
    let dir = cfg.data_dir.state();
    let records = shared.log.records()?;
    let executed = records
        .iter()
        .take_while(|r| matches!(r.stage, Stage::Executed | Stage::Proven))
        .count() as u64;
    let rollup = Rollup::open(&dir, rollup_config(cfg))?;
    if rollup.height() == executed {
        return Ok(rollup);
    }
    tracing::warn!(
        stage = "recover",
        state_height = rollup.height(),
        log_height = executed,
        "executor state and event log disagree: rebuilding the state from the log"
    );
    drop(rollup);
    std::fs::remove_dir_all(&dir).map_err(|source| DriverError::Io {
        path: dir.display().to_string(),
        source,
    })?;
    let mut rollup = Rollup::open(&dir, rollup_config(cfg))?;
    for n in 0..executed {
        let batch = shared
            .log
            .event(n)?
            .ok_or_else(|| DriverError::Inconsistent {
                batch: n,
                reason: "executed batch missing from the log".into(),
            })?;
        rollup.apply(&batch)?;
    }
    Ok(rollup)
}

/// A final proof on disk whose bundle covers batch `n` (written before a
/// crash), if one passes [`verify_final`] under this prover's key and
/// configuration and ends at its last batch's recorded root; with the
/// records of its batches.
pub fn final_on_disk(
    cfg: &DriverConfig,
    prover: &BatchProver,
    shared: &Shared,
    n: u64,
) -> Result<Option<(PathBuf, FinalProof, Vec<BatchRecord>)>, DriverError> {
    let key = prover
        .final_key()
        .map_err(|source| DriverError::Prove { batch: n, source })?;
    'files: for path in cfg.data_dir.final_proofs() {
        let Ok(f) = FinalProof::read(&path) else {
            continue;
        };
        if !(f.batch <= n && n < f.batch + f.batches.max(1)) {
            continue;
        }
        let mut members = vec![];
        for m in f.batch..f.batch + f.batches.max(1) {
            match shared.log.record(m)? {
                Some(r) if matches!(r.stage, Stage::Executed | Stage::Proven) => members.push(r),
                _ => continue 'files,
            }
        }
        let last_root = members.last().and_then(|r| r.state_root.clone());
        let verified = last_root.as_deref() == Some(f.transition.new_root.as_str())
            && verify_final(&f, &path, &cfg.proof, &key, None).is_ok_and(|v| v.accepted());
        if verified {
            return Ok(Some((path, f, members)));
        }
    }
    Ok(None)
}

/// Adopts the final proof on disk that covers batch `n`, if there is one:
/// every batch of its bundle becomes `Proven` (exactly one final proof per
/// batch). Returns whether it did.
pub fn adopt(
    cfg: &DriverConfig,
    prover: &BatchProver,
    shared: &Shared,
    n: u64,
) -> Result<bool, DriverError> {
    let Some((path, f, mut members)) = final_on_disk(cfg, prover, shared, n)? else {
        return Ok(false);
    };
    let bundle = [f.batch, f.batch + f.batches.max(1) - 1];
    tracing::info!(
        batch = n,
        stage = "recover",
        bundle = ?bundle,
        "final proof on disk adopted"
    );
    for r in &mut members {
        r.stage = Stage::Proven;
        r.commitments = Some(f.transition.clone());
        r.proof = Some(path.display().to_string());
        r.bundle = Some(bundle);
    }
    shared.log.put_all(&members)?;
    Ok(true)
}
