//! The Rollup contract's own bookkeeping in revm, over real executor traces:
//! the L1 deposit queue, the recomputed deposit and withdrawal commitments
//! (per chunk, folded along the tree), claimable withdrawals, batch order
//! and roots. The proof check is delegated to the verifier contract, here
//! a stand-in that accepts (or rejects) every call, so that these cases run
//! in seconds; the real verifier is exercised with the same contract in the
//! root package's end-to-end test.

use std::collections::HashMap;

use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use revm::primitives::Address;
use zklanes_aggregator::node::ACCUMULATOR_LIMBS;
use zklanes_aggregator::tree::{expected_transition, padded};
use zklanes_circuits::chunk::ChunkShape;
use zklanes_circuits::field::to_halo2;
use zklanes_executor::commitments::{FIRST_BATCH, LAST_BATCH};
use zklanes_executor::field::Fr as NativeFr;
use zklanes_executor::genbatch::{generate, GenConfig, Workload};
use zklanes_executor::l1::L1Batch;
use zklanes_executor::params::DEFAULT_CHAIN_ID;
use zklanes_executor::signature::PublicKey;
use zklanes_executor::trace::ChunkTrace;
use zklanes_executor::{Batch, Rollup, RollupConfig};
use zklanes_l1::chain::{revert_reason, L1Chain};
use zklanes_l1::rollup::{creates_account, finalize_calldata, Genesis};

/// Creation code of a verifier stand-in whose runtime is `STOP` (accepts).
const ACCEPT: &str = "6001600c60003960016000f300";
/// Creation code of a verifier stand-in whose runtime is `INVALID` (rejects).
const REJECT: &str = "6001600c60003960016000f3fe";
const CAPACITY: usize = 5;
const FAN_INS: [usize; 2] = [2, 2];

/// A batch (or bundle) ready to settle: its L1 data and its final proof's instances.
struct Settle {
    number: u64,
    batches: u64,
    l1: L1Batch,
    instances: Vec<Fr>,
    new_root: [u8; 32],
}

fn be(f: &Fr) -> [u8; 32] {
    let mut b = f.to_bytes();
    b.reverse();
    b
}

/// Two consecutive batches of a compact workload, executed into chunks of
/// 5 slots: the genesis root and each batch's chunk traces.
fn executed() -> (Fr, Vec<Vec<ChunkTrace>>) {
    executed_split(None)
}

/// As [`executed`], the first batch holding `split` transactions (half by
/// default).
fn executed_split(split: Option<usize>) -> (Fr, Vec<Vec<ChunkTrace>>) {
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
    let traces: Vec<Vec<ChunkTrace>> = [&all.txs[..half], &all.txs[half..]]
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
        .collect();
    (to_halo2(&traces[0][0].prev_root), traces)
}

/// The settlement data of `batches` consecutive batches from `number` on,
/// proven together (`traces`: their chunks) by a tree with `fan_ins`.
fn settle_data(number: u64, batches: u64, traces: &[ChunkTrace], fan_ins: &[usize]) -> Settle {
    let shape = ChunkShape {
        capacity: CAPACITY,
        chain_id: DEFAULT_CHAIN_ID,
    };
    let width: usize = fan_ins.iter().product();
    let padded = padded(traces, &shape, width).expect("fits");
    let t = expected_transition(&padded, fan_ins).expect("chains");
    let mut instances = vec![Fr::zero(); ACCUMULATOR_LIMBS];
    instances.extend(t.iter().map(to_halo2));
    let l1 = L1Batch::from_padded(&padded);
    assert_eq!(
        l1.commitments(fan_ins),
        Some((t[3], t[4])),
        "the L1 data folds to the proven commitments"
    );
    Settle {
        number,
        batches,
        l1,
        instances,
        new_root: be(&to_halo2(&t[1])),
    }
}

/// Two consecutive batches, each settled alone (tree of width 4).
fn batches() -> (Fr, Vec<Settle>) {
    let (genesis, traces) = executed();
    let settles = traces
        .iter()
        .enumerate()
        .map(|(n, t)| settle_data(n as u64, 1, t, &FAN_INS))
        .collect();
    (genesis, settles)
}

fn chain(verifier: &str, genesis: &Fr) -> L1Chain {
    chain_with(verifier, genesis, &FAN_INS)
}

fn chain_with(verifier: &str, genesis: &Fr, fan_ins: &[usize]) -> L1Chain {
    L1Chain::deploy(
        &hex::decode(verifier).unwrap(),
        genesis,
        Genesis::default(),
        fan_ins,
    )
    .expect("deploys")
}

fn queue_all(l1: &mut L1Chain, s: &Settle) -> Vec<u64> {
    s.l1.deposits
        .iter()
        .map(|d| {
            let (index, gas) = l1.queue_deposit(d).expect("queued");
            assert_eq!(index, d.queue_index, "queue position");
            gas
        })
        .collect()
}

fn finalize(l1: &mut L1Chain, s: &Settle, l1_data: &L1Batch, instances: &[Fr]) -> bool {
    l1.finalize(s.number, s.batches, instances, l1_data, &[0u8; 64])
        .is_ok()
}

/// Every field of a withdrawal is bound: a changed amount, address or
/// asset, an amount out of range (which would alias after packing) and a
/// dropped withdrawal each make `finalize` revert.
fn withdrawals_are_bound(l1: &mut L1Chain, b: &Settle) {
    if b.l1.withdrawals.is_empty() {
        return;
    }
    let tampers: [fn(&mut L1Batch); 5] = [
        |l| l.withdrawals[0].amount += 1,
        |l| l.withdrawals[0].l1_address[19] ^= 1,
        |l| l.withdrawals[0].asset += 1,
        |l| l.withdrawals[0].amount |= 1 << 100,
        |l| {
            l.withdrawals.pop();
            *l.withdrawal_counts
                .iter_mut()
                .rev()
                .find(|c| **c > 0)
                .unwrap() -= 1;
        },
    ];
    for (i, tamper) in tampers.iter().enumerate() {
        let mut t = b.l1.clone();
        tamper(&mut t);
        assert!(!finalize(l1, b, &t, &b.instances), "withdrawal tamper {i}");
    }
}

#[test]
fn deposits_are_consumed_in_queue_order_and_withdrawals_become_claimable() {
    let (genesis, batches) = batches();
    let (b0, b1) = (&batches[0], &batches[1]);
    assert!(!b0.l1.deposits.is_empty(), "batch 0 consumes deposits");
    assert!(
        batches.iter().any(|b| !b.l1.withdrawals.is_empty()),
        "the workload withdraws"
    );
    let mut l1 = chain(ACCEPT, &genesis);

    // Nothing queued yet: the batch's deposits are not on L1.
    assert!(!finalize(&mut l1, b0, &b0.l1, &b0.instances));
    let deposit_gas = queue_all(&mut l1, b0);
    assert_eq!(
        l1.counter("depositCount").unwrap(),
        b0.l1.deposits.len() as u64
    );

    // Deposits attributed to the wrong chunks: the fold differs.
    let mut moved = b0.l1.clone();
    let from = moved.deposit_counts.iter().position(|c| *c > 0).unwrap();
    moved.deposit_counts[from] -= 1;
    let n = moved.deposit_counts.len();
    moved.deposit_counts[(from + 1) % n] += 1;
    assert!(!finalize(&mut l1, b0, &moved, &b0.instances));
    // A deposit fewer: the chain differs (and the queue head would lag).
    let mut fewer = b0.l1.clone();
    *fewer
        .deposit_counts
        .iter_mut()
        .rev()
        .find(|c| **c > 0)
        .unwrap() -= 1;
    assert!(!finalize(&mut l1, b0, &fewer, &b0.instances));
    // Counts for fewer chunks than the tree's width.
    let mut short = b0.l1.clone();
    short.deposit_counts.pop();
    assert!(!finalize(&mut l1, b0, &short, &b0.instances));
    // The proven deposit commitment does not match the queue.
    let mut bad = b0.instances.clone();
    bad[ACCUMULATOR_LIMBS + 3] += Fr::one();
    assert!(!finalize(&mut l1, b0, &b0.l1, &bad));

    // A rejecting verifier: nothing settles.
    let mut rejecting = chain(REJECT, &genesis);
    queue_all(&mut rejecting, b0);
    assert!(!finalize(&mut rejecting, b0, &b0.l1, &b0.instances));

    // Batch 0 settles: root, queue head and claims advance.
    assert!(
        !finalize(&mut l1, b1, &b1.l1, &b1.instances),
        "skipped batch"
    );
    withdrawals_are_bound(&mut l1, b0);
    let done = l1
        .finalize(b0.number, 1, &b0.instances, &b0.l1, &[0u8; 64])
        .expect("batch 0 finalizes");
    assert_eq!(l1.state_root().unwrap(), b0.new_root);
    assert_eq!(l1.counter("nextBatch").unwrap(), 1);
    assert_eq!(
        l1.counter("depositHead").unwrap(),
        b0.l1.deposits.len() as u64
    );
    assert!(!finalize(&mut l1, b0, &b0.l1, &b0.instances), "replay");

    // Batch 1: its deposits (if any) are queued after batch 0's.
    queue_all(&mut l1, b1);
    withdrawals_are_bound(&mut l1, b1);
    assert!(finalize(&mut l1, b1, &b1.l1, &b1.instances));
    assert_eq!(l1.state_root().unwrap(), b1.new_root);
    assert_eq!(
        l1.counter("depositHead").unwrap(),
        (b0.l1.deposits.len() + b1.l1.deposits.len()) as u64
    );

    // Every withdrawal is claimable by its L1 address, once.
    let mut owed: HashMap<([u8; 20], u32), u128> = HashMap::new();
    for w in batches.iter().flat_map(|b| &b.l1.withdrawals) {
        *owed.entry((w.l1_address, w.asset)).or_default() += w.amount;
    }
    for ((to, asset), amount) in &owed {
        assert_eq!(l1.claimable(to, *asset).unwrap(), *amount);
        assert!(
            l1.call_from(
                Address::from([7u8; 20]),
                zklanes_l1::rollup::claim_calldata(*asset)
            )
            .is_err(),
            "someone else's claim"
        );
        assert_eq!(l1.claim(to, *asset).unwrap(), *amount);
        assert_eq!(l1.claimable(to, *asset).unwrap(), 0);
        assert!(l1.claim(to, *asset).is_err(), "claimed twice");
    }
    eprintln!(
        "Rollup (stand-in verifier): deposit {} gas, finalize of batch 0 ({} deposits, {} withdrawals, {} chunks) {} gas",
        deposit_gas[0],
        b0.l1.deposits.len(),
        b0.l1.withdrawals.len(),
        b0.l1.deposit_counts.len(),
        done.gas
    );
}

#[test]
fn a_deposit_from_another_l1_sender_does_not_match() {
    let (genesis, batches) = batches();
    let b0 = &batches[0];
    let mut l1 = chain(ACCEPT, &genesis);
    let mut forged = b0.l1.deposits.clone();
    forged[0].l1_sender[0] ^= 1;
    for d in &forged {
        l1.queue_deposit(d).expect("queued");
    }
    assert!(!finalize(&mut l1, b0, &b0.l1, &b0.instances));
}

#[test]
fn out_of_range_deposits_are_refused_on_l1() {
    let (genesis, batches) = batches();
    let mut l1 = chain(ACCEPT, &genesis);
    let mut d = batches[0].l1.deposits[0].clone();
    assert!(creates_account(&d), "the first deposit creates account 1");
    d.amount = 1 << 96;
    assert!(l1.queue_deposit(&d).is_err());
    d.amount = 1;
    d.asset = 1 << 12;
    assert!(l1.queue_deposit(&d).is_err());
    // A top-up (no key) of an account L1 has not assigned.
    d.asset = 1;
    d.pubkey = PublicKey {
        x: NativeFr::from(0u64),
        y: NativeFr::from(0u64),
    };
    for account in [1, 1 << 20] {
        d.account = account;
        assert!(l1.queue_deposit(&d).is_err());
    }
    assert_eq!(l1.counter("depositCount").unwrap(), 0);
}

/// `finalize` takes canonical public inputs only: any instance plus r (the
/// same value to the verifier, which reads instances mod r) reverts, so
/// nobody can store `root + r` ahead of the operator. The calldata is valid
/// otherwise: the stand-in verifier accepts it and it settles unchanged.
#[test]
fn non_canonical_instances_are_refused() {
    let (genesis, batches) = batches();
    let b0 = &batches[0];
    let mut l1 = chain(ACCEPT, &genesis);
    queue_all(&mut l1, b0);
    let data = finalize_calldata(b0.number, b0.batches, &b0.instances, &b0.l1, &[0u8; 64]);
    // Where the instances start: the new root's word, found in the calldata.
    let new_root = ACCUMULATOR_LIMBS + 1;
    let at = data
        .windows(32)
        .position(|w| w == b0.new_root)
        .expect("the new root is in the calldata")
        - 32 * new_root;
    let r = be(&-Fr::one()); // r − 1
    for i in 0..b0.instances.len() {
        let mut bad = data.clone();
        let word = &mut bad[at + 32 * i..at + 32 * (i + 1)];
        // word += (r − 1) + 1
        let mut carry = 1u16;
        for k in (0..32).rev() {
            let s = word[k] as u16 + r[k] as u16 + carry;
            word[k] = s as u8;
            carry = s >> 8;
        }
        assert_eq!(carry, 0);
        let e = l1.call(bad).expect_err("a non-canonical instance");
        assert_eq!(
            revert_reason(&e).as_deref(),
            Some("instance not canonical"),
            "instance {i}: {e}"
        );
    }
    l1.call(data).expect("the canonical calldata settles");
    assert_eq!(l1.state_root().unwrap(), b0.new_root);
}

/// A later batch settles alone on a chain deployed at its checkpoint
/// (`Genesis::checkpoint`, as `pipeline::settle` and `zklanes verify` do):
/// its creating deposit gets the account id the batch credits, and its
/// top-up of an account created before the checkpoint is accepted.
#[test]
fn a_later_batch_settles_alone_at_its_checkpoint() {
    // The genesis deposits: (account, asset) (1, 1) creates, (1, 2) tops
    // up, (2, 1) creates | (2, 2) tops up, (3, 1) creates, (3, 2) tops up.
    let (_, traces) = executed_split(Some(3));
    let fan_ins = [4, 2];
    let b1 = settle_data(1, 1, &traces[1], &fan_ins);
    let kinds: Vec<(u32, bool)> = b1.l1.deposits[..3]
        .iter()
        .map(|d| (d.account, creates_account(d)))
        .collect();
    assert_eq!(kinds, [(2, false), (3, true), (3, false)]);
    let genesis = Genesis::checkpoint(1, &b1.l1.deposits);
    assert_eq!(
        genesis,
        Genesis {
            first_batch: 1,
            first_deposit: 3,
            first_account: 3
        }
    );
    let mut l1 = L1Chain::deploy(
        &hex::decode(ACCEPT).unwrap(),
        &to_halo2(&traces[1][0].prev_root),
        genesis,
        &fan_ins,
    )
    .expect("deploys");
    queue_all(&mut l1, &b1);
    assert!(finalize(&mut l1, &b1, &b1.l1, &b1.instances));
    assert_eq!(l1.state_root().unwrap(), b1.new_root);
    // Deployed as a new chain instead, L1 would give the creation id 1.
    let mut fresh = chain_with(ACCEPT, &to_halo2(&traces[1][0].prev_root), &fan_ins);
    assert!(
        fresh.queue_deposit(&b1.l1.deposits[0]).is_err(),
        "account 2 not assigned"
    );
}

#[test]
fn a_bundle_settles_two_batches_with_one_proof() {
    let (genesis, traces) = executed();
    let fan_ins = [4, 2];
    let all: Vec<ChunkTrace> = traces.concat();
    let bundle = settle_data(0, 2, &all, &fan_ins);
    let mut l1 = chain_with(ACCEPT, &genesis, &fan_ins);
    queue_all(&mut l1, &bundle);
    // More batches than chunk proofs, or none, is refused.
    for n in [0, 9] {
        assert!(l1
            .finalize(0, n, &bundle.instances, &bundle.l1, &[0u8; 64])
            .is_err());
    }
    // The proof binds the batch numbers: a two-batch bundle cannot settle
    // as one batch, nor as more than it proves, even with an accepting
    // verifier.
    for n in [1, 3, 8] {
        assert!(
            l1.finalize(0, n, &bundle.instances, &bundle.l1, &[0u8; 64])
                .is_err(),
            "a two-batch bundle settled as {n} batches"
        );
    }
    // Instances whose batch numbers are not the ones `finalize` is told to
    // settle are refused (the real verifier then binds the instances to the
    // proof: `tests/end_to_end.rs`).
    let first = ACCUMULATOR_LIMBS + FIRST_BATCH;
    let last = ACCUMULATOR_LIMBS + LAST_BATCH;
    let mut moved = bundle.instances.clone();
    moved[last] += Fr::one();
    assert!(
        !finalize(&mut l1, &bundle, &bundle.l1, &moved),
        "a last batch the calldata does not settle"
    );
    let mut shifted = bundle.instances.clone();
    shifted[first] += Fr::one();
    assert!(
        !finalize(&mut l1, &bundle, &bundle.l1, &shifted),
        "a first batch that is not the next one"
    );
    assert!(finalize(&mut l1, &bundle, &bundle.l1, &bundle.instances));
    assert_eq!(l1.state_root().unwrap(), bundle.new_root);
    assert_eq!(l1.counter("nextBatch").unwrap(), 2, "both batches settled");
    assert_eq!(
        l1.counter("depositHead").unwrap(),
        bundle.l1.deposits.len() as u64
    );
    assert!(
        !finalize(&mut l1, &bundle, &bundle.l1, &bundle.instances),
        "replay"
    );
}
