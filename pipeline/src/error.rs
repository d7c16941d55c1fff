//! Why the pipeline's proving half failed ([`PipelineError`]).

use zklanes_aggregator::tree::TreeError;
use zklanes_l1::error::EvmError;
use zklanes_prover::cache::CacheError;
use zklanes_prover::srs::SrsError;

/// Why the pipeline's proving half failed.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// Keys, SRS or a proof failed.
    #[error(transparent)]
    Tree(#[from] TreeError),
    /// The verifier did not compile, or an L1 call failed.
    #[error(transparent)]
    Evm(#[from] EvmError),
    /// The key cache could not be opened.
    #[error(transparent)]
    Cache(#[from] CacheError),
    /// SRS parameters could not be had.
    #[error(transparent)]
    Srs(#[from] SrsError),
    /// The batch does not fit one final proof.
    #[error("{chunks} chunks do not fit a tree of {width} chunks")]
    TooManyChunks {
        /// Chunks of the batch.
        chunks: usize,
        /// Chunks of the tree.
        width: usize,
    },
    /// A fresh final proof failed its own verification.
    #[error("the final proof does not verify natively")]
    Rejected,
}
