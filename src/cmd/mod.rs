//! Subcommands.

pub mod circuit_stats;
pub mod claim_proof;
pub mod demo;
pub mod execute;
pub mod exit_proof;
pub mod gen_batch;
pub mod progress;
pub mod prove;
pub mod reconstruct;
pub mod sequencer;
pub mod serve;
pub mod status;
pub mod timeline;
pub mod verify;
pub mod worker;

/// Reads the L1 logs at `paths` (as `zklanes reconstruct` writes them,
/// or an indexer) and merges them into one.
pub(crate) fn read_l1_logs(paths: &[std::path::PathBuf]) -> anyhow::Result<zklanes_l1::log::L1Log> {
    use anyhow::Context;
    let logs = paths
        .iter()
        .map(|p| zklanes_l1::log::L1Log::read(p))
        .collect::<Result<Vec<_>, _>>()?;
    zklanes_l1::log::L1Log::merge(logs)
        .context("merging the L1 logs")?
        .ok_or_else(|| anyhow::anyhow!("no L1 log given"))
}
