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
use zklanes_executor::l1::L1Batch;

use zklanes_circuits::chunk::ChunkShape;
use zklanes_executor::trace::ChunkTrace;
use zklanes_prover::cache::KeyCache;
use zklanes_prover::chunk::{key_name, keygen_cached, ChunkKeys, ProveError};
use zklanes_prover::pool::{PoolError, ProverPool};
use zklanes_prover::srs::{SrsError, SrsSet};

use crate::layer::{
    keygen_layer, keygen_layer_cached, layer_key_name, prove_node, LayerKeys, LayerSpec, NodeProof,
};
use crate::node::ACCUMULATOR_LIMBS;

/// The keys of a whole tree.
pub struct TreeKeys {
    /// Chunk keys (shared with the prover pool's workers).
    pub chunk: Arc<ChunkKeys>,
    /// Layer keys, bottom up; the last is the EVM layer.
    pub layers: Vec<LayerKeys>,
    /// The final layer's key name (a digest of the whole tree and the SRS).
    pub final_name: String,
    /// How many of the key sets (chunk, then layers) came from the cache.
    pub loaded: usize,
    /// Time to load or generate all keys, ms.
    pub keys_ms: f64,
}

impl TreeKeys {
    /// Chunks one tree holds (the product of the fan-ins).
    pub fn width(&self) -> usize {
        self.layers.iter().map(|l| l.spec.fan_in).product()
    }

    /// The fan-ins of the layers, bottom up.
    pub fn fan_ins(&self) -> Vec<usize> {
        self.layers.iter().map(|l| l.spec.fan_in).collect()
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
    /// SRS parameters could not be had.
    #[error(transparent)]
    Srs(#[from] SrsError),
}

/// Loads or generates the chunk keys and every layer's keys (`layers`
/// bottom up), from and into `cache` when there is one. With no layers,
/// only the chunk keys (a prover of chunk proofs alone).
pub fn keygen_tree(
    srs: &SrsSet,
    shape: &ChunkShape,
    chunk_k: u32,
    layers: &[LayerSpec],
    cache: Option<&KeyCache>,
) -> Result<TreeKeys, TreeError> {
    match layers.last() {
        Some(last) if !last.evm => {
            return Err(TreeError::Shape(
                "the last layer must be the EVM layer".into(),
            ))
        }
        _ => {}
    }
    if layers.iter().rev().skip(1).any(|l| l.evm) {
        return Err(TreeError::Shape(
            "only the last layer may be the EVM layer".into(),
        ));
    }
    for (i, spec) in layers.iter().enumerate() {
        if spec.inner_is_aggregation != (i > 0) || spec.fan_in == 0 {
            return Err(TreeError::Shape(format!(
                "layer {i}: inner proofs are aggregation proofs exactly above the first layer, and fan-in is at least 1"
            )));
        }
    }
    let clock = Instant::now();
    let chunk_params = srs.get(chunk_k)?;
    let (chunk, hit) = keygen_cached(&chunk_params, shape, cache)?;
    let mut loaded = usize::from(hit);
    tracing::info!(
        stage = "keys",
        k = chunk_k,
        cached = hit,
        ms = clock.elapsed().as_secs_f64() * 1e3,
        "chunk keys"
    );
    let mut name = key_name(&chunk_params, shape);
    let mut keys: Vec<LayerKeys> = Vec::with_capacity(layers.len());
    for spec in layers {
        let step = Instant::now();
        let params = srs.get(spec.k)?;
        let inner = keys.last().map_or(&chunk.protocol, |l| &l.protocol);
        name = layer_key_name(&params, &name, *spec);
        let (k, hit) = match cache {
            Some(cache) => keygen_layer_cached(&params, inner, *spec, cache, &name)?,
            None => (keygen_layer(&params, inner, *spec)?, false),
        };
        loaded += usize::from(hit);
        tracing::info!(
            stage = "keys",
            k = spec.k,
            fan_in = spec.fan_in,
            cached = hit,
            ms = step.elapsed().as_secs_f64() * 1e3,
            "layer keys"
        );
        keys.push(k);
    }
    Ok(TreeKeys {
        chunk: Arc::new(chunk),
        layers: keys,
        final_name: name,
        loaded,
        keys_ms: clock.elapsed().as_secs_f64() * 1e3,
    })
}

/// Timings and sizes of one proof of the tree, for metrics.
#[derive(Clone, Debug, serde::Serialize)]
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
    /// The pool worker that proved it (chunk proofs); `None` for
    /// aggregation proofs, which the coordinator proves.
    pub worker: Option<usize>,
}

/// A proven batch.
pub struct BatchProof {
    /// Instances of the final proof: accumulator limbs, then the transition.
    pub instances: Vec<Fr>,
    /// The final proof (Keccak transcript).
    pub proof: Vec<u8>,
    /// One record per proof, chunks first.
    pub records: Vec<ProofRecord>,
    /// Every proof below the final one, in the order of `records`.
    pub inner: Vec<InnerProof>,
    /// Wall time of the chunk proofs on the pool, ms.
    pub chunks_ms: f64,
    /// What the Rollup contract needs besides the proof: the batch's
    /// deposits and withdrawals per (padded) chunk.
    pub l1: L1Batch,
}

/// A chunk or aggregation proof below the final one.
#[derive(Clone, Debug)]
pub struct InnerProof {
    /// 0 for chunk proofs, then the layer number from 1.
    pub layer: usize,
    /// Index within its layer.
    pub index: usize,
    /// Its public inputs.
    pub instances: Vec<Fr>,
    /// The proof (Poseidon transcript).
    pub proof: Vec<u8>,
}

impl BatchProof {
    /// The proven transition `[prev_root, new_root, P, x, y, xn, first_batch, last_batch]`.
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
    progress: &dyn Fn(&ProofRecord),
) -> Result<BatchProof, TreeError> {
    let mut chunks = padded(traces, &keys.chunk.shape, keys.width())?;
    zklanes_executor::l1::set_challenge(&mut chunks, &keys.fan_ins())
        .ok_or_else(|| TreeError::Shape("the chunks' roots do not chain".into()))?;
    let l1 = L1Batch::from_padded(&chunks);
    let clock = Instant::now();
    let (proofs, stats) = pool.prove_all(&chunks)?;
    let chunks_ms = clock.elapsed().as_secs_f64() * 1e3;
    let per_chunk_ms = chunks_ms / chunks.len() as f64;
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
            worker: stats.workers.get(i).copied(),
        })
        .collect();
    records.iter().for_each(progress);
    tracing::debug!(per_chunk_ms, "chunk proofs done");
    let mut inner: Vec<InnerProof> = proofs
        .iter()
        .enumerate()
        .map(|(i, p)| InnerProof {
            layer: 0,
            index: i,
            instances: p.snark.instances[0].clone(),
            proof: p.snark.proof.clone(),
        })
        .collect();
    let mut snarks: Vec<_> = proofs.into_iter().map(|p| p.snark).collect();
    let mut last = None;
    for (l, layer) in keys.layers.iter().enumerate() {
        let params = srs.get(layer.spec.k)?;
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
                worker: None,
            });
            progress(&records[records.len() - 1]);
            match node {
                NodeProof::Snark(s) => {
                    inner.push(InnerProof {
                        layer: l + 1,
                        index: i,
                        instances: s.instances[0].clone(),
                        proof: s.proof.clone(),
                    });
                    next.push(*s)
                }
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
            inner,
            chunks_ms,
            l1,
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
