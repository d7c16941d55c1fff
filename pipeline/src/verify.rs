//! The one check of a final proof file, used by `zklanes verify` and by the
//! service when it adopts a proof written before a crash: against a key the
//! caller derived or pinned ([`FinalKey`]), never the key, layout or
//! fan-ins the file carries. It checks that the file was made for the
//! caller's configuration, that its key is the caller's, that its
//! transition is the one its public inputs expose, the proof natively (the
//! proof and the KZG accumulator of every proof below it) and, given the
//! verifier's bytecode, on L1 in revm (the verifier, then the Rollup
//! contract's `finalize`, with every withdrawal claimable afterwards).

use std::path::Path;
use std::sync::Arc;

use halo2_base::halo2_proofs::halo2curves::bn256::{Bn256, G1Affine};
use halo2_base::halo2_proofs::plonk::VerifyingKey;
use halo2_base::halo2_proofs::poly::kzg::commitment::ParamsKZG;
use serde::Serialize;
use snark_verifier_sdk::halo2::aggregation::AggregationConfigParams;
use zklanes_aggregator::layer::layer_protocol;
use zklanes_aggregator::node::ACCUMULATOR_LIMBS;
use zklanes_aggregator::verify::verify_aggregation;
use zklanes_l1::settle::{settle, Settlement};

use crate::config::ProofConfig;
use crate::hex::fr_from_hex;
use crate::proof_file::{FinalProof, ProofFileError};
use crate::vk_file::vk_sha256;

/// The final verifying key a proof is checked against, with its SRS.
#[derive(Clone)]
pub struct FinalKey {
    /// The final circuit's layout (part of the key's identity).
    pub layout: AggregationConfigParams,
    /// The key.
    pub vk: VerifyingKey<G1Affine>,
    /// The SRS of the final layer.
    pub params: Arc<ParamsKZG<Bn256>>,
}

impl FinalKey {
    /// The key's identity: the SHA-256 of its VK file.
    pub fn sha256(&self) -> String {
        vk_sha256(&self.layout, &self.vk)
    }
}

/// What [`verify_final`] found.
#[derive(Clone, Debug, Serialize)]
pub struct Verdict {
    /// The file was made for the caller's proof configuration.
    pub config_matches: bool,
    /// The caller's key's identity.
    pub vk_sha256: String,
    /// The identity of the key the file carries.
    pub file_vk_sha256: String,
    /// The two are the same key.
    pub vk_matches: bool,
    /// The file's transition is the one its public inputs expose.
    pub transition_matches_instances: bool,
    /// The proof verifies natively under the caller's key (with its
    /// accumulator).
    pub native: bool,
    /// The L1 settlement, when the verifier's bytecode was given and it
    /// did not fail.
    pub settlement: Option<Settlement>,
    /// Settled on L1 with the file's new root and every withdrawal
    /// claimable (`None`: not checked).
    pub evm: Option<bool>,
    /// Why the L1 check failed.
    pub evm_error: Option<String>,
}

impl Verdict {
    /// Every check that ran passed.
    pub fn accepted(&self) -> bool {
        self.config_matches
            && self.vk_matches
            && self.transition_matches_instances
            && self.native
            && self.evm != Some(false)
    }
}

/// Checks the final proof file `file` (read from `path`) for `config`
/// against `key`, and on L1 when `evm_verifier` (the verifier's deployment
/// bytecode for `key`) is given. `Err` only when the file's fields do not
/// decode.
pub fn verify_final(
    file: &FinalProof,
    path: &Path,
    config: &ProofConfig,
    key: &FinalKey,
    evm_verifier: Option<&[u8]>,
) -> Result<Verdict, ProofFileError> {
    let instances = file.instances_fr(path)?;
    let proof = file.proof_bytes(path)?;
    let file_vk_sha256 = file.vk_sha256(path)?;
    let vk_sha256 = key.sha256();
    let claimed = file.transition.values();
    let transition_matches_instances = instances.len() == ACCUMULATOR_LIMBS + claimed.len()
        && claimed
            .iter()
            .zip(&instances[ACCUMULATOR_LIMBS..])
            .all(|(h, f)| fr_from_hex(h) == Some(*f));
    let native = transition_matches_instances
        && verify_aggregation(
            &key.params,
            &layer_protocol(&key.params, &key.vk),
            &instances,
            &proof,
            true,
        );
    let (settlement, evm, evm_error) = match evm_verifier {
        None => (None, None, None),
        Some(code) => match settle(
            config.shape.chain_id,
            code,
            file.batch,
            file.batches,
            &instances,
            &proof,
            &file.l1,
        ) {
            Ok(s) if s.state_root != file.transition.new_root => (
                Some(s),
                Some(false),
                Some("the L1 root differs".to_string()),
            ),
            Ok(s) if !s.withdrawals_claimable => (
                Some(s),
                Some(false),
                Some("withdrawals not claimable".to_string()),
            ),
            Ok(s) => (Some(s), Some(true), None),
            Err(e) => (None, Some(false), Some(e.to_string())),
        },
    };
    Ok(Verdict {
        config_matches: file.config == *config,
        vk_matches: vk_sha256 == file_vk_sha256,
        vk_sha256,
        file_vk_sha256,
        transition_matches_instances,
        native,
        settlement,
        evm,
        evm_error,
    })
}
