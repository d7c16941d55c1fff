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
//! `Cargo.lock` (a changed halo2 or snark-verifier can change a layout).

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
    let mut all = vec![root.join("Cargo.lock")];
    for (_, folder) in &TOWER[..=own] {
        let src = root.join(folder).join("src");
        // A folder: cargo rescans it whole, so an added file reruns this.
        println!("cargo:rerun-if-changed={}", src.display());
        files(&src, &mut all);
    }
    println!(
        "cargo:rerun-if-changed={}",
        root.join("Cargo.lock").display()
    );
    all.sort();
    let mut state = [0xcbf2_9ce4_8422_2325u64, 0x8422_2325_cbf2_9ce4];
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
