//! Why an L1 step failed.

/// Why an EVM step failed.
#[derive(Debug, thiserror::Error)]
pub enum EvmError {
    /// The Solidity compiler failed or is not installed.
    #[error("solc ({dir}): {reason}")]
    Solc {
        /// Where the compiler was looked for.
        dir: String,
        /// What went wrong.
        reason: String,
    },
    /// Deployment or the call reverted or halted.
    #[error("EVM: {0}")]
    Reverted(String),
}
