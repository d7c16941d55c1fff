//! The on-disk form of a proven batch, as `zklanes prove` writes it and
//! `zklanes verify` reads it: `final.json` holds the final proof, its
//! public inputs, the proven transition and the final verifying key (from
//! which the EVM verifier is generated); `chunk-{i}.json` and
//! `layer-{l}-{i}.json` hold the proofs below it.

use std::path::Path;

use halo2_base::halo2_proofs::halo2curves::bn256::{Fr, G1Affine};
use halo2_base::halo2_proofs::halo2curves::ff::PrimeField;
use halo2_base::halo2_proofs::plonk::VerifyingKey;
use halo2_base::halo2_proofs::SerdeFormat;
use serde::{Deserialize, Serialize};
use snark_verifier_sdk::halo2::aggregation::{AggregationCircuit, AggregationConfigParams};
use zklanes_aggregator::l1_batch::L1Batch;

use crate::pipeline::ProofConfig;

/// Format version of [`FinalProof`].
pub const PROOF_FILE_VERSION: u32 = 2;

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
    /// Commitment to the batch's public data.
    pub pubdata: String,
    /// Commitment to the consumed L1 deposits.
    pub deposits: String,
    /// Commitment to the withdrawals.
    pub withdrawals: String,
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
    /// The batch's deposits and withdrawals per chunk, which the Rollup
    /// contract needs besides the proof (the finalize calldata).
    pub l1: L1Batch,
}

/// The proof directory of batch `n` under a data directory.
pub fn proof_dir(data_dir: &Path, n: u64) -> std::path::PathBuf {
    data_dir.join("proofs").join(format!("batch-{n}"))
}

/// The proof directory of the batches `first..=last` proven by one final
/// proof: `proofs/batch-{n}` for one batch, `proofs/bundle-{first}-{last}`
/// for a bundle.
pub fn bundle_dir(data_dir: &Path, first: u64, last: u64) -> std::path::PathBuf {
    if first == last {
        proof_dir(data_dir, first)
    } else {
        data_dir
            .join("proofs")
            .join(format!("bundle-{first}-{last}"))
    }
}

/// A field element as 0x-prefixed big-endian hex.
pub fn fr_hex(f: &Fr) -> String {
    let mut b = f.to_repr();
    b.as_mut().reverse();
    format!("0x{}", hex::encode(b.as_ref()))
}

/// Parses [`fr_hex`]'s form; `None` unless canonical.
pub fn fr_from_hex(s: &str) -> Option<Fr> {
    let bytes = hex::decode(s.strip_prefix("0x").unwrap_or(s)).ok()?;
    let mut repr = <Fr as PrimeField>::Repr::default();
    if bytes.len() != repr.as_ref().len() {
        return None;
    }
    repr.as_mut().copy_from_slice(&bytes);
    repr.as_mut().reverse();
    Option::from(Fr::from_repr(repr))
}

/// Bytes as 0x-prefixed hex.
pub fn bytes_hex(b: &[u8]) -> String {
    format!("0x{}", hex::encode(b))
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

    /// Writes the file (atomically: temporary file, then rename).
    pub fn write(&self, path: &Path) -> Result<(), ProofFileError> {
        write_json(path, self)
    }
}

/// Writes `value` as pretty JSON to `path` through a temporary file.
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), ProofFileError> {
    let io = |source| ProofFileError::Io {
        path: path.display().to_string(),
        source,
    };
    let bytes = serde_json::to_vec_pretty(value).map_err(|e| malformed(path, e.to_string()))?;
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, bytes).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}

/// The verifying key as halo2 raw bytes (hex).
pub fn vk_hex(vk: &VerifyingKey<G1Affine>) -> String {
    let mut out = Vec::new();
    vk.write(&mut out, SerdeFormat::RawBytes)
        .expect("writing to memory");
    bytes_hex(&out)
}
