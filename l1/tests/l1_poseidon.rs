//! The generated Solidity Poseidon equals the executor's, in revm, and
//! refuses non-canonical inputs.

use ark_ff::{BigInteger, PrimeField, UniformRand};
use rand::SeedableRng;
use zklanes_executor::field::Fr;
use zklanes_executor::poseidon::compress_fr;
use zklanes_l1::host::{selector, EvmHost};
use zklanes_l1::poseidon::{source, CONTRACT};
use zklanes_l1::solc::compile_solidity;

fn word(f: &Fr) -> Vec<u8> {
    f.into_bigint().to_bytes_be()
}

#[test]
fn solidity_poseidon_matches_the_executor() {
    let code = compile_solidity(&source(), Some(CONTRACT)).expect("compiles");
    let mut host = EvmHost::new();
    let at = host.deploy(&code).expect("deploys");
    let sel = selector("compress(uint256,uint256,uint256)");
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(5);
    let mut gas = vec![];
    for i in 0..8 {
        let [t, a, b] = if i == 0 {
            [Fr::from(0u64); 3]
        } else {
            [Fr::from(i as u64), Fr::rand(&mut rng), Fr::rand(&mut rng)]
        };
        let mut data = sel.to_vec();
        for x in [t, a, b] {
            data.extend(word(&x));
        }
        let out = host.call(at, data).expect("call");
        assert_eq!(out.output, word(&compress_fr(t, a, b)), "input {i}");
        gas.push(out.gas);
    }
    eprintln!(
        "Solidity Poseidon: {} bytes of code, {} gas per call (transaction included)",
        code.len(),
        gas[1]
    );
    // The modulus itself is refused.
    let mut data = sel.to_vec();
    data.extend(Fr::MODULUS.to_bytes_be());
    data.extend([0u8; 64]);
    assert!(host.call(at, data).is_err());
}
