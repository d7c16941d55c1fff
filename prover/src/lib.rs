//! # zklanes prover (not yet implemented)
//!
//! This crate will hold the pool of prover workers that prove chunks
//! concurrently, manage SRS params and proving keys, and verify every proof
//! before accepting it. It depends on `circuits` only.

pub use zklanes_circuits::ChunkTrace;
