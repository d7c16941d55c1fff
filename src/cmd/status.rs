//! `zklanes status`: what a data directory has committed.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use serde_json::json;
use zklanes_executor::field::fr_to_hex;
use zklanes_executor::{Rollup, RollupConfig};

/// Arguments of `status`.
#[derive(Args)]
pub struct StatusArgs {
    /// The sled data directory.
    #[arg(long)]
    data_dir: PathBuf,
}

/// Runs `status`: prints one JSON object with `height`, `state_root` and the
/// root after every committed batch.
pub fn run(a: StatusArgs) -> Result<()> {
    let r = Rollup::open(&a.data_dir, RollupConfig::default())
        .with_context(|| format!("opening {}", a.data_dir.display()))?;
    let roots = (0..r.height())
        .map(|n| r.root_at(n).map(|root| root.map(|f| fr_to_hex(&f))))
        .collect::<Result<Vec<_>, _>>()?;
    println!(
        "{}",
        json!({"height": r.height(), "state_root": fr_to_hex(&r.root()), "next_deposit": r.state().next_deposit, "roots": roots})
    );
    Ok(())
}
