//! [`BatchProver`]: the SRS, every key of a [`ProofConfig`] (loaded once
//! from the key cache, or generated and cached) and the chunk prover pool;
//! it proves a batch's chunks and folds them into one final proof, which
//! it verifies natively before returning it.

use std::sync::Arc;

use halo2_base::halo2_proofs::halo2curves::bn256::G1Affine;
use halo2_base::halo2_proofs::halo2curves::bn256::{Bn256, Fr};
use halo2_base::halo2_proofs::plonk::VerifyingKey;
use halo2_base::halo2_proofs::poly::kzg::commitment::ParamsKZG;
use snark_verifier_sdk::halo2::aggregation::AggregationConfigParams;
use snark_verifier_sdk::snark_verifier::verifier::plonk::PlonkProtocol;
use zklanes_aggregator::tree::{
    keygen_tree, prove_tree, BatchProof, ProofRecord, TreeError, TreeKeys,
};
use zklanes_aggregator::verify::verify_aggregation;
use zklanes_executor::trace::ChunkTrace;
use zklanes_l1::verifier::verifier_bytecode;
use zklanes_prover::cache::KeyCache;
use zklanes_prover::pool::ProverPool;
use zklanes_prover::srs::{SrsSet, SrsSource};

use crate::config::ProofConfig;
use crate::error::PipelineError;
use crate::hex::{bytes_hex, fr_hex};
use crate::keys::store_layer_vks;
use crate::proof_file::{FinalProof, Transition, PROOF_FILE_VERSION};
use crate::setup::ProverSetup;
use crate::verify::FinalKey;
use crate::vk_file::vk_hex;

/// SRS, keys and workers for one [`ProofConfig`], loaded once.
pub struct BatchProver {
    /// The configuration.
    pub config: ProofConfig,
    /// The setup.
    pub srs: SrsSet,
    /// Every key of the tree.
    pub keys: TreeKeys,
    pool: ProverPool,
    cache: Option<KeyCache>,
    /// The final layer's verifying key alone, when the layer keys are not
    /// loaded ([`open_verifier`](Self::open_verifier)).
    final_verifier: Option<FinalVerifier>,
}

/// The final layer as a verifier holds it: no proving key.
struct FinalVerifier {
    k: u32,
    layout: AggregationConfigParams,
    vk: VerifyingKey<G1Affine>,
    protocol: PlonkProtocol<G1Affine>,
}

/// The final layer's parts a verifier needs, from whichever keys are held.
struct FinalParts<'a> {
    k: u32,
    layout: AggregationConfigParams,
    vk: &'a VerifyingKey<G1Affine>,
    protocol: &'a PlonkProtocol<G1Affine>,
}

impl BatchProver {
    /// Loads (or generates and caches) the SRS and every key of `config`.
    pub fn open(config: ProofConfig, setup: &ProverSetup) -> Result<Self, PipelineError> {
        Self::open_with(config, setup, true)
    }

    /// Like [`open`](Self::open), but with the chunk keys alone (for
    /// chunk proofs only: no aggregation keys are loaded).
    pub fn open_chunks(config: ProofConfig, setup: &ProverSetup) -> Result<Self, PipelineError> {
        Self::open_with(config, setup, false)
    }

    /// The chunk keys and the final layer's *verifying* key only (read
    /// from its cache entry; derived from the layer keys, once, if it is
    /// missing): what checks chunk proofs and final proofs made elsewhere
    /// (`serve --queue`), without the memory of the aggregation proving
    /// keys. [`prove`](Self::prove) refuses; the final key, native
    /// verification and the proof file work as with [`open`](Self::open).
    pub fn open_verifier(config: ProofConfig, setup: &ProverSetup) -> Result<Self, PipelineError> {
        let mut prover = Self::open_with(config, setup, false)?;
        let derived = crate::keys::final_vk(&prover.config, &prover.srs, prover.cache.as_ref())?;
        let k = prover.config.final_k();
        let params = prover.srs.get(k).map_err(TreeError::from)?;
        let protocol = zklanes_aggregator::layer::layer_protocol(&params, &derived.vk);
        prover.final_verifier = Some(FinalVerifier {
            k,
            layout: derived.config,
            vk: derived.vk,
            protocol,
        });
        Ok(prover)
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
            final_verifier: None,
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

    /// The final (EVM) layer's verifying parts.
    fn final_parts(&self) -> Result<FinalParts<'_>, PipelineError> {
        if let Some(last) = self.keys.layers.last() {
            return Ok(FinalParts {
                k: last.spec.k,
                layout: last.config,
                vk: last.vk(),
                protocol: &last.protocol,
            });
        }
        let v = self
            .final_verifier
            .as_ref()
            .ok_or_else(|| TreeError::Shape("no layers".into()))?;
        Ok(FinalParts {
            k: v.k,
            layout: v.layout,
            vk: &v.vk,
            protocol: &v.protocol,
        })
    }

    /// The SRS of the final layer.
    fn final_params(&self) -> Result<Arc<ParamsKZG<Bn256>>, PipelineError> {
        let k = self.final_parts()?.k;
        Ok(self.srs.get(k).map_err(TreeError::from)?)
    }

    /// The final verifying key, to check final proof files against
    /// ([`verify_final`](crate::verify::verify_final)).
    pub fn final_key(&self) -> Result<FinalKey, PipelineError> {
        let last = self.final_parts()?;
        Ok(FinalKey {
            layout: last.layout,
            vk: last.vk.clone(),
            params: self.final_params()?,
        })
    }

    /// Verifies a final proof natively (the proof and its accumulator).
    pub fn verify_native(&self, instances: &[Fr], proof: &[u8]) -> Result<bool, PipelineError> {
        Ok(verify_aggregation(
            &*self.final_params()?,
            self.final_parts()?.protocol,
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
        let last = self.final_parts()?;
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
                challenge: t[3].clone(),
                evaluation: t[4].clone(),
                challenge_power: t[5].clone(),
                first_batch: t[6].clone(),
                last_batch: t[7].clone(),
            },
            instances: proof.instances.iter().map(fr_hex).collect(),
            proof: bytes_hex(&proof.proof),
            final_circuit: last.layout,
            vk: vk_hex(last.vk),
            l1: proof.l1.clone(),
        })
    }

    /// The EVM verifier's deployment bytecode for the final key (compiled
    /// once with the pinned solc and cached next to the keys).
    pub fn verifier_bytecode(&self) -> Result<Vec<u8>, PipelineError> {
        // Named by the final key and by the code that generates and compiles
        // the verifier (the L1 crate and everything below it).
        let name = format!(
            "verifier_{}_{}.bin",
            self.keys.final_name,
            zklanes_l1::SOURCE_DIGEST
        );
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
        let code = verifier_bytecode(&*self.final_params()?, self.final_parts()?.vk)?;
        if let Some(cache) = &self.cache {
            if let Err(e) = cache.store(&name, |w| w.write_all(&code)) {
                tracing::warn!(error = %e, "verifier bytecode not cached");
            }
        }
        Ok(code)
    }
}
