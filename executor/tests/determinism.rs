//! Parallel execution equals sequential execution, bit for bit, for any
//! thread count: receipts, state diff and errors, and (through the rollup)
//! state roots and trace hashes.

mod common;

use common::*;
use proptest::prelude::*;
use zklanes_executor::exec::Engine;
use zklanes_executor::genbatch::{generate, GenConfig, Workload};
use zklanes_executor::state::State;
use zklanes_executor::{Rollup, RollupConfig};

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn parallel_equals_sequential_on_random_batches(
        seed in any::<u64>(),
        universe_exp in 1u32..=20,
        len in 1usize..160,
        bias in 0.6f64..1.0,
    ) {
        // Key universes from 2 accounts to 2^20 (about a million).
        let universe = (1u32 << universe_exp).min(zklanes_executor::params::MAX_ACCOUNT);
        let txs = random_batch(seed, universe, len, bias);
        let state = State::default();
        let reference = run(&state, &txs, Engine::Sequential, 1);
        for threads in [1usize, 2, 3, 8] {
            for _repeat in 0..2 {
                let got = run(&state, &txs, Engine::Parallel, threads);
                prop_assert!(same(&reference, &got), "threads={threads}: {reference:?} vs {got:?}");
            }
        }
    }
}

/// The generated workloads execute identically at 1 to 8 threads, repeatedly,
/// including state roots and trace hashes through the whole rollup.
#[test]
fn workloads_roots_and_traces_match_sequential() {
    for w in Workload::ALL {
        let gen = generate(&GenConfig {
            workload: w,
            txs: 300,
            accounts: 40,
            seed: 5,
            chain_id: CHAIN,
            sign: true,
        });
        let batch = gen.into_batch(CHAIN);
        let mut reference = Rollup::in_memory(RollupConfig {
            engine: Engine::Sequential,
            threads: 1,
            ..Default::default()
        });
        let r = reference.apply(&batch).expect("valid generated batch");
        for threads in [1usize, 3, 8] {
            let mut par = Rollup::in_memory(RollupConfig {
                engine: Engine::Parallel,
                threads,
                ..Default::default()
            });
            let p = par.apply(&batch).expect("valid generated batch");
            assert_eq!(p.state_root, r.state_root, "{} threads={threads}", w.name());
            assert_eq!(p.trace_hash, r.trace_hash, "{} threads={threads}", w.name());
            assert_eq!(p.receipts, r.receipts);
        }
    }
}

/// Repeated parallel runs on a contended (hot pool) batch give one answer.
#[test]
fn repeated_runs_on_hot_pool_are_stable() {
    let gen = generate(&GenConfig {
        workload: Workload::HotSwaps,
        txs: 2_000,
        accounts: 50,
        seed: 9,
        chain_id: CHAIN,
        sign: true,
    });
    let mut txs = gen.genesis;
    txs.extend(gen.workload);
    let state = State::default();
    let reference = run(&state, &txs, Engine::Sequential, 1);
    assert!(reference.is_ok());
    for i in 0..20 {
        let got = run(&state, &txs, Engine::Parallel, 1 + i % 8);
        assert!(same(&reference, &got), "run {i}");
    }
}
