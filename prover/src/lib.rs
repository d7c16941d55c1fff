//! # zklanes prover
//!
//! Real KZG (BN254, SHPLONK) proofs of the chunk circuit:
//! - [`srs`]: the development SRS (deterministic, **insecure**);
//! - [`chunk`]: chunk keys (generated once from an all-padding trace, so
//!   they depend only on the [`ChunkShape`]), proofs of executor traces, and
//!   their verification against the trace's public inputs.
//!
//! The pool of prover workers, key caching on disk and Powers-of-Tau params
//! come with the aggregation issue.

pub mod chunk;
pub mod pool;
pub mod rss;
pub mod srs;
pub mod transcript;

pub use zklanes_circuits::chunk::ChunkShape;
pub use zklanes_circuits::ChunkTrace;
