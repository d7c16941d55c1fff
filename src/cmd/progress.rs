//! Progress display for long steps: a bar with elapsed time on a terminal,
//! and one line per finished step on stderr either way (so logs of
//! non-interactive runs show progress too).

use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use zklanes_aggregator::tree::ProofRecord;

/// A bar over `len` steps.
pub struct Progress {
    bar: ProgressBar,
    started: Instant,
}

impl Progress {
    /// A bar of `len` steps with `msg`.
    pub fn new(len: u64, msg: &str) -> Self {
        let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {bar:24} {pos}/{len} {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.set_message(msg.to_string());
        bar.enable_steady_tick(Duration::from_millis(200));
        Self {
            bar,
            started: Instant::now(),
        }
    }

    /// Sets the message of the running step.
    pub fn step(&self, msg: &str) {
        self.bar.set_message(msg.to_string());
    }

    /// Records a finished step.
    pub fn done(&self, line: &str) {
        self.bar.inc(1);
        self.bar
            .suspend(|| eprintln!("  [{:>7.1} s] {line}", self.started.elapsed().as_secs_f64()));
    }

    /// A finished proof of the tree.
    pub fn proof(&self, r: &ProofRecord) {
        let what = if r.layer == 0 {
            format!("chunk proof {}", r.index)
        } else {
            format!("layer {} proof {}", r.layer, r.index)
        };
        self.done(&format!(
            "{what}: k={} {:.1} s, {} bytes",
            r.k,
            r.ms / 1e3,
            r.proof_bytes
        ));
    }

    /// Clears the bar.
    pub fn finish(self) {
        self.bar.finish_and_clear();
    }
}
