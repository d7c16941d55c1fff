//! AMM arithmetic against a big-integer model: exact floors, K never
//! decreases, rounding favours the pool, and the first-depositor donation
//! attack does not pay.

mod common;

use common::*;
use num_bigint::BigUint;
use proptest::prelude::*;
use zklanes_executor::amm;
use zklanes_executor::exec::Engine;
use zklanes_executor::params::*;
use zklanes_executor::state::{Key, Leaf, Pool, State};
use zklanes_executor::tx::*;

fn big(v: u128) -> BigUint {
    BigUint::from(v)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// `out` is the exact floor: `out·den ≤ num < (out+1)·den`, and K does not decrease.
    #[test]
    fn swap_output_is_the_exact_floor_and_k_grows(
        amount_in in 1u128..=MAX_AMOUNT,
        rin in 1u128..=MAX_BALANCE,
        rout in 1u128..=MAX_BALANCE,
        fee in 0u16..=MAX_FEE_BPS,
    ) {
        prop_assume!(rin + amount_in <= MAX_BALANCE);
        let out = amm::swap_out(amount_in, rin, rout, fee);
        let in_fee = big(amount_in) * big(10_000 - fee as u128);
        let num = &in_fee * big(rout);
        let den = big(rin) * big(10_000) + &in_fee;
        prop_assert!(big(out) * &den <= num);
        prop_assert!(num < big(out + 1) * &den);
        prop_assert!(out < rout);
        // K never decreases, and strictly grows with a nonzero fee or rounding.
        prop_assert!(big(rin + amount_in) * big(rout - out) >= big(rin) * big(rout));
        // The field never wraps: every product stays far below 2^253.
        prop_assert!(num.bits() <= 223);
    }

    /// Minting then burning at once never returns more than was put in.
    #[test]
    fn mint_then_burn_favours_the_pool(
        ra in 1_000u128..=1u128 << 100,
        rb in 1_000u128..=1u128 << 100,
        supply in 1_000u128..=1u128 << 100,
        a in 1u128..=MAX_AMOUNT,
        b in 1u128..=MAX_AMOUNT,
    ) {
        let minted = amm::lp_minted(a, b, ra, rb, supply);
        prop_assert!(big(minted) * big(ra) <= big(a) * big(supply));
        prop_assert!(big(minted) * big(rb) <= big(b) * big(supply));
        let (ra2, rb2, s2) = (ra + a, rb + b, supply + minted);
        let out_a = amm::mul_div(minted, ra2, s2);
        let out_b = amm::mul_div(minted, rb2, s2);
        prop_assert!(out_a <= a && out_b <= b);
    }

    /// First mint is the floor of the geometric mean.
    #[test]
    fn first_mint_is_floor_sqrt(a in 1u128..=MAX_AMOUNT, b in 1u128..=MAX_AMOUNT) {
        let m = amm::lp_minted(a, b, 0, 0, 0);
        prop_assert!(big(m) * big(m) <= big(a) * big(b));
        prop_assert!(big(m + 1) * big(m + 1) > big(a) * big(b));
    }
}

fn pool_of(state: &State, out: &zklanes_executor::exec::ExecOutput, pool: u32) -> Pool {
    let mut s = state.clone();
    for (k, l) in &out.diff {
        s.set(*k, *l);
    }
    match s.get(Key::Pool(pool)) {
        Leaf::Pool(p) => p,
        other => panic!("no pool: {other:?}"),
    }
}

fn balance(
    state: &State,
    out: &zklanes_executor::exec::ExecOutput,
    account: u32,
    asset: u32,
) -> u128 {
    out.diff
        .iter()
        .find(|(k, _)| *k == Key::Balance(account, asset))
        .map(|(_, l)| match l {
            Leaf::Balance(b) => *b,
            _ => 0,
        })
        .unwrap_or_else(|| match state.get(Key::Balance(account, asset)) {
            Leaf::Balance(b) => b,
            _ => 0,
        })
}

/// The classic attack: the first depositor mints the minimum, inflates the
/// share price with a one-sided "donation" (an unbalanced add), and hopes the
/// victim's deposit rounds down to nothing. With the locked minimum and
/// pool-favouring rounding the attacker ends with less than they put in.
#[test]
fn first_depositor_donation_attack_does_not_pay() {
    let (attacker, victim) = (1u32, 2u32);
    let start = 10u128.pow(24);
    let mut txs = vec![
        deposit(0, attacker, 1, start),
        deposit(1, attacker, 2, start),
        deposit(2, victim, 1, start),
        deposit(3, victim, 2, start),
        sign(TxBody::CreatePool(CreatePool {
            account: attacker,
            pool: 1,
            token_a: 1,
            token_b: 2,
            fee_bps: 30,
            nonce: 0,
        })),
        // Smallest first mint above the locked minimum: sqrt(1001·1001) = 1001 → 1 share.
        sign(TxBody::AddLiquidity(AddLiquidity {
            account: attacker,
            pool: 1,
            amount_a: 1001,
            amount_b: 1001,
            min_lp: 1,
            nonce: 1,
        })),
    ];
    // Donation: a huge one-sided add mints (almost) nothing extra for token B.
    let donation = 10u128.pow(22);
    txs.push(sign(TxBody::AddLiquidity(AddLiquidity {
        account: attacker,
        pool: 1,
        amount_a: donation,
        amount_b: donation,
        min_lp: 0,
        nonce: 2,
    })));
    // Victim adds a modest amount.
    let v = 10u128.pow(20);
    txs.push(sign(TxBody::AddLiquidity(AddLiquidity {
        account: victim,
        pool: 1,
        amount_a: v,
        amount_b: v,
        min_lp: 1,
        nonce: 0,
    })));
    let state = State::default();
    let out = run(&state, &txs, Engine::Sequential, 1).expect("valid");
    let lp = Pool::lp_asset(1);
    let attacker_lp = balance(&state, &out, attacker, lp);
    let victim_lp = balance(&state, &out, victim, lp);
    assert!(
        victim_lp > 0,
        "the victim's deposit must not round to zero shares"
    );
    let p = pool_of(&state, &out, 1);
    // Value the attacker could withdraw now, against what they put in.
    let attacker_a = amm::mul_div(attacker_lp, p.reserve_a, p.lp_supply);
    let attacker_b = amm::mul_div(attacker_lp, p.reserve_b, p.lp_supply);
    assert!(
        attacker_a <= 1001 + donation && attacker_b <= 1001 + donation,
        "attacker profits"
    );
    // And the victim loses at most rounding dust (one share's worth).
    let victim_a = amm::mul_div(victim_lp, p.reserve_a, p.lp_supply);
    let share = p.reserve_a / p.lp_supply + 1;
    assert!(
        v - victim_a <= share,
        "victim lost {} (share {share})",
        v - victim_a
    );
}

/// Swaps through the executor keep K non-decreasing and respect min_out exactly.
#[test]
fn executor_swaps_keep_k_and_enforce_slippage() {
    let mut txs = vec![
        deposit(0, 1, 1, 10u128.pow(24)),
        deposit(1, 1, 2, 10u128.pow(24)),
        sign(TxBody::CreatePool(CreatePool {
            account: 1,
            pool: 1,
            token_a: 1,
            token_b: 2,
            fee_bps: 30,
            nonce: 0,
        })),
        sign(TxBody::AddLiquidity(AddLiquidity {
            account: 1,
            pool: 1,
            amount_a: 10u128.pow(21),
            amount_b: 10u128.pow(21),
            min_lp: 0,
            nonce: 1,
        })),
    ];
    let state = State::default();
    let before = pool_of(
        &state,
        &run(&state, &txs, Engine::Sequential, 1).unwrap(),
        1,
    );
    let exact = amm::swap_out(10u128.pow(18), before.reserve_a, before.reserve_b, 30);
    let mut ok = txs.clone();
    ok.push(sign(TxBody::Swap(Swap {
        account: 1,
        pool: 1,
        a_to_b: true,
        amount_in: 10u128.pow(18),
        min_out: exact,
        nonce: 2,
    })));
    let out = run(&state, &ok, Engine::Parallel, 2).unwrap();
    let after = pool_of(&state, &out, 1);
    assert!(amm::k_not_decreasing(
        before.reserve_a,
        before.reserve_b,
        after.reserve_a,
        after.reserve_b
    ));
    assert_eq!(out.receipts.last().unwrap().outputs[0], exact);
    txs.push(sign(TxBody::Swap(Swap {
        account: 1,
        pool: 1,
        a_to_b: true,
        amount_in: 10u128.pow(18),
        min_out: exact + 1,
        nonce: 2,
    })));
    let err = run(&state, &txs, Engine::Parallel, 2).unwrap_err();
    assert!(
        matches!(
            err,
            zklanes_executor::BatchError::Tx {
                index: 4,
                reason: zklanes_executor::TxError::SlippageExceeded { .. }
            }
        ),
        "{err:?}"
    );
}

/// A swap pays at most `MAX_AMOUNT` (its public data gives the output 12
/// bytes, as every amount, and the circuit range-checks it to 96 bits),
/// though reserves are 112-bit: a deep pool built by add-liquidity pays
/// exactly `MAX_AMOUNT`, and one unit more in is refused with
/// `OutputTooLarge`, by both engines, with the whole batch untouched.
#[test]
fn swap_outputs_are_bounded_by_max_amount() {
    // Fee 0 so the bound is hit exactly: reserves (2·M, 2000) after two adds,
    // and `2000` in pays `floor(2000·2M / 4000) = M`.
    let m = MAX_AMOUNT;
    let base = vec![
        deposit(0, 1, 1, m),
        deposit(1, 1, 1, m),
        deposit(2, 1, 2, 10_000),
        sign(TxBody::CreatePool(CreatePool {
            account: 1,
            pool: 1,
            token_a: 1,
            token_b: 2,
            fee_bps: 0,
            nonce: 0,
        })),
        sign(TxBody::AddLiquidity(AddLiquidity {
            account: 1,
            pool: 1,
            amount_a: m,
            amount_b: 1_000,
            min_lp: 1,
            nonce: 1,
        })),
        sign(TxBody::AddLiquidity(AddLiquidity {
            account: 1,
            pool: 1,
            amount_a: m,
            amount_b: 1_000,
            min_lp: 1,
            nonce: 2,
        })),
    ];
    let state = State::default();
    let deep = pool_of(
        &state,
        &run(&state, &base, Engine::Sequential, 1).expect("valid"),
        1,
    );
    assert_eq!((deep.reserve_a, deep.reserve_b), (2 * m, 2_000));
    let swap = |amount_in: u128| {
        sign(TxBody::Swap(Swap {
            account: 1,
            pool: 1,
            a_to_b: false,
            amount_in,
            min_out: 1,
            nonce: 3,
        }))
    };
    let mut ok = base.clone();
    ok.push(swap(2_000));
    for engine in [Engine::Sequential, Engine::Parallel] {
        let out = run(&state, &ok, engine, 2).expect("an output of exactly MAX_AMOUNT");
        let receipt = out.receipts.last().unwrap();
        assert_eq!(receipt.outputs[0], m);
        assert_eq!(balance(&state, &out, 1, 1), m);
        // The public data carries the whole output, unchanged.
        let bytes = zklanes_executor::commitments::pubdata(&ok.last().unwrap().body, receipt);
        assert_eq!(bytes[19..31], m.to_be_bytes()[4..]);
    }
    let mut over = base.clone();
    over.push(swap(2_001));
    let got = amm::swap_out(2_001, 2_000, 2 * m, 0);
    assert!(got > m);
    for engine in [Engine::Sequential, Engine::Parallel] {
        let err = run(&state, &over, engine, 2).unwrap_err();
        assert_eq!(
            err,
            zklanes_executor::BatchError::Tx {
                index: 6,
                reason: zklanes_executor::TxError::OutputTooLarge { got, max: m },
            },
            "{engine:?}"
        );
    }
}

/// At the extremes of every width: reserves of `2^112 − 1` (reachable by
/// 2^16 add-liquidity transactions of `MAX_AMOUNT`, seeded here directly),
/// the largest swap input whose output fits is accepted and pays at most
/// `MAX_AMOUNT`, the next one is refused; burning against such reserves pays
/// outputs above 2^96, which keep their 14 bytes of public data.
#[test]
fn deep_pools_at_full_width() {
    use zklanes_executor::state::Account;
    let mut state = State::default();
    let (ra, rb) = (MAX_BALANCE, 1u128 << 100);
    let supply = 1u128 << 106;
    state.set(Key::Account(1), Leaf::Account(Account::new(pk(1))));
    state.set(Key::Balance(1, 2), Leaf::Balance(MAX_AMOUNT));
    state.set(
        Key::Balance(1, Pool::lp_asset(1)),
        Leaf::Balance(supply / 2),
    );
    state.set(
        Key::Pool(1),
        Leaf::Pool(Pool {
            token_a: 1,
            token_b: 2,
            fee_bps: 30,
            reserve_a: ra,
            reserve_b: rb,
            lp_supply: supply,
        }),
    );
    // Largest `in` (B→A) with `swap_out(in) ≤ MAX_AMOUNT`, by bisection.
    let (mut lo, mut hi) = (1u128, MAX_AMOUNT);
    while lo < hi {
        let mid = lo + (hi - lo).div_ceil(2);
        if amm::swap_out(mid, rb, ra, 30) <= MAX_AMOUNT {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    let swap = |amount_in: u128| {
        sign(TxBody::Swap(Swap {
            account: 1,
            pool: 1,
            a_to_b: false,
            amount_in,
            min_out: 0,
            nonce: 0,
        }))
    };
    let out = run(&state, &[swap(lo)], Engine::Parallel, 2).expect("fits");
    let paid = out.receipts[0].outputs[0];
    assert!(
        paid <= MAX_AMOUNT && paid > MAX_AMOUNT - (1 << 20),
        "{paid}"
    );
    let err = run(&state, &[swap(lo + 1)], Engine::Parallel, 2).unwrap_err();
    assert!(
        matches!(
            err,
            zklanes_executor::BatchError::Tx {
                index: 0,
                reason: zklanes_executor::TxError::OutputTooLarge { got, max: MAX_AMOUNT }
            } if got > MAX_AMOUNT
        ),
        "{err:?}"
    );
    // Burning `MAX_AMOUNT` of 2^106 shares pays about 2^102 of A: 14 bytes
    // of public data, whole.
    let burn = sign(TxBody::RemoveLiquidity(RemoveLiquidity {
        account: 1,
        pool: 1,
        lp_amount: MAX_AMOUNT.min(supply / 2),
        min_a: 1,
        min_b: 1,
        nonce: 0,
    }));
    let out = run(&state, std::slice::from_ref(&burn), Engine::Parallel, 2).expect("burn");
    let [out_a, out_b] = out.receipts[0].outputs;
    assert!(out_a > MAX_AMOUNT, "{out_a}");
    let bytes = zklanes_executor::commitments::pubdata(&burn.body, &out.receipts[0]);
    assert_eq!(bytes[18..32], out_a.to_be_bytes()[2..]);
    assert_eq!(bytes[32..46], out_b.to_be_bytes()[2..]);
}
