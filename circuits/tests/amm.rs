//! The AMM relations in-circuit against the executor's exact arithmetic:
//! the executor's result is accepted, and the result ±1 is rejected, for
//! random amounts and reserves (proptest), plus the gating (a disabled
//! relation accepts anything).

use halo2_base::gates::circuit::builder::BaseCircuitBuilder;
use halo2_base::gates::circuit::CircuitBuilderStage;
use halo2_base::gates::RangeChip;
use halo2_base::halo2_proofs::dev::MockProver;
use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use halo2_base::{AssignedValue, Context};
use proptest::prelude::*;
use zklanes_circuits::amm::{assert_lp_minted, assert_pro_rata, assert_swap_out};
use zklanes_circuits::field::from_u128;
use zklanes_executor::amm;

const K: u32 = 12;

/// Runs `f` over loaded values in a mock circuit and reports satisfaction.
fn satisfied(
    values: &[u128],
    f: impl FnOnce(&mut Context<Fr>, &RangeChip<Fr>, &[AssignedValue<Fr>]),
) -> bool {
    let mut builder = BaseCircuitBuilder::<Fr>::from_stage(CircuitBuilderStage::Mock)
        .use_k(K as usize)
        .use_lookup_bits(8);
    let range = builder.range_chip();
    let ctx = builder.main(0);
    let cells: Vec<_> = values
        .iter()
        .map(|v| ctx.load_witness(from_u128(*v)))
        .collect();
    f(ctx, &range, &cells);
    builder.calculate_params(Some(9));
    MockProver::run(K, &builder, vec![])
        .expect("synthesis")
        .verify()
        .is_ok()
}

fn swap_ok(on: u128, amount_in: u128, r_in: u128, r_out: u128, fee: u128, out: u128) -> bool {
    satisfied(&[on, amount_in, r_in, r_out, fee, out], |ctx, range, c| {
        assert_swap_out(ctx, range, c[0], c[1], c[2], c[3], c[4], c[5])
    })
}

fn mint_ok(a: u128, b: u128, ra: u128, rb: u128, s: u128, minted: u128, b_is_min: bool) -> bool {
    satisfied(
        &[1, a, b, ra, rb, s, minted, b_is_min as u128],
        |ctx, range, c| {
            assert_lp_minted(
                ctx,
                range,
                c[0],
                (c[1], c[2]),
                (c[3], c[4]),
                c[5],
                c[6],
                c[7],
            );
        },
    )
}

fn pro_rata_ok(lp: u128, r: u128, s: u128, out: u128) -> bool {
    satisfied(&[1, lp, r, s, out], |ctx, range, c| {
        assert_pro_rata(ctx, range, c[0], c[1], c[2], c[3], c[4])
    })
}

fn b_is_min(a: u128, b: u128, ra: u128, rb: u128, s: u128) -> bool {
    amm::mul_div(b, s, rb) < amm::mul_div(a, s, ra)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, failure_persistence: None, .. ProptestConfig::default() })]

    #[test]
    fn swap_output_is_the_exact_floor(
        amount_in in 1u128..(1 << 96),
        r_in in 1u128..(1 << 100),
        r_out in 1u128..(1 << 100),
        fee in 0u128..=1_000,
    ) {
        let out = amm::swap_out(amount_in, r_in, r_out, fee as u16);
        prop_assume!(out > 1);
        prop_assert!(swap_ok(1, amount_in, r_in, r_out, fee, out));
        prop_assert!(!swap_ok(1, amount_in, r_in, r_out, fee, out + 1));
        prop_assert!(!swap_ok(1, amount_in, r_in, r_out, fee, out - 1));
        // Disabled: anything goes.
        prop_assert!(swap_ok(0, amount_in, r_in, r_out, fee, out + 1));
    }

    #[test]
    fn later_mints_are_the_minimum_floor(
        a in 1u128..(1 << 96),
        b in 1u128..(1 << 96),
        ra in 1u128..(1 << 100),
        rb in 1u128..(1 << 100),
        s in 1_001u128..(1 << 100),
    ) {
        let m = amm::lp_minted(a, b, ra, rb, s);
        prop_assume!(m > 1 && m < (1 << 112));
        let side = b_is_min(a, b, ra, rb, s);
        prop_assert!(mint_ok(a, b, ra, rb, s, m, side));
        prop_assert!(!mint_ok(a, b, ra, rb, s, m + 1, side));
        prop_assert!(!mint_ok(a, b, ra, rb, s, m - 1, side));
        // Claiming the larger side as the minimum fails unless they tie.
        let other = amm::mul_div(if side { a } else { b }, s, if side { ra } else { rb });
        if other != m && other < (1 << 112) {
            prop_assert!(!mint_ok(a, b, ra, rb, s, other, !side));
        }
    }

    #[test]
    fn first_mint_is_the_integer_square_root(a in 1u128..(1 << 96), b in 1u128..(1 << 96)) {
        let m = amm::lp_minted(a, b, 0, 0, 0);
        prop_assume!(m > 1);
        prop_assert!(mint_ok(a, b, 0, 0, 0, m, false));
        prop_assert!(!mint_ok(a, b, 0, 0, 0, m + 1, false));
        prop_assert!(!mint_ok(a, b, 0, 0, 0, m - 1, false));
    }

    #[test]
    fn burn_outputs_are_the_pro_rata_floor(
        lp in 1u128..(1 << 96),
        r in 1u128..(1 << 112),
        extra in 1u128..(1 << 100),
    ) {
        let s = lp + extra;
        let out = amm::mul_div(lp, r, s);
        prop_assume!(out > 1);
        prop_assert!(pro_rata_ok(lp, r, s, out));
        prop_assert!(!pro_rata_ok(lp, r, s, out + 1));
        prop_assert!(!pro_rata_ok(lp, r, s, out - 1));
    }
}

#[test]
fn uniswap_example_and_edge_cases() {
    // 1000 in against 1e6/1e6 at 0.3%: 996.
    assert!(swap_ok(1, 1000, 1_000_000, 1_000_000, 30, 996));
    assert!(!swap_ok(1, 1000, 1_000_000, 1_000_000, 30, 997));
    // An empty input reserve or a zero output is refused.
    assert!(!swap_ok(1, 1000, 0, 1_000_000, 30, 1_000_000));
    assert!(!swap_ok(1, 1, 1_000_000, 1_000, 30, 0));
    // A zero supply is not a later mint; burning against it is refused.
    assert!(!pro_rata_ok(1, 10, 0, 0));
}

/// The gadget's domain is a minted amount up to the balance width (2^112),
/// so a first mint of `sqrt(a·b)` near 2^112 (slack `2·minted` up to 2^113)
/// is accepted, its neighbours refused: the slack's width is not narrower
/// than the relation needs.
#[test]
fn first_mint_at_the_full_balance_width() {
    let top = (1u128 << 112) - 1;
    for (a, b) in [(top, top), (top, top - 1), (1 << 111, 1 << 111)] {
        let m = amm::lp_minted(a, b, 0, 0, 0);
        assert!(m >= 1 << 110, "a wide mint");
        assert!(mint_ok(a, b, 0, 0, 0, m, false));
        assert!(!mint_ok(a, b, 0, 0, 0, m - 1, false));
        if m + 1 < 1 << 112 {
            assert!(!mint_ok(a, b, 0, 0, 0, m + 1, false));
        }
    }
}
