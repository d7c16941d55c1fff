//! Prometheus metrics of the service, rendered as text for `GET /metrics`:
//! counters (batches, transactions, retries, failures and rejected events
//! by reason), histograms (execution time, proof time per layer) and the
//! gauges an operator alerts on (heights, lag, the oldest unproven batch's
//! age, up, process memory and descriptors), each with a `# HELP` line.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

/// Histogram bucket bounds, seconds.
const BUCKETS: [f64; 12] = [
    0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0,
];

#[derive(Default, Clone)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

/// What each metric means (its `# HELP` line).
fn help(name: &str) -> &'static str {
    match name {
        "zklanes_events_accepted_total" => "Batch events stored in the log.",
        "zklanes_events_duplicate_total" => "Batch events received again (no-ops).",
        "zklanes_events_rejected_total" => "Batch events refused at ingest, by reason.",
        "zklanes_http_refused_total" => "Requests refused before their handler, by reason.",
        "zklanes_batches_executed_total" => "Batches executed.",
        "zklanes_batches_proven_total" => "Batches proven.",
        "zklanes_transactions_total" => "Transactions executed.",
        "zklanes_retries_total" => "Chunk proof attempts retried by the prover pool.",
        "zklanes_failures_total" => "Failures, by reason (retried steps and fatal ones).",
        "zklanes_execution_seconds" => "Time to execute a batch.",
        "zklanes_proof_seconds" => "Time of one proof, by layer (0: chunk).",
        "zklanes_up" => {
            "1 while the pipeline runs; 0 while starting, after a fatal failure, or with a batch parked."
        }
        "zklanes_committed_height" => "Batches executed and committed (the next batch to execute).",
        "zklanes_proven_height" => "Batches proven, from batch 0 on without a gap.",
        "zklanes_accepted_height" => "One above the highest batch number in the log.",
        "zklanes_unproven_batches" => {
            "Batches in the log not yet proven (accepted_height - proven_height)."
        }
        "zklanes_oldest_unproven_age_seconds" => {
            "Age of the oldest batch not yet proven (0: none)."
        }
        "zklanes_parked_batches" => {
            "Poison batches parked, waiting for the operator (POST /v1/batches/N/retry)."
        }
        "zklanes_batches_parked_total" => "Batches parked after failing past --max-retries.",
        "zklanes_batches_retried_total" => "Parked batches resumed by the operator.",
        "zklanes_proof_deadline_exceeded_total" => "Proof steps that ran past their deadline.",
        "zklanes_l1_waits_total" => {
            "Checks that found the next batch waiting for L1 (a deposit or forced withdrawal not queued yet)."
        }
        "zklanes_l1_deposits_total" => "Deposits queued on the embedded L1 chain.",
        "zklanes_l1_forced_withdrawals_total" => {
            "Forced withdrawals queued on the embedded L1 chain."
        }
        "zklanes_l1_deposits_refused_total" => {
            "Deposit and forced-withdrawal requests the embedded L1 chain refused, by reason."
        }
        "zklanes_process_resident_memory_bytes" => "Resident memory of the process.",
        "zklanes_process_open_fds" => "Open file descriptors of the process.",
        _ => "zklanes metric.",
    }
}

/// The service's metrics.
#[derive(Default)]
pub struct Metrics {
    counters: Mutex<BTreeMap<(String, String), u64>>,
    histograms: Mutex<BTreeMap<(String, String), Histogram>>,
}

/// Resident memory of this process, bytes (Linux).
pub fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb: u64 = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(kb * 1024)
}

/// Open file descriptors of this process (Linux).
pub fn open_fds() -> Option<u64> {
    Some(std::fs::read_dir("/proc/self/fd").ok()?.count() as u64)
}

/// Renders gauges `(name, value)` with their `# HELP` and `# TYPE` lines.
pub fn render_gauges(gauges: &[(&str, f64)]) -> String {
    let mut out = String::new();
    for (name, v) in gauges {
        let _ = writeln!(out, "# HELP {name} {}", help(name));
        let _ = writeln!(out, "# TYPE {name} gauge");
        let _ = writeln!(out, "{name} {v}");
    }
    out
}

impl Metrics {
    /// Adds `v` to counter `name` with label `label` (`key="value"` or empty).
    pub fn add(&self, name: &str, label: &str, v: u64) {
        let mut c = self.counters.lock().unwrap_or_else(|e| e.into_inner());
        *c.entry((name.to_string(), label.to_string())).or_default() += v;
    }

    /// Records `seconds` in histogram `name` with label `label`.
    pub fn observe(&self, name: &str, label: &str, seconds: f64) {
        let mut h = self.histograms.lock().unwrap_or_else(|e| e.into_inner());
        let e = h.entry((name.to_string(), label.to_string())).or_default();
        for (i, b) in BUCKETS.iter().enumerate() {
            if seconds <= *b {
                e.counts[i] += 1;
            }
        }
        e.sum += seconds;
        e.count += 1;
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let counters = self
            .counters
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let mut last = String::new();
        for ((name, label), v) in &counters {
            if *name != last {
                let _ = writeln!(out, "# HELP {name} {}", help(name));
                let _ = writeln!(out, "# TYPE {name} counter");
                last.clone_from(name);
            }
            let l = if label.is_empty() {
                String::new()
            } else {
                format!("{{{label}}}")
            };
            let _ = writeln!(out, "{name}{l} {v}");
        }
        let hs = self
            .histograms
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        last.clear();
        for ((name, label), h) in &hs {
            if *name != last {
                let _ = writeln!(out, "# HELP {name} {}", help(name));
                let _ = writeln!(out, "# TYPE {name} histogram");
                last.clone_from(name);
            }
            let sep = if label.is_empty() { "" } else { "," };
            for (i, b) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "{name}_bucket{{{label}{sep}le=\"{b}\"}} {}",
                    h.counts[i]
                );
            }
            let _ = writeln!(out, "{name}_bucket{{{label}{sep}le=\"+Inf\"}} {}", h.count);
            let l = if label.is_empty() {
                String::new()
            } else {
                format!("{{{label}}}")
            };
            let _ = writeln!(out, "{name}_sum{l} {}", h.sum);
            let _ = writeln!(out, "{name}_count{l} {}", h.count);
        }
        out
    }
}
