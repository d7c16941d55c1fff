//! [`JobProver`]: a process's keys, and how it proves and checks each kind
//! of job.
//!
//! The check a proof must pass before the queue accepts it
//! ([`JobProver::verify`]) is more than the proof's validity: its public
//! inputs must be *this job's* statement. A chunk proof must expose the
//! public inputs of the job's own trace; an aggregation or final proof must
//! expose, after its accumulator, the fold of its input jobs' transitions.
//! So a valid proof of another chunk, another batch, or of other inner
//! proofs is refused as invalid, like a corrupt one.

use std::sync::Arc;

use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use snark_verifier_sdk::Snark;
use zklanes_aggregator::layer::{prove_node, LayerKeys, NodeProof};
use zklanes_aggregator::node::ACCUMULATOR_LIMBS;
use zklanes_aggregator::tree::transition_fr;
use zklanes_aggregator::verify::verify_aggregation;
use zklanes_circuits::field::to_native;
use zklanes_executor::commitments::{fold, PublicInputs, PUBLIC_INPUTS};
use zklanes_pipeline::batch_prover::BatchProver;
use zklanes_prover::chunk::{instance, prove as prove_chunk};
use zklanes_queue::{JobKind, JobRecord};

use crate::error::DistError;
use crate::payload::{decode_chunk, decode_node, ProofPayload};
use crate::versions::CircuitVersions;

/// A proof made by [`JobProver::prove`].
#[derive(Clone, Debug)]
pub struct MadeProof {
    /// The proof.
    pub payload: ProofPayload,
    /// Witness generation and proving, ms (the prover's own verification
    /// excluded: the queue's check measures its own).
    pub prove_ms: f64,
}

/// The keys one process holds and the versions they serve.
pub struct JobProver {
    prover: Arc<BatchProver>,
    versions: CircuitVersions,
}

impl JobProver {
    /// Wraps `prover`'s keys (chunk keys alone, or the whole tree).
    pub fn new(prover: Arc<BatchProver>) -> Result<Self, DistError> {
        let layers = prover.keys.layers.len() == prover.config.layers.len()
            && !prover.keys.layers.is_empty();
        let versions = CircuitVersions::of(&prover.config, &prover.srs, layers)?;
        Ok(Self { prover, versions })
    }

    /// The versions this process can prove and check.
    pub fn versions(&self) -> &CircuitVersions {
        &self.versions
    }

    /// The pipeline prover whose keys these are.
    pub fn batch_prover(&self) -> &Arc<BatchProver> {
        &self.prover
    }

    /// The layer keys of job `job`, after checking the job is one this
    /// process has keys for.
    fn layer_of(&self, job: &JobRecord) -> Result<Option<&LayerKeys>, DistError> {
        let no_keys = || DistError::NoKeys {
            job: job.id,
            kind: job.kind,
            layer: job.layer,
            version: job.circuit_version.clone(),
        };
        if self.versions.of_job(job.kind, job.layer) != Some(job.circuit_version.as_str()) {
            return Err(no_keys());
        }
        match job.kind {
            JobKind::Chunk => Ok(None),
            JobKind::Aggregate | JobKind::Final => self
                .prover
                .keys
                .layers
                .get(job.layer as usize - 1)
                .map(Some)
                .ok_or_else(no_keys),
        }
    }

    /// Proves `job` over its input jobs' accepted proofs (`inputs`, in slot
    /// order; empty for a chunk job). Blocking: run it off async threads.
    pub fn prove(&self, job: &JobRecord, inputs: &[ProofPayload]) -> Result<MadeProof, DistError> {
        let clock = std::time::Instant::now();
        let failed = |reason: String, retryable: bool| DistError::Prove {
            job: job.id,
            reason,
            retryable,
        };
        let layer = self.layer_of(job)?;
        let payload = match layer {
            None => {
                let trace = decode_chunk(&job.input)?;
                let params = self
                    .prover
                    .srs
                    .get(self.prover.config.chunk_k)
                    .map_err(|e| failed(e.to_string(), true))?;
                let p = prove_chunk(&params, &self.prover.keys.chunk, &trace)
                    .map_err(|e| failed(e.to_string(), e.is_retryable()))?;
                ProofPayload {
                    instances: p.snark.instances[0].clone(),
                    proof: p.snark.proof,
                }
            }
            Some(keys) => {
                let node = decode_node(&job.input)?;
                if node.layer != job.layer || node.fan_in as usize != keys.spec.fan_in {
                    return Err(failed(
                        format!("input {node:?} does not match the layer's keys"),
                        false,
                    ));
                }
                let inner = self.inner_protocol(job.layer);
                let snarks: Vec<Snark> = inputs
                    .iter()
                    .map(|p| Snark::new(inner.clone(), vec![p.instances.clone()], p.proof.clone()))
                    .collect();
                let params = self
                    .prover
                    .srs
                    .get(keys.spec.k)
                    .map_err(|e| failed(e.to_string(), true))?;
                match prove_node(&params, keys, snarks)
                    .map_err(|e| failed(e.to_string(), e.is_retryable()))?
                {
                    NodeProof::Snark(s) => ProofPayload {
                        instances: s.instances[0].clone(),
                        proof: s.proof,
                    },
                    NodeProof::Evm { instances, proof } => ProofPayload { instances, proof },
                }
            }
        };
        Ok(MadeProof {
            payload,
            prove_ms: clock.elapsed().as_secs_f64() * 1e3,
        })
    }

    /// The compiled protocol of the proofs layer `layer` (from 1) consumes.
    fn inner_protocol(
        &self,
        layer: u32,
    ) -> snark_verifier_sdk::snark_verifier::verifier::plonk::PlonkProtocol<
        halo2_base::halo2_proofs::halo2curves::bn256::G1Affine,
    > {
        if layer <= 1 {
            self.prover.keys.chunk.protocol.clone()
        } else {
            self.prover.keys.layers[layer as usize - 2].protocol.clone()
        }
    }

    /// Checks `proof` is a valid proof of `job`'s statement (see the module
    /// docs): decodes it, binds its public inputs to the job, and verifies
    /// it natively against this process's pinned key for the job's
    /// version, deciding the accumulator of aggregation proofs. `inputs`:
    /// the input jobs' accepted proofs, in slot order.
    pub fn verify(
        &self,
        job: &JobRecord,
        inputs: &[ProofPayload],
        proof: &[u8],
    ) -> Result<(), String> {
        let layer = self.layer_of(job).map_err(|e| e.to_string())?;
        let p = ProofPayload::decode(proof).map_err(|e| e.to_string())?;
        match layer {
            None => {
                let trace = decode_chunk(&job.input).map_err(|e| e.to_string())?;
                if p.instances != instance(&trace) {
                    return Err("the proof's public inputs are not the job's chunk".into());
                }
                let params = self
                    .prover
                    .srs
                    .get(self.prover.config.chunk_k)
                    .map_err(|e| e.to_string())?;
                let snark = Snark::new(
                    self.prover.keys.chunk.protocol.clone(),
                    vec![p.instances],
                    p.proof,
                );
                if !zklanes_prover::chunk::verify(&params, &self.prover.keys.chunk, &snark) {
                    return Err("the chunk proof does not verify".into());
                }
            }
            Some(keys) => {
                if inputs.len() != keys.spec.fan_in {
                    return Err(format!(
                        "{} input proofs for fan-in {}",
                        inputs.len(),
                        keys.spec.fan_in
                    ));
                }
                check_fold(inputs, job.layer > 1, &p.instances)?;
                let params = self
                    .prover
                    .srs
                    .get(keys.spec.k)
                    .map_err(|e| e.to_string())?;
                if !verify_aggregation(
                    &params,
                    &keys.protocol,
                    &p.instances,
                    &p.proof,
                    keys.spec.evm,
                ) {
                    return Err("the aggregation proof or its accumulator does not verify".into());
                }
            }
        }
        Ok(())
    }
}

/// The transition of a proof's instances: all of them for a chunk proof,
/// those after the accumulator for an aggregation proof.
pub fn transition_of(instances: &[Fr], aggregation: bool) -> Option<PublicInputs> {
    let t = if aggregation {
        instances.get(ACCUMULATOR_LIMBS..)?
    } else {
        instances
    };
    let v: Vec<_> = t.iter().map(to_native).collect();
    v.try_into().ok()
}

/// Checks an aggregation proof's `instances` expose, after the
/// accumulator, the fold of its input proofs' transitions in order
/// (`inner_aggregation`: the inputs are aggregation proofs themselves).
pub fn check_fold(
    inputs: &[ProofPayload],
    inner_aggregation: bool,
    instances: &[Fr],
) -> Result<(), String> {
    let expected =
        folded(inputs, inner_aggregation).ok_or("the input proofs' transitions do not chain")?;
    if instances.len() != ACCUMULATOR_LIMBS + PUBLIC_INPUTS
        || instances[ACCUMULATOR_LIMBS..] != transition_fr(&expected)[..]
    {
        return Err("the proof's transition is not the fold of its input proofs".into());
    }
    Ok(())
}

/// The fold of the inputs' transitions, in order.
fn folded(inputs: &[ProofPayload], aggregation: bool) -> Option<PublicInputs> {
    let parts = inputs
        .iter()
        .map(|p| transition_of(&p.instances, aggregation))
        .collect::<Option<Vec<_>>>()?;
    fold(&parts)
}
