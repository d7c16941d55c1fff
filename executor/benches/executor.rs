//! Criterion micro-benchmarks beside `zklanes bench executor`: the native
//! Poseidon compression, and the execution phase on transfers at 1 thread and
//! all cores.

use criterion::{criterion_main, BatchSize, Criterion};
use zklanes_executor::exec::execution_phase;
use zklanes_executor::field::Fr;
use zklanes_executor::genbatch::{generate, GenConfig, Workload};
use zklanes_executor::params::DEFAULT_CHAIN_ID;
use zklanes_executor::poseidon::{compress, Tag};
use zklanes_executor::state::State;

fn poseidon(c: &mut Criterion) {
    c.bench_function("poseidon_compress", |b| {
        let mut acc = Fr::from(1u64);
        b.iter(|| {
            acc = compress(Tag::Node, acc, Fr::from(7u64));
            acc
        })
    });
}

fn execution(c: &mut Criterion) {
    let gen = generate(&GenConfig {
        workload: Workload::Transfers,
        txs: 50_000,
        accounts: 10_000,
        seed: 1,
        chain_id: DEFAULT_CHAIN_ID,
        sign: false,
    });
    let mut state = State::default();
    for (k, l) in execution_phase(&state, &gen.genesis, 2)
        .expect("genesis")
        .diff
    {
        state.set(k, l);
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut group = c.benchmark_group("execution_transfers_50k");
    group.sample_size(10);
    for threads in [1, cores] {
        group.bench_function(format!("threads_{threads}"), |b| {
            b.iter_batched(
                || (),
                |_| execution_phase(&state, &gen.workload, threads).expect("valid"),
                BatchSize::PerIteration,
            )
        });
    }
    group.finish();
}

// The macro defines an undocumented `benches` function.
#[allow(missing_docs)]
mod group {
    criterion::criterion_group!(benches, super::poseidon, super::execution);
}
use group::benches;
criterion_main!(benches);
