//! `zklanes bench executor`: phase-by-phase throughput of the executor.
//!
//! For each workload it measures, at 1 thread and at all cores, in one run:
//! - `signatures`: batch verification of a signed sample;
//! - `execution`: the parallel engine alone (no signatures, no commitment),
//!   over a large unsigned workload on top of a prepared genesis state;
//! - `commitment`: replay, leaf hashes, Merkle paths and chunk traces over a
//!   smaller workload, with `hash_bound_ratio` = hashes/s ÷ (single-thread
//!   native Poseidon rate × threads).
//!
//! Each figure is the median of `--runs` runs; `speedup` divides by the
//! 1-thread median of the same phase in the same run.

mod chunk;
mod pool;
mod prover;

use std::time::Instant;

use anyhow::{anyhow, Result};
use clap::{Args, Subcommand};
use serde_json::{json, Value};
use zklanes_executor::exec::execution_phase;
use zklanes_executor::field::Fr;
use zklanes_executor::genbatch::{generate, GenConfig, Workload};
use zklanes_executor::params::{DEFAULT_CHAIN_ID, PRODUCTION_CHUNK_CAPACITY};
use zklanes_executor::poseidon::{self, Tag};
use zklanes_executor::signature::{verify_batch, BatchItem};
use zklanes_executor::smt::Tree;
use zklanes_executor::state::{Key, Leaf, State};
use zklanes_executor::trace;
use zklanes_executor::tx::SignedTx;

/// Arguments of `bench`.
#[derive(Args)]
pub struct BenchArgs {
    #[command(subcommand)]
    target: BenchTarget,
}

#[derive(Subcommand)]
enum BenchTarget {
    /// Executor phases.
    Executor(ExecutorBench),
    /// One real chunk proof (SRS, keygen, witness, proof, verification, memory).
    Chunk(chunk::ChunkBench),
    /// Chunk proofs per minute of the prover pool with W workers.
    Pool(pool::PoolBench),
    /// The proving cost of the production-shaped tree: real chunk proofs, a
    /// real aggregation node (and the final node), proven tx per core-second.
    Prover(prover::ProverBench),
}

#[derive(Args)]
struct ExecutorBench {
    /// Print JSON lines only.
    #[arg(long)]
    json: bool,
    /// Transactions for the execution phase.
    #[arg(long, default_value_t = 400_000)]
    txs: usize,
    /// Accounts for the execution phase.
    #[arg(long, default_value_t = 100_000)]
    accounts: u32,
    /// Signed transactions for the signature phase.
    #[arg(long, default_value_t = 20_000)]
    sig_txs: usize,
    /// Transactions for the commitment phase.
    #[arg(long, default_value_t = 1_000)]
    commit_txs: usize,
    /// Accounts for the commitment phase.
    #[arg(long, default_value_t = 1_000)]
    commit_accounts: u32,
    /// Runs per figure (the median is reported).
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Only these workloads (comma-separated).
    #[arg(long)]
    workloads: Option<String>,
    /// Only these phases (comma-separated: signatures, execution,
    /// commitment, durability).
    #[arg(long, default_value = "signatures,execution,commitment,durability")]
    phases: String,
}

/// Runs `bench`.
pub fn run(a: BenchArgs) -> Result<()> {
    match a.target {
        BenchTarget::Executor(b) => executor(b),
        BenchTarget::Chunk(b) => chunk::run(b),
        BenchTarget::Pool(b) => pool::run(b),
        BenchTarget::Prover(b) => prover::run(b),
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn in_pool<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> T {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("rayon pool")
        .install(f)
}

/// Single-thread native Poseidon compressions per second.
fn native_hash_rate() -> f64 {
    let mut acc = Fr::from(3u64);
    let n = 10_000u64;
    let mut rates = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        for i in 0..n {
            acc = poseidon::compress(Tag::Node, acc, Fr::from(i));
        }
        rates.push(n as f64 / t.elapsed().as_secs_f64());
    }
    std::hint::black_box(acc);
    median(rates)
}

/// Applies transactions to a state with the execution phase (no checks).
fn apply_unchecked(state: &mut State, txs: &[SignedTx], threads: usize) -> Result<()> {
    let r = execution_phase(state, txs, threads).map_err(|e| anyhow!("{e}"))?;
    if let Some((i, e)) = r.failure {
        return Err(anyhow!("generated transaction {i} failed: {e}"));
    }
    for (k, l) in r.diff {
        state.set(k, l);
    }
    Ok(())
}

/// Prints one result: a JSON line with `--json`, else a readable line.
fn emit(json_only: bool, line: Value) {
    if json_only {
        println!("{line}");
        return;
    }
    let f = |k: &str| line.get(k).map(|v| v.to_string()).unwrap_or_default();
    let num = |k: &str| line.get(k).and_then(Value::as_f64);
    match (num("tps"), num("speedup")) {
        (Some(tps), Some(sp)) => {
            let extra = num("hash_bound_ratio")
                .map(|r| format!("  hash_bound_ratio {r:.2}"))
                .unwrap_or_default();
            println!(
                "{:<14} {:<11} threads {:>2}  {:>12.0} tx/s  speedup {sp:.2}x{extra}",
                f("workload").trim_matches('"'),
                f("phase").trim_matches('"'),
                f("threads"),
                tps
            );
        }
        _ => println!("{line}"),
    }
}

fn executor(b: ExecutorBench) -> Result<()> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let thread_counts: Vec<usize> = if cores > 1 { vec![1, cores] } else { vec![1] };
    let workloads: Vec<Workload> = match &b.workloads {
        None => Workload::ALL.to_vec(),
        Some(list) => list
            .split(',')
            .map(|w| Workload::parse(w.trim()).ok_or_else(|| anyhow!("unknown workload {w:?}")))
            .collect::<Result<_>>()?,
    };
    emit(
        b.json,
        json!({"phase": "native_poseidon", "threads": 1, "hashes_per_s": native_hash_rate()}),
    );
    let phase = |p: &str| b.phases.split(',').any(|x| x.trim() == p);
    if phase("durability") {
        durability(&b)?;
    }
    for w in workloads {
        if phase("signatures") {
            signatures(&b, w, cores, &thread_counts)?;
        }
        if phase("execution") {
            execution(&b, w, cores, &thread_counts)?;
        }
        if phase("commitment") {
            commitment(&b, w, cores, &thread_counts)?;
        }
    }
    Ok(())
}

/// The cost of a durable commit: sled's own `flush` (which ends in
/// `sync_file_range` on Linux) against `flush_durable` (that flush, then
/// an `fsync` of the files and the directory), after the same writes (a
/// batch's worth: 256 values of 512 bytes), alternating, medians of
/// `5 × runs` each. What every acknowledgement and commit of the service
/// and the executor's store pays.
fn durability(b: &ExecutorBench) -> Result<()> {
    use zklanes_executor::db::{flush_durable, open_db};
    let dir = tempfile::tempdir()?;
    let db = open_db(dir.path()).map_err(|e| anyhow!("{e}"))?;
    let write = |round: usize| -> Result<()> {
        for i in 0..256usize {
            db.insert(
                ((round << 16) | i).to_be_bytes(),
                vec![(i % 251) as u8; 512],
            )
            .map_err(|e| anyhow!("{e}"))?;
        }
        Ok(())
    };
    let (mut plain, mut durable) = (vec![], vec![]);
    for round in 0..b.runs.max(1) * 5 {
        write(2 * round)?;
        let t = std::time::Instant::now();
        db.flush().map_err(|e| anyhow!("{e}"))?;
        plain.push(t.elapsed().as_secs_f64() * 1e3);
        write(2 * round + 1)?;
        let t = std::time::Instant::now();
        flush_durable(&db, dir.path()).map_err(|e| anyhow!("{e}"))?;
        durable.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let (p, d) = (median(plain), median(durable));
    emit(
        b.json,
        json!({"phase": "durability", "threads": 1, "sled_flush_ms": p, "flush_durable_ms": d,
               "ratio": d / p.max(1e-9)}),
    );
    Ok(())
}

fn signatures(b: &ExecutorBench, w: Workload, cores: usize, thread_counts: &[usize]) -> Result<()> {
    let chain_id = DEFAULT_CHAIN_ID;
    {
        let signed = generate(&GenConfig {
            workload: w,
            txs: b.sig_txs,
            accounts: b.accounts.min(10_000),
            seed: 7,
            chain_id,
            sign: true,
        });
        let mut keys_state = State::default();
        apply_unchecked(&mut keys_state, &signed.genesis, cores)?;
        let items: Vec<BatchItem<'_>> = signed
            .workload
            .iter()
            .map(|tx| {
                let (a, _) = tx.body.signer().expect("workload txs are signed");
                let Leaf::Account(acc) = keys_state.get(Key::Account(a)) else {
                    unreachable!("genesis created it")
                };
                BatchItem {
                    pk: ark_ed_on_bn254::EdwardsAffine::new_unchecked(acc.pubkey.x, acc.pubkey.y),
                    msg: tx.body.message(chain_id).expect("signed"),
                    sig: tx.signature.as_ref().expect("signed"),
                }
            })
            .collect();
        let mut base = None;
        for &t in thread_counts {
            let mut times = Vec::new();
            for _ in 0..b.runs {
                let start = Instant::now();
                in_pool(t, || verify_batch(&items))
                    .map_err(|(i, e)| anyhow!("signature {i} invalid: {e}"))?;
                times.push(start.elapsed().as_secs_f64());
            }
            let tps = items.len() as f64 / median(times);
            let base_tps = *base.get_or_insert(tps);
            emit(
                b.json,
                json!({"workload": w.name(), "threads": t, "phase": "signatures", "txs": items.len(),
                "tps": tps, "speedup": tps / base_tps}),
            );
        }
    }
    Ok(())
}

fn execution(b: &ExecutorBench, w: Workload, cores: usize, thread_counts: &[usize]) -> Result<()> {
    let chain_id = DEFAULT_CHAIN_ID;
    {
        let gen = generate(&GenConfig {
            workload: w,
            txs: b.txs,
            accounts: b.accounts,
            seed: 11,
            chain_id,
            sign: false,
        });
        let mut state = State::default();
        apply_unchecked(&mut state, &gen.genesis, cores)?;
        let mut base = None;
        for &t in thread_counts {
            let mut times = Vec::new();
            let mut stats = None;
            for _ in 0..b.runs {
                let start = Instant::now();
                let r = execution_phase(&state, &gen.workload, t).map_err(|e| anyhow!("{e}"))?;
                times.push(start.elapsed().as_secs_f64());
                if let Some((i, e)) = r.failure {
                    return Err(anyhow!("generated transaction {i} failed: {e}"));
                }
                stats = Some(r.stats);
            }
            let tps = gen.workload.len() as f64 / median(times);
            let base_tps = *base.get_or_insert(tps);
            let s = stats.expect("at least one run");
            emit(
                b.json,
                json!({"workload": w.name(), "threads": t, "phase": "execution", "txs": gen.workload.len(),
                "tps": tps, "speedup": tps / base_tps, "reexecutions": s.reexecutions, "conflicts": s.conflicts,
                "waits": s.waits, "critical_path": s.critical_path, "serialised": s.serialised,
                "prep_ms": s.prep_ms, "schedule_ms": s.schedule_ms, "run_ms": s.run_ms, "collect_ms": s.collect_ms}),
            );
        }
    }
    Ok(())
}

fn commitment(b: &ExecutorBench, w: Workload, cores: usize, thread_counts: &[usize]) -> Result<()> {
    let chain_id = DEFAULT_CHAIN_ID;
    {
        let gen = generate(&GenConfig {
            workload: w,
            txs: b.commit_txs,
            accounts: b.commit_accounts,
            seed: 13,
            chain_id,
            sign: false,
        });
        let mut state = State::default();
        let mut tree = Tree::default();
        let genesis = execution_phase(&state, &gen.genesis, cores).map_err(|e| anyhow!("{e}"))?;
        in_pool(cores, || {
            trace::commit(
                &state,
                &mut tree,
                &gen.genesis,
                &genesis.receipts,
                0,
                chain_id,
                PRODUCTION_CHUNK_CAPACITY,
            )
        })?;
        for (k, l) in genesis.diff {
            state.set(k, l);
        }
        let receipts = execution_phase(&state, &gen.workload, cores)
            .map_err(|e| anyhow!("{e}"))?
            .receipts;
        let mut base = None;
        for &t in thread_counts {
            let hash_rate = native_hash_rate();
            let mut times = Vec::new();
            let mut hashes = 0;
            for _ in 0..b.runs {
                let mut tree = tree.clone();
                let start = Instant::now();
                let c = in_pool(t, || {
                    trace::commit(
                        &state,
                        &mut tree,
                        &gen.workload,
                        &receipts,
                        1,
                        chain_id,
                        PRODUCTION_CHUNK_CAPACITY,
                    )
                })?;
                times.push(start.elapsed().as_secs_f64());
                hashes = c.stats.hashes;
            }
            let secs = median(times);
            let tps = gen.workload.len() as f64 / secs;
            let base_tps = *base.get_or_insert(tps);
            let hps = hashes as f64 / secs;
            emit(
                b.json,
                json!({"workload": w.name(), "threads": t, "phase": "commitment", "txs": gen.workload.len(),
                "tps": tps, "speedup": tps / base_tps, "hashes": hashes, "hashes_per_s": hps,
                "native_hashes_per_s_per_thread": hash_rate, "hash_bound_ratio": hps / (hash_rate * t as f64)}),
            );
        }
    }
    Ok(())
}
