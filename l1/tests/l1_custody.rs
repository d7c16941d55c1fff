//! Custody of the rollup's assets in revm, with real ERC-20 contracts
//! compiled by the pinned solc (`contracts/test/`) and ETH: balances of the
//! users and the contract before and after deposit, finalization and
//! claim (each withdrawal with its proof against the finalize's withdrawal
//! root); a double claim, a claim by the wrong address and a reentrant
//! token's second claim get nothing; fee-on-transfer tokens are refused,
//! and so is a deposit that would take the contract's custody of an asset
//! to the executor's balance bound (2^112); what the contract holds always
//! equals what was deposited minus what was claimed, which is what the
//! rollup owes: its balances plus the unclaimed withdrawal leaves. Also the
//! asset registry's rules and the gas of deposits, of `finalize` and of
//! `claim` (over the STUB verifier, see `common`).

mod common;

use std::collections::BTreeMap;

use common::*;
use revm::primitives::Address;
use zklanes_executor::signature::SecretKey;
use zklanes_executor::tx::Deposit;
use zklanes_l1::chain::L1Chain;
use zklanes_l1::rollup::{claim_calldata, deposit_calldata, register_asset_calldata};
use zklanes_l1::solc::compile_solidity;
use zklanes_l1::withdrawals::{Withdrawal, WithdrawalProof, WithdrawalTree};

const ETHER: u128 = 1_000_000_000_000_000_000;

fn deploy_test_contract(l1: &mut L1Chain, name: &str) -> Address {
    let code = compile_solidity(&test_contract(name), Some(name)).expect("compiles");
    l1.deploy_contract(&code).expect("deploys")
}

fn sender(d: &Deposit) -> Address {
    Address::from(d.l1_sender)
}

/// What the contract received and paid per asset, to check its holdings.
#[derive(Default)]
struct Books {
    tokens: BTreeMap<u32, Address>,
    deposited: BTreeMap<u32, u128>,
    /// Withdrawn from the rollup's balances by finalized batches.
    withdrawn: BTreeMap<u32, u128>,
    claimed: BTreeMap<u32, u128>,
    /// Finalized withdrawal leaves not claimed yet, per asset.
    unclaimed: BTreeMap<u32, u128>,
}

impl Books {
    /// The contract holds, of every asset, what was deposited minus what
    /// was claimed, which is what the rollup owes: its balances (deposited
    /// minus withdrawn) plus the unclaimed leaves.
    fn check(&self, l1: &mut L1Chain) {
        let get = |m: &BTreeMap<u32, u128>, asset| m.get(asset).copied().unwrap_or(0);
        for (asset, token) in &self.tokens {
            let held = l1.balance(*token, l1.rollup).unwrap();
            let deposited = get(&self.deposited, asset);
            assert_eq!(
                held,
                deposited - get(&self.claimed, asset),
                "custody of asset {asset}"
            );
            let balances = deposited - get(&self.withdrawn, asset);
            assert_eq!(
                held,
                balances + get(&self.unclaimed, asset),
                "what the rollup owes of asset {asset}"
            );
        }
    }
}

/// Deposits (ERC-20 and ETH), a batch that withdraws some of them, claims:
/// every balance moves by exactly the amounts, and only once.
#[test]
fn custody_follows_deposits_finalization_and_claims() {
    let (mut l1, token) = chain_with_assets();
    let no_return = deploy_test_contract(&mut l1, "NoReturnToken");
    const NO_RETURN: u32 = 3;
    l1.register_asset(NO_RETURN, no_return).unwrap();
    let mut books = Books::default();
    books.tokens.insert(ETH, Address::ZERO);
    books.tokens.insert(TOKEN, token);
    books.tokens.insert(NO_RETURN, no_return);
    books.check(&mut l1);

    let alice = SecretKey::from_seed(1).public();
    let deposits = [
        deposit(0, 0xa1, 1, alice, TOKEN, 1000),
        deposit(1, 0xb2, 1, zero_key(), ETH, 5 * ETHER),
        deposit(2, 0xa1, 1, zero_key(), NO_RETURN, 70),
    ];
    for d in &deposits {
        let token = books.tokens[&d.asset];
        l1.provide(d).unwrap();
        let before = (
            l1.balance(token, sender(d)).unwrap(),
            l1.balance(token, l1.rollup).unwrap(),
        );
        assert_eq!(before.0, d.amount, "the sender holds the amount");
        assert_eq!(l1.queue(d).expect("queued").index, d.queue_index);
        assert_eq!(l1.balance(token, sender(d)).unwrap(), before.0 - d.amount);
        assert_eq!(l1.balance(token, l1.rollup).unwrap(), before.1 + d.amount);
        *books.deposited.entry(d.asset).or_default() += d.amount;
        books.check(&mut l1);
    }

    // A batch consumes them and withdraws to Carol and Alice.
    let carol = [0xc3; 20];
    let alice_l1 = [0xa1; 20];
    let withdrawals = [
        withdraw(1, TOKEN, 400, carol),
        withdraw(1, ETH, 2 * ETHER, carol),
        withdraw(1, TOKEN, 100, alice_l1),
        withdraw(1, TOKEN, 50, carol),
        withdraw(1, NO_RETURN, 70, alice_l1),
    ];
    let mut data: Vec<_> = deposits.iter().flat_map(deposit_data).collect();
    data.extend(transfer_data(1, 2, TOKEN, 5));
    data.extend(withdrawals.iter().flat_map(withdraw_data));
    let held: Vec<u128> = books
        .tokens
        .values()
        .map(|t| l1.balance(*t, l1.rollup).unwrap())
        .collect();
    finalize_data(&mut l1, 0, 0, 1, &data).expect("finalizes");
    let after: Vec<u128> = books
        .tokens
        .values()
        .map(|t| l1.balance(*t, l1.rollup).unwrap())
        .collect();
    assert_eq!(held, after, "finalizing moves no asset");
    // One leaf per withdrawal, in data order, under the root L1 stored.
    let tree = WithdrawalTree::from_data(&data).unwrap();
    let leaves: Vec<Withdrawal> = withdrawals
        .iter()
        .map(|w| Withdrawal {
            to: w.l1_address,
            asset: w.asset,
            amount: w.amount,
        })
        .collect();
    assert_eq!(tree.withdrawals(), leaves);
    assert_eq!(l1.withdrawal_root(0).unwrap(), tree.stored_root());
    for w in &withdrawals {
        *books.withdrawn.entry(w.asset).or_default() += w.amount;
        *books.unclaimed.entry(w.asset).or_default() += w.amount;
    }
    books.check(&mut l1);

    // Dave is owed nothing: sending Carol's proof, or claiming her leaf
    // for himself, pays nothing and moves nothing.
    let dave = Address::from([0xd4; 20]);
    let carols = tree.proof(0).unwrap();
    assert_eq!(
        reverted(l1.call_from(dave, claim_calldata(0, &carols))),
        "not the recipient"
    );
    let mut to_dave = carols.clone();
    to_dave.withdrawal.to = dave.0 .0;
    assert_eq!(
        reverted(l1.claim(0, &to_dave)),
        "not a finalized withdrawal"
    );
    for asset in [ETH, TOKEN, NO_RETURN] {
        assert_eq!(l1.balance(books.tokens[&asset], dave).unwrap(), 0);
    }
    // Carol has no NO_RETURN withdrawal: Alice's leaf does not pay her.
    let mut alices = tree.proof(4).unwrap();
    assert_eq!(alices.withdrawal.asset, NO_RETURN);
    alices.withdrawal.to = carol;
    assert_eq!(reverted(l1.claim(0, &alices)), "not a finalized withdrawal");
    books.check(&mut l1);

    for (index, w) in tree.withdrawals().iter().enumerate() {
        let t = books.tokens[&w.asset];
        let who = Address::from(w.to);
        let before = (
            l1.balance(t, who).unwrap(),
            l1.balance(t, l1.rollup).unwrap(),
        );
        let proof = tree.proof(index).unwrap();
        l1.claim(0, &proof).expect("claims");
        assert_eq!(l1.balance(t, who).unwrap(), before.0 + w.amount);
        assert_eq!(l1.balance(t, l1.rollup).unwrap(), before.1 - w.amount);
        *books.claimed.entry(w.asset).or_default() += w.amount;
        *books.unclaimed.get_mut(&w.asset).unwrap() -= w.amount;
        books.check(&mut l1);
        // Claimed twice: nothing more.
        assert_eq!(reverted(l1.claim(0, &proof)), "withdrawal claimed");
        assert_eq!(l1.balance(t, who).unwrap(), before.0 + w.amount);
    }
    // What stays is what the rollup's balances hold: deposits minus withdrawals.
    assert_eq!(l1.balance(token, l1.rollup).unwrap(), 1000 - 550);
    assert_eq!(l1.balance(Address::ZERO, l1.rollup).unwrap(), 3 * ETHER);
    assert_eq!(l1.balance(no_return, l1.rollup).unwrap(), 0);
    books.check(&mut l1);
}

/// A token that delivers less than the amount (a fee on transfer) is
/// refused: the deposit reverts and nothing moves.
#[test]
fn fee_on_transfer_tokens_are_refused() {
    let (mut l1, _) = chain_with_assets();
    let fee = deploy_test_contract(&mut l1, "FeeOnTransferToken");
    l1.register_asset(4, fee).unwrap();
    let d = deposit(0, 0xa1, 1, SecretKey::from_seed(1).public(), 4, 1000);
    l1.provide(&d).unwrap();
    assert_eq!(reverted(l1.queue(&d)), "token took a fee");
    assert_eq!(l1.balance(fee, sender(&d)).unwrap(), 1000);
    assert_eq!(l1.balance(fee, l1.rollup).unwrap(), 0);
    assert_eq!(l1.counter("depositCount").unwrap(), 0);
    assert_eq!(l1.counter("nextAccount").unwrap(), 1);
}

/// A token that sends its claim again from its `transfer` while the
/// rollup pays it: the second claim reverts on the lock ("reentrant
/// call"), the first pays exactly once.
#[test]
fn a_reentrant_token_cannot_claim_twice() {
    let (mut l1, _) = chain_with_assets();
    let evil = deploy_test_contract(&mut l1, "ReentrantToken");
    const EVIL: u32 = 5;
    l1.register_asset(EVIL, evil).unwrap();
    let d = deposit(0, 0xa1, 1, SecretKey::from_seed(1).public(), EVIL, 1000);
    l1.queue_deposit(&d).expect("queued");
    // The batch withdraws 600 to the token contract itself.
    let evil_l1: [u8; 20] = evil.0 .0;
    let data = [
        deposit_data(&d),
        withdraw_data(&withdraw(1, EVIL, 600, evil_l1)),
    ]
    .concat();
    finalize_data(&mut l1, 0, 0, 1, &data).expect("finalizes");
    let tree = WithdrawalTree::from_data(&data).unwrap();
    assert_eq!(l1.withdrawal_root(0).unwrap(), tree.stored_root());
    let proof: WithdrawalProof = tree.proof(0).unwrap();
    assert_eq!(proof.siblings.len(), 0, "one leaf: the root");

    // attack(rollup, firstBatch, index, asset, amount, proof): no sibling.
    let attack = abi(
        "attack(address,uint64,uint256,uint32,uint128,bytes32[])",
        &[
            address_word(l1.rollup),
            u128_word(0),
            u128_word(0),
            u128_word(EVIL as u128),
            u128_word(600),
            u128_word(6 * 32),
            u128_word(0),
        ],
    );
    l1.call_contract(Address::from([0xee; 20]), evil, attack.clone(), 0)
        .expect("the outer claim succeeds");
    let mut read = |getter: &str| {
        l1.call_contract(Address::ZERO, evil, abi(getter, &[]), 0)
            .unwrap()
            .output
    };
    assert_eq!(word_to_u128(&read("reentries()")), 1, "it tried");
    assert_eq!(word_to_u128(&read("reentriesPaid()")), 0, "it got nothing");
    let reason = read("lastReason()");
    let len = word_to_u128(&reason[32..64]) as usize;
    assert_eq!(&reason[64..64 + len], b"reentrant call");
    assert_eq!(l1.balance(evil, evil).unwrap(), 600);
    assert_eq!(l1.balance(evil, l1.rollup).unwrap(), 400);
    assert!(l1.is_claimed(0, 0).unwrap());
    // The token's claim again, from outside: the leaf is claimed.
    assert_eq!(
        reverted(l1.call_contract(Address::from([0xee; 20]), evil, attack, 0)),
        "withdrawal claimed"
    );
    assert_eq!(l1.balance(evil, evil).unwrap(), 600);
}

/// A deposit that would take the contract's custody of an asset to 2^112
/// (the executor's balance bound, `MAX_BALANCE = 2^112 − 1`) is refused,
/// for a token and for ETH: every balance of the asset is paid from that
/// custody, so none can pass the bound and no queued deposit can be one
/// the batches cannot process. Custody up to `2^112 − 1` is accepted.
#[test]
fn a_deposit_cannot_take_custody_past_the_balance_bound() {
    let (mut l1, token) = chain_with_assets();
    const BOUND: u128 = 1 << 112;
    let key = SecretKey::from_seed(1).public();
    // A user holding a huge amount of the token sends all but 500 below
    // the bound to the contract outside any deposit.
    let whale = deposit(0, 0xa1, 1, key, TOKEN, 500);
    l1.mint(token, sender(&whale), BOUND).unwrap();
    l1.call_contract(
        sender(&whale),
        token,
        abi(
            "transfer(address,uint256)",
            &[address_word(l1.rollup), u128_word(BOUND - 500)],
        ),
        0,
    )
    .unwrap();
    l1.approve(token, sender(&whale), 500).unwrap();
    assert_eq!(reverted(l1.queue(&whale)), "custody over the balance bound");
    assert_eq!(l1.balance(token, l1.rollup).unwrap(), BOUND - 500);
    assert_eq!(l1.counter("depositCount").unwrap(), 0);
    // One less keeps custody at 2^112 − 1: accepted.
    let below = deposit(0, 0xa1, 1, key, TOKEN, 499);
    assert_eq!(l1.queue(&below).expect("queued").index, 0);
    assert_eq!(l1.balance(token, l1.rollup).unwrap(), BOUND - 1);
    let more = deposit(1, 0xa1, 1, zero_key(), TOKEN, 1);
    l1.approve(token, sender(&more), 1).unwrap();
    assert_eq!(reverted(l1.queue(&more)), "custody over the balance bound");

    // ETH: the contract's balance counts (whatever sent it).
    l1.fund_eth(l1.rollup, BOUND - 10);
    let eth = deposit(1, 0xb2, 1, zero_key(), ETH, 10);
    l1.fund_eth(sender(&eth), 10);
    assert_eq!(reverted(l1.queue(&eth)), "custody over the balance bound");
    let eth = deposit(1, 0xb2, 1, zero_key(), ETH, 9);
    assert_eq!(l1.queue(&eth).expect("queued").index, 1);
    assert_eq!(l1.balance(Address::ZERO, l1.rollup).unwrap(), BOUND - 1);
}

/// The governor registers each asset id once, a token with code or ETH;
/// deposits need a registered asset and exactly its payment.
#[test]
fn assets_and_payments_follow_the_registry() {
    let (mut l1, token) = chain_with_assets();
    let mallory = Address::from([0x66; 20]);
    assert_eq!(
        reverted(l1.call_from(mallory, register_asset_calldata(9, token))),
        "not the governor"
    );
    assert_eq!(
        reverted(l1.register_asset(TOKEN, token)),
        "asset registered"
    );
    assert_eq!(
        reverted(l1.register_asset(ETH, Address::ZERO)),
        "asset registered"
    );
    for asset in [0, 2048, 4095, 4096, u32::MAX] {
        assert_eq!(
            reverted(l1.register_asset(asset, token)),
            "asset out of range",
            "asset {asset}"
        );
    }
    assert_eq!(
        reverted(l1.register_asset(9, Address::from([0x77; 20]))),
        "token has no code"
    );
    assert_eq!(l1.asset(9).unwrap(), None);
    assert_eq!(l1.asset(ETH).unwrap(), Some(Address::ZERO));
    assert_eq!(l1.asset(TOKEN).unwrap(), Some(token));

    let key = SecretKey::from_seed(1).public();
    // An unregistered asset.
    let d = deposit(0, 0xa1, 1, key, 9, 10);
    assert_eq!(reverted(l1.queue(&d)), "asset not registered");
    // A token deposit without the tokens, or without the approval.
    let d = deposit(0, 0xa1, 1, key, TOKEN, 10);
    assert_eq!(reverted(l1.queue(&d)), "token transfer failed");
    l1.mint(token, sender(&d), 10).unwrap();
    assert_eq!(reverted(l1.queue(&d)), "token transfer failed");
    // ETH along with a token deposit.
    l1.approve(token, sender(&d), 10).unwrap();
    l1.fund_eth(sender(&d), 10);
    assert_eq!(
        reverted(l1.call_contract(sender(&d), l1.rollup, deposit_calldata(&d), 10)),
        "ETH sent with a token"
    );
    // An ETH deposit with another value.
    let e = deposit(0, 0xb2, 1, key, ETH, 10);
    l1.fund_eth(sender(&e), 100);
    for value in [0, 9, 11] {
        assert_eq!(
            reverted(l1.call_contract(sender(&e), l1.rollup, deposit_calldata(&e), value)),
            "wrong ETH value",
            "value {value}"
        );
    }
    assert_eq!(l1.balance(Address::ZERO, sender(&e)).unwrap(), 100);
    assert_eq!(l1.counter("depositCount").unwrap(), 0, "nothing queued");
    l1.queue(&d).expect("the token deposit, paid");
    l1.queue(&deposit(1, 0xb2, 1, zero_key(), ETH, 10))
        .expect("the ETH top-up, paid");
    assert_eq!(l1.balance(Address::ZERO, l1.rollup).unwrap(), 10);
    assert_eq!(l1.balance(token, l1.rollup).unwrap(), 10);
}

/// The gas of each kind of deposit and of `finalize` (stub verifier: the
/// contract's own work and the data's calldata); a top-up of ETH stays
/// within 60k.
#[test]
fn gas_of_deposits_and_finalize() {
    let (mut l1, _) = chain_with_assets();
    let key = |s: u64| SecretKey::from_seed(s).public();
    let gas = |l1: &mut L1Chain, d: Deposit| l1.queue_deposit(&d).expect("queued").1;
    let new_eth = gas(&mut l1, deposit(0, 0xa1, 1, key(1), ETH, ETHER));
    let top_up_eth = gas(&mut l1, deposit(1, 0xb2, 1, zero_key(), ETH, ETHER));
    let top_up_eth_again = gas(&mut l1, deposit(2, 0xb2, 1, zero_key(), ETH, ETHER));
    let new_token = gas(&mut l1, deposit(3, 0xa1, 2, key(2), TOKEN, 1000));
    let top_up_token = gas(&mut l1, deposit(4, 0xc3, 2, zero_key(), TOKEN, 1000));
    eprintln!("deposit gas: new account (ETH) {new_eth}, ETH top-up {top_up_eth} (again {top_up_eth_again}), new account (ERC-20, first into the contract) {new_token}, ERC-20 top-up {top_up_token}");
    assert!(top_up_eth <= 60_000, "ETH top-up {top_up_eth} gas");

    // finalize with the demo's shape of data: 8 deposits, 40 two-element
    // transactions, 8 withdrawals (the verifier's own gas comes on top).
    let mut queued = Vec::new();
    for i in 0..8u64 {
        let d = deposit(5 + i, 0xd0 + i as u8, 1, zero_key(), ETH, 1 + i as u128);
        l1.queue_deposit(&d).unwrap();
        queued.push(d);
    }
    let all = [
        deposit(0, 0xa1, 1, key(1), ETH, ETHER),
        deposit(1, 0xb2, 1, zero_key(), ETH, ETHER),
        deposit(2, 0xb2, 1, zero_key(), ETH, ETHER),
        deposit(3, 0xa1, 2, key(2), TOKEN, 1000),
        deposit(4, 0xc3, 2, zero_key(), TOKEN, 1000),
    ];
    let mut data: Vec<_> = all.iter().chain(&queued).flat_map(deposit_data).collect();
    for i in 0..40 {
        data.extend(transfer_data(1, 2, TOKEN, 1 + i));
    }
    for i in 0..8u8 {
        data.extend(withdraw_data(&withdraw(2, TOKEN, 10, [0xe0 + i; 20])));
    }
    let deposits = all.len() + queued.len();
    let finalize_gas = finalize_data(&mut l1, 0, 0, 1, &data).expect("finalizes");
    let empty_gas = finalize_data(&mut l1, 1, 1, 2, &[]).expect("an empty batch");
    eprintln!(
        "finalize gas (stub verifier): {} elements ({} bytes: {deposits} deposits, 40 transfers, 8 withdrawals) {finalize_gas}; no data {empty_gas}",
        data.len(),
        32 * data.len()
    );
    let tree = WithdrawalTree::from_data(&data).unwrap();
    let claim_gas = l1.claim(0, &tree.proof(0).unwrap()).unwrap();
    let next_gas = l1.claim(0, &tree.proof(1).unwrap()).unwrap();
    eprintln!(
        "claim gas (ERC-20, 8 leaves: a 3-sibling proof): {claim_gas}; the next leaf (same bitmap word) {next_gas}"
    );
}
