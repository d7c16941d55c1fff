//! The proving half of the pipeline, shared by `demo`, `prove`, `verify`
//! and the service: a proof configuration (chunk shape and the aggregation
//! tree), a [`Prover`] that holds the SRS, the keys (loaded once from the
//! key cache or generated and cached) and the worker pool, and the L1
//! settlement of a final proof through the Rollup contract in revm.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use halo2_base::halo2_proofs::halo2curves::bn256::{Bn256, Fr, G1Affine};
use halo2_base::halo2_proofs::plonk::VerifyingKey;
use halo2_base::halo2_proofs::poly::kzg::commitment::ParamsKZG;
use serde::{Deserialize, Serialize};

use crate::proof_file::{
    bytes_hex, fr_hex, read_vk_file, vk_file, vk_hex, FinalProof, Transition, PROOF_FILE_VERSION,
};
use snark_verifier_sdk::halo2::aggregation::AggregationConfigParams;
use zklanes_aggregator::evm::{verifier_bytecode, verify_in_evm, EvmError};
use zklanes_aggregator::l1_batch::L1Batch;
use zklanes_aggregator::l1_chain::L1Chain;
use zklanes_aggregator::layer::{layer_key_name, LayerKeys, LayerSpec};
use zklanes_aggregator::node::ACCUMULATOR_LIMBS;
use zklanes_aggregator::rollup_sol::Genesis;
use zklanes_aggregator::tree::{
    keygen_tree, prove_tree, BatchProof, ProofRecord, TreeError, TreeKeys,
};
use zklanes_aggregator::verify::verify_aggregation;
use zklanes_circuits::chunk::ChunkShape;
use zklanes_executor::params::DEFAULT_CHAIN_ID;
use zklanes_executor::trace::ChunkTrace;
use zklanes_prover::cache::KeyCache;
use zklanes_prover::pool::ProverPool;
use zklanes_prover::srs::{SrsError, SrsSet, SrsSource};

/// Chunk slots of the demo and end-to-end configuration (k = 18).
pub const DEMO_CAPACITY: usize = 29;

/// What the proofs of a batch look like: the chunk circuit and the tree.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ProofConfig {
    /// The chunk circuit's shape.
    pub shape: ChunkShape,
    /// Rows `2^chunk_k` of the chunk circuit.
    pub chunk_k: u32,
    /// The aggregation layers, bottom up; the last uses the EVM transcript.
    pub layers: Vec<LayerSpec>,
}

impl ProofConfig {
    /// The smallest tree that exercises every layer, over chunks of
    /// `capacity` slots: one aggregation layer of fan-in 2 (k = 20), then one
    /// recursive fold of fan-in 1 with the EVM transcript (k = 22; at k = 20
    /// the generated verifier exceeds the EIP-170 contract size limit).
    pub fn two_chunks(capacity: usize) -> Self {
        Self::two_chunks_on(capacity, DEFAULT_CHAIN_ID)
    }

    /// [`two_chunks`](Self::two_chunks) for chain `chain_id` (bound into
    /// the chunk circuit's signature checks).
    pub fn two_chunks_on(capacity: usize, chain_id: u32) -> Self {
        let shape = ChunkShape { capacity, chain_id };
        Self {
            chunk_k: zklanes_prover::chunk::chunk_k(&shape),
            shape,
            layers: vec![
                LayerSpec {
                    fan_in: 2,
                    inner_is_aggregation: false,
                    evm: false,
                    k: 20,
                },
                LayerSpec {
                    fan_in: 1,
                    inner_is_aggregation: true,
                    evm: true,
                    k: 22,
                },
            ],
        }
    }

    /// The tree's fan-ins, bottom layer first.
    pub fn fan_ins(&self) -> Vec<usize> {
        self.layers.iter().map(|l| l.fan_in).collect()
    }

    /// Chunk proofs per batch: the tree's width (the product of the fan-ins).
    pub fn width(&self) -> usize {
        self.layers.iter().map(|l| l.fan_in).product()
    }

    /// Transactions one final proof covers.
    pub fn max_txs(&self) -> usize {
        self.width() * self.shape.capacity
    }

    /// `k` of the final (EVM) layer.
    pub fn final_k(&self) -> u32 {
        self.layers.last().map_or(0, |l| l.k)
    }
}

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

/// Why the pipeline's proving half failed.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// Keys, SRS or a proof failed.
    #[error(transparent)]
    Tree(#[from] TreeError),
    /// The verifier did not compile, or an L1 call failed.
    #[error(transparent)]
    Evm(#[from] EvmError),
    /// The key cache could not be opened.
    #[error(transparent)]
    Cache(#[from] zklanes_prover::cache::CacheError),
    /// SRS parameters could not be had.
    #[error(transparent)]
    Srs(#[from] SrsError),
    /// The batch does not fit one final proof.
    #[error("{chunks} chunks do not fit a tree of {width} chunks")]
    TooManyChunks {
        /// Chunks of the batch.
        chunks: usize,
        /// Chunks of the tree.
        width: usize,
    },
    /// A fresh final proof failed its own verification.
    #[error("the final proof does not verify natively")]
    Rejected,
}

/// SRS, keys and workers for one [`ProofConfig`], loaded once.
pub struct Prover {
    /// The configuration.
    pub config: ProofConfig,
    /// The setup.
    pub srs: SrsSet,
    /// Every key of the tree.
    pub keys: TreeKeys,
    pool: ProverPool,
    cache: Option<KeyCache>,
}

impl Prover {
    /// Loads (or generates and caches) the SRS and every key of `config`.
    pub fn open(config: ProofConfig, setup: &ProverSetup) -> Result<Self, PipelineError> {
        Self::open_with(config, setup, true)
    }

    /// Like [`open`](Self::open), but with the chunk keys alone (for
    /// chunk proofs only: no aggregation keys are loaded).
    pub fn open_chunks(config: ProofConfig, setup: &ProverSetup) -> Result<Self, PipelineError> {
        Self::open_with(config, setup, false)
    }

    fn open_with(
        config: ProofConfig,
        setup: &ProverSetup,
        layers: bool,
    ) -> Result<Self, PipelineError> {
        let cache = setup.cache_dir.as_ref().map(KeyCache::new).transpose()?;
        let srs = SrsSet::new(match &setup.params_dir {
            Some(dir) => SrsSource::Files {
                dir: dir.clone(),
                allow_development: setup.allow_development_params,
            },
            None => SrsSource::Development(cache.clone()),
        });
        let keys = keygen_tree(
            &srs,
            &config.shape,
            config.chunk_k,
            if layers { &config.layers } else { &[] },
            cache.as_ref(),
        )?;
        if let (Some(cache), true) = (&cache, layers) {
            store_layer_vks(&config, &srs, &keys, cache);
        }
        let pool = ProverPool::local(
            setup.workers,
            setup.threads_per_worker,
            srs.get(config.chunk_k).map_err(TreeError::from)?,
            keys.chunk.clone(),
            setup.max_attempts,
        )
        .map_err(TreeError::from)?;
        Ok(Self {
            config,
            srs,
            keys,
            pool,
            cache,
        })
    }

    /// Proves a batch's chunks and folds them into the final proof, which
    /// is verified natively (with every accumulator) before it is returned.
    pub fn prove(
        &self,
        traces: &[ChunkTrace],
        progress: &dyn Fn(&ProofRecord),
    ) -> Result<BatchProof, PipelineError> {
        let width = self.config.width();
        if self.keys.layers.len() != self.config.layers.len() {
            return Err(TreeError::Shape("this prover holds chunk keys only".into()).into());
        }
        if traces.len() > width {
            return Err(PipelineError::TooManyChunks {
                chunks: traces.len(),
                width,
            });
        }
        let proof = prove_tree(&self.srs, &self.keys, &self.pool, traces, progress)?;
        if !self.verify_native(&proof.instances, &proof.proof)? {
            return Err(PipelineError::Rejected);
        }
        Ok(proof)
    }

    /// The chunk prover pool.
    pub fn pool(&self) -> &ProverPool {
        &self.pool
    }

    /// The final (EVM) layer's keys.
    fn final_layer(&self) -> Result<&LayerKeys, PipelineError> {
        Ok(self
            .keys
            .layers
            .last()
            .ok_or_else(|| TreeError::Shape("no layers".into()))?)
    }

    /// The SRS of the final layer.
    fn final_params(&self) -> Result<Arc<ParamsKZG<Bn256>>, PipelineError> {
        let k = self.final_layer()?.spec.k;
        Ok(self.srs.get(k).map_err(TreeError::from)?)
    }

    /// Verifies a final proof natively (the proof and its accumulator).
    pub fn verify_native(&self, instances: &[Fr], proof: &[u8]) -> Result<bool, PipelineError> {
        Ok(verify_aggregation(
            &*self.final_params()?,
            &self.final_layer()?.protocol,
            instances,
            proof,
            true,
        ))
    }

    /// The on-disk form of a fresh final proof of batch `batch`.
    pub fn final_proof_file(
        &self,
        batch: u64,
        batches: u64,
        txs: usize,
        chunks: usize,
        proof: &BatchProof,
    ) -> Result<FinalProof, PipelineError> {
        let last = self.final_layer()?;
        let t: Vec<String> = proof.transition().iter().map(fr_hex).collect();
        Ok(FinalProof {
            version: PROOF_FILE_VERSION,
            batch,
            batches,
            txs,
            chunks,
            config: self.config.clone(),
            srs: self.srs.label(),
            transition: Transition {
                prev_root: t[0].clone(),
                new_root: t[1].clone(),
                pubdata: t[2].clone(),
                deposits: t[3].clone(),
                withdrawals: t[4].clone(),
                first_batch: t[5].clone(),
                last_batch: t[6].clone(),
            },
            instances: proof.instances.iter().map(fr_hex).collect(),
            proof: bytes_hex(&proof.proof),
            final_circuit: last.config,
            vk: vk_hex(last.vk()),
            l1: proof.l1.clone(),
        })
    }

    /// The EVM verifier's deployment bytecode for the final key (compiled
    /// once with the pinned solc and cached next to the keys).
    pub fn verifier_bytecode(&self) -> Result<Vec<u8>, PipelineError> {
        let name = format!("verifier_{}.bin", self.keys.final_name);
        if let Some(cache) = &self.cache {
            if let Some(code) = cache.load(&name, |r| {
                let mut v = Vec::new();
                r.read_to_end(&mut v).map(|_| v)
            }) {
                if !code.is_empty() {
                    return Ok(code);
                }
            }
        }
        let code = verifier_bytecode(&*self.final_params()?, self.final_layer()?.vk())?;
        if let Some(cache) = &self.cache {
            if let Err(e) = cache.store(&name, |w| w.write_all(&code)) {
                tracing::warn!(error = %e, "verifier bytecode not cached");
            }
        }
        Ok(code)
    }
}

/// The cache entry of the verifying key of the keys in entry `key_name`
/// (beside it: `layer_…​.pk` → `layer_…​.vk`), a VK file
/// ([`vk_file`](crate::proof_file::vk_file)).
pub fn vk_entry_name(key_name: &str) -> String {
    format!("{}.vk", key_name.strip_suffix(".pk").unwrap_or(key_name))
}

/// The cache entry names of `config`'s keys under `srs`: the chunk keys,
/// then every layer bottom up (the names [`keygen_tree`] uses: each a
/// digest of everything below it, the sources and the SRS). Reads the SRS
/// of every size of the tree.
pub fn key_names(config: &ProofConfig, srs: &SrsSet) -> Result<Vec<String>, PipelineError> {
    let mut name = zklanes_prover::chunk::key_name(&*srs.get(config.chunk_k)?, &config.shape);
    let mut names = vec![name.clone()];
    for spec in &config.layers {
        name = layer_key_name(&*srs.get(spec.k)?, &name, *spec);
        names.push(name.clone());
    }
    Ok(names)
}

/// Writes the verifying key of every layer beside its proving key in the
/// cache (when missing, or replacing one that is not the proving key's), so
/// the final key can be had without loading a multi-GB proving key
/// ([`final_vk`]).
fn store_layer_vks(config: &ProofConfig, srs: &SrsSet, keys: &TreeKeys, cache: &KeyCache) {
    let names = match key_names(config, srs) {
        Ok(n) => n,
        Err(e) => {
            tracing::warn!(error = %e, "verifying keys not cached");
            return;
        }
    };
    if names.last() != Some(&keys.final_name) {
        tracing::warn!("key names disagree with the tree's: verifying keys not cached");
        return;
    }
    for (layer, name) in keys.layers.iter().zip(&names[1..]) {
        let entry = vk_entry_name(name);
        let bytes = vk_file(&layer.config, layer.vk());
        match std::fs::read(cache.path(&entry)) {
            Ok(cached) if cached == bytes => continue,
            Ok(_) => tracing::warn!(
                entry = %entry,
                "the cached verifying key is not the proving key's: replaced"
            ),
            Err(_) => {}
        }
        if let Err(e) = cache.store(&entry, |w| w.write_all(&bytes)) {
            tracing::warn!(error = %e, "verifying key not cached");
        }
    }
}

/// The final verifying key this build derives for a configuration.
pub struct DerivedVk {
    /// The final circuit's layout (needed to read the key).
    pub config: AggregationConfigParams,
    /// The key.
    pub vk: VerifyingKey<G1Affine>,
    /// Its cache entry (a VK file), when there is a cache.
    pub entry: Option<PathBuf>,
    /// It was read from its cache entry (else from the keys, loaded or generated).
    pub cached: bool,
}

/// The final verifying key of `config` under `srs`, as this build derives
/// it: read from its cache entry beside the final proving key (named by a
/// digest of the whole tree, the circuit sources and the SRS), else from
/// the keys, loaded from the cache or generated (minutes, and the memory
/// of keygen) and cached with their verifying keys. Never from a proof file.
pub fn final_vk(
    config: &ProofConfig,
    srs: &SrsSet,
    cache: Option<&KeyCache>,
) -> Result<DerivedVk, PipelineError> {
    let names = key_names(config, srs)?;
    let final_name = names.last().expect("the chunk keys are named");
    let entry = cache.map(|c| c.path(&vk_entry_name(final_name)));
    if let Some(cache) = cache {
        if let Some((layout, vk)) = cache.load(&vk_entry_name(final_name), |r| {
            let mut bytes = Vec::new();
            r.read_to_end(&mut bytes)?;
            read_vk_file(&bytes)
        }) {
            return Ok(DerivedVk {
                config: layout,
                vk,
                entry,
                cached: true,
            });
        }
    }
    tracing::warn!(
        "no cached verifying key for this configuration: loading or generating its keys"
    );
    let keys = keygen_tree(srs, &config.shape, config.chunk_k, &config.layers, cache)?;
    if let Some(cache) = cache {
        store_layer_vks(config, srs, &keys, cache);
    }
    let last = keys
        .layers
        .last()
        .ok_or_else(|| TreeError::Shape("no layers".into()))?;
    Ok(DerivedVk {
        config: last.config,
        vk: last.vk().clone(),
        entry,
        cached: false,
    })
}

/// The outcome of settling a final proof on L1 (in revm).
#[derive(Clone, Debug, Serialize)]
pub struct Settlement {
    /// Gas of the verifier call alone.
    pub verify_gas: u64,
    /// Gas of `Rollup.finalize` (transaction included).
    pub finalize_gas: u64,
    /// The Rollup contract's state root after finalisation (hex).
    pub state_root: String,
    /// Deposits the batch consumed (queued on L1 first).
    pub deposits: usize,
    /// Gas of queuing them on L1 (all transactions).
    pub deposit_gas: u64,
    /// Withdrawals the batch made.
    pub withdrawals: usize,
    /// Every withdrawal is claimable on L1 after finalisation.
    pub withdrawals_claimable: bool,
    /// The verifier's code size, bytes.
    pub verifier_bytes: usize,
    /// Time to deploy and call, ms.
    pub ms: f64,
}

/// Settles a final proof in a fresh revm chain: calls the verifier alone
/// (its gas), then deploys it with the Poseidon and Rollup contracts, the
/// Rollup contract starting at the proof's previous root, at its first
/// batch `first_batch` (of `batches`: one batch or a bundle), at the queue
/// index of the batch's first deposit and at the account id its first
/// creating deposit gets ([`Genesis::checkpoint`]: a checkpoint, so
/// any batch of a history can be settled alone); queues the batch's
/// deposits from their L1 senders, finalizes the batch and checks that
/// every withdrawal became claimable. Returns the gas and the root the
/// contract stores afterwards.
pub fn settle(
    verifier_code: &[u8],
    first_batch: u64,
    batches: u64,
    fan_ins: &[usize],
    instances: &[Fr],
    proof: &[u8],
    l1: &L1Batch,
) -> Result<Settlement, PipelineError> {
    let clock = Instant::now();
    let verify_gas = verify_in_evm(verifier_code, instances, proof)?;
    let prev_root = instances
        .get(ACCUMULATOR_LIMBS)
        .ok_or_else(|| EvmError::Reverted("no previous root among the instances".into()))?;
    let genesis = Genesis::checkpoint(first_batch, &l1.deposits);
    let mut chain = L1Chain::deploy(verifier_code, prev_root, genesis, fan_ins)?;
    let mut deposit_gas = 0;
    for d in &l1.deposits {
        let (index, gas) = chain.queue_deposit(d)?;
        if index != d.queue_index {
            return Err(EvmError::Reverted(format!(
                "deposit queued at {index}, the batch consumed it at {}",
                d.queue_index
            ))
            .into());
        }
        deposit_gas += gas;
    }
    let done = chain.finalize(first_batch, batches, instances, l1, proof)?;
    let root = chain.state_root()?;
    let mut owed: BTreeMap<([u8; 20], u32), u128> = BTreeMap::new();
    for w in &l1.withdrawals {
        *owed.entry((w.l1_address, w.asset)).or_default() += w.amount;
    }
    let mut withdrawals_claimable = true;
    for ((to, asset), amount) in &owed {
        withdrawals_claimable &= chain.claimable(to, *asset)? == *amount;
    }
    Ok(Settlement {
        verify_gas,
        finalize_gas: done.gas,
        state_root: format!("0x{}", hex::encode(root)),
        deposits: l1.deposits.len(),
        deposit_gas,
        withdrawals: l1.withdrawals.len(),
        withdrawals_claimable,
        verifier_bytes: verifier_code.len(),
        ms: clock.elapsed().as_secs_f64() * 1e3,
    })
}

/// A shared prover for callers that hold one per process.
pub type SharedProver = Arc<Prover>;
