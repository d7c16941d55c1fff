//! The Rollup contract's `finalize` in revm: the public data bound to the
//! proof's `(P, x, y, xn)` (tampered data reverts), the transactions parsed
//! from it (unknown types and truncated data revert), the deposits it
//! carries checked against the L1 queue (in order, every field), the
//! withdrawals it carries committed to by one root (equal to the one
//! computed from the data) and each claimed once, batch order, roots and canonical
//! instances, over crafted data and over real executor batches. The proof
//! check is delegated to the verifier contract, here a STUB whose runtime
//! is a single `STOP` (every call succeeds), so that these cases test the
//! contract's own checks in seconds; the real verifier is exercised with
//! the same contract by the root package's end-to-end test. Instances are
//! built natively with the executor's `challenge` and `evaluate`, so the
//! Solidity and the Rust must agree.

mod common;

use std::collections::HashMap;

use ark_ff::{BigInteger, Field as _, PrimeField as _};
use common::*;
use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use revm::primitives::Address;
use zklanes_aggregator::node::ACCUMULATOR_LIMBS;
use zklanes_executor::commitments::{challenge, word, CHALLENGE, FIRST_BATCH, LAST_BATCH};
use zklanes_executor::field::Fr as NativeFr;
use zklanes_executor::genbatch::{generate, GenConfig, Workload};
use zklanes_executor::l1::L1Batch;
use zklanes_executor::params::DEFAULT_CHAIN_ID;
use zklanes_executor::signature::SecretKey;
use zklanes_executor::trace::ChunkTrace;
use zklanes_executor::tx::Deposit;
use zklanes_executor::{Batch, Rollup, RollupConfig};
use zklanes_l1::chain::L1Chain;
use zklanes_l1::rollup::{claim_calldata, creates_account, finalize_calldata, queue_link, Genesis};
use zklanes_l1::settle::settle;
use zklanes_l1::withdrawals::{Withdrawal, WithdrawalTree};

const CAPACITY: usize = 5;
const NO_PROOF: [u8; 64] = [0; 64];

/// The field modulus r, big-endian.
fn modulus() -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(&NativeFr::MODULUS.to_bytes_be());
    out
}

/// `w += r` on a 256-bit big-endian word (no overflow: w < r < 2^254).
fn add_modulus(w: &mut [u8]) {
    let r = modulus();
    let mut carry = 0u16;
    for k in (0..32).rev() {
        let s = w[k] as u16 + r[k] as u16 + carry;
        w[k] = s as u8;
        carry = s >> 8;
    }
    assert_eq!(carry, 0);
}

/// A word with byte `i` (big-endian, of 32) xored with `mask`; it stays
/// canonical when the element is below 2^248 and `i ≥ 1`.
fn flip_byte(f: &NativeFr, i: usize, mask: u8) -> NativeFr {
    let mut w = word(f);
    w[i] ^= mask;
    NativeFr::from_be_bytes_mod_order(&w)
}

// ---------------------------------------------------------------------------
// Crafted data.
// ---------------------------------------------------------------------------

/// A chain with two queued deposits (a token deposit creating account 1,
/// an ETH top-up of it) and the data of a batch consuming both, a
/// transfer and a withdrawal: (chain, data, the queued deposits).
fn crafted() -> (L1Chain, Vec<Vec<NativeFr>>, Vec<Deposit>) {
    let (mut l1, _) = chain_with_assets();
    let alice = SecretKey::from_seed(1).public();
    let deposits = vec![
        deposit(0, 0xa1, 1, alice, TOKEN, 1000),
        deposit(1, 0xb2, 1, zero_key(), ETH, 500),
    ];
    for d in &deposits {
        assert_eq!(l1.queue_deposit(d).expect("queued").0, d.queue_index);
    }
    let txs = vec![
        deposit_data(&deposits[0]),
        deposit_data(&deposits[1]),
        transfer_data(1, 2, TOKEN, 5),
        withdraw_data(&withdraw(1, TOKEN, 300, [0xc3; 20])),
    ];
    (l1, txs, deposits)
}

/// Posting other data than the proof's reverts: the data's challenge is
/// not the proven one; and with the challenge redrawn for the posted data
/// (a prover that fixed it in advance), its evaluation or length is not
/// the proven one. One changed byte, two transactions reordered, a
/// truncated tail, an extra element and a leading zero element (which
/// keeps `y`, not `xn`) are each refused; the data as proven settles.
#[test]
fn tampered_data_makes_finalize_revert() {
    let (mut l1, txs, _) = crafted();
    let data: Vec<NativeFr> = txs.concat();
    let p = some_p();
    let zero = NativeFr::from(0u64);
    let proven = instances_for(&zero, &NativeFr::from(1u64), &p, &data, 0, 0);

    let mut one_byte = data.clone();
    one_byte[6] = flip_byte(&data[6], 20, 0x01); // the transfer's amount
    let mut sender_byte = data.clone();
    sender_byte[4] = flip_byte(&data[4], 3, 0x80); // the top-up's sender, in e2
    let reordered = [&txs[0], &txs[1], &txs[3], &txs[2]]
        .map(|t| t.to_vec())
        .concat();
    let truncated = data[..data.len() - 1].to_vec();
    let extra = [data.clone(), vec![NativeFr::from(7u64)]].concat();
    let extra_tx = [data.clone(), transfer_data(2, 1, TOKEN, 1)].concat();
    let leading_zero = [vec![zero], data.clone()].concat();
    let cases = [
        ("one byte changed", one_byte),
        ("a sender byte changed", sender_byte),
        ("two transactions reordered", reordered),
        ("truncated", truncated),
        ("an extra element", extra),
        ("an extra transaction", extra_tx),
        ("a leading zero element", leading_zero),
    ];
    let challenge_at = ACCUMULATOR_LIMBS + CHALLENGE;
    for (what, tampered) in cases {
        assert_ne!(tampered, data);
        assert_eq!(
            reverted(l1.finalize(0, 1, &proven, &batch(tampered.clone()), &NO_PROOF)),
            "wrong challenge",
            "{what}"
        );
        let mut forged = proven.clone();
        forged[challenge_at] = h2(&challenge(p, &tampered));
        let why = reverted(l1.finalize(0, 1, &forged, &batch(tampered), &NO_PROOF));
        assert!(
            why == "data differs from the proof" || why == "data length differs from the proof",
            "{what}: {why}"
        );
    }
    // The leading zero keeps the evaluation: only the length catches it.
    let lz = [vec![zero], data.clone()].concat();
    let mut forged = proven.clone();
    forged[challenge_at] = h2(&challenge(p, &lz));
    let (y, _) = zklanes_executor::commitments::evaluate(challenge(p, &lz), &lz);
    forged[ACCUMULATOR_LIMBS + 4] = h2(&y);
    assert_eq!(
        reverted(l1.finalize(0, 1, &forged, &batch(lz), &NO_PROOF)),
        "data length differs from the proof"
    );

    let gas = l1
        .finalize(0, 1, &proven, &batch(data.clone()), &NO_PROOF)
        .expect("the proven data settles")
        .gas;
    assert_eq!(l1.counter("depositHead").unwrap(), 2);
    let tree = WithdrawalTree::from_data(&data).unwrap();
    assert_eq!(
        tree.withdrawals(),
        [Withdrawal {
            to: [0xc3; 20],
            asset: TOKEN,
            amount: 300
        }]
    );
    assert_eq!(l1.withdrawal_root(0).unwrap(), tree.stored_root());
    eprintln!(
        "finalize (stub verifier) of {} elements: {gas} gas",
        data.len()
    );
}

/// The data is parsed strictly: an unknown transaction type (0, 9, 255),
/// a deposit, a forced withdrawal or another two-element transaction cut
/// short, and a word at or
/// above r revert, each with instances consistent with the data; data
/// without transactions settles.
#[test]
fn malformed_data_reverts() {
    let (mut l1, txs, _) = crafted();
    let ty = |t: u64| NativeFr::from(t) * NativeFr::from(2u64).pow([240u64]);
    let cases = [
        (vec![ty(0), ty(0)], "unknown transaction type"),
        (vec![ty(9), ty(0)], "unknown transaction type"),
        (vec![ty(255), ty(0)], "unknown transaction type"),
        (
            [txs[2].clone(), vec![ty(0), ty(0)]].concat(),
            "unknown transaction type",
        ),
        (txs[0][..2].to_vec(), "truncated transaction"),
        (txs[0][..1].to_vec(), "truncated transaction"),
        (txs[2][..1].to_vec(), "truncated transaction"),
        (vec![ty(8)], "truncated transaction"),
        (
            [txs[0].clone(), txs[1][..2].to_vec()].concat(),
            "truncated transaction",
        ),
    ];
    for (data, why) in cases {
        assert_eq!(
            reverted(finalize_data(&mut l1, 0, 0, 1, &data)),
            why,
            "{data:?}"
        );
    }
    // A word at or above r (the same element to a circuit).
    let data = txs.concat();
    let inst = instances_for(
        &NativeFr::from(0u64),
        &NativeFr::from(1u64),
        &some_p(),
        &data,
        0,
        0,
    );
    let calldata = finalize_calldata(0, 1, &inst, &batch(data.clone()), &NO_PROOF);
    // selector, two batch words, the instances, two offsets, the length.
    let first = 4 + 32 * (2 + inst.len() + 2 + 1);
    for i in [0, 3, data.len() - 1] {
        let mut bad = calldata.clone();
        add_modulus(&mut bad[first + 32 * i..first + 32 * (i + 1)]);
        assert_eq!(reverted(l1.call(bad)), "data not canonical", "word {i}");
    }
    l1.call(calldata).expect("the canonical calldata settles");
    // A batch with no transaction settles and consumes nothing.
    finalize_data(&mut l1, 1, 1, 2, &[]).expect("an empty batch");
    assert_eq!(l1.counter("depositHead").unwrap(), 2);
}

/// The deposits the data carries must be the next queued ones, in order,
/// every field as L1 queued it: one not queued, two swapped, one skipped,
/// one replayed and one with a changed account, asset, amount, sender or
/// key each revert; the contract's queue hashes are the native chain
/// ([`queue_link`]); a prefix of the queue settles and the rest later.
#[test]
fn deposits_in_the_data_must_be_the_queued_ones_in_order() {
    let (mut l1, txs, deposits) = crafted();
    let third = deposit(2, 0xd4, 1, zero_key(), TOKEN, 9);
    l1.queue_deposit(&third).expect("queued");
    let mut all = deposits.clone();
    all.push(third.clone());
    let mut h = l1.queue_hash(0).unwrap();
    assert_eq!(h, [0; 32], "the genesis queue hash");
    for d in &all {
        h = queue_link(&h, d);
        assert_eq!(l1.queue_hash(d.queue_index + 1).unwrap(), h, "{d:?}");
    }
    let dd = |d: &Deposit| deposit_data(d);
    let not_queued = deposit(3, 0xd4, 1, zero_key(), TOKEN, 9);
    let changed = |f: fn(&mut Deposit)| {
        let mut d = deposits[0].clone();
        f(&mut d);
        dd(&d)
    };
    let cases = [
        (
            "one more than queued",
            [dd(&all[0]), dd(&all[1]), dd(&all[2]), dd(&not_queued)].concat(),
            "deposit not queued",
        ),
        (
            "swapped",
            [dd(&all[1]), dd(&all[0])].concat(),
            "deposits differ from the queue",
        ),
        (
            "skipped",
            [dd(&all[1]), dd(&all[2])].concat(),
            "deposits differ from the queue",
        ),
        (
            "account",
            changed(|d| d.account = 2),
            "deposits differ from the queue",
        ),
        (
            "asset",
            changed(|d| d.asset = ETH),
            "deposits differ from the queue",
        ),
        (
            "amount",
            changed(|d| d.amount += 1),
            "deposits differ from the queue",
        ),
        (
            "sender",
            changed(|d| d.l1_sender[19] ^= 1),
            "deposits differ from the queue",
        ),
        (
            "key",
            changed(|d| d.pubkey = SecretKey::from_seed(2).public()),
            "deposits differ from the queue",
        ),
        (
            "a top-up as a creation",
            [
                dd(&all[0]),
                dd(&Deposit {
                    pubkey: SecretKey::from_seed(1).public(),
                    ..all[1].clone()
                }),
            ]
            .concat(),
            "deposits differ from the queue",
        ),
    ];
    for (what, data, why) in cases {
        assert_eq!(
            reverted(finalize_data(&mut l1, 0, 0, 1, &data)),
            why,
            "{what}"
        );
    }
    // A prefix of the queue (with other transactions around it) settles.
    let first = [txs[2].clone(), dd(&all[0]), txs[2].clone()].concat();
    finalize_data(&mut l1, 0, 0, 1, &first).expect("first deposit");
    assert_eq!(l1.counter("depositHead").unwrap(), 1);
    // Replaying it reverts; the rest settles next.
    assert_eq!(
        reverted(finalize_data(&mut l1, 1, 1, 2, &dd(&all[0]))),
        "deposits differ from the queue"
    );
    finalize_data(&mut l1, 1, 1, 2, &[dd(&all[1]), dd(&all[2])].concat()).expect("the rest");
    assert_eq!(l1.counter("depositHead").unwrap(), 3);
    assert_eq!(
        reverted(finalize_data(&mut l1, 2, 2, 3, &dd(&not_queued))),
        "deposit not queued"
    );
}

/// Batch order, the previous root, the proven batch numbers, canonical
/// instances and the verifier's verdict, over one crafted batch.
#[test]
fn finalize_checks_order_roots_batch_numbers_and_the_proof() {
    let (mut l1, txs, deposits) = crafted();
    let data = txs.concat();
    let n = |v: u64| NativeFr::from(v);
    let inst = |prev: u64, first: u64, last: u64| {
        instances_for(&n(prev), &n(1), &some_p(), &data, first, last)
    };
    let l1b = batch(data.clone());
    let fin = |l1: &mut L1Chain, first: u64, batches: u64, i: &[Fr]| {
        reverted(l1.finalize(first, batches, i, &l1b, &NO_PROOF))
    };
    assert_eq!(fin(&mut l1, 1, 1, &inst(0, 1, 1)), "batch out of order");
    assert_eq!(fin(&mut l1, 0, 0, &inst(0, 0, 0)), "no batch");
    assert_eq!(fin(&mut l1, 0, 1, &inst(5, 0, 0)), "wrong previous root");
    assert_eq!(fin(&mut l1, 0, 1, &inst(0, 1, 1)), "first batch not proven");
    assert_eq!(fin(&mut l1, 0, 2, &inst(0, 0, 0)), "batch count not proven");
    assert_eq!(fin(&mut l1, 0, 1, &inst(0, 0, 1)), "batch count not proven");

    // Any instance plus r (the same value to the verifier, which reads
    // instances mod r) reverts.
    let good = inst(0, 0, 0);
    let calldata = finalize_calldata(0, 1, &good, &l1b, &NO_PROOF);
    for i in 0..good.len() {
        let mut bad = calldata.clone();
        let at = 4 + 32 * (2 + i);
        add_modulus(&mut bad[at..at + 32]);
        assert_eq!(
            reverted(l1.call(bad)),
            "instance not canonical",
            "instance {i}"
        );
    }

    // A verifier that rejects: nothing settles.
    let mut rejecting = L1Chain::deploy(
        &hex::decode(STUB_VERIFIER_REJECTS_ALL).unwrap(),
        &Fr::zero(),
        Genesis::default(),
    )
    .unwrap();
    rejecting.register_asset(ETH, Address::ZERO).unwrap();
    for d in &deposits {
        rejecting.queue_deposit(d).unwrap();
    }
    assert_eq!(fin(&mut rejecting, 0, 1, &good), "invalid proof");

    // A bundle of two batches settles once; a replay reverts.
    l1.finalize(0, 2, &inst(0, 0, 1), &l1b, &NO_PROOF)
        .expect("a two-batch bundle");
    assert_eq!(l1.counter("nextBatch").unwrap(), 2);
    let mut root = [0u8; 32];
    root[31] = 1;
    assert_eq!(l1.state_root().unwrap(), root);
    assert_eq!(fin(&mut l1, 0, 2, &inst(0, 0, 1)), "batch out of order");
}

// ---------------------------------------------------------------------------
// Real executor batches.
// ---------------------------------------------------------------------------

/// A batch (or bundle) ready to settle: its L1 data and instances.
struct Settle {
    number: u64,
    batches: u64,
    l1: L1Batch,
    instances: Vec<Fr>,
    new_root: [u8; 32],
}

/// Two consecutive batches of a compact workload, executed into chunks of
/// 5 slots (the first holding `split` transactions, half by default).
fn executed(split: Option<usize>) -> Vec<Vec<ChunkTrace>> {
    let all = generate(&GenConfig {
        workload: Workload::Compact,
        txs: 20,
        accounts: 3,
        seed: 3,
        chain_id: DEFAULT_CHAIN_ID,
        sign: true,
    })
    .into_batch(DEFAULT_CHAIN_ID);
    let half = split.unwrap_or(all.txs.len() / 2);
    let mut rollup = Rollup::in_memory(RollupConfig {
        chunk_capacity: CAPACITY,
        threads: 2,
        ..Default::default()
    });
    [&all.txs[..half], &all.txs[half..]]
        .into_iter()
        .enumerate()
        .map(|(number, txs)| {
            let batch = Batch {
                number: number as u64,
                txs: txs.to_vec(),
                ..all.clone()
            };
            rollup.apply(&batch).expect("valid batch").chunks
        })
        .collect()
}

/// The settlement data of `batches` batches from `number` on, proven
/// together (`traces`: their chunks; padding chunks carry no data).
fn settle_data(number: u64, batches: u64, traces: &[ChunkTrace]) -> Settle {
    let l1 = L1Batch::from_padded(traces);
    let (prev, new) = (traces[0].prev_root, traces[traces.len() - 1].new_root);
    let instances = instances_for(
        &prev,
        &new,
        &some_p(),
        &l1.data,
        number,
        number + batches - 1,
    );
    Settle {
        number,
        batches,
        l1,
        instances,
        new_root: word(&new),
    }
}

fn chain_at(root: &NativeFr, genesis: Genesis) -> L1Chain {
    stub_chain_at(&h2(root), genesis)
}

/// Queues the batch's L1 queue operations in order (deposits from their
/// senders, forced withdrawals from their owners); returns their gas.
fn queue_all(l1: &mut L1Chain, s: &Settle) -> Vec<u64> {
    s.l1.queue()
        .iter()
        .map(|op| l1.queue_op(op).expect("queued").1)
        .collect()
}

fn finalize(l1: &mut L1Chain, s: &Settle) -> Result<u64, String> {
    l1.finalize(s.number, s.batches, &s.instances, &s.l1, &NO_PROOF)
        .map(|o| o.gas)
        .map_err(reason)
}

/// Two executor batches settle in order with their data: the contract
/// reads the executor's deposits and withdrawals out of the data (every
/// transaction type is parsed), checks the deposits and the forced
/// withdrawal against the queue and stores each batch's withdrawal root
/// (the one computed from its data), against which every withdrawal
/// (signed or forced) is claimed by its L1 address, once.
#[test]
fn executor_batches_settle_with_their_data() {
    let traces = executed(None);
    let batches: Vec<Settle> = traces
        .iter()
        .enumerate()
        .map(|(n, t)| settle_data(n as u64, 1, t))
        .collect();
    let (b0, b1) = (&batches[0], &batches[1]);
    assert!(!b0.l1.deposits.is_empty(), "batch 0 consumes deposits");
    assert!(
        batches.iter().any(|b| !b.l1.withdrawals.is_empty()),
        "the workload withdraws"
    );
    assert!(
        b1.l1.withdrawals.iter().any(|w| w.forced.is_some()),
        "batch 1 ends with a forced withdrawal"
    );
    let mut l1 = chain_at(&traces[0][0].prev_root, Genesis::default());
    // Nothing queued yet.
    assert_eq!(finalize(&mut l1, b0), Err("deposit not queued".into()));
    queue_all(&mut l1, b0);
    assert_eq!(finalize(&mut l1, b1), Err("batch out of order".into()));
    let gas = finalize(&mut l1, b0).expect("batch 0 settles");
    assert_eq!(l1.state_root().unwrap(), b0.new_root);
    assert_eq!(
        l1.counter("depositHead").unwrap(),
        b0.l1.queue().len() as u64
    );
    assert_eq!(finalize(&mut l1, b0), Err("batch out of order".into()));
    queue_all(&mut l1, b1);
    finalize(&mut l1, b1).expect("batch 1 settles");
    assert_eq!(l1.state_root().unwrap(), b1.new_root);
    assert_eq!(
        l1.counter("depositHead").unwrap(),
        (b0.l1.queue().len() + b1.l1.queue().len()) as u64
    );
    let mut paid: HashMap<([u8; 20], u32), u128> = HashMap::new();
    for b in &batches {
        let tree = WithdrawalTree::from_data(&b.l1.data).unwrap();
        // The executor's withdrawal records, in batch order, are the leaves.
        let records: Vec<Withdrawal> =
            b.l1.withdrawals
                .iter()
                .map(|w| Withdrawal {
                    to: w.l1_address,
                    asset: w.asset,
                    amount: w.amount,
                })
                .collect();
        assert_eq!(tree.withdrawals(), records);
        assert_eq!(l1.withdrawal_root(b.number).unwrap(), tree.stored_root());
        for (i, w) in tree.withdrawals().iter().enumerate() {
            let proof = tree.proof(i).unwrap();
            assert_eq!(
                reverted(l1.call_from(Address::from([7u8; 20]), claim_calldata(b.number, &proof))),
                "not the recipient",
                "someone else's claim"
            );
            if w.amount == 0 {
                assert_eq!(reverted(l1.claim(b.number, &proof)), "nothing to claim");
                continue;
            }
            let token = l1.asset(w.asset).unwrap().expect("registered");
            let before = l1.balance(token, Address::from(w.to)).unwrap();
            l1.claim(b.number, &proof).expect("claims");
            assert_eq!(
                l1.balance(token, Address::from(w.to)).unwrap(),
                before + w.amount
            );
            *paid.entry((w.to, w.asset)).or_default() += w.amount;
            assert_eq!(reverted(l1.claim(b.number, &proof)), "withdrawal claimed");
        }
    }
    assert!(!paid.is_empty());
    eprintln!(
        "finalize (stub verifier) of executor batch 0: {} elements ({} bytes), {} deposits, {} withdrawals: {gas} gas",
        b0.l1.data.len(),
        b0.l1.data_bytes(),
        b0.l1.deposits.len(),
        b0.l1.withdrawals.len()
    );
}

#[test]
fn a_deposit_from_another_l1_sender_does_not_match() {
    let traces = executed(None);
    let b0 = settle_data(0, 1, &traces[0]);
    let mut l1 = chain_at(&traces[0][0].prev_root, Genesis::default());
    let mut forged = b0.l1.deposits.clone();
    forged[0].l1_sender[0] ^= 1;
    for d in &forged {
        l1.queue_deposit(d).expect("queued");
    }
    assert_eq!(
        finalize(&mut l1, &b0),
        Err("deposits differ from the queue".into())
    );
}

/// A later batch settles alone on a chain deployed at its checkpoint
/// (`Genesis::checkpoint`, as `settle` and `zklanes verify` do): its
/// creating deposit gets the account id the batch credits, and its top-up
/// of an account created before the checkpoint is accepted. `settle`
/// itself (the stub as the verifier) reports the deposits' gas, the data's
/// bytes and the claims.
#[test]
fn a_later_batch_settles_alone_at_its_checkpoint() {
    // The genesis deposits: (account, asset) (1, 1) creates, (1, 2) tops
    // up, (2, 1) creates | (2, 2) tops up, (3, 1) creates, (3, 2) tops up.
    let traces = executed(Some(3));
    let b1 = settle_data(1, 1, &traces[1]);
    let kinds: Vec<(u32, bool)> = b1.l1.deposits[..3]
        .iter()
        .map(|d| (d.account, creates_account(d)))
        .collect();
    assert_eq!(kinds, [(2, false), (3, true), (3, false)]);
    // Its forced withdrawal (the workload's last transaction) is from
    // account 3, which the batch creates: no genesis owner is needed.
    assert!(b1.l1.withdrawals.iter().any(|w| w.forced.is_some()));
    let genesis = Genesis::checkpoint(1, &b1.l1.queue());
    assert_eq!(
        genesis,
        Genesis {
            first_batch: 1,
            first_deposit: 3,
            first_account: 3,
            ..Genesis::default()
        }
    );
    let prev = traces[1][0].prev_root;
    let mut l1 = chain_at(&prev, genesis);
    queue_all(&mut l1, &b1);
    finalize(&mut l1, &b1).expect("settles at its checkpoint");
    assert_eq!(l1.state_root().unwrap(), b1.new_root);
    // Deployed as a new chain instead, L1 would not know account 2.
    let mut fresh = chain_at(&prev, Genesis::default());
    assert_eq!(
        reverted(fresh.queue_deposit(&b1.l1.deposits[0])),
        "account not assigned"
    );

    let s = settle(
        zklanes_executor::params::DEFAULT_CHAIN_ID,
        &hex::decode(STUB_VERIFIER_ACCEPTS_ALL).unwrap(),
        1,
        1,
        &b1.instances,
        &NO_PROOF,
        &b1.l1,
    )
    .expect("settles");
    assert_eq!(s.state_root, format!("0x{}", hex::encode(b1.new_root)));
    assert!(s.withdrawals_claimable);
    assert_eq!(s.deposits, b1.l1.deposits.len());
    assert_eq!(s.forced_withdrawals, 1);
    assert_eq!(s.deposit_gas_each.len(), s.deposits);
    assert_eq!(s.deposit_gas, s.deposit_gas_each.iter().sum::<u64>());
    assert_eq!(s.l1_data_bytes, 32 * b1.l1.data.len());
    eprintln!(
        "settle (stub verifier): deposits {:?} gas, finalize {} gas, {} data bytes",
        s.deposit_gas_each, s.finalize_gas, s.l1_data_bytes
    );
}

#[test]
fn a_bundle_settles_two_batches_with_one_proof() {
    let traces = executed(None);
    let all: Vec<ChunkTrace> = traces.concat();
    let bundle = settle_data(0, 2, &all);
    let mut l1 = chain_at(&traces[0][0].prev_root, Genesis::default());
    queue_all(&mut l1, &bundle);
    // The proof binds the batch numbers: a two-batch bundle cannot settle
    // as one batch, nor as more than it proves.
    for (n, why) in [
        (0, "no batch"),
        (1, "batch count not proven"),
        (3, "batch count not proven"),
    ] {
        assert_eq!(
            reverted(l1.finalize(0, n, &bundle.instances, &bundle.l1, &NO_PROOF)),
            why
        );
    }
    let mut moved = bundle.instances.clone();
    moved[ACCUMULATOR_LIMBS + LAST_BATCH] += Fr::one();
    assert_eq!(
        reverted(l1.finalize(0, 2, &moved, &bundle.l1, &NO_PROOF)),
        "batch count not proven"
    );
    let mut shifted = bundle.instances.clone();
    shifted[ACCUMULATOR_LIMBS + FIRST_BATCH] += Fr::one();
    assert_eq!(
        reverted(l1.finalize(0, 2, &shifted, &bundle.l1, &NO_PROOF)),
        "first batch not proven"
    );
    finalize(&mut l1, &bundle).expect("the bundle settles");
    assert_eq!(l1.state_root().unwrap(), bundle.new_root);
    assert_eq!(l1.counter("nextBatch").unwrap(), 2, "both batches settled");
    assert_eq!(
        l1.counter("depositHead").unwrap(),
        bundle.l1.queue().len() as u64
    );
    assert_eq!(finalize(&mut l1, &bundle), Err("batch out of order".into()));
}
