//! The names of a configuration's cached keys, and its final verifying
//! key as this build derives it ([`final_vk`]): from its VK file beside the
//! final proving key, else from the keys themselves. Never from a proof
//! file.

use std::path::PathBuf;

use halo2_base::halo2_proofs::halo2curves::bn256::G1Affine;
use halo2_base::halo2_proofs::plonk::VerifyingKey;
use snark_verifier_sdk::halo2::aggregation::AggregationConfigParams;
use zklanes_aggregator::layer::layer_key_name;
use zklanes_aggregator::tree::{keygen_tree, TreeError, TreeKeys};
use zklanes_prover::cache::KeyCache;
use zklanes_prover::srs::SrsSet;

use crate::config::ProofConfig;
use crate::error::PipelineError;
use crate::vk_file::{read_vk_file, vk_file};

/// The cache entry of the verifying key of the keys in entry `key_name`
/// (beside it: `layer_…​.pk` → `layer_…​.vk`), a VK file
/// ([`vk_file`]).
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
pub(crate) fn store_layer_vks(
    config: &ProofConfig,
    srs: &SrsSet,
    keys: &TreeKeys,
    cache: &KeyCache,
) {
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
