//! The Rollup contract (`contracts/ZklanesRollup.sol`): its bytecode with
//! constructor arguments, and the calldata of `finalize`.

use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use halo2_base::halo2_proofs::halo2curves::ff::PrimeField;
use revm::primitives::Address;

use crate::evm::{compile_solidity, EvmError};
use crate::evm_host::selector;
use crate::node::NODE_INSTANCES;

/// The contract's Solidity source.
pub const SOURCE: &str = include_str!("../../contracts/ZklanesRollup.sol");

fn word_fr(f: &Fr) -> [u8; 32] {
    let mut w = f.to_repr();
    w.as_mut().reverse();
    let mut out = [0u8; 32];
    out.copy_from_slice(w.as_ref());
    out
}

fn word_u64(v: u64) -> [u8; 32] {
    let mut w = [0u8; 32];
    w[24..].copy_from_slice(&v.to_be_bytes());
    w
}

/// Creation bytecode with `constructor(verifier, genesis_root)` appended.
pub fn deployment(verifier: Address, genesis_root: &Fr) -> Result<Vec<u8>, EvmError> {
    let mut code = compile_solidity(SOURCE, Some("ZklanesRollup"))?;
    let mut addr = [0u8; 32];
    addr[12..].copy_from_slice(verifier.as_slice());
    code.extend(addr);
    code.extend(word_fr(genesis_root));
    Ok(code)
}

/// Calldata of `finalize(batch, instances, proof)`.
pub fn finalize_calldata(batch: u64, instances: &[Fr], proof: &[u8]) -> Vec<u8> {
    assert_eq!(instances.len(), NODE_INSTANCES, "final proof instances");
    let mut data = selector(&format!("finalize(uint64,uint256[{NODE_INSTANCES}],bytes)")).to_vec();
    data.extend(word_u64(batch));
    for i in instances {
        data.extend(word_fr(i));
    }
    // Head: batch, the static array, then the offset of `proof`.
    let offset = 32 * (1 + NODE_INSTANCES + 1);
    data.extend(word_u64(offset as u64));
    data.extend(word_u64(proof.len() as u64));
    data.extend(proof);
    data.resize(data.len() + (32 - proof.len() % 32) % 32, 0);
    data
}
