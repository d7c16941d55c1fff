//! A verifying key travels on its own as a *VK file* ([`vk_file_bytes`]):
//! the circuit layout needed to read it, then the key in halo2's raw
//! encoding. Its SHA-256 ([`vk_sha256`]) is the key's identity, the value
//! `zklanes verify --vk FILE --vk-sha256 HEX` pins: the layout is part of
//! it, because the raw key alone does not fix the constraint system.

use halo2_base::halo2_proofs::halo2curves::bn256::{Fr, G1Affine};
use halo2_base::halo2_proofs::halo2curves::ff::PrimeField;
use halo2_base::halo2_proofs::plonk::VerifyingKey;
use halo2_base::halo2_proofs::SerdeFormat;
use snark_verifier_sdk::halo2::aggregation::{AggregationCircuit, AggregationConfigParams};

use crate::hex::{bytes_hex, sha256_hex};

/// The verifying key as halo2 raw bytes (hex).
pub fn vk_hex(vk: &VerifyingKey<G1Affine>) -> String {
    let mut out = Vec::new();
    vk.write(&mut out, SerdeFormat::RawBytes)
        .expect("writing to memory");
    bytes_hex(&out)
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
    use std::path::Path;

    use super::*;
    use crate::config::ProofConfig;
    use crate::proof_file::{FinalProof, PROOF_FILE_VERSION};
    use halo2_base::gates::circuit::builder::BaseCircuitBuilder;
    use halo2_base::gates::{GateChip, GateInstructions};
    use halo2_base::halo2_proofs::plonk::keygen_vk;
    use zklanes_executor::l1::L1Batch;

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
            "config": ProofConfig::two_chunks(1),
            "srs": "", "transition": {
                "prev_root": "0x", "new_root": "0x", "pubdata": "0x",
                "challenge": "0x", "evaluation": "0x", "challenge_power": "0x",
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
