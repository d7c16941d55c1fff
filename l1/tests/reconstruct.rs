//! The state rebuilt from the L1 record alone equals the executor's.
//!
//! The executor runs real signed batches (every transaction type: new-account
//! and top-up deposits, transfers, pool creation, first and later liquidity,
//! swaps both ways, liquidity removal, withdrawals, forced withdrawals
//! through the L1 queue, balances emptied); its
//! data elements go into an [`L1Log`] as L1 would record them, and
//! [`reconstruct`] must rebuild the executor's root after every finalized
//! entry, and its whole state. Tampered, truncated and foreign data fail
//! with typed errors.

use std::collections::HashMap;

use proptest::prelude::*;
use zklanes_executor::commitments::data_elements;
use zklanes_executor::exec::Engine;
use zklanes_executor::field::Fr;
use zklanes_executor::genbatch::{generate, GenConfig, Keys, Workload};
use zklanes_executor::params::{DEFAULT_CHAIN_ID, MINIMUM_LIQUIDITY};
use zklanes_executor::signature::PublicKey;
use zklanes_executor::smt::{empty_hashes, Tree};
use zklanes_executor::state::{Key, Leaf, Pool};
use zklanes_executor::tx::*;
use zklanes_executor::{Batch, Rollup, RollupConfig};
use zklanes_l1::log::{DepositEvent, FinalizedBatch, L1Log};
use zklanes_l1::reconstruct::{
    decode, reconstruct, ApplyError, DecodeError, ReconstructError, Reconstructor,
};

const SEED: u64 = 13;
const CHAIN: u32 = DEFAULT_CHAIN_ID;

fn empty_root() -> Fr {
    empty_hashes()[empty_hashes().len() - 1]
}

/// An executor and the L1 log of what it settled.
struct Sim {
    rollup: Rollup,
    keys: Keys,
    log: L1Log,
    queue: u64,
    /// Signed transactions of the batch being built, per signer.
    pending_nonces: HashMap<u32, u32>,
    txs: Vec<SignedTx>,
    /// Batches executed but not yet finalized: (number, data, root).
    unsettled: Vec<(u64, Vec<Fr>, Fr)>,
}

impl Sim {
    fn new(chunk_capacity: usize) -> Self {
        let rollup = Rollup::in_memory(RollupConfig {
            chain_id: CHAIN,
            threads: 2,
            chunk_capacity,
            engine: Engine::Parallel,
        });
        Self {
            log: L1Log::new(CHAIN, &rollup.root()),
            rollup,
            keys: Keys::new(SEED, 64),
            queue: 0,
            pending_nonces: HashMap::new(),
            txs: Vec::new(),
            unsettled: Vec::new(),
        }
    }

    fn deposit(&mut self, account: u32, pubkey: PublicKey, asset: u32, amount: u128) {
        let mut l1_sender = [0x11; 20];
        l1_sender[16..].copy_from_slice(&account.to_be_bytes());
        self.txs.push(SignedTx {
            body: TxBody::Deposit(Deposit {
                queue_index: self.queue,
                l1_sender,
                account,
                pubkey,
                asset,
                amount,
            }),
            signature: None,
        });
        self.queue += 1;
    }

    /// A deposit creating `account` with its key.
    fn create(&mut self, account: u32, asset: u32, amount: u128) {
        let pk = self.keys.public(account);
        self.deposit(account, pk, asset, amount);
    }

    /// A top-up (zero key, as L1 queues it).
    fn top_up(&mut self, account: u32, asset: u32, amount: u128) {
        let zero = PublicKey {
            x: Fr::from(0u64),
            y: Fr::from(0u64),
        };
        self.deposit(account, zero, asset, amount);
    }

    fn nonce(&mut self, account: u32) -> u32 {
        let base = match self.rollup.state().get(Key::Account(account)) {
            Leaf::Account(a) => a.nonce,
            _ => 0,
        };
        let n = self.pending_nonces.entry(account).or_insert(base);
        *n += 1;
        *n - 1
    }

    fn signed(&mut self, body: TxBody) {
        let (a, _) = body.signer().expect("signed type");
        let msg = body.message(CHAIN).expect("signed type");
        let signature = Some(self.keys.secret(a).sign(&msg));
        self.txs.push(SignedTx { body, signature });
    }

    fn transfer(&mut self, from: u32, to: u32, asset: u32, amount: u128) {
        let nonce = self.nonce(from);
        self.signed(TxBody::Transfer(Transfer {
            from,
            to,
            asset,
            amount,
            nonce,
        }));
    }

    fn create_pool(&mut self, account: u32, pool: u32, token_a: u32, token_b: u32, fee: u16) {
        let nonce = self.nonce(account);
        self.signed(TxBody::CreatePool(CreatePool {
            account,
            pool,
            token_a,
            token_b,
            fee_bps: fee,
            nonce,
        }));
    }

    fn add(&mut self, account: u32, pool: u32, amount_a: u128, amount_b: u128) {
        let nonce = self.nonce(account);
        self.signed(TxBody::AddLiquidity(AddLiquidity {
            account,
            pool,
            amount_a,
            amount_b,
            min_lp: 0,
            nonce,
        }));
    }

    fn remove(&mut self, account: u32, pool: u32, lp_amount: u128) {
        let nonce = self.nonce(account);
        self.signed(TxBody::RemoveLiquidity(RemoveLiquidity {
            account,
            pool,
            lp_amount,
            min_a: 0,
            min_b: 0,
            nonce,
        }));
    }

    fn swap(&mut self, account: u32, pool: u32, a_to_b: bool, amount_in: u128) {
        let nonce = self.nonce(account);
        self.signed(TxBody::Swap(Swap {
            account,
            pool,
            a_to_b,
            amount_in,
            min_out: 0,
            nonce,
        }));
    }

    /// A forced withdrawal of `account`'s whole balance of `asset`, queued
    /// on L1 by its owner (the sender of its creating deposit).
    fn force_withdraw(&mut self, account: u32, asset: u32) {
        let mut l1_owner = [0x11; 20];
        l1_owner[16..].copy_from_slice(&account.to_be_bytes());
        self.txs.push(SignedTx {
            body: TxBody::ForcedWithdraw(ForcedWithdraw {
                queue_index: self.queue,
                account,
                asset,
                l1_owner,
            }),
            signature: None,
        });
        self.queue += 1;
    }

    fn withdraw(&mut self, account: u32, asset: u32, amount: u128) {
        let nonce = self.nonce(account);
        self.signed(TxBody::Withdraw(Withdraw {
            account,
            asset,
            amount,
            l1_address: [0x22; 20],
            nonce,
        }));
    }

    fn balance(&self, account: u32, asset: u32) -> u128 {
        match self.rollup.state().get(Key::Balance(account, asset)) {
            Leaf::Balance(b) => b,
            _ => 0,
        }
    }

    /// Executes `txs` as the next batch; L1 records its queue events
    /// (deposits and forced withdrawals).
    fn execute(&mut self, txs: Vec<SignedTx>) {
        let number = self.rollup.height();
        let out = self
            .rollup
            .apply(&Batch {
                version: zklanes_executor::batch::BATCH_VERSION,
                chain_id: CHAIN,
                number,
                txs,
            })
            .expect("the batch executes");
        let mut data = Vec::new();
        for chunk in &out.chunks {
            for t in &chunk.txs {
                data.extend(data_elements(&t.tx.body, &t.receipt));
                match &t.tx.body {
                    TxBody::Deposit(d) => self.log.record_deposit(DepositEvent::from_deposit(d)),
                    TxBody::ForcedWithdraw(f) => {
                        self.log.record_deposit(DepositEvent::from_forced(f))
                    }
                    _ => {}
                }
            }
            assert_eq!(
                chunk.data(),
                chunk
                    .txs
                    .iter()
                    .flat_map(|t| data_elements(&t.tx.body, &t.receipt))
                    .collect::<Vec<_>>()
            );
        }
        self.unsettled.push((number, data, out.state_root));
    }

    /// Executes the transactions built so far as the next batch.
    fn end_batch(&mut self) {
        let txs = std::mem::take(&mut self.txs);
        self.pending_nonces.clear();
        self.execute(txs);
    }

    /// Settles every executed batch in one finalized entry (a bundle when
    /// more than one).
    fn finalize(&mut self) {
        let parts = std::mem::take(&mut self.unsettled);
        let first = parts[0].0;
        let root = parts.last().unwrap().2;
        let data: Vec<Fr> = parts.iter().flat_map(|p| p.1.clone()).collect();
        self.log
            .record_batch(FinalizedBatch::new(first, parts.len() as u64, &root, &data));
    }

    /// Reconstructs the log and checks it against the executor.
    fn check(&self) {
        let rec = reconstruct(&self.log).expect("the log reconstructs");
        assert_eq!(rec.root, self.rollup.root());
        assert_eq!(rec.state.leaves, self.rollup.state().leaves);
        assert_eq!(rec.state.next_deposit, self.rollup.state().next_deposit);
        assert_eq!(rec.next_batch, self.rollup.height());
        assert!(rec.pending_deposits.is_empty());
    }
}

/// Batch 0: a generated compact genesis and workload (every type); then
/// hand-made batches over a third pool, settled one, then two at once.
fn scenario() -> Sim {
    let mut sim = Sim::new(4);
    let gen = generate(&GenConfig {
        workload: Workload::Compact,
        txs: 40,
        accounts: 4,
        seed: SEED,
        chain_id: CHAIN,
        sign: true,
    });
    let batch = gen.into_batch(CHAIN);
    // Its L1 queue: the deposits, and the forced withdrawal it ends with.
    sim.queue = batch
        .txs
        .iter()
        .filter(|t| t.body.queue_index().is_some())
        .count() as u64;
    assert!(matches!(
        batch.txs.last().unwrap().body,
        TxBody::ForcedWithdraw(_)
    ));
    sim.execute(batch.txs);
    sim.finalize();
    sim.check();

    // Batch 1: a new account, top-ups, a new pool, its first liquidity
    // (minimum locked), swaps both ways, a later add, a removal, a transfer
    // to the new account, a withdrawal emptying a balance.
    sim.create(5, 1, 5_000_000_000_000);
    sim.top_up(5, 2, 7_000_000_000_000);
    sim.top_up(2, 1, 123);
    sim.create_pool(5, 3, 1, 2, 100);
    sim.add(5, 3, 2_000_000_000_000, 3_000_000_000_000);
    sim.swap(2, 3, true, 10_000_000);
    sim.swap(3, 3, false, 20_000_000);
    sim.add(1, 3, 1_000_000_000, 2_000_000_000);
    sim.transfer(4, 5, 1, 999);
    sim.end_batch();
    sim.finalize();
    sim.check();

    let lp5 = sim.balance(5, Pool::lp_asset(3));
    assert!(lp5 > 0);
    let pool = match sim.rollup.state().get(Key::Pool(3)) {
        Leaf::Pool(p) => p,
        other => panic!("pool 3 is {other:?}"),
    };
    assert!(pool.lp_supply > lp5 + MINIMUM_LIQUIDITY - 1);

    // Batches 2 and 3, settled as one bundle: a removal, withdrawals (one
    // of a whole balance), a second new account, transfers.
    sim.remove(5, 3, lp5 / 3);
    // (Account 4's token 2 went out by the workload's forced withdrawal.)
    assert_eq!(sim.balance(4, 2), 0);
    let all = sim.balance(3, 2);
    assert!(all > 0);
    sim.withdraw(3, 2, all);
    sim.create(6, 2, 1_000_042);
    sim.end_batch();
    sim.transfer(6, 1, 2, 40);
    sim.swap(6, 3, false, 1_000_000);
    sim.withdraw(5, 1, 1);
    sim.top_up(6, 1, 1_000_000_000);
    sim.remove(1, 1, 1_000);
    sim.end_batch();
    sim.finalize();
    sim.check();
    assert_eq!(sim.balance(3, 2), 0);

    // Batch 4: forced withdrawals between deposits in the queue: of a
    // whole balance, of a balance of zero (an asset the account never
    // held), then a deposit, a forced withdrawal of what it credited.
    assert!(sim.balance(6, 1) > 0);
    sim.force_withdraw(6, 1);
    sim.force_withdraw(5, 7);
    sim.top_up(3, 7, 555);
    sim.transfer(3, 5, 7, 55);
    sim.force_withdraw(5, 7);
    sim.end_batch();
    sim.finalize();
    sim.check();
    assert_eq!(sim.balance(6, 1), 0);
    assert_eq!(sim.balance(5, 7), 0);
    assert_eq!(sim.balance(3, 7), 500);
    sim
}

/// The index in the log of the entry holding the forced withdrawals of
/// accounts 6 and 5 (the scenario's last).
const FORCED_ENTRY: usize = 3;

#[test]
fn every_entry_rebuilds_the_executor_root_and_state() {
    let sim = scenario();
    let rec = reconstruct(&sim.log).unwrap();
    assert_eq!(rec.checks.len(), 4);
    assert_eq!(rec.batches(), 5);
    // The compact workload's forced withdrawal, and batch 4's three.
    assert_eq!(rec.forced_withdrawals(), 4);
    assert_eq!(
        (
            rec.checks[FORCED_ENTRY].deposits,
            rec.checks[FORCED_ENTRY].forced_withdrawals
        ),
        (1, 3)
    );
    assert_eq!(rec.deposits_consumed(), sim.log.deposits.len() as u64);
    assert_eq!(rec.pools(), 3);
    assert_eq!(rec.accounts(), 6);
    // Every transaction type is in the data.
    let mut kinds: Vec<&str> = sim
        .log
        .batches
        .iter()
        .flat_map(|b| decode(&b.data).unwrap())
        .map(|t| t.op.name())
        .collect();
    kinds.sort_unstable();
    kinds.dedup();
    assert_eq!(kinds.len(), 8, "{kinds:?}");
    // Full keys from the deposit events.
    for a in 1..=6 {
        assert_eq!(rec.public_key(a), Some(sim.keys.public(a)), "account {a}");
    }
    // The emptied balances are empty leaves.
    assert_eq!(rec.state.get(Key::Balance(3, 2)), Leaf::Empty);
    assert_eq!(rec.state.get(Key::Balance(4, 2)), Leaf::Empty);
    assert_eq!(rec.state.get(Key::Balance(6, 1)), Leaf::Empty);
    // Every leaf opens against the root, and so does an empty one.
    for idx in rec.state.leaves.keys() {
        let key = key_of(*idx);
        let p = rec.proof(key);
        assert!(p.verify(), "leaf {idx}");
        assert_eq!(p.root, sim.rollup.root());
    }
    let p = rec.proof(Key::Balance(5, 77));
    assert_eq!(p.leaf, Leaf::Empty);
    assert!(p.verify());
    // Checks report each entry's root; the last is the executor's.
    assert_eq!(rec.checks.last().unwrap().root, sim.rollup.root());
    assert_eq!(rec.checks[2].batches.first, 2);
    assert_eq!(rec.checks[2].batches.last, 3);
}

/// A key naming a leaf index (account leaves at slot 0, the registry's
/// slots are pools).
fn key_of(idx: u64) -> Key {
    let account = (idx >> 12) as u32;
    let slot = (idx & 0xfff) as u32;
    match (account, slot) {
        (0, p) => Key::Pool(p),
        (a, 0) => Key::Account(a),
        (a, s) => Key::Balance(a, s),
    }
}

#[test]
fn without_deposit_events_only_key_hashes_are_known() {
    let sim = scenario();
    let mut log = sim.log.clone();
    log.deposits.clear();
    let rec = reconstruct(&log).unwrap();
    assert_eq!(rec.root, sim.rollup.root());
    assert_eq!(rec.public_key(1), None);
    let acc = rec.account(1).unwrap();
    assert_eq!(acc.pubkey_hash, sim.keys.public(1).hash());
}

#[test]
fn the_log_roundtrips_through_files_and_merges() {
    let sim = scenario();
    let dir = tempdir();
    let whole = dir.join("whole.json");
    sim.log.write(&whole).unwrap();
    // A sample for trying `zklanes reconstruct` by hand.
    if let Some(sample) = std::env::var_os("ZKLANES_RECONSTRUCT_SAMPLE") {
        sim.log.write(std::path::Path::new(&sample)).unwrap();
    }
    assert_eq!(L1Log::read(&whole).unwrap(), sim.log);
    // Two overlapping parts merge back into the whole.
    let mut a = sim.log.clone();
    a.batches.truncate(2);
    a.deposits.truncate(3);
    let mut b = sim.log.clone();
    b.batches.drain(..1);
    let merged = L1Log::merge([b.clone(), a.clone()]).unwrap().unwrap();
    assert_eq!(merged, sim.log);
    // A conflicting entry is refused.
    let mut c = a.clone();
    c.batches[1].data[0][31] ^= 1;
    assert!(L1Log::merge([b, c]).is_err());
    // The first part alone reconstructs to batch 1's root.
    let rec = reconstruct(&a).unwrap();
    assert_eq!(rec.next_batch, 2);
    assert_eq!(rec.root, rec.checks[1].root);
    // Deposit events no settled batch consumed are pending (exit mode
    // refunds them).
    let mut d = sim.log.clone();
    d.batches.truncate(1);
    let rec = reconstruct(&d).unwrap();
    let consumed = rec.deposits_consumed() as usize;
    assert_eq!(rec.pending_deposits, sim.log.deposits[consumed..]);
    // Exit mode refunds the deposits among them, not the three forced
    // withdrawals of the last entry.
    assert_eq!(
        rec.pending_refunds().count(),
        rec.pending_deposits.len() - 3
    );
    assert!(rec.pending_refunds().all(|e| e.amount > 0));
    let _ = std::fs::remove_dir_all(&dir);
}

fn tempdir() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("zklanes-reconstruct-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Whether word `w` of `data` is the first word of a withdrawal (its last
/// bytes are the L1 address, which does not enter the state).
fn withdrawal_first_word(data: &[[u8; 32]], w: usize) -> bool {
    let mut i = 0;
    while i < data.len() {
        let t = data[i][1];
        if i == w {
            return t == 6;
        }
        i += if t == 1 { 3 } else { 2 };
        if i > w {
            return false;
        }
    }
    false
}

#[test]
fn every_tampered_word_fails_except_an_l1_address() {
    let sim = scenario();
    let mut before = Reconstructor::from_log(&sim.log).unwrap();
    let (mut failed, mut addresses) = (0, 0);
    for (entry, b) in sim.log.batches.iter().enumerate() {
        for w in 0..b.data.len() {
            let mut bad = b.clone();
            bad.data[w][31] ^= 1;
            let r = before.clone().apply(entry, &bad);
            if withdrawal_first_word(&b.data, w) {
                // The recipient's address is L1's business (claims), not state.
                assert_eq!(r.unwrap().root, b_root(b));
                addresses += 1;
            } else {
                let e = r.expect_err("a tampered word fails");
                assert_eq!(batches_of(&e).0, b.first_batch, "{e}");
                failed += 1;
            }
        }
        before.apply(entry, b).unwrap();
    }
    assert_eq!(before.root(), sim.rollup.root());
    assert!(failed > 100 && addresses >= 3, "{failed} {addresses}");
}

fn b_root(b: &FinalizedBatch) -> Fr {
    zklanes_executor::field::fr_from_bytes(&b.new_root).unwrap()
}

fn batches_of(e: &ReconstructError) -> (u64, u64) {
    match e {
        ReconstructError::Decode { batches, .. }
        | ReconstructError::Apply { batches, .. }
        | ReconstructError::RootMismatch { batches, .. } => (batches.first, batches.last),
        other => panic!("unexpected {other}"),
    }
}

#[test]
fn a_changed_amount_gives_a_root_mismatch_naming_the_bundle() {
    let sim = scenario();
    let mut log = sim.log.clone();
    // The bundle's first transaction is a removal; its e2 holds outputs.
    let data = &mut log.batches[2].data;
    assert_eq!(data[0][1], 5);
    data[1][15] ^= 1; // the last byte of out_b
    let e = reconstruct(&log).unwrap_err();
    assert!(
        matches!(e, ReconstructError::RootMismatch { batches, .. } if batches.first == 2 && batches.last == 3),
        "{e}"
    );
    assert!(e.to_string().contains("batches 2..=3"), "{e}");
}

#[test]
fn a_wrong_new_root_is_a_mismatch() {
    let sim = scenario();
    let mut log = sim.log.clone();
    log.batches[1].new_root = log.batches[0].new_root;
    let e = reconstruct(&log).unwrap_err();
    assert!(
        matches!(e, ReconstructError::RootMismatch { batches, computed, .. }
        if batches.first == 1 && computed != sim.rollup.root())
    );
}

#[test]
fn truncated_extra_and_unknown_data_fail() {
    let sim = scenario();
    // Truncated: the last word dropped.
    let mut log = sim.log.clone();
    log.batches[1].data.pop();
    assert!(matches!(
        reconstruct(&log),
        Err(ReconstructError::Decode {
            source: DecodeError::Truncated { .. },
            ..
        })
    ));
    // Extra: a zero word is type 0, the padding no-op, never in the data.
    let mut log = sim.log.clone();
    log.batches[1].data.push([0; 32]);
    assert!(matches!(
        reconstruct(&log),
        Err(ReconstructError::Decode {
            source: DecodeError::UnknownType { tx_type: 0, .. },
            ..
        })
    ));
    // Unknown type 9 on the first transaction.
    let mut log = sim.log.clone();
    log.batches[0].data[0][1] = 9;
    assert!(matches!(
        reconstruct(&log),
        Err(ReconstructError::Decode {
            source: DecodeError::UnknownType {
                word: 0,
                tx_type: 9
            },
            ..
        })
    ));
    // A word that is not a field element.
    let mut log = sim.log.clone();
    log.batches[0].data[2] = [0xff; 32];
    assert!(matches!(
        reconstruct(&log),
        Err(ReconstructError::Decode {
            source: DecodeError::NonCanonical { .. },
            ..
        })
    ));
    // Non-zero padding after a transfer's 21 bytes.
    let mut log = sim.log.clone();
    let data = &mut log.batches[1].data;
    let i = (0..data.len()).find(|i| data[*i][1] == 2).unwrap();
    data[i + 1][31] = 1;
    assert!(matches!(
        reconstruct(&log),
        Err(ReconstructError::Decode {
            source: DecodeError::NonZeroPadding { .. },
            ..
        })
    ));
}

#[test]
fn reordered_transactions_fail() {
    let sim = scenario();
    // Batch 1 opens with a creating deposit then a top-up of it: swap them.
    let mut log = sim.log.clone();
    let data = &mut log.batches[1].data;
    let first: Vec<_> = data.drain(..3).collect();
    data.splice(3..3, first);
    assert!(reconstruct(&log).is_err());
}

#[test]
fn genesis_gaps_and_deposit_events_are_checked() {
    let sim = scenario();
    let mut log = sim.log.clone();
    log.genesis_root = log.batches[0].new_root;
    assert!(matches!(
        reconstruct(&log),
        Err(ReconstructError::GenesisNotEmpty { .. })
    ));
    let mut log = sim.log.clone();
    log.batches.remove(1);
    assert!(matches!(
        reconstruct(&log),
        Err(ReconstructError::BatchGap {
            entry: 1,
            expected: 1,
            first: 2,
            ..
        })
    ));
    let mut log = sim.log.clone();
    log.deposits[2].amount += 1;
    assert!(matches!(
        reconstruct(&log),
        Err(ReconstructError::Apply {
            source: ApplyError::DepositMismatch {
                queue_index: 2,
                field: "amount"
            },
            ..
        })
    ));
    let mut log = sim.log.clone();
    log.deposits[0].sender[0] ^= 1;
    assert!(matches!(
        reconstruct(&log),
        Err(ReconstructError::Apply {
            source: ApplyError::DepositMismatch {
                field: "sender",
                ..
            },
            ..
        })
    ));
    let mut log = sim.log.clone();
    let dup = log.deposits[1].clone();
    log.deposits[0] = DepositEvent {
        queue_index: 1,
        amount: dup.amount + 1,
        ..dup
    };
    assert!(matches!(
        reconstruct(&log),
        Err(ReconstructError::ConflictingDepositEvent { queue_index: 1 })
    ));
}

/// The first words of the forced withdrawals in `data`, in order.
fn forced_words(data: &[[u8; 32]]) -> Vec<usize> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < data.len() {
        let t = data[i][1];
        if t == 8 {
            out.push(i);
        }
        i += if t == 1 { 3 } else { 2 };
    }
    out
}

/// The result of reconstructing `log`'s forced-withdrawal entry, the
/// entries before it applied.
fn apply_forced_entry(
    log: &L1Log,
) -> Result<zklanes_l1::reconstruct::BatchCheck, ReconstructError> {
    let mut r = Reconstructor::from_log(log)?;
    for (i, b) in log.batches[..FORCED_ENTRY].iter().enumerate() {
        r.apply(i, b).unwrap();
    }
    r.apply(FORCED_ENTRY, &log.batches[FORCED_ENTRY])
}

/// The apply error of `r`, which must be one.
fn apply_error(r: Result<zklanes_l1::reconstruct::BatchCheck, ReconstructError>) -> ApplyError {
    match r {
        Err(ReconstructError::Apply { source, kind, .. }) => {
            assert!(kind == "forced withdrawal" || kind == "deposit", "{kind}");
            source
        }
        other => panic!("expected an apply error, got {other:?}"),
    }
}

#[test]
fn forced_withdrawals_are_checked_against_the_balance_and_the_l1_queue() {
    let sim = scenario();
    let data = &sim.log.batches[FORCED_ENTRY].data;
    let forced = forced_words(data);
    assert_eq!(forced.len(), 3);
    let (whole, zero) = (forced[0], forced[1]);
    // Bytes of the first word (after its zero top byte): type(1) account(3)
    // asset(2) amount(14) l1_owner(20, its first 11 here).
    let (amount_last, owner_first) = (1 + 1 + 3 + 2 + 13, 1 + 1 + 3 + 2 + 14);

    // The amount is not the whole balance: of a balance, and of nothing.
    for (w, account, asset) in [(whole, 6, 1), (zero, 5, 7)] {
        let mut log = sim.log.clone();
        log.batches[FORCED_ENTRY].data[w][amount_last] ^= 1;
        match apply_error(apply_forced_entry(&log)) {
            ApplyError::ForcedAmountMismatch {
                account: a,
                asset: s,
                balance,
                amount,
            } => {
                assert_eq!((a, s), (account, asset));
                assert_ne!(balance, amount);
                assert_eq!(balance ^ amount, 1);
            }
            other => panic!("{other}"),
        }
        // Without the L1 events too: the state alone refuses it.
        log.deposits.clear();
        assert!(matches!(
            apply_error(apply_forced_entry(&log)),
            ApplyError::ForcedAmountMismatch { .. }
        ));
    }

    // Another owner than the one who queued it on L1.
    let mut log = sim.log.clone();
    log.batches[FORCED_ENTRY].data[whole][owner_first] ^= 1;
    let e = apply_forced_entry(&log).unwrap_err();
    assert!(
        e.to_string().contains("forced withdrawal at queue index"),
        "{e}"
    );
    let queue_index = match apply_error(Err(e)) {
        ApplyError::ForcedWithdrawalMismatch { queue_index, field } => {
            assert_eq!(field, "owner");
            queue_index
        }
        other => panic!("{other}"),
    };
    let event = sim.log.deposits[queue_index as usize].clone();
    assert!(event.is_forced_withdrawal());
    assert_eq!((event.account, event.asset), (6, 1));

    // L1 queued it for another asset, or for another account.
    for (field, tamper) in [
        (
            "asset",
            (|e: &mut DepositEvent| e.asset = 2) as fn(&mut DepositEvent),
        ),
        ("account", |e| e.account = 5),
    ] {
        let mut log = sim.log.clone();
        tamper(&mut log.deposits[queue_index as usize]);
        assert_eq!(
            apply_error(apply_forced_entry(&log)),
            ApplyError::ForcedWithdrawalMismatch { queue_index, field }
        );
    }

    // L1 queued a deposit where the data has a forced withdrawal, and a
    // forced withdrawal where the data has a deposit.
    let mut log = sim.log.clone();
    log.deposits[queue_index as usize].amount = 1;
    assert_eq!(
        apply_error(apply_forced_entry(&log)),
        ApplyError::QueueKindMismatch {
            queue_index,
            data: "forced withdrawal",
            l1: "deposit"
        }
    );
    let deposit_index = queue_index + 2;
    let mut log = sim.log.clone();
    assert!(!log.deposits[deposit_index as usize].is_forced_withdrawal());
    log.deposits[deposit_index as usize].amount = 0;
    assert_eq!(
        apply_error(apply_forced_entry(&log)),
        ApplyError::QueueKindMismatch {
            queue_index: deposit_index,
            data: "deposit",
            l1: "forced withdrawal"
        }
    );

    // An account that does not exist (no L1 events to compare with).
    let mut log = sim.log.clone();
    log.deposits.clear();
    log.batches[FORCED_ENTRY].data[whole][4] = 60;
    assert_eq!(
        apply_error(apply_forced_entry(&log)),
        ApplyError::UnknownAccount { account: 60 }
    );

    // Dropped from the data: the next operations take its queue index,
    // and L1's event there is not theirs.
    let mut log = sim.log.clone();
    log.batches[FORCED_ENTRY].data.drain(whole..whole + 2);
    assert!(matches!(
        apply_error(apply_forced_entry(&log)),
        ApplyError::ForcedWithdrawalMismatch {
            field: "account",
            ..
        }
    ));
}

#[test]
fn a_failed_entry_changes_nothing() {
    let sim = scenario();
    let mut r = Reconstructor::from_log(&sim.log).unwrap();
    r.apply(0, &sim.log.batches[0]).unwrap();
    let root = r.root();
    let mut bad = sim.log.batches[1].clone();
    bad.new_root = sim.log.batches[0].new_root;
    assert!(r.apply(1, &bad).is_err());
    assert_eq!(r.root(), root);
    let mut bad = sim.log.batches[1].clone();
    bad.data.pop();
    assert!(r.apply(1, &bad).is_err());
    for entry in 1..sim.log.batches.len() {
        r.apply(entry, &sim.log.batches[entry]).unwrap();
    }
    let rec = r.finish();
    assert_eq!(rec.root, sim.rollup.root());
    assert_eq!(rec.state.leaves, sim.rollup.state().leaves);
    // The tree kept beside the state is the state's tree.
    let mut fresh = Tree::default();
    let leaves: Vec<(u64, Fr)> = rec
        .state
        .leaves
        .iter()
        .map(|(i, l)| (*i, l.hash()))
        .collect();
    fresh.apply(&leaves);
    assert_eq!(fresh.root(), rec.root);
}

#[test]
fn an_empty_log_is_the_empty_root() {
    let log = L1Log::new(CHAIN, &empty_root());
    let rec = reconstruct(&log).unwrap();
    assert_eq!(rec.root, empty_root());
    assert_eq!((rec.accounts(), rec.balances(), rec.pools()), (0, 0, 0));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    /// Random generated batches, split into batches at random points and
    /// settled in random bundles, reconstruct to the executor's roots.
    #[test]
    fn random_batches_reconstruct(
        seed in 0u64..1_000,
        txs in 0usize..48,
        accounts in 2u32..6,
        cuts in proptest::collection::vec(0usize..1_000, 0..4),
        bundle in 1usize..3,
    ) {
        let mut sim = Sim::new(3);
        let gen = generate(&GenConfig {
            workload: Workload::Compact,
            txs,
            accounts,
            seed,
            chain_id: CHAIN,
            sign: true,
        });
        let all = gen.into_batch(CHAIN).txs;
        let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (all.len() + 1)).collect();
        cuts.push(all.len());
        cuts.retain(|c| *c > 0);
        cuts.sort_unstable();
        cuts.dedup();
        let mut start = 0;
        for (k, end) in cuts.into_iter().enumerate() {
            sim.execute(all[start..end].to_vec());
            start = end;
            if (k + 1) % bundle == 0 {
                sim.finalize();
                sim.check();
            }
        }
        if !sim.unsettled.is_empty() {
            sim.finalize();
        }
        sim.check();
    }
}
