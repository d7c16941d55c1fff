//! The sequencer's signature of a batch (`serve --sequencer-key ADDRESS`):
//! with a key configured, the service accepts only batches the sequencer
//! signed, so the batch content itself is authenticated (the bearer token
//! only says who may call the API) and each record stores the signature.
//!
//! The scheme is the sequencer's Ethereum key (secp256k1 ECDSA), so the
//! identity that signs batches is the one an L1 contract can name:
//!
//! - digest: `keccak256("zklanes.batch.v1" ‖ chain_id (4 bytes, BE) ‖
//!   number (8 bytes, BE) ‖ sha256(the batch's canonical binary encoding))`,
//!   signed as an EIP-191 personal message (`"\x19Ethereum Signed
//!   Message:\n32" ‖ digest`), so standard Ethereum signers produce it;
//! - signature: 65 bytes `r ‖ s ‖ v` in hex (`v` is 27/28 or 0/1), `s` in
//!   the lower half of the order (no malleable twin);
//! - HTTP carries it in the `Zklanes-Signature` header; the watched folder
//!   in a file `NAME.sig` written before the batch file `NAME`.
//!
//! The digest covers the canonical encoding, so the JSON and the binary
//! form of one batch carry the same signature.

use std::path::Path;

use k256::ecdsa::{RecoveryId, Signature, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};
use sha3::Keccak256;
use zklanes_executor::batch::Encoding;
use zklanes_executor::Batch;

/// The domain of a batch digest.
pub const DOMAIN: &[u8] = b"zklanes.batch.v1";

/// The HTTP header that carries the signature.
pub const HEADER: &str = "zklanes-signature";

/// Why a signature or key was refused.
#[derive(Debug, thiserror::Error)]
pub enum SequencerError {
    /// Not hex, or not 65 bytes.
    #[error("the signature is not 65 bytes of hex (r ‖ s ‖ v)")]
    Encoding,
    /// `s` in the upper half, `v` out of range, or no key recovers.
    #[error("the signature is malformed: {0}")]
    Malformed(String),
    /// A valid signature, by another key.
    #[error("signed by {signer}, not by the sequencer {expected}")]
    WrongSigner {
        /// Who signed.
        signer: String,
        /// The configured sequencer.
        expected: String,
    },
    /// The key file could not be read or written (not retryable: fix the
    /// path or its permissions).
    #[error("{path}: {reason}")]
    KeyFile {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// An address that is not 20 bytes of hex.
    #[error("{0:?} is not an address (0x and 40 hex digits)")]
    Address(String),
}

fn keccak(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Keccak256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// The digest the sequencer signs for `batch` (before the EIP-191 prefix).
pub fn batch_digest(batch: &Batch) -> [u8; 32] {
    let body = Sha256::digest(batch.encode(Encoding::Binary));
    keccak(&[
        DOMAIN,
        &batch.chain_id.to_be_bytes(),
        &batch.number.to_be_bytes(),
        &body,
    ])
}

/// The EIP-191 personal-message hash of a digest: what ECDSA signs.
fn signed_hash(digest: &[u8; 32]) -> [u8; 32] {
    keccak(&[b"\x19Ethereum Signed Message:\n32", digest])
}

/// An Ethereum address: the last 20 bytes of the keccak of the public key.
fn address_of(key: &VerifyingKey) -> [u8; 20] {
    let point = key.to_encoded_point(false);
    let hash = keccak(&[&point.as_bytes()[1..]]);
    hash[12..].try_into().expect("20 bytes")
}

fn hex_address(a: &[u8; 20]) -> String {
    format!("0x{}", hex::encode(a))
}

/// The sequencer's identity: its Ethereum address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SequencerKey([u8; 20]);

impl std::str::FromStr for SequencerKey {
    type Err = SequencerError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        let h = t.strip_prefix("0x").unwrap_or(t);
        let bytes = hex::decode(h).map_err(|_| SequencerError::Address(s.into()))?;
        Ok(Self(
            bytes
                .try_into()
                .map_err(|_| SequencerError::Address(s.into()))?,
        ))
    }
}

impl std::fmt::Display for SequencerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&hex_address(&self.0))
    }
}

impl SequencerKey {
    /// Checks `signature` (hex, 65 bytes) on `batch`.
    pub fn verify(&self, batch: &Batch, signature: &str) -> Result<(), SequencerError> {
        let s = signature.trim();
        let bytes =
            hex::decode(s.strip_prefix("0x").unwrap_or(s)).map_err(|_| SequencerError::Encoding)?;
        if bytes.len() != 65 {
            return Err(SequencerError::Encoding);
        }
        let sig = Signature::from_slice(&bytes[..64])
            .map_err(|e| SequencerError::Malformed(e.to_string()))?;
        if sig.normalize_s().is_some() {
            return Err(SequencerError::Malformed(
                "s is in the upper half of the order".into(),
            ));
        }
        let v = match bytes[64] {
            0 | 27 => 0,
            1 | 28 => 1,
            v => return Err(SequencerError::Malformed(format!("v = {v}"))),
        };
        let recid = RecoveryId::from_byte(v).expect("0 or 1");
        let key =
            VerifyingKey::recover_from_prehash(&signed_hash(&batch_digest(batch)), &sig, recid)
                .map_err(|e| SequencerError::Malformed(e.to_string()))?;
        let signer = address_of(&key);
        if signer != self.0 {
            return Err(SequencerError::WrongSigner {
                signer: hex_address(&signer),
                expected: self.to_string(),
            });
        }
        Ok(())
    }
}

/// The sequencer's secret key (what signs batches; kept by the sequencer,
/// never by the service).
pub struct SequencerSecret(SigningKey);

impl SequencerSecret {
    /// A fresh random key.
    pub fn generate() -> Self {
        Self(SigningKey::random(&mut rand::rngs::OsRng))
    }

    /// A key from 32 bytes (a test's fixed key).
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, SequencerError> {
        SigningKey::from_slice(bytes)
            .map(Self)
            .map_err(|e| SequencerError::Malformed(e.to_string()))
    }

    /// Reads a key file (64 hex digits, optionally `0x`).
    pub fn read(path: &Path) -> Result<Self, SequencerError> {
        let err = |reason: String| SequencerError::KeyFile {
            path: path.display().to_string(),
            reason,
        };
        let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
        let t = text.trim();
        let bytes: [u8; 32] = hex::decode(t.strip_prefix("0x").unwrap_or(t))
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| err("not 32 bytes of hex".into()))?;
        Self::from_bytes(&bytes).map_err(|e| err(e.to_string()))
    }

    /// Writes the key to a new file readable by its owner only.
    pub fn write_new(&self, path: &Path) -> Result<(), SequencerError> {
        use std::io::Write;
        let err = |e: std::io::Error| SequencerError::KeyFile {
            path: path.display().to_string(),
            reason: e.to_string(),
        };
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        let mut f = opts.open(path).map_err(err)?;
        f.write_all(format!("0x{}\n", hex::encode(self.0.to_bytes())).as_bytes())
            .and_then(|_| f.sync_all())
            .map_err(err)
    }

    /// The key's identity.
    pub fn public(&self) -> SequencerKey {
        SequencerKey(address_of(self.0.verifying_key()))
    }

    /// Signs `batch`: 65 bytes `r ‖ s ‖ v` (v = 27 or 28), hex with `0x`.
    pub fn sign(&self, batch: &Batch) -> String {
        let (sig, recid) = self
            .0
            .sign_prehash_recoverable(&signed_hash(&batch_digest(batch)))
            .expect("a 32-byte prehash signs");
        let mut out = sig.to_bytes().to_vec();
        out.push(27 + recid.to_byte());
        format!("0x{}", hex::encode(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(number: u64) -> Batch {
        Batch {
            version: zklanes_executor::batch::BATCH_VERSION,
            chain_id: 7,
            number,
            txs: vec![],
        }
    }

    fn secret(b: u8) -> SequencerSecret {
        SequencerSecret::from_bytes(&[b; 32]).unwrap()
    }

    #[test]
    fn a_signature_verifies_under_its_key_only() {
        let (a, b) = (secret(1), secret(2));
        let sig = a.sign(&batch(3));
        a.public().verify(&batch(3), &sig).unwrap();
        assert!(matches!(
            b.public().verify(&batch(3), &sig),
            Err(SequencerError::WrongSigner { .. })
        ));
    }

    #[test]
    fn the_signature_covers_number_chain_and_content() {
        let a = secret(1);
        let sig = a.sign(&batch(3));
        assert!(a.public().verify(&batch(4), &sig).is_err());
        let mut other_chain = batch(3);
        other_chain.chain_id = 8;
        assert!(a.public().verify(&other_chain, &sig).is_err());
        let mut other_txs = batch(3);
        other_txs.txs = one_tx();
        assert!(a.public().verify(&other_txs, &sig).is_err());
    }

    fn one_tx() -> Vec<zklanes_executor::tx::SignedTx> {
        use zklanes_executor::genbatch::{generate, GenConfig, Workload};
        let g = generate(&GenConfig {
            workload: Workload::Transfers,
            txs: 1,
            accounts: 2,
            seed: 1,
            chain_id: 7,
            sign: false,
        });
        g.genesis.into_iter().take(1).collect()
    }

    #[test]
    fn malformed_and_malleable_signatures_are_refused() {
        let a = secret(1);
        let sig = a.sign(&batch(3));
        let key = a.public();
        assert!(matches!(
            key.verify(&batch(3), "0x1234"),
            Err(SequencerError::Encoding)
        ));
        assert!(matches!(
            key.verify(&batch(3), "zz"),
            Err(SequencerError::Encoding)
        ));
        let mut bytes = hex::decode(&sig[2..]).unwrap();
        bytes[64] = 29;
        assert!(matches!(
            key.verify(&batch(3), &hex::encode(&bytes)),
            Err(SequencerError::Malformed(_))
        ));
        // The high-s twin of a valid signature: valid ECDSA, refused.
        let mut bytes = hex::decode(&sig[2..]).unwrap();
        let s = Signature::from_slice(&bytes[..64]).unwrap();
        let (r, low_s) = s.split_scalars();
        let high = Signature::from_scalars(r.to_bytes(), (-*low_s).to_bytes()).unwrap();
        bytes[..64].copy_from_slice(&high.to_bytes());
        bytes[64] ^= 1;
        assert!(matches!(
            key.verify(&batch(3), &hex::encode(&bytes)),
            Err(SequencerError::Malformed(_))
        ));
    }

    #[test]
    fn addresses_parse_and_print() {
        let k = secret(1).public();
        let s = k.to_string();
        assert_eq!(s.len(), 42);
        assert_eq!(s.parse::<SequencerKey>().unwrap(), k);
        assert!("0x12".parse::<SequencerKey>().is_err());
        assert!("nothex".parse::<SequencerKey>().is_err());
    }

    /// The address of the secret key 1 is the well-known
    /// 0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf: the key-to-address
    /// derivation is Ethereum's.
    #[test]
    fn the_address_is_ethereums() {
        let mut one = [0u8; 32];
        one[31] = 1;
        let k = SequencerSecret::from_bytes(&one).unwrap().public();
        assert_eq!(k.to_string(), "0x7e5f4552091a69125d5dfcb7b8c2659029395bdf");
    }
}
