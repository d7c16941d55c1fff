//! The proof DAG of a batch (or bundle) as queue jobs: the same tree the
//! in-process pipeline proves ([`zklanes_aggregator::tree::prove_tree`]),
//! one job per proof.
//!
//! At the final level the chunks are padded to the tree's width and carry
//! the batch's challenge, exactly as in process; each aggregation node
//! consumes its children's proofs in order, and the last layer's one node is
//! the final (EVM) job. At the chunk level the chunk traces are proven as
//! they are, and nothing is aggregated.

use zklanes_aggregator::tree::{expected_transition, padded};
use zklanes_executor::commitments::PublicInputs;
use zklanes_executor::l1::{set_challenge, L1Batch};
use zklanes_executor::trace::ChunkTrace;
use zklanes_pipeline::config::ProofConfig;
use zklanes_queue::{JobKind, NewJob};

use crate::error::DistError;
use crate::payload::{encode_chunk, encode_node, NodeInput};
use crate::versions::CircuitVersions;

/// How far a batch is proven.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// Chunk proofs, every aggregation layer and the final EVM proof.
    Final,
    /// Chunk proofs only.
    Chunks,
}

/// A batch's jobs and what its final proof must show.
#[derive(Clone, Debug)]
pub struct Plan {
    /// The queue's batch key (the first batch of a bundle).
    pub batch: i64,
    /// The jobs, children before parents (chunks, then each layer).
    pub jobs: Vec<NewJob>,
    /// The chunks proven (padded, with the challenge, at the final level).
    pub chunks: Vec<ChunkTrace>,
    /// The transition the final proof must expose (final level).
    pub expected: Option<PublicInputs>,
    /// The batch's L1 data (final level).
    pub l1: Option<L1Batch>,
}

/// Plans the jobs of batch `batch` over `traces`.
pub fn plan(
    batch: i64,
    traces: &[ChunkTrace],
    config: &ProofConfig,
    versions: &CircuitVersions,
    level: Level,
    max_attempts: u32,
) -> Result<Plan, DistError> {
    let mismatch = |reason: String| DistError::Mismatch { batch, reason };
    let max_attempts = max_attempts.max(1);
    if traces.is_empty() {
        return Err(mismatch("no chunks".into()));
    }
    let (chunks, expected, l1) = match level {
        Level::Chunks => (traces.to_vec(), None, None),
        Level::Final => {
            if versions.layers.len() != config.layers.len() || config.layers.is_empty() {
                return Err(mismatch(
                    "the versions do not cover the configuration's layers".into(),
                ));
            }
            let mut chunks = padded(traces, &config.shape, config.width())
                .map_err(|e| mismatch(e.to_string()))?;
            set_challenge(&mut chunks, &config.fan_ins())
                .ok_or_else(|| mismatch("the chunks' roots do not chain".into()))?;
            let expected = expected_transition(&chunks, &config.fan_ins())
                .ok_or_else(|| mismatch("the chunks' roots do not chain".into()))?;
            let l1 = L1Batch::from_padded(&chunks);
            (chunks, Some(expected), Some(l1))
        }
    };
    let mut jobs: Vec<NewJob> = chunks
        .iter()
        .enumerate()
        .map(|(i, t)| {
            NewJob::new(
                batch,
                JobKind::Chunk,
                0,
                i as u32,
                versions.chunk.clone(),
                encode_chunk(t),
            )
            .with_max_attempts(max_attempts)
        })
        .collect();
    if level == Level::Final {
        // Indexes (into `jobs`) of the layer below.
        let mut below: Vec<usize> = (0..jobs.len()).collect();
        let top = config.layers.len();
        for (l, spec) in config.layers.iter().enumerate() {
            let layer = l as u32 + 1;
            let kind = if l + 1 == top {
                JobKind::Final
            } else {
                JobKind::Aggregate
            };
            let mut next = Vec::new();
            for (position, group) in below.chunks(spec.fan_in).enumerate() {
                if group.len() != spec.fan_in {
                    return Err(mismatch(format!(
                        "layer {layer}: {} proofs do not divide into fan-in {}",
                        below.len(),
                        spec.fan_in
                    )));
                }
                next.push(jobs.len());
                jobs.push(
                    NewJob::new(
                        batch,
                        kind,
                        layer,
                        position as u32,
                        versions.layers[l].clone(),
                        encode_node(NodeInput {
                            layer,
                            fan_in: spec.fan_in as u32,
                        }),
                    )
                    .with_inputs(group.to_vec())
                    .with_max_attempts(max_attempts),
                );
            }
            below = next;
        }
        if below.len() != 1 {
            return Err(mismatch(format!("the tree ends in {} proofs", below.len())));
        }
    }
    Ok(Plan {
        batch,
        jobs,
        chunks,
        expected,
        l1,
    })
}
