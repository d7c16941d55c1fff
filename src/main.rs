//! The `zklanes` binary: the pipeline's command-line interface.

mod bench;
mod cmd;

use anyhow::Result;
use clap::{Parser, Subcommand};

/// zklanes: a zk-rollup prover pipeline for DeFi.
#[derive(Parser)]
#[command(name = "zklanes", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the pipeline end to end on an embedded default batch.
    Demo(cmd::demo::DemoArgs),
    /// Execute a batch into a data directory and prove it (chunk proofs,
    /// aggregation, final EVM proof).
    Prove(cmd::prove::ProveArgs),
    /// Verify a final proof file natively and in the EVM.
    Verify(cmd::verify::VerifyArgs),
    /// The batch pipeline service (HTTP and watched-folder ingest).
    Serve(cmd::serve::ServeArgs),
    /// The sequencer's batch-signing key: new key, address, sign a batch.
    Sequencer(cmd::sequencer::SequencerArgs),
    /// Write a signed synthetic batch (genesis deposits first).
    GenBatch(cmd::gen_batch::GenBatchArgs),
    /// Execute a batch and print its state root and metrics.
    Execute(cmd::execute::ExecuteArgs),
    /// Advice and lookup cells per transaction type and for the chunk.
    CircuitStats(cmd::circuit_stats::CircuitStatsArgs),
    /// Print the committed height and state roots of a data directory.
    Status(cmd::status::StatusArgs),
    /// Rebuild the rollup state from the L1 record alone (deposit events and
    /// the data of finalized batches) and check it against every L1 root.
    Reconstruct(cmd::reconstruct::ReconstructArgs),
    /// The Merkle proof of an account's balance (or LP shares) against the
    /// last finalized root, rebuilt from the L1 record: what `exit` (or
    /// `exitLiquidity`) takes in the Rollup contract's exit mode.
    ExitProof(cmd::exit_proof::ExitProofArgs),
    /// The proof of a finalized withdrawal (its leaf and path in the
    /// finalize's withdrawal tree), from the L1 record: what `claim` takes.
    ClaimProof(cmd::claim_proof::ClaimProofArgs),
    /// A prover worker on the PostgreSQL job queue (`serve --queue`): claims
    /// proof jobs, proves them, submits them fenced and verified.
    Worker(cmd::worker::WorkerArgs),
    /// Draw a batch's proof jobs over time, one lane per worker (SVG), from
    /// the job queue's records.
    Timeline(cmd::timeline::TimelineArgs),
    /// Benchmarks.
    Bench(bench::BenchArgs),
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let (json, default) = match &cli.command {
        Command::Serve(a) => (a.log_format == "json", "info"),
        Command::Worker(a) => (a.log_format == "json", "info"),
        _ => (false, "warn"),
    };
    let filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| default.into());
    let fmt = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        fmt.json().flatten_event(true).init();
    } else {
        fmt.init();
    }
    match cli.command {
        Command::Demo(a) => cmd::demo::run(a),
        Command::Prove(a) => cmd::prove::run(a),
        Command::Verify(a) => cmd::verify::run(a),
        Command::Serve(a) => cmd::serve::run(a),
        Command::Sequencer(a) => cmd::sequencer::run(a),
        Command::GenBatch(a) => cmd::gen_batch::run(a),
        Command::Execute(a) => cmd::execute::run(a),
        Command::Status(a) => cmd::status::run(a),
        Command::Reconstruct(a) => cmd::reconstruct::run(a),
        Command::ExitProof(a) => cmd::exit_proof::run(a),
        Command::ClaimProof(a) => cmd::claim_proof::run(a),
        Command::CircuitStats(a) => cmd::circuit_stats::run(a),
        Command::Worker(a) => cmd::worker::run(a),
        Command::Timeline(a) => cmd::timeline::run(a),
        Command::Bench(a) => bench::run(a),
    }
}
