//! Build script shared by the crates that name cached keys or verifiers: it
//! exports `ZKLANES_SOURCE_DIGEST`, a hash of every source that can change
//! a circuit, a key or the verifier generated from a key, so that cached
//! keys and verifiers are keyed by that code (a changed circuit never loads
//! a stale key).
//!
//! It hashes whole folders, never named files, so renaming, splitting or
//! adding a file changes the digest: the `src/` folder of this crate and of
//! every workspace crate below it in the tower (a circuit reads the
//! executor's widths and encodings; a layer reads the chunk circuit), and
//! the `Cargo.lock` entries of every package this crate reaches through its
//! dependencies (a changed halo2 or snark-verifier can change a layout),
//! but not those of the crates above it: a dependency of the service or of
//! the binary renames no key.

use std::path::{Path, PathBuf};

/// The crates that define circuits and keys, in dependency order: a crate's
/// digest covers its own folder and those before it.
const TOWER: [(&str, &str); 5] = [
    ("zklanes-executor", "executor"),
    ("zklanes-circuits", "circuits"),
    ("zklanes-prover", "prover"),
    ("zklanes-aggregator", "aggregator"),
    ("zklanes-l1", "l1"),
];

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            files(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// 64-bit FNV-1a, twice with different offsets (128 bits; not adversarial).
fn fnv(data: &[u8], state: &mut [u64; 2]) {
    for b in data {
        for (i, s) in state.iter_mut().enumerate() {
            *s ^= u64::from(*b) ^ (i as u64) << 8;
            *s = s.wrapping_mul(0x0100_0000_01b3);
        }
    }
}

/// The `[[package]]` entries of `Cargo.lock` reachable from package `own`
/// through `dependencies` (dev-dependencies included, as the lock file
/// lists them), in file order, each in a canonical form (see the end).
fn reachable_lock_entries(lock: &str, own: &str) -> Vec<String> {
    struct Entry {
        name: String,
        version: String,
        source: String,
        checksum: String,
        deps: Vec<String>,
    }
    let mut entries: Vec<Entry> = vec![];
    for block in lock.split("[[package]]").skip(1) {
        let field = |key: &str| {
            block
                .lines()
                .find_map(|l| l.strip_prefix(&format!("{key} = \"")))
                .map(|v| v.trim_end_matches('"').to_string())
                .unwrap_or_default()
        };
        let deps = block
            .split_once("dependencies = [")
            .map(|(_, rest)| {
                rest.split(']')
                    .next()
                    .unwrap_or_default()
                    .split(',')
                    .map(|d| d.trim().trim_matches('"').to_string())
                    .filter(|d| !d.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        entries.push(Entry {
            name: field("name"),
            version: field("version"),
            source: field("source"),
            checksum: field("checksum"),
            deps,
        });
    }
    // A dependency is "name", or "name version" when several versions exist
    // (then possibly followed by its source).
    let find = |dep: &str| {
        let mut parts = dep.split_whitespace();
        let name = parts.next().unwrap_or_default();
        let version = parts.next();
        entries
            .iter()
            .position(|e| e.name == name && version.is_none_or(|v| e.version == v))
    };
    let mut seen = vec![false; entries.len()];
    let mut todo: Vec<usize> = find(own).into_iter().collect();
    while let Some(i) = todo.pop() {
        if std::mem::replace(&mut seen[i], true) {
            continue;
        }
        todo.extend(entries[i].deps.iter().filter_map(|d| find(d)));
    }
    // Canonical lines, not the lock's text: a dependency is written "name"
    // or "name version" depending on whether another version of it exists
    // anywhere in the lock, so a crate added far above the tower would
    // otherwise rename every key. Each entry is its identity and its
    // dependencies resolved to "name version".
    entries
        .iter()
        .zip(&seen)
        .filter(|(_, s)| **s)
        .map(|(e, _)| {
            let mut deps: Vec<String> = e
                .deps
                .iter()
                .filter_map(|d| find(d))
                .map(|j| format!("{} {}", entries[j].name, entries[j].version))
                .collect();
            deps.sort();
            format!(
                "{} {} {} {}\n{}\n",
                e.name,
                e.version,
                e.source,
                e.checksum,
                deps.join("\n")
            )
        })
        .collect()
}

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let root = manifest
        .parent()
        .expect("crates sit under the workspace root");
    let name = std::env::var("CARGO_PKG_NAME").expect("cargo sets it");
    let own = TOWER
        .iter()
        .position(|(n, _)| *n == name)
        .expect("source_digest.rs serves only the crates listed in TOWER");
    let mut all = vec![];
    for (_, folder) in &TOWER[..=own] {
        let src = root.join(folder).join("src");
        // A folder: cargo rescans it whole, so an added file reruns this.
        println!("cargo:rerun-if-changed={}", src.display());
        files(&src, &mut all);
    }
    let lock_path = root.join("Cargo.lock");
    println!("cargo:rerun-if-changed={}", lock_path.display());
    let lock = std::fs::read_to_string(&lock_path).unwrap_or_default();
    all.sort();
    let mut state = [0xcbf2_9ce4_8422_2325u64, 0x8422_2325_cbf2_9ce4];
    for entry in reachable_lock_entries(&lock, &name) {
        fnv(entry.as_bytes(), &mut state);
    }
    for f in &all {
        let rel = f.strip_prefix(root).unwrap_or(f);
        fnv(rel.to_string_lossy().as_bytes(), &mut state);
        fnv(&std::fs::read(f).unwrap_or_default(), &mut state);
    }
    println!(
        "cargo:rustc-env=ZKLANES_SOURCE_DIGEST={:016x}{:016x}",
        state[0], state[1]
    );
}
