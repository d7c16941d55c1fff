//! The on-disk cache of SRS parameters and proving keys.
//!
//! Every entry is named by a digest of what determines it: for keys, the
//! circuit configuration, the source digest of the crates that lay the
//! circuit out (`ZKLANES_SOURCE_DIGEST`, so a changed circuit never loads a
//! stale key) and the identity of the SRS ([`srs_id`]); the verifying key
//! of each aggregation layer sits beside its proving key (`….vk`), so a
//! verifier reads it without loading the proving key. Entries are written
//! to a temporary file, flushed and renamed, so a crash never leaves a
//! half-written entry under a valid name; an entry that fails to load is
//! removed and regenerated.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use halo2_base::halo2_proofs::halo2curves::bn256::{Bn256, G1Affine};
use halo2_base::halo2_proofs::halo2curves::serde::SerdeObject;
use halo2_base::halo2_proofs::poly::commitment::{Params, ParamsProver};
use halo2_base::halo2_proofs::poly::kzg::commitment::ParamsKZG;
use sha2::{Digest, Sha256};

/// Why the cache could not be used.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    /// The directory or an entry could not be written.
    #[error("key cache {path}: {source}")]
    Io {
        /// The file or directory.
        path: String,
        /// The I/O error.
        source: io::Error,
    },
}

/// A directory of cached entries.
#[derive(Clone, Debug)]
pub struct KeyCache {
    dir: PathBuf,
}

/// Hex SHA-256 of `parts` (each length-prefixed).
pub fn digest(parts: &[&[u8]]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_le_bytes());
        h.update(p);
    }
    hex::encode(h.finalize())
}

/// The identity of a setup at size `2^k` in key names: a digest of `k`,
/// the first two G1 powers and both G2 elements (`s·G2` fixes the secret;
/// params files are checked on load to be powers of it, so these fix every
/// point). The digest of every point, to compare with a ceremony's
/// published value, is [`SrsId`](crate::srs::SrsId).
pub fn srs_id(params: &ParamsKZG<Bn256>) -> String {
    let g: &[G1Affine] = params.get_g();
    digest(&[
        &params.k().to_le_bytes(),
        &g[0].to_raw_bytes(),
        &g.get(1).map(|p| p.to_raw_bytes()).unwrap_or_default(),
        &params.g2().to_raw_bytes(),
        &params.s_g2().to_raw_bytes(),
    ])
}

impl KeyCache {
    /// A cache in `dir` (created if missing).
    pub fn new(dir: impl Into<PathBuf>) -> Result<Self, CacheError> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir).map_err(|source| CacheError::Io {
            path: dir.display().to_string(),
            source,
        })?;
        Ok(Self { dir })
    }

    /// The cache directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file of entry `name`.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Loads entry `name` with `read`; `None` if it is missing. An entry
    /// that does not parse is removed (and reported) so it is regenerated.
    pub fn load<T>(
        &self,
        name: &str,
        read: impl FnOnce(&mut dyn Read) -> io::Result<T>,
    ) -> Option<T> {
        let path = self.path(name);
        let file = File::open(&path).ok()?;
        let mut r = BufReader::with_capacity(1 << 20, file);
        match read(&mut r) {
            Ok(v) => Some(v),
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "corrupt cache entry removed");
                let _ = std::fs::remove_file(&path);
                None
            }
        }
    }

    /// Stores entry `name` atomically (temporary file, flush, fsync, rename).
    pub fn store(
        &self,
        name: &str,
        write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
    ) -> Result<(), CacheError> {
        let path = self.path(name);
        let tmp = self.dir.join(format!(
            ".{name}.{}.{:?}.tmp",
            std::process::id(),
            std::thread::current().id()
        ));
        let fail = |source| CacheError::Io {
            path: path.display().to_string(),
            source,
        };
        let result = (|| {
            let file = File::create(&tmp)?;
            let mut w = BufWriter::with_capacity(1 << 20, file);
            write(&mut w)?;
            let file = w.into_inner().map_err(|e| e.into_error())?;
            file.sync_all()?;
            std::fs::rename(&tmp, &path)
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        result.map_err(fail)
    }
}

/// Writes a length-prefixed JSON header.
pub fn write_header<T: serde::Serialize>(w: &mut dyn Write, header: &T) -> io::Result<()> {
    let bytes = serde_json::to_vec(header).map_err(io::Error::other)?;
    w.write_all(&(bytes.len() as u64).to_le_bytes())?;
    w.write_all(&bytes)
}

/// Reads a header written by [`write_header`].
pub fn read_header<T: serde::de::DeserializeOwned>(r: &mut dyn Read) -> io::Result<T> {
    let mut len = [0u8; 8];
    r.read_exact(&mut len)?;
    let len = u64::from_le_bytes(len);
    if len > 1 << 24 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "header too long",
        ));
    }
    let mut bytes = vec![0u8; len as usize];
    r.read_exact(&mut bytes)?;
    serde_json::from_slice(&bytes).map_err(io::Error::other)
}

/// Runs a key reader whose malformed input may panic (halo2's polynomial
/// readers do) and turns the panic into an error.
pub fn catch_read<T>(read: impl FnOnce() -> io::Result<T>) -> io::Result<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(read)).unwrap_or_else(|_| {
        Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "malformed key file",
        ))
    })
}
