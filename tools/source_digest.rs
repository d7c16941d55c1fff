//! Build script shared by the crates whose sources define circuits: it
//! exports `ZKLANES_SOURCE_DIGEST`, a hash of the sources that lay a circuit
//! out, so that cached proving keys are keyed by that code (a changed
//! circuit never loads a stale key): all of `circuits/src`, and in `prover`
//! and `aggregator` the files that build circuits and keys.

use std::path::{Path, PathBuf};

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
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let src = root.join("src");
    println!("cargo:rerun-if-changed={}", src.display());
    let mut all = Vec::new();
    match std::env::var("CARGO_PKG_NAME").as_deref() {
        Ok("zklanes-prover") => all.push(src.join("chunk.rs")),
        Ok("zklanes-aggregator") => all.extend([src.join("node.rs"), src.join("layer.rs")]),
        _ => files(&src, &mut all),
    }
    all.sort();
    let mut state = [0xcbf2_9ce4_8422_2325u64, 0x8422_2325_cbf2_9ce4];
    for f in &all {
        println!("cargo:rerun-if-changed={}", f.display());
        let rel = f.strip_prefix(&root).unwrap_or(f);
        fnv(rel.to_string_lossy().as_bytes(), &mut state);
        fnv(&std::fs::read(f).unwrap_or_default(), &mut state);
    }
    println!(
        "cargo:rustc-env=ZKLANES_SOURCE_DIGEST={:016x}{:016x}",
        state[0], state[1]
    );
}
