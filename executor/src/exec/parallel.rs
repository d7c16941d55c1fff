//! The parallel executor: deterministic scheduling over declared access sets.
//!
//! ```text
//!  txs ──► access sets ──► per-key predecessor and slot cell, loaded from state
//!                          (sharded by key, one shard per thread)
//!                                │
//!                                ▼
//!        critical path: mostly one chain? then the schedule runs on one thread
//!                                │
//!                                ▼
//!  workers take blocks of txs in order; a tx runs once the previous toucher of
//!  each of its keys is done, else it is deferred and retried (no speculation,
//!  so nothing is ever re-executed)
//!                                │
//!                                ▼
//!               final slot values ──► state diff (in parallel)
//! ```
//!
//! Every access to a key is ordered after the previous access to that key
//! (release/acquire on the `done` flags), so each transaction reads exactly
//! what sequential execution would give it: the result is bit-identical for
//! any thread count. A transaction touching a key outside its declared set
//! is an [`Invariant`] failure; the driver then falls back to sequential.

use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use arrayvec::ArrayVec;
use rustc_hash::{FxHashMap, FxHashMap as Map};

use super::apply::{access_keys, apply_tx, ApplyError, Invariant, Receipt, StateView, MAX_WRITES};
use crate::error::TxError;
use crate::state::{Key, Leaf, State};
use crate::tx::SignedTx;

const NONE: u32 = u32::MAX;
/// Transactions a worker takes at once.
const BLOCK: usize = 256;

/// A cell written by at most one thread at a time, as the schedule guarantees.
struct Cell<T>(UnsafeCell<T>);
// SAFETY: every access to a cell is ordered by the dependency schedule (see
// the module docs): no two threads touch one cell concurrently.
unsafe impl<T: Send> Sync for Cell<T> {}

/// Counters of one parallel run.
#[derive(Clone, Copy, Debug, Default, serde::Serialize)]
pub struct ParallelStats {
    /// Dependency edges: a tx waiting on an earlier tx over a shared key.
    pub conflicts: u64,
    /// Times a tx was found not ready and deferred.
    pub waits: u64,
    /// Transactions executed more than once (always 0: nothing is speculative).
    pub reexecutions: u64,
    /// Distinct keys touched.
    pub keys: u64,
    /// Longest dependency chain (transactions).
    pub critical_path: u64,
    /// The schedule ran on one thread because the batch is mostly one chain.
    pub serialised: bool,
    /// Access sets, predecessors, slot ids and loading slots from state, ms.
    pub prep_ms: f64,
    /// Critical-path check that picks the number of running threads, ms.
    pub schedule_ms: f64,
    /// Running the transactions, ms.
    pub run_ms: f64,
    /// Collecting receipts and the diff, ms.
    pub collect_ms: f64,
}

/// Below this average parallelism (transactions ÷ longest chain) the schedule
/// runs on one thread: extra threads would only wait on the chain.
pub const MIN_PARALLELISM: f64 = 1.5;

/// Output of a parallel run.
pub struct ParallelResult {
    /// Receipts of the transactions before the first failure.
    pub receipts: Vec<Receipt>,
    /// The first failing transaction, if any.
    pub failure: Option<(usize, TxError)>,
    /// Final value of every touched key.
    pub diff: Vec<(Key, Leaf)>,
    /// Counters.
    pub stats: ParallelStats,
}

#[inline]
fn shard_of(key: Key, shards: usize) -> usize {
    ((key.index().wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) as usize) % shards
}

struct Shared<'a> {
    txs: &'a [SignedTx],
    keys: Vec<ArrayVec<Key, MAX_WRITES>>,
    deps: Vec<AtomicU32>,
    slots_of: Vec<AtomicU32>,
    cells: Vec<Vec<Cell<Leaf>>>,
    threads: usize,
    done: Vec<AtomicBool>,
    receipts: Vec<Cell<Option<Receipt>>>,
    failed_min: AtomicUsize,
    errors: Mutex<Vec<(usize, TxError)>>,
    invariant: Mutex<Option<Invariant>>,
    abort: AtomicBool,
    waits: AtomicU64,
}

/// The view of one transaction: its declared keys mapped to slot cells.
struct SlotView<'s> {
    shared: &'s Shared<'s>,
    tx: usize,
}

impl SlotView<'_> {
    fn slot(&self, key: Key) -> Result<usize, Invariant> {
        let keys = &self.shared.keys[self.tx];
        match keys.iter().position(|k| *k == key) {
            Some(j) => {
                Ok(self.shared.slots_of[self.tx * MAX_WRITES + j].load(Ordering::Relaxed) as usize)
            }
            None => Err(Invariant(format!(
                "tx {} touched undeclared key {key:?}",
                self.tx
            ))),
        }
    }
}

impl StateView for SlotView<'_> {
    fn get(&self, key: Key) -> Result<Leaf, Invariant> {
        let slot = self.slot(key)?;
        // SAFETY: the schedule orders this read after every earlier access to the key.
        Ok(unsafe { *self.shared.cell(slot).0.get() })
    }
}

impl Shared<'_> {
    #[inline]
    fn cell(&self, slot: usize) -> &Cell<Leaf> {
        &self.cells[slot % self.threads][slot / self.threads]
    }

    /// Runs tx `i` if its predecessors are done. Returns false if it must wait.
    fn try_run(&self, i: usize) -> bool {
        if i >= self.failed_min.load(Ordering::Acquire) {
            self.done[i].store(true, Ordering::Release);
            return true;
        }
        for j in 0..self.keys[i].len() {
            let d = self.deps[i * MAX_WRITES + j].load(Ordering::Relaxed);
            if d != NONE && !self.done[d as usize].load(Ordering::Acquire) {
                return false;
            }
        }
        let view = SlotView {
            shared: self,
            tx: i,
        };
        match apply_tx(&view, &self.txs[i].body) {
            Ok((receipt, writes)) => {
                for (k, leaf) in writes {
                    match view.slot(k) {
                        // SAFETY: as in `get`; this tx is the only one between its
                        // predecessor and successor on this key.
                        Ok(s) => unsafe { *self.cell(s).0.get() = leaf },
                        Err(e) => return self.fail_invariant(i, e),
                    }
                }
                // SAFETY: receipt i is written only here, by the one thread running tx i.
                unsafe { *self.receipts[i].0.get() = Some(receipt) };
            }
            Err(ApplyError::Tx(e)) => {
                self.failed_min.fetch_min(i, Ordering::AcqRel);
                self.errors.lock().expect("error list lock").push((i, e));
            }
            Err(ApplyError::Invariant(e)) => return self.fail_invariant(i, e),
        }
        self.done[i].store(true, Ordering::Release);
        true
    }

    fn fail_invariant(&self, i: usize, e: Invariant) -> bool {
        *self.invariant.lock().expect("invariant lock") = Some(e);
        self.abort.store(true, Ordering::Release);
        self.done[i].store(true, Ordering::Release);
        true
    }

    fn worker(&self, next_block: &AtomicUsize, limit: usize) {
        let mut deferred: Vec<usize> = Vec::new();
        let retry = |deferred: &mut Vec<usize>| {
            let before = deferred.len();
            deferred.retain(|&i| !self.try_run(i));
            self.waits
                .fetch_add(deferred.len() as u64, Ordering::Relaxed);
            before != deferred.len()
        };
        loop {
            if self.abort.load(Ordering::Acquire) {
                return;
            }
            let start = next_block.fetch_add(BLOCK, Ordering::AcqRel);
            if start >= limit {
                break;
            }
            for i in start..(start + BLOCK).min(limit) {
                if !self.try_run(i) {
                    deferred.push(i);
                }
            }
            if !deferred.is_empty() {
                retry(&mut deferred);
            }
        }
        while !deferred.is_empty() && !self.abort.load(Ordering::Acquire) {
            if !retry(&mut deferred) {
                std::hint::spin_loop();
            }
        }
    }
}

/// Executes `txs[..limit]` on `threads` threads. `pool_tokens` resolves pool
/// transactions' balance keys. `Err` means an invariant broke.
pub fn execute_parallel(
    state: &State,
    txs: &[SignedTx],
    limit: usize,
    pool_tokens: &FxHashMap<u32, (u32, u32)>,
    threads: usize,
) -> Result<ParallelResult, Invariant> {
    let threads = threads.max(1);
    let clock = Instant::now();
    let keys: Vec<ArrayVec<Key, MAX_WRITES>> = {
        use rayon::prelude::*;
        txs[..limit]
            .par_iter()
            .map(|tx| access_keys(&tx.body, |p| pool_tokens.get(&p).copied()))
            .collect()
    };
    let deps: Vec<AtomicU32> = (0..limit * MAX_WRITES)
        .map(|_| AtomicU32::new(NONE))
        .collect();
    let slots_of: Vec<AtomicU32> = (0..limit * MAX_WRITES).map(|_| AtomicU32::new(0)).collect();

    // Phase 1: per-key predecessor and slot ids, one key shard per thread;
    // each shard also loads its keys' values from state into its slot cells.
    // Slot `local * threads + shard` lives at `cells[shard][local]`.
    let conflicts = AtomicU64::new(0);
    let shards: Vec<(Vec<Key>, Vec<Cell<Leaf>>)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|shard| {
                let (keys, deps, slots_of, conflicts) = (&keys, &deps, &slots_of, &conflicts);
                s.spawn(move || {
                    let mut map: Map<u64, (u32, u32)> = Map::default();
                    map.reserve(limit * 2 / threads + 16);
                    let mut shard_keys = Vec::new();
                    let mut cells = Vec::new();
                    let mut edges = 0u64;
                    for (i, ks) in keys.iter().enumerate() {
                        for (j, &k) in ks.iter().enumerate() {
                            if shard_of(k, threads) != shard {
                                continue;
                            }
                            let e = map.entry(k.index()).or_insert_with(|| {
                                shard_keys.push(k);
                                cells.push(Cell(UnsafeCell::new(state.get(k))));
                                (
                                    (cells.len() as u32 - 1) * threads as u32 + shard as u32,
                                    NONE,
                                )
                            });
                            slots_of[i * MAX_WRITES + j].store(e.0, Ordering::Relaxed);
                            // A key a transaction touches twice (a self-transfer)
                            // is no dependency on itself: that would wait forever.
                            if e.1 != NONE && e.1 != i as u32 {
                                deps[i * MAX_WRITES + j].store(e.1, Ordering::Relaxed);
                                edges += 1;
                            }
                            e.1 = i as u32;
                        }
                    }
                    conflicts.fetch_add(edges, Ordering::Relaxed);
                    (shard_keys, cells)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("shard thread"))
            .collect()
    });
    let (shard_keys, cells): (Vec<Vec<Key>>, Vec<Vec<Cell<Leaf>>>) = shards.into_iter().unzip();
    let prep_ms = ms(clock);

    // Critical path: if the batch is mostly one dependency chain, extra
    // threads would only spin on it, so the schedule runs on one thread.
    let clock = Instant::now();
    let mut level = vec![0u32; limit];
    let mut critical_path = 0u32;
    for i in 0..limit {
        let mut l = 0;
        for j in 0..keys[i].len() {
            let d = deps[i * MAX_WRITES + j].load(Ordering::Relaxed);
            if d != NONE {
                l = l.max(level[d as usize]);
            }
        }
        level[i] = l + 1;
        critical_path = critical_path.max(l + 1);
    }
    drop(level);
    let serialised = threads > 1 && (limit as f64) < MIN_PARALLELISM * critical_path as f64;
    let run_threads = if serialised { 1 } else { threads };
    let schedule_ms = ms(clock);

    // Phase 3: execution.
    let clock = Instant::now();
    let shared = Shared {
        txs,
        keys,
        deps,
        slots_of,
        cells,
        threads,
        done: (0..limit).map(|_| AtomicBool::new(false)).collect(),
        receipts: (0..limit).map(|_| Cell(UnsafeCell::new(None))).collect(),
        failed_min: AtomicUsize::new(limit),
        errors: Mutex::new(Vec::new()),
        invariant: Mutex::new(None),
        abort: AtomicBool::new(false),
        waits: AtomicU64::new(0),
    };
    let next_block = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 1..run_threads {
            s.spawn(|| shared.worker(&next_block, limit));
        }
        shared.worker(&next_block, limit);
    });
    if let Some(e) = shared.invariant.into_inner().expect("invariant lock") {
        return Err(e);
    }

    let run_ms = ms(clock);

    // Phase 4: results.
    let clock = Instant::now();
    let failed = shared.failed_min.load(Ordering::Acquire);
    let failure = if failed < limit {
        let errors = shared.errors.into_inner().expect("error list lock");
        let e = errors
            .into_iter()
            .find(|(i, _)| *i == failed)
            .map(|(_, e)| e);
        Some((
            failed,
            e.ok_or_else(|| Invariant("failure without an error".into()))?,
        ))
    } else {
        None
    };
    let (receipts, diff) = {
        use rayon::prelude::*;
        let receipts = shared.receipts[..failed]
            .par_iter()
            .map(|c| {
                c.0.read_joined()
                    .ok_or_else(|| Invariant("missing receipt".into()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        // The diff, filled shard by shard in parallel into one allocation.
        let total: usize = shard_keys.iter().map(Vec::len).sum();
        let mut diff: Vec<(Key, Leaf)> = Vec::with_capacity(total);
        let mut rest = &mut diff.spare_capacity_mut()[..total];
        let mut segments = Vec::with_capacity(threads);
        for ks in &shard_keys {
            let (seg, tail) = rest.split_at_mut(ks.len());
            segments.push(seg);
            rest = tail;
        }
        segments
            .into_par_iter()
            .zip(shard_keys.par_iter())
            .zip(shared.cells.par_iter())
            .for_each(|((seg, ks), cs)| {
                for ((slot, k), c) in seg.iter_mut().zip(ks).zip(cs) {
                    // SAFETY: all workers have joined; cells are read-only now.
                    slot.write((*k, unsafe { *c.0.get() }));
                }
            });
        // SAFETY: the segments cover `0..total` and every element was written above.
        unsafe { diff.set_len(total) };
        (receipts, diff)
    };
    let stats = ParallelStats {
        conflicts: conflicts.load(Ordering::Relaxed),
        waits: shared.waits.load(Ordering::Relaxed),
        reexecutions: 0,
        keys: diff.len() as u64,
        critical_path: critical_path as u64,
        serialised,
        prep_ms,
        schedule_ms,
        run_ms,
        collect_ms: ms(clock),
    };
    Ok(ParallelResult {
        receipts,
        failure,
        diff,
        stats,
    })
}

fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1e3
}

trait ReadJoined<T> {
    fn read_joined(&self) -> T;
}

impl<T: Copy> ReadJoined<T> for UnsafeCell<T> {
    fn read_joined(&self) -> T {
        // SAFETY: called after all workers joined.
        unsafe { *self.get() }
    }
}
