//! `zklanes sequencer`: the sequencer's batch-signing key (what
//! `serve --sequencer-key` checks): make one, print its address, sign a
//! batch file.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use zklanes_executor::Batch;
use zklanes_service::sequencer::SequencerSecret;
use zklanes_service::watch::signature_file;

/// Arguments of `sequencer`.
#[derive(Args)]
pub struct SequencerArgs {
    #[command(subcommand)]
    command: SequencerCommand,
}

#[derive(Subcommand)]
enum SequencerCommand {
    /// Write a new random key to a new file (mode 0600) and print its address.
    NewKey {
        /// The key file to create.
        #[arg(long)]
        out: PathBuf,
    },
    /// Print a key's address (what `serve --sequencer-key` takes).
    Address {
        /// The key file.
        #[arg(long)]
        key: PathBuf,
    },
    /// Sign a batch file: print the signature (the `Zklanes-Signature`
    /// header's value), or write it to `BATCH.sig` for a watched folder.
    Sign {
        /// The key file.
        #[arg(long)]
        key: PathBuf,
        /// The batch file (JSON or binary).
        #[arg(long)]
        batch: PathBuf,
        /// Write `BATCH.sig` beside the batch instead of printing.
        #[arg(long)]
        sidecar: bool,
    },
}

/// Runs `sequencer`.
pub fn run(a: SequencerArgs) -> Result<()> {
    match a.command {
        SequencerCommand::NewKey { out } => {
            let key = SequencerSecret::generate();
            key.write_new(&out)?;
            println!("{}", key.public());
        }
        SequencerCommand::Address { key } => {
            println!("{}", SequencerSecret::read(&key)?.public());
        }
        SequencerCommand::Sign {
            key,
            batch,
            sidecar,
        } => {
            let key = SequencerSecret::read(&key)?;
            let bytes =
                std::fs::read(&batch).with_context(|| format!("reading {}", batch.display()))?;
            let b = Batch::decode(&bytes).with_context(|| format!("{}", batch.display()))?;
            let sig = key.sign(&b);
            if sidecar {
                // Written whole, then renamed: a watcher never reads half.
                let path = signature_file(&batch);
                let name = path.file_name().unwrap_or_default().to_string_lossy();
                let tmp = path.with_file_name(format!(".{name}.tmp"));
                std::fs::write(&tmp, format!("{sig}\n"))
                    .and_then(|_| std::fs::rename(&tmp, &path))
                    .with_context(|| format!("writing {}", path.display()))?;
            } else {
                println!("{sig}");
            }
        }
    }
    Ok(())
}
