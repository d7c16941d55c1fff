//! The proof tree of a batch: chunk proofs, padded to the tree's width with
//! proofs of empty chunks, then every aggregation layer up to the final
//! (EVM) proof.
//!
//! Padding is by real proofs of all-padding chunks that start and end at
//! the batch's last root with empty commitments: they satisfy every
//! constraint of the layers above like any chunk, so no node has a padding
//! flag to get wrong. The batch's public transition is the fold of the
//! padded list along the tree ([`expected_transition`]).

use std::time::Instant;

use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use std::sync::Arc;
use zklanes_circuits::chunk::empty_trace;
use zklanes_circuits::field::to_halo2;
use zklanes_executor::commitments::{fold, PublicInputs};

use zklanes_prover::chunk::{keygen, ChunkKeys, ProveError};
use zklanes_prover::pool::{PoolError, ProverPool};
use zklanes_prover::srs::SrsSet;
use zklanes_prover::{ChunkShape, ChunkTrace};

use crate::layer::{keygen_layer, prove_node, LayerKeys, LayerSpec, NodeProof};
use crate::node::ACCUMULATOR_LIMBS;

/// The keys of a whole tree.
pub struct TreeKeys {
    /// Chunk keys (shared with the prover pool's workers).
    pub chunk: Arc<ChunkKeys>,
    /// Layer keys, bottom up; the last is the EVM layer.
    pub layers: Vec<LayerKeys>,
}

impl TreeKeys {
    /// Chunks one tree holds (the product of the fan-ins).
    pub fn width(&self) -> usize {
        self.layers.iter().map(|l| l.spec.fan_in).product()
    }
}

/// Why a tree could not be built.
#[derive(Debug, thiserror::Error)]
pub enum TreeError {
    /// A proof failed.
    #[error(transparent)]
    Prove(#[from] ProveError),
    /// The prover pool could not prove a chunk.
    #[error(transparent)]
    Pool(#[from] PoolError),
    /// The tree's shape is not usable.
    #[error("bad tree: {0}")]
    Shape(String),
}

/// Generates the chunk keys and every layer's keys (`layers` bottom up).
pub fn keygen_tree(
    srs: &SrsSet,
    shape: &ChunkShape,
    chunk_k: u32,
    layers: &[LayerSpec],
) -> Result<TreeKeys, TreeError> {
    match layers.last() {
        Some(last) if last.evm => {}
        _ => {
            return Err(TreeError::Shape(
                "the last layer must be the EVM layer".into(),
            ))
        }
    }
    if layers[..layers.len() - 1].iter().any(|l| l.evm) {
        return Err(TreeError::Shape(
            "only the last layer may be the EVM layer".into(),
        ));
    }
    let chunk = keygen(&srs.get(chunk_k), shape)?;
    let mut keys: Vec<LayerKeys> = Vec::with_capacity(layers.len());
    for (i, spec) in layers.iter().enumerate() {
        if spec.inner_is_aggregation != (i > 0) {
            return Err(TreeError::Shape(format!(
                "layer {i}: inner proofs are aggregation proofs exactly above the first layer"
            )));
        }
        let inner = keys.last().map_or(&chunk.protocol, |l| &l.protocol);
        let k = keygen_layer(&srs.get(spec.k), inner, *spec)?;
        keys.push(k);
    }
    Ok(TreeKeys {
        chunk: Arc::new(chunk),
        layers: keys,
    })
}

/// Timings and sizes of one proof of the tree, for metrics.
#[derive(Clone, Debug)]
pub struct ProofRecord {
    /// 0 for chunk proofs, then the layer number from 1.
    pub layer: usize,
    /// Index within its layer.
    pub index: usize,
    /// Rows `2^k`.
    pub k: u32,
    /// Advice cells of the circuit.
    pub advice_cells: usize,
    /// Proving time, including witness generation and verification, ms.
    pub ms: f64,
    /// Proof bytes.
    pub proof_bytes: usize,
}

/// A proven batch.
pub struct BatchProof {
    /// Instances of the final proof: accumulator limbs, then the transition.
    pub instances: Vec<Fr>,
    /// The final proof (Keccak transcript).
    pub proof: Vec<u8>,
    /// One record per proof, chunks first.
    pub records: Vec<ProofRecord>,
}

impl BatchProof {
    /// The proven transition `[prev_root, new_root, pubdata, deposits, withdrawals]`.
    pub fn transition(&self) -> &[Fr] {
        &self.instances[ACCUMULATOR_LIMBS..]
    }
}

/// The chunk list padded to the tree's width with empty chunks at the last root.
pub fn padded(
    traces: &[ChunkTrace],
    shape: &ChunkShape,
    width: usize,
) -> Result<Vec<ChunkTrace>, TreeError> {
    let last = traces
        .last()
        .ok_or_else(|| TreeError::Shape("no chunks".into()))?;
    if traces.len() > width {
        return Err(TreeError::Shape(format!(
            "{} chunks for a tree of {width}",
            traces.len()
        )));
    }
    let mut out = traces.to_vec();
    while out.len() < width {
        let mut t = empty_trace(shape, last.new_root);
        t.batch = last.batch;
        t.chunk = out.len() as u32;
        t.content_hash = t.compute_hash();
        out.push(t);
    }
    Ok(out)
}

/// The transition the final proof must expose for `padded` chunks: the
/// fold of each node's children along the tree. `None` if the roots do not chain.
pub fn expected_transition(padded: &[ChunkTrace], fan_ins: &[usize]) -> Option<PublicInputs> {
    let mut level: Vec<PublicInputs> = padded.iter().map(|t| t.public_inputs()).collect();
    for f in fan_ins {
        level = level.chunks(*f).map(fold).collect::<Option<Vec<_>>>()?;
    }
    (level.len() == 1).then(|| level[0])
}

/// Proves a batch's chunks on `pool` (whose workers hold `keys.chunk`) and
/// folds them to the final proof.
pub fn prove_tree(
    srs: &SrsSet,
    keys: &TreeKeys,
    pool: &ProverPool,
    traces: &[ChunkTrace],
) -> Result<BatchProof, TreeError> {
    let chunks = padded(traces, &keys.chunk.shape, keys.width())?;
    let clock = Instant::now();
    let (proofs, _) = pool.prove_all(&chunks)?;
    let per_chunk_ms = clock.elapsed().as_secs_f64() * 1e3 / chunks.len() as f64;
    let mut records: Vec<ProofRecord> = proofs
        .iter()
        .enumerate()
        .map(|(i, p)| ProofRecord {
            layer: 0,
            index: i,
            k: keys.chunk.k,
            advice_cells: keys.chunk.advice_cells,
            ms: p.timings.witness_ms + p.timings.prove_ms + p.timings.verify_ms,
            proof_bytes: p.snark.proof.len(),
        })
        .collect();
    tracing::debug!(per_chunk_ms, "chunk proofs done");
    let mut snarks: Vec<_> = proofs.into_iter().map(|p| p.snark).collect();
    let mut last = None;
    for (l, layer) in keys.layers.iter().enumerate() {
        let params = srs.get(layer.spec.k);
        let mut next = Vec::new();
        for (i, group) in snarks.chunks(layer.spec.fan_in).enumerate() {
            let clock = Instant::now();
            let node = prove_node(&params, layer, group.to_vec())?;
            let bytes = match &node {
                NodeProof::Snark(s) => s.proof.len(),
                NodeProof::Evm { proof, .. } => proof.len(),
            };
            records.push(ProofRecord {
                layer: l + 1,
                index: i,
                k: layer.spec.k,
                advice_cells: layer.advice_cells,
                ms: clock.elapsed().as_secs_f64() * 1e3,
                proof_bytes: bytes,
            });
            match node {
                NodeProof::Snark(s) => next.push(*s),
                evm @ NodeProof::Evm { .. } => last = Some(evm),
            }
        }
        snarks = next;
    }
    match last {
        Some(NodeProof::Evm { instances, proof }) => Ok(BatchProof {
            instances,
            proof,
            records,
        }),
        _ => Err(TreeError::Shape(
            "the tree did not end in one EVM proof".into(),
        )),
    }
}

/// A transition as field elements of the circuits.
pub fn transition_fr(t: &PublicInputs) -> Vec<Fr> {
    t.iter().map(to_halo2).collect()
}
