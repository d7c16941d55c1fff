//! # zklanes aggregator (not yet implemented)
//!
//! This crate will fold chunk proofs recursively (snark-verifier accumulation)
//! into one final proof checked by an EVM verifier contract. It depends on
//! `prover` and `circuits`.

pub use zklanes_prover::ChunkTrace;
