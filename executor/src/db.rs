//! Opening a sled database when the previous handle on it is still closing.
//!
//! sled holds an exclusive file lock on its database while any of its
//! background threads keeps the database alive. Dropping a [`sled::Db`]
//! returns before the last of those threads has let go, so reopening the same
//! directory right away (a restart inside one process, a rebuild, a test) can
//! fail with "could not acquire lock". [`open_db`] retries that one error for
//! a bounded time; any other error, or a lock still held when the time is up
//! (another process has the database open), is returned as it is.
//!
//! sled 0.34's `flush` ends in `sync_file_range` on Linux, which writes the
//! log's pages but neither the file's metadata nor the disk's cache: a
//! power loss can still lose an acknowledged write. [`flush_durable`] adds
//! a full `fsync` of the database's files and directory.

use std::path::Path;
use std::time::{Duration, Instant};

/// How long [`open_db`] waits for a previous handle to release the lock.
pub const LOCK_WAIT: Duration = Duration::from_secs(5);

/// Opens (or creates) the sled database in `dir`, waiting up to
/// [`LOCK_WAIT`] for a previous handle on it to finish closing.
pub fn open_db(dir: &Path) -> sled::Result<sled::Db> {
    open_db_waiting(dir, LOCK_WAIT)
}

/// [`open_db`] with an explicit wait.
pub fn open_db_waiting(dir: &Path, wait: Duration) -> sled::Result<sled::Db> {
    let start = Instant::now();
    let mut pause = Duration::from_millis(5);
    loop {
        match sled::Config::new().path(dir).open() {
            Err(e) if is_lock_contention(&e) && start.elapsed() < wait => {
                std::thread::sleep(pause.min(wait.saturating_sub(start.elapsed())));
                pause = (pause * 2).min(Duration::from_millis(200));
            }
            other => return other,
        }
    }
}

/// Flushes `db` (opened on `dir`), then `fsync`s its files and the
/// directory, so what was flushed survives a power loss.
pub fn flush_durable(db: &sled::Db, dir: &Path) -> sled::Result<()> {
    db.flush()?;
    for name in ["db", "conf"] {
        match std::fs::File::open(dir.join(name)) {
            Ok(f) => f.sync_all()?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e.into()),
        }
    }
    std::fs::File::open(dir)?.sync_all()?;
    Ok(())
}

/// True for sled's error when another handle holds the database's file lock.
pub fn is_lock_contention(e: &sled::Error) -> bool {
    match e {
        // sled wraps the lock failure in an `Other` I/O error with this text.
        sled::Error::Io(io) => io.to_string().contains("could not acquire lock"),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reopens_right_after_drop() {
        let dir = tempfile::tempdir().unwrap();
        for round in 0..50u32 {
            let db = open_db(dir.path()).unwrap();
            for i in 0..500u32 {
                db.insert(i.to_be_bytes(), vec![round as u8; 256]).unwrap();
            }
            db.insert(b"round", &round.to_be_bytes()).unwrap();
            db.flush().unwrap();
            drop(db);
        }
        let db = open_db(dir.path()).unwrap();
        assert_eq!(
            db.get(b"round").unwrap().unwrap().as_ref(),
            &49u32.to_be_bytes()
        );
    }

    #[test]
    fn a_lock_held_by_a_live_handle_is_an_error_after_the_wait() {
        let dir = tempfile::tempdir().unwrap();
        let _held = open_db(dir.path()).unwrap();
        let start = Instant::now();
        let err = open_db_waiting(dir.path(), Duration::from_millis(300)).unwrap_err();
        assert!(is_lock_contention(&err), "{err}");
        assert!(start.elapsed() >= Duration::from_millis(300));
    }
}
