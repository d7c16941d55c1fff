//! # zklanes circuits (in progress)
//!
//! The halo2 circuits (KZG on BN254, halo2-axiom through halo2-base) that will
//! prove one chunk's state transition from the executor's [`ChunkTrace`].
//!
//! Built so far:
//! - [`field`]: conversion of the executor's field elements (arkworks) into
//!   halo2's BN254 `Fr`;
//! - [`poseidon`]: a custom-gate Poseidon permutation chip computing exactly
//!   the executor's hash (`zklanes_executor::poseidon`), one round per row.
//!
//! The chunk circuit itself (signatures, balances, AMM, Merkle updates,
//! public inputs) is the rest of the circuits issue.

pub mod field;
pub mod poseidon;

pub use zklanes_executor::trace::ChunkTrace;
