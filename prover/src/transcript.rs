//! SHPLONK proving and verification with the two transcripts of the proof
//! tree: Poseidon (proofs that will be aggregated in-circuit) and Keccak
//! (the final proof, checked by the EVM verifier; natively it is checked
//! with its accumulator by the aggregator's `verify`). Every circuit here
//! has one instance column. Failures are typed, never panics.

use halo2_base::halo2_proofs::halo2curves::bn256::{Bn256, Fr, G1Affine};
use halo2_base::halo2_proofs::plonk::{
    create_proof, verify_proof, Circuit, ProvingKey, VerifyingKey,
};
use halo2_base::halo2_proofs::poly::commitment::ParamsProver;
use halo2_base::halo2_proofs::poly::kzg::commitment::{KZGCommitmentScheme, ParamsKZG};
use halo2_base::halo2_proofs::poly::kzg::multiopen::{ProverSHPLONK, VerifierSHPLONK};
use halo2_base::halo2_proofs::poly::kzg::strategy::AccumulatorStrategy;
use halo2_base::halo2_proofs::poly::VerificationStrategy;
use halo2_base::halo2_proofs::transcript::{
    EncodedChallenge, TranscriptWrite, TranscriptWriterBuffer,
};
use snark_verifier_sdk::halo2::{PoseidonTranscript, POSEIDON_SPEC};
use snark_verifier_sdk::snark_verifier::system::halo2::transcript::evm::EvmTranscript;
use snark_verifier_sdk::NativeLoader;

use crate::chunk::ProveError;

/// A SHPLONK proof of `circuit` written into `transcript`.
fn prove_into<C, E, T>(
    params: &ParamsKZG<Bn256>,
    pk: &ProvingKey<G1Affine>,
    circuit: C,
    instance: &[Fr],
    transcript: &mut T,
) -> Result<(), ProveError>
where
    C: Circuit<Fr>,
    E: EncodedChallenge<G1Affine>,
    T: TranscriptWrite<G1Affine, E>,
{
    create_proof::<KZGCommitmentScheme<Bn256>, ProverSHPLONK<'_, Bn256>, E, _, T, C>(
        params,
        pk,
        &[circuit],
        &[&[instance]],
        rand::rngs::OsRng,
        transcript,
    )
    .map_err(ProveError::halo2("create_proof"))
}

/// A SHPLONK proof with the Poseidon transcript (aggregatable).
pub fn prove_poseidon<C: Circuit<Fr>>(
    params: &ParamsKZG<Bn256>,
    pk: &ProvingKey<G1Affine>,
    circuit: C,
    instance: &[Fr],
) -> Result<Vec<u8>, ProveError> {
    let mut transcript =
        PoseidonTranscript::<NativeLoader, Vec<u8>>::from_spec(vec![], POSEIDON_SPEC.clone());
    prove_into(params, pk, circuit, instance, &mut transcript)?;
    Ok(transcript.finalize())
}

/// Verifies a [`prove_poseidon`] proof, including the final pairing check.
pub fn verify_poseidon(
    params: &ParamsKZG<Bn256>,
    vk: &VerifyingKey<G1Affine>,
    proof: &[u8],
    instance: &[Fr],
) -> bool {
    let mut transcript =
        PoseidonTranscript::<NativeLoader, &[u8]>::from_spec(proof, POSEIDON_SPEC.clone());
    verify_proof::<_, VerifierSHPLONK<'_, Bn256>, _, _, _>(
        params.verifier_params(),
        vk,
        AccumulatorStrategy::new(params.verifier_params()),
        &[&[instance]],
        &mut transcript,
    )
    .map(VerificationStrategy::<_, VerifierSHPLONK<'_, Bn256>>::finalize)
    .unwrap_or(false)
}

/// A SHPLONK proof with the Keccak (EVM) transcript.
pub fn prove_evm<C: Circuit<Fr>>(
    params: &ParamsKZG<Bn256>,
    pk: &ProvingKey<G1Affine>,
    circuit: C,
    instance: &[Fr],
) -> Result<Vec<u8>, ProveError> {
    let mut transcript: EvmTranscript<G1Affine, NativeLoader, Vec<u8>, Vec<u8>> =
        TranscriptWriterBuffer::<_, G1Affine, _>::init(Vec::new());
    prove_into(params, pk, circuit, instance, &mut transcript)?;
    Ok(transcript.finalize())
}
