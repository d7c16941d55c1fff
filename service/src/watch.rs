//! `--watch DIR`: batch files a sequencer drops into a folder are ingested
//! like HTTP events, then moved to `DIR/done/` or, with a `.reason` file,
//! to `DIR/rejected/`. Files whose names start with `.` are still being
//! written (write `.name`, then rename) and are skipped. The folder is
//! trusted as the sequencer's (its permissions are the credential); with
//! `--sequencer-key` a batch `NAME` must also carry the sequencer's
//! signature in `NAME.sig` (written before `NAME`, or within
//! [`SIGNATURE_GRACE`] after it; it moves with it). A
//! file over the event limit is refused from its size, unread, and at most
//! [`MAX_PER_SCAN`] files are taken per scan. Nothing is read until the
//! service is ready.

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::http::{ingest, Api};
use crate::ingest::IngestError;
use crate::state::Health;

/// Files ingested per scan at most (the rest wait for the next scan).
pub const MAX_PER_SCAN: usize = 64;

/// How long a batch file waits for its `NAME.sig` (with
/// `--sequencer-key`) before it is refused as unsigned.
pub const SIGNATURE_GRACE: Duration = Duration::from_secs(10);

fn age(f: &Path) -> Duration {
    std::fs::metadata(f)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok())
        .unwrap_or(Duration::MAX)
}

fn move_into(file: &Path, dir: &Path) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let to = dir.join(file.file_name().unwrap_or_default());
    std::fs::rename(file, &to)?;
    let sig = signature_file(file);
    if sig.exists() {
        std::fs::rename(&sig, signature_file(&to))?;
    }
    Ok(to)
}

/// Where the sequencer's signature of a batch file is: `NAME.sig`.
pub fn signature_file(batch: &Path) -> PathBuf {
    let mut s = batch.as_os_str().to_owned();
    s.push(".sig");
    PathBuf::from(s)
}

/// Ingests every ready file in `dir` once; returns how many were handled.
pub fn scan(api: &Api, dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut files: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.is_file()
                && !p
                    .file_name()
                    .and_then(|n| n.to_str())
                    .is_none_or(|n| n.starts_with('.') || n.ends_with(".sig"))
        })
        .collect();
    files.sort();
    files.truncate(MAX_PER_SCAN);
    let mut handled = 0;
    for f in files {
        let size = std::fs::metadata(&f).map_or(0, |m| m.len() as usize);
        let read = if size > api.rules.max_bytes {
            Err(IngestError::TooLarge {
                bytes: size,
                limit: api.rules.max_bytes,
            })
        } else {
            match std::fs::read(&f) {
                Ok(bytes) => Ok(bytes),
                Err(_) => continue,
            }
        };
        let ct = match f.extension().and_then(|e| e.to_str()) {
            Some("json") => Some("application/json"),
            _ => Some("application/octet-stream"),
        };
        // A signature is small; one larger than 1 KiB is not read. A
        // batch whose signature is not there yet waits for it, up to
        // SIGNATURE_GRACE after the batch file appeared.
        let sig = std::fs::File::open(signature_file(&f))
            .ok()
            .and_then(|file| {
                let mut s = String::new();
                std::io::Read::read_to_string(&mut std::io::Read::take(file, 1024), &mut s).ok()?;
                Some(s)
            });
        if sig.is_none() && api.rules.sequencer.is_some() && age(&f) < SIGNATURE_GRACE {
            continue;
        }
        let moved = match read.and_then(|bytes| ingest(api, &bytes, ct, sig.as_deref(), "watch")) {
            Ok(_) => move_into(&f, &dir.join("done")),
            Err(e) if e.status() == 503 => continue,
            Err(e) => move_into(&f, &dir.join("rejected")).inspect(|to| {
                let _ = std::fs::write(to.with_extension("reason"), e.to_string());
            }),
        };
        if let Err(e) = moved {
            tracing::warn!(path = %f.display(), error = %e, "watched file not moved");
        }
        handled += 1;
    }
    handled
}

/// Polls `dir` until shutdown.
pub async fn watch(api: Api, dir: PathBuf) {
    while !api.shared.stop.load(Ordering::SeqCst) {
        if api.shared.health() == Health::Ready {
            let (a, d) = (api.clone(), dir.clone());
            let _ = tokio::task::spawn_blocking(move || scan(&a, &d)).await;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}
