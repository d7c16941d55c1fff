//! Helpers shared by the integration tests.

use zklanes_executor::genbatch::{generate, GenConfig, Workload};
use zklanes_executor::params::DEFAULT_CHAIN_ID;
use zklanes_executor::Batch;

/// The signed compact workload (every transaction type) of `txs`
/// transactions over `accounts` accounts from `seed`, genesis first, split
/// into `count` consecutive batches numbered from 0.
pub fn consecutive_batches(txs: usize, accounts: u32, seed: u64, count: usize) -> Vec<Batch> {
    let all = generate(&GenConfig {
        workload: Workload::Compact,
        txs,
        accounts,
        seed,
        chain_id: DEFAULT_CHAIN_ID,
        sign: true,
    })
    .into_batch(DEFAULT_CHAIN_ID);
    let per = all.txs.len().div_ceil(count.max(1));
    all.txs
        .chunks(per)
        .enumerate()
        .map(|(i, txs)| Batch {
            number: i as u64,
            txs: txs.to_vec(),
            ..all.clone()
        })
        .collect()
}
