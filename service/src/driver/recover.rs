//! Recovery at startup and before each proof: the executor's state is
//! reconciled with the event log, root by root ([`open_state`]), and a
//! final proof written before a crash is found and checked
//! ([`final_on_disk`]) so that it is adopted instead of proven again.

use std::path::PathBuf;

use zklanes_executor::field::fr_to_hex;
use zklanes_executor::Rollup;
use zklanes_pipeline::batch_prover::BatchProver;
use zklanes_pipeline::proof_file::FinalProof;
use zklanes_pipeline::verify::verify_final;

use super::rollup_config;
use crate::config::DriverConfig;
use crate::error::DriverError;
use crate::event_log::{BatchRecord, Stage};
use crate::state::Shared;

/// Opens the executor's state and reconciles it with the log, comparing
/// the state root after every batch both hold, not only their heights:
///
/// - the same batches: the state is used as it is;
/// - the state behind the log (an older copy): the log's batches are
///   applied on top of it;
/// - the state one batch ahead, that batch being the log's next event (a
///   crash between the state's commit and the log's record): the state is
///   rebuilt from the log (it is all derived from the log);
/// - anything else (a root that differs, a state the log cannot explain,
///   such as one written by `zklanes execute` into this data directory):
///   startup is refused with [`DriverError::ForeignState`] and the state
///   is left as it is.
pub fn open_state(cfg: &DriverConfig, shared: &Shared) -> Result<Rollup, DriverError> {
    let dir = cfg.data_dir.state();
    let records = shared.log.records()?;
    let executed: Vec<&BatchRecord> = records.iter().take_while(|r| r.is_executed()).collect();
    for r in records.iter().filter(|r| r.stage == Stage::Parked) {
        shared.set_parked(r.batch, Some(r.last_failure.clone().unwrap_or_default()));
    }
    let logged = executed.len() as u64;
    let mut rollup = Rollup::open(&dir, rollup_config(cfg))?;
    let height = rollup.height();
    let foreign = |reason: String| DriverError::ForeignState {
        path: dir.display().to_string(),
        reason,
    };
    for (n, record) in executed
        .iter()
        .enumerate()
        .take(height.min(logged) as usize)
    {
        let root = rollup.root_at(n as u64)?.map(|f| fr_to_hex(&f));
        if root.as_deref() != record.state_root.as_deref() {
            return Err(foreign(format!(
                "its root after batch {n} is {}, the log's is {}",
                root.unwrap_or_default(),
                record.state_root.clone().unwrap_or_default()
            )));
        }
    }
    let event = |n: u64| {
        shared
            .log
            .event(n)?
            .ok_or_else(|| DriverError::Inconsistent {
                batch: n,
                reason: "executed batch missing from the log".into(),
            })
    };
    if height <= logged {
        if height < logged {
            tracing::warn!(
                stage = "recover",
                state_height = height,
                log_height = logged,
                "the executor state is behind the log: applying the logged batches"
            );
        }
        for n in height..logged {
            rollup.apply(&event(n)?)?;
        }
        return Ok(rollup);
    }
    if height != logged + 1 || shared.log.event(logged)?.is_none() {
        return Err(foreign(format!(
            "it holds {height} batches, the event log {logged}: the log cannot explain it"
        )));
    }
    tracing::warn!(
        stage = "recover",
        state_height = height,
        log_height = logged,
        "the executor state committed a batch the log had not recorded: rebuilding it from the log"
    );
    drop(rollup);
    let aside = dir.with_extension("rebuilding");
    let io = |path: &std::path::Path| {
        let path = path.display().to_string();
        move |source| DriverError::Io { path, source }
    };
    if aside.exists() {
        std::fs::remove_dir_all(&aside).map_err(io(&aside))?;
    }
    std::fs::rename(&dir, &aside).map_err(io(&dir))?;
    let mut rollup = Rollup::open(&dir, rollup_config(cfg))?;
    for n in 0..logged {
        rollup.apply(&event(n)?)?;
    }
    std::fs::remove_dir_all(&aside).map_err(io(&aside))?;
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
    let key = prover.final_key().map_err(|source| DriverError::Prove {
        batch: n,
        last: n,
        source,
    })?;
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
    if cfg
        .data_dir
        .ensure_calldata(&f, &path)
        .map_err(|source| DriverError::ProofFile { batch: n, source })?
    {
        tracing::info!(
            batch = n,
            stage = "recover",
            "finalize calldata regenerated"
        );
    }
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
    super::prove::commit(shared, &members)?;
    Ok(true)
}
