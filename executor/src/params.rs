//! Protocol constants: bit widths, tree shape and the chain id default.
//!
//! Every width here is enforced by the executor (typed errors) and, later, by
//! range checks in the circuits. Products used by the AMM stay far below the
//! BN254 scalar field modulus (about 2^253.6), so no arithmetic wraps.

/// Bits of an account index. Account 0 is the pool registry (it has no key).
pub const ACCOUNT_BITS: u32 = 20;
/// Bits of a slot inside an account: slot 0 is the account leaf, slots
/// `1..=MAX_ASSET` hold asset balances (or pool records in the registry).
pub const SLOT_BITS: u32 = 12;
/// Depth of the single sparse Merkle tree: `ACCOUNT_BITS + SLOT_BITS`.
pub const TREE_DEPTH: usize = (ACCOUNT_BITS + SLOT_BITS) as usize;
/// Largest user account index.
pub const MAX_ACCOUNT: u32 = (1 << ACCOUNT_BITS) - 1;
/// The account that holds pool records in its slots.
pub const POOL_REGISTRY_ACCOUNT: u32 = 0;
/// Largest asset id (tokens and LP shares share one id space).
pub const MAX_ASSET: u32 = (1 << SLOT_BITS) - 1;
/// Largest plain token id. LP shares of pool `p` use asset id `LP_ASSET_BASE + p`.
pub const MAX_TOKEN: u32 = LP_ASSET_BASE - 1;
/// First LP asset id.
pub const LP_ASSET_BASE: u32 = 1 << (SLOT_BITS - 1);
/// Largest pool id (pool records live in registry slots `1..=MAX_POOL`).
pub const MAX_POOL: u32 = LP_ASSET_BASE - 1;

/// Bits of any amount carried by a transaction.
pub const AMOUNT_BITS: u32 = 96;
/// Bits of any balance, reserve or LP supply.
pub const BALANCE_BITS: u32 = 112;
/// Bits of an account nonce.
pub const NONCE_BITS: u32 = 32;
/// Bits of the chain id.
pub const CHAIN_ID_BITS: u32 = 32;
/// Bits of an L1 deposit queue index.
pub const QUEUE_INDEX_BITS: u32 = 32;
/// Bits of a pool fee in basis points.
pub const FEE_BITS: u32 = 14;

/// Largest amount (inclusive).
pub const MAX_AMOUNT: u128 = (1u128 << AMOUNT_BITS) - 1;
/// Largest balance (inclusive).
pub const MAX_BALANCE: u128 = (1u128 << BALANCE_BITS) - 1;

/// Basis-point denominator for pool fees.
pub const FEE_DENOMINATOR: u128 = 10_000;
/// Default pool fee: 0.3%.
pub const DEFAULT_FEE_BPS: u16 = 30;
/// Largest accepted pool fee: 10%.
pub const MAX_FEE_BPS: u16 = 1_000;
/// LP shares locked forever by the first mint of a pool (Uniswap v2).
pub const MINIMUM_LIQUIDITY: u128 = 1_000;

/// Default chain id bound into every signature.
pub const DEFAULT_CHAIN_ID: u32 = 0x02a1_a7e5;

/// Transaction slots per chunk of the demo, and the default of every
/// command that chunks or proves a batch (`demo`, `execute`, `prove`,
/// `verify`, `serve`), so they all chunk a batch the same way: the chunk
/// circuit at `k = 19` (9,754 chip rows per slot); one final proof of the
/// demo holds two chunks.
pub const DEMO_CHUNK_CAPACITY: usize = 29;
/// Transaction slots per chunk of the circuit and service tests: the chunk
/// circuit at `k = 15`, which proves in seconds.
pub const TEST_CHUNK_CAPACITY: usize = 3;
/// Transaction slots per chunk for production: the largest chunk circuit
/// at `k = 22` (9,754 chip rows per slot, 8 advice columns). At 75,142
/// advice cells per slot that is 32.3M cells; see ARCHITECTURE ("Proving
/// cost") for its proving time and memory on this machine kind (`zklanes
/// bench prover --capacity 430`). Chosen with `--capacity`.
pub const PRODUCTION_CHUNK_CAPACITY: usize = 430;
/// Largest number of transactions accepted in one batch.
pub const MAX_BATCH_TXS: usize = 4_000_000;
/// Largest encoded batch accepted, in bytes.
pub const MAX_BATCH_BYTES: usize = 1 << 30;

/// Leaf index of `(account, slot)` in the state tree.
#[inline]
pub const fn leaf_index(account: u32, slot: u32) -> u64 {
    ((account as u64) << SLOT_BITS) | slot as u64
}
