//! The check a proof must pass before the queue accepts it binds the proof
//! to its job: claimed-output tests with real chunk proofs (3-slot chunks,
//! k = 15, development SRS) and real traces. A valid proof presented for
//! another job, a proof with another job's public inputs, a damaged or
//! truncated proof, and an aggregation result that is not the fold of its
//! inputs (in order) are each refused.

use std::sync::Arc;

use zklanes_aggregator::node::ACCUMULATOR_LIMBS;
use zklanes_aggregator::tree::transition_fr;
use zklanes_distributed::job_prover::{check_fold, JobProver};
use zklanes_distributed::payload::{encode_chunk, ProofPayload};
use zklanes_executor::commitments::fold;
use zklanes_executor::genbatch::{generate, GenConfig, Workload};
use zklanes_executor::params::DEFAULT_CHAIN_ID;
use zklanes_executor::trace::ChunkTrace;
use zklanes_executor::{Rollup, RollupConfig};
use zklanes_pipeline::batch_prover::BatchProver;
use zklanes_pipeline::config::ProofConfig;
use zklanes_pipeline::setup::ProverSetup;
use zklanes_queue::{JobId, JobKind, JobRecord};

fn traces() -> Vec<ChunkTrace> {
    let batch = generate(&GenConfig {
        workload: Workload::Compact,
        txs: 6,
        accounts: 3,
        seed: 5,
        chain_id: DEFAULT_CHAIN_ID,
        sign: true,
    })
    .into_batch(DEFAULT_CHAIN_ID);
    let mut r = Rollup::in_memory(RollupConfig {
        chunk_capacity: 3,
        threads: 2,
        ..Default::default()
    });
    let out = r.apply(&batch).expect("valid");
    assert!(out.chunks.len() >= 2);
    out.chunks
}

fn job(id: i64, position: u32, version: &str, trace: &ChunkTrace) -> JobRecord {
    JobRecord {
        id: JobId(id),
        batch: 0,
        kind: JobKind::Chunk,
        layer: 0,
        position,
        circuit_version: version.to_string(),
        input: encode_chunk(trace),
        attempts: 1,
        max_attempts: 3,
    }
}

#[test]
fn a_chunk_proof_is_accepted_for_its_own_job_only() {
    let cache = std::env::var_os("ZKLANES_CACHE_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("zklanes-cache")
        });
    let setup = ProverSetup::with_workers(Some(cache), 1);
    let prover = BatchProver::open_chunks(ProofConfig::two_chunks(3), &setup).unwrap();
    let prover = JobProver::new(Arc::new(prover)).unwrap();
    let version = prover.versions().chunk.clone();
    let ts = traces();
    let (j0, j1) = (job(1, 0, &version, &ts[0]), job(2, 1, &version, &ts[1]));
    let made = prover.prove(&j0, &[]).unwrap();
    let good = made.payload.encode();
    prover.verify(&j0, &[], &good).unwrap();

    // The same valid proof, presented for another chunk's job.
    let err = prover.verify(&j1, &[], &good).unwrap_err();
    assert!(err.contains("not the job's chunk"), "{err}");
    // The proof with the other chunk's public inputs (a claimed output).
    let claimed = ProofPayload {
        instances: zklanes_prover::chunk::instance(&ts[1]),
        proof: made.payload.proof.clone(),
    };
    let err = prover.verify(&j1, &[], &claimed.encode()).unwrap_err();
    assert!(err.contains("does not verify"), "{err}");
    // One instance changed.
    let mut tampered = made.payload.clone();
    tampered.instances[1] += halo2_base::halo2_proofs::halo2curves::bn256::Fr::from(1u64);
    assert!(prover.verify(&j0, &[], &tampered.encode()).is_err());
    // A damaged transcript, a truncated one, an empty one.
    let mut damaged = made.payload.clone();
    let mid = damaged.proof.len() / 2;
    damaged.proof[mid] ^= 1;
    assert!(prover.verify(&j0, &[], &damaged.encode()).is_err());
    let mut short = made.payload.clone();
    short.proof.truncate(short.proof.len() - 32);
    assert!(prover.verify(&j0, &[], &short.encode()).is_err());
    let mut none = made.payload.clone();
    none.proof.clear();
    assert!(prover.verify(&j0, &[], &none.encode()).is_err());
    // Not a proof payload at all.
    assert!(prover.verify(&j0, &[], b"junk").is_err());
    // A job of another circuit version is not this process's to check.
    let foreign = job(3, 0, "chunk_3_15_0000000000000000.pk", &ts[0]);
    let err = prover.verify(&foreign, &[], &good).unwrap_err();
    assert!(err.contains("no keys"), "{err}");
}

/// Payloads exposing `t` as a chunk proof would (no proof bytes: the fold
/// check runs before any verification).
fn chunk_payload(t: &ChunkTrace) -> ProofPayload {
    ProofPayload {
        instances: zklanes_prover::chunk::instance(t),
        proof: vec![],
    }
}

#[test]
fn an_aggregation_result_must_be_the_fold_of_its_inputs_in_order() {
    let ts = traces();
    let (a, b) = (&ts[0], &ts[1]);
    let inputs = [chunk_payload(a), chunk_payload(b)];
    let folded = fold(&[a.public_inputs(), b.public_inputs()]).expect("chained");
    let limbs =
        vec![halo2_base::halo2_proofs::halo2curves::bn256::Fr::from(0u64); ACCUMULATOR_LIMBS];
    let honest: Vec<_> = limbs
        .iter()
        .copied()
        .chain(transition_fr(&folded))
        .collect();
    check_fold(&inputs, false, &honest).unwrap();

    // Every element of the transition is bound.
    for i in ACCUMULATOR_LIMBS..honest.len() {
        let mut claimed = honest.clone();
        claimed[i] += halo2_base::halo2_proofs::halo2curves::bn256::Fr::from(1u64);
        assert!(check_fold(&inputs, false, &claimed).is_err(), "element {i}");
    }
    // Inputs out of order do not chain; one input alone folds to another
    // transition; a result without its accumulator is refused.
    assert!(check_fold(&[chunk_payload(b), chunk_payload(a)], false, &honest).is_err());
    assert!(check_fold(&inputs[..1], false, &honest).is_err());
    assert!(check_fold(&inputs, false, &honest[ACCUMULATOR_LIMBS..]).is_err());
    // Aggregation inputs are read after their accumulator.
    let agg_inputs: Vec<ProofPayload> = inputs
        .iter()
        .map(|p| ProofPayload {
            instances: limbs.iter().copied().chain(p.instances.clone()).collect(),
            proof: vec![],
        })
        .collect();
    check_fold(&agg_inputs, true, &honest).unwrap();
    assert!(check_fold(&agg_inputs, false, &honest).is_err());
}
