//! What the proofs of a batch look like ([`ProofConfig`]: the chunk
//! circuit's shape and the aggregation tree). The chunk capacities, one
//! per purpose, are the executor's (`zklanes_executor::params`).

use serde::{Deserialize, Serialize};
use zklanes_aggregator::layer::LayerSpec;
use zklanes_circuits::chunk::ChunkShape;
use zklanes_executor::params::DEFAULT_CHAIN_ID;

/// What the proofs of a batch look like: the chunk circuit and the tree.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ProofConfig {
    /// The chunk circuit's shape.
    pub shape: ChunkShape,
    /// Rows `2^chunk_k` of the chunk circuit.
    pub chunk_k: u32,
    /// The aggregation layers, bottom up; the last uses the EVM transcript.
    pub layers: Vec<LayerSpec>,
}

impl ProofConfig {
    /// The deployed shape: two chunk proofs of `capacity` slots, folded
    /// directly by the final layer (EVM transcript, k = 22; at k = 20 the
    /// generated verifier exceeds the EIP-170 contract size limit). See
    /// [`direct_on`](Self::direct_on).
    pub fn two_chunks(capacity: usize) -> Self {
        Self::two_chunks_on(capacity, DEFAULT_CHAIN_ID)
    }

    /// [`two_chunks`](Self::two_chunks) for chain `chain_id` (bound into
    /// the chunk circuit's signature checks).
    pub fn two_chunks_on(capacity: usize, chain_id: u32) -> Self {
        Self::direct_on(capacity, chain_id, 2)
    }

    /// A batch small enough for one aggregation layer: the final (EVM)
    /// layer verifies `chunks` chunk proofs directly, with no
    /// Poseidon-transcript layer in between (one recursion instead of two).
    pub fn direct_on(capacity: usize, chain_id: u32, chunks: usize) -> Self {
        Self::with_layers(capacity, chain_id, vec![final_layer(chunks, false)])
    }

    /// A batch too large for one layer: a Poseidon-transcript layer of
    /// `fan_in` chunk proofs per node (k = `layer_k`), then the final (EVM)
    /// layer folding one such node (k = 22). Larger trees stack more
    /// Poseidon layers the same way.
    pub fn tree_on(capacity: usize, chain_id: u32, fan_in: usize, layer_k: u32) -> Self {
        let first = LayerSpec {
            fan_in,
            inner_is_aggregation: false,
            evm: false,
            k: layer_k,
        };
        Self::with_layers(capacity, chain_id, vec![first, final_layer(1, true)])
    }

    fn with_layers(capacity: usize, chain_id: u32, layers: Vec<LayerSpec>) -> Self {
        let shape = ChunkShape { capacity, chain_id };
        Self {
            chunk_k: zklanes_prover::chunk::chunk_k(&shape),
            shape,
            layers,
        }
    }

    /// The tree's fan-ins, bottom layer first.
    pub fn fan_ins(&self) -> Vec<usize> {
        self.layers.iter().map(|l| l.fan_in).collect()
    }

    /// Chunk proofs per batch: the tree's width (the product of the fan-ins).
    pub fn width(&self) -> usize {
        self.layers.iter().map(|l| l.fan_in).product()
    }

    /// Transactions one final proof covers.
    pub fn max_txs(&self) -> usize {
        self.width() * self.shape.capacity
    }

    /// `k` of the final (EVM) layer.
    pub fn final_k(&self) -> u32 {
        self.layers.last().map_or(0, |l| l.k)
    }
}

/// The final (EVM-transcript) layer, at k = 22.
fn final_layer(fan_in: usize, inner_is_aggregation: bool) -> LayerSpec {
    LayerSpec {
        fan_in,
        inner_is_aggregation,
        evm: true,
        k: 22,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rules `keygen_tree` enforces: the last layer alone is the EVM
    /// layer, and inner proofs are aggregation proofs exactly above the
    /// first layer.
    fn well_formed(c: &ProofConfig) -> bool {
        let last = c.layers.len() - 1;
        c.layers
            .iter()
            .enumerate()
            .all(|(i, l)| l.evm == (i == last) && l.inner_is_aggregation == (i > 0) && l.fan_in > 0)
    }

    #[test]
    fn the_deployed_shape_folds_two_chunk_proofs_in_the_final_layer() {
        let c = ProofConfig::two_chunks(29);
        assert_eq!(c, ProofConfig::direct_on(29, DEFAULT_CHAIN_ID, 2));
        assert_eq!(c.layers.len(), 1, "one aggregation layer");
        assert!(well_formed(&c));
        assert_eq!((c.width(), c.max_txs(), c.final_k()), (2, 58, 22));
        assert_eq!(c.fan_ins(), vec![2]);
    }

    #[test]
    fn the_tree_puts_a_poseidon_layer_under_the_final_one() {
        let c = ProofConfig::tree_on(29, DEFAULT_CHAIN_ID, 4, 21);
        assert!(well_formed(&c));
        assert_eq!(c.fan_ins(), vec![4, 1]);
        assert_eq!((c.layers[0].k, c.final_k(), c.width()), (21, 22, 4));
        assert!(!c.layers[0].evm && c.layers[1].evm);
    }
}
