//! `zklanes status`: what a data directory has committed.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use serde_json::json;
use zklanes_executor::field::fr_to_hex;
use zklanes_executor::{Rollup, RollupConfig};
use zklanes_pipeline::data_dir::DataDir;

/// Arguments of `status`.
#[derive(Args)]
pub struct StatusArgs {
    /// The data directory (as `prove`, `execute` and `serve` take it);
    /// its executor state is `DATA_DIR/state`.
    #[arg(long)]
    data_dir: PathBuf,
}

/// Runs `status`: prints one JSON object with `height`, `state_root` and the
/// root after every committed batch.
pub fn run(a: StatusArgs) -> Result<()> {
    let state = DataDir::new(&a.data_dir).state();
    if !state.exists() {
        anyhow::bail!(
            "{}: no executor state (nothing executed in this data directory)",
            state.display()
        );
    }
    let r = Rollup::open(&state, RollupConfig::default())
        .with_context(|| format!("opening {}", state.display()))?;
    let roots = (0..r.height())
        .map(|n| r.root_at(n).map(|root| root.map(|f| fr_to_hex(&f))))
        .collect::<Result<Vec<_>, _>>()?;
    println!(
        "{}",
        json!({"height": r.height(), "state_root": fr_to_hex(&r.root()), "next_deposit": r.state().next_deposit, "roots": roots})
    );
    Ok(())
}
