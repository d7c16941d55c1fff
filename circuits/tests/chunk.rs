//! The chunk circuit proves what the executor did, on real executor traces
//! of every transaction type. Every public input is bound, the witness is
//! not trusted, and the selector and padding flags are constrained.
//!
//! Tampering tests check the circuit against its *own* computed public
//! inputs, so only internal constraints can reject the tampered witness.

mod common;

use halo2_base::gates::circuit::builder::BaseCircuitBuilder;
use halo2_base::gates::circuit::CircuitBuilderStage;
use halo2_base::halo2_proofs::dev::MockProver;
use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use zklanes_circuits::chunk::{build_circuit, empty_trace, ChunkCells, ChunkError, ChunkShape};
use zklanes_circuits::field::to_halo2;
use zklanes_circuits::fixtures;
use zklanes_executor::commitments;
use zklanes_executor::field::Fr as NativeFr;
use zklanes_executor::params::DEFAULT_CHAIN_ID;
use zklanes_executor::state::Leaf;
use zklanes_executor::trace::ChunkTrace;
use zklanes_executor::tx::{TxBody, TxType};
use zklanes_executor::{Rollup, RollupConfig};

const K: usize = 15;
const SHAPE: ChunkShape = ChunkShape {
    capacity: 3,
    chain_id: DEFAULT_CHAIN_ID,
};

/// The showcase batch in chunks of 3: five chunks, every type, mixed chunks
/// (the last one the forced withdrawal alone).
fn traces() -> Vec<ChunkTrace> {
    fixtures::showcase_chunks(DEFAULT_CHAIN_ID, SHAPE.capacity)
        .into_iter()
        .map(challenged)
        .collect()
}

/// `t` with a nonzero challenge derived from its own data (as the prover
/// sets the proof's one), so the evaluation is exercised at a random point.
fn challenged(mut t: ChunkTrace) -> ChunkTrace {
    t.challenge = commitments::challenge(t.pubdata_commitment, &t.data());
    t.content_hash = t.compute_hash();
    t
}

/// A chunk trace holding the transactions `range` of the showcase (prefix
/// executed, roots and commitments from the executor).
fn sub_chunk(txs: std::ops::Range<usize>) -> ChunkTrace {
    let all = fixtures::showcase_txs(DEFAULT_CHAIN_ID);
    let mut r = Rollup::in_memory(RollupConfig {
        chunk_capacity: SHAPE.capacity,
        threads: 1,
        ..Default::default()
    });
    if txs.start > 0 {
        let mut pre = fixtures::showcase_batch(DEFAULT_CHAIN_ID);
        pre.txs = all[..txs.start].to_vec();
        r.apply(&pre).expect("valid prefix");
    }
    let mut batch = fixtures::showcase_batch(DEFAULT_CHAIN_ID);
    batch.number = if txs.start > 0 { 1 } else { 0 };
    batch.txs = all[txs].to_vec();
    challenged(r.apply(&batch).expect("valid").chunks.remove(0))
}

fn builder_at(stage: CircuitBuilderStage) -> BaseCircuitBuilder<Fr> {
    BaseCircuitBuilder::<Fr>::from_stage(stage)
        .use_k(K)
        .use_lookup_bits(8)
        .use_instance_columns(1)
}

fn public(trace: &ChunkTrace) -> Vec<Fr> {
    trace.public_inputs().iter().map(to_halo2).collect()
}

/// MockProver on `trace` (pranked by `tamper`) against `instance`, or
/// against the circuit's own public cells when `instance` is `None`.
fn verifies_with(
    trace: &ChunkTrace,
    tamper: impl FnOnce(&mut halo2_base::Context<Fr>, &ChunkCells),
    instance: Option<Vec<Fr>>,
) -> bool {
    let mut own = vec![];
    let circuit = build_circuit(
        builder_at(CircuitBuilderStage::Mock),
        trace,
        &SHAPE,
        |ctx, cells| {
            own = cells.public.iter().map(|c| *c.value()).collect();
            tamper(ctx, cells)
        },
    )
    .expect("builds");
    assert!(circuit.table_rows() < (1 << K) - 64, "k too small");
    MockProver::run(K as u32, &circuit, vec![instance.unwrap_or(own)])
        .expect("synthesis")
        .verify()
        .is_ok()
}

fn verifies(trace: &ChunkTrace) -> bool {
    verifies_with(trace, |_, _| {}, Some(public(trace)))
}

/// Satisfied against its own public inputs (the witness alone decides).
fn consistent(trace: &ChunkTrace) -> bool {
    verifies_with(trace, |_, _| {}, None)
}

#[test]
fn every_type_and_mixed_chunks_prove_the_executor_transition() {
    let chunks = traces();
    assert_eq!(chunks.len(), 5);
    let mut seen = std::collections::BTreeSet::new();
    for c in &chunks {
        for t in &c.txs {
            seen.insert(t.tx.body.tx_type() as u8);
        }
        assert!(verifies(c), "chunk {}", c.chunk);
    }
    assert_eq!(seen.len(), 8, "every type is proven");
    // The empty chunk (all padding) proves that nothing changed.
    let root = chunks[4].new_root;
    assert!(verifies(&empty_trace(&SHAPE, root)));
}

#[test]
fn every_public_input_is_bound() {
    let c = &traces()[3]; // remove liquidity, withdraw, deposit
    for i in 0..public(c).len() {
        let mut inst = public(c);
        inst[i] += Fr::one();
        assert!(
            !verifies_with(c, |_, _| {}, Some(inst)),
            "public input {i} not bound"
        );
    }
}

/// Applies `f` to the transaction of `trace` at `i` and re-signs it.
fn resign(trace: &ChunkTrace, i: usize, f: impl FnOnce(&mut TxBody)) -> ChunkTrace {
    let mut t = trace.clone();
    let mut body = t.txs[i].tx.body.clone();
    f(&mut body);
    t.txs[i].tx = fixtures::sign(body, DEFAULT_CHAIN_ID);
    t
}

#[test]
fn tampered_fields_break_the_circuit() {
    let chunks = traces();
    // [create pool, add (first), swap a→b] and [transfer, add, swap b→a] ...
    let c1 = &chunks[1];
    let c2 = &chunks[2];
    let c3 = &chunks[3];
    assert!(consistent(c1) && consistent(c2) && consistent(c3));
    let cases: Vec<(&str, ChunkTrace)> = vec![
        (
            "swap amount_in + 1 (re-signed)",
            resign(c1, 2, |b| {
                if let TxBody::Swap(s) = b {
                    s.amount_in += 1
                }
            }),
        ),
        (
            "transfer amount + 1 (re-signed)",
            resign(c2, 0, |b| {
                if let TxBody::Transfer(s) = b {
                    s.amount += 1
                }
            }),
        ),
        (
            "transfer nonce + 1 (re-signed)",
            resign(c2, 0, |b| {
                if let TxBody::Transfer(s) = b {
                    s.nonce += 1
                }
            }),
        ),
        (
            "transfer to another (re-signed)",
            resign(c2, 0, |b| {
                if let TxBody::Transfer(s) = b {
                    s.to = 3
                }
            }),
        ),
        (
            "swap min_out above the output (re-signed)",
            resign(c1, 2, |b| {
                if let TxBody::Swap(s) = b {
                    s.min_out = 1_000_000
                }
            }),
        ),
        (
            "add min_lp above the share (re-signed)",
            resign(c2, 1, |b| {
                if let TxBody::AddLiquidity(s) = b {
                    s.min_lp = 1 << 90
                }
            }),
        ),
        (
            "remove min_b above the output (re-signed)",
            resign(c3, 0, |b| {
                if let TxBody::RemoveLiquidity(s) = b {
                    s.min_b = 1 << 90
                }
            }),
        ),
        (
            "withdraw more than the balance (re-signed)",
            resign(c3, 1, |b| {
                if let TxBody::Withdraw(s) = b {
                    s.amount = 1_000
                }
            }),
        ),
        (
            "create pool with a fee above the maximum (re-signed)",
            resign(c1, 0, |b| {
                if let TxBody::CreatePool(s) = b {
                    s.fee_bps = 1_001
                }
            }),
        ),
        (
            "create pool with tokens out of order (re-signed)",
            resign(c1, 0, |b| {
                if let TxBody::CreatePool(s) = b {
                    (s.token_a, s.token_b) = (2, 1)
                }
            }),
        ),
        ("transfer amount + 1 without re-signing", {
            let mut t = c2.clone();
            if let TxBody::Transfer(s) = &mut t.txs[0].tx.body {
                s.amount += 1
            }
            t
        }),
    ];
    let mut outputs: Vec<(&str, ChunkTrace)> = vec![];
    for (slot, chunk, name_plus, name_minus) in [
        (2usize, c1, "swap output + 1", "swap output - 1"),
        (1, c1, "first LP mint + 1", "first LP mint - 1"),
        (1, c2, "later LP mint + 1", "later LP mint - 1"),
        (0, c3, "burn output A + 1", "burn output A - 1"),
    ] {
        let mut t = chunk.clone();
        t.txs[slot].receipt.outputs[0] += 1;
        outputs.push((name_plus, t));
        let mut t = chunk.clone();
        t.txs[slot].receipt.outputs[0] -= 1;
        outputs.push((name_minus, t));
    }
    let mut t = c3.clone();
    t.txs[0].receipt.outputs[1] += 1;
    outputs.push(("burn output B + 1", t));
    for (name, t) in cases.iter().chain(outputs.iter()) {
        assert!(!consistent(t), "{name} was accepted");
    }
    // A deposit is an L1 input: a different amount is a different, valid
    // transition, which the public inputs (data commitment and
    // evaluation, roots) reject.
    let mut t = c3.clone();
    if let TxBody::Deposit(d) = &mut t.txs[2].tx.body {
        d.amount += 1;
    }
    assert!(consistent(&t));
    assert!(!verifies_with(&t, |_, _| {}, Some(public(c3))));
}

/// A deposit's L1 sender and key hash change no state of a top-up, yet L1
/// checks them against its queue: the data must carry exactly the
/// witness's, so a proof of other ones is rejected by the public inputs
/// (commitment and evaluation), and the evaluation is the native one.
#[test]
fn a_deposits_sender_and_key_are_bound_into_the_data() {
    let c3 = &traces()[3];
    let i = c3
        .txs
        .iter()
        .position(|t| matches!(t.tx.body, TxBody::Deposit(_)))
        .expect("a deposit");
    for (name, f) in [
        (
            "sender",
            Box::new(|d: &mut zklanes_executor::tx::Deposit| d.l1_sender[19] ^= 1)
                as Box<dyn Fn(&mut zklanes_executor::tx::Deposit)>,
        ),
        ("key", Box::new(|d| d.pubkey = fixtures::key(99).public())),
    ] {
        let mut t = c3.clone();
        if let TxBody::Deposit(d) = &mut t.txs[i].tx.body {
            f(d);
        }
        // The executor's commitment to the changed data.
        t.pubdata_commitment = t
            .data()
            .into_iter()
            .fold(NativeFr::from(0u64), commitments::chain_data);
        let own = t.public_inputs();
        let theirs = c3.public_inputs();
        // Only the data commitment and the evaluation differ.
        for j in [0, 1, 3, 5, 6, 7] {
            assert_eq!(own[j], theirs[j], "{name}: input {j}");
        }
        assert_ne!(own[2], theirs[2], "{name}: commitment");
        assert_ne!(own[4], theirs[4], "{name}: evaluation");
        assert!(verifies(&t), "{name}: the circuit computes the native data");
        assert!(
            !verifies_with(&t, |_, _| {}, Some(public(c3))),
            "{name} is not bound"
        );
    }
}

#[test]
fn tampered_state_witness_breaks_the_circuit() {
    let chunks = traces();
    let c2 = &chunks[2]; // transfer, add liquidity, swap
    let mut cases: Vec<(&str, ChunkTrace)> = vec![];
    let mut t = c2.clone();
    t.txs[0].updates[1].old = Leaf::Balance(1 << 100);
    cases.push(("sender balance", t));
    let mut t = c2.clone();
    t.txs[0].updates[2].old = Leaf::Balance(123);
    cases.push(("receiver balance", t));
    let mut t = c2.clone();
    t.txs[0].updates[3].old = Leaf::Empty;
    cases.push(("receiver account made absent", t));
    let mut t = c2.clone();
    if let Leaf::Pool(p) = &mut t.txs[2].updates[3].old {
        p.reserve_a += 1;
    }
    cases.push(("pool reserve", t));
    let mut t = c2.clone();
    if let Leaf::Account(a) = &mut t.txs[1].updates[0].old {
        a.nonce += 1;
    }
    cases.push(("account nonce", t));
    // Levels the circuit reads: the first leaf of each group opens the top
    // path; later leaves of a group only their levels inside the account.
    for (u, lvl) in [(0usize, 3usize), (0, 25), (1, 11), (2, 7), (2, 31), (3, 0)] {
        let mut t = c2.clone();
        t.txs[0].updates[u].siblings[lvl] += NativeFr::from(1u64);
        cases.push(("a sibling", t));
    }
    let mut t = c2.clone();
    if let Some(s) = &mut t.txs[0].tx.signature {
        s.s[0] ^= 1;
    }
    cases.push(("signature s", t));
    let mut t = c2.clone();
    let other = fixtures::sign(t.txs[1].tx.body.clone(), DEFAULT_CHAIN_ID);
    t.txs[0].tx.signature = other.signature;
    cases.push(("signature of another transaction", t));
    let mut t = c2.clone();
    let sk = zklanes_executor::signature::SecretKey::from_seed(99);
    let msg = t.txs[0].tx.body.message(DEFAULT_CHAIN_ID).expect("signed");
    t.txs[0].tx.signature = Some(sk.sign(&msg));
    cases.push(("signature by another key", t));
    let mut t = c2.clone();
    let msg = t.txs[0]
        .tx
        .body
        .message(DEFAULT_CHAIN_ID + 1)
        .expect("signed");
    t.txs[0].tx.signature = Some(fixtures::key(1).sign(&msg));
    cases.push(("signature for another chain", t));
    for (name, t) in &cases {
        assert!(!consistent(t), "{name} was accepted");
    }
    // An account created with a key off the subgroup or the curve.
    let c0 = &chunks[0];
    let mut t = c0.clone();
    if let TxBody::Deposit(d) = &mut t.txs[0].tx.body {
        d.pubkey.x += NativeFr::from(1u64);
    }
    assert!(!consistent(&t), "off-curve key accepted");
}

#[test]
fn selector_and_padding_flags_are_constrained() {
    let chunks = traces();
    let c = &chunks[3]; // remove, withdraw, deposit
                        // Move a slot to another type (keeping the one-hot sum), or to padding.
    for slot in 0..3 {
        let ty = c.txs[slot].tx.body.tx_type() as usize;
        for other in [0usize, 2, 6] {
            if other == ty {
                continue;
            }
            let pranked = verifies_with(
                c,
                |ctx, cells| {
                    cells.flags[slot][ty].debug_prank(ctx, Fr::zero());
                    cells.flags[slot][other].debug_prank(ctx, Fr::one());
                },
                None,
            );
            assert!(!pranked, "slot {slot}: type {ty} -> {other} accepted");
        }
    }
    // Padding: a padding slot turned into a deposit, or flags not one-hot.
    let short = sub_chunk(0..2);
    assert_eq!(short.txs.len(), 2);
    assert!(verifies(&short));
    assert!(!verifies_with(
        &short,
        |ctx, cells| {
            cells.flags[2][0].debug_prank(ctx, Fr::zero());
            cells.flags[2][TxType::Deposit as usize].debug_prank(ctx, Fr::one());
        },
        None
    ));
    assert!(!verifies_with(
        &short,
        |ctx, cells| cells.flags[2][0].debug_prank(ctx, Fr::zero()),
        None
    ));
    assert!(!verifies_with(
        &short,
        |ctx, cells| cells.flags[0][0].debug_prank(ctx, Fr::one()),
        None
    ));
}

#[test]
fn the_builder_refuses_malformed_traces() {
    let mut t = traces()[0].clone();
    t.txs[0].updates.pop();
    assert!(matches!(
        build_circuit(builder_at(CircuitBuilderStage::Mock), &t, &SHAPE, |_, _| {}),
        Err(ChunkError::BadTrace { index: 0, .. })
    ));
    let t = traces()[0].clone();
    let wrong = ChunkShape {
        chain_id: 1,
        ..SHAPE
    };
    assert!(matches!(
        build_circuit(builder_at(CircuitBuilderStage::Mock), &t, &wrong, |_, _| {}),
        Err(ChunkError::WrongChain { .. })
    ));
    let small = ChunkShape {
        capacity: 2,
        ..SHAPE
    };
    assert!(matches!(
        build_circuit(builder_at(CircuitBuilderStage::Mock), &t, &small, |_, _| {}),
        Err(ChunkError::TooManyTxs { .. })
    ));
}

/// The real path for the chunk circuit: keys from an empty (all-padding)
/// trace in the Keygen stage, then a SHPLONK proof of a mixed chunk in the
/// Prover stage with the keygen break points, verified against the trace's
/// public inputs (dev SRS, insecure, test only).
#[test]
fn real_kzg_proof_of_a_mixed_chunk() {
    use halo2_base::halo2_proofs::plonk::{keygen_pk, keygen_vk, Circuit};
    let chunks = traces();
    let c = &chunks[2];
    let keygen = build_circuit(
        builder_at(CircuitBuilderStage::Keygen),
        &empty_trace(&SHAPE, NativeFr::from(0u64)),
        &SHAPE,
        |_, _| {},
    )
    .expect("builds");
    let params = common::dev_params(K as u32);
    let vk = keygen_vk(&params, &keygen).expect("vk");
    let pk = keygen_pk(&params, vk, &keygen).expect("pk");
    let prover_builder =
        BaseCircuitBuilder::prover(keygen.builder.params(), keygen.builder.break_points());
    let prover = build_circuit(prover_builder, c, &SHAPE, |_, _| {}).expect("builds");
    let instance = public(c);
    let proof = common::prove(&params, &pk, prover, &instance);
    assert!(common::verify(&params, &pk, &proof, &instance));
    let mut bad = instance.clone();
    bad[1] += Fr::one();
    assert!(!common::verify(&params, &pk, &proof, &bad));
}

mod wide;

/// A swap output above `MAX_AMOUNT` (12 bytes of public data) does not
/// satisfy the circuit, even with a witness that is otherwise the
/// executor's own: a deep pool (reserve `2^112 − 1`), an input one unit
/// above the largest one the executor accepts (and the largest input),
/// re-signed, with the honest output and every leaf and path updated
/// consistently. The largest accepted input proves, and the forced-trace
/// builder reproduces the executor's witness for it, so only the output
/// bound can reject the forced ones (with the bound removed they satisfy).
#[test]
fn a_swap_output_above_max_amount_breaks_the_circuit() {
    use zklanes_executor::params::MAX_AMOUNT;
    let deep = wide::deep_pool();
    let fits = wide::deep_largest_fitting_in();
    let ok = wide::deep_swap(fits, DEFAULT_CHAIN_ID);
    let honest = deep
        .run(std::slice::from_ref(&ok), DEFAULT_CHAIN_ID, SHAPE.capacity)
        .expect("an output of at most MAX_AMOUNT is accepted")
        .remove(0);
    let paid = honest.txs[0].receipt.outputs[0];
    assert!(paid <= MAX_AMOUNT && MAX_AMOUNT - paid < 1 << 20, "{paid}");
    assert!(verifies(&honest));
    // The forced builder gives the executor's witness for the same swap.
    let TxBody::Swap(s) = &ok.body else {
        unreachable!()
    };
    let again = deep.forced(
        ok.clone(),
        honest.txs[0].receipt,
        &deep.swap_writes(s, paid),
        DEFAULT_CHAIN_ID,
        SHAPE.capacity,
    );
    assert_eq!(again.txs[0].updates, honest.txs[0].updates);
    assert_eq!(again.new_root, honest.new_root);
    assert!(consistent(&again));
    for amount_in in [fits + 1, MAX_AMOUNT] {
        let tx = wide::deep_swap(amount_in, DEFAULT_CHAIN_ID);
        let TxBody::Swap(s) = &tx.body else {
            unreachable!()
        };
        let out = zklanes_executor::amm::swap_out(
            amount_in,
            wide::DEEP_RB,
            wide::DEEP_RA,
            wide::DEEP_FEE,
        );
        assert!(out > MAX_AMOUNT);
        let mut receipt = honest.txs[0].receipt;
        receipt.outputs = [out, 0];
        let t = deep.forced(
            tx.clone(),
            receipt,
            &deep.swap_writes(s, out),
            DEFAULT_CHAIN_ID,
            SHAPE.capacity,
        );
        assert!(
            !consistent(&t),
            "swap output {out} (in {amount_in}) accepted"
        );
    }
}

/// Later mints where either side gives the minimum share: the slot's
/// `b_is_min` witness must name the right side (the other side's floor is
/// larger), so both must prove. The showcase's later mint has the B side
/// smaller; here the A side is (1,000 A against 5,000 B), then the B side.
#[test]
fn later_mints_on_either_side_prove() {
    use zklanes_executor::tx::AddLiquidity;
    let all = fixtures::showcase_txs(DEFAULT_CHAIN_ID);
    let mut r = Rollup::in_memory(RollupConfig {
        chunk_capacity: SHAPE.capacity,
        threads: 1,
        ..Default::default()
    });
    let mut pre = fixtures::showcase_batch(DEFAULT_CHAIN_ID);
    pre.txs = all[..5].to_vec(); // deposits, pool creation, first mint
    r.apply(&pre).expect("valid prefix");
    let mint = |amount_a, amount_b, nonce| {
        fixtures::sign(
            TxBody::AddLiquidity(AddLiquidity {
                account: 1,
                pool: 1,
                amount_a,
                amount_b,
                min_lp: 1,
                nonce,
            }),
            DEFAULT_CHAIN_ID,
        )
    };
    let mut batch = fixtures::showcase_batch(DEFAULT_CHAIN_ID);
    batch.number = 1;
    batch.txs = vec![mint(1_000, 5_000, 2), mint(3_000, 1_000, 3)];
    let chunk = r.apply(&batch).expect("valid mints").chunks.remove(0);
    assert_eq!(chunk.txs.len(), 2);
    assert!(verifies(&chunk));
}

/// Showcase transaction `i` alone in a chunk, its body changed by `f`
/// (re-signed) and each leaf update by `update` (index and new leaf), with
/// every sibling re-derived from the state before it (the showcase's earlier
/// writes replayed into a tree): a witness whose paths are all consistent,
/// so only the rule under test can refuse it.
fn with_consistent_paths(
    i: usize,
    f: impl FnOnce(&mut TxBody),
    update: impl Fn(usize, &mut zklanes_executor::trace::LeafUpdate),
) -> ChunkTrace {
    use zklanes_executor::smt::Tree;
    let mut tree = Tree::default();
    for t in traces().iter().flat_map(|c| &c.txs).take(i) {
        for u in &t.updates {
            tree.apply(&[(u.index, u.new.hash())]);
        }
    }
    let mut t = sub_chunk(i..i + 1);
    let mut body = t.txs[0].tx.body.clone();
    f(&mut body);
    t.txs[0].tx = fixtures::sign(body, DEFAULT_CHAIN_ID);
    for (n, u) in t.txs[0].updates.iter_mut().enumerate() {
        update(n, u);
        let (paths, ..) = tree.apply(&[(u.index, u.new.hash())]);
        u.siblings = paths[0].siblings.to_vec();
    }
    t
}

/// The id widths no other constraint implies: a deposit's asset is a token
/// (below the LP range, `< 2^11`), a pool id is below 2^11 (its LP asset
/// must fit a 12-bit slot), and so is a created pool's second token. Each
/// tampered witness keeps every path consistent; the largest valid id,
/// tampered the same way, is accepted (the control).
#[test]
fn deposit_assets_pool_ids_and_pool_tokens_are_bounded() {
    use zklanes_executor::params::{LP_ASSET_BASE, MAX_POOL, MAX_TOKEN};
    use zklanes_executor::state::Key;
    // Showcase 0: the deposit creating account 1 with asset 1.
    let deposit = |asset: u32| {
        with_consistent_paths(
            0,
            |b| match b {
                TxBody::Deposit(d) => d.asset = asset,
                _ => panic!("a deposit"),
            },
            |n, u| {
                if n == 1 {
                    u.index = Key::Balance(1, asset).index();
                }
            },
        )
    };
    assert!(consistent(&deposit(MAX_TOKEN)));
    assert!(!consistent(&deposit(LP_ASSET_BASE)));
    assert!(!consistent(&deposit(LP_ASSET_BASE + 1)));

    // Showcase 3: account 1 creates pool 1 over tokens 1 and 2.
    let create = |pool: u32, token_b: u32| {
        with_consistent_paths(
            3,
            |b| match b {
                TxBody::CreatePool(p) => {
                    p.pool = pool;
                    p.token_b = token_b;
                }
                _ => panic!("a pool creation"),
            },
            |n, u| {
                if n == 1 {
                    u.index = Key::Pool(pool).index();
                    if let Leaf::Pool(p) = &mut u.new {
                        p.token_b = token_b;
                    }
                }
            },
        )
    };
    assert!(consistent(&create(1, 2)), "the untampered witness");
    assert!(consistent(&create(MAX_POOL, 2)));
    assert!(!consistent(&create(MAX_POOL + 1, 2)));
    assert!(!consistent(&create(MAX_POOL + 2, 2)));
    assert!(consistent(&create(1, MAX_TOKEN)));
    assert!(!consistent(&create(1, LP_ASSET_BASE)));
    assert!(!consistent(&create(1, LP_ASSET_BASE + 1)));
}

/// A withdrawal moves plain tokens only (L1 has no token for LP shares):
/// the showcase withdrawal (account 2, asset 1) re-aimed at another asset
/// that account 2 is given the same balance of, every path consistent. The
/// largest plain token is accepted (the control), an LP asset is not.
#[test]
fn a_withdrawal_of_lp_shares_breaks_the_circuit() {
    use zklanes_executor::params::{LP_ASSET_BASE, MAX_TOKEN};
    use zklanes_executor::smt::Tree;
    use zklanes_executor::state::Key;
    let i = fixtures::showcase_txs(DEFAULT_CHAIN_ID)
        .iter()
        .position(|t| matches!(t.body, TxBody::Withdraw(_)))
        .expect("a withdrawal");
    let withdrawal_of = |asset: u32| {
        let mut tree = Tree::default();
        for t in traces().iter().flat_map(|c| &c.txs).take(i) {
            for u in &t.updates {
                tree.apply(&[(u.index, u.new.hash())]);
            }
        }
        let mut t = sub_chunk(i..i + 1);
        let held = t.txs[0].updates[1].old;
        tree.apply(&[(Key::Balance(2, asset).index(), held.hash())]);
        t.prev_root = tree.root();
        t.txs[0].root_before = t.prev_root;
        let mut body = t.txs[0].tx.body.clone();
        match &mut body {
            TxBody::Withdraw(w) => w.asset = asset,
            _ => panic!("a withdrawal"),
        }
        t.txs[0].tx = fixtures::sign(body, DEFAULT_CHAIN_ID);
        for (n, u) in t.txs[0].updates.iter_mut().enumerate() {
            if n == 1 {
                u.index = Key::Balance(2, asset).index();
            }
            let (paths, ..) = tree.apply(&[(u.index, u.new.hash())]);
            u.siblings = paths[0].siblings.to_vec();
        }
        t
    };
    assert!(consistent(&withdrawal_of(1)), "the untampered witness");
    assert!(consistent(&withdrawal_of(MAX_TOKEN)));
    assert!(!consistent(&withdrawal_of(LP_ASSET_BASE)));
    assert!(!consistent(&withdrawal_of(LP_ASSET_BASE + 1)));
}

/// The showcase's forced withdrawal (account 2's whole balance of token 2,
/// the last transaction) as a one-transaction chunk whose state before it
/// is the showcase's, changed by `prepare` (leaves written into the tree
/// first), then re-aimed by `f` at another account or asset, its leaf
/// updates set by `update` (index, old and new leaves) with every sibling
/// re-derived: a witness whose paths are all consistent, so only the rule
/// under test can refuse it.
fn forced_withdrawal_with(
    prepare: &[(zklanes_executor::state::Key, Leaf)],
    f: impl FnOnce(&mut zklanes_executor::tx::ForcedWithdraw),
    update: impl Fn(usize, &mut zklanes_executor::trace::LeafUpdate),
) -> ChunkTrace {
    use zklanes_executor::smt::Tree;
    let i = fixtures::showcase_txs(DEFAULT_CHAIN_ID).len() - 1;
    let mut tree = Tree::default();
    for t in traces().iter().flat_map(|c| &c.txs).take(i) {
        for u in &t.updates {
            tree.apply(&[(u.index, u.new.hash())]);
        }
    }
    for (k, leaf) in prepare {
        tree.apply(&[(k.index(), leaf.hash())]);
    }
    let mut t = sub_chunk(i..i + 1);
    t.prev_root = tree.root();
    t.txs[0].root_before = t.prev_root;
    match &mut t.txs[0].tx.body {
        TxBody::ForcedWithdraw(fw) => f(fw),
        _ => panic!("the showcase ends with a forced withdrawal"),
    }
    for (n, u) in t.txs[0].updates.iter_mut().enumerate() {
        update(n, u);
        let (paths, ..) = tree.apply(&[(u.index, u.new.hash())]);
        u.siblings = paths[0].siblings.to_vec();
    }
    t
}

/// A forced withdrawal is unsigned and moves the whole balance: its
/// claimed amount (the receipt's output, which the data carries to L1) must
/// be the old balance. A claim one below the balance would leave 1 in the
/// account and still be a valid-looking transition (every path, range and
/// the data consistent with it), so only that binding refuses it; one above
/// would underflow. The account leaf (key, nonce) is kept.
#[test]
fn a_forced_withdrawal_moves_exactly_the_whole_balance() {
    let chunks = traces();
    let c = chunks.last().expect("chunks");
    assert!(matches!(c.txs[0].tx.body, TxBody::ForcedWithdraw(_)));
    assert!(c.txs[0].tx.signature.is_none(), "unsigned");
    let balance = match c.txs[0].updates[1].old {
        Leaf::Balance(b) => b,
        other => panic!("a balance, got {other:?}"),
    };
    assert!(balance > 1);
    assert_eq!(c.txs[0].receipt.outputs[0], balance);
    assert_eq!(c.txs[0].updates[1].new, Leaf::Empty);
    assert_eq!(c.txs[0].updates[0].old, c.txs[0].updates[0].new);
    assert!(verifies(c));
    for (name, claimed) in [
        ("one below the balance", balance - 1),
        ("zero", 0),
        ("one above the balance", balance + 1),
    ] {
        let mut t = c.clone();
        t.txs[0].receipt.outputs[0] = claimed;
        assert!(!consistent(&t), "a claimed amount {name} was accepted");
    }
    // The signer group's old root is the running root: a zero balance
    // claimed for an empty slot elsewhere is refused by the path.
    let mut t = c.clone();
    t.txs[0].updates[1].old = Leaf::Empty;
    t.txs[0].receipt.outputs[0] = 0;
    assert!(!consistent(&t), "a balance the state does not hold");
}

/// The owner L1 pays and the asset are L1 inputs: a forced withdrawal to
/// another owner is a different, valid transition whose data differs, so
/// the public inputs (commitment and evaluation) refuse it.
#[test]
fn a_forced_withdrawals_owner_is_bound_into_the_data() {
    let c = traces().pop().expect("chunks");
    let mut t = c.clone();
    if let TxBody::ForcedWithdraw(f) = &mut t.txs[0].tx.body {
        f.l1_owner[0] ^= 1;
    }
    t.pubdata_commitment = t
        .data()
        .into_iter()
        .fold(NativeFr::from(0u64), commitments::chain_data);
    assert!(verifies(&t), "the circuit computes the native data");
    assert!(!verifies_with(&t, |_, _| {}, Some(public(&c))));
}

/// A forced withdrawal needs an existing account (L1 queues one only for
/// an account it created): for an empty account slot, a zero balance and a
/// zero amount, every path consistent with the account leaf the slot would
/// then write, it must refuse. The control is the same witness for the
/// real account.
#[test]
fn a_forced_withdrawal_of_a_missing_account_breaks_the_circuit() {
    use zklanes_executor::state::Key;
    let missing = 7u32;
    let t = forced_withdrawal_with(
        &[],
        |f| f.account = missing,
        |n, u| match n {
            0 => {
                // The leaf the slot would write without the rule (the
                // stored key and nonce of an empty slot: zeros), so every
                // later path is consistent with it.
                u.index = Key::Account(missing).index();
                u.old = Leaf::Empty;
                u.new = Leaf::Account(zklanes_executor::state::Account::new(
                    zklanes_executor::signature::PublicKey {
                        x: NativeFr::from(0u64),
                        y: NativeFr::from(0u64),
                    },
                ));
            }
            _ => {
                u.index = Key::Balance(missing, 2).index();
                u.old = Leaf::Empty;
                u.new = Leaf::Empty;
            }
        },
    );
    let mut t = t;
    t.txs[0].receipt.outputs[0] = 0;
    assert!(!consistent(&t), "a forced withdrawal of a missing account");
    assert!(
        consistent(&forced_withdrawal_with(&[], |_| {}, |_, _| {})),
        "the control"
    );
}

/// A forced withdrawal moves plain tokens only (L1 has no token for LP
/// shares): account 2 given the same balance of another asset, every path
/// consistent. The largest plain token is accepted (the control), an LP
/// asset is not.
#[test]
fn a_forced_withdrawal_of_lp_shares_breaks_the_circuit() {
    use zklanes_executor::params::{LP_ASSET_BASE, MAX_TOKEN};
    use zklanes_executor::state::Key;
    let held = traces().last().expect("chunks").txs[0].updates[1].old;
    let of = |asset: u32| {
        forced_withdrawal_with(
            &[(Key::Balance(2, asset), held)],
            |f| f.asset = asset,
            |n, u| {
                if n == 1 {
                    u.index = Key::Balance(2, asset).index();
                }
            },
        )
    };
    assert!(consistent(&of(2)), "the untampered witness");
    assert!(consistent(&of(MAX_TOKEN)));
    assert!(!consistent(&of(LP_ASSET_BASE)));
    assert!(!consistent(&of(LP_ASSET_BASE + 1)));
}
