//! # zklanes aggregator
//!
//! Folds chunk proofs into one proof that an EVM verifier contract checks.
//!
//! - [`node`]: one aggregation circuit (snark-verifier-sdk SHPLONK
//!   accumulation) over `fan_in` proofs with the same verifying key, pinned
//!   in the circuit (`VerifierUniversality::None`). On top of verifying them
//!   it constrains continuity (each proof's new root is the next one's
//!   previous root, one challenge for all) and folds their data
//!   commitments and evaluations (`zklanes_executor::commitments::fold`,
//!   computed in-circuit with [`zklanes_circuits::poseidon_gate`]). Its
//!   public inputs are the 12 accumulator limbs, then `[prev_root,
//!   new_root, P, x, y, xn, first_batch, last_batch]` of the folded
//!   transition: the same shape at every level, so layers compose.
//! - [`layer`]: the keys of one layer of the tree (generated from dummy
//!   proofs of the inner verifying key) and proving one node.
//! - [`tree`]: the whole tree: chunk proofs, padded with proofs of empty
//!   chunks (no padding flags anywhere), then every layer up to the final
//!   one, which uses the EVM transcript.
//!
//! The L1 side (the generated verifier, the Rollup contract) is the
//! `zklanes-l1` crate, above this one.

/// Digest of this crate's sources: cached aggregation keys are named by it.
pub const SOURCE_DIGEST: &str = env!("ZKLANES_SOURCE_DIGEST");

pub mod layer;
pub mod node;
pub mod tree;
pub mod verify;
