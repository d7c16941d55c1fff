//! `--watch DIR`: batch files a sequencer drops into a folder are ingested
//! like HTTP events, then moved to `DIR/done/` or, with a `.reason` file,
//! to `DIR/rejected/`. Files whose names start with `.` are still being
//! written (write `.name`, then rename) and are skipped.

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::http::{ingest, Api};

fn move_into(file: &Path, dir: &Path) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let to = dir.join(file.file_name().unwrap_or_default());
    std::fs::rename(file, &to)?;
    Ok(to)
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
                    .is_none_or(|n| n.starts_with('.'))
        })
        .collect();
    files.sort();
    let mut handled = 0;
    for f in files {
        let Ok(bytes) = std::fs::read(&f) else {
            continue;
        };
        let ct = match f.extension().and_then(|e| e.to_str()) {
            Some("json") => Some("application/json"),
            _ => Some("application/octet-stream"),
        };
        let moved = match ingest(api, &bytes, ct, "watch") {
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
        let (a, d) = (api.clone(), dir.clone());
        let _ = tokio::task::spawn_blocking(move || scan(&a, &d)).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}
