//! Withdrawal roots and claims in revm (STUB verifier, see `common`):
//! `finalize` stores the root of the data's withdrawal tree and its count
//! in one word, equal to the one `zklanes_l1::withdrawals` computes from
//! the data alone, for every tree shape (one leaf, odd levels, full
//! levels), and nothing without a withdrawal; each leaf is paid once, to
//! its recipient, with its proof; every wrong claim is refused: a wrong
//! index, a proof of another batch, a proof one level short or long, a
//! tampered amount, asset or recipient, an index past the count (`index +
//! 2^depth` included), another sender, and a forced withdrawal of an empty
//! balance (amount 0: nothing to claim). Also the gas of `finalize` with
//! several withdrawals and of `claim`.

mod common;

use common::*;
use revm::primitives::Address;
use zklanes_executor::commitments::data_elements;
use zklanes_executor::exec::Receipt;
use zklanes_executor::field::Fr as NativeFr;
use zklanes_executor::signature::SecretKey;
use zklanes_executor::tx::{ForcedWithdraw, TxBody};
use zklanes_l1::chain::L1Chain;
use zklanes_l1::rollup::claim_calldata;
use zklanes_l1::withdrawals::{depth, WithdrawalProof, WithdrawalTree};

/// What the chains' first deposit puts into account 1 (of [`TOKEN`]).
const FUNDS: u128 = 1_000_000;

/// The data of a forced withdrawal moving `amount`.
fn forced_data(f: &ForcedWithdraw, amount: u128) -> Vec<NativeFr> {
    let body = TxBody::ForcedWithdraw(f.clone());
    let receipt = Receipt {
        tx_type: body.tx_type(),
        outputs: [amount, 0],
    };
    data_elements(&body, &receipt)
}

/// The `i`-th test recipient.
fn recipient(i: usize) -> [u8; 20] {
    let mut a = [0xe0; 20];
    a[18..].copy_from_slice(&(i as u16).to_be_bytes());
    a
}

/// `n` withdrawals of [`TOKEN`] from account 1: the `i`-th pays `i + 1` to
/// [`recipient`]`(i + offset)`.
fn withdrawals(n: usize, offset: usize) -> Vec<NativeFr> {
    (0..n)
        .flat_map(|i| withdraw_data(&withdraw(1, TOKEN, i as u128 + 1, recipient(i + offset))))
        .collect()
}

/// A chain whose account 1 (owner `0xa1…`) holds [`FUNDS`] of [`TOKEN`],
/// the deposit queued; returns the chain and the deposit's data, which the
/// first batch must carry.
fn funded() -> (L1Chain, Vec<NativeFr>) {
    let (mut l1, _) = chain_with_assets();
    let d = deposit(0, 0xa1, 1, SecretKey::from_seed(1).public(), TOKEN, FUNDS);
    l1.queue_deposit(&d).expect("queued");
    (l1, deposit_data(&d))
}

/// Claims `proof` from the entry of `first_batch`: the recipient's token
/// balance and the contract's move by exactly the amount, the leaf is
/// marked, and a second claim is refused. Returns the gas.
fn claim_once(l1: &mut L1Chain, first_batch: u64, proof: &WithdrawalProof) -> u64 {
    let token = l1.asset(TOKEN).unwrap().unwrap();
    let to = Address::from(proof.withdrawal.to);
    let amount = proof.withdrawal.amount;
    let before = (
        l1.balance(token, to).unwrap(),
        l1.balance(token, l1.rollup).unwrap(),
    );
    let index = proof.index as u64;
    assert!(!l1.is_claimed(first_batch, index).unwrap());
    let gas = l1.claim(first_batch, proof).expect("claims");
    assert_eq!(l1.balance(token, to).unwrap(), before.0 + amount);
    assert_eq!(l1.balance(token, l1.rollup).unwrap(), before.1 - amount);
    assert!(l1.is_claimed(first_batch, index).unwrap());
    assert_eq!(reverted(l1.claim(first_batch, proof)), "withdrawal claimed");
    gas
}

/// For every tree shape from no leaf to 17 (one leaf, odd and even
/// levels, full trees and one past), one batch each on one chain: the
/// stored root and count are the ones computed from the data (nothing
/// without a withdrawal), every proof has the tree's depth, and every leaf
/// is paid once.
#[test]
fn the_stored_root_is_the_datas_for_every_tree_shape() {
    let (mut l1, first) = funded();
    let mut paid = 0;
    for (number, n) in [0usize, 1, 2, 3, 4, 5, 7, 8, 9, 16, 17]
        .into_iter()
        .enumerate()
    {
        let number = number as u64;
        let mut data = if number == 0 { first.clone() } else { vec![] };
        data.extend(transfer_data(1, 2, TOKEN, 1));
        data.extend(withdrawals(n, 100 * n));
        finalize_data(&mut l1, number, number, number + 1, &data).expect("finalizes");
        let tree = WithdrawalTree::from_data(&data).unwrap();
        assert_eq!(tree.len(), n);
        assert_eq!(l1.withdrawal_root(number).unwrap(), tree.stored_root());
        if n == 0 {
            assert_eq!(tree.stored_root(), ([0u8; 32], 0), "nothing stored");
            continue;
        }
        for i in 0..n {
            let proof = tree.proof(i).unwrap();
            assert_eq!(proof.siblings.len(), depth(n));
            assert_eq!(Some(proof.root()), tree.root());
            claim_once(&mut l1, number, &proof);
            paid += proof.withdrawal.amount;
        }
    }
    let token = l1.asset(TOKEN).unwrap().unwrap();
    assert_eq!(l1.balance(token, l1.rollup).unwrap(), FUNDS - paid);
}

/// Wrong claims against two finalized batches (5 and 3 withdrawals, the
/// first with a forced withdrawal of an empty balance) are refused, each
/// for its reason, and move nothing; the right ones then pay.
#[test]
fn wrong_claims_are_refused() {
    let (mut l1, first) = funded();
    let token = l1.asset(TOKEN).unwrap().unwrap();
    // Account 1's owner forces out its (empty, the batch says) ETH balance.
    let owner = [0xa1; 20];
    let (queue_index, _) = l1.force_withdraw(owner, 1, ETH).expect("queued");
    let forced = ForcedWithdraw {
        queue_index,
        account: 1,
        asset: ETH,
        l1_owner: owner,
    };
    let data0 = [first, withdrawals(4, 0), forced_data(&forced, 0)].concat();
    let data1 = withdrawals(3, 10);
    finalize_data(&mut l1, 0, 0, 1, &data0).expect("batch 0");
    finalize_data(&mut l1, 1, 1, 2, &data1).expect("batch 1");
    let (tree0, tree1) = (
        WithdrawalTree::from_data(&data0).unwrap(),
        WithdrawalTree::from_data(&data1).unwrap(),
    );
    assert_eq!((tree0.len(), tree0.depth()), (5, 3));
    assert_eq!((tree1.len(), tree1.depth()), (3, 2));
    let held = l1.balance(token, l1.rollup).unwrap();
    let good = tree0.proof(1).unwrap();
    let refused = |l1: &mut L1Chain, first_batch: u64, p: &WithdrawalProof| {
        reverted(l1.claim(first_batch, p))
    };

    // A proof of leaf 1 under index 2 (and 0, 3).
    for index in [0, 2, 3] {
        let p = WithdrawalProof {
            index,
            ..good.clone()
        };
        assert_eq!(refused(&mut l1, 0, &p), "not a finalized withdrawal");
    }
    // Batch 1's leaf 1 against batch 0 (same index, same depth bound).
    let other = tree1.proof(1).unwrap();
    assert_eq!(
        refused(
            &mut l1,
            0,
            &WithdrawalProof {
                siblings: [other.siblings.clone(), vec![[0u8; 32]]].concat(),
                ..other.clone()
            }
        ),
        "not a finalized withdrawal"
    );
    assert_eq!(refused(&mut l1, 0, &other), "wrong proof length");
    // A batch that made no withdrawal, or was never finalized.
    assert_eq!(refused(&mut l1, 2, &other), "no such withdrawal");
    // One level short, one level long (a zero sibling, or a duplicated one).
    let short = WithdrawalProof {
        siblings: good.siblings[..2].to_vec(),
        ..good.clone()
    };
    assert_eq!(refused(&mut l1, 0, &short), "wrong proof length");
    for extra in [[0u8; 32], good.siblings[2]] {
        let long = WithdrawalProof {
            siblings: [good.siblings.clone(), vec![extra]].concat(),
            ..good.clone()
        };
        assert_eq!(refused(&mut l1, 0, &long), "wrong proof length");
    }
    // A tampered amount (more, less), asset or recipient.
    for amount in [good.withdrawal.amount + 1, good.withdrawal.amount - 1] {
        let mut p = good.clone();
        p.withdrawal.amount = amount;
        assert_eq!(refused(&mut l1, 0, &p), "not a finalized withdrawal");
    }
    let mut p = good.clone();
    p.withdrawal.asset = ETH;
    assert_eq!(refused(&mut l1, 0, &p), "not a finalized withdrawal");
    let mut p = good.clone();
    p.withdrawal.to = recipient(7);
    assert_eq!(refused(&mut l1, 0, &p), "not a finalized withdrawal");
    // Indices past the count: the padding positions 5..8, `index + 2^depth`
    // (the same path bits), and past 2^64.
    for index in [5, 6, 7, 1 + 8, 1 + (1 << 20)] {
        let p = WithdrawalProof {
            index,
            ..good.clone()
        };
        assert_eq!(
            refused(&mut l1, 0, &p),
            "no such withdrawal",
            "index {index}"
        );
    }
    let mut huge = claim_calldata(0, &good);
    // The index word (after the selector and the first batch): 2^255 + 1.
    huge[4 + 32] |= 0x80;
    assert_eq!(
        reverted(l1.call_from(Address::from(good.withdrawal.to), huge)),
        "no such withdrawal"
    );
    // Someone else sends the recipient's proof.
    assert_eq!(
        reverted(l1.call_from(Address::from([0x66; 20]), claim_calldata(0, &good))),
        "not the recipient"
    );
    // The forced withdrawal of an empty balance: a leaf, but nothing to claim.
    let empty = tree0.proof(4).unwrap();
    assert_eq!(empty.withdrawal.to, owner);
    assert_eq!((empty.withdrawal.asset, empty.withdrawal.amount), (ETH, 0));
    assert_eq!(refused(&mut l1, 0, &empty), "nothing to claim");
    assert!(!l1.is_claimed(0, 4).unwrap());

    // Nothing moved and nothing was marked; the right claims pay.
    assert_eq!(l1.balance(token, l1.rollup).unwrap(), held);
    for (first_batch, tree) in [(0, &tree0), (1, &tree1)] {
        for (i, w) in tree.withdrawals().iter().enumerate() {
            if w.amount > 0 {
                claim_once(&mut l1, first_batch, &tree.proof(i).unwrap());
            }
        }
    }
    let paid: u128 = (1..=4).sum::<u128>() + (1..=3).sum::<u128>();
    assert_eq!(l1.balance(token, l1.rollup).unwrap(), held - paid);
}

/// The gas of `finalize` (stub verifier) for the same data with 0 to 32
/// withdrawals (13 deposits and 40 transfers, as the demo-shaped case of
/// `l1_custody.rs`), and of claims.
#[test]
fn gas_of_finalize_with_withdrawals_and_of_claims() {
    let mut rows = Vec::new();
    for n in [0usize, 1, 5, 8, 16, 32] {
        let (mut l1, first) = funded();
        let key = |s: u64| SecretKey::from_seed(s).public();
        let mut deposits = vec![];
        for i in 1..13u64 {
            let d = deposit(i, 0xd0 + i as u8, 1 + i as u32, key(i + 1), TOKEN, 1_000);
            l1.queue_deposit(&d).unwrap();
            deposits.extend(deposit_data(&d));
        }
        let mut data = [first, deposits].concat();
        for i in 0..40 {
            data.extend(transfer_data(1, 2, TOKEN, 1 + i));
        }
        data.extend(withdrawals(n, 0));
        let gas = finalize_data(&mut l1, 0, 0, 1, &data).expect("finalizes");
        let tree = WithdrawalTree::from_data(&data).unwrap();
        let claim = (n > 0).then(|| {
            let first = claim_once(&mut l1, 0, &tree.proof(0).unwrap());
            let second = (n > 1).then(|| claim_once(&mut l1, 0, &tree.proof(1).unwrap()));
            (first, second)
        });
        eprintln!(
            "finalize (stub verifier), {} words, {n} withdrawals (depth {}): {gas} gas; claim (ERC-20) first {:?}, next in the same bitmap word {:?}",
            data.len(),
            depth(n),
            claim.map(|c| c.0),
            claim.and_then(|c| c.1)
        );
        rows.push((n, gas));
    }
    // One storage word per finalize, whatever the count: the marginal
    // withdrawal costs its calldata and two hashes, far below a new word.
    let per = (rows[5].1 - rows[1].1) / 31;
    eprintln!("marginal withdrawal in finalize: {per} gas");
    assert!(per < 5_000, "{per} gas per withdrawal");
}
