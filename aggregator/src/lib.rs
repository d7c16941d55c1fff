//! # zklanes aggregator
//!
//! Folds chunk proofs into one proof that an EVM verifier contract checks.
//!
//! - [`node`]: one aggregation circuit (snark-verifier-sdk SHPLONK
//!   accumulation) over `fan_in` proofs with the same verifying key, pinned
//!   in the circuit (`VerifierUniversality::None`). On top of verifying them
//!   it constrains continuity (each proof's new root is the next one's
//!   previous root) and folds their commitments
//!   (`zklanes_executor::commitments::fold`, computed in-circuit with
//!   [`zklanes_circuits::poseidon_gate`]). Its public inputs are the 12
//!   accumulator limbs, then `[prev_root, new_root, pubdata, deposits,
//!   withdrawals]` of the folded transition: the same shape at every level,
//!   so layers compose.
//! - [`layer`]: the keys of one layer of the tree (generated from dummy
//!   proofs of the inner verifying key) and proving one node.
//! - [`tree`]: the whole tree: chunk proofs, padded with proofs of empty
//!   chunks (no padding flags anywhere), then every layer up to the final
//!   one, which uses the EVM transcript.
//! - [`evm`]: the Solidity verifier of the final layer, compiled with the
//!   pinned solcjs, and its execution in revm; [`evm_host`]: a revm chain
//!   for the L1 contracts; [`poseidon_sol`]: the executor's Poseidon as a
//!   Solidity contract (for L1 commitments); [`rollup_sol`]: the Rollup
//!   contract (`contracts/ZklanesRollup.sol`) that settles batches, keeps
//!   the L1 deposit queue and makes withdrawals claimable;
//!   [`l1_batch`]: the deposits and withdrawals a batch settles on L1,
//!   per chunk; [`l1_chain`]: a revm chain with all three contracts.

/// Digest of this crate's sources: cached aggregation keys are named by it.
pub const SOURCE_DIGEST: &str = env!("ZKLANES_SOURCE_DIGEST");

pub mod evm;
pub mod evm_host;
pub mod l1_batch;
pub mod l1_chain;
pub mod layer;
pub mod node;
pub mod poseidon_sol;
pub mod rollup_sol;
pub mod tree;
pub mod verify;

pub use zklanes_prover::ChunkTrace;
