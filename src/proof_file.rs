//! The on-disk form of a proven batch, as `zklanes prove` writes it and
//! `zklanes verify` reads it: `final.json` holds the final proof, its
//! public inputs, the proven transition and the final verifying key (from
//! which the EVM verifier is generated); `chunk-{i}.json` and
//! `layer-{l}-{i}.json` hold the proofs below it.
//!
//! A verifying key travels on its own as a *VK file* ([`vk_file_bytes`]):
//! the circuit layout needed to read it, then the key in halo2's raw
//! encoding. Its SHA-256 ([`vk_sha256`]) is the key's identity, the value
//! `zklanes verify --vk FILE --vk-sha256 HEX` pins: the layout is part of
//! it, because the raw key alone does not fix the constraint system.

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
pub const PROOF_FILE_VERSION: u32 = 3;

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
            &self.deposits,
            &self.withdrawals,
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

/// `0x`-prefixed hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    format!("0x{}", hex::encode(Sha256::digest(bytes)))
}

/// A VK file: the aggregation circuit's layout (a length-prefixed JSON
/// header, as in the key cache), then the verifying key `vk_raw` (halo2 raw
/// bytes).
pub fn vk_file_bytes(config: &AggregationConfigParams, vk_raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(vk_raw.len() + 256);
    zklanes_prover::cache::write_header(&mut out, config).expect("writing to memory");
    out.extend_from_slice(vk_raw);
    out
}

/// The VK file of an aggregation verifying key.
pub fn vk_file(config: &AggregationConfigParams, vk: &VerifyingKey<G1Affine>) -> Vec<u8> {
    let mut raw = Vec::new();
    vk.write(&mut raw, SerdeFormat::RawBytes)
        .expect("writing to memory");
    vk_file_bytes(config, &raw)
}

/// The identity of an aggregation verifying key: the SHA-256 of its VK
/// file (`0x`-prefixed hex).
pub fn vk_sha256(config: &AggregationConfigParams, vk: &VerifyingKey<G1Affine>) -> String {
    sha256_hex(&vk_file(config, vk))
}

/// Parses a VK file (every point checked); the whole input must be used.
pub fn read_vk_file(
    mut bytes: &[u8],
) -> std::io::Result<(AggregationConfigParams, VerifyingKey<G1Affine>)> {
    let config: AggregationConfigParams = zklanes_prover::cache::read_header(&mut bytes)?;
    let plausible = (1..=Fr::S).contains(&config.degree)
        && config.lookup_bits < config.degree as usize
        && [
            config.num_advice,
            config.num_lookup_advice,
            config.num_fixed,
        ]
        .iter()
        .all(|&n| n <= 256);
    if !plausible {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("implausible circuit layout {config:?}"),
        ));
    }
    let vk = zklanes_prover::cache::catch_read(|| {
        VerifyingKey::<G1Affine>::read::<_, AggregationCircuit>(
            &mut bytes,
            SerdeFormat::RawBytes,
            config,
        )
    })?;
    if !bytes.is_empty() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("{} bytes after the verifying key", bytes.len()),
        ));
    }
    Ok((config, vk))
}

#[cfg(test)]
mod tests {
    use super::*;
    use halo2_base::gates::circuit::builder::BaseCircuitBuilder;
    use halo2_base::gates::{GateChip, GateInstructions};
    use halo2_base::halo2_proofs::plonk::keygen_vk;

    /// A small verifying key of the aggregation circuit's shape (the same
    /// halo2-base layout, so it reads back as an `AggregationCircuit` key).
    fn small_vk() -> (AggregationConfigParams, VerifyingKey<G1Affine>) {
        let mut b = BaseCircuitBuilder::<Fr>::new(false)
            .use_k(6)
            .use_lookup_bits(5)
            .use_instance_columns(1);
        let ctx = b.main(0);
        let x = ctx.load_witness(Fr::from(2));
        let y = ctx.load_witness(Fr::from(3));
        GateChip::default().mul(ctx, x, y);
        let layout = AggregationConfigParams::try_from(&b.calculate_params(Some(9))).unwrap();
        let params = zklanes_prover::srs::dev_params(6);
        let vk = keygen_vk(&params, &b).unwrap();
        (layout, vk)
    }

    /// A VK file reads back as the same key; its SHA-256 covers the layout
    /// (the raw key alone does not fix the constraint system) and equals
    /// the identity of a proof file carrying the same key; trailing bytes
    /// and an implausible layout are refused.
    #[test]
    fn vk_files_round_trip_and_their_identity_covers_the_layout() {
        let (layout, vk) = small_vk();
        let bytes = vk_file(&layout, &vk);
        let (layout2, vk2) = read_vk_file(&bytes).expect("reads back");
        assert_eq!(vk_file(&layout2, &vk2), bytes);
        assert_eq!(vk_sha256(&layout, &vk), sha256_hex(&bytes));

        let mut other = layout;
        other.num_advice += 1;
        assert_ne!(vk_sha256(&other, &vk), vk_sha256(&layout, &vk));

        let mut extra = bytes.clone();
        extra.push(0);
        assert!(read_vk_file(&extra).is_err());
        let mut huge = layout;
        huge.num_advice = 1 << 20;
        assert!(read_vk_file(&vk_file(&huge, &vk)).is_err());

        // The identity of a proof file's key, from its fields as they are.
        let json = serde_json::json!({
            "version": PROOF_FILE_VERSION,
            "batch": 0, "batches": 1, "txs": 0, "chunks": 1,
            "config": crate::pipeline::ProofConfig::two_chunks(1),
            "srs": "", "transition": {
                "prev_root": "0x", "new_root": "0x", "pubdata": "0x",
                "deposits": "0x", "withdrawals": "0x",
                "first_batch": "0x", "last_batch": "0x"
            },
            "instances": [], "proof": "0x",
            "final_circuit": layout, "vk": vk_hex(&vk),
            "l1": L1Batch::default(),
        });
        let f: FinalProof = serde_json::from_value(json).expect("a proof file");
        let path = Path::new("final.json");
        assert_eq!(f.vk_sha256(path).unwrap(), vk_sha256(&layout, &vk));
    }
}
