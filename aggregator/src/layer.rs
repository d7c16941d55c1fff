//! One layer of the aggregation tree: its keys, and proving one node.
//!
//! A layer's keys are generated from dummy proofs of the inner verifying key
//! (`gen_dummy_snark_from_protocol`), so keygen needs no real proof. The
//! inner key is baked into the circuit, so a layer's keys fit exactly one
//! inner circuit (the chunk shape, or the layer below).

use halo2_base::gates::circuit::CircuitBuilderStage;
use halo2_base::gates::flex_gate::MultiPhaseThreadBreakPoints;
use halo2_base::halo2_proofs::halo2curves::bn256::{Bn256, Fr, G1Affine};
use halo2_base::halo2_proofs::plonk::{keygen_pk, keygen_vk, ProvingKey, VerifyingKey};
use halo2_base::halo2_proofs::poly::kzg::commitment::ParamsKZG;
use halo2_base::halo2_proofs::SerdeFormat;
use snark_verifier_sdk::halo2::aggregation::{AggregationCircuit, AggregationConfigParams};
use snark_verifier_sdk::halo2::gen_dummy_snark_from_protocol;
use snark_verifier_sdk::snark_verifier::system::halo2::{compile, Config};
use snark_verifier_sdk::snark_verifier::verifier::plonk::PlonkProtocol;
use snark_verifier_sdk::{CircuitExt, Snark, SHPLONK};
use zklanes_prover::cache::{catch_read, digest, read_header, srs_id, write_header, KeyCache};
use zklanes_prover::chunk::ProveError;
use zklanes_prover::transcript::{prove_evm, prove_poseidon};

use crate::node::{node_circuit, NODE_INSTANCES};
use crate::verify::verify_aggregation;

/// What a layer is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LayerSpec {
    /// Proofs per node.
    pub fan_in: usize,
    /// The inner proofs are aggregation proofs (else chunk proofs).
    pub inner_is_aggregation: bool,
    /// The final layer: EVM (Keccak) transcript.
    pub evm: bool,
    /// Rows `2^k` of the layer's circuit.
    pub k: u32,
}

/// Keys of one layer.
pub struct LayerKeys {
    /// What the layer is.
    pub spec: LayerSpec,
    /// halo2-base layout from keygen.
    pub config: AggregationConfigParams,
    /// Break points from keygen.
    pub break_points: MultiPhaseThreadBreakPoints,
    /// The proving key.
    pub pk: ProvingKey<G1Affine>,
    /// The verifying key compiled for the next layer (with its accumulator).
    pub protocol: PlonkProtocol<G1Affine>,
    /// Advice cells of the layer's circuit (for metrics).
    pub advice_cells: usize,
}

impl LayerKeys {
    /// The verifying key.
    pub fn vk(&self) -> &VerifyingKey<G1Affine> {
        self.pk.get_vk()
    }
}

/// Generates the keys of a layer over proofs of `inner` (a compiled verifying key).
pub fn keygen_layer(
    params: &ParamsKZG<Bn256>,
    inner: &PlonkProtocol<G1Affine>,
    spec: LayerSpec,
) -> Result<LayerKeys, ProveError> {
    let dummy = gen_dummy_snark_from_protocol::<SHPLONK>(inner.clone());
    let config = AggregationConfigParams {
        degree: spec.k,
        lookup_bits: spec.k as usize - 1,
        ..Default::default()
    };
    let mut circuit = node_circuit(
        CircuitBuilderStage::Keygen,
        config,
        params,
        vec![dummy; spec.fan_in],
        spec.inner_is_aggregation,
    );
    let config = circuit.calculate_params(Some(10));
    let stats = circuit.builder.statistics();
    let advice_cells = stats.gate.total_advice_per_phase.iter().sum::<usize>()
        + stats.total_lookup_advice_per_phase.iter().sum::<usize>();
    let vk = keygen_vk(params, &circuit).map_err(ProveError::halo2("keygen_vk"))?;
    let pk = keygen_pk(params, vk, &circuit).map_err(ProveError::halo2("keygen_pk"))?;
    let break_points = circuit.break_points();
    let protocol = compile_protocol(params, &pk);
    Ok(LayerKeys {
        spec,
        config,
        break_points,
        pk,
        protocol,
        advice_cells,
    })
}

/// The layer's verifying key compiled for the layer above (with its accumulator).
fn compile_protocol(
    params: &ParamsKZG<Bn256>,
    pk: &ProvingKey<G1Affine>,
) -> PlonkProtocol<G1Affine> {
    layer_protocol(params, pk.get_vk())
}

/// An aggregation verifying key compiled for snark-verifier (the layer above,
/// or native verification of a final proof).
pub fn layer_protocol(
    params: &ParamsKZG<Bn256>,
    vk: &VerifyingKey<G1Affine>,
) -> PlonkProtocol<G1Affine> {
    compile(
        params,
        vk,
        Config::kzg()
            .with_num_instance(vec![NODE_INSTANCES])
            .with_accumulator_indices(AggregationCircuit::accumulator_indices()),
    )
}

/// What a cached layer key file holds besides the proving key.
#[derive(serde::Serialize, serde::Deserialize)]
struct LayerKeyHeader {
    spec: LayerSpec,
    config: AggregationConfigParams,
    break_points: MultiPhaseThreadBreakPoints,
    advice_cells: usize,
}

/// The cache entry name of a layer's keys: a digest of the spec, the inner
/// key's entry name (which names the whole chain below), the SRS and the
/// aggregator's sources.
pub fn layer_key_name(params: &ParamsKZG<Bn256>, inner_name: &str, spec: LayerSpec) -> String {
    let d = digest(&[
        b"zklanes layer keys v1",
        &(spec.fan_in as u64).to_le_bytes(),
        &[u8::from(spec.inner_is_aggregation), u8::from(spec.evm)],
        &spec.k.to_le_bytes(),
        inner_name.as_bytes(),
        crate::SOURCE_DIGEST.as_bytes(),
        srs_id(params).as_bytes(),
    ]);
    format!("layer_{}_{}_{}.pk", spec.fan_in, spec.k, &d[..16])
}

/// The keys of a layer from `cache` (entry `name`, see [`layer_key_name`]),
/// or generated and stored on a miss. Returns the keys and whether they were loaded.
pub fn keygen_layer_cached(
    params: &ParamsKZG<Bn256>,
    inner: &PlonkProtocol<G1Affine>,
    spec: LayerSpec,
    cache: &KeyCache,
    name: &str,
) -> Result<(LayerKeys, bool), ProveError> {
    let loaded = cache.load(name, |r| {
        let h: LayerKeyHeader = read_header(r)?;
        let config = h.config;
        let pk = catch_read(|| {
            let mut r = r;
            ProvingKey::<G1Affine>::read::<_, AggregationCircuit>(
                &mut r,
                SerdeFormat::RawBytesUnchecked,
                config,
            )
        })?;
        Ok((h, pk))
    });
    if let Some((h, pk)) = loaded {
        if h.spec == spec {
            return Ok((
                LayerKeys {
                    spec,
                    config: h.config,
                    break_points: h.break_points,
                    protocol: compile_protocol(params, &pk),
                    pk,
                    advice_cells: h.advice_cells,
                },
                true,
            ));
        }
    }
    let keys = keygen_layer(params, inner, spec)?;
    let header = LayerKeyHeader {
        spec,
        config: keys.config,
        break_points: keys.break_points.clone(),
        advice_cells: keys.advice_cells,
    };
    if let Err(e) = cache.store(name, |w| {
        write_header(w, &header)?;
        let mut w = w;
        keys.pk.write(&mut w, SerdeFormat::RawBytesUnchecked)
    }) {
        tracing::warn!(error = %e, "layer keys not cached");
    }
    Ok((keys, false))
}

/// A proven node: the aggregatable snark, or the final EVM proof.
#[derive(Clone, Debug)]
pub enum NodeProof {
    /// A Poseidon-transcript proof for the next layer.
    Snark(Box<Snark>),
    /// The final proof (Keccak transcript) with its instances.
    Evm {
        /// Instances (accumulator limbs then the transition).
        instances: Vec<Fr>,
        /// Proof bytes.
        proof: Vec<u8>,
    },
}

impl NodeProof {
    /// The node's instances.
    pub fn instances(&self) -> &[Fr] {
        match self {
            NodeProof::Snark(s) => &s.instances[0],
            NodeProof::Evm { instances, .. } => instances,
        }
    }
}

/// Proves one node of the layer over `snarks` and verifies it natively.
pub fn prove_node(
    params: &ParamsKZG<Bn256>,
    keys: &LayerKeys,
    snarks: Vec<Snark>,
) -> Result<NodeProof, ProveError> {
    if snarks.len() != keys.spec.fan_in {
        return Err(ProveError::Halo2 {
            stage: "aggregation input",
            reason: format!("{} proofs for fan-in {}", snarks.len(), keys.spec.fan_in),
        });
    }
    let circuit = node_circuit(
        CircuitBuilderStage::Prover,
        keys.config,
        params,
        snarks,
        keys.spec.inner_is_aggregation,
    )
    .use_break_points(keys.break_points.clone());
    let instances = circuit.instances().remove(0);
    let rejected = || ProveError::Halo2 {
        stage: "aggregation verification",
        reason: "the fresh aggregation proof does not verify".into(),
    };
    if keys.spec.evm {
        let proof = prove_evm(params, &keys.pk, circuit, &instances)?;
        if !verify_aggregation(params, &keys.protocol, &instances, &proof, true) {
            return Err(rejected());
        }
        Ok(NodeProof::Evm { instances, proof })
    } else {
        let proof = prove_poseidon(params, &keys.pk, circuit, &instances)?;
        if !verify_aggregation(params, &keys.protocol, &instances, &proof, false) {
            return Err(rejected());
        }
        Ok(NodeProof::Snark(Box::new(Snark::new(
            keys.protocol.clone(),
            vec![instances],
            proof,
        ))))
    }
}
