//! # zklanes circuits
//!
//! The halo2 circuits (KZG on BN254, halo2-axiom through halo2-base) that
//! prove one chunk's state transition from the executor's [`ChunkTrace`]:
//! - [`chunk`]: the chunk circuit. Every slot is one universal slot that
//!   proves any transaction type or a padding no-op (one-hot selector,
//!   EdDSA-Poseidon signature, nonce, balances with range checks, exact AMM
//!   and LP math, Merkle paths before and after, the public commitments);
//!   [`cost`]: cell accounting, which sizes the chunk circuit
//!   (`chunk::layout`) and `zklanes circuit-stats` reports;
//! - [`field`]: conversion of the executor's field elements (arkworks) into
//!   halo2's BN254 `Fr`;
//! - [`poseidon`]: a custom-gate Poseidon permutation chip computing exactly
//!   the executor's hash, one round per row; [`hash_table`]: that chip
//!   inside a halo2-base circuit, bound to the builder's cells by copy
//!   constraints; [`poseidon_gate`]: the same hash in halo2-base's generic
//!   gate (for the aggregation circuit);
//! - [`merkle`]: state-tree path and update gadgets; [`leaves`]: the leaf
//!   hashes of accounts, balances and pools with every field range-checked;
//! - [`ecc`], [`scalar_mul`] and [`eddsa`]: BabyJubJub arithmetic, a
//!   one-row-per-bit scalar multiplication chip, and EdDSA-Poseidon
//!   verification, the executor's signature rule;
//! - [`amm`]: constant-product swap, LP mint and burn gadgets;
//! - [`fixtures`]: a signed showcase batch with every transaction type.

pub mod amm;
pub mod chunk;
pub mod cost;
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
