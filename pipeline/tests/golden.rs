//! Golden fixtures: the SHA-256 of what a change must not alter by
//! accident. The chunk circuit's verifying key (its raw bytes and its
//! transcript representation, which hashes the whole constraint system) for
//! a small shape, and the protocol encodings: a batch (JSON and binary), the
//! chunk traces and public inputs the executor emits, the L1 data (calldata elements),
//! `final.json`, and the `finalize` calldata the Rollup contract reads.
//!
//! A move (a file split, a crate split) passes unchanged. A deliberate
//! change of a constraint or an encoding fails here, listing every digest
//! that moved with its new value: update the constants in the same commit
//! and say why in its message. The final (aggregation) verifying key is
//! pinned where it is derived, in the end-to-end test.

use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use halo2_base::halo2_proofs::halo2curves::ff::PrimeField;
use halo2_base::halo2_proofs::SerdeFormat;
use sha2::{Digest, Sha256};
use snark_verifier_sdk::halo2::aggregation::AggregationConfigParams;
use zklanes_aggregator::node::NODE_INSTANCES;
use zklanes_circuits::chunk::ChunkShape;
use zklanes_circuits::field::to_halo2;
use zklanes_circuits::fixtures;
use zklanes_executor::batch::Encoding;
use zklanes_executor::l1::L1Batch;
use zklanes_executor::params::DEFAULT_CHAIN_ID;
use zklanes_l1::rollup::finalize_calldata;
use zklanes_pipeline::config::ProofConfig;
use zklanes_pipeline::data_dir::DataDir;
use zklanes_pipeline::hex::{bytes_hex, fr_hex};
use zklanes_pipeline::proof_file::{FinalProof, Transition, PROOF_FILE_VERSION};
use zklanes_prover::chunk::{chunk_k, keygen};
use zklanes_prover::srs::dev_params;

/// The chunk circuit of 2 slots (the smallest shape with a slot-to-slot link).
const GOLDEN_SHAPE: ChunkShape = ChunkShape {
    capacity: 2,
    chain_id: DEFAULT_CHAIN_ID,
};

const CHUNK_VK: &str = "b9527e4cd3368dd44064e1d7f7fe83188a889e0be4eaa6df097bd73372a1bce5";
const BATCH_JSON: &str = "4bd1a3fb373160e81c51152d580daff20a47bfa325fbb982910745b808367e6f";
const BATCH_BINARY: &str = "308b4106ac62cc5b30518752c6e34ce151840b52229a705dc1e68fc2410e2ec1";
const CHUNK_TRACES: &str = "e43a08e02d83ca2767e37c3fea5552d9a66daf88deb4df706245046d6b32ae47";
const PUBLIC_INPUTS: &str = "ee0d8e94b11637f493749c3088f6055f570b7e2acf5124c10ad7745af1d864e9";
const L1_BATCH: &str = "b0f1435e4d70426b17014f42e8d5ab3d655f2173415234a260af4c532abfc9df";
const FINAL_JSON: &str = "b045a235a61444125dce650a61ac98a91e6f17e9f5d62a5ca2f5f1b7754bef27";
const FINALIZE_CALLDATA: &str = "494cf66e260c96729514c569c4504c3b40d0cdd26d5ccd0f765c43b67589fed9";

/// Collects every digest that differs from its pin, so one run lists them all.
#[derive(Default)]
struct Golden(Vec<String>);

impl Golden {
    fn check(&mut self, name: &str, bytes: &[u8], pinned: &str) {
        let got = hex::encode(Sha256::digest(bytes));
        if got != pinned {
            self.0.push(format!("{name}: got {got}, pinned {pinned:?}"));
        }
    }

    fn finish(self) {
        assert!(
            self.0.is_empty(),
            "golden digests moved (a constraint or an encoding changed):\n{}",
            self.0.join("\n")
        );
    }
}

#[test]
fn the_chunk_verifying_key_is_pinned() {
    let k = chunk_k(&GOLDEN_SHAPE);
    let keys = keygen(&dev_params(k), &GOLDEN_SHAPE).expect("keygen");
    let mut bytes = Vec::new();
    keys.vk()
        .write(&mut bytes, SerdeFormat::RawBytes)
        .expect("vk encodes");
    // The raw key holds the fixed and permutation commitments; the
    // transcript representation hashes the constraint system too (gates,
    // lookups, column layout), so a changed gate moves it.
    bytes.extend_from_slice(keys.vk().transcript_repr().to_repr().as_ref());
    bytes.extend_from_slice(&serde_json::to_vec(&keys.params).expect("layout encodes"));
    let mut golden = Golden::default();
    golden.check(&format!("chunk verifying key (k = {k})"), &bytes, CHUNK_VK);
    golden.finish();
}

#[test]
fn protocol_encodings_are_pinned() {
    let mut golden = Golden::default();
    let batch = fixtures::showcase_batch(DEFAULT_CHAIN_ID);
    golden.check("batch (JSON)", &batch.encode(Encoding::Json), BATCH_JSON);
    golden.check(
        "batch (binary)",
        &batch.encode(Encoding::Binary),
        BATCH_BINARY,
    );

    // The proof's challenge over the four chunks folded by one node (pins
    // the data encoding, the commitment fold and the challenge's hash).
    let mut traces = fixtures::showcase_chunks(DEFAULT_CHAIN_ID, 3);
    let fan_ins = [traces.len()];
    zklanes_executor::l1::set_challenge(&mut traces, &fan_ins).expect("the roots chain");
    golden.check(
        "chunk traces (JSON)",
        &serde_json::to_vec(&traces).expect("traces encode"),
        CHUNK_TRACES,
    );
    let public: Vec<String> = traces
        .iter()
        .flat_map(|t| t.public_inputs())
        .map(|f| fr_hex(&to_halo2(&f)))
        .collect();
    golden.check(
        "chunk public inputs",
        public.join(",").as_bytes(),
        PUBLIC_INPUTS,
    );

    let l1 = L1Batch::from_padded(&traces);
    golden.check(
        "L1 data (JSON)",
        &serde_json::to_vec(&l1).expect("L1 data encodes"),
        L1_BATCH,
    );

    // A final proof with fixed stand-ins for what a prover randomises (the
    // proof bytes, the key): the file's shape and every field's form are
    // what is pinned.
    let instances: Vec<Fr> = (0..NODE_INSTANCES as u64)
        .map(|i| Fr::from(i * 0x1_0001 + 7))
        .collect();
    let proof: Vec<u8> = (0..1_088u32).map(|i| (i * 31 % 251) as u8).collect();
    let last = traces.last().expect("chunks");
    let first = &traces[0];
    let transition = Transition {
        prev_root: fr_hex(&to_halo2(&first.prev_root)),
        new_root: fr_hex(&to_halo2(&last.new_root)),
        pubdata: fr_hex(&instances[12]),
        challenge: fr_hex(&instances[13]),
        evaluation: fr_hex(&instances[14]),
        challenge_power: fr_hex(&instances[15]),
        first_batch: fr_hex(&Fr::from(7)),
        last_batch: fr_hex(&Fr::from(8)),
    };
    let file = FinalProof {
        version: PROOF_FILE_VERSION,
        batch: 7,
        batches: 2,
        txs: batch.txs.len(),
        chunks: traces.len(),
        config: ProofConfig::two_chunks(3),
        srs: "development (insecure)".into(),
        transition,
        instances: instances.iter().map(fr_hex).collect(),
        proof: bytes_hex(&proof),
        final_circuit: AggregationConfigParams {
            degree: 22,
            num_advice: 3,
            num_lookup_advice: 1,
            num_fixed: 1,
            lookup_bits: 21,
        },
        vk: bytes_hex(&proof[..96]),
        l1: l1.clone(),
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("final.json");
    file.write(&path).expect("final.json writes");
    golden.check(
        "final.json",
        &std::fs::read(&path).expect("final.json reads"),
        FINAL_JSON,
    );
    golden.check(
        "finalize calldata",
        &finalize_calldata(7, 2, &instances, &l1, &proof),
        FINALIZE_CALLDATA,
    );
    // A proof directory missing its calldata gets it back, from final.json
    // alone, as the same bytes; one that has it is left as it is.
    let data = DataDir::new(dir.path());
    assert!(data
        .ensure_calldata(&file, &path)
        .expect("calldata written"));
    let written = std::fs::read_to_string(dir.path().join("finalize.calldata")).unwrap();
    golden.check(
        "finalize calldata (regenerated from final.json)",
        &hex::decode(written.trim_start_matches("0x")).expect("hex"),
        FINALIZE_CALLDATA,
    );
    assert!(!data.ensure_calldata(&file, &path).expect("already there"));
    golden.finish();
}
