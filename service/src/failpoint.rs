//! Named failpoints for crash tests: `ZKLANES_FAILPOINT=name` makes the
//! process abort (like `kill -9`, no cleanup) when it reaches `name`.
//! Unset, a failpoint costs one environment lookup.

/// Aborts the process if `ZKLANES_FAILPOINT` names this point.
pub fn failpoint(name: &str) {
    if std::env::var("ZKLANES_FAILPOINT").is_ok_and(|v| v == name) {
        eprintln!("failpoint {name}: aborting");
        std::process::abort();
    }
}
