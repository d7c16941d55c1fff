//! What travels through the queue: a job's input and a job's proof, as
//! versioned, bounded byte strings.
//!
//! - A **chunk job's input** is its padded chunk trace (the challenge set,
//!   exactly what the in-process tree proves).
//! - An **aggregation or final job's input** is a [`NodeInput`]: which
//!   layer it is and how many proofs it folds; the proofs themselves are the
//!   accepted proofs of its input jobs.
//! - A **proof** is a [`ProofPayload`]: the instances (canonical field
//!   elements) and the transcript bytes.
//!
//! Every form starts with a tag byte and its version, so a worker of another
//! release refuses it with [`PayloadError`] instead of misreading it.

use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use halo2_base::halo2_proofs::halo2curves::ff::PrimeField;
use serde::{Deserialize, Serialize};
use zklanes_executor::trace::ChunkTrace;

/// Tag and version of a chunk job's input.
const CHUNK_INPUT: [u8; 2] = [b'C', 1];
/// Tag and version of an aggregation job's input.
const NODE_INPUT: [u8; 2] = [b'N', 1];
/// Tag and version of a proof.
const PROOF: [u8; 2] = [b'P', 1];

/// Largest payload read back (a chunk trace of the largest shape is a few
/// MB; a proof a few KB): a corrupt length cannot make a worker allocate
/// more.
pub const MAX_PAYLOAD_BYTES: u64 = 256 << 20;

/// Largest instance count of a proof (accumulator limbs and a transition).
pub const MAX_INSTANCES: usize = 64;

/// A payload that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum PayloadError {
    /// Not this kind of payload, or another version of it (never retryable:
    /// a worker of the same release must take the job).
    #[error("{what}: unknown tag or version {found:?} (expected {expected:?})")]
    Version {
        /// What was read.
        what: &'static str,
        /// The first two bytes found.
        found: Vec<u8>,
        /// The tag and version this build reads.
        expected: [u8; 2],
    },
    /// The bytes do not decode (never retryable).
    #[error("{what}: {reason}")]
    Malformed {
        /// What was read.
        what: &'static str,
        /// Why it failed.
        reason: String,
    },
}

/// The input of an aggregation or final job.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeInput {
    /// Aggregation layer, from 1 (the final layer is the last).
    pub layer: u32,
    /// Proofs it folds (the layer's fan-in).
    pub fan_in: u32,
}

/// A proof as submitted to the queue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProofPayload {
    /// The proof's public inputs (one instance column).
    pub instances: Vec<Fr>,
    /// The transcript bytes.
    pub proof: Vec<u8>,
}

#[derive(Serialize, Deserialize)]
struct ProofWire {
    instances: Vec<[u8; 32]>,
    proof: Vec<u8>,
}

fn options() -> impl bincode::Options {
    use bincode::Options;
    bincode::DefaultOptions::new()
        .with_fixint_encoding()
        .with_limit(MAX_PAYLOAD_BYTES)
        .reject_trailing_bytes()
}

fn encode<T: Serialize>(tag: [u8; 2], value: &T) -> Vec<u8> {
    use bincode::Options;
    let mut out = tag.to_vec();
    // Serializing plain data into a Vec cannot fail.
    out.extend(options().serialize(value).unwrap_or_default());
    out
}

fn decode<T: for<'de> Deserialize<'de>>(
    what: &'static str,
    tag: [u8; 2],
    bytes: &[u8],
) -> Result<T, PayloadError> {
    use bincode::Options;
    if bytes.len() < 2 || bytes[..2] != tag {
        return Err(PayloadError::Version {
            what,
            found: bytes.iter().take(2).copied().collect(),
            expected: tag,
        });
    }
    options()
        .deserialize(&bytes[2..])
        .map_err(|e| PayloadError::Malformed {
            what,
            reason: e.to_string(),
        })
}

/// A chunk job's input.
pub fn encode_chunk(trace: &ChunkTrace) -> Vec<u8> {
    encode(CHUNK_INPUT, trace)
}

/// Reads a chunk job's input.
pub fn decode_chunk(bytes: &[u8]) -> Result<ChunkTrace, PayloadError> {
    decode("chunk input", CHUNK_INPUT, bytes)
}

/// An aggregation or final job's input.
pub fn encode_node(node: NodeInput) -> Vec<u8> {
    encode(NODE_INPUT, &node)
}

/// Reads an aggregation or final job's input.
pub fn decode_node(bytes: &[u8]) -> Result<NodeInput, PayloadError> {
    decode("node input", NODE_INPUT, bytes)
}

impl ProofPayload {
    /// The bytes submitted to the queue.
    pub fn encode(&self) -> Vec<u8> {
        let wire = ProofWire {
            instances: self
                .instances
                .iter()
                .map(|f| {
                    let mut b = [0u8; 32];
                    b.copy_from_slice(f.to_repr().as_ref());
                    b
                })
                .collect(),
            proof: self.proof.clone(),
        };
        encode(PROOF, &wire)
    }

    /// Reads a proof; every instance must be a canonical field element (a
    /// non-canonical encoding would let two byte strings name one proof).
    pub fn decode(bytes: &[u8]) -> Result<Self, PayloadError> {
        let wire: ProofWire = decode("proof", PROOF, bytes)?;
        if wire.instances.len() > MAX_INSTANCES {
            return Err(PayloadError::Malformed {
                what: "proof",
                reason: format!(
                    "{} instances (at most {MAX_INSTANCES})",
                    wire.instances.len()
                ),
            });
        }
        let instances = wire
            .instances
            .iter()
            .map(|b| {
                let mut repr = <Fr as PrimeField>::Repr::default();
                repr.as_mut().copy_from_slice(b);
                Option::<Fr>::from(Fr::from_repr(repr)).ok_or(PayloadError::Malformed {
                    what: "proof",
                    reason: "an instance is not a canonical field element".into(),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            instances,
            proof: wire.proof,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_proof_round_trips_and_refuses_other_forms() {
        let p = ProofPayload {
            instances: vec![Fr::from(7u64), -Fr::one()],
            proof: vec![1, 2, 3],
        };
        let bytes = p.encode();
        assert_eq!(ProofPayload::decode(&bytes).unwrap(), p);
        // Another tag, another version, trailing bytes, a truncation.
        let mut other = bytes.clone();
        other[0] = b'C';
        assert!(matches!(
            ProofPayload::decode(&other),
            Err(PayloadError::Version { .. })
        ));
        other = bytes.clone();
        other[1] = 2;
        assert!(ProofPayload::decode(&other).is_err());
        other = bytes.clone();
        other.push(0);
        assert!(ProofPayload::decode(&other).is_err());
        assert!(ProofPayload::decode(&bytes[..bytes.len() - 1]).is_err());
        assert!(ProofPayload::decode(&[]).is_err());
    }

    #[test]
    fn a_non_canonical_instance_is_refused() {
        let p = ProofPayload {
            instances: vec![Fr::from(1u64)],
            proof: vec![],
        };
        let mut bytes = p.encode();
        // The instance's 32 bytes follow the tag (2) and the count (8):
        // all-ones is above the modulus.
        bytes[10..42].fill(0xff);
        assert!(matches!(
            ProofPayload::decode(&bytes),
            Err(PayloadError::Malformed { .. })
        ));
    }

    #[test]
    fn a_huge_length_is_refused_without_allocating_it() {
        let mut bytes = PROOF.to_vec();
        bytes.extend(u64::MAX.to_le_bytes());
        assert!(ProofPayload::decode(&bytes).is_err());
    }

    #[test]
    fn a_node_input_round_trips() {
        let n = NodeInput {
            layer: 2,
            fan_in: 4,
        };
        assert_eq!(decode_node(&encode_node(n)).unwrap(), n);
        assert!(decode_chunk(&encode_node(n)).is_err());
    }
}
