//! Constant-product AMM arithmetic (Uniswap v2 semantics), exact and in the
//! pool's favour. Intermediate products use 256-bit integers; with the
//! declared widths they stay below 2^223, far below the field modulus, so the
//! circuits can check the same relations without wrap-around.

use ethnum::U256;

use crate::params::*;

/// Output of an exact-input swap:
/// `out = floor(in·(10000−fee)·r_out / (r_in·10000 + in·(10000−fee)))`.
///
/// Equivalently `out·den ≤ num < (out+1)·den`, the relation the circuit checks.
pub fn swap_out(amount_in: u128, reserve_in: u128, reserve_out: u128, fee_bps: u16) -> u128 {
    let in_with_fee = U256::from(amount_in) * U256::from(FEE_DENOMINATOR - fee_bps as u128);
    let num = in_with_fee * U256::from(reserve_out);
    let den = U256::from(reserve_in) * U256::from(FEE_DENOMINATOR) + in_with_fee;
    (num / den).as_u128()
}

/// LP shares minted for `(amount_a, amount_b)`. For the first mint
/// (`supply == 0`) this is `floor(sqrt(a·b))`, of which `MINIMUM_LIQUIDITY` is
/// locked; otherwise `min(floor(a·S/r_a), floor(b·S/r_b))`.
pub fn lp_minted(
    amount_a: u128,
    amount_b: u128,
    reserve_a: u128,
    reserve_b: u128,
    supply: u128,
) -> u128 {
    if supply == 0 {
        isqrt(U256::from(amount_a) * U256::from(amount_b))
    } else {
        // Each quotient may exceed 128 bits (a tiny reserve against a large
        // supply); the minimum is taken at full width and saturates, so an
        // oversized mint fails the balance-width check instead of wrapping.
        let sa = U256::from(amount_a) * U256::from(supply) / U256::from(reserve_a);
        let sb = U256::from(amount_b) * U256::from(supply) / U256::from(reserve_b);
        let m = sa.min(sb);
        if m > U256::from(MAX_BALANCE) {
            MAX_BALANCE + 1
        } else {
            m.as_u128()
        }
    }
}

/// `floor(a·b / c)`; `c > 0`. The result must fit 128 bits (true for the declared widths).
pub fn mul_div(a: u128, b: u128, c: u128) -> u128 {
    (U256::from(a) * U256::from(b) / U256::from(c)).as_u128()
}

/// `floor(sqrt(n))` for `n < 2^256`.
pub fn isqrt(n: U256) -> u128 {
    if n == U256::ZERO {
        return 0;
    }
    // Newton's iteration from a power of two above the root.
    let bits = 256 - n.leading_zeros();
    let mut x = U256::ONE << bits.div_ceil(2);
    loop {
        let y = (x + n / x) >> 1;
        if y >= x {
            return x.as_u128();
        }
        x = y;
    }
}

/// `true` when `(ra', rb')` keeps `ra'·rb' ≥ ra·rb`.
pub fn k_not_decreasing(ra: u128, rb: u128, ra2: u128, rb2: u128) -> bool {
    U256::from(ra2) * U256::from(rb2) >= U256::from(ra) * U256::from(rb)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn isqrt_exact() {
        for n in [
            0u128,
            1,
            2,
            3,
            4,
            15,
            16,
            17,
            1 << 100,
            (1 << 100) + 1,
            u128::MAX,
        ] {
            let r = isqrt(U256::from(n));
            assert!(U256::from(r) * U256::from(r) <= U256::from(n));
            assert!(U256::from(r + 1) * U256::from(r + 1) > U256::from(n));
        }
    }

    #[test]
    fn swap_matches_uniswap_example() {
        // 1000 in against 1e6/1e6 reserves at 0.3%: floor(997000·1e6 / (1e10 + 997000)).
        assert_eq!(swap_out(1000, 1_000_000, 1_000_000, 30), 996);
    }
}
