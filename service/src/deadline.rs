//! Proof deadlines, scaled by the circuit's size: a proof of `2^k` rows
//! may take `per_reference · 2^(k − 18)` (`serve --proof-deadline`, the
//! allowance of one proof at k = 18), and a proof step (the chunk proofs
//! of a bundle, in rounds over the workers, then every aggregation node)
//! the sum of its proofs' allowances. A step past its deadline is a
//! failure of its batch: halo2 proving cannot be interrupted, so the
//! service records the failure, reports it (`/healthz` 503) and exits
//! non-zero for its supervisor to restart it; a batch that passes its
//! deadline more than `--max-retries` times is parked.

use std::time::Duration;

/// The k whose proofs `per_reference` allows for.
pub const REFERENCE_K: u32 = 18;

/// The allowance of one proof of `2^k` rows.
pub fn proof_deadline(per_reference: Duration, k: u32) -> Duration {
    if k >= REFERENCE_K {
        per_reference.saturating_mul(1u32 << (k - REFERENCE_K).min(31))
    } else {
        per_reference / (1u32 << (REFERENCE_K - k).min(31))
    }
}

/// The allowance of a proof step: `chunks` chunk proofs at `chunk_k` over
/// `workers` workers, then each layer's nodes (`(k, fan_in)` bottom up).
pub fn step_deadline(
    per_reference: Duration,
    chunk_k: u32,
    chunks: usize,
    workers: usize,
    layers: &[(u32, usize)],
) -> Duration {
    let rounds = chunks.div_ceil(workers.max(1)) as u32;
    let mut total = proof_deadline(per_reference, chunk_k).saturating_mul(rounds);
    let mut nodes = chunks;
    for &(k, fan_in) in layers {
        nodes = nodes.div_ceil(fan_in.max(1));
        total = total.saturating_add(proof_deadline(per_reference, k).saturating_mul(nodes as u32));
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_allowance_doubles_with_each_k() {
        let s = Duration::from_secs(8);
        assert_eq!(proof_deadline(s, 18), s);
        assert_eq!(proof_deadline(s, 19), s * 2);
        assert_eq!(proof_deadline(s, 22), s * 16);
        assert_eq!(proof_deadline(s, 15), Duration::from_secs(1));
    }

    #[test]
    fn a_step_sums_its_rounds_and_nodes() {
        let s = Duration::from_secs(1);
        // 4 chunks at k = 18 on 2 workers: 2 rounds; a layer of fan-in 2
        // at k = 20: 2 nodes of 4 s; a final node at k = 22: 16 s.
        assert_eq!(
            step_deadline(s, 18, 4, 2, &[(20, 2), (22, 2)]),
            Duration::from_secs(2 + 8 + 16)
        );
        assert_eq!(step_deadline(s, 18, 3, 0, &[]), Duration::from_secs(3));
    }
}
