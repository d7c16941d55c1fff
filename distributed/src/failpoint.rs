//! Named failpoints of the worker, for fault tests, with the service's
//! convention: `ZKLANES_FAILPOINT=name[:action][*N]`. Actions: `abort`
//! (the default: like `kill -9`), `panic`, `sleep=MS`, and two of the
//! worker's own: `error` (the step fails with an error) and `corrupt` (the
//! proof is damaged before it is submitted). `*N` fires only the first N
//! times in the process. Each firing prints `failpoint NAME fired` on
//! stderr. Points: `worker_prove` (before proving a job), `worker_submit`
//! (before submitting its proof).

use std::sync::atomic::{AtomicU32, Ordering};

static FIRED: AtomicU32 = AtomicU32::new(0);

/// What a failpoint asks of the caller, beyond what it did itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fired {
    /// Nothing (unset, another point, or a sleep that has ended).
    No,
    /// Fail the step with an error.
    Error,
    /// Damage the proof.
    Corrupt,
}

/// Acts as `ZKLANES_FAILPOINT` says if it names `name`.
pub fn failpoint(name: &str) -> Fired {
    let Ok(spec) = std::env::var("ZKLANES_FAILPOINT") else {
        return Fired::No;
    };
    let (point, rest) = spec.split_once(':').unwrap_or((spec.as_str(), "abort"));
    if point != name {
        return Fired::No;
    }
    let (action, times) = match rest.split_once('*') {
        Some((a, n)) => (a, n.parse().unwrap_or(u32::MAX)),
        None => (rest, u32::MAX),
    };
    if FIRED.fetch_add(1, Ordering::SeqCst) >= times {
        return Fired::No;
    }
    eprintln!("failpoint {name} fired ({action})");
    match action {
        "panic" => panic!("failpoint {name}"),
        "error" => Fired::Error,
        "corrupt" => Fired::Corrupt,
        _ => {
            if let Some(ms) = action.strip_prefix("sleep=") {
                std::thread::sleep(std::time::Duration::from_millis(ms.parse().unwrap_or(0)));
                Fired::No
            } else {
                std::process::abort()
            }
        }
    }
}
