//! Exit mode in revm, the whole scenario: users deposit ETH and a real
//! ERC-20 (`contracts/test/TestToken.sol`) into new accounts and top-ups;
//! two batches built and executed by the real executor (transfers, a pool
//! with two liquidity providers, swaps, a partial liquidity removal,
//! withdrawals) are finalized with crafted instances over the STUB verifier
//! (see `common`); more deposits are queued and never processed, and the
//! operator stops. Before the deadline `activateExitMode` reverts, after it
//! anyone activates it; `finalize` and deposits then revert. Every account
//! with a balance (or LP shares) exits with a proof built by
//! `zklanes_l1::exit` from the executor's state, equal to the one built from
//! the state rebuilt from the L1 log alone; each owner receives exactly its
//! balance (its pro-rata share of the pool), once; wrong proofs and exits
//! before exit mode fail; the unprocessed deposits are refunded once each to
//! their senders. At the end the contract holds exactly the unclaimed
//! withdrawals and what the pool's locked liquidity and rounding keep.

mod common;

use std::collections::{BTreeMap, HashMap};

use ark_ff::{BigInteger, PrimeField as _};
use common::*;
use revm::primitives::Address;
use zklanes_executor::batch::BATCH_VERSION;
use zklanes_executor::field::Fr as NativeFr;
use zklanes_executor::genbatch::Keys;
use zklanes_executor::l1::L1Batch;
use zklanes_executor::params::{DEFAULT_CHAIN_ID, LP_ASSET_BASE, SLOT_BITS};
use zklanes_executor::state::{Key, Leaf};
use zklanes_executor::tx::*;
use zklanes_executor::{Batch, Rollup, RollupConfig};
use zklanes_l1::chain::L1Chain;
use zklanes_l1::exit::{state_tree, AnyExitProof, ExitError, ExitProof, LiquidityExitProof};
use zklanes_l1::log::{DepositEvent, FinalizedBatch, L1Log};
use zklanes_l1::reconstruct::reconstruct;
use zklanes_l1::rollup::{claim_calldata, refund_deposit_calldata, Genesis};

const CHAIN: u32 = DEFAULT_CHAIN_ID;
const DEADLINE: u64 = 10;
const ETHER: u128 = 1_000_000_000_000_000_000;
const NO_PROOF: [u8; 64] = [0; 64];
const POOL: u32 = 1;

const ALICE: [u8; 20] = [0xa1; 20];
const BOB: [u8; 20] = [0xb2; 20];
const CAROL: [u8; 20] = [0xc3; 20];
const DAVE: [u8; 20] = [0xd4; 20];
const ERIN: [u8; 20] = [0xe5; 20];
const FRANK: [u8; 20] = [0xf6; 20];
const MALLORY: [u8; 20] = [0x66; 20];

fn addr(a: [u8; 20]) -> Address {
    Address::from(a)
}

/// The executor, the L1 chain and the L1 log of one rollup.
struct World {
    rollup: Rollup,
    l1: L1Chain,
    log: L1Log,
    keys: Keys,
    /// Asset id => token (`Address::ZERO`: ETH).
    tokens: BTreeMap<u32, Address>,
    /// Every deposit queued on L1, by queue index.
    queued: Vec<Deposit>,
    /// Gas of each deposit transaction.
    deposit_gas: Vec<u64>,
    /// The next batch's transactions and the signers' next nonces.
    txs: Vec<SignedTx>,
    nonces: HashMap<u32, u32>,
    /// Finalized withdrawals: (L1 address, asset) => amount.
    withdrawn: BTreeMap<([u8; 20], u32), u128>,
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
            keys: Keys::new(13, 8),
            tokens: [(ETH, Address::ZERO), (TOKEN, token)].into(),
            queued: Vec::new(),
            deposit_gas: Vec::new(),
            txs: Vec::new(),
            nonces: HashMap::new(),
            withdrawn: BTreeMap::new(),
        }
    }

    /// Queues a deposit on L1 one block later (the sender is paid the
    /// amount first); `process`: the next batch consumes it.
    fn queue(&mut self, d: Deposit, process: bool) -> Deposit {
        self.l1.advance_blocks(1);
        let (index, gas) = self.l1.queue_deposit(&d).expect("queued");
        assert_eq!(index, d.queue_index);
        assert_eq!(self.l1.queued_block(index).unwrap(), self.l1.block_number());
        self.log.record_deposit(DepositEvent::from_deposit(&d));
        self.queued.push(d.clone());
        self.deposit_gas.push(gas);
        if process {
            self.txs.push(SignedTx {
                body: TxBody::Deposit(d.clone()),
                signature: None,
            });
        }
        d
    }

    /// A deposit creating `account` (L1 assigns the next id) from `sender`.
    fn create(
        &mut self,
        sender: [u8; 20],
        account: u32,
        asset: u32,
        amount: u128,
        process: bool,
    ) -> Deposit {
        let d = Deposit {
            queue_index: self.queued.len() as u64,
            l1_sender: sender,
            account,
            pubkey: self.keys.public(account),
            asset,
            amount,
        };
        self.queue(d, process)
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
            queue_index: self.queued.len() as u64,
            l1_sender: sender,
            account,
            pubkey: zero_key(),
            asset,
            amount,
        };
        self.queue(d, process)
    }

    fn nonce(&mut self, account: u32) -> u32 {
        let base = match self.rollup.state().get(Key::Account(account)) {
            Leaf::Account(a) => a.nonce,
            _ => 0,
        };
        let n = self.nonces.entry(account).or_insert(base);
        *n += 1;
        *n - 1
    }

    fn signed(&mut self, body: TxBody) {
        let (a, _) = body.signer().expect("a signed type");
        let msg = body.message(CHAIN).expect("a signed type");
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

    fn withdraw(&mut self, account: u32, asset: u32, amount: u128, to: [u8; 20]) {
        let nonce = self.nonce(account);
        self.signed(TxBody::Withdraw(Withdraw {
            account,
            asset,
            amount,
            l1_address: to,
            nonce,
        }));
    }

    fn create_pool(&mut self, account: u32) {
        let nonce = self.nonce(account);
        self.signed(TxBody::CreatePool(CreatePool {
            account,
            pool: POOL,
            token_a: ETH,
            token_b: TOKEN,
            fee_bps: 30,
            nonce,
        }));
    }

    fn add_liquidity(&mut self, account: u32, amount_a: u128, amount_b: u128) {
        let nonce = self.nonce(account);
        self.signed(TxBody::AddLiquidity(AddLiquidity {
            account,
            pool: POOL,
            amount_a,
            amount_b,
            min_lp: 0,
            nonce,
        }));
    }

    fn remove_liquidity(&mut self, account: u32, lp_amount: u128) {
        let nonce = self.nonce(account);
        self.signed(TxBody::RemoveLiquidity(RemoveLiquidity {
            account,
            pool: POOL,
            lp_amount,
            min_a: 0,
            min_b: 0,
            nonce,
        }));
    }

    fn swap(&mut self, account: u32, a_to_b: bool, amount_in: u128) {
        let nonce = self.nonce(account);
        self.signed(TxBody::Swap(Swap {
            account,
            pool: POOL,
            a_to_b,
            amount_in,
            min_out: 0,
            nonce,
        }));
    }

    fn balance(&self, account: u32, asset: u32) -> u128 {
        match self.rollup.state().get(Key::Balance(account, asset)) {
            Leaf::Balance(b) => b,
            _ => 0,
        }
    }

    /// Executes the transactions built so far as the next batch (the real
    /// executor) and finalizes it on L1 with its data and crafted
    /// instances; L1's log records it.
    fn execute_and_finalize(&mut self) -> u64 {
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
        let l1b = L1Batch::from_padded(&out.chunks);
        let instances = instances_for(
            &out.prev_root,
            &out.state_root,
            &some_p(),
            &l1b.data,
            number,
            number,
        );
        let gas = self
            .l1
            .finalize(number, 1, &instances, &l1b, &NO_PROOF)
            .expect("the batch settles")
            .gas;
        assert_eq!(self.l1.state_root().unwrap(), word(&out.state_root));
        self.log
            .record_batch(FinalizedBatch::new(number, 1, &out.state_root, &l1b.data));
        for w in &l1b.withdrawals {
            *self.withdrawn.entry((w.l1_address, w.asset)).or_default() += w.amount;
        }
        gas
    }

    fn held(&mut self, asset: u32) -> u128 {
        let token = self.tokens[&asset];
        self.l1.balance(token, self.l1.rollup).unwrap()
    }

    fn holding(&mut self, who: [u8; 20], asset: u32) -> u128 {
        let token = self.tokens[&asset];
        self.l1.balance(token, addr(who)).unwrap()
    }
}

fn word(f: &NativeFr) -> [u8; 32] {
    zklanes_executor::commitments::word(f)
}

/// `w += r` on a 256-bit big-endian word (w < r: no overflow).
fn add_modulus(w: &mut [u8]) {
    let r = NativeFr::MODULUS.to_bytes_be();
    let mut carry = 0u16;
    for k in (0..32).rev() {
        let s = w[k] as u16 + r[k] as u16 + carry;
        w[k] = s as u8;
        carry = s >> 8;
    }
    assert_eq!(carry, 0);
}

/// The L1 address that owns each account (the creator's).
fn owners() -> BTreeMap<u32, [u8; 20]> {
    [(1, ALICE), (2, BOB), (3, CAROL), (4, ERIN)].into()
}

#[test]
fn operator_stops_users_exit_and_unprocessed_deposits_are_refunded() {
    let mut w = World::new();
    let mallory = addr(MALLORY);

    // Batch 0: four deposits create accounts 1..3 and top them up (one
    // top-up from someone other than the owner: Dave pays into Carol's
    // account), transfers, a pool (ETH/TOKEN) with two providers, a swap
    // and two withdrawals.
    w.create(ALICE, 1, TOKEN, 10_000, true);
    w.create(BOB, 2, ETH, 5 * ETHER, true);
    w.top_up(ALICE, 1, ETH, 2 * ETHER, true);
    w.create(CAROL, 3, TOKEN, 3_000, true);
    w.top_up(BOB, 2, TOKEN, 4_000, true);
    w.top_up(DAVE, 3, ETH, ETHER, true);
    w.transfer(1, 2, TOKEN, 1_500);
    w.transfer(2, 3, ETH, ETHER);
    w.transfer(3, 1, TOKEN, 200);
    w.create_pool(1);
    w.add_liquidity(1, ETHER, 2_000);
    w.add_liquidity(3, ETHER / 2, 1_000);
    w.swap(2, false, 300);
    w.withdraw(2, TOKEN, 500, ERIN);
    w.withdraw(1, ETH, ETHER / 2, ALICE);
    w.execute_and_finalize();
    for (account, owner) in owners() {
        if account < 4 {
            assert_eq!(w.l1.account_owner(account).unwrap(), addr(owner));
        }
    }

    // Batch 1: Erin creates account 4; it waits most of the deadline, and
    // the batch that consumes it stops the clock.
    let queued_at = {
        w.create(ERIN, 4, TOKEN, 700, true);
        w.l1.block_number()
    };
    w.l1.advance_blocks(DEADLINE);
    assert_eq!(
        reverted(w.l1.activate_exit_mode(mallory)),
        "deadline not passed",
        "queued at {queued_at}, now {}",
        w.l1.block_number()
    );
    w.transfer(4, 1, TOKEN, 100);
    let lp1 = w.balance(1, LP_ASSET_BASE + POOL);
    w.remove_liquidity(1, lp1 / 3);
    w.swap(3, true, ETHER / 10);
    w.execute_and_finalize();
    assert_eq!(w.l1.account_owner(4).unwrap(), addr(ERIN));
    w.l1.advance_blocks(5 * DEADLINE);
    assert_eq!(
        reverted(w.l1.activate_exit_mode(mallory)),
        "no deposit waiting",
        "every queued deposit was consumed"
    );

    // More deposits are queued and never processed: the operator stops.
    let pending = [
        w.top_up(BOB, 2, TOKEN, 999, false),
        w.create(FRANK, 5, ETH, 3 * ETHER / 10, false),
        w.top_up(ALICE, 1, ETH, ETHER / 10, false),
    ];
    let top_up_gas = *w.deposit_gas.last().unwrap();
    assert!(top_up_gas <= 60_000, "ETH top-up: {top_up_gas} gas");
    assert_eq!(w.l1.account_owner(5).unwrap(), addr(FRANK));
    let oldest = w.l1.queued_block(pending[0].queue_index).unwrap();

    // The exit proofs, from the executor's state and from the state
    // rebuilt from L1 alone: the same.
    let state = w.rollup.state().clone();
    let tree = state_tree(&state);
    assert_eq!(tree.root(), w.rollup.root());
    assert_eq!(w.l1.state_root().unwrap(), word(&tree.root()));
    let rebuilt = reconstruct(&w.log).expect("the L1 log rebuilds");
    assert_eq!(rebuilt.root, tree.root());
    assert_eq!(rebuilt.state.leaves, state.leaves);
    let refunds: Vec<Deposit> = rebuilt
        .pending_deposits
        .iter()
        .map(|e| Deposit {
            queue_index: e.queue_index,
            l1_sender: e.sender,
            account: e.account,
            pubkey: e.pubkey(),
            asset: e.asset,
            amount: e.amount,
        })
        .collect();
    assert_eq!(refunds, pending, "the log's unconsumed deposits");
    let mut indices: Vec<u64> = state
        .leaves
        .iter()
        .filter(|(i, l)| matches!(l, Leaf::Balance(_)) && *i >> SLOT_BITS != 0)
        .map(|(i, _)| *i)
        .collect();
    indices.sort_unstable();
    let proofs: Vec<AnyExitProof> = indices
        .iter()
        .map(|i| {
            let (account, asset) = ((*i >> SLOT_BITS) as u32, (*i & 0xfff) as u32);
            let p = AnyExitProof::new(&state, &tree, account, asset).expect("a proof");
            let from_l1 = AnyExitProof::new(&rebuilt.state, &rebuilt.tree, account, asset)
                .expect("a proof from L1 data");
            assert_eq!(p, from_l1, "account {account} asset {asset}");
            p.verify().expect("verifies natively");
            p
        })
        .collect();
    assert!(
        proofs
            .iter()
            .any(|p| matches!(p, AnyExitProof::Liquidity(_))),
        "LP shares exit too"
    );
    let token_proof = match &proofs[0] {
        AnyExitProof::Balance(p) => p.as_ref().clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!((token_proof.account, token_proof.asset), (1, ETH));
    let lp_proof = proofs
        .iter()
        .find_map(|p| match p {
            AnyExitProof::Liquidity(l) => Some(l.as_ref().clone()),
            _ => None,
        })
        .unwrap();
    // The JSON form round-trips.
    let json = serde_json::to_string(&proofs[0]).unwrap();
    assert_eq!(
        serde_json::from_str::<AnyExitProof>(&json).unwrap(),
        proofs[0]
    );
    // Accounts and assets with nothing to exit.
    assert_eq!(
        ExitProof::new(&state, &tree, 5, ETH),
        Err(ExitError::NoAccount { account: 5 }),
        "Frank's account was never created in the rollup"
    );
    assert_eq!(
        ExitProof::new(&state, &tree, 1, LP_ASSET_BASE + POOL),
        Err(ExitError::NotPlainAsset {
            asset: LP_ASSET_BASE + POOL
        })
    );

    // Before exit mode nothing exits and nothing is refunded.
    assert_eq!(
        reverted(w.l1.exit(mallory, &token_proof)),
        "not in exit mode"
    );
    assert_eq!(
        reverted(w.l1.exit_liquidity(mallory, &lp_proof)),
        "not in exit mode"
    );
    assert_eq!(
        reverted(w.l1.refund_deposit(mallory, &pending[0])),
        "not in exit mode"
    );

    // The deadline: more than DEADLINE blocks after the oldest waiting
    // deposit, not one block earlier.
    let now = w.l1.block_number();
    w.l1.advance_blocks(oldest + DEADLINE - now);
    assert_eq!(
        reverted(w.l1.activate_exit_mode(mallory)),
        "deadline not passed"
    );
    assert!(!w.l1.exit_mode().unwrap());
    w.l1.advance_blocks(1);
    let activate_gas = w.l1.activate_exit_mode(mallory).expect("activates").gas;
    assert!(w.l1.exit_mode().unwrap());
    assert_eq!(reverted(w.l1.activate_exit_mode(mallory)), "exit mode");

    // No more batches, no more deposits.
    assert_eq!(
        reverted(finalize_data(&mut w.l1, 2, 0, 1, &[])),
        "exit mode"
    );
    let late_top_up = Deposit {
        queue_index: w.queued.len() as u64,
        ..pending[2].clone()
    };
    let late_create = Deposit {
        queue_index: w.queued.len() as u64,
        account: 6,
        pubkey: w.keys.public(6),
        ..pending[1].clone()
    };
    for d in [&late_top_up, &late_create] {
        w.l1.provide(d).unwrap();
        assert_eq!(reverted(w.l1.queue(d)), "exit mode");
    }
    assert_eq!(w.l1.counter("depositCount").unwrap(), w.queued.len() as u64);

    // Custody: what the contract holds of each asset is what the final
    // state holds (balances and pool reserves), the unclaimed withdrawals
    // and the unconsumed deposits.
    let pool = rebuilt.pool(POOL).expect("the pool");
    for asset in [ETH, TOKEN] {
        let in_state: u128 = state
            .leaves
            .iter()
            .filter_map(|(i, l)| match l {
                Leaf::Balance(b) if (*i & 0xfff) as u32 == asset && *i >> SLOT_BITS != 0 => {
                    Some(*b)
                }
                _ => None,
            })
            .sum();
        let reserve = if asset == pool.token_a {
            pool.reserve_a
        } else {
            pool.reserve_b
        };
        let claims: u128 = w
            .withdrawn
            .iter()
            .filter(|((_, a), _)| *a == asset)
            .map(|(_, v)| *v)
            .sum();
        let unconsumed: u128 = pending
            .iter()
            .filter(|d| d.asset == asset)
            .map(|d| d.amount)
            .sum();
        assert_eq!(
            w.held(asset),
            in_state + reserve + claims + unconsumed,
            "custody of asset {asset}"
        );
    }

    // Claims of finalized withdrawals stay open in exit mode, with their
    // proofs from the L1 log alone.
    let before = w.holding(ALICE, ETH);
    let (first_batch, alices) = withdrawal_proof(&w.log, ALICE, ETH);
    assert_eq!(alices.withdrawal.amount, ETHER / 2);
    w.l1.claim(first_batch, &alices)
        .expect("claims in exit mode");
    assert_eq!(w.holding(ALICE, ETH), before + ETHER / 2);

    // Wrong proofs fail, natively and on L1.
    let mut wrong_balance = token_proof.clone();
    wrong_balance.balance += 1;
    let mut wrong_sibling = token_proof.clone();
    wrong_sibling.siblings[5] += NativeFr::from(1u64);
    let mut other_account = token_proof.clone();
    other_account.account = 2;
    other_account.leaf_index = Key::Balance(2, ETH).index();
    for (what, p) in [
        ("a wrong balance", &wrong_balance),
        ("a wrong sibling", &wrong_sibling),
        ("another account's leaf", &other_account),
    ] {
        assert!(
            matches!(p.verify(), Err(ExitError::PathMismatch { .. })),
            "{what}"
        );
        assert_eq!(
            reverted(w.l1.exit(mallory, p)),
            "not the final state",
            "{what}"
        );
    }
    let mut calldata = token_proof.calldata();
    // selector, account, asset, balance, then the siblings.
    let at = 4 + 32 * (3 + 7);
    add_modulus(&mut calldata[at..at + 32]);
    assert_eq!(
        reverted(w.l1.call_from(mallory, calldata)),
        "sibling not canonical"
    );
    let lp_as_plain = zklanes_l1::rollup::exit_calldata(
        lp_proof.account,
        LP_ASSET_BASE + POOL,
        lp_proof.shares,
        &lp_proof.share_siblings,
    );
    assert_eq!(
        reverted(w.l1.call_from(mallory, lp_as_plain)),
        "not a plain asset"
    );
    let mut wrong_pool = lp_proof.clone();
    wrong_pool.pool_leaf.reserve_a += 1;
    assert!(wrong_pool.verify().is_err());
    assert_eq!(
        reverted(w.l1.exit_liquidity(mallory, &wrong_pool)),
        "not the final state"
    );
    let mut wrong_shares = lp_proof.clone();
    wrong_shares.shares -= 1;
    assert_eq!(
        reverted(w.l1.exit_liquidity(mallory, &wrong_shares)),
        "not the final state"
    );

    // Every account exits, each proof sent by Mallory: the owner receives
    // exactly its balance (its pro-rata share of the pool), Mallory and
    // the depositors nothing, and only once.
    let owners = owners();
    let mut exit_gas: BTreeMap<&str, u64> = BTreeMap::new();
    let mut lp_paid = [0u128; 2];
    for p in &proofs {
        let (account, pays): (u32, Vec<(u32, u128)>) = match p {
            AnyExitProof::Balance(e) => (e.account, vec![(e.asset, e.balance)]),
            AnyExitProof::Liquidity(l) => {
                lp_paid[0] += l.amount_a;
                lp_paid[1] += l.amount_b;
                (
                    l.account,
                    vec![
                        (l.pool_leaf.token_a, l.amount_a),
                        (l.pool_leaf.token_b, l.amount_b),
                    ],
                )
            }
        };
        let owner = owners[&account];
        let watched = [owner, MALLORY, DAVE];
        let mut before = BTreeMap::new();
        for who in watched {
            for asset in [ETH, TOKEN] {
                before.insert((who, asset), w.holding(who, asset));
            }
        }
        let held = [w.held(ETH), w.held(TOKEN)];
        let gas =
            w.l1.call_from(mallory, p.calldata())
                .unwrap_or_else(|e| panic!("{p:?}: {}", reason(e)))
                .gas;
        let kind = match p {
            AnyExitProof::Balance(e) if e.asset == ETH => "exit (ETH)",
            AnyExitProof::Balance(_) => "exit (ERC-20)",
            AnyExitProof::Liquidity(_) => "exitLiquidity (ETH + ERC-20)",
        };
        exit_gas.insert(kind, gas);
        for who in watched {
            for asset in [ETH, TOKEN] {
                let got = if who == owner {
                    pays.iter()
                        .filter(|(a, _)| *a == asset)
                        .map(|(_, v)| *v)
                        .sum()
                } else {
                    0
                };
                assert_eq!(
                    w.holding(who, asset),
                    before[&(who, asset)] + got,
                    "{p:?}: {who:?} asset {asset}"
                );
            }
        }
        let paid = |asset: u32| -> u128 {
            pays.iter()
                .filter(|(a, _)| *a == asset)
                .map(|(_, v)| *v)
                .sum()
        };
        assert_eq!(w.held(ETH), held[0] - paid(ETH));
        assert_eq!(w.held(TOKEN), held[1] - paid(TOKEN));
        assert_eq!(
            reverted(w.l1.call_from(mallory, p.calldata())),
            "already exited",
            "{p:?}"
        );
    }
    assert!(w.l1.exited(token_proof.leaf_index).unwrap());

    // The unprocessed deposits go back to their senders, once each.
    let refund = |d: &Deposit| refund_deposit_calldata(d);
    assert_eq!(
        reverted(w.l1.refund_deposit(mallory, &w.queued[0].clone())),
        "deposit consumed"
    );
    assert_eq!(
        reverted(w.l1.refund_deposit(mallory, &late_top_up)),
        "deposit not queued"
    );
    let mut forged = pending[0].clone();
    forged.amount += 1;
    assert_eq!(
        reverted(w.l1.refund_deposit(mallory, &forged)),
        "not the queued deposit"
    );
    let mut forged = pending[0].clone();
    forged.l1_sender = MALLORY;
    assert_eq!(
        reverted(w.l1.call_from(mallory, refund(&forged))),
        "not the queued deposit"
    );
    let mut refund_gas = BTreeMap::new();
    for d in &pending {
        let before = w.holding(d.l1_sender, d.asset);
        let held = w.held(d.asset);
        let gas = w.l1.refund_deposit(mallory, d).expect("refunded").gas;
        refund_gas.insert(if d.asset == ETH { "ETH" } else { "ERC-20" }, gas);
        assert_eq!(w.holding(d.l1_sender, d.asset), before + d.amount);
        assert_eq!(w.held(d.asset), held - d.amount);
        assert!(w.l1.refunded(d.queue_index).unwrap());
        assert_eq!(
            reverted(w.l1.refund_deposit(mallory, d)),
            "deposit refunded"
        );
    }

    // What stays: Erin's unclaimed withdrawal and the pool's remainder (its
    // locked minimum liquidity and the rounding), nothing else. Erin then
    // claims.
    let remainder = [pool.reserve_a - lp_paid[0], pool.reserve_b - lp_paid[1]];
    assert_eq!(w.held(ETH), remainder[0]);
    assert_eq!(w.held(TOKEN), remainder[1] + 500);
    let (first_batch, erins) = withdrawal_proof(&w.log, ERIN, TOKEN);
    assert_eq!(erins.withdrawal.amount, 500);
    w.l1.claim(first_batch, &erins).expect("Erin claims");
    assert_eq!(
        reverted(w.l1.call_from(addr(ERIN), claim_calldata(first_batch, &erins))),
        "withdrawal claimed"
    );
    assert_eq!(w.held(TOKEN), remainder[1]);
    // The locked liquidity's share, at most (rounding down only keeps more).
    let locked = |reserve: u128| {
        (reserve * zklanes_executor::params::MINIMUM_LIQUIDITY).div_ceil(pool.lp_supply)
    };
    assert!(remainder[0] >= pool.reserve_a * 1_000 / pool.lp_supply);
    assert!(remainder[0] <= locked(pool.reserve_a) + 2);
    assert!(remainder[1] <= locked(pool.reserve_b) + 2);

    eprintln!(
        "exit mode gas: activateExitMode {activate_gas}; {}; refundDeposit {}; ETH top-up deposit {top_up_gas}",
        exit_gas
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(", "),
        refund_gas
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    eprintln!(
        "pool remainder after every LP exit: {} wei, {} tokens (reserves {} / {}, supply {})",
        remainder[0], remainder[1], pool.reserve_a, pool.reserve_b, pool.lp_supply
    );
}

/// Exit mode's rules on a chain with no batch: an account created on L1
/// but never processed has no balance to exit; a checkpoint's accounts have
/// no recorded owner; the deadline counts from the oldest waiting deposit.
#[test]
fn the_deadline_counts_from_the_oldest_waiting_deposit() {
    let mut l1 = stub_chain(Genesis {
        exit_deadline_blocks: 3,
        ..Genesis::default()
    });
    l1.register_asset(ETH, Address::ZERO).unwrap();
    let mallory = addr(MALLORY);
    assert_eq!(
        reverted(l1.activate_exit_mode(mallory)),
        "no deposit waiting"
    );
    let keys = Keys::new(5, 4);
    l1.advance_blocks(7);
    let d = deposit(0, 0xa1, 1, keys.public(1), ETH, 10);
    l1.queue_deposit(&d).unwrap();
    assert_eq!(l1.queued_block(0).unwrap(), 7);
    // A later deposit does not move the clock: the oldest waiting one counts.
    l1.advance_blocks(2);
    l1.queue_deposit(&deposit(1, 0xb2, 1, zero_key(), ETH, 5))
        .unwrap();
    assert_eq!(l1.queued_block(1).unwrap(), 9);
    l1.advance_blocks(1);
    assert_eq!(l1.block_number(), 10);
    assert_eq!(
        reverted(l1.activate_exit_mode(mallory)),
        "deadline not passed"
    );
    l1.advance_blocks(1);
    l1.activate_exit_mode(mallory).expect("7 + 3 < 11");
    // Account 1 exists on L1 only: no batch created it, nothing to exit
    // (the empty state's root has no balance leaf for it).
    let empty = zklanes_executor::state::State::default();
    let tree = state_tree(&empty);
    assert_eq!(
        ExitProof::new(&empty, &tree, 1, ETH),
        Err(ExitError::NoAccount { account: 1 })
    );
    let forged = ExitProof {
        root: tree.root(),
        account: 1,
        asset: ETH,
        balance: 10,
        leaf_index: Key::Balance(1, ETH).index(),
        siblings: tree.siblings(Key::Balance(1, ETH).index()),
    };
    assert_eq!(reverted(l1.exit(mallory, &forged)), "not the final state");
    // Both deposits are refunded instead.
    for d in [&d, &deposit(1, 0xb2, 1, zero_key(), ETH, 5)] {
        let before = l1
            .balance(Address::ZERO, Address::from(d.l1_sender))
            .unwrap();
        l1.refund_deposit(mallory, d).expect("refunded");
        assert_eq!(
            l1.balance(Address::ZERO, Address::from(d.l1_sender))
                .unwrap(),
            before + d.amount
        );
    }
    assert_eq!(l1.balance(Address::ZERO, l1.rollup).unwrap(), 0);

    // On a checkpoint, accounts below the first one have no L1 owner.
    let mut cp = stub_chain(Genesis {
        first_account: 3,
        exit_deadline_blocks: 0,
        ..Genesis::default()
    });
    cp.register_asset(ETH, Address::ZERO).unwrap();
    cp.queue_deposit(&deposit(0, 0xb2, 2, zero_key(), ETH, 5))
        .unwrap();
    cp.advance_blocks(1);
    cp.activate_exit_mode(mallory).unwrap();
    assert_eq!(cp.account_owner(2).unwrap(), Address::ZERO);
    let proof = ExitProof {
        account: 2,
        leaf_index: Key::Balance(2, ETH).index(),
        ..forged.clone()
    };
    assert_eq!(
        reverted(cp.exit(mallory, &proof)),
        "account has no L1 owner"
    );
    let proof = ExitProof {
        account: 0,
        leaf_index: Key::Balance(0, ETH).index(),
        ..forged
    };
    assert_eq!(reverted(cp.exit(mallory, &proof)), "account out of range");
}

/// Liquidity exit proofs are checked natively too: a missing pool, a pool
/// out of range.
#[test]
fn liquidity_exit_proofs_need_a_pool() {
    let empty = zklanes_executor::state::State::default();
    let tree = state_tree(&empty);
    assert_eq!(
        LiquidityExitProof::new(&empty, &tree, 1, 0),
        Err(ExitError::PoolOutOfRange { pool: 0 })
    );
    assert_eq!(
        AnyExitProof::new(&empty, &tree, 1, LP_ASSET_BASE),
        Err(ExitError::PoolOutOfRange { pool: 0 })
    );
    assert_eq!(
        AnyExitProof::new(&empty, &tree, 1, 4096),
        Err(ExitError::PoolOutOfRange { pool: 2048 })
    );
}
