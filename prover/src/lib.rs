//! # zklanes prover
//!
//! Real KZG (BN254, SHPLONK) proofs of the chunk circuit:
//! - [`srs`]: the development SRS (deterministic, **insecure**, cached on
//!   disk) or Powers-of-Tau-derived `kzg_bn254_{k}.srs` files;
//! - [`chunk`]: chunk keys (generated once from an all-padding trace, so
//!   they depend only on the
//!   [`ChunkShape`](zklanes_circuits::chunk::ChunkShape)), proofs of executor traces, and
//!   their verification against the trace's public inputs.
//!
//! - [`cache`]: SRS params and proving keys cached on disk, named by a
//!   digest of the configuration, the circuit sources and the SRS;
//! - [`pool`]: the pool of prover workers (retries, verification of every
//!   proof, metrics spans).

pub mod cache;
pub mod chunk;
pub mod pool;
pub mod rss;
pub mod srs;
pub mod transcript;

/// Digest of this crate's sources and of the executor's and the circuits'
/// (`tools/source_digest.rs`): part of every cached chunk key's name.
pub const SOURCE_DIGEST: &str = env!("ZKLANES_SOURCE_DIGEST");
