//! Prometheus metrics of the service, rendered as text for `GET /metrics`:
//! counters (batches, transactions, retries, failures and rejected events
//! by reason) and histograms (execution time, proof time per layer).

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

/// The service's metrics.
#[derive(Default)]
pub struct Metrics {
    counters: Mutex<BTreeMap<(String, String), u64>>,
    histograms: Mutex<BTreeMap<(String, String), Histogram>>,
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
