//! `zklanes reconstruct`: the rollup state rebuilt from the L1 record alone
//! (deposit events and the data of finalized batches), every finalized
//! root checked.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{anyhow, Context, Result};
use clap::Args;
use serde_json::{json, Value};
use zklanes_executor::field::fr_to_hex;
use zklanes_l1::log::L1Log;
use zklanes_l1::reconstruct::{BatchCheck, ReconstructError, Reconstructed, Reconstructor};

/// Arguments of `reconstruct`.
#[derive(Args)]
pub struct ReconstructArgs {
    /// L1 log files (JSON: chain id, genesis root, deposit events and
    /// finalized entries with their data words). Several files of one chain
    /// are merged (entries and deposits by number, duplicates once).
    #[arg(long = "l1-data", required = true, num_args = 1..)]
    l1_data: Vec<PathBuf>,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

/// One input file and the entries it holds.
struct FileSummary {
    path: PathBuf,
    deposits: usize,
    /// First batch numbers of its entries.
    entries: Vec<u64>,
}

fn check_json(c: &BatchCheck) -> Value {
    json!({
        "first_batch": c.batches.first,
        "last_batch": c.batches.last,
        "txs": c.txs,
        "words": c.words,
        "deposits": c.deposits,
        "forced_withdrawals": c.forced_withdrawals,
        "root": fr_to_hex(&c.root),
        "matches": true,
    })
}

/// Runs `reconstruct`: rebuilds the state, prints the root, the counts and
/// the root check of every finalized entry and file; fails on any mismatch.
pub fn run(a: ReconstructArgs) -> Result<()> {
    let mut logs = Vec::with_capacity(a.l1_data.len());
    let mut files = Vec::with_capacity(a.l1_data.len());
    for path in &a.l1_data {
        let log = L1Log::read(path)?;
        files.push(FileSummary {
            path: path.clone(),
            deposits: log.deposits.len(),
            entries: log.batches.iter().map(|b| b.first_batch).collect(),
        });
        logs.push(log);
    }
    let log = L1Log::merge(logs)
        .context("merging the L1 logs")?
        .ok_or_else(|| anyhow!("no L1 log given"))?;

    let (rec, error) = rebuild(&log);
    let checked: BTreeMap<u64, &BatchCheck> = rec
        .as_ref()
        .map(|r| r.checks.iter().map(|c| (c.batches.first, c)).collect())
        .unwrap_or_default();
    let file_json: Vec<Value> = files
        .iter()
        .map(|f| {
            let matched = f.entries.iter().filter(|b| checked.contains_key(b)).count();
            // The root after the last of its entries that matched.
            let last = f
                .entries
                .iter()
                .filter_map(|b| checked.get(b))
                .max_by_key(|c| c.batches.first);
            json!({
                "path": f.path.display().to_string(),
                "deposits": f.deposits,
                "entries": f.entries.len(),
                "entries_matched": matched,
                "root": last.map(|c| fr_to_hex(&c.root)),
                "roots_match": matched == f.entries.len(),
            })
        })
        .collect();
    let roots_match = error.is_none();
    let report = json!({
        "chain_id": log.chain_id,
        "root": rec.as_ref().map(|r| fr_to_hex(&r.root)),
        "accounts": rec.as_ref().map_or(0, Reconstructed::accounts),
        "balances": rec.as_ref().map_or(0, Reconstructed::balances),
        "pools": rec.as_ref().map_or(0, Reconstructed::pools),
        "batches": rec.as_ref().map_or(0, Reconstructed::batches),
        "entries": log.batches.len(),
        "txs": rec.as_ref().map_or(0, Reconstructed::txs),
        "deposits_consumed": rec.as_ref().map_or(0, Reconstructed::deposits_consumed),
        "forced_withdrawals": rec.as_ref().map_or(0, Reconstructed::forced_withdrawals),
        "deposits_pending": rec.as_ref().map_or(0, |r| r.pending_deposits.len()),
        "roots_match": roots_match,
        "checks": checked.values().map(|c| check_json(c)).collect::<Vec<_>>(),
        "files": file_json,
        "error": error.as_ref().map(ToString::to_string),
    });
    if a.json {
        println!("{report}");
    } else {
        print_text(&rec, &files, &checked);
    }
    match error {
        None => Ok(()),
        Some(e) => Err(anyhow!(
            "the L1 data does not rebuild the roots L1 holds: {e}"
        )),
    }
}

/// Rebuilds as far as the log goes: the state after the last good entry
/// (none when the log's start is refused) and the first error.
fn rebuild(log: &L1Log) -> (Option<Reconstructed>, Option<ReconstructError>) {
    let mut r = match Reconstructor::from_log(log) {
        Ok(r) => r,
        Err(e) => return (None, Some(e)),
    };
    for (i, b) in log.batches.iter().enumerate() {
        if let Err(e) = r.apply(i, b) {
            return (Some(r.finish()), Some(e));
        }
    }
    (Some(r.finish()), None)
}

fn print_text(
    rec: &Option<Reconstructed>,
    files: &[FileSummary],
    checked: &BTreeMap<u64, &BatchCheck>,
) {
    for c in checked.values() {
        println!(
            "{}: {} txs, {} deposits, {} forced withdrawals, root {} matches",
            c.batches,
            c.txs,
            c.deposits,
            c.forced_withdrawals,
            fr_to_hex(&c.root)
        );
    }
    for f in files {
        let matched = f.entries.iter().filter(|b| checked.contains_key(b)).count();
        println!(
            "{}: {} L1 queue events (deposits, forced withdrawals), {}/{} finalized entries match",
            f.path.display(),
            f.deposits,
            matched,
            f.entries.len()
        );
    }
    if let Some(r) = rec {
        println!(
            "root {} after {} batches ({} txs): {} accounts, {} balances, {} pools, {} L1 queue operations consumed ({} forced withdrawals), {} pending",
            fr_to_hex(&r.root),
            r.batches(),
            r.txs(),
            r.accounts(),
            r.balances(),
            r.pools(),
            r.deposits_consumed(),
            r.forced_withdrawals(),
            r.pending_deposits.len()
        );
    }
}
