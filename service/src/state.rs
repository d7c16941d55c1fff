//! What the HTTP side, the folder watcher and the driver share: the event
//! log, the metrics, the next batch to execute, and the stop and wake
//! signals.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::event_log::EventLog;
use crate::metrics::Metrics;

/// Where the service is in its life, as `/healthz` and `/readyz` report it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Health {
    /// Loading keys and reconciling the state: reads are served, writes
    /// are refused (503, `Retry-After`).
    Starting,
    /// Executing and proving.
    Ready,
    /// A stage failed fatally: writes are refused and the process exits
    /// non-zero once the listener has drained.
    Failed(String),
}

/// What the driver shares with the HTTP side.
pub struct Shared {
    /// The event log.
    pub log: EventLog,
    /// Metrics.
    pub metrics: Metrics,
    /// The next batch number to execute (the executor's height).
    pub next: AtomicU64,
    /// Batches proven from batch 0 on without a gap.
    pub proven: AtomicU64,
    /// Set on shutdown: the driver stops between stages.
    pub stop: AtomicBool,
    /// Wakes the driver when an event arrives.
    pub wake: (std::sync::Mutex<bool>, std::sync::Condvar),
    /// Serializes ingestion (check then append).
    pub ingest: std::sync::Mutex<()>,
    /// Where the service is in its life.
    pub health: Mutex<Health>,
    /// Wakes the listener to shut down (a fatal failure).
    pub shutdown: tokio::sync::Notify,
    /// Parked batches and why (mirrors the log's `Parked` records).
    pub parked: Mutex<BTreeMap<u64, String>>,
    /// The proof in flight, if any, with its deadline.
    pub in_flight: Mutex<Option<InFlight>>,
}

/// A proof step in flight: what the deadline watchdog and the shutdown
/// drain look at.
#[derive(Clone, Copy, Debug)]
pub struct InFlight {
    /// The (first) batch being proven.
    pub batch: u64,
    /// The last batch of the step (a bundle's).
    pub last: u64,
    /// When the step started.
    pub since: Instant,
    /// How long it may take.
    pub deadline: Duration,
}

impl InFlight {
    /// Whether the step has run past its deadline.
    pub fn overdue(&self) -> bool {
        self.since.elapsed() > self.deadline
    }
}

impl Shared {
    /// A fresh state over `log`, [`Health::Starting`].
    pub fn new(log: EventLog) -> Self {
        Self {
            log,
            metrics: Default::default(),
            next: AtomicU64::new(0),
            proven: AtomicU64::new(0),
            stop: AtomicBool::new(false),
            wake: Default::default(),
            ingest: Default::default(),
            health: Mutex::new(Health::Starting),
            shutdown: tokio::sync::Notify::new(),
            parked: Default::default(),
            in_flight: Default::default(),
        }
    }

    /// The parked batches and why.
    pub fn parked(&self) -> BTreeMap<u64, String> {
        self.parked
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Records batch `n` as parked (`Some(reason)`) or no longer parked.
    pub fn set_parked(&self, n: u64, reason: Option<String>) {
        let mut p = self.parked.lock().unwrap_or_else(|e| e.into_inner());
        match reason {
            Some(r) => p.insert(n, r),
            None => p.remove(&n),
        };
    }

    /// The proof step in flight.
    pub fn in_flight(&self) -> Option<InFlight> {
        *self.in_flight.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sets (or clears) the proof step in flight.
    pub fn set_in_flight(&self, f: Option<InFlight>) {
        *self.in_flight.lock().unwrap_or_else(|e| e.into_inner()) = f;
    }

    /// The service's health now.
    pub fn health(&self) -> Health {
        self.health
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Sets the health (a failure is never overwritten).
    pub fn set_health(&self, h: Health) {
        let mut cur = self.health.lock().unwrap_or_else(|e| e.into_inner());
        if !matches!(*cur, Health::Failed(_)) {
            *cur = h;
        }
    }

    /// Records a fatal failure: the health turns failed, every stage stops
    /// and the listener shuts down.
    pub fn fail(&self, reason: String) {
        self.set_health(Health::Failed(reason));
        self.stop.store(true, Ordering::SeqCst);
        self.notify();
        self.shutdown.notify_one();
    }

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
