//! Behind a flag (`cargo test --release -p zklanes-pipeline --test vk_pinning -- --ignored`,
//! about 8 minutes and 13 GB on 2 cores): the aggregation layer pins the
//! chunk verifying key. The attack it stops: valid proofs of *another*
//! chunk circuit with the same layout (here the chunk circuit of another
//! chain id, which is a circuit constant: same columns and rows, different
//! fixed commitments; a circuit missing a constraint would look the same
//! to the layer) folded as if they were proofs of ours. The first layer's
//! prover (the final layer's, in the deployed shape that folds the chunk
//! proofs directly), with the keys generated for our chunk key, cannot
//! produce a valid aggregation proof from them: `prove_node`'s own verification refuses it.
//! The genuine path through the same keys is the end-to-end test.

use std::path::PathBuf;

use zklanes_aggregator::layer::prove_node;
use zklanes_circuits::chunk::ChunkShape;
use zklanes_executor::genbatch::{generate, GenConfig, Workload};
use zklanes_executor::params::{DEFAULT_CHAIN_ID, DEMO_CHUNK_CAPACITY};
use zklanes_executor::{Rollup, RollupConfig};
use zklanes_pipeline::batch_prover::BatchProver;
use zklanes_pipeline::config::ProofConfig;
use zklanes_pipeline::setup::ProverSetup;
use zklanes_pipeline::vk_file::vk_hex;
use zklanes_prover::chunk::{keygen_cached, prove};

fn cache_dir() -> PathBuf {
    std::env::var_os("ZKLANES_CACHE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("zklanes-cache"))
}

#[test]
#[ignore = "slow (a first-layer aggregation proof): cargo test --release -p zklanes-pipeline --test vk_pinning -- --ignored"]
fn the_aggregation_layer_refuses_proofs_of_another_chunk_circuit() {
    let config = ProofConfig::two_chunks(DEMO_CHUNK_CAPACITY);
    let prover = BatchProver::open(
        config.clone(),
        &ProverSetup::with_workers(Some(cache_dir()), 1),
    )
    .expect("our keys");
    let cache = zklanes_prover::cache::KeyCache::new(cache_dir()).unwrap();
    let chunk_params = prover.srs.get(config.chunk_k).expect("chunk SRS");

    // Another chunk circuit of the same layout, its keys, and real proofs
    // of a batch on that chain.
    let other_chain = DEFAULT_CHAIN_ID + 1;
    let shape = ChunkShape {
        capacity: DEMO_CHUNK_CAPACITY,
        chain_id: other_chain,
    };
    let (foreign, _) = keygen_cached(&chunk_params, &shape, Some(&cache)).expect("keygen");
    assert_eq!(foreign.k, prover.keys.chunk.k, "same layout");
    assert_ne!(
        vk_hex(foreign.pk.get_vk()),
        vk_hex(prover.keys.chunk.pk.get_vk()),
        "another verifying key"
    );
    let batch = generate(&GenConfig {
        workload: Workload::Compact,
        txs: 44,
        accounts: 4,
        seed: 7,
        chain_id: other_chain,
        sign: true,
    })
    .into_batch(other_chain);
    let mut rollup = Rollup::in_memory(RollupConfig {
        chain_id: other_chain,
        chunk_capacity: DEMO_CHUNK_CAPACITY,
        threads: 2,
        ..Default::default()
    });
    let traces = rollup.apply(&batch).expect("valid on its chain").chunks;
    assert_eq!(traces.len(), 2);
    let snarks: Vec<_> = traces
        .iter()
        .map(|t| {
            prove(&chunk_params, &foreign, t)
                .expect("a valid foreign proof")
                .snark
        })
        .collect();

    // The first aggregation layer (in the deployed two-chunk shape the
    // final one itself), pinned to our chunk key, refuses them.
    let layer = &prover.keys.layers[0];
    let params = prover.srs.get(layer.spec.k).expect("layer SRS");
    let refused = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        prove_node(&params, layer, snarks)
    })) {
        Ok(Ok(_)) => false,
        Ok(Err(e)) => {
            eprintln!("refused: {e}");
            true
        }
        Err(_) => {
            eprintln!("refused: the prover panicked");
            true
        }
    };
    assert!(
        refused,
        "an aggregation proof over foreign chunk proofs verified"
    );
}
