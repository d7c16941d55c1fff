//! What the Rollup contract's tests share: a stub verifier, chains with
//! assets registered, public data and instances crafted natively with the
//! executor's own encoding and evaluation (so the Solidity and the Rust
//! must agree), ERC-20 calls.

#![allow(dead_code)]

use ark_ff::Zero as _;
use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use halo2_base::halo2_proofs::halo2curves::ff::PrimeField as _;
use revm::primitives::Address;
use zklanes_executor::commitments::{challenge, data_elements, evaluate, word};
use zklanes_executor::exec::Receipt;
use zklanes_executor::field::Fr as NativeFr;
use zklanes_executor::l1::L1Batch;
use zklanes_executor::signature::PublicKey;
use zklanes_executor::tx::{Deposit, Transfer, TxBody, Withdraw};
use zklanes_l1::chain::{revert_reason, L1Chain};
use zklanes_l1::error::EvmError;
use zklanes_l1::host::selector;
use zklanes_l1::log::L1Log;
use zklanes_l1::rollup::Genesis;
use zklanes_l1::withdrawals::{WithdrawalProof, WithdrawalTree};

/// Creation code of a STUB verifier whose runtime is a single `STOP`: every
/// staticcall to it succeeds, so these tests exercise the Rollup contract's
/// own checks. The real generated verifier runs with the same contract in
/// the root package's end-to-end test.
pub const STUB_VERIFIER_ACCEPTS_ALL: &str = "6001600c60003960016000f300";
/// Creation code of a STUB verifier whose runtime is `INVALID` (every call fails).
pub const STUB_VERIFIER_REJECTS_ALL: &str = "6001600c60003960016000f3fe";

/// Asset ids of the tests' chains: ETH and a test ERC-20.
pub const ETH: u32 = 1;
pub const TOKEN: u32 = 2;

/// Source of a test contract under `contracts/test/`.
pub fn test_contract(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/../contracts/test/{name}.sol",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("test contract source")
}

/// A chain over the accepting stub verifier at `genesis`, from root 0.
pub fn stub_chain(genesis: Genesis) -> L1Chain {
    stub_chain_at(&Fr::zero(), genesis)
}

pub fn stub_chain_at(root: &Fr, genesis: Genesis) -> L1Chain {
    L1Chain::deploy(
        &hex::decode(STUB_VERIFIER_ACCEPTS_ALL).unwrap(),
        root,
        genesis,
    )
    .expect("deploys")
}

/// A new chain with ETH as asset [`ETH`] and a test ERC-20 as [`TOKEN`];
/// returns the token.
pub fn chain_with_assets() -> (L1Chain, Address) {
    let mut l1 = stub_chain(Genesis::default());
    l1.register_asset(ETH, Address::ZERO)
        .expect("ETH registered");
    let token = l1.register_test_token(TOKEN).expect("token registered");
    (l1, token)
}

/// The `Error(string)` reason of a revert.
pub fn reason(e: EvmError) -> String {
    revert_reason(&e).unwrap_or_else(|| format!("no reason ({e})"))
}

pub fn reverted<T: std::fmt::Debug>(r: Result<T, EvmError>) -> String {
    match r {
        Ok(v) => panic!("expected a revert, got {v:?}"),
        Err(e) => reason(e),
    }
}

/// A native field element as the proof system's.
pub fn h2(f: &NativeFr) -> Fr {
    let mut le = word(f);
    le.reverse();
    Fr::from_repr(le).expect("canonical")
}

/// The final proof's instances for `data`: zero accumulator limbs, then
/// `[prev_root, new_root, P, x, y, xn, first, last]` with `x` the
/// executor's challenge of `(P, data)` and `(y, xn)` its evaluation.
pub fn instances_for(
    prev: &NativeFr,
    new: &NativeFr,
    p: &NativeFr,
    data: &[NativeFr],
    first: u64,
    last: u64,
) -> Vec<Fr> {
    let x = challenge(*p, data);
    let (y, xn) = evaluate(x, data);
    let mut out = vec![Fr::zero(); 12];
    out.extend(
        [
            *prev,
            *new,
            *p,
            x,
            y,
            xn,
            NativeFr::from(first),
            NativeFr::from(last),
        ]
        .iter()
        .map(h2),
    );
    out
}

/// An arbitrary data commitment: L1 never recomputes `P`, it only draws
/// the challenge from it.
pub fn some_p() -> NativeFr {
    NativeFr::from(0xda7au64)
}

fn elements(body: TxBody) -> Vec<NativeFr> {
    let receipt = Receipt {
        tx_type: body.tx_type(),
        outputs: [0, 0],
    };
    data_elements(&body, &receipt)
}

pub fn deposit_data(d: &Deposit) -> Vec<NativeFr> {
    elements(TxBody::Deposit(d.clone()))
}

pub fn withdraw_data(w: &Withdraw) -> Vec<NativeFr> {
    elements(TxBody::Withdraw(w.clone()))
}

pub fn transfer_data(from: u32, to: u32, asset: u32, amount: u128) -> Vec<NativeFr> {
    elements(TxBody::Transfer(Transfer {
        from,
        to,
        asset,
        amount,
        nonce: 0,
    }))
}

pub fn zero_key() -> PublicKey {
    PublicKey {
        x: NativeFr::zero(),
        y: NativeFr::zero(),
    }
}

pub fn deposit(
    queue_index: u64,
    sender: u8,
    account: u32,
    pubkey: PublicKey,
    asset: u32,
    amount: u128,
) -> Deposit {
    Deposit {
        queue_index,
        l1_sender: [sender; 20],
        account,
        pubkey,
        asset,
        amount,
    }
}

pub fn withdraw(account: u32, asset: u32, amount: u128, to: [u8; 20]) -> Withdraw {
    Withdraw {
        account,
        asset,
        amount,
        l1_address: to,
        nonce: 0,
    }
}

/// An L1 batch of raw data (deposits and withdrawals are only what the
/// helpers that queue or check them read).
pub fn batch(data: Vec<NativeFr>) -> L1Batch {
    L1Batch {
        data,
        ..Default::default()
    }
}

/// Finalizes batch `number` alone from root `prev` to `new` with `data`,
/// the instances computed for `data`.
pub fn finalize_data(
    l1: &mut L1Chain,
    number: u64,
    prev: u64,
    new: u64,
    data: &[NativeFr],
) -> Result<u64, EvmError> {
    let inst = instances_for(
        &NativeFr::from(prev),
        &NativeFr::from(new),
        &some_p(),
        data,
        number,
        number,
    );
    l1.finalize(number, 1, &inst, &batch(data.to_vec()), &[0u8; 64])
        .map(|o| o.gas)
}

/// `selector(signature)` followed by the words.
pub fn abi(signature: &str, words: &[[u8; 32]]) -> Vec<u8> {
    let mut out = selector(signature).to_vec();
    for w in words {
        out.extend(w);
    }
    out
}

pub fn address_word(a: Address) -> [u8; 32] {
    let mut w = [0u8; 32];
    w[12..].copy_from_slice(a.as_slice());
    w
}

pub fn u128_word(v: u128) -> [u8; 32] {
    let mut w = [0u8; 32];
    w[16..].copy_from_slice(&v.to_be_bytes());
    w
}

pub fn word_to_u128(out: &[u8]) -> u128 {
    assert_eq!(out.len(), 32);
    assert!(out[..16].iter().all(|b| *b == 0), "fits 128 bits");
    u128::from_be_bytes(out[16..].try_into().unwrap())
}

/// The proof of the one withdrawal leaf paying `to` in `asset` among the
/// finalized entries of `log` (built from their data alone), with its
/// entry's first batch.
pub fn withdrawal_proof(log: &L1Log, to: [u8; 20], asset: u32) -> (u64, WithdrawalProof) {
    let found: Vec<(u64, WithdrawalProof)> = log
        .batches
        .iter()
        .flat_map(|b| {
            let tree = WithdrawalTree::from_words(&b.data).expect("the data decodes");
            (0..tree.len())
                .map(|i| (b.first_batch, tree.proof(i).unwrap()))
                .filter(|(_, p)| (p.withdrawal.to, p.withdrawal.asset) == (to, asset))
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(
        found.len(),
        1,
        "one withdrawal to 0x{} of asset {asset}",
        hex::encode(to)
    );
    found.into_iter().next().unwrap()
}
