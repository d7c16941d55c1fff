//! Shared helpers for circuit tests.
#![allow(dead_code)]

use halo2_base::halo2_proofs::halo2curves::bn256::{Bn256, Fr, G1Affine};
use halo2_base::halo2_proofs::plonk::{create_proof, verify_proof, Circuit, ProvingKey};
use halo2_base::halo2_proofs::poly::commitment::ParamsProver;
use halo2_base::halo2_proofs::poly::kzg::commitment::{KZGCommitmentScheme, ParamsKZG};
use halo2_base::halo2_proofs::poly::kzg::multiopen::{ProverSHPLONK, VerifierSHPLONK};
use halo2_base::halo2_proofs::poly::kzg::strategy::SingleStrategy;
use halo2_base::halo2_proofs::transcript::{
    Blake2bRead, Blake2bWrite, Challenge255, TranscriptReadBuffer, TranscriptWriterBuffer,
};
use rand::SeedableRng;

/// A development SRS (known toxic waste: insecure, tests only).
pub fn dev_params(k: u32) -> ParamsKZG<Bn256> {
    ParamsKZG::<Bn256>::setup(k, rand_chacha::ChaCha20Rng::seed_from_u64(k as u64))
}

/// A real SHPLONK proof of `circuit` with one instance column.
pub fn prove<C: Circuit<Fr>>(
    params: &ParamsKZG<Bn256>,
    pk: &ProvingKey<G1Affine>,
    circuit: C,
    instance: &[Fr],
) -> Vec<u8> {
    let mut transcript = Blake2bWrite::<_, G1Affine, Challenge255<_>>::init(vec![]);
    create_proof::<
        KZGCommitmentScheme<Bn256>,
        ProverSHPLONK<'_, Bn256>,
        Challenge255<G1Affine>,
        _,
        _,
        _,
    >(
        params,
        pk,
        &[circuit],
        &[&[instance]],
        rand_chacha::ChaCha20Rng::seed_from_u64(7),
        &mut transcript,
    )
    .expect("proof");
    transcript.finalize()
}

/// Verifies a proof from [`prove`] against `instance`.
pub fn verify(
    params: &ParamsKZG<Bn256>,
    pk: &ProvingKey<G1Affine>,
    proof: &[u8],
    instance: &[Fr],
) -> bool {
    let mut t = Blake2bRead::<_, G1Affine, Challenge255<_>>::init(proof);
    verify_proof::<
        KZGCommitmentScheme<Bn256>,
        VerifierSHPLONK<'_, Bn256>,
        Challenge255<G1Affine>,
        _,
        _,
    >(
        params.verifier_params(),
        pk.get_vk(),
        SingleStrategy::new(params),
        &[&[instance]],
        &mut t,
    )
    .is_ok()
}
