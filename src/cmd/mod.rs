//! Subcommands.

pub mod circuit_stats;
pub mod demo;
pub mod execute;
pub mod gen_batch;
pub mod status;
