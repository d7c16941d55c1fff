//! What the HTTP side, the folder watcher and the driver share: the event
//! log, the metrics, the next batch to execute, and the stop and wake
//! signals.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use crate::event_log::EventLog;
use crate::metrics::Metrics;

/// What the driver shares with the HTTP side.
pub struct Shared {
    /// The event log.
    pub log: EventLog,
    /// Metrics.
    pub metrics: Metrics,
    /// The next batch number to execute (the executor's height).
    pub next: AtomicU64,
    /// Set on shutdown: the driver stops between stages.
    pub stop: AtomicBool,
    /// Wakes the driver when an event arrives.
    pub wake: (std::sync::Mutex<bool>, std::sync::Condvar),
    /// Serializes ingestion (check then append).
    pub ingest: std::sync::Mutex<()>,
}

impl Shared {
    /// Wakes the driver.
    pub fn notify(&self) {
        let (m, c) = &self.wake;
        *m.lock().unwrap_or_else(|e| e.into_inner()) = true;
        c.notify_all();
    }

    /// Waits for [`notify`](Self::notify), at most `timeout`.
    pub fn wait(&self, timeout: Duration) {
        let (m, c) = &self.wake;
        let mut woken = m.lock().unwrap_or_else(|e| e.into_inner());
        if !*woken {
            woken = c
                .wait_timeout(woken, timeout)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        *woken = false;
    }

    /// Sleeps `delay`, or less if the service is stopping.
    pub fn pause(&self, delay: Duration) {
        let until = std::time::Instant::now() + delay;
        while !self.stop.load(Ordering::SeqCst) {
            let now = std::time::Instant::now();
            if now >= until {
                break;
            }
            std::thread::sleep((until - now).min(Duration::from_millis(100)));
        }
    }
}
