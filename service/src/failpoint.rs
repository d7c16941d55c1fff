//! Named failpoints for crash and fault tests: `ZKLANES_FAILPOINT=name`
//! makes the process abort (like `kill -9`, no cleanup) when it reaches
//! `name`; `name:panic` panics there instead (a fault the stage's panic
//! boundary catches), `name:sleep=MS` stalls there (a slow proof); a
//! suffix `*N` fires only the first N times in the process. Each firing
//! prints `failpoint NAME fired` on stderr, which tests read. Unset, a
//! failpoint costs one environment lookup.

use std::sync::atomic::{AtomicU32, Ordering};

static FIRED: AtomicU32 = AtomicU32::new(0);

/// Acts as `ZKLANES_FAILPOINT` says if it names this point.
pub fn failpoint(name: &str) {
    let Ok(spec) = std::env::var("ZKLANES_FAILPOINT") else {
        return;
    };
    let (point, rest) = spec.split_once(':').unwrap_or((spec.as_str(), "abort"));
    if point != name {
        return;
    }
    let (action, times) = match rest.split_once('*') {
        Some((a, n)) => (a, n.parse().unwrap_or(u32::MAX)),
        None => (rest, u32::MAX),
    };
    if FIRED.fetch_add(1, Ordering::SeqCst) >= times {
        return;
    }
    eprintln!("failpoint {name} fired ({action})");
    if action == "panic" {
        panic!("failpoint {name}");
    } else if let Some(ms) = action.strip_prefix("sleep=") {
        std::thread::sleep(std::time::Duration::from_millis(ms.parse().unwrap_or(0)));
    } else {
        std::process::abort();
    }
}
