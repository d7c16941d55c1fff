//! The on-disk form of a proven batch, as `zklanes prove` and the service
//! write it ([`crate::data_dir::DataDir::write_proof`]) and `zklanes
//! verify` reads it: `final.json` holds the final proof ([`FinalProof`]),
//! its public inputs, the proven transition, the final verifying key (from
//! which the EVM verifier is generated) and the L1 data; `chunk-{i}.json`
//! and `layer-{l}-{i}.json` hold the proofs below it ([`InnerProofFile`]).

use std::path::Path;

use halo2_base::halo2_proofs::halo2curves::bn256::{Fr, G1Affine};
use halo2_base::halo2_proofs::plonk::VerifyingKey;
use halo2_base::halo2_proofs::SerdeFormat;
use serde::{Deserialize, Serialize};
use snark_verifier_sdk::halo2::aggregation::{AggregationCircuit, AggregationConfigParams};
use zklanes_executor::l1::L1Batch;

use crate::config::ProofConfig;
use crate::hex::{fr_from_hex, sha256_hex};
use crate::vk_file::vk_file_bytes;

/// Format version of [`FinalProof`].
pub const PROOF_FILE_VERSION: u32 = 5;

/// Why a proof file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum ProofFileError {
    /// The file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not a proof file of this version.
    #[error("{path}: malformed proof file: {reason}")]
    Malformed {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
}

/// The transition a final proof exposes (hex field elements, big-endian).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Transition {
    /// State root before the batch.
    pub prev_root: String,
    /// State root after the batch.
    pub new_root: String,
    /// Poseidon commitment `P` to the batch's public data.
    pub pubdata: String,
    /// The challenge `x` the data is evaluated at (L1 derives it from `P`
    /// and the posted data).
    pub challenge: String,
    /// The data's evaluation `y` at `x`.
    pub evaluation: String,
    /// `xⁿ` for the data's `n` elements.
    pub challenge_power: String,
    /// The first batch number the proof settles (bound by the proof; L1
    /// checks it is its next batch).
    pub first_batch: String,
    /// The last batch number the proof settles (L1 checks it against the
    /// number of batches it is told to settle).
    pub last_batch: String,
}

impl Transition {
    /// The values in the order the final proof exposes them after its
    /// accumulator limbs (keep in step with the public inputs).
    pub fn values(&self) -> Vec<&str> {
        vec![
            &self.prev_root,
            &self.new_root,
            &self.pubdata,
            &self.challenge,
            &self.evaluation,
            &self.challenge_power,
            &self.first_batch,
            &self.last_batch,
        ]
    }
}

/// A chunk or aggregation proof below the final one.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct InnerProofFile {
    /// 0 for chunk proofs, then the layer number.
    pub layer: usize,
    /// Index within the layer.
    pub index: usize,
    /// Public inputs (hex).
    pub instances: Vec<String>,
    /// Proof bytes (hex, Poseidon transcript).
    pub proof: String,
}

/// A final proof with everything needed to verify it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FinalProof {
    /// [`PROOF_FILE_VERSION`].
    pub version: u32,
    /// Number of the (first) batch.
    pub batch: u64,
    /// Batches the proof covers: 1, or more for a bundle of consecutive
    /// batches from `batch` on.
    pub batches: u64,
    /// Transactions of the batch (or bundle).
    pub txs: usize,
    /// Chunks of the batch or bundle (before padding to the tree's width).
    pub chunks: usize,
    /// The proof configuration.
    pub config: ProofConfig,
    /// Which SRS: "development (insecure)" or the params directory.
    pub srs: String,
    /// The proven transition.
    pub transition: Transition,
    /// Public inputs of the final proof (hex): 12 accumulator limbs, then
    /// the transition.
    pub instances: Vec<String>,
    /// The final proof (hex, EVM transcript).
    pub proof: String,
    /// Layout of the final circuit (needed to read its verifying key).
    pub final_circuit: AggregationConfigParams,
    /// The final verifying key (hex, halo2 raw bytes).
    pub vk: String,
    /// The batch's public data (the finalize calldata the proof binds), and
    /// the deposits and withdrawals it carries.
    pub l1: L1Batch,
}

fn malformed(path: &Path, reason: impl Into<String>) -> ProofFileError {
    ProofFileError::Malformed {
        path: path.display().to_string(),
        reason: reason.into(),
    }
}

impl FinalProof {
    /// Reads and parses `path`.
    pub fn read(path: &Path) -> Result<Self, ProofFileError> {
        let text = std::fs::read(path).map_err(|source| ProofFileError::Io {
            path: path.display().to_string(),
            source,
        })?;
        let f: Self = serde_json::from_slice(&text).map_err(|e| malformed(path, e.to_string()))?;
        if f.version != PROOF_FILE_VERSION {
            return Err(malformed(path, format!("version {}", f.version)));
        }
        Ok(f)
    }

    /// The public inputs as field elements.
    pub fn instances_fr(&self, path: &Path) -> Result<Vec<Fr>, ProofFileError> {
        self.instances
            .iter()
            .map(|s| fr_from_hex(s).ok_or_else(|| malformed(path, format!("instance {s}"))))
            .collect()
    }

    /// The proof bytes.
    pub fn proof_bytes(&self, path: &Path) -> Result<Vec<u8>, ProofFileError> {
        hex::decode(self.proof.trim_start_matches("0x")).map_err(|e| malformed(path, e.to_string()))
    }

    /// The identity of the file's final verifying key: the SHA-256 of the
    /// VK file of `final_circuit` and `vk` ([`vk_sha256`]), computed from
    /// the bytes as they are (the key need not parse).
    pub fn vk_sha256(&self, path: &Path) -> Result<String, ProofFileError> {
        let bytes = hex::decode(self.vk.trim_start_matches("0x"))
            .map_err(|e| malformed(path, e.to_string()))?;
        Ok(sha256_hex(&vk_file_bytes(&self.final_circuit, &bytes)))
    }

    /// The final verifying key.
    pub fn verifying_key(&self, path: &Path) -> Result<VerifyingKey<G1Affine>, ProofFileError> {
        let bytes = hex::decode(self.vk.trim_start_matches("0x"))
            .map_err(|e| malformed(path, e.to_string()))?;
        let config = self.final_circuit;
        zklanes_prover::cache::catch_read(|| {
            VerifyingKey::<G1Affine>::read::<_, AggregationCircuit>(
                &mut bytes.as_slice(),
                SerdeFormat::RawBytes,
                config,
            )
        })
        .map_err(|e| malformed(path, format!("verifying key: {e}")))
    }

    /// Writes the file alone (atomically: a synced temporary file, then a
    /// rename); a whole proof directory is written by
    /// [`DataDir::write_proof`](crate::data_dir::DataDir::write_proof).
    pub fn write(&self, path: &Path) -> Result<(), ProofFileError> {
        crate::data_dir::write_json(path, self)
    }
}
