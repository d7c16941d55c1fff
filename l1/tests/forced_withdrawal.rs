//! Forced withdrawals in revm (issue 13): a user the operator censors
//! queues, on L1, a withdrawal of their account's whole balance of a token
//! (`forceWithdraw`, only the account's L1 owner may), which the batches
//! must consume in queue order with the deposits. Here: who may queue one
//! and for which asset (and not in exit mode, nor inside a deposit's token
//! transfer); a batch built by the real executor that carries it finalizes
//! (the STUB verifier, see `common`), credits the owner with the whole
//! balance and `claim` pays the real ERC-20 out; data that skips it, or
//! names another owner, account or asset, does not match the queue; a
//! later batch settles alone at its checkpoint, whose genesis names the
//! owners; and an operator that keeps settling batches without it lets
//! anyone activate exit mode after the deadline, where the user exits with
//! a Merkle proof and the forced entry is not refundable.

mod common;

use std::collections::{BTreeMap, HashMap};

use ark_ff::PrimeField as _;
use common::*;
use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use revm::primitives::Address;
use zklanes_executor::batch::BATCH_VERSION;
use zklanes_executor::commitments::word;
use zklanes_executor::field::Fr as NativeFr;
use zklanes_executor::genbatch::Keys;
use zklanes_executor::l1::{L1Batch, QueueOp};
use zklanes_executor::params::{DEFAULT_CHAIN_ID, LP_ASSET_BASE, MAX_TOKEN};
use zklanes_executor::state::{Key, Leaf};
use zklanes_executor::tx::*;
use zklanes_executor::{Batch, Rollup, RollupConfig};
use zklanes_l1::chain::L1Chain;
use zklanes_l1::exit::{state_tree, ExitProof};
use zklanes_l1::log::{DepositEvent, FinalizedBatch, L1Log};
use zklanes_l1::reconstruct::reconstruct;
use zklanes_l1::rollup::{claim_calldata, forced_queue_link, Genesis};
use zklanes_l1::settle::settle;
use zklanes_l1::solc::compile_solidity;
use zklanes_l1::withdrawals::{Withdrawal, WithdrawalTree};

const CHAIN: u32 = DEFAULT_CHAIN_ID;
const DEADLINE: u64 = 10;
const ETHER: u128 = 1_000_000_000_000_000_000;
const NO_PROOF: [u8; 64] = [0; 64];

const ALICE: [u8; 20] = [0xa1; 20];
const BOB: [u8; 20] = [0xb2; 20];
const CAROL: [u8; 20] = [0xc3; 20];
const MALLORY: [u8; 20] = [0x66; 20];

fn addr(a: [u8; 20]) -> Address {
    Address::from(a)
}

/// A batch the executor applied: its L1 data and the instances for it.
struct Executed {
    number: u64,
    l1: L1Batch,
    instances: Vec<Fr>,
    prev_root: NativeFr,
    new_root: NativeFr,
}

/// The executor, the L1 chain (real ERC-20 as [`TOKEN`], ETH as [`ETH`])
/// and the L1 log of one rollup.
struct World {
    rollup: Rollup,
    l1: L1Chain,
    log: L1Log,
    keys: Keys,
    tokens: BTreeMap<u32, Address>,
    /// Queue entries L1 holds (the next one's queue index).
    queued: u64,
    /// The next batch's transactions and the signers' next nonces.
    txs: Vec<SignedTx>,
    nonces: HashMap<u32, u32>,
}

impl World {
    fn new() -> Self {
        let rollup = Rollup::in_memory(RollupConfig {
            chain_id: CHAIN,
            threads: 2,
            chunk_capacity: 8,
            ..Default::default()
        });
        let genesis = Genesis {
            exit_deadline_blocks: DEADLINE,
            ..Genesis::default()
        };
        let mut l1 = stub_chain_at(&h2(&rollup.root()), genesis);
        l1.register_asset(ETH, Address::ZERO).unwrap();
        let token = l1.register_test_token(TOKEN).unwrap();
        l1.advance_blocks(100);
        Self {
            log: L1Log::new(CHAIN, &rollup.root()),
            rollup,
            l1,
            keys: Keys::new(17, 8),
            tokens: [(ETH, Address::ZERO), (TOKEN, token)].into(),
            queued: 0,
            txs: Vec::new(),
            nonces: HashMap::new(),
        }
    }

    /// Queues `d` on L1 one block later (its sender paid first); `process`:
    /// the next batch consumes it.
    fn queue(&mut self, d: Deposit, process: bool) -> Deposit {
        self.l1.advance_blocks(1);
        let (index, _) = self.l1.queue_deposit(&d).expect("queued");
        assert_eq!(index, d.queue_index);
        self.queued += 1;
        self.log.record_deposit(DepositEvent::from_deposit(&d));
        if process {
            self.txs.push(SignedTx {
                body: TxBody::Deposit(d.clone()),
                signature: None,
            });
        }
        d
    }

    /// A deposit creating `account` from `sender` (its L1 owner).
    fn create(&mut self, sender: [u8; 20], account: u32, asset: u32, amount: u128) -> Deposit {
        let d = Deposit {
            queue_index: self.queued,
            l1_sender: sender,
            account,
            pubkey: self.keys.public(account),
            asset,
            amount,
        };
        self.queue(d, true)
    }

    /// A top-up of `account` from `sender`.
    fn top_up(
        &mut self,
        sender: [u8; 20],
        account: u32,
        asset: u32,
        amount: u128,
        process: bool,
    ) -> Deposit {
        let d = Deposit {
            queue_index: self.queued,
            l1_sender: sender,
            account,
            pubkey: zero_key(),
            asset,
            amount,
        };
        self.queue(d, process)
    }

    /// `owner` forces a withdrawal of `account`'s `asset` on L1 one block
    /// later; `process`: the next batch consumes it. Returns it and the
    /// gas of `forceWithdraw`.
    fn force(
        &mut self,
        owner: [u8; 20],
        account: u32,
        asset: u32,
        process: bool,
    ) -> (ForcedWithdraw, u64) {
        self.l1.advance_blocks(1);
        let prev = self.l1.queue_word(self.queued).unwrap();
        let (index, gas) = self
            .l1
            .force_withdraw(owner, account, asset)
            .expect("queued");
        assert_eq!(index, self.queued);
        let f = ForcedWithdraw {
            queue_index: index,
            account,
            asset,
            l1_owner: owner,
        };
        // The queue holds it as an entry of amount 0 with the zero key.
        assert_eq!(
            self.l1.queue_hash(index + 1).unwrap(),
            forced_queue_link(&prev, &f)
        );
        assert_eq!(self.l1.queued_block(index).unwrap(), self.l1.block_number());
        self.queued += 1;
        self.log.record_deposit(DepositEvent::from_forced(&f));
        if process {
            self.txs.push(SignedTx {
                body: TxBody::ForcedWithdraw(f.clone()),
                signature: None,
            });
        }
        (f, gas)
    }

    fn transfer(&mut self, from: u32, to: u32, asset: u32, amount: u128) {
        let base = match self.rollup.state().get(Key::Account(from)) {
            Leaf::Account(a) => a.nonce,
            _ => 0,
        };
        let n = self.nonces.entry(from).or_insert(base);
        let nonce = *n;
        *n += 1;
        let body = TxBody::Transfer(Transfer {
            from,
            to,
            asset,
            amount,
            nonce,
        });
        let msg = body.message(CHAIN).expect("a signed type");
        let signature = Some(self.keys.secret(from).sign(&msg));
        self.txs.push(SignedTx { body, signature });
    }

    /// Executes the transactions built so far as the next batch (the real
    /// executor); L1 has not seen it yet.
    fn execute(&mut self) -> Executed {
        let number = self.rollup.height();
        let txs = std::mem::take(&mut self.txs);
        self.nonces.clear();
        let out = self
            .rollup
            .apply(&Batch {
                version: BATCH_VERSION,
                chain_id: CHAIN,
                number,
                txs,
            })
            .expect("a valid batch");
        let l1 = L1Batch::from_padded(&out.chunks);
        let instances = instances_for(
            &out.prev_root,
            &out.state_root,
            &some_p(),
            &l1.data,
            number,
            number,
        );
        Executed {
            number,
            l1,
            instances,
            prev_root: out.prev_root,
            new_root: out.state_root,
        }
    }

    /// Finalizes `e` on L1 (its gas, or the revert reason); the log records
    /// it when it settles.
    fn finalize(&mut self, e: &Executed) -> Result<u64, String> {
        let gas = self
            .l1
            .finalize(e.number, 1, &e.instances, &e.l1, &NO_PROOF)
            .map_err(reason)?
            .gas;
        assert_eq!(self.l1.state_root().unwrap(), word(&e.new_root));
        self.log
            .record_batch(FinalizedBatch::new(e.number, 1, &e.new_root, &e.l1.data));
        Ok(gas)
    }

    /// Finalizes `data` as `e`'s batch (same roots, the instances drawn for
    /// `data`): the revert reason, or the gas.
    fn finalize_as(&mut self, e: &Executed, data: Vec<NativeFr>) -> Result<u64, String> {
        let instances = instances_for(
            &e.prev_root,
            &e.new_root,
            &some_p(),
            &data,
            e.number,
            e.number,
        );
        self.l1
            .finalize(e.number, 1, &instances, &batch(data), &NO_PROOF)
            .map(|o| o.gas)
            .map_err(reason)
    }

    /// `account`'s balance of `asset` in the rollup.
    fn balance(&self, account: u32, asset: u32) -> u128 {
        match self.rollup.state().get(Key::Balance(account, asset)) {
            Leaf::Balance(b) => b,
            _ => 0,
        }
    }

    /// What `who` holds of `asset` on L1.
    fn holding(&mut self, who: Address, asset: u32) -> u128 {
        let token = self.tokens[&asset];
        self.l1.balance(token, who).unwrap()
    }
}

/// Each transaction's (type, first element, element count) in `data`.
fn spans(data: &[NativeFr]) -> Vec<(u8, usize, usize)> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < data.len() {
        let kind = word(&data[at])[1];
        let len = if kind == TxType::Deposit as u8 { 3 } else { 2 };
        out.push((kind, at, len));
        at += len;
    }
    out
}

/// `data` with byte `i` (of 32, big-endian) of element `at` xored with
/// `mask` (it stays canonical: elements are below 2^248).
fn flipped(data: &[NativeFr], at: usize, i: usize, mask: u8) -> Vec<NativeFr> {
    let mut out = data.to_vec();
    let mut w = word(&data[at]);
    w[i] ^= mask;
    out[at] = NativeFr::from_be_bytes_mod_order(&w);
    out
}

/// Only the account's L1 owner queues a forced withdrawal, of a registered
/// plain token; depositing into an account does not make one its owner.
/// The entry chains into the queue as amount 0 with the zero key's hash.
/// A checkpoint's constructor names the owners of accounts created before
/// it (below its first account, nonzero).
#[test]
fn only_the_owner_forces_a_withdrawal_of_a_registered_token() {
    let (mut l1, _) = chain_with_assets();
    let keys = Keys::new(3, 4);
    l1.queue_deposit(&deposit(0, 0xa1, 1, keys.public(1), TOKEN, 100))
        .unwrap();
    // Bob tops Alice's account up: he is not its owner.
    l1.queue_deposit(&deposit(1, 0xb2, 1, zero_key(), ETH, 5))
        .unwrap();
    assert_eq!(l1.account_owner(1).unwrap(), addr(ALICE));
    for (who, account) in [
        (BOB, 1),
        (MALLORY, 1),
        // Account 2 is not assigned: it has no owner, not even the zero
        // address's.
        (ALICE, 2),
        ([0; 20], 2),
        ([0; 20], 0),
        (ALICE, 0),
    ] {
        assert_eq!(
            reverted(l1.force_withdraw(who, account, TOKEN)),
            "not the account's owner",
            "{who:?} forcing account {account}"
        );
    }
    for asset in [
        0,
        3,
        MAX_TOKEN,
        MAX_TOKEN + 1,
        LP_ASSET_BASE,
        LP_ASSET_BASE + 1,
    ] {
        assert_eq!(
            reverted(l1.force_withdraw(ALICE, 1, asset)),
            "asset not registered",
            "asset {asset}"
        );
    }
    assert_eq!(l1.counter("depositCount").unwrap(), 2);
    let prev = l1.queue_word(2).unwrap();
    let (index, gas) = l1
        .force_withdraw(ALICE, 1, TOKEN)
        .expect("the owner forces");
    assert_eq!(index, 2);
    let f = ForcedWithdraw {
        queue_index: 2,
        account: 1,
        asset: TOKEN,
        l1_owner: ALICE,
    };
    assert_eq!(l1.queue_hash(3).unwrap(), forced_queue_link(&prev, &f));
    // Again, and of ETH: each is an entry of its own.
    assert_eq!(l1.force_withdraw(ALICE, 1, TOKEN).unwrap().0, 3);
    assert_eq!(l1.force_withdraw(ALICE, 1, ETH).unwrap().0, 4);
    assert_eq!(l1.counter("depositCount").unwrap(), 5);
    assert_eq!(l1.counter("depositHead").unwrap(), 0);
    eprintln!("forceWithdraw gas: {gas}");

    // A checkpoint: accounts 1..5 exist, the genesis names two owners.
    let mut cp = stub_chain(Genesis {
        first_account: 5,
        owners: vec![(2, CAROL), (4, BOB)],
        ..Genesis::default()
    });
    cp.register_asset(ETH, Address::ZERO).unwrap();
    assert_eq!(cp.account_owner(2).unwrap(), addr(CAROL));
    assert_eq!(cp.account_owner(4).unwrap(), addr(BOB));
    assert_eq!(cp.account_owner(3).unwrap(), Address::ZERO);
    assert_eq!(cp.force_withdraw(CAROL, 2, ETH).unwrap().0, 0);
    assert_eq!(cp.force_withdraw(BOB, 4, ETH).unwrap().0, 1);
    assert_eq!(
        reverted(cp.force_withdraw(CAROL, 3, ETH)),
        "not the account's owner"
    );
    // The constructor refuses an owner for an account the checkpoint does
    // not hold (0, or from the first account on) and the zero address.
    for owners in [
        vec![(5, CAROL)],
        vec![(0, CAROL)],
        vec![(2, [0; 20])],
        vec![(2, CAROL), (9, BOB)],
    ] {
        let deployed = L1Chain::deploy(
            &hex::decode(STUB_VERIFIER_ACCEPTS_ALL).unwrap(),
            &Fr::from(0u64),
            Genesis {
                first_account: 5,
                owners: owners.clone(),
                ..Genesis::default()
            },
        );
        assert!(deployed.is_err(), "genesis owners {owners:?} accepted");
    }
}

/// A token that calls `forceWithdraw` from its `transferFrom`, while a
/// deposit takes it in: the lock refuses it, the deposit goes through.
#[test]
fn no_forced_withdrawal_inside_a_deposit() {
    let (mut l1, _) = chain_with_assets();
    let code =
        compile_solidity(&test_contract("ForcingToken"), Some("ForcingToken")).expect("compiles");
    let forcing = l1.deploy_contract(&code).unwrap();
    const FORCING: u32 = 5;
    l1.register_asset(FORCING, forcing).unwrap();
    let keys = Keys::new(3, 4);
    l1.queue_deposit(&deposit(0, 0xa1, 1, keys.public(1), ETH, 100))
        .unwrap();
    let target = abi(
        "target(uint32,uint32)",
        &[u128_word(1), u128_word(ETH as u128)],
    );
    l1.call_contract(Address::ZERO, forcing, target, 0).unwrap();
    l1.queue_deposit(&deposit(1, 0xb2, 1, zero_key(), FORCING, 7))
        .expect("the deposit goes through");
    let mut read = |getter: &str| {
        l1.call_contract(Address::ZERO, forcing, abi(getter, &[]), 0)
            .unwrap()
            .output
    };
    assert_eq!(word_to_u128(&read("tries()")), 1, "it tried");
    assert_eq!(word_to_u128(&read("queued()")), 0, "nothing was queued");
    let why = read("lastReason()");
    let len = word_to_u128(&why[32..64]) as usize;
    assert_eq!(&why[64..64 + len], b"reentrant call");
    assert_eq!(l1.counter("depositCount").unwrap(), 2);
}

/// A censored user forces their withdrawal; the operator's next batch
/// (the real executor) must carry it in queue order: data that skips it
/// (consuming the deposit after it) or names another owner, account or
/// asset does not match the queue; the batch as executed settles, its
/// withdrawal tree holds the owner's leaf for the account's whole balance
/// (and a forced withdrawal of a zero balance a leaf of 0, which `claim`
/// refuses: nothing to claim), and `claim` pays the ERC-20 out, once. The
/// state rebuilt from the L1 log matches, and the batch settles alone at
/// its checkpoint (`settle`), whose genesis names the owners.
#[test]
fn a_batch_pays_the_forced_withdrawal_to_the_owner() {
    let mut w = World::new();
    let mallory = addr(MALLORY);
    w.create(ALICE, 1, TOKEN, 10_000);
    w.create(BOB, 2, TOKEN, 500);
    w.top_up(BOB, 2, ETH, ETHER, true);
    w.create(CAROL, 3, ETH, ETHER);
    w.transfer(1, 2, TOKEN, 1_500);
    let b0 = w.execute();
    w.finalize(&b0).expect("batch 0 settles");

    // Bob is censored: he forces his token balance out. Alice tops up
    // after him; Carol forces her token balance out, which is zero.
    let (bob_forced, force_gas) = w.force(BOB, 2, TOKEN, true);
    let top_up = w.top_up(ALICE, 1, TOKEN, 1_000, true);
    let (carol_forced, _) = w.force(CAROL, 3, TOKEN, true);
    w.transfer(1, 3, TOKEN, 50);
    let bob_balance = w.balance(2, TOKEN);
    assert_eq!(bob_balance, 2_000);
    let b1 = w.execute();
    assert_eq!(w.balance(2, TOKEN), 0, "the whole balance left");
    assert_eq!(w.balance(2, ETH), ETHER, "the other asset stays");
    assert_eq!(w.balance(3, TOKEN), 50);
    assert_eq!(
        b1.l1.queue(),
        vec![
            QueueOp::ForcedWithdraw(bob_forced.clone()),
            QueueOp::Deposit(top_up.clone()),
            QueueOp::ForcedWithdraw(carol_forced.clone()),
        ]
    );
    let forced: Vec<(u32, u128, Option<u64>)> = b1
        .l1
        .withdrawals
        .iter()
        .map(|r| (r.account, r.amount, r.forced))
        .collect();
    assert_eq!(forced, [(2, 2_000, Some(4)), (3, 0, Some(6))]);

    // The data's transactions: find Bob's forced withdrawal.
    let data = b1.l1.data.clone();
    let txs = spans(&data);
    let kinds: Vec<u8> = txs.iter().map(|s| s.0).collect();
    assert_eq!(kinds, [8, 1, 8, 2]);
    let (_, at, len) = txs[0];
    let skipped = [&data[..at], &data[at + len..]].concat();
    assert_eq!(
        w.finalize_as(&b1, skipped),
        Err("deposits differ from the queue".into()),
        "the deposit after it without it"
    );
    // e1 = type(1) account(3) asset(2) amount(14) owner(11 of 20) after
    // its zero top byte; e2 = the owner's last 9 bytes.
    for (what, forged) in [
        ("another account", flipped(&data, at, 4, 0x01)),
        ("another asset", flipped(&data, at, 6, 0x01)),
        ("another owner (in e1)", flipped(&data, at, 25, 0x80)),
        ("another owner (in e2)", flipped(&data, at + 1, 9, 0x01)),
    ] {
        assert_eq!(
            w.finalize_as(&b1, forged),
            Err("deposits differ from the queue".into()),
            "{what}"
        );
    }
    // The same entry read as a deposit (three elements) is not the queue's.
    let mut as_deposit = flipped(&data, at, 1, 8 ^ 1);
    as_deposit.insert(at + 2, NativeFr::from(0u64));
    assert_eq!(
        w.finalize_as(&b1, as_deposit),
        Err("deposits differ from the queue".into())
    );

    let token = w.tokens[&TOKEN];
    let held = w.holding(w.l1.rollup, TOKEN);
    let finalize_gas = w.finalize(&b1).expect("batch 1 settles");
    assert_eq!(w.l1.counter("depositHead").unwrap(), 7);
    let tree = WithdrawalTree::from_data(&b1.l1.data).unwrap();
    assert_eq!(
        tree.withdrawals(),
        [
            Withdrawal {
                to: BOB,
                asset: TOKEN,
                amount: bob_balance
            },
            Withdrawal {
                to: CAROL,
                asset: TOKEN,
                amount: 0
            }
        ]
    );
    assert_eq!(w.l1.withdrawal_root(1).unwrap(), tree.stored_root());
    let (bobs, carols) = (tree.proof(0).unwrap(), tree.proof(1).unwrap());
    assert_eq!(reverted(w.l1.claim(1, &carols)), "nothing to claim");
    assert_eq!(
        reverted(w.l1.call_from(mallory, claim_calldata(1, &bobs))),
        "not the recipient"
    );
    let before = w.l1.balance(token, addr(BOB)).unwrap();
    w.l1.claim(1, &bobs).expect("Bob claims");
    assert_eq!(
        w.l1.balance(token, addr(BOB)).unwrap(),
        before + bob_balance
    );
    assert_eq!(w.holding(w.l1.rollup, TOKEN), held - bob_balance);
    assert_eq!(reverted(w.l1.claim(1, &bobs)), "withdrawal claimed");
    // What the contract holds of the token is the rollup's balances of it.
    let in_state: u128 = (1..=3).map(|a| w.balance(a, TOKEN)).sum();
    assert_eq!(w.holding(w.l1.rollup, TOKEN), in_state);

    // The L1 log alone rebuilds the state.
    let rebuilt = reconstruct(&w.log).expect("the L1 log rebuilds");
    assert_eq!(rebuilt.root, w.rollup.root());

    // Settled alone at its checkpoint: accounts 2 and 3 were created by
    // batch 0, so the genesis names their owners.
    let genesis = Genesis::checkpoint(1, &b1.l1.queue());
    assert_eq!(
        genesis,
        Genesis {
            first_batch: 1,
            first_deposit: 4,
            first_account: 4,
            owners: vec![(2, BOB), (3, CAROL)],
            ..Genesis::default()
        }
    );
    let s = settle(
        CHAIN,
        &hex::decode(STUB_VERIFIER_ACCEPTS_ALL).unwrap(),
        1,
        1,
        &b1.instances,
        &NO_PROOF,
        &b1.l1,
    )
    .expect("settles at its checkpoint");
    assert_eq!(
        s.state_root,
        format!("0x{}", hex::encode(word(&b1.new_root)))
    );
    assert_eq!((s.deposits, s.forced_withdrawals), (1, 2));
    assert_eq!(s.withdrawals, 2);
    assert!(s.withdrawals_claimable);
    assert_eq!(
        s.claim_gas_each.len(),
        1,
        "Bob's leaf; Carol's pays nothing"
    );
    assert_eq!(s.log.deposits.len(), 3);
    assert!(s.log.deposits[0].is_forced_withdrawal());
    eprintln!(
        "forceWithdraw {force_gas} gas; finalize (stub verifier) of {} elements with 2 forced withdrawals {finalize_gas} gas; settle: forceWithdraw {} gas in all",
        b1.l1.data.len(),
        s.forced_withdrawal_gas
    );
}

/// An operator that keeps settling batches but never the forced
/// withdrawal: its batches settle (they consume nothing), one that
/// consumes the deposit after it does not, and once the forced withdrawal
/// has waited past the deadline anyone activates exit mode. Then no more
/// forced withdrawals, its entry is not refundable (it paid nothing in),
/// the deposit after it is, and the user exits with a Merkle proof.
#[test]
fn an_ignored_forced_withdrawal_opens_exit_mode() {
    let mut w = World::new();
    let mallory = addr(MALLORY);
    w.create(ALICE, 1, TOKEN, 10_000);
    w.create(BOB, 2, TOKEN, 3_000);
    w.top_up(BOB, 2, ETH, ETHER, true);
    w.transfer(1, 2, TOKEN, 500);
    let b0 = w.execute();
    w.finalize(&b0).expect("batch 0 settles");

    let (forced, _) = w.force(BOB, 2, TOKEN, false);
    let queued_at = w.l1.block_number();
    let pending = w.top_up(ALICE, 1, TOKEN, 1_000, false);
    // The operator settles another batch without them.
    w.transfer(1, 2, TOKEN, 100);
    let b1 = w.execute();
    w.finalize(&b1)
        .expect("a batch that consumes nothing settles");
    assert_eq!(w.l1.counter("depositHead").unwrap(), forced.queue_index);
    // A batch that consumes the deposit but skips the forced withdrawal
    // does not.
    let cheat = Executed {
        number: 2,
        l1: batch(Vec::new()),
        instances: Vec::new(),
        prev_root: b1.new_root,
        new_root: b1.new_root,
    };
    assert_eq!(
        w.finalize_as(&cheat, deposit_data(&pending)),
        Err("deposits differ from the queue".into())
    );

    // The deadline counts from the forced withdrawal.
    let now = w.l1.block_number();
    w.l1.advance_blocks(queued_at + DEADLINE - now);
    assert_eq!(
        reverted(w.l1.activate_exit_mode(mallory)),
        "deadline not passed"
    );
    w.l1.advance_blocks(1);
    w.l1.activate_exit_mode(mallory)
        .expect("anyone activates it");
    assert!(w.l1.exit_mode().unwrap());
    assert_eq!(reverted(w.l1.force_withdraw(BOB, 2, ETH)), "exit mode");
    assert_eq!(
        w.finalize_as(&cheat, Vec::new()),
        Err("exit mode".into()),
        "no more batches"
    );

    // The forced entry paid nothing in: no refund, whatever its amount.
    let as_deposit = Deposit {
        queue_index: forced.queue_index,
        l1_sender: BOB,
        account: 2,
        pubkey: zero_key(),
        asset: TOKEN,
        amount: 0,
    };
    assert_eq!(
        reverted(w.l1.refund_deposit(mallory, &as_deposit)),
        "not a deposit"
    );
    assert_eq!(
        reverted(w.l1.refund_deposit(
            mallory,
            &Deposit {
                amount: 1,
                ..as_deposit.clone()
            }
        )),
        "not the queued deposit"
    );
    // The deposit after it is refunded.
    let before = w.holding(addr(ALICE), TOKEN);
    w.l1.refund_deposit(mallory, &pending).expect("refunded");
    assert_eq!(w.holding(addr(ALICE), TOKEN), before + pending.amount);

    // Bob exits with his balance's Merkle proof (the same from the state
    // rebuilt from L1), paid to him, once.
    let state = w.rollup.state().clone();
    let tree = state_tree(&state);
    let rebuilt = reconstruct(&w.log).expect("the L1 log rebuilds");
    assert_eq!(rebuilt.root, tree.root());
    for asset in [TOKEN, ETH] {
        let proof = ExitProof::new(&state, &tree, 2, asset).expect("a proof");
        assert_eq!(
            proof,
            ExitProof::new(&rebuilt.state, &rebuilt.tree, 2, asset).unwrap()
        );
        assert_eq!(proof.balance, w.balance(2, asset));
        let before = w.holding(addr(BOB), asset);
        w.l1.exit(mallory, &proof).expect("exits");
        assert_eq!(w.holding(addr(BOB), asset), before + proof.balance);
        assert_eq!(reverted(w.l1.exit(mallory, &proof)), "already exited");
    }
    assert_eq!(w.balance(2, TOKEN), 3_600);
}
