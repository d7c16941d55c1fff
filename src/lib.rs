//! # zklanes
//!
//! The pipeline library behind the `zklanes` binary: [`pipeline`] proves an
//! executed batch (chunk proofs on the worker pool, the aggregation tree,
//! the final EVM proof) and settles it through the Rollup contract in revm;
//! [`proof_file`] is the on-disk form of a final proof that `zklanes prove`
//! writes and `zklanes verify` checks; [`service`] is `zklanes serve`, the
//! batch pipeline service.

pub mod pipeline;
pub mod proof_file;
pub mod service;
