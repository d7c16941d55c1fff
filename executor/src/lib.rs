//! # zklanes executor
//!
//! The first stage of the zklanes pipeline: it takes a sequencer's batch of
//! signed DeFi transactions and produces the new state and one execution
//! trace (circuit witness) per chunk.
//!
//! ```text
//!  Batch ──► static checks ──► batch signature verification ──► parallel execution
//!  (batch)    (exec)            (signature)                      (exec::parallel)
//!                                                                      │ receipts + state diff
//!                                                                      ▼
//!          sled store ◄── persist ◄── chunk traces ◄── Merkle paths (smt, parallel)
//!           (store)                   (trace, commitments)
//! ```
//!
//! - One hash: the Poseidon compression of [`poseidon`] over BN254 Fr.
//! - One tree: [`smt`], depth 32, leaves described in [`state`].
//! - One semantics: [`exec::apply::apply_tx`], run by the sequential reference
//!   ([`exec::sequential`]) and the parallel engine ([`exec::parallel`]),
//!   which agree bit for bit for any thread count.
//! - A batch is valid or rejected whole, with a typed [`error::BatchError`].
//! - [`rollup::Rollup`] ties state, tree and store together.
//! - [`l1::L1Batch`] is what L1 needs of a batch besides its proof: its
//!   public data (bound to the proof by [`commitments`]), with the deposits
//!   and withdrawals the data carries.

pub mod amm;
pub mod batch;
pub mod commitments;
pub mod db;
pub mod error;
pub mod exec;
pub mod field;
pub mod genbatch;
pub mod l1;
pub mod pack;
pub mod params;
pub mod poseidon;
pub mod rollup;
pub mod signature;
pub mod smt;
pub mod state;
pub mod store;
pub mod trace;
pub mod tx;

pub use batch::Batch;
pub use error::{BatchError, StoreError, TxError};
pub use rollup::{BatchOutcome, Rollup, RollupConfig};
