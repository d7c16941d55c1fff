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
pub mod verify;
