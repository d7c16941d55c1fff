//! The on-disk cache: the development SRS written once and read back
//! byte-identical; Powers-of-Tau-style params files loaded from a directory,
//! smaller sizes derived from a larger file, and missing or corrupt files
//! refused with typed errors; chunk keys stored, loaded back as the same
//! keys, and regenerated when the entry is corrupt.

use halo2_base::halo2_proofs::halo2curves::bn256::{Bn256, G1Affine};
use halo2_base::halo2_proofs::poly::commitment::Params;
use halo2_base::halo2_proofs::poly::kzg::commitment::ParamsKZG;
use halo2_base::halo2_proofs::SerdeFormat;
use zklanes_executor::params::DEFAULT_CHAIN_ID;
use zklanes_prover::cache::KeyCache;
use zklanes_prover::chunk::{chunk_k, key_name, keygen_cached, prove, verify};
use zklanes_prover::srs::{dev_params, params_file_name, SrsError, SrsSet, SrsSource};
use zklanes_prover::ChunkShape;

fn bytes(p: &impl Params<'static, G1Affine>) -> Vec<u8> {
    let mut v = Vec::new();
    p.write(&mut v).unwrap();
    v
}

#[test]
fn the_development_srs_is_cached_and_params_files_load_and_downsize() {
    let dir = tempfile::tempdir().unwrap();
    let cache = KeyCache::new(dir.path().join("cache")).unwrap();
    let first = SrsSet::new(SrsSource::Development(Some(cache.clone())));
    let a = first.get(9).unwrap();
    assert!(cache.path("dev_bn254_9.srs").is_file());
    let second = SrsSet::new(SrsSource::Development(Some(cache)));
    let b = second.get(9).unwrap();
    assert_eq!(bytes(&*a), bytes(&*b));
    assert_eq!(bytes(&*a), bytes(&dev_params(9)));

    // A params directory with only k = 10: k = 10 loads, k = 8 is derived
    // (same secret, Lagrange basis recomputed), k = 11 is missing.
    let params_dir = dir.path().join("params");
    std::fs::create_dir_all(&params_dir).unwrap();
    std::fs::write(
        params_dir.join(params_file_name(10)),
        bytes(&dev_params(10)),
    )
    .unwrap();
    let files = SrsSet::new(SrsSource::Files(params_dir.clone()));
    assert!(!files.is_insecure());
    assert_eq!(bytes(&*files.get(10).unwrap()), bytes(&dev_params(10)));
    assert_eq!(bytes(&*files.get(8).unwrap()), bytes(&dev_params(8)));
    assert!(matches!(
        files.get(11),
        Err(SrsError::Missing { k: 11, .. })
    ));

    // A file whose name lies about its size, and a corrupt file.
    std::fs::write(params_dir.join(params_file_name(12)), bytes(&dev_params(7))).unwrap();
    let files = SrsSet::new(SrsSource::Files(params_dir.clone()));
    assert!(matches!(
        files.get(12),
        Err(SrsError::WrongSize {
            expected: 12,
            found: 7,
            ..
        })
    ));
    let mut bad = bytes(&dev_params(6));
    let n = bad.len();
    bad[n / 2] ^= 0x55;
    std::fs::write(params_dir.join(params_file_name(6)), bad).unwrap();
    assert!(matches!(files.get(6), Err(SrsError::Corrupt { .. })));
}

#[test]
fn chunk_keys_are_cached_and_a_corrupt_entry_is_regenerated() {
    let shape = ChunkShape {
        capacity: 1,
        chain_id: DEFAULT_CHAIN_ID,
    };
    let dir = tempfile::tempdir().unwrap();
    let cache = KeyCache::new(dir.path()).unwrap();
    let params = dev_params(chunk_k(&shape));
    let vk_bytes = |k: &zklanes_prover::chunk::ChunkKeys| {
        let mut v = Vec::new();
        k.vk().write(&mut v, SerdeFormat::RawBytes).unwrap();
        v
    };
    let (made, hit) = keygen_cached(&params, &shape, Some(&cache)).unwrap();
    assert!(!hit);
    let (loaded, hit) = keygen_cached(&params, &shape, Some(&cache)).unwrap();
    assert!(hit);
    assert_eq!(vk_bytes(&made), vk_bytes(&loaded));
    assert_eq!(made.break_points, loaded.break_points);
    assert_eq!(made.advice_cells, loaded.advice_cells);

    // The loaded keys prove, and the proof verifies under the fresh keys.
    let trace =
        zklanes_circuits::fixtures::showcase_chunks(DEFAULT_CHAIN_ID, shape.capacity).remove(0);
    let proof = prove(&params, &loaded, &trace).expect("proves");
    assert!(verify(&params, &made, &proof.snark));

    // Another SRS names another entry.
    let other = other_setup(&params);
    assert_ne!(key_name(&params, &shape), key_name(&other, &shape));

    // A truncated entry is removed and regenerated.
    let path = cache.path(&key_name(&params, &shape));
    let len = std::fs::metadata(&path).unwrap().len();
    let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    f.set_len(len / 3).unwrap();
    let (again, hit) = keygen_cached(&params, &shape, Some(&cache)).unwrap();
    assert!(!hit, "a corrupt entry must not load");
    assert_eq!(vk_bytes(&again), vk_bytes(&made));
    assert_eq!(std::fs::metadata(&path).unwrap().len(), len);
}

/// Params of the same size from another secret.
fn other_setup(p: &ParamsKZG<Bn256>) -> ParamsKZG<Bn256> {
    use rand::SeedableRng;
    ParamsKZG::setup(p.k(), rand_chacha::ChaCha20Rng::seed_from_u64(99))
}
