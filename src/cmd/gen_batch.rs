//! `zklanes gen-batch`: a signed synthetic batch.

use std::path::PathBuf;

use anyhow::{anyhow, Context, Result};
use clap::Args;
use zklanes_executor::batch::Encoding;
use zklanes_executor::genbatch::{generate, GenConfig, Workload};
use zklanes_executor::params::DEFAULT_CHAIN_ID;

/// Arguments of `gen-batch`.
#[derive(Args)]
pub struct GenBatchArgs {
    /// transfers | hot-swaps | spread-swaps | mixed
    #[arg(long)]
    workload: String,
    /// Workload transactions (the genesis comes on top).
    #[arg(long, default_value_t = 1000)]
    txs: usize,
    /// Accounts.
    #[arg(long, default_value_t = 1000)]
    accounts: u32,
    /// Seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Chain id.
    #[arg(long, default_value_t = DEFAULT_CHAIN_ID)]
    chain_id: u32,
    /// Output file.
    #[arg(long)]
    out: PathBuf,
    /// json | bin
    #[arg(long, default_value = "bin")]
    format: String,
}

/// Runs `gen-batch`.
pub fn run(a: GenBatchArgs) -> Result<()> {
    let workload = Workload::parse(&a.workload).ok_or_else(|| {
        anyhow!(
            "unknown workload {:?}: use transfers, hot-swaps, spread-swaps or mixed",
            a.workload
        )
    })?;
    if a.accounts < 2 {
        return Err(anyhow!("--accounts must be at least 2"));
    }
    let enc = match a.format.as_str() {
        "json" => Encoding::Json,
        "bin" => Encoding::Binary,
        f => return Err(anyhow!("unknown format {f:?}: use json or bin")),
    };
    let cfg = GenConfig {
        workload,
        txs: a.txs,
        accounts: a.accounts,
        seed: a.seed,
        chain_id: a.chain_id,
        sign: true,
    };
    let generated = generate(&cfg);
    let genesis = generated.genesis.len();
    let batch = generated.into_batch(a.chain_id);
    std::fs::write(&a.out, batch.encode(enc))
        .with_context(|| format!("writing {}", a.out.display()))?;
    eprintln!(
        "wrote {} ({} genesis + {} workload transactions, {} accounts)",
        a.out.display(),
        genesis,
        batch.txs.len() - genesis,
        a.accounts
    );
    Ok(())
}
