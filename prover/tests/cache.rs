//! The on-disk cache: the development SRS written once and read back
//! byte-identical; Powers-of-Tau-style params files loaded from a directory,
//! smaller sizes derived from a larger file, and missing or corrupt files
//! refused with typed errors; files holding the development secret refused
//! unless explicitly allowed, and files of two setups refused together;
//! the identity of a params file's points; chunk keys stored, loaded back
//! as the same keys, and regenerated when the entry is corrupt.

use halo2_base::halo2_proofs::halo2curves::bn256::{Bn256, G1Affine};
use halo2_base::halo2_proofs::poly::commitment::Params;
use halo2_base::halo2_proofs::poly::kzg::commitment::ParamsKZG;
use halo2_base::halo2_proofs::SerdeFormat;
use zklanes_circuits::chunk::ChunkShape;
use zklanes_executor::params::DEFAULT_CHAIN_ID;
use zklanes_prover::cache::KeyCache;
use zklanes_prover::chunk::{chunk_k, key_name, keygen_cached, prove, verify};
use zklanes_prover::srs::{
    dev_params, is_development, params_file_name, SrsError, SrsId, SrsSet, SrsSource,
};

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

    // A params directory with only k = 10 (the development secret, so it
    // loads only where insecure setups are explicitly allowed): k = 10
    // loads, k = 8 is derived (same secret, Lagrange basis recomputed),
    // k = 11 is missing.
    let params_dir = dir.path().join("params");
    std::fs::create_dir_all(&params_dir).unwrap();
    std::fs::write(
        params_dir.join(params_file_name(10)),
        bytes(&dev_params(10)),
    )
    .unwrap();
    let files = SrsSet::new(SrsSource::Files {
        dir: params_dir.clone(),
        allow_development: true,
    });
    assert_eq!(bytes(&*files.get(10).unwrap()), bytes(&dev_params(10)));
    assert!(
        files.is_insecure(),
        "development params stay labelled insecure"
    );
    assert!(files.label().contains("INSECURE"), "{}", files.label());
    assert_eq!(bytes(&*files.get(8).unwrap()), bytes(&dev_params(8)));
    assert!(matches!(
        files.get(11),
        Err(SrsError::Missing { k: 11, .. })
    ));

    // A file whose name lies about its size, and a corrupt file.
    std::fs::write(params_dir.join(params_file_name(12)), bytes(&dev_params(7))).unwrap();
    let files = SrsSet::new(SrsSource::Files {
        dir: params_dir.clone(),
        allow_development: true,
    });
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

/// By default (what `prove`, `serve` and `verify` use) a params file that
/// holds the development secret is refused with a typed error, at its own
/// size and when a smaller size would be derived from it; a file of
/// another secret loads and is not insecure.
#[test]
fn params_files_of_the_development_secret_are_refused_by_default() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(params_file_name(6)), bytes(&dev_params(6))).unwrap();
    let files = SrsSet::new(SrsSource::files(dir.path()));
    for k in [6, 4] {
        match files.get(k) {
            Err(SrsError::Development { path }) => {
                assert!(path.ends_with(&params_file_name(6)), "{path}")
            }
            other => panic!("k={k}: {:?}", other.map(|_| ())),
        }
    }
    assert!(files.files().is_empty());

    // Another secret: loads, secure, labelled with the identity of its points.
    let other = other_setup(&dev_params(6));
    assert!(!is_development(&other) && is_development(&dev_params(6)));
    std::fs::write(dir.path().join(params_file_name(6)), bytes(&other)).unwrap();
    let files = SrsSet::new(SrsSource::files(dir.path()));
    assert_eq!(bytes(&*files.get(6).unwrap()), bytes(&other));
    assert!(!files.is_insecure());
    let id = SrsId::of(&other);
    assert_eq!(files.files()[0].id, id);
    assert!(files.label().contains(&id.hex()), "{}", files.label());
    assert!(!files.label().contains("INSECURE"), "{}", files.label());
}

/// Two params files of one directory from different secrets would give
/// the layers of one tree different setups: the second one is refused.
#[test]
fn params_files_of_two_setups_are_refused_together() {
    let dir = tempfile::tempdir().unwrap();
    let a = other_setup(&dev_params(6));
    let b = ParamsKZG::<Bn256>::setup(8, {
        use rand::SeedableRng;
        rand_chacha::ChaCha20Rng::seed_from_u64(7)
    });
    std::fs::write(dir.path().join(params_file_name(6)), bytes(&a)).unwrap();
    std::fs::write(dir.path().join(params_file_name(8)), bytes(&b)).unwrap();
    let files = SrsSet::new(SrsSource::files(dir.path()));
    files.get(6).unwrap();
    assert!(matches!(files.get(8), Err(SrsError::MixedSetups { .. })));
    // Each alone is fine.
    let files = SrsSet::new(SrsSource::files(dir.path()));
    files.get(7).unwrap();
}

/// The identity of a params file is the SHA-256 of its bytes without the
/// Lagrange section (so it can be recomputed with standard tools), and
/// changes with any point.
#[test]
fn the_srs_id_hashes_every_point_of_the_file() {
    use sha2::{Digest, Sha256};
    let p = other_setup(&dev_params(5));
    let file = bytes(&p);
    let n = 1usize << 5;
    let mut h = Sha256::new();
    h.update(&file[..4 + 64 * n]);
    h.update(&file[file.len() - 256..]);
    let expected: [u8; 32] = h.finalize().into();
    let id = SrsId::of(&p);
    assert_eq!(id.sha256, expected);
    assert_eq!(id.k, 5);
    // Another setup, and a smaller size of the same setup, differ.
    assert_ne!(SrsId::of(&dev_params(5)), id);
    let mut smaller = p.clone();
    smaller.downsize(4);
    assert_ne!(SrsId::of(&smaller), id);
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
