//! The Rollup contract's deposit rules: L1 queues only deposits the rollup
//! can process (a deposit no batch can consume would freeze the queue), and
//! L1 assigns account ids, so a deposit cannot be front-run into someone
//! else's account. Each refused kind is checked by its revert reason, so
//! that removing the contract's check makes its case fail; a property test
//! runs every deposit L1 accepts (and every one it refuses) through the
//! executor. Every plain token id is registered (one test ERC-20 behind
//! all of them) and each accepted deposit is paid; custody itself is
//! `l1_custody.rs`.

use ark_ec::{AffineRepr, CurveGroup};
use ark_ed_on_bn254::EdwardsAffine;
use ark_ff::{BigInteger, Field, PrimeField, UniformRand, Zero};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use rand::SeedableRng;
use revm::primitives::Address;
use zklanes_executor::exec::sequential::execute_sequential;
use zklanes_executor::field::{fr_from_bytes, fr_to_bytes, Fr};
use zklanes_executor::params::{DEFAULT_CHAIN_ID, MAX_ACCOUNT, MAX_AMOUNT, MAX_TOKEN};
use zklanes_executor::signature::{PublicKey, SecretKey};
use zklanes_executor::state::{Account, Key, Leaf, State};
use zklanes_executor::tx::{Deposit, SignedTx, TxBody};
use zklanes_executor::{Batch, Rollup, RollupConfig, TxError};
use zklanes_l1::chain::{revert_reason, L1Chain, Queued};
use zklanes_l1::error::EvmError;
use zklanes_l1::rollup::{deposit_calldata, deposit_new_account_calldata, queue_link, Genesis};

/// Creation code of a STUB verifier whose runtime is `STOP` (accepts
/// everything; no batch is finalized here).
const STUB_VERIFIER_ACCEPTS_ALL: &str = "6001600c60003960016000f300";

/// A chain whose accounts start at `first_account`, every plain token id
/// `1..=MAX_TOKEN` registered as one test ERC-20.
fn chain(first_account: u32) -> L1Chain {
    let mut l1 = L1Chain::deploy(
        &hex::decode(STUB_VERIFIER_ACCEPTS_ALL).unwrap(),
        &Default::default(),
        Genesis {
            first_account,
            ..Genesis::default()
        },
    )
    .expect("deploys");
    let token = l1.register_test_token(1).expect("token");
    for asset in 2..=MAX_TOKEN {
        l1.register_asset(asset, token).expect("registered");
    }
    l1
}

/// Pays `d` (tokens minted to its sender and approved) and queues it.
fn accept(l1: &mut L1Chain, d: &Deposit) -> Result<Queued, EvmError> {
    l1.provide(d)?;
    l1.queue(d)
}

/// The queue hashes after deposit `index` are the native chain over `d`.
fn queued_as(l1: &mut L1Chain, index: u64, d: &Deposit) -> bool {
    let prev = l1.queue_hash(index).unwrap();
    l1.queue_hash(index + 1).unwrap() == queue_link(&prev, d)
}

/// The `Error(string)` reason of a revert.
fn reason(e: EvmError) -> String {
    revert_reason(&e).unwrap_or_else(|| format!("no reason ({e})"))
}

fn word(f: &Fr) -> [u8; 32] {
    fr_to_bytes(f)
}

/// `a + b` on 256-bit big-endian words (no overflow here: both < 2^255).
fn add_words(a: [u8; 32], b: [u8; 32]) -> [u8; 32] {
    let mut out = [0u8; 32];
    let mut carry = 0u16;
    for i in (0..32).rev() {
        let s = a[i] as u16 + b[i] as u16 + carry;
        out[i] = s as u8;
        carry = s >> 8;
    }
    assert_eq!(carry, 0);
    out
}

/// The field modulus p (BN254's scalar field, BabyJubJub's base field).
fn modulus() -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(&Fr::MODULUS.to_bytes_be());
    out
}

fn key_of(p: EdwardsAffine) -> PublicKey {
    PublicKey { x: p.x, y: p.y }
}

fn zero_key() -> PublicKey {
    PublicKey {
        x: Fr::zero(),
        y: Fr::zero(),
    }
}

/// A point on the curve with y-coordinate `y`, if there is one.
fn point_with_y(y: u64) -> Option<EdwardsAffine> {
    EdwardsAffine::get_point_from_y_unchecked(Fr::from(y), false)
}

/// The torsion points of order exactly 2, 4 and 8 (one of each).
fn torsion() -> [EdwardsAffine; 3] {
    let mut t8 = None;
    for y in 2u64.. {
        let Some(p) = point_with_y(y) else { continue };
        // l·P is in the 8-torsion; keep it if its order is 8.
        let t = p.mul_bigint(ark_ed_on_bn254::Fr::MODULUS).into_affine();
        if !t.mul_bigint([4u64]).is_zero() {
            t8 = Some(t);
            break;
        }
    }
    let t8 = t8.expect("an order-8 point");
    let t4 = (t8 + t8).into_affine();
    let t2 = (t4 + t4).into_affine();
    assert!(!t2.is_zero() && (t2 + t2).into_affine().is_zero());
    assert_eq!(t2, EdwardsAffine::new_unchecked(Fr::zero(), -Fr::ONE));
    [t2, t4, t8]
}

fn valid_key(seed: u64) -> PublicKey {
    SecretKey::from_seed(seed).public()
}

/// A creating deposit (the key and amount `amount` of `asset`); the
/// account is what the test expects L1 to assign.
fn creating(account: u32, pubkey: PublicKey, asset: u32, amount: u128, sender: u8) -> Deposit {
    Deposit {
        queue_index: 0,
        l1_sender: [sender; 20],
        account,
        pubkey,
        asset,
        amount,
    }
}

fn top_up(account: u32, asset: u32, amount: u128, sender: u8) -> Deposit {
    creating(account, zero_key(), asset, amount, sender)
}

fn refused(l1: &mut L1Chain, d: &Deposit) -> String {
    match l1.queue(d) {
        Ok(q) => panic!("queued {d:?} as {q:?}"),
        Err(e) => reason(e),
    }
}

fn refused_raw(l1: &mut L1Chain, data: Vec<u8>) -> String {
    match l1.call_from(Address::from([9u8; 20]), data) {
        Ok(_) => panic!("queued"),
        Err(e) => reason(e),
    }
}

/// Every kind of deposit the executor refuses (so no batch could consume
/// it) is refused on L1, each by its own check; the edge values the
/// executor accepts are queued.
#[test]
fn deposits_the_rollup_cannot_process_are_refused_on_l1() {
    let mut l1 = chain(1);
    let alice = valid_key(1);

    // Top-ups name an account L1 assigned: none yet.
    for account in [0, 1, 2, MAX_ACCOUNT, MAX_ACCOUNT + 1, u32::MAX] {
        assert_eq!(
            refused(&mut l1, &top_up(account, 1, 5, 1)),
            "account not assigned",
            "top-up of account {account}"
        );
    }
    let created = accept(&mut l1, &creating(1, alice, 1, 5, 1)).expect("creates");
    assert_eq!((created.index, created.account), (0, 1));
    let creation_gas = created.gas;
    let top_up_gas = accept(&mut l1, &top_up(1, 2, 5, 1)).expect("tops up").gas;
    for account in [0, 2, 3, MAX_ACCOUNT, MAX_ACCOUNT + 1] {
        assert_eq!(
            refused(&mut l1, &top_up(account, 1, 5, 1)),
            "account not assigned",
            "top-up of account {account}"
        );
    }

    // Assets: registered ones only, and only plain tokens 1..=MAX_TOKEN
    // can be registered (not 0, not LP shares, not past the slot width),
    // on both kinds of deposit.
    for asset in [0, MAX_TOKEN + 1, 2048, 4095, 4096, u32::MAX] {
        assert_eq!(
            reason(l1.register_asset(asset, Address::ZERO).unwrap_err()),
            "asset out of range",
            "asset {asset}"
        );
        assert_eq!(
            refused(&mut l1, &top_up(1, asset, 5, 1)),
            "asset not registered",
            "asset {asset}"
        );
        assert_eq!(
            refused(&mut l1, &creating(2, valid_key(2), asset, 5, 1)),
            "asset not registered",
            "asset {asset}"
        );
    }
    // Amounts: 1..=2^96 − 1.
    for amount in [0, MAX_AMOUNT + 1, u128::MAX] {
        assert_eq!(
            refused(&mut l1, &top_up(1, 1, amount, 1)),
            "amount out of range",
            "amount {amount}"
        );
        assert_eq!(
            refused(&mut l1, &creating(2, valid_key(2), 1, amount, 1)),
            "amount out of range",
            "amount {amount}"
        );
    }

    // Keys of a new account.
    let one = Fr::ONE;
    let [t2, t4, t8] = torsion();
    let k = SecretKey::from_seed(7).public_point();
    let shifted = |t: EdwardsAffine| key_of((k + t).into_affine());
    let p = |x: Fr, y: Fr| PublicKey { x, y };
    let cases: Vec<(PublicKey, &str)> = vec![
        (p(one, Fr::zero()), "key not in the subgroup"), // order 4
        (p(-one, Fr::zero()), "key not in the subgroup"), // order 4
        (p(Fr::zero(), one), "key is the identity"),
        (p(Fr::zero(), -one), "key not in the subgroup"), // order 2
        (p(Fr::from(5u64), Fr::from(7u64)), "key not on the curve"),
        (p(k.x, k.y + one), "key not on the curve"),
        (zero_key(), "account not assigned"), // a top-up of account 2
        (key_of(t8), "key not in the subgroup"),
        (shifted(t2), "key not in the subgroup"),
        (shifted(t4), "key not in the subgroup"),
        (shifted(t8), "key not in the subgroup"),
    ];
    for (key, why) in cases {
        let d = creating(2, key, 1, 5, 1);
        assert_eq!(refused(&mut l1, &d), why, "key {key:?}");
        if key != zero_key() {
            assert!(key.point().is_none(), "the executor refuses it too");
        }
    }
    // Coordinates at or above p (the same point, non-canonical).
    let (x, y) = (word(&k.x), word(&k.y));
    let (xp, yp) = (add_words(x, modulus()), add_words(y, modulus()));
    for (kx, ky) in [(xp, y), (x, yp), (modulus(), y)] {
        assert_eq!(
            refused_raw(&mut l1, deposit_new_account_calldata(kx, ky, 1, 5)),
            "key coordinate out of range"
        );
    }
    assert_eq!(
        l1.counter("depositCount").unwrap(),
        2,
        "nothing refused was queued"
    );
    assert_eq!(l1.counter("nextAccount").unwrap(), 2);

    // The edges the executor accepts are queued: the same key canonical,
    // its negation, the largest token and amount, the smallest of each.
    for (i, (key, asset, amount)) in [
        (key_of(k), MAX_TOKEN, MAX_AMOUNT),
        (key_of(-k), 1, 1),
        (valid_key(3), 1, MAX_AMOUNT),
    ]
    .into_iter()
    .enumerate()
    {
        assert!(key.point().is_some());
        let q = accept(&mut l1, &creating(2 + i as u32, key, asset, amount, 1)).unwrap();
        assert_eq!(q.account, 2 + i as u32);
    }
    for (asset, amount) in [(1, 1), (MAX_TOKEN, MAX_AMOUNT)] {
        accept(&mut l1, &top_up(4, asset, amount, 1)).expect("top-up");
    }

    // Account ids run out at MAX_ACCOUNT: the last one is created, the
    // next creation is refused (its id would spill into the queue index).
    let mut full = chain(MAX_ACCOUNT);
    let last = accept(&mut full, &creating(MAX_ACCOUNT, alice, 1, 1, 1)).unwrap();
    assert_eq!(last.account, MAX_ACCOUNT);
    accept(&mut full, &top_up(MAX_ACCOUNT, 1, 1, 1)).expect("top-up of the last id");
    assert_eq!(
        refused(&mut full, &creating(MAX_ACCOUNT + 1, valid_key(2), 1, 1, 1)),
        "no account id left"
    );
    assert_eq!(
        refused(&mut full, &top_up(MAX_ACCOUNT + 1, 1, 1, 1)),
        "account not assigned"
    );

    eprintln!(
        "Rollup deposits: creating (key and subgroup check) {creation_gas} gas, top-up {top_up_gas} gas"
    );
}

/// The front-running attack of a fixed-id design: Mallory sees Alice's
/// creating deposit and gets a creation of hers queued first. With ids
/// assigned by L1, Mallory's deposit just creates account 1 with her key;
/// Alice's creates account 2 with Alice's key, and executing the queue
/// credits Alice's funds to the account Alice controls. A top-up Mallory
/// sends to Alice's account cannot change its key.
#[test]
fn a_front_run_creating_deposit_does_not_capture_the_victims_funds() {
    let mut l1 = chain(1);
    let alice = valid_key(11);
    let mallory = valid_key(66);
    let (a_sender, m_sender) = (0xa1, 0x66);

    // Alice meant to create account 1; Mallory's creation lands first.
    let m = accept(&mut l1, &creating(1, mallory, 1, 1, m_sender)).unwrap();
    let a = accept(&mut l1, &creating(1, alice, 1, 100, a_sender)).unwrap();
    assert_eq!((m.account, a.account), (1, 2));
    // A caller that expected account 1 learns it did not get it.
    assert!(l1
        .queue_deposit(&creating(1, alice, 1, 1, a_sender))
        .is_err());
    // That stray creation got the next id.
    let third = 3;
    // Mallory tops up Alice's account: that only gives Alice funds.
    let t = accept(&mut l1, &top_up(2, 1, 7, m_sender)).unwrap();
    assert_eq!(t.account, 2);

    // The deposits as the sequencer reads them off L1, bound by the
    // contract's queue hashes.
    let queued = [
        (m.index, 1, mallory, 1, m_sender),
        (a.index, 2, alice, 100, a_sender),
        (2, third, alice, 1, a_sender),
        (t.index, 2, zero_key(), 7, m_sender),
    ];
    let deposits: Vec<Deposit> = queued
        .iter()
        .map(|&(queue_index, account, pubkey, amount, sender)| Deposit {
            queue_index,
            ..creating(account, pubkey, 1, amount, sender)
        })
        .collect();
    for d in &deposits {
        assert!(queued_as(&mut l1, d.queue_index, d), "L1 queued {d:?}");
    }
    // A deposit to account 1 with Alice's key (the old attack's victim
    // view) is not what L1 queued.
    let victim_view = Deposit {
        queue_index: a.index,
        ..creating(1, alice, 1, 100, a_sender)
    };
    assert!(!queued_as(&mut l1, a.index, &victim_view));

    let mut rollup = Rollup::in_memory(RollupConfig::default());
    rollup
        .apply(&Batch {
            version: zklanes_executor::batch::BATCH_VERSION,
            chain_id: DEFAULT_CHAIN_ID,
            number: 0,
            txs: deposits
                .into_iter()
                .map(|d| SignedTx {
                    body: TxBody::Deposit(d),
                    signature: None,
                })
                .collect(),
        })
        .expect("the queue executes");
    let state = rollup.state();
    let account = |a: u32| match state.get(Key::Account(a)) {
        Leaf::Account(acc) => acc.pubkey,
        other => panic!("account {a}: {other:?}"),
    };
    let balance = |a: u32| match state.get(Key::Balance(a, 1)) {
        Leaf::Balance(b) => b,
        _ => 0,
    };
    assert_eq!(account(1), mallory);
    assert_eq!(balance(1), 1, "Mallory keeps only her own deposit");
    assert_eq!(account(2), alice);
    assert_eq!(
        balance(2),
        107,
        "Alice's funds (and Mallory's gift) are in Alice's account"
    );
    assert_eq!(account(third), alice);
}

/// A key for the property test: valid ones, torsion-shifted ones, small
/// order points, random points on and off the curve, non-canonical
/// coordinates. Raw 32-byte words (they may be ≥ p).
fn key_words(kind: u8, seed: u64, torsion: &[EdwardsAffine; 3]) -> ([u8; 32], [u8; 32]) {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let k = (EdwardsAffine::generator() * ark_ed_on_bn254::Fr::rand(&mut rng)).into_affine();
    let w = |p: EdwardsAffine| (word(&p.x), word(&p.y));
    match kind % 14 {
        0..=2 => w(k),
        3 => w(-k),
        4 => w((k + torsion[(seed % 3) as usize]).into_affine()),
        5 => w(torsion[(seed % 3) as usize]),
        6 => {
            // A random point on the curve: in the subgroup one time in 8.
            let y = 2 + seed % 1_000_000;
            match point_with_y(y) {
                Some(p) => w(p),
                None => w(k),
            }
        }
        7 => (word(&Fr::rand(&mut rng)), word(&Fr::rand(&mut rng))),
        8 => (word(&Fr::zero()), word(&Fr::ONE)),
        9 => (word(&Fr::zero()), word(&-Fr::ONE)),
        10 => (word(&Fr::ONE), word(&Fr::zero())),
        11 => {
            let (x, y) = w(k);
            (add_words(x, modulus()), y)
        }
        12 => {
            let (x, y) = w(k);
            (x, add_words(y, modulus()))
        }
        _ => (word(&k.x), word(&(k.y + Fr::ONE))),
    }
}

/// Edge values, a range of mostly valid ones, or anything.
fn edge_u32(
    edges: &'static [u32],
    valid: std::ops::RangeInclusive<u32>,
) -> impl Strategy<Value = u32> {
    prop_oneof![
        3 => proptest::sample::select(edges),
        2 => valid,
        1 => any::<u32>(),
        1 => 0u32..5000,
    ]
}

fn edge_amount() -> impl Strategy<Value = u128> {
    prop_oneof![
        3 => proptest::sample::select(&[0, 1, 2, MAX_AMOUNT - 1, MAX_AMOUNT, MAX_AMOUNT + 1, u128::MAX][..]),
        2 => 1..=MAX_AMOUNT,
        1 => 0..=MAX_AMOUNT + 2,
        1 => any::<u128>(),
    ]
}

/// One deposit request: `create` names a key, else `account` is topped up.
#[derive(Clone, Debug)]
struct Request {
    create: bool,
    account: u32,
    key_kind: u8,
    key_seed: u64,
    asset: u32,
    amount: u128,
    sender: u8,
}

fn request() -> impl Strategy<Value = Request> {
    const ACCOUNTS: &[u32] = &[
        0,
        1,
        2,
        3,
        MAX_ACCOUNT - 3,
        MAX_ACCOUNT - 2,
        MAX_ACCOUNT - 1,
        MAX_ACCOUNT,
        MAX_ACCOUNT + 1,
        u32::MAX,
    ];
    const ASSETS: &[u32] = &[
        0,
        1,
        2,
        MAX_TOKEN - 1,
        MAX_TOKEN,
        MAX_TOKEN + 1,
        4095,
        4096,
        u32::MAX,
    ];
    (
        any::<bool>(),
        edge_u32(ACCOUNTS, 1..=8),
        any::<u8>(),
        any::<u64>(),
        edge_u32(ASSETS, 1..=MAX_TOKEN),
        edge_amount(),
        any::<u8>(),
    )
        .prop_map(
            |(create, account, key_kind, key_seed, asset, amount, sender)| Request {
                create,
                account,
                key_kind,
                key_seed,
                asset,
                amount,
                sender,
            },
        )
}

/// The executor's verdict on `d` over `state` (its static checks, then its
/// semantics), applied to `state` when accepted.
fn execute(state: &mut State, d: &Deposit) -> Result<(), TxError> {
    let tx = SignedTx {
        body: TxBody::Deposit(d.clone()),
        signature: None,
    };
    match execute_sequential(state, &[tx], DEFAULT_CHAIN_ID) {
        Ok(out) => {
            for (k, l) in out.diff {
                state.set(k, l);
            }
            state.next_deposit = out.next_deposit;
            Ok(())
        }
        Err(zklanes_executor::BatchError::Tx { reason, .. }) => Err(reason),
        Err(e) => panic!("executor: {e}"),
    }
}

/// Runs random deposits through L1 and the executor side by side, on a
/// new chain (`first_account` 1) or a checkpoint near the last account id:
/// L1 accepts a deposit exactly when the executor does (balance overflow
/// aside, which L1 cannot see), and what L1 queued (its stored item) is the
/// deposit the executor ran.
fn l1_and_executor_agree(first_account: u32, cases: u32) {
    let torsion = torsion();
    let l1 = std::cell::RefCell::new(chain(first_account));
    let state = std::cell::RefCell::new(State::default());
    // Accounts below the checkpoint exist (created before it).
    let existing = |state: &mut State, a: u32| {
        if (1..first_account).contains(&a) && state.get(Key::Account(a)) == Leaf::Empty {
            state.set(
                Key::Account(a),
                Leaf::Account(Account::new(valid_key(a as u64))),
            );
        }
    };
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let accepted = std::cell::Cell::new((0u32, 0u32));
    runner
        .run(&request(), |r| {
            let mut l1 = l1.borrow_mut();
            let mut state = state.borrow_mut();
            let index = l1.counter("depositCount").unwrap();
            let next = l1.counter("nextAccount").unwrap() as u32;
            let sender = [r.sender; 20];
            let (kx, ky) = key_words(r.key_kind, r.key_seed, &torsion);
            // The deposit as L1 would queue it (None: a key the executor
            // cannot even represent).
            let (data, deposit) = if r.create {
                let key = fr_from_bytes(&kx)
                    .zip(fr_from_bytes(&ky))
                    .map(|(x, y)| PublicKey { x, y });
                let d = key.map(|pubkey| Deposit {
                    queue_index: index,
                    l1_sender: sender,
                    account: next,
                    pubkey,
                    asset: r.asset,
                    amount: r.amount,
                });
                (deposit_new_account_calldata(kx, ky, r.asset, r.amount), d)
            } else {
                existing(&mut state, r.account);
                let d = Deposit {
                    queue_index: index,
                    l1_sender: sender,
                    account: r.account,
                    pubkey: zero_key(),
                    asset: r.asset,
                    amount: r.amount,
                };
                (deposit_calldata(&d), Some(d))
            };
            // The sender holds and approves the amount (a deposit L1
            // refuses is refused by its rules, not for want of tokens).
            l1.provide(&Deposit {
                queue_index: index,
                l1_sender: sender,
                account: 1,
                pubkey: zero_key(),
                asset: 1,
                amount: r.amount,
            })
            .expect("tokens");
            let on_l1 = l1.call_from(Address::from(sender), data);
            let executor = match &deposit {
                Some(d) => execute(&mut state, d),
                None => Err(TxError::InvalidPublicKey { account: next }),
            };
            if let Err(TxError::BalanceOverflow { .. }) = executor {
                return Ok(()); // L1 does not see balances
            }
            match (&on_l1, &executor) {
                (Ok(_), Ok(())) => {
                    let d = deposit.as_ref().expect("executed");
                    prop_assert!(queued_as(&mut l1, index, d), "L1 queued another deposit");
                    let (c, t) = accepted.get();
                    accepted.set(if r.create { (c + 1, t) } else { (c, t + 1) });
                    Ok(())
                }
                (Err(_), Err(_)) => {
                    prop_assert_eq!(l1.counter("depositCount").unwrap(), index);
                    Ok(())
                }
                _ => Err(TestCaseError::fail(format!(
                    "L1 {} and the executor {:?} disagree on {r:?} ({deposit:?})",
                    if on_l1.is_ok() { "accepts" } else { "refuses" },
                    executor
                ))),
            }
        })
        .unwrap();
    let (creations, top_ups) = accepted.get();
    eprintln!("first account {first_account}: {cases} deposits, {creations} creations and {top_ups} top-ups accepted by both");
    assert!(
        creations > 0 && top_ups > 0,
        "the property saw accepted deposits of both kinds"
    );
}

#[test]
fn every_deposit_l1_accepts_is_accepted_by_the_executor_and_vice_versa() {
    l1_and_executor_agree(1, 400);
    l1_and_executor_agree(MAX_ACCOUNT - 2, 200);
}
