//! The development SRS: KZG parameters from a fixed, publicly known secret.
//! **Insecure**: anyone can recompute the toxic waste. For tests,
//! benchmarks and the demo only; production loads a Powers-of-Tau-derived
//! file instead.
//!
//! Every `k` derives from the same secret, so circuits of different sizes
//! (chunks, aggregation layers) share one setup, as recursion requires. The
//! generator is parallel: the powers `sⁱ` and the Lagrange scalars
//! `Lᵢ(s) = (sⁿ − 1)/n · ωⁱ/(s − ωⁱ)` are field arithmetic (batch-inverted),
//! and each point is a fixed-base multiplication of the generator through
//! a table of byte windows (32 mixed additions per point), instead of
//! halo2's `ParamsKZG::setup`, which runs a full scalar multiplication per
//! point.

use halo2_base::halo2_proofs::arithmetic::Field;
use halo2_base::halo2_proofs::halo2curves::bn256::{Bn256, Fr, G1Affine, G2Affine, G1};
use halo2_base::halo2_proofs::halo2curves::ff::PrimeField;
use halo2_base::halo2_proofs::halo2curves::group::prime::PrimeCurveAffine;
use halo2_base::halo2_proofs::halo2curves::group::{Curve, Group};
use halo2_base::halo2_proofs::poly::commitment::{Params, ParamsProver};
use halo2_base::halo2_proofs::poly::kzg::commitment::ParamsKZG;
use rand::SeedableRng;
use rayon::prelude::*;

/// Seed of the development secret (public: the setup is insecure).
const DEV_SEED: u64 = 0x7a6c_616e_6573; // "zlanes"

/// Elements per parallel task.
const TASK: usize = 1 << 12;

/// The development secret.
fn dev_secret() -> Fr {
    Fr::random(rand_chacha::ChaCha20Rng::seed_from_u64(DEV_SEED))
}

/// `j·256ⁱ·G` for every byte window `i` and byte `j`.
struct FixedBase {
    table: Vec<[G1Affine; 256]>,
}

impl FixedBase {
    fn generator() -> Self {
        let mut base = G1::generator();
        let mut table = Vec::with_capacity(32);
        for _ in 0..32 {
            let mut row = [G1::identity(); 256];
            for j in 1..256 {
                row[j] = row[j - 1] + base;
            }
            let mut affine = [G1Affine::identity(); 256];
            G1::batch_normalize(&row, &mut affine);
            table.push(affine);
            base = row[255] + base;
        }
        Self { table }
    }

    fn mul(&self, s: &Fr) -> G1 {
        let bytes = s.to_repr();
        let mut acc = G1::identity();
        for (i, b) in bytes.as_ref().iter().enumerate() {
            if *b != 0 {
                acc += self.table[i][*b as usize];
            }
        }
        acc
    }

    /// `scalars[i]·G`, in parallel, normalized.
    fn mul_all(&self, scalars: &[Fr]) -> Vec<G1Affine> {
        let mut out = vec![G1Affine::identity(); scalars.len()];
        out.par_chunks_mut(TASK)
            .zip(scalars.par_chunks(TASK))
            .for_each(|(o, s)| {
                let proj: Vec<G1> = s.iter().map(|x| self.mul(x)).collect();
                G1::batch_normalize(&proj, o);
            });
        out
    }
}

/// `start·step^i` for `i < n`, in parallel.
fn geometric(n: usize, step: Fr) -> Vec<Fr> {
    let mut out = vec![Fr::ZERO; n];
    out.par_chunks_mut(TASK).enumerate().for_each(|(c, o)| {
        let mut x = step.pow_vartime([(c * TASK) as u64]);
        for v in o.iter_mut() {
            *v = x;
            x *= step;
        }
    });
    out
}

/// Inverts every element in place (Montgomery's trick per task); none may be zero.
fn batch_invert(values: &mut [Fr]) {
    values.par_chunks_mut(TASK).for_each(|chunk| {
        let mut prefix = Vec::with_capacity(chunk.len());
        let mut acc = Fr::ONE;
        for v in chunk.iter() {
            prefix.push(acc);
            acc *= v;
        }
        let mut inv = acc.invert().expect("nonzero");
        for (v, p) in chunk.iter_mut().zip(prefix).rev() {
            let next = inv * *v;
            *v = inv * p;
            inv = next;
        }
    });
}

/// The insecure development SRS for `2^k` rows: the same secret for every `k`.
pub fn dev_params(k: u32) -> ParamsKZG<Bn256> {
    assert!(k <= Fr::S, "k above the field's two-adicity");
    let n = 1usize << k;
    let s = dev_secret();
    let table = FixedBase::generator();
    let g = table.mul_all(&geometric(n, s));
    // ω: a primitive 2^k-th root of unity.
    let mut omega = Fr::ROOT_OF_UNITY;
    for _ in k..Fr::S {
        omega = omega.square();
    }
    let powers = geometric(n, omega);
    let mut lagrange: Vec<Fr> = powers.par_iter().map(|w| s - w).collect();
    batch_invert(&mut lagrange);
    let n_inv = Fr::from(n as u64).invert().expect("n is nonzero");
    let multiplier = (s.pow_vartime([n as u64]) - Fr::ONE) * n_inv;
    lagrange
        .par_iter_mut()
        .zip(powers.par_iter())
        .for_each(|(l, w)| *l *= multiplier * w);
    let g_lagrange = table.mul_all(&lagrange);
    let g2 = G2Affine::generator();
    let s_g2: G2Affine = (g2 * s).to_affine();
    // `from_parts` is a method: a tiny throwaway instance provides it.
    let shell = ParamsKZG::<Bn256>::setup(1, rand_chacha::ChaCha20Rng::seed_from_u64(0));
    shell.from_parts(k, g, Some(g_lagrange), g2, s_g2)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fast generator equals halo2's reference setup for the same secret.
    #[test]
    fn matches_the_reference_setup() {
        let k = 5;
        let fast = dev_params(k);
        let reference =
            ParamsKZG::<Bn256>::setup(k, rand_chacha::ChaCha20Rng::seed_from_u64(DEV_SEED));
        let (mut a, mut b) = (vec![], vec![]);
        fast.write(&mut a).expect("write");
        reference.write(&mut b).expect("write");
        assert_eq!(a, b);
    }

    /// A `s·G2` on the curve but outside the prime-order subgroup (BN254's
    /// G2 has a cofactor) is refused by the structure check.
    #[test]
    fn a_g2_point_outside_the_subgroup_is_refused() {
        use halo2_base::halo2_proofs::arithmetic::CurveAffine;
        use halo2_base::halo2_proofs::halo2curves::bn256::{Fq2, G2};
        use halo2_base::halo2_proofs::halo2curves::group::cofactor::CofactorGroup;
        let k = 3;
        let good = dev_params(k);
        assert!(check_structure(&good).is_ok());
        assert!(is_development(&good));
        let outside = (1u64..)
            .find_map(|i| {
                let x = Fq2::from(i);
                let y: Option<Fq2> = (x.square() * x + G2Affine::b()).sqrt().into();
                let p: Option<G2Affine> = y.and_then(|y| G2Affine::from_xy(x, y).into());
                p.filter(|p| !bool::from(G2::from(*p).is_torsion_free()))
            })
            .expect("the twist has points outside the subgroup");
        let g: Vec<G1Affine> = good.get_g().to_vec();
        let shell = ParamsKZG::<Bn256>::setup(1, rand_chacha::ChaCha20Rng::seed_from_u64(0));
        let bad = shell.from_parts(k, g, None, good.g2(), outside);
        let err = check_structure(&bad).unwrap_err();
        assert!(err.contains("subgroup"), "{err}");
    }
}

/// How the insecure development setup is labelled wherever it is used.
pub const DEVELOPMENT_LABEL: &str = "development (INSECURE: public toxic waste)";

/// The identity of a setup's points: SHA-256 over `k` (`u32`, little
/// endian), the `2^k` G1 powers, then `G2` and `s·G2`, each point in
/// halo2's raw encoding. These are the bytes of a `kzg_bn254_{k}.srs` file
/// (`ParamsKZG::write`) without its Lagrange section, so the identity of a
/// file can be recomputed with standard tools and compared out of band with
/// a ceremony's published value:
/// `(head -c $((4 + 64 * 2**k)) F; tail -c 256 F) | sha256sum`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SrsId {
    /// The size `2^k` of the setup.
    pub k: u32,
    /// The digest.
    pub sha256: [u8; 32],
}

impl SrsId {
    /// The identity of `params` (hashes every point: about a second at k = 22).
    pub fn of(params: &ParamsKZG<Bn256>) -> Self {
        use halo2_base::halo2_proofs::halo2curves::serde::SerdeObject;
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        h.update(params.k().to_le_bytes());
        let mut buf = Vec::with_capacity(64 * TASK);
        for chunk in params.get_g().chunks(TASK) {
            buf.clear();
            for p in chunk {
                p.write_raw(&mut buf).expect("writing to memory");
            }
            h.update(&buf);
        }
        buf.clear();
        params.g2().write_raw(&mut buf).expect("writing to memory");
        params
            .s_g2()
            .write_raw(&mut buf)
            .expect("writing to memory");
        h.update(&buf);
        Self {
            k: params.k(),
            sha256: h.finalize().into(),
        }
    }

    /// The digest as 0x-prefixed hex.
    pub fn hex(&self) -> String {
        format!("0x{}", hex::encode(self.sha256))
    }
}

impl std::fmt::Display for SrsId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "k={} points sha256 {}", self.k, self.hex())
    }
}

/// Whether `params` come from the development secret (whose value is
/// public): `g₁ = τ_dev·g₀` or `s·G2 = τ_dev·G2`.
pub fn is_development(params: &ParamsKZG<Bn256>) -> bool {
    let s = dev_secret();
    let g = params.get_g();
    let by_g1 = g.len() > 1 && (g[0] * s).to_affine() == g[1];
    let by_g2 = (params.g2() * s).to_affine() == params.s_g2();
    by_g1 || by_g2
}

/// Why SRS parameters could not be had.
#[derive(Debug, thiserror::Error)]
pub enum SrsError {
    /// No params file of size `2^k` or larger in the params directory.
    #[error("no params file kzg_bn254_{{j}}.srs with j >= {k} in {dir}")]
    Missing {
        /// The size asked for.
        k: u32,
        /// The params directory.
        dir: String,
    },
    /// A params file does not parse (bad encoding, a point off the curve or
    /// outside the subgroup, powers of different secrets).
    #[error("params file {path}: {reason}")]
    Corrupt {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// The file holds another size than its name says.
    #[error("params file {path} holds k={found}, its name says k={expected}")]
    WrongSize {
        /// The file.
        path: String,
        /// Size from the name.
        expected: u32,
        /// Size in the file.
        found: u32,
    },
    /// A params file holds the development setup, whose secret is public
    /// (anyone can forge proofs under it), and insecure setups are not allowed.
    #[error(
        "params file {path} holds the development setup: its secret is public, so anyone can forge \
         proofs under it; refused (use a Powers-of-Tau ceremony file, see README \"Production setup\")"
    )]
    Development {
        /// The file.
        path: String,
    },
    /// Two params files of one directory come from different setups (every
    /// circuit of a proof tree must share one secret).
    #[error("params file {path} is from another setup than {other} (one setup for every size)")]
    MixedSetups {
        /// The file.
        path: String,
        /// A file loaded before it.
        other: String,
    },
    /// The cache could not be written.
    #[error(transparent)]
    Cache(#[from] crate::cache::CacheError),
}

/// Where a set's parameters come from.
#[derive(Clone, Debug)]
pub enum SrsSource {
    /// The development secret (**insecure**), optionally cached on disk.
    Development(Option<crate::cache::KeyCache>),
    /// Powers-of-Tau-derived files `kzg_bn254_{k}.srs` (halo2's format) in a
    /// directory; a smaller `k` is derived from the smallest larger file.
    Files {
        /// The params directory.
        dir: std::path::PathBuf,
        /// Accept files that hold the development setup (**insecure**: for
        /// the demo and tests only; every command-line path passes `false`).
        allow_development: bool,
    },
}

impl SrsSource {
    /// Params files from `dir`; files holding the development setup are refused.
    pub fn files(dir: impl Into<std::path::PathBuf>) -> Self {
        Self::Files {
            dir: dir.into(),
            allow_development: false,
        }
    }
}

/// A params file a set has loaded.
#[derive(Clone, Debug)]
pub struct SrsFile {
    /// The file.
    pub path: std::path::PathBuf,
    /// The identity of its points.
    pub id: SrsId,
    /// It holds the development setup (only loaded when allowed).
    pub development: bool,
}

/// SRS parameters by `k`, loaded or generated on first use and shared
/// (every circuit of a proof tree must use one setup).
pub struct SrsSet {
    source: SrsSource,
    by_k: std::sync::Mutex<std::collections::BTreeMap<u32, std::sync::Arc<ParamsKZG<Bn256>>>>,
    /// Params files loaded whole, by their `k`.
    files: std::sync::Mutex<std::collections::BTreeMap<u32, LoadedFile>>,
}

struct LoadedFile {
    file: SrsFile,
    params: std::sync::Arc<ParamsKZG<Bn256>>,
}

/// The file name of the parameters of size `2^k`.
pub fn params_file_name(k: u32) -> String {
    format!("kzg_bn254_{k}.srs")
}

/// Reads a params file with every point checked (on the curve, canonical).
pub fn read_params_file(path: &std::path::Path) -> Result<ParamsKZG<Bn256>, SrsError> {
    use halo2_base::halo2_proofs::SerdeFormat;
    let corrupt = |reason: String| SrsError::Corrupt {
        path: path.display().to_string(),
        reason,
    };
    let file = std::fs::File::open(path).map_err(|e| corrupt(e.to_string()))?;
    let mut r = std::io::BufReader::with_capacity(1 << 20, file);
    let params = ParamsKZG::<Bn256>::read_custom(&mut r, SerdeFormat::RawBytes)
        .map_err(|e| corrupt(e.to_string()))?;
    check_structure(&params).map_err(corrupt)?;
    Ok(params)
}

/// Checks that `params` is a well-formed setup (halo2's raw reader checks
/// field ranges only): every power on the curve; both G2 elements on the
/// curve and in the prime-order subgroup, the generators not the identity;
/// the powers consistent with `s·G2`,
/// `e(Σ rᵢ·gᵢ₊₁, G2) = e(Σ rᵢ·gᵢ, s·G2)` for random `rᵢ`; and the
/// Lagrange basis consistent with the powers (a random polynomial commits
/// to the same point through both bases).
pub fn check_structure(params: &ParamsKZG<Bn256>) -> Result<(), String> {
    use halo2_base::halo2_proofs::arithmetic::{best_multiexp, CurveAffine};
    use halo2_base::halo2_proofs::halo2curves::bn256::G2;
    use halo2_base::halo2_proofs::halo2curves::group::cofactor::CofactorGroup;
    use halo2_base::halo2_proofs::halo2curves::pairing::Engine;
    use halo2_base::halo2_proofs::poly::commitment::Blind;
    use halo2_base::halo2_proofs::poly::EvaluationDomain;
    let k = params.k();
    let g = params.get_g();
    let n = 1usize << k;
    if g.len() != n {
        return Err(format!("{} powers for k={k}", g.len()));
    }
    if !g.par_iter().all(|p| bool::from(p.is_on_curve())) {
        return Err("a G1 power is not on the curve".into());
    }
    if bool::from(g[0].is_identity()) {
        return Err("the G1 generator is the identity".into());
    }
    let (g2, s_g2) = (params.g2(), params.s_g2());
    if !bool::from(g2.is_on_curve()) || !bool::from(s_g2.is_on_curve()) {
        return Err("a G2 element is not on the curve".into());
    }
    if bool::from(g2.is_identity()) {
        return Err("the G2 generator is the identity".into());
    }
    // BN254's G2 has a cofactor: an on-curve point may lie outside the
    // prime-order subgroup, where the pairing checks mean nothing.
    if !bool::from(G2::from(g2).is_torsion_free()) || !bool::from(G2::from(s_g2).is_torsion_free())
    {
        return Err("a G2 element is not in the prime-order subgroup".into());
    }
    let mut rng = rand_chacha::ChaCha20Rng::from_entropy();
    let r: Vec<Fr> = (0..n).map(|_| Fr::random(&mut rng)).collect();
    if n > 1 {
        let a = best_multiexp(&r[..n - 1], &g[..n - 1]).to_affine();
        let b = best_multiexp(&r[..n - 1], &g[1..]).to_affine();
        if Bn256::pairing(&b, &g2) != Bn256::pairing(&a, &s_g2) {
            return Err("the G1 powers are not powers of the G2 secret".into());
        }
    }
    let domain = EvaluationDomain::<Fr>::new(1, k);
    let evals = domain.lagrange_from_vec(r);
    let through_lagrange = params.commit_lagrange(&evals, Blind::default());
    let through_powers = params.commit(&domain.lagrange_to_coeff(evals), Blind::default());
    if through_powers.to_affine() != through_lagrange.to_affine() {
        return Err("the Lagrange basis does not match the powers".into());
    }
    Ok(())
}

impl SrsSet {
    /// The development SRS in memory only (**insecure**).
    pub fn development() -> Self {
        Self::new(SrsSource::Development(None))
    }

    /// A set from `source`.
    pub fn new(source: SrsSource) -> Self {
        Self {
            source,
            by_k: Default::default(),
            files: Default::default(),
        }
    }

    /// Where the parameters come from.
    pub fn source(&self) -> &SrsSource {
        &self.source
    }

    /// Whether the setup is the insecure development one: the development
    /// source, or a params file holding the development secret (loaded
    /// because the source allowed it).
    pub fn is_insecure(&self) -> bool {
        match self.source {
            SrsSource::Development(_) => true,
            SrsSource::Files { .. } => self.files().iter().any(|f| f.development),
        }
    }

    /// The params files loaded so far, by size.
    pub fn files(&self) -> Vec<SrsFile> {
        let files = self.files.lock().unwrap_or_else(|e| e.into_inner());
        files.values().map(|f| f.file.clone()).collect()
    }

    /// Which setup this is, for reports: [`DEVELOPMENT_LABEL`], or the params
    /// directory with the identity of every file loaded so far.
    pub fn label(&self) -> String {
        match &self.source {
            SrsSource::Development(_) => DEVELOPMENT_LABEL.into(),
            SrsSource::Files { dir, .. } => {
                let files: Vec<String> = self
                    .files()
                    .iter()
                    .map(|f| {
                        let name = f.path.file_name().map_or_else(
                            || f.path.display().to_string(),
                            |n| n.to_string_lossy().into_owned(),
                        );
                        let insecure = if f.development {
                            " (INSECURE: the development secret)"
                        } else {
                            ""
                        };
                        format!("{name} ({}){insecure}", f.id)
                    })
                    .collect();
                if files.is_empty() {
                    format!("params-dir {}", dir.display())
                } else {
                    format!("params-dir {}: {}", dir.display(), files.join(", "))
                }
            }
        }
    }

    /// The parameters for `2^k` rows.
    pub fn get(&self, k: u32) -> Result<std::sync::Arc<ParamsKZG<Bn256>>, SrsError> {
        let mut map = self.by_k.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(p) = map.get(&k) {
            return Ok(p.clone());
        }
        let params = match &self.source {
            SrsSource::Development(None) => std::sync::Arc::new(dev_params(k)),
            SrsSource::Development(Some(cache)) => {
                let name = format!("dev_bn254_{k}.srs");
                std::sync::Arc::new(
                    match cache.load(&name, |r| {
                        let mut r = r;
                        ParamsKZG::<Bn256>::read(&mut r)
                    }) {
                        Some(p) if p.k() == k => p,
                        _ => {
                            let p = dev_params(k);
                            cache.store(&name, |w| {
                                let mut w = w;
                                p.write(&mut w)
                            })?;
                            p
                        }
                    },
                )
            }
            SrsSource::Files {
                dir,
                allow_development,
            } => self.load_dir(dir, *allow_development, k)?,
        };
        map.insert(k, params.clone());
        Ok(params)
    }

    /// `kzg_bn254_{k}.srs` from `dir`, or the smallest larger file
    /// downsized; each file is read and checked once, refused when it holds
    /// the development setup (unless allowed) or another setup than the
    /// files loaded before it.
    fn load_dir(
        &self,
        dir: &std::path::Path,
        allow_development: bool,
        k: u32,
    ) -> Result<std::sync::Arc<ParamsKZG<Bn256>>, SrsError> {
        let found = (k..=Fr::S)
            .map(|j| (j, dir.join(params_file_name(j))))
            .find(|(_, p)| p.is_file());
        let Some((j, path)) = found else {
            return Err(SrsError::Missing {
                k,
                dir: dir.display().to_string(),
            });
        };
        let mut files = self.files.lock().unwrap_or_else(|e| e.into_inner());
        let full = match files.get(&j) {
            Some(f) => f.params.clone(),
            None => {
                let params = read_params_file(&path)?;
                if params.k() != j {
                    return Err(SrsError::WrongSize {
                        path: path.display().to_string(),
                        expected: j,
                        found: params.k(),
                    });
                }
                let development = is_development(&params);
                if development && !allow_development {
                    return Err(SrsError::Development {
                        path: path.display().to_string(),
                    });
                }
                if let Some(other) = files.values().find(|f| {
                    let o = &f.params;
                    o.get_g()[0] != params.get_g()[0]
                        || o.g2() != params.g2()
                        || o.s_g2() != params.s_g2()
                }) {
                    return Err(SrsError::MixedSetups {
                        path: path.display().to_string(),
                        other: other.file.path.display().to_string(),
                    });
                }
                let id = SrsId::of(&params);
                if development {
                    tracing::warn!(path = %path.display(), "params file holds the development setup (INSECURE), allowed");
                }
                tracing::info!(path = %path.display(), id = %id, "params file loaded");
                let params = std::sync::Arc::new(params);
                files.insert(
                    j,
                    LoadedFile {
                        file: SrsFile {
                            path,
                            id,
                            development,
                        },
                        params: params.clone(),
                    },
                );
                params
            }
        };
        if j == k {
            return Ok(full);
        }
        tracing::info!(from = j, to = k, "deriving smaller params");
        let mut params = (*full).clone();
        params.downsize(k);
        Ok(std::sync::Arc::new(params))
    }
}
