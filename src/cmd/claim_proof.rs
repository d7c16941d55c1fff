//! `zklanes claim-proof`: the proof of a finalized withdrawal that the
//! Rollup contract's `claim` takes (the leaf's fields and its path in the
//! finalize's withdrawal tree), built from the L1 record alone (the
//! finalized entry's data words), so a user claims without the operator.

use std::path::PathBuf;

use anyhow::{anyhow, bail, Context, Result};
use clap::Args;
use serde_json::json;
use zklanes_l1::rollup::claim_calldata;
use zklanes_l1::withdrawals::WithdrawalTree;

/// Arguments of `claim-proof`.
#[derive(Args)]
pub struct ClaimProofArgs {
    /// L1 log files (JSON: chain id, genesis root, deposit events and
    /// finalized entries with their data words), merged as `reconstruct`
    /// merges them.
    #[arg(long = "l1-data", required = true, num_args = 1..)]
    l1_data: Vec<PathBuf>,
    /// A batch of the finalized entry that made the withdrawal (its first
    /// batch, or any batch of a bundle: the tree is the entry's).
    #[arg(long)]
    batch: u64,
    /// The withdrawal's index among the entry's withdrawals (signed and
    /// forced, in data order).
    #[arg(long)]
    index: usize,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

/// Runs `claim-proof`: finds the finalized entry holding the batch, builds
/// its withdrawal tree from its data, checks the leaf's proof against the
/// root natively and prints the leaf, the proof and the calldata.
pub fn run(a: ClaimProofArgs) -> Result<()> {
    let log = super::read_l1_logs(&a.l1_data)?;
    let entry = log
        .batches
        .iter()
        .find(|b| b.first_batch <= a.batch && a.batch <= b.last_batch())
        .ok_or_else(|| anyhow!("no finalized entry in the L1 log holds batch {}", a.batch))?;
    let tree = WithdrawalTree::from_words(&entry.data)
        .with_context(|| format!("the data of the entry from batch {}", entry.first_batch))?;
    let proof = tree
        .proof(a.index)
        .with_context(|| format!("the entry from batch {}", entry.first_batch))?;
    let root = tree.root().expect("a tree with a leaf has a root");
    if proof.root() != root {
        bail!("the proof does not hash up to the tree's root");
    }
    let w = proof.withdrawal;
    let hex = |b: &[u8]| format!("0x{}", hex::encode(b));
    let out = json!({
        "function": "claim",
        "first_batch": entry.first_batch,
        "index": proof.index,
        "to": hex(&w.to),
        "asset": w.asset,
        "amount": w.amount.to_string(),
        "proof": proof.siblings.iter().map(|s| hex(s)).collect::<Vec<_>>(),
        "root": hex(&root),
        "count": tree.len(),
        "calldata": hex(&claim_calldata(entry.first_batch, &proof)),
    });
    if a.json {
        println!("{out}");
        return Ok(());
    }
    println!(
        "withdrawal {} of {} in the entry from batch {}: {} of asset {} to {}",
        proof.index,
        tree.len(),
        entry.first_batch,
        w.amount,
        w.asset,
        hex(&w.to)
    );
    if w.amount == 0 {
        println!("amount 0 (a forced withdrawal of an empty balance): the contract refuses to pay it (nothing to claim)");
    }
    println!(
        "root {} (WithdrawalsFinalized; L1 stores its top 224 bits); send `claim` from {}:",
        hex(&root),
        hex(&w.to)
    );
    println!(
        "{}",
        serde_json::to_string_pretty(&out).context("encoding the proof")?
    );
    Ok(())
}
