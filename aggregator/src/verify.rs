//! Full native verification of aggregation proofs: the proof itself and the
//! KZG accumulator it carries (the deferred pairing check of every proof
//! below it), with the deciding key of the shared SRS. `verify_proof` alone
//! checks only the first part.

use halo2_base::halo2_proofs::halo2curves::bn256::{Bn256, Fr, G1Affine};
use halo2_base::halo2_proofs::poly::kzg::commitment::ParamsKZG;
use snark_verifier_sdk::halo2::{PoseidonTranscript, POSEIDON_SPEC};
use snark_verifier_sdk::snark_verifier::pcs::kzg::KzgDecidingKey;
use snark_verifier_sdk::snark_verifier::system::halo2::transcript::evm::EvmTranscript;
use snark_verifier_sdk::snark_verifier::verifier::plonk::PlonkProtocol;
use snark_verifier_sdk::snark_verifier::verifier::SnarkVerifier;
use snark_verifier_sdk::{NativeLoader, PlonkVerifier, SHPLONK};

/// The deciding key of `params` (generator, `g2`, `s·g2`).
pub fn deciding_key(params: &ParamsKZG<Bn256>) -> KzgDecidingKey<Bn256> {
    use halo2_base::halo2_proofs::poly::commitment::ParamsProver;
    (params.get_g()[0], params.g2(), params.s_g2()).into()
}

/// Verifies an aggregation proof (Poseidon transcript when `!evm`, Keccak
/// when `evm`) and decides every accumulator it carries.
pub fn verify_aggregation(
    params: &ParamsKZG<Bn256>,
    protocol: &PlonkProtocol<G1Affine>,
    instances: &[Fr],
    proof: &[u8],
    evm: bool,
) -> bool {
    let dk = deciding_key(params);
    let instances = vec![instances.to_vec()];
    let run = |parsed: Result<_, _>| match parsed {
        Ok(p) => PlonkVerifier::<SHPLONK>::verify(&dk, protocol, &instances, &p).is_ok(),
        Err(_) => false,
    };
    if evm {
        let mut t = EvmTranscript::<G1Affine, NativeLoader, &[u8], Vec<u8>>::new(proof);
        run(PlonkVerifier::<SHPLONK>::read_proof(
            &dk, protocol, &instances, &mut t,
        ))
    } else {
        let mut t =
            PoseidonTranscript::<NativeLoader, &[u8]>::from_spec(proof, POSEIDON_SPEC.clone());
        run(PlonkVerifier::<SHPLONK>::read_proof(
            &dk, protocol, &instances, &mut t,
        ))
    }
}
