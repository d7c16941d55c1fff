//! Chunk keys, proofs and verification.
//!
//! Keys come from the Keygen stage over an all-padding trace: the circuit's
//! layout does not depend on the witness (every slot is the same universal
//! slot), so one set of keys proves every trace of the shape. Proofs use the
//! Prover stage with the keygen break points, SHPLONK and the Poseidon
//! transcript snark-verifier aggregates; every proof is verified before it
//! is returned.

use halo2_base::gates::circuit::builder::BaseCircuitBuilder;
use halo2_base::gates::circuit::{BaseCircuitParams, CircuitBuilderStage};
use halo2_base::gates::flex_gate::MultiPhaseThreadBreakPoints;
use halo2_base::halo2_proofs::halo2curves::bn256::{Bn256, Fr, G1Affine};
use halo2_base::halo2_proofs::plonk::{keygen_pk, keygen_vk, Circuit, ProvingKey, VerifyingKey};
use halo2_base::halo2_proofs::poly::commitment::Params;
use halo2_base::halo2_proofs::poly::kzg::commitment::ParamsKZG;
use snark_verifier_sdk::snark_verifier::system::halo2::{compile, Config};
use snark_verifier_sdk::snark_verifier::verifier::plonk::PlonkProtocol;
use snark_verifier_sdk::Snark;
use zklanes_circuits::chunk::layout::{chunk_layout, LOOKUP_BITS};
use zklanes_circuits::chunk::{build_circuit, empty_trace, ChunkError, ChunkShape};
use zklanes_circuits::field::to_halo2;
use zklanes_executor::trace::ChunkTrace;

/// Why a chunk could not be proven.
#[derive(Debug, thiserror::Error)]
pub enum ProveError {
    /// The trace does not fit the circuit.
    #[error("chunk {chunk}: {source}")]
    Trace {
        /// Chunk index.
        chunk: u32,
        /// Why.
        source: ChunkError,
    },
    /// halo2 failed (keygen or proving).
    #[error("halo2 {stage} failed: {reason}")]
    Halo2 {
        /// Which stage.
        stage: &'static str,
        /// halo2's error.
        reason: String,
    },
    /// The fresh proof did not verify (a bug or a bad witness).
    #[error("chunk {chunk}: the proof does not verify against its public inputs")]
    Rejected {
        /// Chunk index.
        chunk: u32,
    },
    /// A worker did not answer (crashed, timed out, lost).
    #[error("worker {worker} failed on chunk {chunk}: {reason}")]
    WorkerLost {
        /// Worker id.
        worker: usize,
        /// Chunk index.
        chunk: u32,
        /// What happened.
        reason: String,
    },
}

impl ProveError {
    /// Maps a halo2 error of `stage` to [`ProveError::Halo2`].
    pub fn halo2(stage: &'static str) -> impl Fn(halo2_base::halo2_proofs::plonk::Error) -> Self {
        move |e| ProveError::Halo2 {
            stage,
            reason: format!("{e:?}"),
        }
    }

    /// Whether trying again may succeed: a lost worker or a halo2 failure
    /// (resources) may be transient; a trace that does not fit the circuit,
    /// or a witness whose proof does not verify, fails the same way again.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            ProveError::WorkerLost { .. } | ProveError::Halo2 { .. }
        )
    }
}

/// Keys and layout of one chunk shape.
pub struct ChunkKeys {
    /// The shape.
    pub shape: ChunkShape,
    /// Rows are `2^k`.
    pub k: u32,
    /// The proving key (holds the verifying key).
    pub pk: ProvingKey<G1Affine>,
    /// halo2-base layout parameters from keygen.
    pub params: BaseCircuitParams,
    /// halo2-base break points from keygen.
    pub break_points: MultiPhaseThreadBreakPoints,
    /// The verifying key compiled for snark-verifier (what aggregation pins).
    pub protocol: PlonkProtocol<G1Affine>,
    /// Advice cells of the circuit (for metrics), measured once at keygen.
    pub advice_cells: usize,
}

impl ChunkKeys {
    /// The verifying key.
    pub fn vk(&self) -> &VerifyingKey<G1Affine> {
        self.pk.get_vk()
    }
}

/// The smallest `k` for `shape`.
pub fn chunk_k(shape: &ChunkShape) -> u32 {
    chunk_layout(shape).1 as u32
}

fn builder(stage: CircuitBuilderStage, k: u32) -> BaseCircuitBuilder<Fr> {
    BaseCircuitBuilder::<Fr>::from_stage(stage)
        .use_k(k as usize)
        .use_lookup_bits(LOOKUP_BITS)
        .use_instance_columns(1)
}

/// Generates the keys of `shape` with `params` (of size `2^k`, `k` from [`chunk_k`]).
pub fn keygen(params: &ParamsKZG<Bn256>, shape: &ChunkShape) -> Result<ChunkKeys, ProveError> {
    let k = params.k();
    let empty = empty_trace(shape, Default::default());
    let circuit = build_circuit(
        builder(CircuitBuilderStage::Keygen, k),
        &empty,
        shape,
        |_, _| {},
    )
    .map_err(|source| ProveError::Trace { chunk: 0, source })?;
    let vk = keygen_vk(params, &circuit).map_err(ProveError::halo2("keygen_vk"))?;
    let pk = keygen_pk(params, vk, &circuit).map_err(ProveError::halo2("keygen_pk"))?;
    let protocol = compile_protocol(params, &pk);
    Ok(ChunkKeys {
        protocol,
        advice_cells: chunk_layout(shape).0.total_advice(),
        shape: *shape,
        k,
        pk,
        params: circuit.builder.params(),
        break_points: circuit.builder.break_points(),
    })
}

/// What a cached chunk key file holds besides the proving key.
#[derive(serde::Serialize, serde::Deserialize)]
struct ChunkKeyHeader {
    shape: ChunkShape,
    k: u32,
    params: BaseCircuitParams,
    break_points: MultiPhaseThreadBreakPoints,
    advice_cells: usize,
}

/// The cache entry name of the keys of `shape` under `params`: a digest of
/// the shape, `k`, the SRS and the sources that lay the circuit out.
pub fn key_name(params: &ParamsKZG<Bn256>, shape: &ChunkShape) -> String {
    let d = crate::cache::digest(&[
        b"zklanes chunk keys v1",
        &shape.capacity.to_le_bytes(),
        &shape.chain_id.to_le_bytes(),
        &params.k().to_le_bytes(),
        &(LOOKUP_BITS as u64).to_le_bytes(),
        crate::SOURCE_DIGEST.as_bytes(),
        crate::cache::srs_id(params).as_bytes(),
    ]);
    format!("chunk_{}_{}_{}.pk", shape.capacity, params.k(), &d[..16])
}

/// The keys of `shape` from `cache`, or generated (and stored) on a miss.
/// Returns the keys and whether they were loaded.
pub fn keygen_cached(
    params: &ParamsKZG<Bn256>,
    shape: &ChunkShape,
    cache: Option<&crate::cache::KeyCache>,
) -> Result<(ChunkKeys, bool), ProveError> {
    use halo2_base::halo2_proofs::SerdeFormat;
    let Some(cache) = cache else {
        return keygen(params, shape).map(|k| (k, false));
    };
    let name = key_name(params, shape);
    let loaded = cache.load(&name, |r| {
        let h: ChunkKeyHeader = crate::cache::read_header(r)?;
        let bp = h.params.clone();
        let pk = crate::cache::catch_read(|| {
            let mut r = r;
            ProvingKey::<G1Affine>::read::<_, zklanes_circuits::hash_table::HashedCircuit>(
                &mut r,
                SerdeFormat::RawBytesUnchecked,
                bp,
            )
        })?;
        Ok((h, pk))
    });
    if let Some((h, pk)) = loaded {
        if h.shape == *shape && h.k == params.k() {
            let protocol = compile_protocol(params, &pk);
            return Ok((
                ChunkKeys {
                    shape: h.shape,
                    k: h.k,
                    pk,
                    params: h.params,
                    break_points: h.break_points,
                    protocol,
                    advice_cells: h.advice_cells,
                },
                true,
            ));
        }
    }
    let keys = keygen(params, shape)?;
    let header = ChunkKeyHeader {
        shape: keys.shape,
        k: keys.k,
        params: keys.params.clone(),
        break_points: keys.break_points.clone(),
        advice_cells: keys.advice_cells,
    };
    if let Err(e) = cache.store(&name, |w| {
        crate::cache::write_header(w, &header)?;
        let mut w = w;
        keys.pk.write(&mut w, SerdeFormat::RawBytesUnchecked)
    }) {
        tracing::warn!(error = %e, "chunk keys not cached");
    }
    Ok((keys, false))
}

/// The chunk verifying key compiled for snark-verifier.
fn compile_protocol(
    params: &ParamsKZG<Bn256>,
    pk: &ProvingKey<G1Affine>,
) -> PlonkProtocol<G1Affine> {
    compile(
        params,
        pk.get_vk(),
        Config::kzg().with_num_instance(vec![PUBLIC_INPUTS]),
    )
}

/// Public inputs of a chunk proof (`zklanes_executor::commitments::PublicInputs`).
pub const PUBLIC_INPUTS: usize = zklanes_executor::commitments::PUBLIC_INPUTS;

/// The public inputs of a trace as the circuit's instance column.
pub fn instance(trace: &ChunkTrace) -> Vec<Fr> {
    trace.public_inputs().iter().map(to_halo2).collect()
}

/// Timings of one proof.
#[derive(Clone, Copy, Debug, Default)]
pub struct ProofTimings {
    /// Witness generation (building the circuit), ms.
    pub witness_ms: f64,
    /// `create_proof`, ms.
    pub prove_ms: f64,
    /// Verification, ms.
    pub verify_ms: f64,
}

/// A verified chunk proof, ready for aggregation: the proof with the
/// Poseidon transcript, the chunk's public inputs and the compiled protocol
/// of the chunk verifying key.
#[derive(Clone, Debug)]
pub struct ChunkProof {
    /// Chunk index in its batch.
    pub chunk: u32,
    /// The proof as snark-verifier consumes it.
    pub snark: Snark,
    /// Timings.
    pub timings: ProofTimings,
}

/// Proves `trace` and verifies the proof before returning it.
pub fn prove(
    params: &ParamsKZG<Bn256>,
    keys: &ChunkKeys,
    trace: &ChunkTrace,
) -> Result<ChunkProof, ProveError> {
    let clock = std::time::Instant::now();
    let b = BaseCircuitBuilder::prover(keys.params.clone(), keys.break_points.clone());
    let circuit =
        build_circuit(b, trace, &keys.shape, |_, _| {}).map_err(|source| ProveError::Trace {
            chunk: trace.chunk,
            source,
        })?;
    let witness_ms = clock.elapsed().as_secs_f64() * 1e3;
    let inst = instance(trace);
    let clock = std::time::Instant::now();
    let proof = crate::transcript::prove_poseidon(params, &keys.pk, circuit, &inst)?;
    let prove_ms = clock.elapsed().as_secs_f64() * 1e3;
    let clock = std::time::Instant::now();
    if !crate::transcript::verify_poseidon(params, keys.vk(), &proof, &inst) {
        return Err(ProveError::Rejected { chunk: trace.chunk });
    }
    let verify_ms = clock.elapsed().as_secs_f64() * 1e3;
    Ok(ChunkProof {
        chunk: trace.chunk,
        snark: Snark::new(keys.protocol.clone(), vec![inst], proof),
        timings: ProofTimings {
            witness_ms,
            prove_ms,
            verify_ms,
        },
    })
}

/// Verifies a chunk proof (snark) against its instance with the chunk keys.
pub fn verify(params: &ParamsKZG<Bn256>, keys: &ChunkKeys, snark: &Snark) -> bool {
    snark.instances.len() == 1
        && crate::transcript::verify_poseidon(params, keys.vk(), &snark.proof, &snark.instances[0])
}
