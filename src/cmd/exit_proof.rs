//! `zklanes exit-proof`: the Merkle proof a user sends the Rollup contract
//! in exit mode (`exit`, or `exitLiquidity` for LP shares), built from the
//! state rebuilt from the L1 record alone.

use std::path::PathBuf;

use anyhow::{anyhow, Context, Result};
use clap::Args;
use serde_json::{json, Value};
use zklanes_executor::field::fr_to_hex;
use zklanes_l1::exit::{AnyExitProof, ExitError};
use zklanes_l1::reconstruct::reconstruct;

/// Arguments of `exit-proof`.
#[derive(Args)]
pub struct ExitProofArgs {
    /// L1 log files (JSON: chain id, genesis root, deposit events and
    /// finalized entries with their data words), merged as `reconstruct`
    /// merges them. Every finalized entry must rebuild to its L1 root.
    #[arg(long = "l1-data", required = true, num_args = 1..)]
    l1_data: Vec<PathBuf>,
    /// The account whose asset exits.
    #[arg(long)]
    account: u32,
    /// A plain token id (`1..=2047`: the contract's `exit`), or the LP
    /// asset `2048 + pool` (its shares: `exitLiquidity`).
    #[arg(long)]
    asset: u32,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

/// Runs `exit-proof`: rebuilds the state from the L1 logs (every root
/// checked), builds the proof of the account's asset against the last
/// finalized root, checks it natively and prints it with its calldata.
pub fn run(a: ExitProofArgs) -> Result<()> {
    let log = super::read_l1_logs(&a.l1_data)?;
    let rebuilt = reconstruct(&log).context("the L1 data does not rebuild the roots L1 holds")?;
    let proof = match AnyExitProof::new(&rebuilt.state, &rebuilt.tree, a.account, a.asset) {
        Ok(p) => p,
        Err(e @ ExitError::NoBalance { .. }) => {
            // Say so when a forced withdrawal emptied it: the funds wait
            // on L1 for the owner's claim, not in the rollup.
            let hint = rebuilt
                .forced_withdrawal(a.account, a.asset)
                .map(|f| {
                    format!(
                        " (its last forced withdrawal, L1 queue index {}, moved {} to its L1 owner 0x{}: a leaf of that batch's withdrawal tree, which `claim` on L1 pays with the proof `zklanes claim-proof` prints)",
                        f.queue_index,
                        f.amount,
                        hex::encode(f.l1_owner),
                    )
                })
                .unwrap_or_default();
            return Err(anyhow!(
                "account {} asset {}: {e}{hint}",
                a.account,
                a.asset
            ));
        }
        Err(e) => {
            return Err(e).with_context(|| format!("account {} asset {}", a.account, a.asset))
        }
    };
    proof.verify().context("the proof does not verify")?;
    let (function, root) = match &proof {
        AnyExitProof::Balance(p) => ("exit", p.root),
        AnyExitProof::Liquidity(p) => ("exitLiquidity", p.root),
    };
    if root != rebuilt.root {
        return Err(anyhow!("the proof's root is not the rebuilt root"));
    }
    let calldata = format!("0x{}", hex::encode(proof.calldata()));
    let mut out = serde_json::to_value(&proof).context("encoding the proof")?;
    if let Value::Object(fields) = &mut out {
        fields.insert("function".into(), json!(function));
        fields.insert("batches".into(), json!(rebuilt.batches()));
        fields.insert("calldata".into(), json!(calldata));
    }
    if a.json {
        println!("{out}");
        return Ok(());
    }
    match &proof {
        AnyExitProof::Balance(p) => println!(
            "account {} holds {} of asset {} (leaf {}) in the state after {} batches",
            p.account,
            p.balance,
            p.asset,
            p.leaf_index,
            rebuilt.batches()
        ),
        AnyExitProof::Liquidity(p) => println!(
            "account {} holds {} shares of pool {} (leaf {}): exits as {} of token {} and {} of token {}",
            p.account,
            p.shares,
            p.pool,
            p.share_leaf_index,
            p.amount_a,
            p.pool_leaf.token_a,
            p.amount_b,
            p.pool_leaf.token_b
        ),
    }
    println!(
        "root {} (the last finalized root; every root checked)",
        fr_to_hex(&root)
    );
    println!("proof:");
    println!(
        "{}",
        serde_json::to_string_pretty(&out).context("encoding the proof")?
    );
    Ok(())
}
