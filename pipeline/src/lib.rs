//! # zklanes pipeline
//!
//! The proving half of the pipeline, shared by the `zklanes` commands and
//! the service: what a batch's proofs look like, proving a batch into one
//! final proof, and the files a proof lives in.
//!
//! - [`config`]: [`config::ProofConfig`], the chunk circuit's shape and the
//!   aggregation tree above it.
//! - [`setup`]: where the SRS and keys come from, and the worker pool's size.
//! - [`batch_prover`]: [`batch_prover::BatchProver`] holds the SRS, every
//!   key and the chunk prover pool, and proves a batch (or a bundle of
//!   batches) into a final proof that it verifies before returning it.
//! - [`keys`]: the names of the cached keys and the final verifying key as
//!   this build derives it.
//! - [`data_dir`]: [`data_dir::DataDir`], the one owner of a data
//!   directory's layout, which writes a proof directory whole.
//! - [`proof_file`], [`vk_file`], [`hex`]: the on-disk forms of a final
//!   proof, of a verifying key and of field elements.
//! - [`verify`]: the one check of a final proof file, used by `zklanes
//!   verify` and by the service's recovery.
//!
//! Settling on L1 is the `zklanes-l1` crate; the executor, the circuits,
//! the prover pool and the aggregation tree are below this crate.

pub mod batch_prover;
pub mod config;
pub mod data_dir;
pub mod error;
pub mod hex;
pub mod keys;
pub mod proof_file;
pub mod setup;
pub mod verify;
pub mod vk_file;
