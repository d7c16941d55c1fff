//! The chunk circuit proves what the executor did, on real executor traces:
//! deposits (creating accounts and topping up existing ones) and padding.
//! Every public input is bound, the witness is not trusted, and padding
//! flags are constrained.

mod common;

use halo2_base::gates::circuit::builder::BaseCircuitBuilder;
use halo2_base::gates::circuit::CircuitBuilderStage;
use halo2_base::halo2_proofs::dev::MockProver;
use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use zklanes_circuits::chunk::{assign_chunk, ChunkChips, ChunkError};
use zklanes_circuits::ecc::EccChip;
use zklanes_circuits::field::to_halo2;
use zklanes_circuits::hash_table::{HashTable, HashedCircuit};
use zklanes_circuits::scalar_mul::ScalarMulTable;
use zklanes_executor::batch::{Batch, BATCH_VERSION};
use zklanes_executor::params::DEFAULT_CHAIN_ID;
use zklanes_executor::signature::SecretKey;
use zklanes_executor::trace::ChunkTrace;
use zklanes_executor::tx::{Deposit, SignedTx, TxBody};
use zklanes_executor::{Rollup, RollupConfig};

const K: usize = 15;
const CAPACITY: usize = 4;

fn deposit(q: u64, account: u32, asset: u32, amount: u128) -> SignedTx {
    let mut l1_sender = [0u8; 20];
    l1_sender[0] = 0xab;
    l1_sender[19] = q as u8;
    SignedTx {
        body: TxBody::Deposit(Deposit {
            queue_index: q,
            l1_sender,
            account,
            pubkey: SecretKey::from_seed(account as u64).public(),
            asset,
            amount,
        }),
        signature: None,
    }
}

/// Two chunks of deposits: creations, top-ups of existing accounts, a
/// second asset, and a half-full last chunk (2 padding slots).
fn traces() -> Vec<ChunkTrace> {
    let txs = vec![
        deposit(0, 5, 1, 1_000),
        deposit(1, 9, 1, 7),
        deposit(2, 5, 1, 3),
        deposit(3, 5, 2, 10u128.pow(20)),
        deposit(4, 1_000_000, 1, 42),
        deposit(5, 9, 1, 1),
    ];
    let batch = Batch {
        version: BATCH_VERSION,
        chain_id: DEFAULT_CHAIN_ID,
        number: 0,
        txs,
    };
    let mut r = Rollup::in_memory(RollupConfig {
        chunk_capacity: CAPACITY,
        threads: 2,
        ..Default::default()
    });
    r.apply(&batch).expect("valid deposits").chunks
}

#[derive(Clone, Copy)]
enum Prank {
    None,
    /// Flip slot `i`'s padding flag.
    Flag(usize),
}

fn builder_at(stage: CircuitBuilderStage) -> BaseCircuitBuilder<Fr> {
    BaseCircuitBuilder::<Fr>::from_stage(stage)
        .use_k(K)
        .use_lookup_bits(8)
        .use_instance_columns(1)
}

fn build(trace: &ChunkTrace, prank: Prank) -> Result<HashedCircuit, ChunkError> {
    build_with(builder_at(CircuitBuilderStage::Mock), trace, prank)
}

/// Builds the chunk circuit for `trace` in `builder` (any stage).
fn build_with(
    mut builder: BaseCircuitBuilder<Fr>,
    trace: &ChunkTrace,
    prank: Prank,
) -> Result<HashedCircuit, ChunkError> {
    let range = builder.range_chip();
    let ecc = EccChip::default();
    let mut table = HashTable::default();
    let mut muls = ScalarMulTable::default();
    let ctx = builder.main(0);
    let cells = {
        let mut chips = ChunkChips {
            range: &range,
            ecc: &ecc,
            table: &mut table,
            muls: &mut muls,
        };
        assign_chunk(ctx, &mut chips, trace, CAPACITY)?
    };
    if let Prank::Flag(i) = prank {
        let v = Fr::one() - cells.is_noop[i].value();
        cells.is_noop[i].debug_prank(ctx, v);
    }
    builder.assigned_instances[0].extend(cells.public);
    if !builder.witness_gen_only() {
        builder.calculate_params(Some(9));
    }
    let circuit = HashedCircuit::new(builder, table, muls);
    assert!(
        circuit.table_rows() < (1 << K) - 64,
        "k too small for the chip tables"
    );
    Ok(circuit)
}

fn public(trace: &ChunkTrace) -> Vec<Fr> {
    trace.public_inputs().iter().map(to_halo2).collect()
}

fn verifies(trace: &ChunkTrace, prank: Prank, instance: Vec<Fr>) -> bool {
    let circuit = build(trace, prank).expect("supported trace");
    MockProver::run(K as u32, &circuit, vec![instance])
        .expect("synthesis")
        .verify()
        .is_ok()
}

#[test]
fn deposit_chunks_prove_the_executor_transition() {
    let chunks = traces();
    assert_eq!(chunks.len(), 2);
    for c in &chunks {
        assert!(verifies(c, Prank::None, public(c)), "chunk {}", c.chunk);
    }
}

#[test]
fn every_public_input_is_bound() {
    let c = &traces()[1];
    for i in 0..5 {
        let mut inst = public(c);
        inst[i] += Fr::one();
        assert!(
            !verifies(c, Prank::None, inst),
            "public input {i} not bound"
        );
    }
}

#[test]
fn the_witness_is_not_trusted() {
    let base = traces()[0].clone();
    // A different amount: the public new root and commitments no longer match.
    let mut t = base.clone();
    if let TxBody::Deposit(d) = &mut t.txs[1].tx.body {
        d.amount += 1;
    }
    assert!(!verifies(&t, Prank::None, public(&base)));
    // A forged sibling: the old leaf no longer opens the running root.
    let mut t = base.clone();
    t.txs[2].updates[1].siblings[5] += zklanes_executor::field::Fr::from(1u64);
    assert!(!verifies(&t, Prank::None, public(&base)));
    // A forged old balance.
    let mut t = base.clone();
    t.txs[2].updates[1].old = zklanes_executor::state::Leaf::Balance(1_001);
    assert!(!verifies(&t, Prank::None, public(&base)));
    // Pretending an existing account is new (re-keying it).
    let mut t = base.clone();
    t.txs[2].updates[0].old = zklanes_executor::state::Leaf::Empty;
    assert!(!verifies(&t, Prank::None, public(&base)));
}

#[test]
fn padding_flags_are_constrained() {
    let c = &traces()[1];
    assert_eq!(c.txs.len(), 2);
    for slot in 0..CAPACITY {
        assert!(
            !verifies(c, Prank::Flag(slot), public(c)),
            "slot {slot} flag"
        );
    }
}

#[test]
fn unsupported_types_are_refused_by_the_builder() {
    let mut t = traces()[0].clone();
    t.txs[0].tx.body = TxBody::Withdraw(zklanes_executor::tx::Withdraw {
        account: 5,
        asset: 1,
        amount: 1,
        l1_address: [0; 20],
        nonce: 0,
    });
    assert!(matches!(
        build(&t, Prank::None),
        Err(ChunkError::Unsupported { index: 0, .. })
    ));
}

/// The real path for the chunk circuit: Keygen stage, break points, Prover
/// stage, SHPLONK proof verified against the trace's public inputs (dev SRS,
/// insecure, test only).
#[test]
fn real_kzg_proof_of_a_deposit_chunk() {
    use halo2_base::halo2_proofs::plonk::{keygen_pk, keygen_vk, Circuit};
    let c = &traces()[1];
    let keygen =
        build_with(builder_at(CircuitBuilderStage::Keygen), c, Prank::None).expect("supported");
    let params = common::dev_params(K as u32);
    let vk = keygen_vk(&params, &keygen).expect("vk");
    let pk = keygen_pk(&params, vk, &keygen).expect("pk");
    let prover_builder =
        BaseCircuitBuilder::prover(keygen.builder.params(), keygen.builder.break_points());
    let prover = build_with(prover_builder, c, Prank::None).expect("supported");
    let instance = public(c);
    let proof = common::prove(&params, &pk, prover, &instance);
    assert!(common::verify(&params, &pk, &proof, &instance));
    let mut bad = instance.clone();
    bad[1] += Fr::one();
    assert!(!common::verify(&params, &pk, &proof, &bad));
}
