//! Typed errors. A failing transaction rejects its whole batch; the batch
//! error names the transaction index and the reason.

use crate::signature::SignatureError;

/// Why one transaction is invalid.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TxError {
    /// The signature check failed.
    #[error("bad signature: {reason}")]
    BadSignature {
        /// Which check failed.
        reason: SignatureError,
    },
    /// A signed transaction type came without a signature.
    #[error("missing signature")]
    MissingSignature,
    /// A deposit carried a signature (deposits are authorised on L1).
    #[error("deposits carry no signature")]
    UnexpectedSignature,
    /// The account does not exist.
    #[error("unknown account {account}")]
    UnknownAccount {
        /// Account index.
        account: u32,
    },
    /// Account index 0 (the pool registry) or beyond the tree.
    #[error("invalid account index {account}")]
    InvalidAccountIndex {
        /// Account index.
        account: u32,
    },
    /// A deposit creating an account carried a key off the curve or outside the subgroup.
    #[error("invalid public key for new account {account}")]
    InvalidPublicKey {
        /// Account index.
        account: u32,
    },
    /// The nonce is not the account's next nonce (replay or gap).
    #[error("bad nonce for account {account}: expected {expected}, got {got}")]
    BadNonce {
        /// Account index.
        account: u32,
        /// The account's nonce.
        expected: u32,
        /// The transaction's nonce.
        got: u32,
    },
    /// The nonce would pass its bit width.
    #[error("nonce overflow for account {account}")]
    NonceOverflow {
        /// Account index.
        account: u32,
    },
    /// Not enough balance.
    #[error(
        "insufficient balance: account {account} has {balance} of asset {asset}, needs {needed}"
    )]
    InsufficientBalance {
        /// Account index.
        account: u32,
        /// Asset id.
        asset: u32,
        /// Current balance.
        balance: u128,
        /// Required amount.
        needed: u128,
    },
    /// A balance, reserve or supply would pass `BALANCE_BITS`.
    #[error("balance overflow: account {account}, asset {asset}")]
    BalanceOverflow {
        /// Account index (0 for pool reserves).
        account: u32,
        /// Asset id (or pool id for reserves).
        asset: u32,
    },
    /// An amount passes `AMOUNT_BITS`.
    #[error("amount {amount} exceeds the declared width")]
    AmountTooLarge {
        /// The amount.
        amount: u128,
    },
    /// A zero amount where a positive one is required.
    #[error("zero amount")]
    ZeroAmount,
    /// Asset id 0 or beyond the id space.
    #[error("invalid asset {asset}")]
    InvalidAsset {
        /// Asset id.
        asset: u32,
    },
    /// Pool id 0 or beyond the id space.
    #[error("invalid pool id {pool}")]
    InvalidPoolId {
        /// Pool id.
        pool: u32,
    },
    /// The pool does not exist.
    #[error("unknown pool {pool}")]
    UnknownPool {
        /// Pool id.
        pool: u32,
    },
    /// Pool creation at an id already taken.
    #[error("pool {pool} already exists")]
    PoolExists {
        /// Pool id.
        pool: u32,
    },
    /// Pool tokens must satisfy `0 < token_a < token_b <= MAX_TOKEN`.
    #[error("invalid pool tokens {token_a}/{token_b}")]
    InvalidPoolTokens {
        /// Token A.
        token_a: u32,
        /// Token B.
        token_b: u32,
    },
    /// Fee above `MAX_FEE_BPS`.
    #[error("fee {fee_bps} bps too large")]
    FeeTooLarge {
        /// Fee.
        fee_bps: u16,
    },
    /// A swap output passes `AMOUNT_BITS`. Reserves are 112-bit, but a swap's
    /// output is public data of 12 bytes (as every amount), which the circuit
    /// range-checks to 96 bits: a deeper output must be split over several swaps.
    #[error("output {got} exceeds the largest amount {max}")]
    OutputTooLarge {
        /// The output the swap would pay.
        got: u128,
        /// The largest output (`MAX_AMOUNT`).
        max: u128,
    },
    /// Output below the signed minimum.
    #[error("slippage exceeded: got {got}, minimum {min}")]
    SlippageExceeded {
        /// Minimum accepted.
        min: u128,
        /// Actual.
        got: u128,
    },
    /// The pool cannot serve the request (empty reserves, zero output, first
    /// mint not above the locked minimum, or burning more than is owned).
    #[error("insufficient liquidity in pool {pool}")]
    InsufficientLiquidity {
        /// Pool id.
        pool: u32,
    },
    /// Transfers to oneself are refused.
    #[error("self transfer")]
    SelfTransfer,
    /// An L1 queue operation (deposit or forced withdrawal) out of queue order.
    #[error("L1 queue operation out of order: expected queue index {expected}, got {got}")]
    DepositOutOfOrder {
        /// Next expected queue index.
        expected: u64,
        /// The operation's index.
        got: u64,
    },
    /// Queue index beyond its width.
    #[error("queue index {queue_index} too large")]
    QueueIndexTooLarge {
        /// The index.
        queue_index: u64,
    },
}

/// Why a batch was rejected. State is untouched in every case.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BatchError {
    /// A transaction failed; the batch is rejected whole.
    #[error("transaction {index} rejected: {reason}")]
    Tx {
        /// Index in the batch.
        index: usize,
        /// Why.
        reason: TxError,
    },
    /// The encoded batch could not be decoded.
    #[error("malformed batch: {reason}")]
    Malformed {
        /// Decoder message.
        reason: String,
    },
    /// The encoded batch is larger than allowed.
    #[error("batch of {bytes} bytes exceeds the limit of {limit}")]
    TooLarge {
        /// Encoded size.
        bytes: usize,
        /// Limit.
        limit: usize,
    },
    /// More transactions than allowed.
    #[error("batch has {txs} transactions, the limit is {limit}")]
    TooManyTxs {
        /// Count.
        txs: usize,
        /// Limit.
        limit: usize,
    },
    /// Unsupported format version.
    #[error("unsupported batch version {version}")]
    Version {
        /// Found version.
        version: u32,
    },
    /// The batch is for another chain.
    #[error("batch chain id {got} does not match {expected}")]
    ChainId {
        /// Configured.
        expected: u32,
        /// Found.
        got: u32,
    },
    /// Batch number is not the next one.
    #[error("batch number {got} is not the next batch {expected}")]
    OutOfOrder {
        /// Next expected.
        expected: u64,
        /// Found.
        got: u64,
    },
    /// An empty batch.
    #[error("empty batch")]
    Empty,
    /// The executor broke an internal invariant even on its sequential path.
    #[error("internal executor error: {reason}")]
    Internal {
        /// What broke.
        reason: String,
    },
}

/// Storage failures.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// sled failed.
    #[error("storage: {0}")]
    Sled(#[from] sled::Error),
    /// Stored bytes did not decode: the store is corrupt.
    #[error("corrupt store entry {key}: {reason}")]
    Corrupt {
        /// Which entry.
        key: String,
        /// Why.
        reason: String,
    },
    /// The batch was rejected.
    #[error(transparent)]
    Batch(#[from] BatchError),
}
