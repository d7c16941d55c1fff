//! # zklanes circuits (in progress)
//!
//! The halo2 circuits (KZG on BN254, halo2-axiom through halo2-base) that will
//! prove one chunk's state transition from the executor's [`ChunkTrace`].
//!
//! Built so far:
//! - [`field`]: conversion of the executor's field elements (arkworks) into
//!   halo2's BN254 `Fr`;
//! - [`poseidon`]: a custom-gate Poseidon permutation chip computing exactly
//!   the executor's hash (`zklanes_executor::poseidon`), one round per row;
//! - [`hash_table`]: that chip inside a halo2-base circuit, bound to the
//!   builder's cells by copy constraints;
//! - [`merkle`]: state-tree path and update gadgets (roots from a leaf, index
//!   bits and siblings) on top of it, and [`leaves`]: the leaf hashes of
//!   accounts, balances and pools with every field range-checked;
//! - [`chunk`]: the chunk circuit, so far for deposits and padding, and
//!   [`stats`]: cell accounting for `zklanes circuit-stats`;
//! - [`ecc`], [`scalar_mul`] and [`eddsa`]: BabyJubJub arithmetic, a
//!   one-row-per-bit scalar multiplication chip, and EdDSA-Poseidon
//!   verification, the executor's signature rule.
//!
//! The chunk circuit itself (signatures, balances, AMM, Merkle updates,
//! public inputs) is the rest of the circuits issue.

pub mod amm;
pub mod chunk;
pub mod ecc;
pub mod eddsa;
pub mod field;
pub mod fixtures;
pub mod hash_table;
pub mod leaves;
pub mod merkle;
pub mod poseidon;
pub mod poseidon_gate;
pub mod scalar_mul;
pub mod stats;

pub use zklanes_executor::trace::ChunkTrace;
