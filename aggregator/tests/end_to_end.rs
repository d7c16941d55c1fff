//! The real path, end to end, at the smallest configuration that exercises
//! every layer: a batch executed into two chunks (3 slots, k = 15), two real
//! chunk proofs, one aggregation layer (fan-in 2, Poseidon transcript, k = 20), one
//! recursive fold (fan-in 1, Keccak transcript, k = 21), the generated Solidity
//! verifier compiled with the pinned solcjs and run in revm, then the Rollup
//! contract over it. Tampered proofs and public inputs, a skipped batch, a
//! wrong previous root and a replay revert. Development SRS (insecure).

use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use zklanes_aggregator::evm::{verifier_bytecode, verify_in_evm};
use zklanes_aggregator::evm_host::{selector, EvmHost};
use zklanes_aggregator::layer::LayerSpec;
use zklanes_aggregator::node::ACCUMULATOR_LIMBS;
use zklanes_aggregator::rollup_sol::{deployment, finalize_calldata};
use zklanes_aggregator::tree::{
    expected_transition, keygen_tree, padded, prove_tree, transition_fr,
};
use zklanes_aggregator::verify::verify_aggregation;
use zklanes_circuits::field::to_halo2;
use zklanes_circuits::fixtures;
use zklanes_executor::params::DEFAULT_CHAIN_ID;
use zklanes_executor::{Rollup, RollupConfig};
use zklanes_prover::pool::ProverPool;
use zklanes_prover::srs::SrsSet;
use zklanes_prover::ChunkShape;

const SHAPE: ChunkShape = ChunkShape {
    capacity: 3,
    chain_id: DEFAULT_CHAIN_ID,
};
const CHUNK_K: u32 = 15;
/// The first layer (two chunk proofs, about 17.6M cells).
const LAYER_K: u32 = 20;
/// The final layer: at k = 21 its circuit has few enough columns for the
/// generated verifier to fit the EIP-170 contract size limit (at k = 20 it
/// does not).
const FINAL_K: u32 = 21;

#[test]
fn a_batch_settles_through_the_evm_verifier() {
    let srs = SrsSet::development();
    let layers = [
        LayerSpec {
            fan_in: 2,
            inner_is_aggregation: false,
            evm: false,
            k: LAYER_K,
        },
        LayerSpec {
            fan_in: 1,
            inner_is_aggregation: true,
            evm: true,
            k: FINAL_K,
        },
    ];
    let clock = std::time::Instant::now();
    let keys = keygen_tree(&srs, &SHAPE, CHUNK_K, &layers).expect("keygen");
    eprintln!("keygen: {:.0} s", clock.elapsed().as_secs_f64());

    // Six showcase transactions: two chunks (deposits, pool creation,
    // first mint, swap).
    let mut batch = fixtures::showcase_batch(DEFAULT_CHAIN_ID);
    batch.txs.truncate(6);
    let mut rollup = Rollup::in_memory(RollupConfig {
        chunk_capacity: SHAPE.capacity,
        threads: 2,
        ..Default::default()
    });
    let traces = rollup.apply(&batch).expect("valid").chunks;
    assert_eq!(traces.len(), 2);

    let pool = ProverPool::local(2, 1, srs.get(CHUNK_K), keys.chunk.clone(), 2).expect("pool");
    let clock = std::time::Instant::now();
    let proof = prove_tree(&srs, &keys, &pool, &traces).expect("proof tree");
    for r in &proof.records {
        eprintln!(
            "layer {} #{}: k={} cells={} {:.1} s, {} bytes",
            r.layer,
            r.index,
            r.k,
            r.advice_cells,
            r.ms / 1e3,
            r.proof_bytes
        );
    }
    eprintln!("proving: {:.0} s", clock.elapsed().as_secs_f64());

    // The final proof exposes the batch's folded transition.
    let expected = expected_transition(
        &padded(&traces, &SHAPE, keys.width()).expect("fits"),
        &[2, 1],
    )
    .expect("chunks chain");
    assert_eq!(proof.transition(), transition_fr(&expected).as_slice());
    assert_eq!(expected[0], traces[0].prev_root);
    assert_eq!(expected[1], traces[1].new_root);

    // Natively: the proof and every accumulator below it.
    let params = srs.get(FINAL_K);
    let last = &keys.layers[1];
    assert!(verify_aggregation(
        &params,
        &last.protocol,
        &proof.instances,
        &proof.proof,
        true
    ));

    // In the EVM.
    let bytecode = verifier_bytecode(&params, last.vk()).expect("verifier compiles");
    let gas = verify_in_evm(&bytecode, &proof.instances, &proof.proof).expect("EVM accepts");
    eprintln!(
        "EVM verification: {gas} gas, verifier {} bytes",
        bytecode.len()
    );

    let mut bad_proof = proof.proof.clone();
    bad_proof[100] ^= 1;
    assert!(verify_in_evm(&bytecode, &proof.instances, &bad_proof).is_err());
    assert!(!verify_aggregation(
        &params,
        &last.protocol,
        &proof.instances,
        &bad_proof,
        true
    ));
    for i in [
        0,
        ACCUMULATOR_LIMBS,
        ACCUMULATOR_LIMBS + 1,
        ACCUMULATOR_LIMBS + 4,
    ] {
        let mut bad = proof.instances.clone();
        bad[i] += Fr::one();
        assert!(
            verify_in_evm(&bytecode, &bad, &proof.proof).is_err(),
            "instance {i} not bound"
        );
        assert!(!verify_aggregation(
            &params,
            &last.protocol,
            &bad,
            &proof.proof,
            true
        ));
    }
}

/// The Rollup contract over the real verifier: a tampered proof, a tampered
/// public input, a skipped batch, a wrong previous root and a replayed
/// batch revert; the batch finalizes once and advances the stored root.
fn settle_through_the_rollup_contract(
    verifier_code: &[u8],
    instances: &[Fr],
    proof: &[u8],
    traces: &[zklanes_executor::trace::ChunkTrace],
) {
    let mut host = EvmHost::new();
    let verifier = host.deploy(verifier_code).expect("verifier deploys");
    let genesis = to_halo2(&traces[0].prev_root);
    let rollup = host
        .deploy(&deployment(verifier, &genesis).expect("compiles"))
        .expect("rollup deploys");
    let elsewhere = host
        .deploy(&deployment(verifier, &(genesis + Fr::one())).expect("compiles"))
        .expect("rollup deploys");
    let finalize = |batch, inst: &[Fr], p: &[u8]| finalize_calldata(batch, inst, p);
    // A wrong previous root.
    assert!(host.call(elsewhere, finalize(0, instances, proof)).is_err());
    // A skipped batch.
    assert!(host.call(rollup, finalize(1, instances, proof)).is_err());
    // A tampered proof.
    let mut bad_proof = proof.to_vec();
    bad_proof[64] ^= 1;
    assert!(host
        .call(rollup, finalize(0, instances, &bad_proof))
        .is_err());
    // A tampered public input (the new root, then the deposit commitment).
    for i in [ACCUMULATOR_LIMBS + 1, ACCUMULATOR_LIMBS + 3] {
        let mut bad = instances.to_vec();
        bad[i] += Fr::one();
        assert!(
            host.call(rollup, finalize(0, &bad, proof)).is_err(),
            "instance {i}"
        );
    }
    // The batch settles, and the stored root advances.
    let done = host
        .call(rollup, finalize(0, instances, proof))
        .expect("finalizes");
    eprintln!("Rollup.finalize: {} gas (transaction included)", done.gas);
    let root = host
        .call(rollup, selector("stateRoot()").to_vec())
        .expect("reads");
    let mut expected = to_halo2(&traces[traces.len() - 1].new_root).to_bytes();
    expected.reverse();
    assert_eq!(root.output, expected.to_vec());
    // A replay, under the same or the next number.
    assert!(host.call(rollup, finalize(0, instances, proof)).is_err());
    assert!(host.call(rollup, finalize(1, instances, proof)).is_err());
}
