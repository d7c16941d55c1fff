//! # zklanes circuits (not yet implemented)
//!
//! This crate will hold the halo2 chunk circuit (KZG on BN254) that proves one
//! chunk's state transition from the executor's [`ChunkTrace`]: signatures,
//! nonces, balances, AMM math, Merkle updates and the five public inputs of
//! [`ChunkTrace::public_inputs`].
//!
//! Until it lands, it only re-exports the witness type it will consume, so
//! the workspace's dependency direction (`circuits → executor`) is fixed.

pub use zklanes_executor::trace::ChunkTrace;
