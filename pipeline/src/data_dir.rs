//! The one owner of a data directory's layout, and the writer of a proof
//! directory. Every command that takes `--data-dir DIR` means this
//! directory, so `zklanes status --data-dir DIR` reads what `zklanes prove
//! --data-dir DIR` or `zklanes serve --data-dir DIR` wrote:
//!
//! ```text
//! DIR/state/                      the executor's state (sled)
//! DIR/events/                     the service's event log (sled)
//! DIR/keys/                       the key cache (unless --cache-dir or $ZKLANES_CACHE_DIR)
//! DIR/proofs/batch-{n}/           the proofs of batch n
//! DIR/proofs/bundle-{a}-{b}/      the proofs of batches a..=b, settled together
//!     final.json                  the final proof (FinalProof)
//!     finalize.calldata           Rollup.finalize calldata (hex)
//!     chunk-{i}.json              chunk proofs (InnerProofFile)
//!     layer-{l}-{i}.json          aggregation proofs below the final one
//! ```
//!
//! Every file is written through a temporary file that is synced before it
//! is renamed into place, so a crash leaves the old file or the new one.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use zklanes_aggregator::tree::{BatchProof, InnerProof};
use zklanes_l1::rollup::finalize_calldata;

use crate::hex::{bytes_hex, fr_hex};
use crate::proof_file::{FinalProof, InnerProofFile, ProofFileError};

/// `$ZKLANES_CACHE_DIR`, when set: the key cache every command uses
/// unless `--cache-dir` says otherwise.
pub fn env_cache_dir() -> Option<PathBuf> {
    std::env::var_os("ZKLANES_CACHE_DIR").map(PathBuf::from)
}

/// The key cache of the commands without a data directory (`demo`,
/// `verify`): `$ZKLANES_CACHE_DIR`, else `$XDG_CACHE_HOME/zklanes`, else
/// `~/.cache/zklanes`.
pub fn user_cache_dir() -> PathBuf {
    if let Some(d) = env_cache_dir() {
        return d;
    }
    if let Some(d) = std::env::var_os("XDG_CACHE_HOME") {
        return PathBuf::from(d).join("zklanes");
    }
    match std::env::var_os("HOME") {
        Some(h) => PathBuf::from(h).join(".cache/zklanes"),
        None => std::env::temp_dir().join("zklanes-cache"),
    }
}

/// A data directory (see the module documentation for its layout).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataDir {
    root: PathBuf,
}

impl DataDir {
    /// The data directory at `root` (nothing is created until written).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The directory itself.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The executor's state (sled).
    pub fn state(&self) -> PathBuf {
        self.root.join("state")
    }

    /// The service's event log (sled).
    pub fn events(&self) -> PathBuf {
        self.root.join("events")
    }

    /// Where proofs are written.
    pub fn proofs(&self) -> PathBuf {
        self.root.join("proofs")
    }

    /// The key cache: `explicit` (`--cache-dir`), else
    /// `$ZKLANES_CACHE_DIR`, else `DIR/keys`.
    pub fn keys(&self, explicit: Option<&Path>) -> PathBuf {
        explicit
            .map(Path::to_path_buf)
            .or_else(env_cache_dir)
            .unwrap_or_else(|| self.root.join("keys"))
    }

    /// The proof directory of batch `n` alone.
    pub fn batch_dir(&self, n: u64) -> PathBuf {
        self.proofs().join(format!("batch-{n}"))
    }

    /// The proof directory of the batches `first..=last` proven by one
    /// final proof: [`batch_dir`](Self::batch_dir) for one batch,
    /// `proofs/bundle-{first}-{last}` for a bundle.
    pub fn bundle_dir(&self, first: u64, last: u64) -> PathBuf {
        if first == last {
            self.batch_dir(first)
        } else {
            self.proofs().join(format!("bundle-{first}-{last}"))
        }
    }

    /// Every proof directory holding a `final.json`, with that file's path.
    pub fn final_proofs(&self) -> Vec<PathBuf> {
        let Ok(entries) = std::fs::read_dir(self.proofs()) else {
            return vec![];
        };
        let mut out: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path().join("final.json"))
            .filter(|p| p.is_file())
            .collect();
        out.sort();
        out
    }

    /// Writes the proof directory of `file` whole: the proofs below the
    /// final one, the `finalize` calldata, then `final.json` last (its
    /// presence means the directory is complete). Returns `final.json`'s
    /// path.
    pub fn write_proof(
        &self,
        file: &FinalProof,
        proof: &BatchProof,
    ) -> Result<PathBuf, ProofFileError> {
        let last = file.batch + file.batches.max(1) - 1;
        let dir = self.bundle_dir(file.batch, last);
        create_dir(&dir)?;
        self.write_inner(&dir, &proof.inner)?;
        write_calldata(&dir.join(CALLDATA), file, &proof.instances, &proof.proof)?;
        let path = dir.join("final.json");
        write_json(&path, file)?;
        Ok(path)
    }

    /// Writes the `finalize` calldata beside the final proof at
    /// `final_path` if it is missing (a directory written by an older
    /// build), from the proof file itself. Returns whether it wrote it.
    pub fn ensure_calldata(
        &self,
        file: &FinalProof,
        final_path: &Path,
    ) -> Result<bool, ProofFileError> {
        let path = final_path.with_file_name(CALLDATA);
        if path.is_file() {
            return Ok(false);
        }
        write_calldata(
            &path,
            file,
            &file.instances_fr(final_path)?,
            &file.proof_bytes(final_path)?,
        )?;
        Ok(true)
    }

    /// Writes chunk or aggregation proofs into `dir`
    /// (`chunk-{i}.json`, `layer-{l}-{i}.json`).
    pub fn write_inner(&self, dir: &Path, inner: &[InnerProof]) -> Result<(), ProofFileError> {
        create_dir(dir)?;
        for p in inner {
            let name = if p.layer == 0 {
                format!("chunk-{}.json", p.index)
            } else {
                format!("layer-{}-{}.json", p.layer, p.index)
            };
            write_json(
                &dir.join(name),
                &InnerProofFile {
                    layer: p.layer,
                    index: p.index,
                    instances: p.instances.iter().map(fr_hex).collect(),
                    proof: bytes_hex(&p.proof),
                },
            )?;
        }
        Ok(())
    }
}

fn io_error(path: &Path) -> impl Fn(std::io::Error) -> ProofFileError + '_ {
    move |source| ProofFileError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// The `finalize` calldata's file name in a proof directory.
const CALLDATA: &str = "finalize.calldata";

/// Writes `Rollup.finalize` calldata (hex) for `file`'s batches, public
/// inputs `instances` and proof bytes `proof`.
fn write_calldata(
    path: &Path,
    file: &FinalProof,
    instances: &[Fr],
    proof: &[u8],
) -> Result<(), ProofFileError> {
    let calldata = finalize_calldata(file.batch, file.batches, instances, &file.l1, proof);
    write_atomic(path, bytes_hex(&calldata).as_bytes())
}

fn create_dir(dir: &Path) -> Result<(), ProofFileError> {
    std::fs::create_dir_all(dir).map_err(io_error(dir))
}

/// Writes `bytes` to `path` through a temporary file, synced before the
/// rename (and the directory after it), so a crash leaves the old file or
/// the new one, whole.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ProofFileError> {
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::File::create(&tmp).map_err(io_error(&tmp))?;
    f.write_all(bytes).map_err(io_error(&tmp))?;
    f.sync_all().map_err(io_error(&tmp))?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(io_error(path))?;
    if let Some(dir) = path.parent() {
        // Persists the rename; not every platform can open a directory.
        if let Ok(d) = std::fs::File::open(dir) {
            d.sync_all().map_err(io_error(dir))?;
        }
    }
    Ok(())
}

/// Writes `value` as pretty JSON to `path` ([`write_atomic`]).
pub fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> Result<(), ProofFileError> {
    let bytes = serde_json::to_vec_pretty(value).map_err(|e| ProofFileError::Malformed {
        path: path.display().to_string(),
        reason: e.to_string(),
    })?;
    write_atomic(path, &bytes)
}
