//! # zklanes L1
//!
//! The settlement side: what Ethereum runs to accept a final proof, and a
//! revm chain to run it in (tests, `zklanes verify`, the demo).
//!
//! - [`verifier`]: the Solidity verifier of the final aggregation layer,
//!   generated from its verifying key, compiled with the pinned solc
//!   ([`solc`]) and run in revm.
//! - [`rollup`]: the Rollup contract (`contracts/ZklanesRollup.sol`), its
//!   constructor and the ABI of its functions; it settles batches, keeps
//!   the L1 queue (deposits and forced withdrawals), commits to each
//!   finalize's withdrawals by a keccak root, pays claims against it and
//!   runs exit mode.
//! - [`withdrawals`]: those withdrawal trees, from a finalized entry's
//!   data alone, and the proofs `claim` takes.
//! - [`poseidon`]: the executor's Poseidon as a generated Solidity contract
//!   (a new account's key hash, and the Merkle paths of exit mode).
//! - [`log`]: the L1 record an indexer reads (deposit events, finalized
//!   entries with their data words); [`reconstruct`]: the state rebuilt
//!   from it alone, its root checked against every finalized root.
//! - [`exit`]: exit proofs (a balance or LP shares and their Merkle paths
//!   in the final state) for the contract's exit mode.
//! - [`host`]: a minimal revm host; [`chain`]: a revm chain with the three
//!   contracts deployed; [`settle`]: settling a final proof on a fresh one.
//!
//! What a batch settles besides its proof (its public data, which carries
//! its deposits, withdrawals and forced withdrawals) is the executor's
//! [`zklanes_executor::l1::L1Batch`].

/// Digest of this crate's sources and every crate below it: the cached
/// verifier bytecode is named by it.
pub const SOURCE_DIGEST: &str = env!("ZKLANES_SOURCE_DIGEST");

pub mod chain;
pub mod error;
pub mod exit;
pub mod host;
pub mod log;
pub mod poseidon;
pub mod reconstruct;
pub mod rollup;
pub mod settle;
pub mod solc;
pub mod verifier;
pub mod withdrawals;
