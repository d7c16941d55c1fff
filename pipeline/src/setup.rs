//! Where the SRS and the keys come from, and how the chunk prover pool is
//! sized ([`ProverSetup`]).

use std::path::PathBuf;

/// Where the SRS and the keys come from, and how many workers prove chunks.
#[derive(Clone, Debug)]
pub struct ProverSetup {
    /// The key (and development SRS) cache; `None` keeps everything in memory.
    pub cache_dir: Option<PathBuf>,
    /// Powers-of-Tau-derived `kzg_bn254_{k}.srs` files; `None` uses the
    /// development SRS (**insecure**).
    pub params_dir: Option<PathBuf>,
    /// Accept params files that hold the development setup (**insecure**;
    /// tests only, every command leaves it `false`).
    pub allow_development_params: bool,
    /// Prover workers.
    pub workers: usize,
    /// Threads of each worker's rayon pool.
    pub threads_per_worker: usize,
    /// Attempts per chunk proof.
    pub max_attempts: u32,
}

impl ProverSetup {
    /// `workers` workers sharing this machine's cores.
    pub fn with_workers(cache_dir: Option<PathBuf>, workers: usize) -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let workers = workers.max(1);
        Self {
            cache_dir,
            params_dir: None,
            allow_development_params: false,
            workers,
            threads_per_worker: (cores / workers).max(1),
            max_attempts: 2,
        }
    }
}
